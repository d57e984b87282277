"""Session control, new-device notices, consent, data export and retention (issue 4)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tests.conftest import FrozenClock
from tests.helpers import PASSWORD, Api, Reply, form

CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
NEW_DEVICE = "вход в личный кабинет с нового устройства"


def login_from(api: Api, login: str, user_agent: str, password: str = PASSWORD) -> Reply:
    return api.call(
        "POST",
        "/v1/sessions",
        {"login": login, "password": password},
        headers={"User-Agent": user_agent},
    )


def signed_in(api: Api, user_agent: str = CHROME_ANDROID) -> tuple[dict[str, Any], str]:
    """A registered borrower's form and a token of a sign-in from ``user_agent``."""
    data = form()
    api.register(data)
    reply = login_from(api, data["iin"], user_agent)
    assert reply.status == 201, reply.body
    return data, reply.body["token"]


def sessions_of(api: Api, token: str) -> list[dict[str, Any]]:
    reply = api.get("/v1/me/sessions", token=token)
    assert reply.status == 200, reply.body
    items: list[dict[str, Any]] = reply.body["items"]
    return items


def new_device_notices(api: Api, phone: str) -> list[str]:
    return [text for text in api.sms_to(phone) if NEW_DEVICE in text]


def set_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    from chalicelib.config import reset_settings

    for name, value in values.items():
        monkeypatch.setenv(name, value)
    reset_settings()


def account_of(data: dict[str, Any]) -> Any:
    from chalicelib.adapters import crypto
    from chalicelib.storage.accounts import AccountModel, IdentifierModel

    guard = IdentifierModel.get(crypto.blind_index("iin", data["iin"]))
    return AccountModel.get(guard.account_id, consistent_read=True)


# --- session list -----------------------------------------------------------------


def test_session_list_shows_device_address_dates_and_which_is_current(api: Api) -> None:
    # GIVEN a borrower signed in at registration and again from a phone
    _, token = signed_in(api)
    # WHEN they list their sessions
    items = sessions_of(api, token)
    # THEN both are listed with a public id, a short device name and dates
    assert len(items) == 2
    current = [s for s in items if s["current"]]
    assert len(current) == 1
    assert current[0]["device"] == "Chrome 120, Android"
    assert current[0]["user_agent"] == CHROME_ANDROID
    for item in items:
        assert item["session_id"].startswith("ses_")
        assert set(item) >= {"ip_address", "created_at", "last_used_at", "expires_at"}
        assert item["created_at"].endswith("Z") and "#" not in item["created_at"]
    # AND nothing of the token or of its hash (the storage key) is shown
    text = json.dumps(items)
    assert token not in text
    assert hashlib.sha256(token.encode()).hexdigest() not in text


def test_session_stores_the_address_it_was_created_from(api: Api) -> None:
    from chalicelib.services.sessions import start_session

    # GIVEN a session started with the client's address (as auth.login will pass it)
    data, token = signed_in(api)
    account_id = account_of(data).account_id
    start_session(account_id, FIREFOX_WINDOWS, client_ip="203.0.113.7")
    # THEN the borrower sees that address beside the device
    listed = {s["device"]: s for s in sessions_of(api, token)}
    assert listed["Firefox 121, Windows"]["ip_address"] == "203.0.113.7"


def test_ending_one_session_revokes_it_at_once(api: Api) -> None:
    # GIVEN two sessions of one borrower
    data, first = signed_in(api)
    second = login_from(api, data["email"], FIREFOX_WINDOWS).body["token"]
    target = next(s for s in sessions_of(api, first) if s["device"] == "Firefox 121, Windows")
    # WHEN the first ends the second by its public id
    reply = api.call("DELETE", f"/v1/me/sessions/{target['session_id']}", token=first)
    # THEN the second is refused on its very next request and no longer listed
    assert reply.status == 204
    assert api.get("/v1/me", token=second).status == 401
    assert target["session_id"] not in [s["session_id"] for s in sessions_of(api, first)]
    assert api.get("/v1/me", token=first).status == 200


def test_another_borrowers_session_cannot_be_ended(api: Api) -> None:
    # GIVEN two borrowers
    _, mine = signed_in(api)
    _, theirs = signed_in(api)
    their_id = next(s for s in sessions_of(api, theirs) if s["current"])["session_id"]
    # WHEN one tries to end the other's session, or an id that does not exist
    stolen = api.call("DELETE", f"/v1/me/sessions/{their_id}", token=mine)
    unknown = api.call("DELETE", "/v1/me/sessions/ses_0000", token=mine)
    # THEN both are 404 and the other borrower is still signed in
    assert stolen.status == unknown.status == 404
    assert stolen.body == unknown.body
    assert api.get("/v1/me", token=theirs).status == 200


