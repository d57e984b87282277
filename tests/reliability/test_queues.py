"""Queue semantics: redelivered messages change things once; poison ends in the DLQ, alone.

In-process redelivery of a notify message is ``tests/workers/test_notify_worker.py``;
a poison notify message reaching its DLQ on the stack is
``tests/e2e/test_local_stack.py``. Here: the upload worker's 3× and its redelivery
after a failure half-way, the same notify body 3× on the real queue, and poison on
each queue not blocking the messages behind it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import LocalStack
from tests.e2e.test_local_stack import queue_url, sqs_client, wait_for_message
from tests.workers.test_uploads_worker import Uploads, jpeg_with_gps, uploads  # noqa: F401

DLQ_TIMEOUT = 60.0


def test_an_upload_notification_delivered_three_times_changes_the_request_once(
    uploads: Uploads,  # noqa: F811
) -> None:
    # GIVEN a document uploaded and checked once
    request_id = uploads.new_request()
    bodies = uploads.upload(request_id, "id_front", jpeg_with_gps())
    after_first = uploads.request(request_id)

    # WHEN SQS delivers the same notification twice more
    for _ in range(2):
        for body in bodies:
            uploads.invoke(body)

    # THEN the request changed exactly once
    now = uploads.request(request_id)
    assert now.version == after_first.version
    assert now.documents.as_dict() == after_first.documents.as_dict()


def test_an_upload_check_failing_half_way_is_recorded_once_on_redelivery(
    uploads: Uploads,  # noqa: F811
) -> None:
    from devstack.faults import inject

    # GIVEN a check that stores the clean copy, then fails to write its verdict
    request_id = uploads.new_request()
    before = uploads.request(request_id)
    with (
        inject(services={"dynamodb"}, operations={"UpdateItem"}, share=1.0, backoff_scale=0.01),
        pytest.raises(Exception),  # noqa: B017 - SQS only sees "failed"
    ):
        uploads.upload(request_id, "id_front", jpeg_with_gps())
    assert uploads.request(request_id).version == before.version
    # (the worker's own rewrite notified S3 → SQS; the failed message comes back too)
    redelivered = uploads.drain()
    assert redelivered

    # WHEN SQS delivers what is queued, twice over
    for body in redelivered * 2:
        uploads.invoke(body)

    # THEN the verdict is recorded exactly once
    now = uploads.request(request_id)
    assert now.documents.as_dict()["id_front"]["status"] == "accepted"
    assert now.version == before.version + 1


# --- on the local stack: real queues, real redrive ---------------------------------


@pytest.fixture
def sealed_notify_body(
    reliable_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """Builds notify bodies sealed under the stack's KMS key (the app's own format)."""
    from devstack.faults import forget_application_clients

    env = {
        "AWS_ENDPOINT_URL": reliable_stack.aws_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_REGION": "eu-central-1",
        "HAVA_KMS_KEY_ID": "alias/hava-pii",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from chalicelib.config import reset_settings

    reset_settings()
    forget_application_clients()

    def build(to: str, text: str) -> str:
        from chalicelib.adapters import crypto
        from chalicelib.services.notifications import NOTIFY_CONTEXT

        sealed = crypto.seal({"channel": "sms", "to": to, "text": text}, NOTIFY_CONTEXT)
        return json.dumps({"delivery_id": uuid.uuid4().hex, "sealed": sealed})

    yield build
    monkeypatch.undo()
    reset_settings()
    forget_application_clients()


def wait_for_sms(stack: LocalStack, text: str, timeout: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sent = [m for m in stack.outbox() if m.get("text") == text]
        if sent:
            return sent
        time.sleep(0.2)
    raise AssertionError(f"no SMS {text!r} within {timeout} s")


@pytest.mark.e2e
def test_the_same_notify_message_three_times_on_the_queue_sends_one_sms(
    reliable_stack: LocalStack, sealed_notify_body: Any
) -> None:
    sqs = sqs_client(reliable_stack)
    text = f"Hava: проверка {uuid.uuid4().hex[:8]}"
    body = sealed_notify_body("+77000009901", text)

    for _ in range(3):
        sqs.send_message(QueueUrl=queue_url(sqs, "hava-notify"), MessageBody=body)
    wait_for_sms(reliable_stack, text)
    time.sleep(3)  # time for the other two deliveries to be processed

    assert len([m for m in reliable_stack.outbox() if m.get("text") == text]) == 1


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("queue", "poison"),
    [
        ("hava-notify", '{"delivery_id": "x", "sealed": "not base64 at all"}'),
        ("hava-uploads", '{"Records": [1]}'),
    ],
)
def test_a_poison_message_is_dead_lettered_without_blocking_the_queue(
    reliable_stack: LocalStack, sealed_notify_body: Any, queue: str, poison: str
) -> None:
    sqs = sqs_client(reliable_stack)
    url = queue_url(sqs, queue)
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"][
            "RedrivePolicy"
        ]
    )
    poison = poison.replace("}", f', "nonce": "{uuid.uuid4().hex}"}}', 1)

    # GIVEN a poison message, then a good one behind it
    sent = sqs.send_message(QueueUrl=url, MessageBody=poison)
    if queue == "hava-notify":
        text = f"Hava: после яда {uuid.uuid4().hex[:8]}"
        sqs.send_message(QueueUrl=url, MessageBody=sealed_notify_body("+77000009902", text))
        # THEN the good one is delivered while the poison is still being retried
        wait_for_sms(reliable_stack, text, timeout=10)
    else:
        marker = f"s3:TestEvent-{uuid.uuid4().hex[:8]}"
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"Event": marker}))
        deadline = time.monotonic() + 10
        while marker not in reliable_stack.output():
            assert time.monotonic() < deadline, "the message behind the poison was not handled"
            time.sleep(0.2)

    # AND the poison ends in the DLQ after maxReceiveCount receives, logged by id only
    dead = wait_for_message(sqs, queue_url(sqs, f"{queue}-dlq"), poison, DLQ_TIMEOUT)
    assert int(dead["Attributes"]["ApproximateReceiveCount"]) >= int(redrive["maxReceiveCount"])
    assert reliable_stack.output().count(sent["MessageId"]) >= int(redrive["maxReceiveCount"])
    assert poison not in reliable_stack.output()
