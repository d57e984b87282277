"""A borrower's loans end to end over HTTP against the local stack, every SMS in the outbox."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bench.reliability import GENEROUS_LIMITS, register, staff_session
from tests.e2e.conftest import LocalStack, start_local_stack
from tests.e2e.loan_flow import call, desk, my_loans, ok, sign_and_issue

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def loan_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A private stack without the 60-second resend cooldown (codes follow each other)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in GENEROUS_LIMITS.items():
            patch.setenv(name, value)
        stack = start_local_stack(tmp_path_factory.mktemp("loan-stack"))
    yield stack
    stack.stop()


def test_first_loan_repaid_then_a_second_signed_extended_and_repaid(
    loan_stack: LocalStack,
) -> None:
    stack = loan_stack
    staff = staff_session(stack, "loan-desk", "support")
    data, token = register(stack, 2400)
    phone = data["phone"]
    account_id = ok(call(stack, "GET", "/v1/me", token=token))["account_id"]

    # The first loan: applied for at registration, signed, paid out, repaid in full.
    (first,) = my_loans(stack, token)
    issued = sign_and_issue(stack, phone, token, staff, account_id, first["loan_id"])
    today = issued["issue_date"]
    owed = my_loans(stack, token)[0]["owed_today"]
    body = {"amount": owed, "paid_on": today, "bank_reference": "E2E-1"}
    paid = ok(desk(stack, staff, account_id, first["loan_id"], "payments", body), 201)
    assert paid["loan"]["status"] == "repaid"

    # A second application from the cabinet, priced like the first.
    second = ok(
        call(stack, "POST", "/v1/me/loans", {"amount": 60_000, "term_days": 10}, token), 201
    )
    assert second["total_to_repay"] == "61680.00"  # 60 000 × 0.28 % × 10 days
    refused = call(stack, "POST", "/v1/me/loans", {"amount": 20_000, "term_days": 10}, token)
    assert refused.status_code == 409
    assert "заявка на рассмотрении" in refused.json()["error"]["message"]
    loan_id = second["loan_id"]
    issued = sign_and_issue(stack, phone, token, staff, account_id, loan_id)
    due = issued["due_date"]
    link = ok(call(stack, "GET", f"/v1/me/loans/{loan_id}/agreement", token=token))
    assert "agreements/" in link["url"]

    # One extension: quoted, signed by code, effective once its payment is recorded.
    since = len(stack.outbox())
    quote = ok(call(stack, "POST", f"/v1/me/loans/{loan_id}/extension", {"days": 7}, token), 202)
    code = stack.latest_code(phone, since=since)
    confirm = {"challenge_id": quote["challenge_id"], "code": code}
    signed = ok(call(stack, "POST", f"/v1/me/loans/{loan_id}/extension/confirm", confirm, token))
    new_due = signed["extension"]["new_due_date"]
    assert new_due > due
    # Nothing accrued on the day of issue: the extension's payment is a token 100 ₸.
    body = {"amount": "100.00", "paid_on": today, "bank_reference": "E2E-EXT", "kind": "extension"}
    extended = ok(desk(stack, staff, account_id, loan_id, "payments", body), 201)["loan"]
    assert (extended["due_date"], extended["extensions"]) == (new_due, 1)

    # Repaid in full: the borrower is free to apply again.
    owed = next(i for i in my_loans(stack, token) if i["loan_id"] == loan_id)["owed_today"]
    assert owed == "59900.00"
    body = {"amount": owed, "paid_on": today, "bank_reference": "E2E-2"}
    done = ok(desk(stack, staff, account_id, loan_id, "payments", body), 201)
    assert done["loan"]["status"] == "repaid"

    # Every SMS of the journey is in the outbox (the last ones may still be in the queue).
    deadline = time.monotonic() + 60
    while True:
        texts = [m["text"] for m in stack.outbox() if m["channel"] == "sms" and m["to"] == phone]
        if sum("погашен полностью" in t for t in texts) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for expected, times in [
        ("код подтверждения регистрации", 1),
        ("одобрена", 2),
        ("подпись договора займа", 2),
        ("подписан", 2),
        ("перечислен на ваш счёт", 2),
        ("продление займа", 1),
        ("погашен полностью", 2),
        ("получен платёж", 1),
    ]:
        assert sum(expected in t for t in texts) >= times, (expected, texts)
