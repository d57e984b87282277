"""Payment recording raced on the real local stack over HTTP: idempotent, no lost update."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bench.reliability import _parallel, register, staff_session
from tests.e2e.conftest import LocalStack
from tests.e2e.loan_flow import call, desk, my_loans, ok, sign_and_issue

pytestmark = pytest.mark.e2e


def test_payments_recorded_at_once_count_once_each_and_add_up(
    reliable_stack: LocalStack,
) -> None:
    stack = reliable_stack
    staff = staff_session(stack, "race-loans", "support")
    data, token = register(stack, 2300)
    account_id = ok(call(stack, "GET", "/v1/me", token=token))["account_id"]
    (loan,) = my_loans(stack, token)
    issued = sign_and_issue(stack, data["phone"], token, staff, account_id, loan["loan_id"])
    today = issued["issue_date"]  # Asia/Almaty

    def pay(reference: str, amount: str = "1000.00") -> object:
        body = {"amount": amount, "paid_on": today, "bank_reference": reference}
        return lambda: desk(stack, staff, account_id, loan["loan_id"], "payments", body)

    # WHEN one bank document is recorded eight times at once
    same = [r.status_code for r in _parallel([pay("BANK-SAME")] * 8)]  # type: ignore[list-item]
    # THEN it is recorded once; the others are told it already was
    assert same.count(201) == 1, same
    assert set(same) <= {200, 201}, same

    # WHEN six different documents arrive at once
    many = [r.status_code for r in _parallel([pay(f"BANK-{i}") for i in range(6)])]  # type: ignore[misc]
    assert set(many) <= {201, 409}, many

    # THEN the loan counts exactly the recorded ones, no lost update
    (after,) = my_loans(stack, token)
    recorded = 1 + many.count(201)
    assert len(after["payments"]) == recorded
    assert Decimal(after["paid_total"]) == Decimal(1000 * recorded)
    assert Decimal(after["principal_owed"]) == Decimal(50_000 - 1000 * recorded)
