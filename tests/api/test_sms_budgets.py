"""SMS budgets against SMS pumping: per number, per client address, globally; hour and day."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.api.conftest import Api, form
from tests.factories import test_phone


class Events:
    """Stands in for the codes service's logger: records security events."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def warning(self, message: str, extra: dict[str, Any] | None = None) -> None:
        self.lines.append((message, extra or {}))

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> Events:
    import chalicelib.services.codes as codes

    recorder = Events()
    monkeypatch.setattr(codes, "logger", recorder)
    return recorder


def configure(monkeypatch: pytest.MonkeyPatch, **values: int) -> None:
    from chalicelib.config import reset_settings

    # No cooldown in the way of counting; generous defaults for the other budgets.
    base = {
        "code_resend_cooldown_seconds": 0,
        "code_sends_per_hour": 1_000,
        "sms_per_phone_per_day": 1_000,
        "sms_per_ip_per_hour": 1_000,
        "sms_per_ip_per_day": 1_000,
        "sms_global_per_hour": 1_000,
        "sms_global_per_day": 1_000,
        "registration_per_ip_per_hour": 1_000,
        "recovery_per_ip_per_hour": 1_000,
    }
    for name, value in {**base, **values}.items():
        monkeypatch.setenv(f"HAVA_{name.upper()}", str(value))
    reset_settings()


def frozen(monkeypatch: pytest.MonkeyPatch) -> int:
    import chalicelib.storage.throttles as throttles

    now = int(time.time())
    monkeypatch.setattr(throttles, "epoch", lambda: now)
    return now


def assert_refused(reply: Any, events: Events, scope: str, window: int) -> None:
    assert reply.status == 429, reply.body
    assert reply.error["code"] == "rate_limited"
    assert "лимит отправки кодов" in reply.error["message"]
    assert 0 < int(reply.headers["Retry-After"]) <= window
    assert events.lines[-1] == ("security_event", {"event": "sms_budget_exceeded", "scope": scope})
    # Nothing personal in the event: no digits of a number, no address.
    assert not re.search(r"\d{4}|@|127\.0", repr(events.lines))


@pytest.mark.parametrize(
    ("setting", "window"), [("code_sends_per_hour", 3600), ("sms_per_phone_per_day", 86400)]
)
def test_budget_per_phone(
    api: Api, monkeypatch: pytest.MonkeyPatch, events: Events, setting: str, window: int
) -> None:
    configure(monkeypatch, **{setting: 2})
    frozen(monkeypatch)
    phone = test_phone(4100)
    assert [api.start(form(phone=phone)).status for _ in range(2)] == [202, 202]
    assert_refused(api.start(form(phone=phone)), events, "phone", window)
    # Another number is not affected.
    assert api.start(form()).status == 202


@pytest.mark.parametrize(
    ("setting", "window"), [("sms_per_ip_per_hour", 3600), ("sms_per_ip_per_day", 86400)]
)
def test_budget_per_client_address(
    api: Api, monkeypatch: pytest.MonkeyPatch, events: Events, setting: str, window: int
) -> None:
    configure(monkeypatch, **{setting: 3})
    frozen(monkeypatch)
    assert [api.start(form()).status for _ in range(3)] == [202] * 3
    # Any flow that sends a code counts: recovery from the same address is refused too.
    assert_refused(
        api.post("/v1/password-recovery", {"login": "x@example.kz"}), events, "ip", window
    )
    assert_refused(api.start(form()), events, "ip", window)


@pytest.mark.parametrize(
    ("setting", "window"), [("sms_global_per_hour", 3600), ("sms_global_per_day", 86400)]
)
def test_global_budget(
    api: Api, monkeypatch: pytest.MonkeyPatch, events: Events, setting: str, window: int
) -> None:
    configure(monkeypatch, **{setting: 2})
    frozen(monkeypatch)
    assert [api.start(form()).status for _ in range(2)] == [202, 202]
    assert_refused(api.start(form()), events, "global", window)


def test_resends_spend_the_same_budgets(
    api: Api, monkeypatch: pytest.MonkeyPatch, events: Events
) -> None:
    configure(monkeypatch, code_sends_per_hour=2)
    frozen(monkeypatch)
    data = form()
    rid = api.start(data).body["registration_id"]
    assert api.post(f"/v1/registrations/{rid}/resend").status == 202
    assert_refused(api.post(f"/v1/registrations/{rid}/resend"), events, "phone", 3600)


def test_a_new_window_lets_codes_through_again(
    api: Api, monkeypatch: pytest.MonkeyPatch, events: Events
) -> None:
    import chalicelib.storage.throttles as throttles

    configure(monkeypatch, sms_global_per_hour=1)
    now = frozen(monkeypatch)
    assert api.start(form()).status == 202
    refused = api.start(form())
    assert refused.status == 429
    monkeypatch.setattr(throttles, "epoch", lambda: now + int(refused.headers["Retry-After"]))
    assert api.start(form()).status == 202


def test_only_kazakh_mobile_numbers_ever_get_a_code(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch)
    for phone in ("+7 916 123 45 67", "+7 727 250 00 00", "+44 7700 900123", "+998 90 123 45 67"):
        reply = api.start(form(phone=phone))
        assert reply.status == 400
        assert "phone" in reply.error["fields"]
    assert api.aws.queued() == []
    # Every flow that sends codes: registration, recovery (phone of record), resend.
    data = form()
    api.register(data)
    api.post("/v1/password-recovery", {"login": data["iin"]})
    api.deliver()
    recipients = {m["to"] for m in api.aws.outbox() if m["channel"] == "sms"}
    from chalicelib.domain.phone import normalize_kz_mobile

    assert recipients == {data["phone"]}
    assert all(normalize_kz_mobile(r) == r for r in recipients)
