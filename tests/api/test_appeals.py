"""Borrower requests (phone change, deletion, compromise) and the staff decisions on them."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from tests.conftest import FrozenClock
from tests.factories import test_phone
from tests.helpers import PASSWORD, Api, form, shape


def staff(*roles: str, name: str = "officer") -> Any:
    from chalicelib.services.sessions import STAFF, Principal

    return Principal(account_id=f"staff#{name}", token_hash="t", kind=STAFF, roles=frozenset(roles))


def signed_in(api: Api, **overrides: Any) -> tuple[dict[str, Any], str]:
    data = form(**overrides)
    return data, api.register(data)["token"]


def start_phone_change(api: Api, token: str, new_phone: str, password: str = PASSWORD) -> Any:
    return api.post(
        "/v1/phone-change-requests", {"password": password, "new_phone": new_phone}, token=token
    )


def accept_documents(request_id: str) -> None:
    """What the upload worker records after checking three good images."""
    from chalicelib.domain import appeals as rules
    from chalicelib.services.appeals.common import load

    request = load(request_id)
    docs = request.documents.as_dict()
    for doc in rules.DOCUMENTS:
        docs[doc]["status"] = rules.DOC_ACCEPTED
    request.documents = docs
    request.save()


def after_cooldown(frozen_clock: FrozenClock) -> None:
    """Move the clock past the 60-second cooldown of every number."""
    frozen_clock.advance(61)


def set_loan_status(account_id: str, status: str) -> None:
    from chalicelib.storage.loans import LoanModel

    (loan,) = LoanModel.query(account_id)
    loan.status = status
    loan.save()


def repaid_borrower(api: Api) -> tuple[dict[str, Any], str, str]:
    """A signed-in borrower whose first loan is repaid: the form, the token, the account id."""
    data, token = signed_in(api)
    account_id: str = api.get("/v1/me", token=token).body["account_id"]
    set_loan_status(account_id, "repaid")
    return data, token, account_id


def filed_deletion(api: Api) -> tuple[dict[str, Any], str, str, str]:
    """``repaid_borrower`` with a deletion appeal under review; its id comes last."""
    data, token, account_id = repaid_borrower(api)
    reply = api.post("/v1/deletion-requests", {"password": PASSWORD}, token=token)
    return data, token, account_id, reply.body["request_id"]


# --- phone change ---------------------------------------------------------------


def test_a_taken_new_number_answers_exactly_like_a_free_one_and_its_owner_is_told(
    api: Api, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock
) -> None:
    # GIVEN two borrowers starting a phone change, and a third who owns a number
    _, token = signed_in(api)
    _, other_token = signed_in(api)
    owner, _ = signed_in(api)
    after_cooldown(frozen_clock)
    free = test_phone(7100)
    # WHEN one asks for the owner's number and the other for a free one
    taken_reply = start_phone_change(api, token, owner["phone"])
    free_reply = start_phone_change(api, other_token, free)
    # THEN the answers do not differ but by ids
    assert taken_reply.status == free_reply.status == 201, taken_reply.body
    assert shape(taken_reply.body) == shape(free_reply.body)
    assert taken_reply.body["status"] == free_reply.body["status"] == "awaiting_documents"
    # AND the owner got a notice, not a code; the free number got its code
    notice = api.sms_to(owner["phone"])[-1]
    assert "нельзя привязать к другому кабинету" in notice
    assert not re.search(r"\d{6}", notice)
    assert api.latest_code(free)
    # AND the taken number can never be confirmed, not even on resend
    rid = taken_reply.body["request_id"]
    for guess in ("000000", "123456"):
        wrong = api.post(f"/v1/requests/{rid}/confirm-phone", {"code": guess}, token=token)
        assert wrong.status == 422 and wrong.error["code"] == "code_invalid"
    monkeypatch.undo()
    frozen_clock.advance(200)
    assert api.post(f"/v1/requests/{rid}/resend-code", token=token).status == 202
    assert "нельзя привязать" in api.sms_to(owner["phone"])[-1]
    accept_documents(rid)
    from chalicelib.services.appeals.common import load
    from chalicelib.services.appeals.phone_change import submit_if_ready

    assert submit_if_ready(rid) is False
    assert load(rid).status == "awaiting_documents"


def test_phone_change_attempts_are_capped_per_account_per_day(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.config import reset_settings

    monkeypatch.setenv("HAVA_PHONE_CHANGE_ATTEMPTS_PER_DAY", "2")
    reset_settings()
    _, token = signed_in(api)
    first = start_phone_change(api, token, test_phone(7110))
    assert first.status == 201
    # The open request refuses the second, which still counts; the third is over the cap.
    assert start_phone_change(api, token, test_phone(7111)).status == 409
    capped = start_phone_change(api, token, test_phone(7112))
    assert capped.status == 429
    assert "смены номера" in capped.error["message"]
    assert 0 < int(capped.headers["Retry-After"]) <= 86400


def test_phone_change_refusals_name_the_field(api: Api) -> None:
    data, token = signed_in(api)
    wrong = start_phone_change(api, token, test_phone(7001), password="не-тот-пароль-123")
    assert wrong.status == 400 and "password" in wrong.error["fields"]
    same = start_phone_change(api, token, data["phone"])
    assert same.status == 400 and same.error["fields"]["new_phone"] == "Это ваш текущий номер."
    russian = start_phone_change(api, token, "+7 916 123 45 67")
    assert russian.status == 400 and "new_phone" in russian.error["fields"]
    assert api.get("/v1/requests", token=token).body["items"] == []


def test_phone_change_sends_a_code_to_the_new_number_and_gives_three_upload_forms(
    api: Api,
) -> None:
    _, token = signed_in(api)
    new_phone = test_phone(7002)
    reply = start_phone_change(api, token, new_phone)
    assert reply.status == 201, reply.body
    assert reply.body["status"] == "awaiting_documents"
    assert set(reply.body["uploads"]) == {"id_front", "id_back", "selfie"}
    request_id = reply.body["request_id"]
    keys = set()
    for doc, upload in reply.body["uploads"].items():
        assert upload["key"].startswith(f"requests/{request_id}/{doc}/")
        keys.add(upload["key"])
        for content_type, fields in upload["fields_by_type"].items():
            assert fields["key"] == upload["key"]
            assert fields["Content-Type"] == content_type
    assert len(keys) == 3
    # Fresh forms before any upload keep the keys (an upload in flight stays valid).
    renewed = api.post(f"/v1/requests/{request_id}/uploads", token=token)
    assert renewed.status == 200, renewed.body
    assert {u["key"] for u in renewed.body["uploads"].values()} == keys
    code = api.latest_code(new_phone)
    confirmed = api.post(f"/v1/requests/{request_id}/confirm-phone", {"code": code}, token=token)
    assert confirmed.status == 200, confirmed.body
    assert confirmed.body["phone_confirmed"] is True
    # Documents are not in yet: still waiting, not in the staff queue.
    assert confirmed.body["status"] == "awaiting_documents"
    # A second phone change while this one is open is refused.
    again = start_phone_change(api, token, test_phone(7003))
    assert again.status == 409


def test_a_borrower_sees_only_their_own_requests(api: Api) -> None:
    _, token = signed_in(api)
    _, stranger = signed_in(api)
    request_id = start_phone_change(api, token, test_phone(7004)).body["request_id"]
    assert api.get(f"/v1/requests/{request_id}", token=token).status == 200
    assert api.get(f"/v1/requests/{request_id}", token=stranger).status == 404
    assert api.get("/v1/requests/req_unknown", token=token).status == 404
    code = api.latest_code(test_phone(7004))
    hijack = api.post(f"/v1/requests/{request_id}/confirm-phone", {"code": code}, token=stranger)
    assert hijack.status == 404
    assert api.get("/v1/requests", token=stranger).body["items"] == []


def test_approved_phone_change_moves_login_and_guard_and_ends_sessions(
    api: Api, frozen_clock: FrozenClock
) -> None:
    from chalicelib.services.appeals import common, decisions

    data, token = signed_in(api)
    new_phone = test_phone(7005)
    request_id = start_phone_change(api, token, new_phone).body["request_id"]
    accept_documents(request_id)
    code = api.latest_code(new_phone)
    api.post(f"/v1/requests/{request_id}/confirm-phone", {"code": code}, token=token)
    assert common.load(request_id).status == "in_review"
    assert common.load(request_id).queue == "phone_change#in_review"

    decisions.decide(
        request_id, {"decision": "approved", "reason": "Документы в порядке"}, staff("support")
    )

    assert api.get("/v1/me", token=token).status == 401  # every session ended
    assert api.login(data["phone"]).status == 401
    assert api.login(new_phone).status == 201
    assert common.load(request_id).queue is None
    old_number_told = api.sms_to(data["phone"])[-1]
    assert "изменён" in old_number_told
    assert any(m["channel"] == "email" and m["to"] == data["email"] for m in api.aws.outbox())
    # The old number is free again; the new one is taken.
    after_cooldown(frozen_clock)
    other = form(phone=data["phone"])
    assert api.register(other)["token"]


def test_phone_change_approval_fails_cleanly_when_the_number_was_taken_meanwhile(
    api: Api, frozen_clock: FrozenClock
) -> None:
    from chalicelib.errors import Conflict
    from chalicelib.services.appeals import common, decisions

    data, token = signed_in(api)
    new_phone = test_phone(7006)
    request_id = start_phone_change(api, token, new_phone).body["request_id"]
    accept_documents(request_id)
    api.post(
        f"/v1/requests/{request_id}/confirm-phone",
        {"code": api.latest_code(new_phone)},
        token=token,
    )
    # Meanwhile someone registers the new number.
    after_cooldown(frozen_clock)
    api.register(form(phone=new_phone))
    with pytest.raises(Conflict):
        decisions.decide(
            request_id, {"decision": "approved", "reason": "Документы в порядке"}, staff("support")
        )
    assert common.load(request_id).status == "in_review"
    assert api.login(data["phone"]).status == 201


def test_rejection_reason_reaches_the_borrower(api: Api) -> None:
    from chalicelib.services.appeals import decisions

    data, token = signed_in(api)
    filed = api.post("/v1/deletion-requests", {"password": PASSWORD}, token=token)
    assert filed.status == 201
    decisions.decide(
        filed.body["request_id"],
        {"decision": "rejected", "reason_code": "legal_hold"},
        staff("support"),
    )
    (mine,) = api.get("/v1/requests", token=token).body["items"]
    assert mine["status"] == "rejected"
    assert mine["rejection_reason"].startswith("Мы обязаны хранить данные по вашим договорам")
    assert "Мы обязаны хранить данные" in api.sms_to(data["phone"])[-1]


def test_two_staff_deciding_at_once_one_wins(api: Api) -> None:
    from chalicelib.errors import Conflict
    from chalicelib.services.appeals import decisions

    _, token = signed_in(api)
    request_id = api.post("/v1/deletion-requests", {"password": PASSWORD}, token=token).body[
        "request_id"
    ]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def decide(decision: str, who: str) -> None:
        barrier.wait()
        try:
            decisions.decide(
                request_id,
                {"decision": decision, "reason_code": "contact_support", "note": "Проверено"},
                staff("support", name=who),
            )
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [
        threading.Thread(target=decide, args=("rejected", "a")),
        threading.Thread(target=decide, args=("rejected", "b")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]


def test_staff_without_the_role_cannot_decide(api: Api) -> None:
    from chalicelib.errors import Forbidden
    from chalicelib.services.appeals import decisions

    _, token = signed_in(api)
    request_id = api.post("/v1/deletion-requests", {"password": PASSWORD}, token=token).body[
        "request_id"
    ]
    with pytest.raises(Forbidden):
        decisions.decide(
            request_id, {"decision": "approved", "reason": "Проверено"}, staff("security")
        )


# --- deletion -------------------------------------------------------------------


@pytest.mark.parametrize("status", ["approved", "issued", "overdue"])
def test_deletion_is_refused_while_a_loan_is_unpaid(api: Api, status: str) -> None:
    _, token = signed_in(api)
    account_id = api.get("/v1/me", token=token).body["account_id"]
    set_loan_status(account_id, status)
    reply = api.post("/v1/deletion-requests", {"password": PASSWORD}, token=token)
    assert reply.status == 409
    assert reply.error["code"] == "unpaid_loan"
    assert "не погашен займ" in reply.error["message"]
    assert api.get("/v1/requests", token=token).body["items"] == []


def test_approved_deletion_erases_personal_data_and_releases_identifiers(
    api: Api, frozen_clock: FrozenClock
) -> None:
    from chalicelib.services.appeals import decisions
    from chalicelib.storage.accounts import AccountModel
    from chalicelib.storage.loans import LoanModel

    data, token, account_id, request_id = filed_deletion(api)
    # The account keeps working until support acts.
    assert api.get("/v1/me/loans", token=token).status == 200
    decisions.decide(
        request_id, {"decision": "approved", "reason": "Заявка клиента"}, staff("support")
    )

    account = AccountModel.get(account_id)
    assert account.status == "deleted"
    assert account.pii == "" and account.iin_index == "" and account.password_hash == "!"
    (loan,) = LoanModel.query(account_id)  # the loan record is kept, without personal fields
    assert loan.status == "repaid"
    assert api.get("/v1/me", token=token).status == 401
    assert api.login(data["iin"]).status == 401
    # The farewell went out after the commit, and its addresses are gone with it.
    assert "удалена" in api.sms_to(data["phone"])[-1]
    farewell = [m for m in api.aws.outbox() if m["channel"] == "email"]
    assert any(m["to"] == data["email"] and "удалена" in str(m) for m in farewell)
    assert requests_load(request_id).details is None
    # IIN, phone and e-mail are free again.
    after_cooldown(frozen_clock)
    assert api.register(form(iin=data["iin"], phone=data["phone"], email=data["email"]))


def requests_load(request_id: str) -> Any:
    from chalicelib.services.appeals.common import load

    return load(request_id)


def test_deletion_needs_the_password_and_wrong_ones_count_as_sign_in_failures(
    api: Api, frozen_clock: FrozenClock
) -> None:
    from chalicelib.config import get_settings

    frozen_clock.at(0)  # the back-off's waits must not run out on a slow machine

    data, token, _account_id = repaid_borrower(api)
    # WHEN no password or a wrong one is given THEN 400, nothing filed
    missing = api.post("/v1/deletion-requests", {}, token=token)
    assert missing.status == 400 and "password" in missing.error["fields"]
    for _ in range(get_settings().login_free_failures):
        wrong = api.post("/v1/deletion-requests", {"password": "не-тот-пароль-123"}, token=token)
        assert wrong.status == 400 and "password" in wrong.error["fields"]
    assert api.get("/v1/requests", token=token).body["items"] == []
    # AND past the free failures the back-off of sign-in applies (even to the right one)
    waited = api.post("/v1/deletion-requests", {"password": PASSWORD}, token=token)
    assert waited.status == 429 and int(waited.headers["Retry-After"]) > 0
    assert api.login(data["phone"]).status == 429


def test_a_losing_deletion_approval_sends_no_farewell(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.errors import Conflict
    from chalicelib.services import audit
    from chalicelib.services.appeals import decisions
    from chalicelib.storage.accounts import AccountModel

    # GIVEN a deletion request under review
    data, _token, account_id, request_id = filed_deletion(api)
    real_entry = audit.new_entry
    raced: list[bool] = []

    def rejected_meanwhile(*args: Any, **kwargs: Any) -> Any:
        if not raced:  # another staff member decides between our read and our commit
            raced.append(True)
            decisions.decide(
                request_id,
                {"decision": "rejected", "reason_code": "contact_support"},
                staff("support", name="quicker"),
            )
        return real_entry(*args, **kwargs)

    monkeypatch.setattr(audit, "new_entry", rejected_meanwhile)
    # WHEN the slower approval loses
    with pytest.raises(Conflict):
        decisions.decide(
            request_id,
            {"decision": "approved", "reason": "Заявка клиента"},
            staff("support", name="slower"),
        )
    # THEN the account lives on and no "account deleted" SMS or e-mail was queued
    assert AccountModel.get(account_id).status == "active"
    texts = api.sms_to(data["phone"])
    assert "отклонена" in texts[-1]
    assert not any("удалена" in text for text in texts)
    assert not any("удалена" in str(m) for m in api.aws.outbox() if m["channel"] == "email")


def test_deletion_approval_rechecks_loans_at_that_moment(api: Api) -> None:
    from chalicelib.errors import Conflict
    from chalicelib.services.appeals import common, decisions

    _, token = signed_in(api)
    account_id = api.get("/v1/me", token=token).body["account_id"]
    set_loan_status(account_id, "rejected")
    request_id = api.post("/v1/deletion-requests", {"password": PASSWORD}, token=token).body[
        "request_id"
    ]
    set_loan_status(account_id, "issued")
    with pytest.raises(Conflict):
        decisions.decide(
            request_id, {"decision": "approved", "reason": "Заявка клиента"}, staff("support")
        )
    assert common.load(request_id).status == "in_review"


# --- compromise -----------------------------------------------------------------


def recover_by_sms(api: Api, login: str, phone: str, new_password: str) -> None:
    """The recovery flow: a code to the phone of record, then the new password."""
    started = api.post("/v1/password-recovery", {"login": login})
    assert started.status == 202, started.body
    done = api.post(
        f"/v1/password-recovery/{started.body['recovery_id']}/confirm",
        {
            "code": api.latest_code(phone),
            "new_password": new_password,
            "new_password_confirm": new_password,
        },
    )
    assert done.status == 200, done.body


def test_signed_in_compromise_report_ends_sessions_and_the_old_password_opens_nothing(
    api: Api, frozen_clock: FrozenClock
) -> None:
    # GIVEN a borrower with two sessions (one of them the intruder's)
    data, token = signed_in(api)
    second = api.login(data["iin"]).body["token"]
    # WHEN the borrower reports a break-in
    reply = api.post("/v1/me/compromise", {"description": "Чужой вход ночью"}, token=token)
    assert reply.status == 201
    assert reply.body["status"] == "in_review"
    # THEN every session ends
    assert api.get("/v1/me", token=token).status == 401
    assert api.get("/v1/me", token=second).status == 401
    # AND the old password opens no session: a 403 that leads to recovery
    signed = api.login(data["iin"])
    assert signed.status == 403, signed.body
    assert signed.error["code"] == "password_recovery_required"
    assert "восстановите пароль" in signed.error["message"].lower()
    assert "token" not in signed.body
    # AND a wrong password still gets the one answer for wrong credentials
    wrong = api.login(data["iin"], "не-тот-пароль-123")
    assert wrong.status == 401 and wrong.error["code"] == "invalid_credentials"
    # WHEN the borrower recovers with the code sent to the phone of record
    after_cooldown(frozen_clock)
    new_password = "новый-длинный-пароль-2026"
    recover_by_sms(api, data["iin"], data["phone"], new_password)
    # THEN the new password opens the whole cabinet and the old one nothing
    back = api.login(data["iin"], new_password)
    assert back.status == 201 and back.body["must_change_password"] is False
    assert api.get("/v1/me/loans", token=back.body["token"]).status == 200
    assert api.login(data["iin"]).status == 401


def declare_password_suspect(api: Api, token: str) -> str:
    """Mark the signed-in account's password suspect, as security does; its account id."""
    from chalicelib.storage.accounts import AccountModel
    from devstack.reindex_logins import reindex_account

    account_id: str = api.get("/v1/me", token=token).body["account_id"]
    AccountModel(account_id=account_id).update(
        actions=[AccountModel.must_change_password.set(True)], add_version_condition=False
    )
    reindex_account(account_id)  # the guards' sign-in copy follows the account
    return account_id


