"""SMS budgets against SMS pumping: per number, per client address, globally; hour and day."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import FrozenClock
from tests.factories import test_phone
from tests.helpers import PASSWORD, Api, LogRecorder, form


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> LogRecorder:
    import chalicelib.services.appeals.phone_change as requests_service
    import chalicelib.services.codes as codes

    recorder = LogRecorder()
    monkeypatch.setattr(codes, "logger", recorder)
    monkeypatch.setattr(requests_service, "logger", recorder)
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


def frozen(frozen_clock: FrozenClock) -> None:
    """Stop the clock: the budgets' windows must not roll over during the test."""
    frozen_clock.at(0)


def assert_refused(reply: Any, events: LogRecorder, scope: str, window: int) -> None:
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
    api: Api,
    monkeypatch: pytest.MonkeyPatch,
    frozen_clock: FrozenClock,
    events: LogRecorder,
    setting: str,
    window: int,
) -> None:
    configure(monkeypatch, **{setting: 2})
    frozen(frozen_clock)
    phone = test_phone(4100)
    assert [api.start(form(phone=phone)).status for _ in range(2)] == [202, 202]
    assert_refused(api.start(form(phone=phone)), events, "phone", window)
    # Another number is not affected.
    assert api.start(form()).status == 202


@pytest.mark.parametrize(
    ("setting", "window"), [("sms_per_ip_per_hour", 3600), ("sms_per_ip_per_day", 86400)]
)
def test_budget_per_client_address(
    api: Api,
    monkeypatch: pytest.MonkeyPatch,
    frozen_clock: FrozenClock,
    events: LogRecorder,
    setting: str,
    window: int,
) -> None:
    configure(monkeypatch, **{setting: 3})
    frozen(frozen_clock)
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
    api: Api,
    monkeypatch: pytest.MonkeyPatch,
    frozen_clock: FrozenClock,
    events: LogRecorder,
    setting: str,
    window: int,
) -> None:
    configure(monkeypatch, **{setting: 2})
    frozen(frozen_clock)
    assert [api.start(form()).status for _ in range(2)] == [202, 202]
    assert_refused(api.start(form()), events, "global", window)


def test_resends_spend_the_same_budgets(
    api: Api, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock, events: LogRecorder
) -> None:
    configure(monkeypatch, code_sends_per_hour=2)
    frozen(frozen_clock)
    data = form()
    rid = api.start(data).body["registration_id"]
    assert api.post(f"/v1/registrations/{rid}/resend").status == 202
    assert_refused(api.post(f"/v1/registrations/{rid}/resend"), events, "phone", 3600)


def test_a_new_window_lets_codes_through_again(
    api: Api, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock, events: LogRecorder
) -> None:

    configure(monkeypatch, sms_global_per_hour=1)
    frozen(frozen_clock)
    assert api.start(form()).status == 202
    refused = api.start(form())
    assert refused.status == 429
    frozen_clock.at(int(refused.headers["Retry-After"]))
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


# --- phone change: budgets before the lookup, global only for what is queued --------


def global_hits() -> int:
    """Messages counted against this hour's global budget."""
    from chalicelib.storage.throttles import ThrottleModel

    return sum(
        int(item.hits) for item in ThrottleModel.scan() if item.key.startswith("sms-global#w3600#")
    )


def change_phone(api: Api, token: str, phone: str) -> Any:
    body = {"password": PASSWORD, "new_phone": phone}
    return api.post("/v1/phone-change-requests", body, token=token)


def test_refused_phone_changes_never_touch_the_global_budget(
    api: Api, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock, events: LogRecorder
) -> None:
    # GIVEN a borrower (one code queued: the registration's)
    configure(monkeypatch, phone_change_attempts_per_day=5, sms_global_per_hour=3)
    frozen(frozen_clock)
    token = api.register(form())["token"]
    assert global_hits() == 1
    # WHEN they probe numbers: one request is filed, the rest are refused
    statuses = [change_phone(api, token, test_phone(4300 + n)).status for n in range(8)]
    # THEN one more message counted; refusals (open request, daily cap) charged nothing global
    assert statuses == [201] + [409] * 4 + [429] * 3, statuses
    assert global_hits() == 2
    assert ("security_event", {"event": "phone_change_attempts_exceeded", "scope": "account"}) in (
        events.lines
    )
    # AND a bystander still registers
    assert api.start(form()).status == 202


