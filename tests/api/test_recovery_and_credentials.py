"""Forgotten password and e-mail change through the Chalice app."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import FrozenClock
from tests.helpers import PASSWORD, Api, form

NEW_PASSWORD = "синий-слон-идёт-домой"


def registered(api: Api, frozen_clock: FrozenClock) -> tuple[dict[str, str], str]:
    """A borrower signed in, past the SMS cooldown of their registration code."""
    data = form()
    token = api.register(data)["token"]
    frozen_clock.advance(61)
    return data, token


def recover(api: Api, login: str) -> str:
    started = api.post("/v1/password-recovery", {"login": login})
    assert started.status == 202, started.body
    rid: str = started.body["recovery_id"]
    return rid


def emails_to(api: Api, address: str) -> list[dict[str, str]]:
    api.deliver()
    return [m for m in api.aws.outbox() if m["channel"] == "email" and m["to"] == address]


# --- forgotten password ------------------------------------------------------------------


def test_recovery_sets_the_password_ends_every_session_and_tells_the_borrower(
    api: Api, frozen_clock: FrozenClock
) -> None:
    # GIVEN a borrower signed in on two devices
    data, first = registered(api, frozen_clock)
    second = api.login(data["iin"]).body["token"]
    # WHEN they recover the password by their e-mail and the SMS code
    rid = recover(api, data["email"].upper())
    code = api.latest_code(data["phone"])
    done = api.post(
        f"/v1/password-recovery/{rid}/confirm",
        {"code": code, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
    )
    # THEN the new password works, the old does not, every session ended, an SMS told them
    assert done.status == 200, done.body
    assert done.body["sessions_ended"] == 2
    assert api.get("/v1/me", token=first).status == 401
    assert api.get("/v1/me", token=second).status == 401
    assert api.login(data["iin"]).status == 401
    assert api.login(data["iin"], NEW_PASSWORD).status == 201
    assert "восстановлен" in api.sms_to(data["phone"])[-1]


def test_recovery_answers_the_same_for_unknown_logins_and_sends_nothing(
    api: Api, frozen_clock: FrozenClock
) -> None:
    data, _ = registered(api, frozen_clock)
    api.deliver()
    before = len(api.aws.outbox())
    known = api.post("/v1/password-recovery", {"login": data["phone"]})
    api.deliver()
    sent = len(api.aws.outbox())
    assert sent == before + 1
    replies = [
        api.post("/v1/password-recovery", {"login": login})
        for login in ("nobody@example.kz", "+7 700 999 99 99", "060101500003", "???")
    ]
    api.deliver()
    assert len(api.aws.outbox()) == sent
    for reply in replies:
        assert reply.status == known.status == 202
        assert {k: v for k, v in reply.body.items() if k != "recovery_id"} == {
            k: v for k, v in known.body.items() if k != "recovery_id"
        }
    # An unknown login's recovery refuses codes exactly like a wrong code.
    wrong_known = api.post(
        f"/v1/password-recovery/{known.body['recovery_id']}/confirm",
        {"code": "000000", "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
    )
    wrong_unknown = api.post(
        f"/v1/password-recovery/{replies[0].body['recovery_id']}/confirm",
        {"code": "000000", "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
    )
    if api.latest_code(data["phone"]) != "000000":
        assert wrong_known.status == wrong_unknown.status == 422
        assert wrong_known.body == wrong_unknown.body


def test_recovery_applies_the_password_policy_with_personal_data(
    api: Api, frozen_clock: FrozenClock
) -> None:
    data, _ = registered(api, frozen_clock)
    rid = recover(api, data["iin"])
    code = api.latest_code(data["phone"])
    url = f"/v1/password-recovery/{rid}/confirm"
    with_iin = f"мой-{data['iin']}-пароль"
    personal = api.post(
        url, {"code": code, "new_password": with_iin, "new_password_confirm": with_iin}
    )
    assert personal.status == 400
    assert "ИИН" in personal.error["fields"]["new_password"]
    common = api.post(
        url, {"code": code, "new_password": "password1", "new_password_confirm": "password1"}
    )
    assert common.status == 400
    assert "new_password" in common.error["fields"]
    mismatch = api.post(
        url, {"code": code, "new_password": NEW_PASSWORD, "new_password_confirm": "x"}
    )
    assert mismatch.error["fields"] == {"new_password_confirm": "Пароли не совпадают."}
    assert api.post(url, {"code": code}).status == 400
    # The code survives policy refusals, then works once.
    ok = {"code": code, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}
    assert api.post(url, ok).status == 200
    again = api.post(url, ok)
    assert again.status == 422
    assert again.error["code"] == "code_expired"


def test_recovery_code_tries_are_limited_and_resend_has_a_cooldown(
    api: Api, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock
) -> None:
    data, _ = registered(api, frozen_clock)
    rid = recover(api, data["iin"])
    code = api.latest_code(data["phone"])
    early = api.post(f"/v1/password-recovery/{rid}/resend")
    assert early.status == 429
    assert 0 < int(early.headers["Retry-After"]) <= 60
    wrong = "000000" if code != "000000" else "111111"
    body = {"code": wrong, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}
    statuses = [api.post(f"/v1/password-recovery/{rid}/confirm", body) for _ in range(5)]
    assert [r.status for r in statuses] == [422] * 5
    assert statuses[-1].error["code"] == "code_attempts_exhausted"
    right = api.post(f"/v1/password-recovery/{rid}/confirm", {**body, "code": code})
    assert right.error["code"] == "code_attempts_exhausted"
    # A resend after the cooldown gives a fresh code and fresh tries.
    frozen_clock.advance(200)
    assert api.post(f"/v1/password-recovery/{rid}/resend").status == 202
    fresh = api.latest_code(data["phone"])
    done = api.post(f"/v1/password-recovery/{rid}/confirm", {**body, "code": fresh})
    assert done.status == 200, done.body


def test_recovery_of_an_unknown_id_is_not_found(api: Api) -> None:
    body = {"code": "123456", "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}
    assert api.post("/v1/password-recovery/rec_nope/confirm", body).status == 404
    assert api.post("/v1/password-recovery/rec_nope/resend").status == 404
    assert api.post("/v1/password-recovery", {"login": ""}).status == 400
    assert api.post("/v1/password-recovery", {"login": "a", "extra": 1}).status == 400


def test_recovery_works_while_sign_in_is_throttled_and_clears_it(
    api: Api, frozen_clock: FrozenClock
) -> None:
    # GIVEN an identifier whose sign-in is held back after five wrong passwords
    data, _ = registered(api, frozen_clock)
    for _ in range(5):
        assert api.login(data["phone"], "не-тот-пароль-вовсе").status == 401
    assert api.login(data["phone"]).status == 429
    # WHEN the borrower recovers the password right away
    rid = recover(api, data["phone"])
    code = api.latest_code(data["phone"])
    done = api.post(
        f"/v1/password-recovery/{rid}/confirm",
        {"code": code, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
    )
    assert done.status == 200, done.body
    # THEN signing in works at once: the failure state was reset
    assert api.login(data["phone"], NEW_PASSWORD).status == 201


def test_recovery_lifts_a_required_password_change(api: Api, frozen_clock: FrozenClock) -> None:
    from chalicelib.storage.accounts import AccountModel
    from devstack.reindex_logins import reindex_account

    data, _ = registered(api, frozen_clock)
    account_id = api.get("/v1/me", token=api.login(data["iin"]).body["token"]).body["account_id"]
    AccountModel(account_id=account_id).update(
        actions=[AccountModel.must_change_password.set(True)], add_version_condition=False
    )
    reindex_account(account_id)  # the guards' sign-in copy follows the account
    refused = api.login(data["iin"])
    assert refused.status == 403 and refused.error["code"] == "password_recovery_required"
    second = api.login(data["iin"], NEW_PASSWORD)
    assert second.status == 401
    rid = recover(api, data["iin"])
    code = api.latest_code(data["phone"])
    api.post(
        f"/v1/password-recovery/{rid}/confirm",
        {"code": code, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
    )
    assert api.login(data["iin"], NEW_PASSWORD).body["must_change_password"] is False


# --- e-mail change -----------------------------------------------------------------------


def test_email_change_moves_the_login_and_tells_the_old_address(
    api: Api, frozen_clock: FrozenClock
) -> None:
    # GIVEN a signed-in borrower
    data, token = registered(api, frozen_clock)
    new = "New.Address@Example.KZ"
    # WHEN they ask for a new address with their password and confirm the e-mailed code
    started = api.post("/v1/me/email", {"password": PASSWORD, "new_email": new}, token=token)
    assert started.status == 202, started.body
    (mail,) = emails_to(api, "new.address@example.kz")
    code = re.search(r"\b(\d{6})\b", mail["text"]).group(1)  # type: ignore[union-attr]
    done = api.post("/v1/me/email/confirm", {"code": code}, token=token)
    # THEN the new address signs in, the old one does not, and the old address was told
    assert done.status == 200, done.body
    assert api.login("new.address@example.kz").status == 201
    assert api.login(data["email"]).status == 401
    me = api.get("/v1/me", token=token).body
    assert me["email"].endswith("@example.kz")
    assert me["email"][0] == "n"
    notice = emails_to(api, data["email"])
    assert len(notice) == 1
    assert "изменён" in notice[0]["text"]
    assert "new.address@example.kz" not in notice[0]["text"]
    # The guard moved: the old address is free for someone else.
    other = form(email=data["email"])
    assert api.register(other)["token"]
    # The code worked once.
    assert api.post("/v1/me/email/confirm", {"code": code}, token=token).status == 422


def test_email_change_refusals(api: Api, frozen_clock: FrozenClock) -> None:
    data, token = registered(api, frozen_clock)
    url = "/v1/me/email"
    wrong = api.post(url, {"password": "не-тот-пароль", "new_email": "a@example.kz"}, token=token)
    assert wrong.status == 400
    assert wrong.error["fields"] == {"password": "Неверный пароль."}
    same = api.post(url, {"password": PASSWORD, "new_email": data["email"].upper()}, token=token)
    assert same.error["fields"] == {"new_email": "Это ваш текущий адрес."}
    invalid = api.post(url, {"password": PASSWORD, "new_email": "not-an-address"}, token=token)
    assert invalid.status == 400
    assert "new_email" in invalid.error["fields"]
    assert api.post(url, {"password": PASSWORD, "new_email": "b@example.kz"}).status == 401
    assert api.post("/v1/me/email/confirm", {"code": "123456"}, token=token).status == 404


@pytest.mark.parametrize("spelling", [str, str.upper])
def test_a_taken_address_answers_like_a_free_one_and_its_owner_is_told(
    api: Api, frozen_clock: FrozenClock, spelling: Any
) -> None:
    # GIVEN two signed-in borrowers and the address of a third
    _, token = registered(api, frozen_clock)
    _, other_token = registered(api, frozen_clock)
    owner = form()
    api.register(owner)
    url = "/v1/me/email"
    # WHEN one asks for the owner's address (any case) and the other for a free one
    asked = {"password": PASSWORD, "new_email": spelling(owner["email"])}
    taken = api.post(url, asked, token=token)
    asked = {"password": PASSWORD, "new_email": "free@example.kz"}
    free = api.post(url, asked, token=other_token)
    # THEN the answers are the same but for the masked address
    assert taken.status == free.status == 202, taken.body
    assert set(taken.body) == set(free.body)
    assert taken.body["code_expires_in"] == free.body["code_expires_in"]
    before_address = [r.body["message"].split(" на адрес ")[0] for r in (taken, free)]
    assert before_address[0] == before_address[1]
    # AND the owner's address got a notice without a code; the free one got its code
    (notice,) = emails_to(api, owner["email"])
    assert "в другом личном кабинете" in notice["text"]
    assert not re.search(r"\b\d{6}\b", notice["text"])
    (mail,) = emails_to(api, "free@example.kz")
    assert re.search(r"\b\d{6}\b", mail["text"])
    # AND the change can never be confirmed: the owner keeps the address
    for guess in ("000000", "123456"):
        reply = api.post("/v1/me/email/confirm", {"code": guess}, token=token)
        assert reply.status == 422 and reply.error["code"] == "code_invalid"
    assert api.login(owner["email"]).status == 201


def test_email_taken_meanwhile_fails_cleanly_at_confirmation(
    api: Api, frozen_clock: FrozenClock
) -> None:
    data, token = registered(api, frozen_clock)
    wanted = "wanted@example.kz"
    api.post("/v1/me/email", {"password": PASSWORD, "new_email": wanted}, token=token)
    (mail,) = emails_to(api, wanted)
    code = re.search(r"\b(\d{6})\b", mail["text"]).group(1)  # type: ignore[union-attr]
    # Someone else registers with that address before the borrower confirms.
    api.register(form(email=wanted))
    reply = api.post("/v1/me/email/confirm", {"code": code}, token=token)
    assert reply.status == 400
    assert "нельзя указать" in reply.error["fields"]["new_email"]
    # Nothing moved: the old address still signs in.
    assert api.login(data["email"]).status == 201