def test_a_restricted_session_reads_and_changes_nothing(api: Api) -> None:
    # GIVEN a session opened with a password security declared suspect (legacy or a race)
    from chalicelib.services.sessions import start_session

    _, token = signed_in(api)
    account_id = declare_password_suspect(api, token)
    restricted = start_session(account_id, None, restricted=True).token
    change = {
        "current_password": PASSWORD,
        "new_password": "новый-длинный-пароль-2026",
        "new_password_confirm": "новый-длинный-пароль-2026",
    }
    # WHEN it reads the cabinet, changes the password with the old one or files anything
    attempts = [
        api.get("/v1/me", token=restricted),
        api.get("/v1/me/loans", token=restricted),
        api.get("/v1/me/export", token=restricted),
        api.post("/v1/me/password", change, token=restricted),
        api.post("/v1/me/compromise", {"description": "Это я"}, token=restricted),
        api.post("/v1/deletion-requests", {"password": PASSWORD}, token=restricted),
    ]
    # THEN each is a 403 telling the client to go through recovery
    for reply in attempts:
        assert reply.status == 403, reply.body
        assert reply.error["code"] == "password_recovery_required"
    # AND it can only sign out
    assert api.call("DELETE", "/v1/sessions/current", token=restricted).status == 204


def test_the_old_password_changes_nothing_even_in_a_full_session(api: Api) -> None:
    # GIVEN a full session that outlived the report (a sign-in racing it)
    data, token = signed_in(api)
    declare_password_suspect(api, token)
    new = "новый-длинный-пароль-2026"
    # WHEN it proves itself with the old password THEN nothing changes
    changed = api.post(
        "/v1/me/password",
        {"current_password": PASSWORD, "new_password": new, "new_password_confirm": new},
        token=token,
    )
    assert changed.status == 403 and changed.error["code"] == "password_recovery_required"
    moved = start_phone_change(api, token, "+7 701 555 00 31")
    assert moved.status == 403 and moved.error["code"] == "password_recovery_required"
    assert api.login(data["iin"], new).status == 401