def test_end_others_keeps_only_the_current_session(api: Api) -> None:
    # GIVEN three sessions: registration, phone, laptop
    data, phone = signed_in(api)
    laptop = login_from(api, data["phone"], FIREFOX_WINDOWS).body["token"]
    # WHEN the laptop ends all the others
    reply = api.post("/v1/me/sessions/end-others", token=laptop)
    # THEN two ended at once, the laptop alone remains
    assert reply.status == 200
    assert reply.body == {"sessions_ended": 2}
    assert api.get("/v1/me", token=phone).status == 401
    (only,) = sessions_of(api, laptop)
    assert only["current"] is True


def test_session_routes_need_a_session(api: Api) -> None:
    assert api.get("/v1/me/sessions").status == 401
    assert api.post("/v1/me/sessions/end-others").status == 401
    assert api.call("DELETE", "/v1/me/sessions/ses_x").status == 401


def test_idle_sessions_are_not_listed(api: Api) -> None:
    from chalicelib.services.sessions import token_hash
    from chalicelib.storage.sessions import SessionModel

    # GIVEN a second session idle for longer than the idle timeout
    data, token = signed_in(api)
    stale = login_from(api, data["iin"], FIREFOX_WINDOWS).body["token"]
    item = SessionModel.get(token_hash(stale))
    item.update(actions=[SessionModel.last_seen_at.set(item.last_seen_at - 31 * 60)])
    # THEN it is not among the active sessions
    devices = [s["device"] for s in sessions_of(api, token)]
    assert "Firefox 121, Windows" not in devices


def test_a_session_without_public_id_is_not_listed_but_ends_with_the_others(api: Api) -> None:
    from chalicelib.services.sessions import token_hash
    from chalicelib.storage.sessions import SessionModel

    # GIVEN a session made before public ids existed
    data, token = signed_in(api)
    legacy = login_from(api, data["iin"], FIREFOX_WINDOWS).body["token"]
    SessionModel.get(token_hash(legacy)).update(actions=[SessionModel.session_id.remove()])
    # THEN it is not listed (nothing is derived from its hash) …
    assert len(sessions_of(api, token)) == 2
    # … and "end the others" still ends it
    api.post("/v1/me/sessions/end-others", token=token)
    assert api.get("/v1/me", token=legacy).status == 401


# --- new-device notice ------------------------------------------------------------


def test_a_sign_in_from_a_new_device_sends_one_sms_and_remembers_it(api: Api) -> None:
    # GIVEN a registered borrower
    data = form()
    api.register(data)
    before = len(new_device_notices(api, data["phone"]))
    # WHEN they sign in twice from a new browser
    assert login_from(api, data["iin"], FIREFOX_WINDOWS).status == 201
    assert login_from(api, data["email"], FIREFOX_WINDOWS).status == 201
    # THEN exactly one notice went to the phone of record, naming the device
    notices = new_device_notices(api, data["phone"])[before:]
    assert len(notices) == 1
    assert "(Firefox, Windows, " in notices[0]
    assert "Если это были не вы" in notices[0]
    # AND the account keeps a keyed fingerprint, not the browser string
    known = account_of(data).known_devices
    assert known
    assert all(len(f) == 32 and "Firefox" not in f for f in known)


def test_the_registration_device_is_already_known(api: Api) -> None:
    data = form()
    api.register(data)  # User-Agent "pytest"
    assert login_from(api, data["iin"], "pytest").status == 201
    assert new_device_notices(api, data["phone"]) == []


