"""The local stack itself: serves, runs the SQS workers with Lambda's retry semantics, stops."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest

if TYPE_CHECKING:
    from conftest import LocalStack

pytestmark = pytest.mark.e2e

DLQ_TIMEOUT = 60.0


def sqs_client(stack: LocalStack) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=stack.aws_endpoint,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def queue_url(sqs: Any, name: str) -> str:
    return sqs.get_queue_url(QueueName=name)["QueueUrl"]


def wait_for_message(sqs: Any, url: str, body: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = sqs.receive_message(
            QueueUrl=url, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"]
        )
        for message in response.get("Messages", []):
            if message["Body"] == body:
                return message
    raise AssertionError(f"message not in {url} within {timeout} s")


def test_health_answers_ok(local_stack: LocalStack) -> None:
    response = local_stack.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_unreadable_notify_message_is_retried_then_dead_lettered(local_stack: LocalStack) -> None:
    # GIVEN the notify queue with its redrive policy, as provisioned
    sqs = sqs_client(local_stack)
    notify_url = queue_url(sqs, "hava-notify")
    attributes = sqs.get_queue_attributes(QueueUrl=notify_url, AttributeNames=["RedrivePolicy"])
    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":hava-notify-dlq")
    body = f"not json {{ {uuid.uuid4()}"

    # WHEN a message the worker cannot read is queued
    sent = sqs.send_message(QueueUrl=notify_url, MessageBody=body)

    # THEN it is received maxReceiveCount times and moved to the dead-letter queue
    dead = wait_for_message(sqs, queue_url(sqs, "hava-notify-dlq"), body, DLQ_TIMEOUT)
    assert int(dead["Attributes"]["ApproximateReceiveCount"]) >= int(redrive["maxReceiveCount"])
    output = local_stack.output()
    assert output.count(sent["MessageId"]) >= int(redrive["maxReceiveCount"])
    assert body not in output  # bodies hold personal data: never logged
    # AND the stack keeps serving
    assert local_stack.get("/health").status_code == 200


def test_ctrl_c_stops_the_stack_cleanly(spawn_local_stack: Any) -> None:
    # GIVEN a running stack of its own
    stack: LocalStack = spawn_local_stack()
    key_file = stack.local_dir / "index-key"
    key = key_file.read_text().strip()
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key not in stack.output()

    # WHEN Ctrl-C is pressed
    started = time.monotonic()
    stack.process.send_signal(signal.SIGINT)

    # THEN it exits with 0 within a few seconds, ports released
    try:
        returncode = stack.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running 10 s after SIGINT:\n{stack.output()}")
    assert returncode == 0, stack.output()
    assert time.monotonic() - started < 10
    assert "local stack stopped" in stack.output()


def test_restart_keeps_the_index_key(spawn_local_stack: Any) -> None:
    first: LocalStack = spawn_local_stack()
    key = (first.local_dir / "index-key").read_text()
    assert first.stop() == 0

    second: LocalStack = spawn_local_stack()

    assert (second.local_dir / "index-key").read_text() == key
    assert second.get("/health").status_code == 200