def test_staff_lock_then_unlock_leaves_only_recovery(api: Api, frozen_clock: FrozenClock) -> None:
    from chalicelib.services import account_locks

    # GIVEN a borrower signed in (the intruder's session among them)
    data, token = signed_in(api)
    account_id = api.get("/v1/me", token=token).body["account_id"]
    officer = staff("security")
    # WHEN security locks, then unlocks the account
    account_locks.lock_account(account_id, {"reason": "Подозрительные входы"}, officer)
    assert api.get("/v1/me", token=token).status == 401
    locked = api.login(data["iin"])
    assert locked.status == 403 and locked.error["code"] == "forbidden"
    unlocked = account_locks.unlock_account(account_id, {"reason": "Клиент подтвердил"}, officer)
    assert unlocked["must_change_password"] is True
    # THEN the old password opens nothing; recovery does
    refused = api.login(data["iin"])
    assert refused.status == 403 and refused.error["code"] == "password_recovery_required"
    after_cooldown(frozen_clock)
    recover_by_sms(api, data["iin"], data["phone"], "новый-длинный-пароль-2026")
    assert api.login(data["iin"], "новый-длинный-пароль-2026").status == 201


def test_unlock_requires_recovery_even_after_a_recovery_during_the_lock(
    api: Api, frozen_clock: FrozenClock
) -> None:
    from chalicelib.services import account_locks

    data, token = signed_in(api)
    account_id = api.get("/v1/me", token=token).body["account_id"]
    officer = staff("security")
    account_locks.lock_account(account_id, {"reason": "Подозрительные входы"}, officer)
    after_cooldown(frozen_clock)
    recover_by_sms(api, data["iin"], data["phone"], "новый-длинный-пароль-2026")
    account_locks.unlock_account(account_id, {"reason": "Проверено"}, officer)
    refused = api.login(data["iin"], "новый-длинный-пароль-2026")
    assert refused.status == 403 and refused.error["code"] == "password_recovery_required"


