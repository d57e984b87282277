"""Shared fixtures: one moto server per test session, wiped and provisioned per test.

The tables, queues, bucket and key come from ``infra/resources.yaml`` through
the same provisioner the local stack uses, so tests run against what is deployed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

REGION = "eu-central-1"
#: A fixed key for tests only (never used anywhere else).
TEST_INDEX_KEY = base64.b64encode(b"hava-tests-index-key-0123456789abcdef").decode()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from devstack.moto_atomic import serialise_dynamodb

    serialise_dynamodb()
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


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Aws]:
    from devstack.resources import provision

    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
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
    outputs = provision(moto_endpoint, REGION)
    yield Aws(endpoint=moto_endpoint, outbox_path=tmp_path / "outbox.jsonl", outputs=outputs)
    reset_process_caches()
