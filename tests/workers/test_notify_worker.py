"""The SMS/e-mail delivery worker: idempotent, poison-proof, SNS in AWS."""

from __future__ import annotations

import json

import pytest
import requests
from chalice.test import Client

from tests.helpers import Api, form


def _invoke(api: Api, body: str) -> None:
    event = api.client.events.generate_sqs_event(message_bodies=[body], queue_name="hava-notify")
    api.client.lambda_.invoke("notify_worker", event)


def test_a_redelivered_message_sends_one_sms(api: Api) -> None:
    # GIVEN one queued code message
    data = form()
    assert api.start(data).status == 202
    (message,) = api.aws.queued()
    # WHEN SQS delivers it three times
    for _ in range(3):
        _invoke(api, message["Body"])
    # THEN exactly one SMS went out
    sent = [m for m in api.aws.outbox() if m["to"] == data["phone"]]
    assert len(sent) == 1
    assert "код подтверждения" in sent[0]["text"]


def test_queued_messages_carry_no_readable_personal_data(api: Api) -> None:
    data = form()
    api.start(data)
    (message,) = api.aws.queued()
    body = message["Body"]
    assert data["phone"] not in body
    assert data["phone"][2:] not in body
    # "kind" is the SmsSent metric's dimension: a fixed word, no personal data.
    assert set(json.loads(body)) == {"delivery_id", "sealed", "kind"}
    assert json.loads(body)["kind"] == "registration_code"


@pytest.mark.parametrize("body", ["not json", "[]", json.dumps({"delivery_id": "x"})])
def test_a_poison_message_raises_so_sqs_retries_then_dead_letters_it(api: Api, body: str) -> None:
    with pytest.raises(ValueError):
        _invoke(api, body)
    assert api.aws.outbox() == []


def test_aws_backend_sends_sms_through_sns(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the AWS delivery backend (SNS), as deployed
    monkeypatch.setenv("HAVA_NOTIFY_BACKEND", "aws")
    from chalicelib.config import reset_settings

    reset_settings()
    data = form()
    api.start(data)
    # WHEN the worker runs
    api.deliver()
    # THEN moto's SNS recorded one SMS to the number, with a code
    sns = requests.get(f"{api.aws.endpoint}/moto-api/data.json", timeout=10).json()["sns"]
    sms = [m for m in sns.get("SMS", []) if data["phone"] in json.dumps(m)]
    assert len(sms) == 1, sns.get("SMS")


def test_worker_is_registered_on_the_notify_queue() -> None:
    from app import app

    with Client(app, stage_name="local"):
        sources = [s for s in app.event_sources if getattr(s, "queue", None) == "hava-notify"]
    assert [s.name for s in sources] == ["notify_worker"]
    assert sources[0].batch_size == 1
