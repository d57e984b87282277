"""Shared fixtures: one moto server per test session, provisioned once, emptied per test.

The tables, queues, bucket and key come from ``infra/resources.yaml`` through
the same provisioner the local stack uses, so tests run against what is deployed.
Provisioning takes about a second (a hundred emulator calls); emptying what a
test wrote takes a few calls, so the resources are created once per session and
only their contents are removed between tests. A test that needs a pristine
emulator (it changes a resource itself) asks for it with ``@pytest.mark.fresh_aws``;
a test that removes or adds a resource by accident is caught by the fingerprint
check below and the emulator is provisioned again.
"""

from __future__ import annotations

import base64
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from tests.fuzz import report
from tests.helpers import Api

REGION = "eu-central-1"
#: A fixed key for tests only (never used anywhere else).
TEST_INDEX_KEY = base64.b64encode(b"hava-tests-index-key-0123456789abcdef").decode()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from devstack.moto_atomic import serialise_dynamodb

    serialise_dynamodb()
    # Queues are emptied with PurgeQueue between tests; AWS (and moto by default)
    # allow one purge a minute. moto reads this setting on every call.
    os.environ["MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR"] = "false"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset_process_caches() -> None:
    """Forget cached settings and key material (clients stay: the endpoint is the same)."""
    from chalicelib import maintenance
    from chalicelib.adapters.crypto import reset_crypto
    from chalicelib.config import reset_settings
    from chalicelib.services.notifications import reset_queue_cache
    from chalicelib.workers.notify import reset_worker

    reset_settings()
    maintenance.forget()
    reset_crypto()
    reset_queue_cache()
    reset_worker()


@dataclass
class Aws:
    """The wiped, provisioned moto server of one test, and the local outbox."""

    endpoint: str
    outbox_path: Path
    outputs: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)

    def outbox(self) -> list[dict[str, Any]]:
        if not self.outbox_path.exists():
            return []
        lines = self.outbox_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def queued(self, queue: str = "hava-notify") -> list[dict[str, Any]]:
        """Receive (and leave in flight) every message waiting on ``queue``."""
        sqs = self.client("sqs")
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)


@dataclass
class _Provisioned:
    """The resources provisioned once for the session, and what identifies them."""

    outputs: dict[str, str]
    fingerprint: tuple[tuple[str, ...], ...]
    #: Each table's key attribute names, for deleting its items.
    keys: dict[str, list[str]]
    #: SSM parameters as provisioned (name -> (type, value)), restored between tests.
    parameters: dict[str, tuple[str, str]]


