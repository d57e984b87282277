"""Helpers the test tiers share: the in-process API client, flows and test data.

- ``Api`` over ``chalice.test.Client`` (the ``api`` fixture in ``tests/conftest.py``
  makes one per test): calls, the notify worker run as SQS would, the SMS read back
  from the outbox, registration in both steps, sign-in.
- ``form``: a valid registration form of a fictional borrower (``tests/factories.py``).
- ``make_staff`` / ``staff_login``: a staff member enrolled in-process and signed in.
- ``LogRecorder``: stands in for a module's logger and keeps its warnings.
- ``photo`` / ``jpeg``: real images encoded by Pillow.
- ``shape``: a JSON body with every value replaced by its type.
"""

from __future__ import annotations

import io
import json
import re
import time
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import count
from typing import TYPE_CHECKING, Any

import botocore.exceptions

from tests.factories import test_phone, valid_iin
from tests.staffing import STAFF_PASSWORD, enrol_staff

if TYPE_CHECKING:
    from chalice.test import Client

    from tests.conftest import Aws

PASSWORD = "жёлтый-кит-плывёт-на-юг"
_serials = count(1)
#: A one-time code in an SMS or e-mail text.
CODE = re.compile(r"\b(\d{6})\b")


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
        codes = [m.group(1) for t in texts if (m := CODE.search(t))]
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


def make_staff(username: str, *roles: str) -> str:
    """Create and enrol a staff member; returns the TOTP secret from the provisioning URI."""
    return enrol_staff(username, *roles)


def staff_login(api: Api, username: str, secret: str, *, step: int = 0) -> str:
    """Sign a staff member in; ``step`` picks the code of a later 30-second step (no replay)."""
    import pyotp

    code = pyotp.TOTP(secret).at(time.time() + 30 * step)
    reply = api.post(
        "/admin/v1/sessions", {"username": username, "password": STAFF_PASSWORD, "totp": code}
    )
    assert reply.status == 201, reply.body
    return str(reply.body["token"])


class LogRecorder:
    """Stands in for a module's logger: keeps its warnings (security events), drops the rest."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def warning(self, message: str, extra: dict[str, Any] | None = None) -> None:
        self.lines.append((message, extra or {}))

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None

    def security(self) -> list[dict[str, Any]]:
        return [extra for message, extra in self.lines if message == "security_event"]


def photo(fmt: str = "JPEG", size: tuple[int, int] = (640, 480), **options: Any) -> bytes:
    """A real image with some structure (a gradient), encoded by Pillow."""
    from PIL import Image

    image = Image.linear_gradient("L").resize(size).convert("RGB")
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def jpeg(seed: int) -> bytes:
    """A real photo-sized JPEG (Pillow), different per ``seed`` (one per document)."""
    from PIL import Image

    image = Image.new("RGB", (800, 600), (seed * 40 % 256, 120, 200))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def shape(body: Any) -> Any:
    """A JSON body with every value replaced by its type: what must not differ."""
    if isinstance(body, dict):
        return {k: shape(v) for k, v in body.items()}
    if isinstance(body, list):
        return [shape(v) for v in body]
    return type(body).__name__


def throttled(operation: str) -> Any:
    """The ``ClientError`` DynamoDB answers ``operation`` with when it sheds load."""
    return botocore.exceptions.ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        operation,
    )