@pytest.mark.parametrize(
    ("setting", "scope"),
    [("phone_change_attempts_per_day", "account"), ("sms_per_ip_per_hour", "ip")],
)
def test_phone_change_is_charged_to_account_and_address_before_any_lookup(
    api: Api,
    monkeypatch: pytest.MonkeyPatch,
    frozen_clock: FrozenClock,
    events: LogRecorder,
    setting: str,
    scope: str,
) -> None:
    # GIVEN a borrower whose account (or address) has one attempt a day, already used
    account_id = api.register(form())["account_id"]
    configure(monkeypatch, **{setting: 1})
    frozen(frozen_clock)
    import chalicelib.services.appeals.phone_change as service
    from chalicelib.errors import RateLimited

    body = {"password": PASSWORD, "new_phone": test_phone(4400)}
    service.start(account_id, body, "10.0.0.9")
    looked_up: list[Any] = []
    monkeypatch.setattr(service.IdentifierModel, "count", lambda *a, **k: looked_up.append(a))
    # WHEN they try again with another number
    with pytest.raises(RateLimited):
        service.start(account_id, {**body, "new_phone": test_phone(4401)}, "10.0.0.9")
    # THEN it is refused before the new number was looked up (not even the open request)
    assert looked_up == []
    assert events.lines[-1][1]["scope"] == scope


# --- notices: within the number's notice budgets, merged, no client text ----------------


def test_sign_ins_and_password_changes_send_at_most_the_notice_budget(
    api: Api, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock
) -> None:
    # GIVEN a borrower and the default notice budgets
    configure(monkeypatch, sms_notices_per_phone_per_hour=4, sms_notices_per_phone_per_day=10)
    frozen(frozen_clock)
    data = form()
    api.register(data)
    before = len(api.sms_to(data["phone"]))
    # WHEN someone with the password signs in with 15 User-Agents and changes it 6 times
    agents = [f"Mozilla/5.0 (Windows NT 10.0) Gecko/20100101 Firefox/{100 + n}" for n in range(5)]
    agents += [
        f"Mozilla/5.0 (Linux; Android 14) Chrome/{110 + n} Mobile Safari/537.36" for n in range(5)
    ]
    agents += [f"Звоните +77001234567 акция {n}" for n in range(5)]
    token = ""
    for agent in agents:
        reply = api.call(
            "POST",
            "/v1/sessions",
            {"login": data["iin"], "password": PASSWORD},
            headers={"User-Agent": agent},
        )
        assert reply.status == 201, reply.body
        token = reply.body["token"]
    password = PASSWORD
    for n in range(6):
        new = f"{PASSWORD}-{n}"
        changed = api.post(
            "/v1/me/password",
            {"current_password": password, "new_password": new, "new_password_confirm": new},
            token=token,
        )
        assert changed.status == 200, changed.body
        password = new
    # THEN at most the hourly notice budget reached the number, merged by device family
    sent = api.sms_to(data["phone"])[before:]
    assert len(sent) <= 4, sent
    device_notices = [t for t in sent if "нового устройства" in t]
    assert len(device_notices) == len(set(device_notices)) <= 3
    # AND no client text went out
    assert not any("Звоните" in t or "акция" in t or "+7700" in t for t in sent)


def test_a_notice_over_budget_does_not_refuse_the_action(
    api: Api, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock
) -> None:
    configure(monkeypatch, sms_notices_per_phone_per_hour=1)
    frozen(frozen_clock)
    data = form()
    api.register(data)
    agents = ["Mozilla/5.0 (Windows NT 10.0) Firefox/121.0", "Mozilla/5.0 (Android 14) Chrome/120"]
    replies = [
        api.call(
            "POST",
            "/v1/sessions",
            {"login": data["iin"], "password": PASSWORD},
            headers={"User-Agent": agent},
        )
        for agent in agents
    ]
    assert [r.status for r in replies] == [201, 201]
    assert len([t for t in api.sms_to(data["phone"]) if "нового устройства" in t]) == 1