@cache
def _client(endpoint: str, service: str) -> Any:
    """The harness's own client of ``service`` (made once: each costs ~20 ms, seven a test)."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _fingerprint(endpoint: str) -> tuple[tuple[str, ...], ...]:
    """The names of every table, queue and bucket: changes when a test adds or drops one."""
    tables = _client(endpoint, "dynamodb").list_tables()["TableNames"]
    queues = _client(endpoint, "sqs").list_queues().get("QueueUrls", [])
    buckets = [b["Name"] for b in _client(endpoint, "s3").list_buckets()["Buckets"]]
    return tuple(sorted(tables)), tuple(sorted(queues)), tuple(sorted(buckets))


def _provision(endpoint: str) -> _Provisioned:
    from devstack.resources import provision

    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    outputs = provision(endpoint, REGION)
    fingerprint = _fingerprint(endpoint)
    dynamodb = _client(endpoint, "dynamodb")
    keys = {
        table: [
            k["AttributeName"]
            for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        ]
        for table in fingerprint[0]
    }
    return _Provisioned(
        outputs=outputs, fingerprint=fingerprint, keys=keys, parameters=_parameters(endpoint)
    )


def _parameters(endpoint: str) -> dict[str, tuple[str, str]]:
    ssm = _client(endpoint, "ssm")
    found: dict[str, tuple[str, str]] = {}
    for page in ssm.get_paginator("describe_parameters").paginate():
        for meta in page["Parameters"]:
            value = ssm.get_parameter(Name=meta["Name"], WithDecryption=True)["Parameter"]
            found[meta["Name"]] = (meta["Type"], value["Value"])
    return found


def _empty(endpoint: str, provisioned: _Provisioned) -> None:
    """Delete every item, message and object; keep the tables, queues, bucket and key."""
    dynamodb = _client(endpoint, "dynamodb")
    for table, keys in provisioned.keys.items():
        names = {f"#k{i}": key for i, key in enumerate(keys)}
        scan: dict[str, Any] = {
            "TableName": table,
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": names,
        }
        while True:
            page = dynamodb.scan(**scan)
            items = page.get("Items", [])
            for start in range(0, len(items), 25):
                batch = [{"DeleteRequest": {"Key": item}} for item in items[start : start + 25]]
                dynamodb.batch_write_item(RequestItems={table: batch})
            if "LastEvaluatedKey" not in page:
                break
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    _, queues, buckets = provisioned.fingerprint
    sqs = _client(endpoint, "sqs")
    for url in queues:
        sqs.purge_queue(QueueUrl=url)
    s3 = _client(endpoint, "s3")
    for bucket in buckets:
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
        for page in pages:
            objects = [
                {"Key": o["Key"], "VersionId": o["VersionId"]}
                for o in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if objects:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    ssm = _client(endpoint, "ssm")
    if _parameters(endpoint) != provisioned.parameters:
        for page in ssm.get_paginator("describe_parameters").paginate():
            for meta in page["Parameters"]:
                if meta["Name"] not in provisioned.parameters:
                    ssm.delete_parameter(Name=meta["Name"])
        for name, (kind, value) in provisioned.parameters.items():
            ssm.put_parameter(Name=name, Type=kind, Value=value, Overwrite=True)


@pytest.fixture(scope="session")
def _provisioned(moto_endpoint: str) -> _Provisioned:
    return _provision(moto_endpoint)


@pytest.fixture
def aws(
    moto_endpoint: str,
    _provisioned: _Provisioned,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Aws]:
    env = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "HAVA_STAGE": "test",
        "HAVA_INDEX_KEY": TEST_INDEX_KEY,
        "HAVA_NOTIFY_BACKEND": "outbox",
        "HAVA_OUTBOX_PATH": str(tmp_path / "outbox.jsonl"),
        "HAVA_DOCUMENTS_BUCKET": "hava-documents-local",
        # Confirmation is padded to 400 ms (equal timing, taken IIN/e-mail or not):
        # tests that measure it set it back; the others would only wait.
        "HAVA_REGISTRATION_MIN_RESPONSE_MS": "0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HAVA_MAINTENANCE", raising=False)
    reset_process_caches()
    provisioned = _provisioned
    if request.node.get_closest_marker("fresh_aws") or _fingerprint(moto_endpoint) != (
        provisioned.fingerprint
    ):
        fresh = _provision(moto_endpoint)
        provisioned.outputs, provisioned.fingerprint = fresh.outputs, fresh.fingerprint
        provisioned.keys, provisioned.parameters = fresh.keys, fresh.parameters
    else:
        _empty(moto_endpoint, provisioned)
    yield Aws(
        endpoint=moto_endpoint,
        outbox_path=tmp_path / "outbox.jsonl",
        outputs=dict(provisioned.outputs),
    )
    reset_process_caches()


@pytest.fixture
def api(aws: Aws) -> Iterator[Api]:
    """The Chalice app in-process (``chalice.test.Client``) on the per-test moto."""
    from chalice.test import Client

    from app import app

    # Stage "local" is not in .chalice/config.json: the test environment stays as set.
    with Client(app, stage_name="local") as client:
        yield Api(client, aws)


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """DynamoDB operations through botocore, by name; COUNT queries also as ``Query:COUNT``."""
    from botocore.client import BaseClient

    calls: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counting(self: Any, operation_name: str, api_params: Any) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            calls[operation_name] += 1
            if api_params.get("Select") == "COUNT":
                calls[f"{operation_name}:COUNT"] += 1
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    return calls


class FrozenClock:
    """The application's clock (``chalicelib.clock``), stopped and moved by the test.

    Real time until the test first moves it; from then on ``clock.now()``,
    ``clock.epoch()`` and ``clock.today_kz()`` all read one stopped instant, in every
    module (they call the clock through its module, so one patch reaches all).
    """

    def __init__(self, patch: pytest.MonkeyPatch) -> None:
        self._patch = patch
        self._base: float | None = None
        self._instant: float | None = None

    def epoch(self) -> int:
        """Where the clock stands (seconds since the epoch)."""
        import time

        return int(time.time() if self._instant is None else self._instant)

    def at(self, offset: float) -> None:
        """Stop the clock ``offset`` seconds after the moment it was first stopped."""
        import time

        if self._base is None:
            self._base = float(int(time.time()))
        self._stop(self._base + offset)

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward from where it stands, and stop it there."""
        import time

        start = time.time() if self._instant is None else self._instant
        if self._base is None:
            self._base = float(int(start))
        self._stop(int(start) + seconds)

    def restart(self) -> None:
        """Forget the first stop: the next ``at`` counts from the real time again."""
        self._base = None

    def thaw(self) -> None:
        """Real time again."""
        self._patch.undo()
        self._base = self._instant = None

    def _stop(self, instant: float) -> None:
        from datetime import UTC, datetime

        from chalicelib import clock

        self._instant = instant
        self._patch.setattr(clock, "epoch", lambda: int(instant))
        self._patch.setattr(clock, "now", lambda: datetime.fromtimestamp(instant, UTC))


@pytest.fixture
def frozen_clock() -> Iterator[FrozenClock]:
    """Move time in a test: ``frozen_clock.advance(61)``, ``frozen_clock.at(4)``.

    Its own patch (a test's ``monkeypatch.undo()`` leaves it alone), undone at the end.
    """
    patch = pytest.MonkeyPatch()
    try:
        yield FrozenClock(patch)
    finally:
        patch.undo()


# --- the fuzz tier's summary line (here: this conftest is loaded by every run) ------


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """In the pytest-xdist controller: keep the fuzz summary a worker sent."""
    report.add_from_worker(getattr(node, "workeroutput", {}))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    report.write(terminalreporter)
