"""The loan's money rules with worked numbers (computed by hand, written here)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from chalicelib.domain import calculator, lending
from chalicelib.domain.lending import LEGAL_ORDER, LoanStatus, Rules
from chalicelib.errors import Conflict, OfferNotAllowed

RULES = Rules(
    penalty_daily_rate=D("0.002"),
    penalty_max_days=90,
    overpayment_cap=D("0.5"),
    allocation=LEGAL_ORDER,
    free_early_days=14,
    max_extensions=2,
    max_extension_days=45,
    extension_daily_rate_max=D("0.002"),
)
ISSUED = date(2026, 3, 1)


def loan(amount: int = 50_000, term: int = 15) -> lending.Balance:
    return lending.open_balance(amount, D("0.0028"), ISSUED, term)


def test_accrual_counts_each_day_after_issue_through_repayment() -> None:
    assert lending.accrual_days(date(2026, 3, 1), date(2026, 3, 16)) == 15
    assert lending.accrual_days(date(2026, 3, 1), date(2026, 3, 1)) == 0
    assert lending.accrual_days(date(2026, 3, 1), date(2026, 2, 27)) == 0
    # Across a month end and a leap day: 28 Feb → 1 Mar 2028 is 2 days.
    assert lending.accrual_days(date(2028, 2, 28), date(2028, 3, 1)) == 2
    assert lending.due_date(ISSUED, 15) == date(2026, 3, 16)


def test_calculator_prices_the_same_days_the_loan_accrues() -> None:
    product = calculator.Product(10_000, 150_000, 5, 30, D("0.0028"))
    quote = calculator.quote(50_000, 15, product, ISSUED)
    # 50 000 × 0.28 % = 140 ₸ a day; 15 days = 2 100 ₸.
    assert quote.interest == D("2100.00")
    assert quote.total == D("52100.00")
    assert quote.due_date == date(2026, 3, 16)
    accrued = lending.accrue(loan(), quote.due_date, RULES)
    assert accrued.interest == quote.interest
    assert accrued.owed == quote.total


def test_interest_owed_on_a_date_and_a_partial_payment_lowers_it() -> None:
    five_days = lending.accrue(loan(), date(2026, 3, 6), RULES)
    assert five_days.interest == D("700.00")  # 5 × 140
    assert five_days.owed == D("50700.00")
    # 20 000 on day 5, before the due date: the current principal is paid first.
    # (Day 5 is inside the 14 free days, but the principal is not cleared: no waiver.)
    paid = lending.allocate(loan(), D("20000"), date(2026, 3, 6), RULES)
    assert (paid.principal, paid.interest, paid.penalty) == (D("20000"), D("0"), D("0"))
    assert paid.balance.principal == D("30000.00")
    # Then 30 000 × 0.28 % = 84 ₸ a day for the 10 days to 16 March: 700 + 840.
    at_due = lending.accrue(paid.balance, date(2026, 3, 16), RULES)
    assert at_due.interest == D("1540.00")
    assert at_due.owed == D("31540.00")


def test_penalty_once_overdue_and_the_legal_order() -> None:
    paid = lending.allocate(loan(), D("20000"), date(2026, 3, 6), RULES).balance
    # 18 March: 2 days overdue. Interest 1 540 + 2 × 84 = 1 708;
    # penalty 2 × (30 000 × 0.2 %) = 120.
    late = lending.accrue(paid, date(2026, 3, 18), RULES)
    assert lending.days_overdue(late, date(2026, 3, 18)) == 2
    assert (late.interest, late.penalty) == (D("1708.00"), D("120.00"))
    assert late.owed == D("31828.00")
    # Overdue: overdue principal first, then overdue interest, then the penalty.
    split = lending.allocate(paid, D("31000"), date(2026, 3, 18), RULES)
    assert (split.principal, split.interest, split.penalty) == (
        D("30000.00"),
        D("1000"),
        D("0"),
    )
    assert split.balance.owed == D("828.00")  # 708 interest + 120 penalty
    rest = lending.allocate(split.balance, D("900"), date(2026, 3, 18), RULES)
    assert (rest.interest, rest.penalty, rest.change) == (D("708.00"), D("120.00"), D("72.00"))
    assert rest.repaid


def test_the_overpayment_cap_stops_interest_and_penalty_at_half_the_principal() -> None:
    small = lending.open_balance(10_000, D("0.0028"), ISSUED, 30)
    # 28 ₸ interest a day; overdue adds 20 ₸ penalty. 30 days: 840. The cap is 5 000:
    # 86 overdue days add 86 × 48 = 4 128 (4 968 charged); day 87 has room for 32 ₸:
    # 28 interest + 4 penalty. Nothing after that.
    far = lending.accrue(small, date(2026, 7, 9), RULES)  # 100 days after the due date
    assert far.charged == D("5000.00")
    assert far.interest == D("3276.00")  # 840 + 87 × 28
    assert far.penalty == D("1724.00")  # 86 × 20 + 4
    assert far.owed == D("15000.00")


def test_accrual_stops_after_the_days_of_delay_the_rules_allow() -> None:
    rules = Rules(**{**RULES.__dict__, "overpayment_cap": None, "penalty_max_days": 3})
    late = lending.accrue(loan(), date(2026, 3, 26), rules)  # 10 days overdue
    # 18 days of interest (15 + 3 overdue) × 140; 3 × 100 penalty.
    assert (late.interest, late.penalty) == (D("2520.00"), D("300.00"))


def test_early_repayment_within_the_free_days_costs_no_interest() -> None:
    day9 = date(2026, 3, 10)
    assert lending.accrue(loan(), day9, RULES).interest == D("1260.00")
    assert lending.early_repayment_cost(loan(), day9, RULES) == D("50000.00")
    done = lending.allocate(loan(), D("50000"), day9, RULES)
    assert done.repaid and done.interest_waived == D("1260.00") and done.change == 0
    # Day 15 (outside 14 days): the interest is due.
    assert lending.early_repayment_cost(loan(), date(2026, 3, 16), RULES) == D("52100.00")


def test_extension_pays_the_interest_and_moves_the_due_date() -> None:
    at_due = date(2026, 3, 16)
    quote = lending.extension_quote(loan(), at_due, 10, 0, RULES, max_days_config=30)
    assert quote.pay_now == D("2100.00")
    assert quote.new_due == date(2026, 3, 26)
    assert quote.daily_rate == D("0.002")  # the contract's 0.28 % lowered to the cap
    paid = lending.allocate(loan(), quote.pay_now, at_due, RULES, interest_first=True)
    assert paid.interest == D("2100.00") and paid.principal == 0
    extended = lending.extend(paid.balance, quote)
    # 10 more days at 0.2 % of 50 000 = 100 ₸ a day; not overdue on the new date.
    end = lending.accrue(extended, date(2026, 3, 26), RULES)
    assert (end.interest, end.penalty, end.owed) == (D("1000.00"), D("0"), D("51000.00"))


def test_extension_limits() -> None:
    with pytest.raises(OfferNotAllowed):
        lending.extension_quote(loan(), ISSUED, 10, 2, RULES, max_days_config=30)
    with pytest.raises(OfferNotAllowed):
        lending.extension_quote(loan(), ISSUED, 31, 0, RULES, max_days_config=30)
    with pytest.raises(OfferNotAllowed):
        lending.extension_quote(loan(), ISSUED, 0, 0, RULES, max_days_config=30)


def test_payments_replay_in_date_order() -> None:
    replayed = lending.apply_payments(
        loan(),
        [(date(2026, 3, 16), D("32100"), False), (date(2026, 3, 6), D("20000"), False)],
        RULES,
    )
    # 20 000 on day 5 leaves 31 540 owed on 16 March; 32 100 pays it with 560 over.
    assert replayed.owed == 0
    assert replayed.paid == D("51540.00")


def test_state_machine_is_data() -> None:
    assert lending.check_transition("submitted", "approved") is LoanStatus.APPROVED
    assert lending.check_transition("issued", "overdue") is LoanStatus.OVERDUE
    with pytest.raises(Conflict):
        lending.check_transition("repaid", "issued")
    with pytest.raises(Conflict):
        lending.check_transition("submitted", "issued")
    assert LoanStatus.REPAID not in lending.OPEN and LoanStatus.SIGNED in lending.OPEN
