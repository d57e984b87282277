"""Injected AWS faults: a chosen share of calls fail with throttling or a 5xx, at botocore level.

A ``before-send`` handler answers the chosen calls itself with a real
``AWSResponse`` carrying the error each service really returns (JSON ``__type``
for DynamoDB, KMS and SQS, an XML error for S3, SNS and SES). The request never
leaves the process, and botocore's standard retry handler, configured once in
``adapters.aws`` and pynamodb's settings, sees an ordinary error: it retries,
backs off, and after ``max_attempts`` the caller gets the ``ClientError`` (or
pynamodb's wrapper of it) that production would get.

The handler is registered on the application's shared botocore session and on
every client created afterwards (``ClientCreator.create_client`` is wrapped
once), because the AWS Encryption SDK builds its KMS client from a session of
its own. Clients made before ``install()`` do not see it: ``install()`` makes the
application forget its cached clients so the next call builds hooked ones.

Usage (tests, bench)::

    with inject(services={"dynamodb", "sqs", "kms"}, share=0.3, seed=7) as faults:
        ...  # drive the app
    faults.injected  # Counter{("dynamodb", "GetItem", "ThrottlingException"): 4, ...}

Never for production: this module is only imported by tests, the bench and
operators' tools.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Faults", "active", "inject", "install"]

HANDLER_ID = "hava-fault-injector"
THROTTLE = "throttle"
SERVER = "5xx"

#: (status, code) of a throttling answer per service (botocore's service id).
THROTTLES: dict[str, tuple[int, str]] = {
    "dynamodb": (400, "ProvisionedThroughputExceededException"),
    "kms": (400, "ThrottlingException"),
    "sqs": (400, "ThrottlingException"),
    "s3": (503, "SlowDown"),
    "sns": (400, "Throttling"),
    "ses": (400, "Throttling"),
}
#: (status, code) of a server-side failure per service.
SERVER_ERRORS: dict[str, tuple[int, str]] = {
    "dynamodb": (500, "InternalServerError"),
    "kms": (500, "KMSInternalException"),
    "sqs": (500, "InternalError"),
    "s3": (503, "ServiceUnavailable"),
    "sns": (500, "InternalError"),
    "ses": (503, "ServiceUnavailable"),
}
_DEFAULT_THROTTLE = (400, "ThrottlingException")
_DEFAULT_SERVER = (500, "InternalServerError")


@dataclass
class Faults:
    """One injection plan and what it did (``seen``: calls considered; ``injected``: failed)."""

    services: frozenset[str] | None
    operations: frozenset[str] | None
    share: float
    seed: int
    kinds: tuple[str, ...] = (THROTTLE, SERVER)
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    injected: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _paused: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - fault choice, not security

    @contextmanager
    def suspended(self) -> Iterator[None]:
        """Let every call through inside the block (set-up and inspection steps)."""
        self._paused = True
        try:
            yield
        finally:
            self._paused = False

    @property
    def total_injected(self) -> int:
        """Every failed attempt, all services together."""
        return sum(self.injected.values())

    def of_service(self, service: str) -> int:
        """Failed attempts of one service."""
        return sum(n for (svc, _, _), n in self.injected.items() if svc == service)

    def decide(self, service: str, operation: str) -> tuple[int, str] | None:
        """``(status, code)`` to fail this attempt with, or None to let it through."""
        if self._paused:
            return None
        if self.services is not None and service not in self.services:
            return None
        if self.operations is not None and operation not in self.operations:
            return None
        with self._lock:
            self.seen[(service, operation)] += 1
            if self._rng.random() >= self.share:
                return None
            kind = self._rng.choice(self.kinds)
            table, default = (
                (THROTTLES, _DEFAULT_THROTTLE)
                if kind == THROTTLE
                else (SERVER_ERRORS, _DEFAULT_SERVER)
            )
            status, code = table.get(service, default)
            self.injected[(service, operation, code)] += 1
        return status, code


_state_lock = threading.Lock()
_active: Faults | None = None
_installed = False


def active() -> Faults | None:
    """The plan in force, if any."""
    return _active


class _Raw:
    """The ``raw`` of an ``AWSResponse``: botocore reads the body through ``stream()``."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _error_response(request: Any, service: str, status: int, code: str) -> Any:
    from botocore.awsrequest import AWSResponse

    message = "Injected fault (devstack.faults)"
    headers = {"x-amzn-RequestId": "injected-fault", "x-amz-request-id": "injected-fault"}
    if "X-Amz-Target" in request.headers:  # JSON protocols: DynamoDB, KMS, SQS
        body = json.dumps({"__type": f"com.amazonaws.{service}#{code}", "message": message})
        headers["Content-Type"] = "application/x-amz-json-1.0"
        headers["x-amzn-ErrorType"] = code
    elif service == "s3":  # rest-xml
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        headers["Content-Type"] = "application/xml"
    else:  # query: SNS, SES
        body = (
            f"<ErrorResponse><Error><Type>{'Receiver' if status >= 500 else 'Sender'}</Type>"
            f"<Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>injected-fault</RequestId></ErrorResponse>"
        )
        headers["Content-Type"] = "text/xml"
    return AWSResponse(request.url, status, headers, _Raw(body.encode()))


