"""Staff sign-in back-off, enumeration, TOTP security events, pseudonyms, enrolment (issue 9)."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest

from chalicelib.domain import requests as rules
from tests.api.test_brute_force import _verify_median, settings
from tests.api.test_staff_and_admin import file_request
from tests.conftest import FrozenClock
from tests.helpers import Api, LogRecorder, staff_login
from tests.staffing import STAFF_PASSWORD, enrol_staff, secret_of

WRONG = "совсем-не-тот-пароль"


def sign_in(api: Api, username: str, password: str, code: str) -> Any:
    return api.post(
        "/admin/v1/sessions", {"username": username, "password": password, "totp": code}
    )


def wrong_code(secret: str) -> str:
    return f"{(int(pyotp.TOTP(secret).now()) + 500_000) % 1_000_000:06d}"


# --- back-off -------------------------------------------------------------------------------


def test_wrong_passwords_and_codes_back_off_like_borrowers_and_hold_the_right_credentials(
    api: Api, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock
) -> None:
    secret = enrol_staff("sasha.support", "support")
    frozen_clock.at(0)
    # GIVEN three wrong passwords and two wrong codes in a row (free failures)
    trace = [sign_in(api, "sasha.support", WRONG, pyotp.TOTP(secret).now()).status for _ in "abc"]
    for _ in range(2):
        trace.append(sign_in(api, "sasha.support", STAFF_PASSWORD, wrong_code(secret)).status)
    assert trace == [401] * 5
    # WHEN the right credentials come during the wait
    import chalicelib.services.staff_accounts as staff

    checks: list[str] = []
    real_verify = staff.verify_password
    monkeypatch.setattr(staff, "verify_password", lambda *a: checks.append("v") or (True, False))
    held = sign_in(api, "sasha.support", STAFF_PASSWORD, pyotp.TOTP(secret).now())
    # THEN 429 with Retry-After, before any password check
    assert held.status == 429
    assert held.headers["Retry-After"] == "1"
    assert held.error["code"] == "rate_limited"
    assert checks == []
    monkeypatch.setattr(staff, "verify_password", real_verify)
    # AND after the wait, the right credentials work and reset the count
    frozen_clock.at(1)
    assert sign_in(api, "sasha.support", STAFF_PASSWORD, pyotp.TOTP(secret).now()).status == 201
    from chalicelib.services.staff_accounts import login_subject
    from chalicelib.storage import throttles

    assert throttles.failure_state(login_subject("sasha.support")) == (0, 0)


def _trace(api: Api, frozen_clock: FrozenClock, username: str) -> list[Any]:
    trace: list[Any] = []
    clock = 0
    frozen_clock.at(clock)
    for _ in range(5):
        trace.append(sign_in(api, username, WRONG, "123456").status)
    for wait in (1, 2, 4):
        held = sign_in(api, username, WRONG, "123456")
        trace.append((held.status, held.headers.get("Retry-After"), held.body))
        clock += wait
        frozen_clock.at(clock)
        trace.append(sign_in(api, username, WRONG, "123456").status)
    return trace


def test_unknown_usernames_back_off_and_answer_exactly_like_known_ones(
    api: Api, frozen_clock: FrozenClock
) -> None:
    enrol_staff("sasha.support", "support")
    known = _trace(api, frozen_clock, "sasha.support")
    frozen_clock.restart()
    unknown = _trace(api, frozen_clock, "nobody.here")
    assert known == unknown
    assert known[:5] == [401] * 5
    assert [step[:2] for step in known[5::2]] == [(429, "1"), (429, "2"), (429, "4")]


def test_every_spelling_of_a_username_shares_one_counter(api: Api) -> None:
    from chalicelib.services.staff_accounts import login_subject

    assert login_subject("Sasha.Support") == login_subject(" sasha.support ")
    assert login_subject("sasha.support") != login_subject("sasha.support2")


def test_staff_sign_in_attempts_per_address_are_limited(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings(monkeypatch, login_per_ip_per_minute=3)
    statuses = [sign_in(api, f"user{i}", WRONG, "123456").status for i in range(3)]
    capped = sign_in(api, "another", WRONG, "123456")
    assert statuses == [401] * 3
    assert capped.status == 429
    assert 0 < int(capped.headers["Retry-After"]) <= 60


# --- the same work for unknown usernames ----------------------------------------------------


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    from pynamodb.connection.base import Connection

    seen: Counter[str] = Counter()
    original = Connection._make_api_call

    def counting(self: Connection, operation: str, kwargs: dict[str, Any]) -> Any:
        seen[operation] += 1
        return original(self, operation, kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counting)
    yield seen


def test_unknown_usernames_cost_the_same_round_trips_and_one_verify(
    api: Api, monkeypatch: pytest.MonkeyPatch, dynamodb_calls: Counter[str]
) -> None:
    import chalicelib.services.staff_accounts as staff
    from chalicelib.adapters import passwords

    settings(monkeypatch, login_free_failures=10_000, login_per_ip_per_minute=10_000)
    enrol_staff("sasha.support", "support")
    verifies: list[str] = []
    real_verify = passwords.verify_password
    monkeypatch.setattr(
        staff, "verify_password", lambda *a: verifies.append("v") or real_verify(*a)
    )
    monkeypatch.setattr(
        passwords, "verify_password", lambda *a: verifies.append("v") or real_verify(*a)
    )

    def cost(username: str) -> tuple[dict[str, int], int]:
        dynamodb_calls.clear()
        verifies.clear()
        assert sign_in(api, username, WRONG, "123456").status == 401
        return dict(dynamodb_calls), len(verifies)

    cost("sasha.support")  # both counters exist from here on
    cost("nobody.here")
    known, unknown, malformed = cost("sasha.support"), cost("nobody.here"), cost("Не Логин!")
    assert known == unknown == malformed
    assert known[1] == 1


def test_staff_sign_in_takes_as_long_for_an_unknown_username(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings(monkeypatch, login_free_failures=10_000, login_per_ip_per_minute=10_000)
    enrol_staff("sasha.support", "support")
    sides = {"wrong_password": "sasha.support", "unknown_username": "nobody.here"}
    for name in sides.values():
        sign_in(api, name, WRONG, "123456")
    samples: dict[str, list[float]] = {side: [] for side in sides}
    for i in range(15):
        for side in list(sides)[i % 2 :] + list(sides)[: i % 2]:
            started = time.perf_counter()
            sign_in(api, sides[side], WRONG, "123456")
            samples[side].append(time.perf_counter() - started)
    medians = {side: statistics.median(s) for side, s in samples.items()}
    verify = _verify_median()
    assert abs(medians["wrong_password"] - medians["unknown_username"]) <= 0.5 * verify, (
        medians,
        verify,
    )


# --- TOTP failures are a security event -----------------------------------------------------


def test_repeated_wrong_codes_after_the_right_password_raise_a_security_event(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chalicelib.services.staff_accounts as staff

    settings(monkeypatch, login_free_failures=10_000)
    events = LogRecorder()
    monkeypatch.setattr(staff, "logger", events)
    secret = enrol_staff("sasha.support", "support")
    for _ in range(2):
        assert sign_in(api, "sasha.support", STAFF_PASSWORD, wrong_code(secret)).status == 401
    assert events.lines == []
    assert sign_in(api, "sasha.support", WRONG, wrong_code(secret)).status == 401
    assert events.lines == []  # a wrong password says nothing about the code
    assert sign_in(api, "sasha.support", STAFF_PASSWORD, wrong_code(secret)).status == 401
    # THEN one line an alarm can match, with no username, address or code in it
    assert events.lines == [("security_event", {"event": "staff_totp_failures", "failures": 3})]
    assert "sasha" not in str(events.lines)
    # AND a success starts the count again
    assert sign_in(api, "sasha.support", STAFF_PASSWORD, pyotp.TOTP(secret).now()).status == 201
    assert sign_in(api, "sasha.support", STAFF_PASSWORD, wrong_code(secret)).status == 401
    assert len(events.lines) == 1


# --- borrowers never see staff login names -------------------------------------------------


def test_a_borrowers_export_shows_a_role_and_a_staff_number_not_the_login(api: Api) -> None:
    from chalicelib.services.staff_accounts import staff_number

    registered = api.register()
    account_id, borrower = registered["account_id"], registered["token"]
    support = staff_login(api, "sasha.support", enrol_staff("sasha.support", "support"))
    request_id = file_request(rules.DELETION, datetime.now(UTC), account_id)
    assert api.get(f"/admin/v1/requests/{request_id}", token=support).status == 200

    export = api.get("/v1/me/export", token=borrower)
    assert export.status == 200, export.body
    assert "sasha" not in str(export.body)
    viewed = [e for e in export.body["audit"] if e["action"] == "request_viewed"]
    assert viewed == [
        {
            **viewed[0],
            "actor": "staff",
            "staff_role": "support",
            "staff_number": staff_number("sasha.support"),
        }
    ]
    # Stable: the same member has the same number in every export.
    assert staff_number("sasha.support") == staff_number("sasha.support")
    assert staff_number("sasha.support") != staff_number("olzhas.support")


# --- enrolment ----------------------------------------------------------------------------


@pytest.fixture
def admin(api: Api) -> str:
    return staff_login(api, "admin_ainur", enrol_staff("admin_ainur", "admin"))


def invite(api: Api, admin: str, username: str = "new.agent") -> str:
    created = api.post("/admin/v1/staff", {"username": username, "roles": ["support"]}, token=admin)
    assert created.status == 201, created.body
    return str(created.body["enrolment_token"])


def enrol(api: Api, token: str, password: str = STAFF_PASSWORD) -> Any:
    body = {"token": token, "password": password, "password_confirm": password}
    return api.post("/admin/v1/enrolment", body)


def test_the_enrolment_link_works_once(api: Api, admin: str) -> None:
    token = invite(api, admin)
    # A pending member cannot sign in at all (the same 401 as anyone).
    assert sign_in(api, "new.agent", STAFF_PASSWORD, "123456").status == 401
    # A weak password is refused without spending the link.
    weak = enrol(api, token, "qwerty")
    assert weak.status == 400
    first = enrol(api, token)
    assert first.status == 200, first.body
    second = enrol(api, token, "другой-пароль-злоумышленника")
    assert second.status == 404
    assert second.error["code"] == "enrolment_link_invalid"
    # The first password and secret stand; the first code activates the member.
    token_ = staff_login(api, "new.agent", secret_of(first.body["provisioning_uri"]))
    assert api.get("/admin/v1/queue?type=phone_change", token=token_).status == 200
    members = {
        m["username"]: m["status"] for m in api.get("/admin/v1/staff", token=admin).body["items"]
    }
    assert members["new.agent"] == "active"


def test_the_enrolment_link_expires_and_a_forged_one_is_refused(
    api: Api, admin: str, frozen_clock: FrozenClock
) -> None:

    token = invite(api, admin)
    frozen_clock.advance(24 * 3600 + 1)
    expired = enrol(api, token)
    assert expired.status == 404
    assert "устарела" in expired.error["message"]
    frozen_clock.thaw()
    for forged in (
        token[:-2] + "xx",
        "admin_ainur." + token.rpartition(".")[2],
        "no-dot",
        "../x.y",
    ):
        reply = enrol(api, forged)
        assert (reply.status, reply.error["code"]) == (404, "enrolment_link_invalid"), forged
    # The admin reissues; the old link stays dead, the new one works.
    again = api.post("/admin/v1/staff/new.agent/enrolment", {}, token=admin)
    assert again.status == 201, again.body
    assert enrol(api, token).status == 404
    assert enrol(api, again.body["enrolment_token"]).status == 200


def test_only_the_hash_of_the_enrolment_token_is_stored(api: Api, admin: str) -> None:
    token = invite(api, admin)
    item = api.aws.client("dynamodb").get_item(
        TableName="hava-staff", Key={"username": {"S": "new.agent"}}
    )["Item"]
    assert token.rpartition(".")[2] not in str(item)
    assert "password_hash" not in item and "totp_secret" not in item
    assert item["status"] == {"S": "pending"}


def test_a_support_member_cannot_read_a_staff_audit_trail(api: Api, admin: str) -> None:
    support = staff_login(api, "sasha.support", enrol_staff("sasha.support", "support"))
    security = staff_login(api, "sec-olzhas", enrol_staff("sec-olzhas", "security"))
    for who in (support, security):
        for target in ("staff%23admin_ainur", "staff%23sasha.support", "staff%23%3F"):
            reply = api.get(f"/admin/v1/audit?account_id={target}", token=who)
            assert reply.status == 403, target
    trail = api.get("/admin/v1/audit?account_id=staff%23sasha.support", token=admin)
    assert trail.status == 200
    assert "staff_login" in [e["action"] for e in trail.body["items"]]