def test_known_devices_are_capped_oldest_dropped(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.services.login_hooks import device_fingerprint

    set_env(monkeypatch, HAVA_KNOWN_DEVICES_MAX="3")
    data = form()
    api.register(data)
    agents = [f"TestBrowser/{n}" for n in range(5)]
    for agent in agents:
        assert login_from(api, data["iin"], agent).status == 201
    assert account_of(data).known_devices == [device_fingerprint(a) for a in agents[-3:]]


def test_a_known_device_costs_no_kms_call(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.adapters import crypto

    # GIVEN a device already seen
    data, _ = signed_in(api, FIREFOX_WINDOWS)

    def no_kms(*_: Any) -> Any:
        raise AssertionError("KMS used on the sign-in path")

    monkeypatch.setattr(crypto, "_sealer", no_kms)
    # WHEN the borrower signs in from it again, THEN nothing is decrypted or sealed
    assert login_from(api, data["iin"], FIREFOX_WINDOWS).status == 201


def test_a_notice_that_cannot_be_sent_does_not_refuse_the_sign_in(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.services import notifications

    data = form()
    api.register(data)
    before = account_of(data).known_devices or []

    def broken(*_: Any, **__: Any) -> str:
        raise RuntimeError("queue down")

    monkeypatch.setattr(notifications, "enqueue", broken)
    assert login_from(api, data["iin"], FIREFOX_WINDOWS).status == 201
    # The device is not remembered, so the next sign-in from it tries the notice again.
    assert (account_of(data).known_devices or []) == before


# --- consent ----------------------------------------------------------------------


def test_the_current_consent_text_is_public_and_cites_law_94_v(api: Api) -> None:
    from chalicelib.config import get_settings

    reply = api.get("/v1/consent")
    assert reply.status == 200
    assert reply.body["version"] == get_settings().consent_version
    assert "94-V" in reply.body["law"]
    assert "94-V" in reply.body["text"]
    assert "персональных данных" in reply.body["text"]


def test_a_newer_consent_must_be_accepted_before_the_cabinet_answers(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.domain import consent
    from chalicelib.services import audit

    # GIVEN a borrower who accepted version 2026-01, and a newer text is published
    data = form()
    api.register(data)
    monkeypatch.setitem(consent.CONSENT_TEXTS, "2026-07", "Новая редакция согласия (94-V).")
    set_env(monkeypatch, HAVA_CONSENT_VERSION="2026-07")
    # WHEN they sign in: it works …
    reply = login_from(api, data["iin"], FIREFOX_WINDOWS)
    assert reply.status == 201
    token = reply.body["token"]
    # … but the cabinet answers 403 consent_required
    for path in ("/v1/me/loans", "/v1/requests"):
        refused = api.get(path, token=token)
        assert refused.status == 403
        assert refused.error["code"] == "consent_required"
    # AND the session list, the export, the profile and the text itself stay open
    assert api.get("/v1/me/sessions", token=token).status == 200
    assert api.get("/v1/me", token=token).status == 200
    assert api.get("/v1/me/export", token=token).status == 200
    assert api.get("/v1/consent").body["version"] == "2026-07"
    # WHEN they try to accept an old version, THEN it is refused
    old = api.post("/v1/me/consent", {"version": "2026-01"}, token=token)
    assert old.status == 400
    assert "2026-07" in old.error["fields"]["version"]
    # WHEN they accept the current one
    accepted = api.post("/v1/me/consent", {"version": "2026-07"}, token=token)
    # THEN version and time are recorded, audited, and the cabinet answers again
    assert accepted.status == 200, accepted.body
    assert accepted.body["version"] == "2026-07"
    assert accepted.body["accepted_at"].endswith("Z")
    assert api.get("/v1/me/loans", token=token).status == 200
    account = account_of(data)
    assert account.consent_version == "2026-07"
    entries = audit.for_subject(account.account_id).items
    assert [e["target"] for e in entries if e["action"] == "consent_accepted"] == ["2026-07"]


def test_consent_up_to_date_leaves_the_session_unmarked(api: Api) -> None:
    _, token = signed_in(api)
    assert api.get("/v1/me/loans", token=token).status == 200


def test_consent_body_is_checked(api: Api) -> None:
    _, token = signed_in(api)
    assert api.post("/v1/me/consent", {}, token=token).status == 400
    assert api.post("/v1/me/consent", {"version": 7}, token=token).status == 400
    assert api.post("/v1/me/consent", {"version": "2026-01"}).status == 401


# --- data export ------------------------------------------------------------------


def test_export_holds_everything_unmasked_and_is_audited(api: Api) -> None:
    # GIVEN a borrower with an application and a phone-change request
    data, token = signed_in(api)
    new_phone = "+77001239876"
    filed = api.post(
        "/v1/phone-change-requests", {"password": PASSWORD, "new_phone": new_phone}, token=token
    )
    assert filed.status == 201, filed.body
    # WHEN they download their data
    reply = api.get("/v1/me/export", token=token)
    # THEN it is one JSON attachment …
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Disposition"] == 'attachment; filename="hava-export.json"'
    assert reply.headers["Cache-Control"] == "no-store"
    doc = reply.body
    # … with the personal data unmasked
    person = doc["personal_data"]
    assert person["iin"] == data["iin"]
    assert person["phone"] == data["phone"]
    assert person["email"] == data["email"]
    assert person["surname"] == "Тестова"
    assert person["id_card"]["number"] == data["id_number"]
    assert "password" not in json.dumps(doc["personal_data"])
    # … consent, loans, requests with their details, sessions and the audit trail
    assert doc["consent"]["version"] == "2026-01"
    assert "94-V" in doc["consent"]["text"]
    assert [loan["amount"] for loan in doc["loans"]] == [50_000]
    (request,) = doc["requests"]
    assert request["type"] == "phone_change"
    assert request["details"] == {"new_phone": new_phone}
    assert {s["session_id"] for s in doc["sessions"]} == {
        s["session_id"] for s in sessions_of(api, token)
    }
    actions = [e["action"] for e in doc["audit"]]
    assert "phone_change_requested" in actions
    assert actions[-1] == "data_exported"
    # AND the export itself is in the trail
    again = api.get("/v1/me/export", token=token).body
    assert [e["action"] for e in again["audit"]].count("data_exported") == 2


def test_export_withholds_details_of_reports_filed_without_sign_in(api: Api) -> None:
    # GIVEN someone reported, without signing in, a problem with this borrower's login
    data, token = signed_in(api)
    report = {
        "login": data["phone"],
        "contact": "someone.else@example.kz",
        "description": "Не могу войти, кто-то сменил пароль",
    }
    assert api.post("/v1/compromise-reports", report).status == 202
    # WHEN the borrower exports their data
    doc = api.get("/v1/me/export", token=token).body
    # THEN the report is listed, but not the reporter's contact
    (listed,) = [r for r in doc["requests"] if r["type"] == "compromise"]
    assert listed["details"] is None
    assert listed["details_withheld"]
    assert "someone.else" not in json.dumps(doc)


def test_export_needs_a_session_and_is_rate_limited(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api.get("/v1/me/export").status == 401
    set_env(monkeypatch, HAVA_EXPORTS_PER_HOUR="1")
    _, token = signed_in(api)
    assert api.get("/v1/me/export", token=token).status == 200
    limited = api.get("/v1/me/export", token=token)
    assert limited.status == 429
    assert int(limited.headers["Retry-After"]) > 0


# --- retention --------------------------------------------------------------------


def test_a_session_past_its_absolute_lifetime_is_refused_before_ttl_removes_it(
    api: Api, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock
) -> None:
    import chalicelib.services.sessions as sessions
    from chalicelib.storage.sessions import SessionModel

    # GIVEN an idle timeout long enough that only the absolute lifetime (12 h) can apply
    set_env(monkeypatch, HAVA_SESSION_IDLE_SECONDS=str(24 * 3600))
    _, token = signed_in(api)
    key = sessions.token_hash(token)
    assert SessionModel.get(key).expires_at is not None  # the TTL attribute is set
    # WHEN 12 h and 1 s have passed (the item is still in the table: TTL has not run)
    frozen_clock.advance(12 * 3600 + 1)
    # THEN the token is refused, and the item is deleted on that read
    assert api.get("/v1/me", token=token).status == 401
    with pytest.raises(SessionModel.DoesNotExist):
        SessionModel.get(key)


def test_an_unfinished_registration_past_its_lifetime_is_refused_before_ttl_removes_it(
    api: Api, frozen_clock: FrozenClock
) -> None:
    from chalicelib.services import registration
    from chalicelib.storage.challenges import ChallengeModel

    # GIVEN a registration started but never confirmed
    data = form()
    started = api.start(data)
    rid = started.body["registration_id"]
    code = api.latest_code(data["phone"])
    # WHEN its lifetime (24 h) has passed, the item still in the table
    frozen_clock.advance(registration.CHALLENGE_LIFETIME_SECONDS + 1)
    assert ChallengeModel.get(rid).challenge_id == rid
    # THEN neither a new code nor the old one opens it
    resent = api.post(f"/v1/registrations/{rid}/resend")
    confirmed = api.post(f"/v1/registrations/{rid}/confirm", {"code": code})
    for reply in (resent, confirmed):
        assert reply.status == 422
        assert reply.error["code"] == "code_expired"
        assert "устарел" in reply.error["message"]
    assert login_from(api, data["iin"], FIREFOX_WINDOWS).status == 401


@pytest.mark.parametrize("table", ["hava-sessions", "hava-challenges"])
def test_sessions_and_challenges_expire_by_ttl(api: Api, table: str) -> None:
    ttl = api.aws.client("dynamodb").describe_time_to_live(TableName=table)
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"
