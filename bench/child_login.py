"""A fresh process that imports the app and serves ONE login (run by ``bench.cold``).

``python -m bench.child_login`` with ``BENCH_LOGIN`` / ``BENCH_PASSWORD`` and the
local stack's environment. It prints one JSON line: the status and the phases
(ms) measured inside the process; the parent times the whole process from outside.

- default: through ``chalice.test.Client(app, stage_name="local")`` (the figure);
- ``BENCH_ENTRY=lambda``: the app called the way the Lambda runtime calls it,
  ``app(event, context)`` with an API Gateway proxy event - no test harness
  imported (a diagnostic: what a real cold start pays);
- ``BENCH_COUNT_CALLS=1``: also count the login's AWS calls (not timed).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

PATH = "/v1/sessions"
HEADERS = {"Content-Type": "application/json", "User-Agent": "hava-bench"}


class _LambdaContext:
    """The attributes of the Lambda runtime's context object that code may read."""

    function_name = "hava-cabinet-dev"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:hava-cabinet-dev"
    memory_limit_in_mb = "512"
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/hava-cabinet-dev"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def proxy_event(body: str) -> dict[str, Any]:
    """An API Gateway (REST, proxy) event for ``POST /v1/sessions``."""
    return {
        "resource": PATH,
        "path": PATH,
        "httpMethod": "POST",
        "headers": HEADERS,
        "multiValueHeaders": {k: [v] for k, v in HEADERS.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": PATH,
            "httpMethod": "POST",
            "path": "/api" + PATH,
            "stage": "api",
            "requestId": "bench-request",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": HEADERS["User-Agent"]},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def main() -> int:
    """Import, log in once, report."""
    started = time.perf_counter()
    counting = os.environ.get("BENCH_COUNT_CALLS") == "1"
    if counting:
        from bench import calls

        calls.install()
    from app import app

    imported_app = time.perf_counter()
    body = json.dumps(
        {"login": os.environ["BENCH_LOGIN"], "password": os.environ["BENCH_PASSWORD"]}
    )
    report: dict[str, Any] = {}
    if os.environ.get("BENCH_ENTRY") == "lambda":
        imported_harness = imported_app
        answer = app(proxy_event(body), _LambdaContext())
        status = int(answer["statusCode"])
    else:
        from chalice.test import Client

        imported_harness = time.perf_counter()
        with Client(app, stage_name="local") as client:
            if counting:
                with calls.counting() as seen:
                    response = client.http.post(PATH, headers=HEADERS, body=body)
                report["calls"] = calls.as_table(seen)
            else:
                response = client.http.post(PATH, headers=HEADERS, body=body)
        status = response.status_code
    done = time.perf_counter()
    report.update(
        status=status,
        import_app_ms=(imported_app - started) * 1000,
        import_harness_ms=(imported_harness - imported_app) * 1000,
        login_ms=(done - imported_harness) * 1000,
    )
    print(json.dumps(report))
    return 0 if status == 201 else 1


if __name__ == "__main__":
    sys.exit(main())
