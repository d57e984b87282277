"""API fixtures: the Chalice app in-process (``chalice.test.Client``) on the per-test moto."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import count
from typing import Any

import pytest
from chalice.test import Client

from tests.conftest import Aws
from tests.factories import test_phone, valid_iin

PASSWORD = "жёлтый-кит-плывёт-на-юг"
_serials = count(1)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error(self) -> dict[str, Any]:
        return self.body["error"]


def form(n: int | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid registration form of a fictional borrower number ``n``."""
    n = next(_serials) if n is None else n
    today = date.today()
    data: dict[str, Any] = {
        "amount": 50_000,
        "term_days": 15,
        "surname": "Тестова",
        "name": "Әлия",
        "patronymic": "Сериковна",
        "iin": valid_iin(age_years=30, sex="F", serial=n),
        "id_number": f"{n:09d}",
        "id_issued_by": "МВД РК",
        "id_issued_on": (today - timedelta(days=700)).isoformat(),
        "id_expires_on": (today + timedelta(days=2900)).isoformat(),
        "phone": test_phone(n),
        "email": f"borrower{n}@example.kz",
        "consent": True,
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


class Api:
    """Short helpers over ``chalice.test.Client`` (the Flask tutorial's AuthActions idea)."""

    def __init__(self, client: Client, aws: Aws) -> None:
        self.client = client
        self.aws = aws

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Reply:
        all_headers = {"Content-Type": "application/json", "User-Agent": "pytest"}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = getattr(self.client.http, method.lower())(
            path, headers=all_headers, body=payload
        )
        parsed = json.loads(response.body) if response.body else None
        return Reply(response.status_code, parsed, dict(response.headers))

    def get(self, path: str, token: str | None = None) -> Reply:
        return self.call("GET", path, token=token)

    def post(self, path: str, body: Any = None, token: str | None = None) -> Reply:
        return self.call("POST", path, body if body is not None else {}, token=token)

    def deliver(self) -> int:
        """Run the notify worker on every queued message, as SQS → Lambda would."""
        sqs = self.aws.client("sqs")
        url = sqs.get_queue_url(QueueName="hava-notify")["QueueUrl"]
        delivered = 0
        for message in self.aws.queued():
            event = self.client.events.generate_sqs_event(
                message_bodies=[message["Body"]], queue_name="hava-notify"
            )
            self.client.lambda_.invoke("notify_worker", event)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            delivered += 1
        return delivered

    def sms_to(self, phone: str) -> list[str]:
        self.deliver()
        return [m["text"] for m in self.aws.outbox() if m["channel"] == "sms" and m["to"] == phone]

    def latest_code(self, phone: str) -> str:
        texts = self.sms_to(phone)
        codes = [m.group(1) for t in texts if (m := re.search(r"\b(\d{6})\b", t))]
        assert codes, f"no code was sent to {phone}: {texts}"
        return codes[-1]

    def start(self, data: dict[str, Any]) -> Reply:
        return self.post("/v1/registrations", data)

    def register(self, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Both steps; returns the confirm answer (with the session token)."""
        data = data or form()
        started = self.start(data)
        assert started.status == 202, started.body
        rid = started.body["registration_id"]
        code = self.latest_code(data["phone"])
        done = self.post(f"/v1/registrations/{rid}/confirm", {"code": code})
        assert done.status == 201, done.body
        return done.body

    def login(self, login: str, password: str = PASSWORD) -> Reply:
        return self.post("/v1/sessions", {"login": login, "password": password})


@pytest.fixture
def api(aws: Aws) -> Iterator[Api]:
    from app import app

    # Stage "local" is not in .chalice/config.json: the test environment stays as set.
    with Client(app, stage_name="local") as client:
        yield Api(client, aws)
