"""Business metrics: CloudWatch Embedded Metric Format lines on stdout.

Powertools Metrics (namespace ``Hava``, service ``POWERTOOLS_SERVICE_NAME``)
writes one EMF JSON line per event; CloudWatch Logs turns it into a metric, no
API call and no IAM grant. Powertools' metrics module is imported on first use
(a route that records nothing never pays for it). A metric never fails the
request: any error is swallowed.

Names: RegistrationStarted, RegistrationConfirmed, SignInOk, SignInFailed,
SignInThrottled, SmsSent (dimension Kind), RequestFiled (Type),
RequestDecided (Type, Decision). Dimension values are fixed vocabularies,
never personal data.
"""

from __future__ import annotations

import logging

NAMESPACE = "Hava"
_log = logging.getLogger(__name__)


def count(name: str, **dimensions: str) -> None:
    """Add 1 to metric ``name`` with these dimensions (one EMF line on stdout)."""
    try:
        # Imported on use: keeps aws_lambda_powertools.metrics off routes' cold start.
        # lazy: powertools + botocore ≈ 455 ms CPU at cold start; only count() needs it
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        with single_metric(
            name=name, unit=MetricUnit.Count, value=1, namespace=NAMESPACE
        ) as metric:
            for key, value in dimensions.items():
                metric.add_dimension(name=key, value=value or "none")
    except Exception as exc:  # a metric is never worth a failed request
        _log.warning("metric %s not recorded: %s", name, type(exc).__name__)
