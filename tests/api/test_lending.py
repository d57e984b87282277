"""The loan desk and the cabinet's loans over the API (in-process Chalice, per-test moto)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import clock
from tests.api.test_appeals import after_cooldown, signed_in
from tests.conftest import FrozenClock
from tests.helpers import Api, make_staff, staff_login

DESK = "/admin/v1/loan-desk"


@pytest.fixture
def support(api: Api) -> str:
    return staff_login(api, "sasha.support", make_staff("sasha.support", "support"))


def loan_path(account_id: str, loan_id: str, action: str) -> str:
    return f"/admin/v1/loans/{account_id}/{loan_id}/{action}"


def first_loan(api: Api, token: str) -> dict[str, Any]:
    (loan,) = api.get("/v1/me/loans", token=token).body["items"]
    return loan


def account_of(api: Api, token: str) -> str:
    return str(api.get("/v1/me", token=token).body["account_id"])


def sign_by_hand(account_id: str, loan_id: str) -> None:
    """What the signing flow leaves behind (payout account + signature): signed."""
    from chalicelib.adapters import crypto
    from chalicelib.storage.loans import LoanModel

    loan = LoanModel.get(account_id, loan_id)
    loan.payout_account = crypto.seal(
        {"iban": "KZ86125KZT5004100100"},
        {"purpose": "loan", "account_id": account_id, "loan_id": loan_id},
    )
    loan.status = "signed"
    loan.save()


def issue(api: Api, support: str, account_id: str, loan_id: str) -> dict[str, Any]:
    body = {"decision": "approve"}
    assert api.post(loan_path(account_id, loan_id, "decision"), body, token=support).status == 200
    sign_by_hand(account_id, loan_id)
    payout = {"transfer_reference": "ПП-000123"}
    reply = api.post(loan_path(account_id, loan_id, "payout"), payout, token=support)
    assert reply.status == 200, reply.body
    return dict(reply.body)


def test_one_open_application_at_a_time_and_a_repeat_after_rejection(
    api: Api, support: str
) -> None:
    _, token = signed_in(api)
    account_id = account_of(api, token)
    again = api.post("/v1/me/loans", {"amount": 30_000, "term_days": 10}, token=token)
    assert again.status == 409
    assert "заявка на рассмотрении на 50 000 ₸" in again.error["message"]
    bad = api.post("/v1/me/loans", {"amount": 5, "term_days": 10}, token=token)
    assert bad.status == 400 and "amount" in bad.error["fields"]

    (waiting,) = [
        i
        for i in api.get(DESK + "?queue=applications", token=support).body["items"]
        if i["account_id"] == account_id
    ]
    path = loan_path(account_id, waiting["loan_id"], "decision")
    assert api.post(path, {"decision": "reject"}, token=support).status == 400  # no reason
    rejected = api.post(path, {"decision": "reject", "reason": "Низкий скоринг"}, token=support)
    assert rejected.status == 200 and rejected.body["status"] == "rejected"
    assert api.post(path, {"decision": "approve"}, token=support).status == 409

    new = api.post("/v1/me/loans", {"amount": 30_000, "term_days": 10}, token=token)
    assert new.status == 201 and new.body["status"] == "submitted"
    assert new.body["total_to_repay"] == "30840.00"  # 30 000 × 0.28 % × 10
    assert api.get(DESK + "?queue=nothing", token=support).status == 400


def test_payout_accrual_payments_idempotent_and_repayment_frees_the_borrower(
    api: Api, support: str, dynamodb_calls: Counter[str]
) -> None:
    data, token = signed_in(api)
    account_id = account_of(api, token)
    loan_id = first_loan(api, token)["loan_id"]
    issued = issue(api, support, account_id, loan_id)
    assert issued["status"] == "issued"
    assert issued["due_date"] == (clock.today_kz() + timedelta(days=15)).isoformat()
    assert issued["owed_today"] == "50000.00" and issued["days_left"] == 15
    assert issued["repayment_details"]["payment_reference"].startswith("HV-")

    dynamodb_calls.clear()
    mine = first_loan(api, token)
    assert sum(dynamodb_calls.values()) <= 2, dynamodb_calls  # session + one Query
    assert mine["early_repayment_today"] == "50000.00"

    pay = loan_path(account_id, loan_id, "payments")
    today = clock.today_kz().isoformat()
    part = {"amount": "20000.00", "paid_on": today, "bank_reference": "BANK-1"}
    first = api.post(pay, part, token=support)
    assert first.status == 201 and first.body["recorded"] is True
    assert first.body["loan"]["principal_owed"] == "30000.00"
    repeat = api.post(pay, part, token=support)
    assert repeat.status == 200 and repeat.body["recorded"] is False
    assert api.post(pay, {**part, "amount": "-1"}, token=support).status == 400

    mine = first_loan(api, token)
    assert [p["amount"] for p in mine["payments"]] == ["20000.00"]
    assert mine["owed_today"] == "30000.00"
    still_open = api.post("/v1/me/loans", {"amount": 30_000, "term_days": 10}, token=token)
    assert still_open.status == 409 and "непогашенный займ" in still_open.error["message"]

    rest = {"amount": "30000.00", "paid_on": today, "bank_reference": "BANK-2"}
    closed = api.post(pay, rest, token=support)
    assert closed.status == 201 and closed.body["loan"]["status"] == "repaid"
    texts = api.sms_to(data["phone"])
    assert any("погашен полностью" in t for t in texts)
    repeat_loan = api.post("/v1/me/loans", {"amount": 180_000, "term_days": 10}, token=token)
    assert repeat_loan.status == 201  # a repeat borrower's wider limit

    from devstack.consistency import check

    assert check() == []


def test_the_schedule_moves_loans_overdue_once_and_shows_the_penalty(
    api: Api, support: str
) -> None:
    from chalicelib.services import lending
    from chalicelib.storage.loans import LoanModel

    _, token = signed_in(api)
    account_id = account_of(api, token)
    loan_id = first_loan(api, token)["loan_id"]
    issue(api, support, account_id, loan_id)
    loan = LoanModel.get(account_id, loan_id)
    # Issued 17 days ago for 15 days: 2 days overdue today.
    start = clock.today_kz() - timedelta(days=17)
    loan.issue_date = loan.accrued_through = start.isoformat()
    loan.due_date = (start + timedelta(days=15)).isoformat()
    loan.save()
    assert lending.mark_overdue() == 1
    assert lending.mark_overdue() == 0
    mine = first_loan(api, token)
    assert mine["status"] == "overdue" and mine["days_overdue"] == 2
    # 17 days × 140 = 2 380 interest; 2 days × 0.2 % × 50 000 = 200 penalty.
    assert (mine["interest_owed"], mine["penalty_owed"]) == ("2380.00", "200.00")
    (listed,) = [
        i
        for i in api.get(DESK + "?queue=overdue", token=support).body["items"]
        if i["loan_id"] == loan_id
    ]
    assert listed["account_id"] == account_id


IBAN = "KZ72 6010 0000 0000 0000"  # checksum-valid, bank code 601


def test_payout_account_signature_extension_and_repayment(
    api: Api, support: str, frozen_clock: FrozenClock
) -> None:
    from chalicelib.storage.audit import AuditModel

    data, token = signed_in(api)
    account_id = account_of(api, token)
    loan_id = first_loan(api, token)["loan_id"]
    base = f"/v1/me/loans/{loan_id}"
    decision = loan_path(account_id, loan_id, "decision")
    assert api.post(decision, {"decision": "approve"}, token=support).status == 200
    assert any("одобрена" in t for t in api.sms_to(data["phone"]))

    assert api.post(f"{base}/signature", {}, token=token).status == 409  # no account yet
    bad = api.call("PUT", f"{base}/payout-account", {"iban": "KZ00 1", "own_account": True}, token)
    assert bad.status == 400 and "iban" in bad.error["fields"]
    not_own = api.call("PUT", f"{base}/payout-account", {"iban": IBAN, "own_account": False}, token)
    assert not_own.status == 400 and "own_account" in not_own.error["fields"]
    saved = api.call("PUT", f"{base}/payout-account", {"iban": IBAN, "own_account": True}, token)
    assert saved.status == 200 and saved.body["payout_account_set"] is True

    after_cooldown(frozen_clock)  # the registration code went to the same phone just now
    started = api.post(f"{base}/signature", {}, token=token)
    assert started.status == 202, started.body
    offer = started.body["offer"]
    assert offer["amount"] == 50_000 and offer["total_to_repay"] == "52100.00"
    assert offer["borrower_name"].startswith("Тестова") and "неустойка" in offer["penalty_rules"]
    code = api.latest_code(data["phone"])
    wrong = {"challenge_id": started.body["challenge_id"], "code": "000000"}
    assert api.post(f"{base}/signature/confirm", wrong, token=token).status == 422
    right = {"challenge_id": started.body["challenge_id"], "code": code}
    signed = api.post(f"{base}/signature/confirm", right, token=token)
    assert signed.status == 200 and signed.body["status"] == "signed"
    assert api.post(f"{base}/signature/confirm", right, token=token).status == 409
    link = api.get(f"{base}/agreement", token=token)
    assert link.status == 200 and link.body["expires_in"] <= 300 and link.body["sha256"]
    (entry,) = [e for e in AuditModel.query(account_id) if e.action == "loan_agreement_signed"]
    assert link.body["sha256"] in entry.reason and "code_hash" in entry.reason

    waiting = api.get(DESK + "?queue=awaiting_payout", token=support).body["items"]
    (row,) = [i for i in waiting if i["loan_id"] == loan_id]
    assert row["payout_iban"] == IBAN and row["borrower_name"].startswith("Тестова")
    assert row["borrower_iin"] != data["iin"]  # masked
    viewed = [e.action for e in AuditModel.query(account_id)]
    assert "loan_payout_account_viewed" in viewed

    issue_reply = api.post(
        loan_path(account_id, loan_id, "payout"), {"transfer_reference": "ПП-1"}, token=support
    )
    assert issue_reply.status == 200 and issue_reply.body["status"] == "issued"
    due = issue_reply.body["due_date"]

    after_cooldown(frozen_clock)  # the 60-second resend cooldown of the phone
    quoted = api.post(f"{base}/extension", {"days": 10}, token=token)
    assert quoted.status == 202, quoted.body
    assert quoted.body["extension"]["pay_now"] == "0.00"  # issued today: nothing accrued yet
    assert api.post(f"{base}/extension", {"days": 99}, token=token).status == 422
    ext_code = api.latest_code(data["phone"])
    confirm = {"challenge_id": quoted.body["challenge_id"], "code": ext_code}
    ext = api.post(f"{base}/extension/confirm", confirm, token=token)
    assert ext.status == 200, ext.body
    new_due = ext.body["extension"]["new_due_date"]
    assert new_due > due and ext.body["pay_to"]["payment_reference"].startswith("HV-")

    pay = loan_path(account_id, loan_id, "payments")
    today = clock.today_kz().isoformat()
    # The extension's payment (a token amount: nothing accrued on the day of issue).
    ext_pay = {"amount": "1.00", "paid_on": today, "bank_reference": "EXT-1", "kind": "extension"}
    paid = api.post(pay, ext_pay, token=support)
    assert paid.status == 201, paid.body
    assert paid.body["loan"]["due_date"] == new_due and paid.body["loan"]["extensions"] == 1
    rest = {"amount": "50000.00", "paid_on": today, "bank_reference": "REP-1"}
    closed = api.post(pay, rest, token=support)
    assert closed.body["loan"]["status"] == "repaid"


def test_reminders_go_once_in_the_day_window_in_russian(api: Api, support: str) -> None:
    from datetime import datetime

    from chalicelib.services import lending
    from chalicelib.storage.loans import LoanModel

    data, token = signed_in(api)
    account_id = account_of(api, token)
    loan_id = first_loan(api, token)["loan_id"]
    issue(api, support, account_id, loan_id)
    loan = LoanModel.get(account_id, loan_id)
    loan.due_date = (clock.today_kz() + timedelta(days=3)).isoformat()
    loan.save()
    day = clock.today_kz()
    at_night = datetime(day.year, day.month, day.day, 21, 30, tzinfo=clock.KZ_TZ)
    at_ten = datetime(day.year, day.month, day.day, 10, 0, tzinfo=clock.KZ_TZ)
    assert lending.reminders_due(at_night) == 0
    assert lending.reminders_due(at_ten) == 1
    assert lending.reminders_due(at_ten) == 0  # the schedule ran twice: sent once
    (text,) = [t for t in api.sms_to(data["phone"]) if "через 3 дня" in t]
    assert "срок возврата займа" in text