def test_anonymous_report_answers_the_same_for_known_and_unknown_logins(api: Api) -> None:
    from chalicelib.storage.appeals import AppealModel

    data, _ = signed_in(api)
    body = {"contact": "+7 700 000 99 99", "description": "Не могу войти, пароль не подходит"}
    known = api.post("/v1/compromise-reports", {**body, "login": data["iin"]})
    unknown = api.post("/v1/compromise-reports", {**body, "login": "nobody@example.kz"})
    assert known.status == unknown.status == 202
    assert known.body == unknown.body
    filed = list(AppealModel.by_queue.query("compromise#in_review"))
    assert len(filed) == 2
    assert sorted(bool(r.account_id) for r in filed) == [False, True]


def test_anonymous_report_validates_and_is_rate_limited(api: Api) -> None:
    bad = api.post("/v1/compromise-reports", {"login": "x", "contact": "phone?", "description": ""})
    assert bad.status == 400
    assert {"contact", "description"} <= set(bad.error["fields"])
    body = {
        "login": "x@example.kz",
        "contact": "x@example.kz",
        "description": "Не могу войти в кабинет",
    }
    statuses = [api.post("/v1/compromise-reports", body).status for _ in range(6)]
    assert statuses[:4] == [202] * 4
    assert statuses[-1] == 429


def test_requests_need_a_session(api: Api) -> None:
    assert api.get("/v1/requests").status == 401
    assert api.post("/v1/deletion-requests").status == 401
    assert api.post("/v1/phone-change-requests", {"password": "x", "new_phone": "x"}).status == 401


def test_phone_change_password_guesses_share_the_sign_in_back_off(api: Api) -> None:
    _, token = signed_in(api)
    answers = [
        start_phone_change(api, token, test_phone(7010), password=f"неверный-пароль-{n}").status
        for n in range(7)
    ]
    assert answers[:5] == [400] * 5
    assert answers[-1] == 429
