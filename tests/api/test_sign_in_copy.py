"""Issue 11 §7: sign-in reads the identifier guard's copy of its account, and nothing else.

The copy (``storage.accounts.LOGIN_FIELDS``) is kept in step by the transactions that
change those fields; the consistency checker compares it with the account.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.helpers import PASSWORD, Api, form

WRONG = "не-тот-пароль-вовсе"
NEW_PASSWORD = "другой-длинный-пароль-2026"


@contextmanager
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Every DynamoDB operation pynamodb sends (the application's only DynamoDB client)."""
    from pynamodb.connection.base import Connection

    seen: Counter[str] = Counter()
    real = Connection.dispatch

    def dispatch(self: Any, operation: str, kwargs: dict[str, Any]) -> Any:
        seen[operation] += 1
        return real(self, operation, kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Connection, "dispatch", dispatch)
        yield seen


def findings() -> list[str]:
    from devstack.consistency import check

    return [str(f) for f in check()]


def account_id_of(api: Api, token: str) -> str:
    return str(api.get("/v1/me", token=token).body["account_id"])


def test_a_sign_in_makes_three_dynamodb_calls_and_an_unknown_login_the_same_work(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = form()
    api.register(data)
    # WHEN the borrower signs in with each identifier
    for login in (data["iin"], data["email"], data["phone"]):
        with dynamodb_calls(monkeypatch) as seen:
            assert api.login(login).status == 201
        # THEN the address window, guard + failure counter, and the session: nothing more
        assert sum(seen.values()) <= 3, seen
    # AND a wrong password and an unknown login send the same DynamoDB calls
    with dynamodb_calls(monkeypatch) as wrong:
        assert api.login(data["email"], WRONG).status == 401
    with dynamodb_calls(monkeypatch) as unknown:
        assert api.login("nobody-here@example.kz", WRONG).status == 401
    assert wrong == unknown


def test_a_sign_in_after_failures_forgets_them_within_the_same_three_calls(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.services.auth import login_subject
    from chalicelib.storage import throttles

    data = form()
    api.register(data)
    # GIVEN two wrong passwords on the phone
    for _ in range(2):
        assert api.login(data["phone"], WRONG).status == 401
    assert throttles.failure_state(login_subject(data["phone"]))[0] == 2
    # WHEN the right one follows
    with dynamodb_calls(monkeypatch) as seen:
        assert api.login(data["phone"]).status == 201
    # THEN the failures are forgotten in the session's own write: still three calls
    assert sum(seen.values()) == 3, seen
    assert seen["TransactWriteItems"] == 1, seen
    assert throttles.failure_state(login_subject(data["phone"])) == (0, 0)


def test_the_copy_follows_every_change_of_what_sign_in_reads(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.config import reset_settings

    data = form()
    token = api.register(data)["token"]
    # Password change: the old password stops working at once, under every identifier
    changed = api.post(
        "/v1/me/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
        token=token,
    )
    assert changed.status == 200, changed.body
    for login in (data["iin"], data["email"], data["phone"]):
        assert api.login(login, PASSWORD).status == 401
        assert api.login(login, NEW_PASSWORD).status == 201
    # A new device is remembered in the copy (its notice goes out once)
    device = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Firefox/120.0"}
    body = {"login": data["email"], "password": NEW_PASSWORD}
    for _ in range(2):
        assert api.call("POST", "/v1/sessions", body, headers=device).status == 201
    assert len([t for t in api.sms_to(data["phone"]) if "нового устройства" in t]) == 1
    # A new consent text: the copy says which version the borrower accepted
    from chalicelib.domain import consent

    monkeypatch.setitem(consent.CONSENT_TEXTS, "2099-01", "Новая редакция согласия.")
    monkeypatch.setenv("HAVA_CONSENT_VERSION", "2099-01")
    reset_settings()
    pending = api.login(data["iin"], NEW_PASSWORD)
    assert pending.status == 201
    assert api.get("/v1/me/loans", token=pending.body["token"]).status == 403
    accepted = api.post("/v1/me/consent", {"version": "2099-01"}, token=pending.body["token"])
    assert accepted.status == 200, accepted.body
    again = api.login(data["iin"], NEW_PASSWORD).body["token"]
    assert api.get("/v1/me/loans", token=again).status == 200
    assert findings() == []
    # A compromise report: the right password opens nothing any more
    fresh = api.login(data["phone"], NEW_PASSWORD).body["token"]
    assert api.post("/v1/me/compromise", {"description": "Не я"}, token=fresh).status == 201
    refused = api.login(data["email"], NEW_PASSWORD)
    assert refused.status == 403 and refused.error["code"] == "password_recovery_required"
    assert findings() == []


def test_a_guard_without_the_copy_signs_in_as_before_until_reindexed(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.services.auth import identifier_index
    from chalicelib.storage.accounts import LOGIN_FIELDS, IdentifierModel
    from devstack.reindex_logins import reindex_account

    data = form()
    token = api.register(data)["token"]
    account_id = account_id_of(api, token)
    # GIVEN guards written before the copy existed (an existing deployment)
    for login in (data["iin"], data["phone"], data["email"]):
        guard = IdentifierModel.get(identifier_index(login))
        guard.update(
            actions=[getattr(IdentifierModel, n).remove() for n in ("has_login", *LOGIN_FIELDS)]
        )
    # WHEN the borrower signs in THEN it works, the account read once more
    with dynamodb_calls(monkeypatch) as seen:
        assert api.login(data["iin"]).status == 201
    assert seen["GetItem"] == 1 and sum(seen.values()) == 4, seen
    assert api.login(data["iin"], WRONG).status == 401
    # AND after the re-index the copy is there and consistent, and sign-in reads only it
    assert reindex_account(account_id)
    assert findings() == []
    with dynamodb_calls(monkeypatch) as seen:
        assert api.login(data["email"]).status == 201
    assert sum(seen.values()) <= 3, seen