def _before_send(request: Any, event_name: str = "", **_: Any) -> Any:
    plan = _active
    if plan is None:
        return None
    # "before-send.<service id>.<Operation>"
    parts = event_name.split(".")
    if len(parts) < 3:
        return None
    service, operation = parts[1], parts[2]
    decision = plan.decide(service, operation)
    if decision is None:
        return None
    status, code = decision
    return _error_response(request, service, status, code)


def _hook(emitter: Any) -> None:
    emitter.register("before-send", _before_send, unique_id=HANDLER_ID)


def install(*, forget_clients: bool = True) -> None:
    """Hook the shared session and every client created from now on (idempotent).

    ``forget_clients`` drops the application's cached clients, connections and
    key material so their next use builds hooked clients.
    """
    global _installed  # noqa: PLW0603 - one process-wide hook, installed once
    with _state_lock:
        if not _installed:
            from botocore.client import ClientCreator

            from chalicelib.adapters.aws import botocore_session

            _hook(botocore_session())
            original = ClientCreator.create_client

            def create_client(self: ClientCreator, *args: Any, **kwargs: Any) -> Any:
                client = original(self, *args, **kwargs)
                _hook(client.meta.events)
                return client

            ClientCreator.create_client = create_client
            _installed = True
    if forget_clients:
        forget_application_clients()


def forget_application_clients() -> None:
    """Make the application build new (hooked) clients on their next use."""
    from chalicelib.adapters.aws import reset_clients
    from chalicelib.adapters.crypto import reset_crypto
    from chalicelib.services.notifications import reset_queue_cache
    from chalicelib.storage.registry import reset_connections
    from chalicelib.workers.notify import reset_worker

    reset_clients()
    reset_connections()
    reset_crypto()
    reset_queue_cache()
    reset_worker()


@contextmanager
def _scaled_backoff(scale: float) -> Iterator[None]:
    """Shrink botocore's standard-mode back-off (tests: same retries, shorter sleeps)."""
    if scale == 1.0:
        yield
        return
    from botocore.retries.standard import ExponentialBackoff

    original = ExponentialBackoff.delay_amount

    def delay_amount(self: ExponentialBackoff, context: Any) -> float:
        return float(original(self, context)) * scale

    ExponentialBackoff.delay_amount = delay_amount
    try:
        yield
    finally:
        ExponentialBackoff.delay_amount = original


@contextmanager
def inject(
    services: Collection[str] | None = ("dynamodb", "sqs", "kms"),
    share: float = 0.3,
    seed: int = 0,
    *,
    operations: Collection[str] | None = None,
    kinds: Collection[str] = (THROTTLE, SERVER),
    backoff_scale: float = 1.0,
    fresh_clients: bool = True,
) -> Iterator[Faults]:
    """Fail ``share`` of the attempts to ``services`` (botocore ids; None = all) inside the block.

    ``operations`` narrows to API operation names (``TransactWriteItems``…);
    ``kinds`` picks from throttling and 5xx; ``seed`` makes the choice
    repeatable for one sequence of calls; ``backoff_scale`` shortens botocore's
    back-off sleeps (1.0 = real). ``fresh_clients`` starts from new clients, so no
    retry quota drained by an earlier plan changes this one's sequence of calls.
    One plan at a time per process.
    """
    global _active  # noqa: PLW0603 - the handler reads the plan in force
    if not 0.0 <= share <= 1.0:
        raise ValueError("share must be within 0..1")
    unknown = set(kinds) - {THROTTLE, SERVER}
    if unknown or not kinds:
        raise ValueError(f"kinds must be among {THROTTLE!r}, {SERVER!r}")
    install(forget_clients=fresh_clients or not _installed)
    plan = Faults(
        services=frozenset(services) if services is not None else None,
        operations=frozenset(operations) if operations is not None else None,
        share=share,
        seed=seed,
        kinds=tuple(kinds),
    )
    with _state_lock:
        if _active is not None:
            raise RuntimeError("a fault plan is already in force")
        _active = plan
    try:
        with _scaled_backoff(backoff_scale):
            yield plan
    finally:
        with _state_lock:
            _active = None
