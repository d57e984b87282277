"""Loan calculator and ГЭСВ against hand-computed cases (DESIGN.md "Product", "Rate caps")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from chalicelib.domain.calculator import (
    Product,
    Quote,
    annual_effective_rate,
    check_product,
    quote,
)
from chalicelib.errors import OfferNotAllowed, ValidationFailed

ISSUED = date(2026, 3, 1)
PRODUCT = Product(
    min_amount=10_000,
    max_amount=150_000,
    min_term_days=5,
    max_term_days=30,
    daily_rate=Decimal("0.0028"),
)
AMOUNT_MSG = "Сумма займа должна быть от 10 000 до 150 000 ₸."
TERM_MSG = "Срок займа должен быть от 5 до 30 дней."


def with_rate(rate: str, **changes: int) -> Product:
    limits = {
        "min_amount": PRODUCT.min_amount,
        "max_amount": PRODUCT.max_amount,
        "min_term_days": PRODUCT.min_term_days,
        "max_term_days": PRODUCT.max_term_days,
        **changes,
    }
    return Product(daily_rate=Decimal(rate), **limits)


def test_given_50000_for_30_days_at_028_when_quoted_then_hand_computed_figures() -> None:
    # interest = 50 000 × 0.0028 × 30 = 4 200.00; total = 54 200.00
    # ГЭСВ: 50 000 = 54 200 / (1 + APR)^(30/365)
    #   APR = (54 200 / 50 000)^(365/30) − 1 = 1.084^12.1667 − 1
    #       = e^(12.1667 × ln 1.084) − 1 = e^(12.1667 × 0.0806579) − 1
    #       = e^0.981338 − 1 = 2.668023 − 1 = 166.8 %
    # WHEN
    q = quote(50_000, 30, PRODUCT, ISSUED)
    # THEN
    assert q == Quote(
        amount=50_000,
        term_days=30,
        daily_rate=Decimal("0.0028"),
        interest=Decimal("4200.00"),
        total=Decimal("54200.00"),
        due_date=date(2026, 3, 31),
        gesv_percent=Decimal("166.8"),
    )


def test_given_quote_when_serialised_then_money_as_two_decimal_strings_dates_iso() -> None:
    assert quote(50_000, 30, PRODUCT, ISSUED).as_dict() == {
        "amount": 50_000,
        "term_days": 30,
        "daily_rate": "0.0028",
        "daily_rate_percent": "0.28",
        "interest": "4200.00",
        "total": "54200.00",
        "due_date": "2026-03-31",
        "gesv_percent": "166.8",
    }


def test_given_interest_ending_in_half_tiyn_when_quoted_then_rounded_half_up() -> None:
    # 10 001 × 0.0025 × 10 = 250.025 -> 250.03 (half-even would give 250.02)
    q = quote(10_001, 10, with_rate("0.0025"), ISSUED)
    assert (q.interest, q.total) == (Decimal("250.03"), Decimal("10251.03"))


def test_given_term_crossing_new_year_when_quoted_then_due_date_is_issue_plus_term() -> None:
    assert quote(10_000, 15, PRODUCT, date(2026, 12, 20)).due_date == date(2027, 1, 4)


@pytest.mark.parametrize(("amount", "term"), [(10_000, 5), (150_000, 30)])
def test_given_range_limits_when_quoted_then_accepted(amount: int, term: int) -> None:
    assert quote(amount, term, PRODUCT, ISSUED).amount == amount


@pytest.mark.parametrize("amount", [9_999, 150_001, 0, -10_000, True, 10_000.0, "10000", None])
def test_given_bad_amount_when_quoted_then_allowed_range_is_stated(amount: object) -> None:
    with pytest.raises(ValidationFailed) as info:
        quote(amount, 10, PRODUCT, ISSUED)
    assert info.value.fields == {"amount": AMOUNT_MSG}


@pytest.mark.parametrize("term", [4, 31, False, 10.5, "10"])
def test_given_bad_term_when_quoted_then_allowed_range_is_stated(term: object) -> None:
    with pytest.raises(ValidationFailed) as info:
        quote(10_000, term, PRODUCT, ISSUED)
    assert info.value.fields == {"term_days": TERM_MSG}


def test_given_both_bad_when_quoted_then_both_fields_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as info:
        quote(1, 1, PRODUCT, ISSUED)
    assert info.value.fields == {"amount": AMOUNT_MSG, "term_days": TERM_MSG}


def test_given_one_year_flow_when_rate_solved_then_plain_annual_rate() -> None:
    # 100 out today, 146 back in 365 days: 100 = 146 / (1 + APR) -> APR = 46.0 %
    assert annual_effective_rate([(0, Decimal(-100)), (365, Decimal(146))]) == Decimal("46.0")


def test_given_two_yearly_repayments_when_rate_solved_then_quadratic_root() -> None:
    # 1000 = 600x + 600x², x = 1/(1 + APR): x = (−600 + √(600² + 4·600·1000)) / 1200
    #      = (−600 + 1661.3248) / 1200 = 0.884437 -> APR = 1/x − 1 = 13.07 % ≈ 13.1 %
    flows = [(0, Decimal(-1000)), (365, Decimal(600)), (730, Decimal(600))]
    assert annual_effective_rate(flows) == Decimal("13.1")


def test_given_borrower_view_signs_when_rate_solved_then_same_rate() -> None:
    lender = [(0, Decimal(-50_000)), (30, Decimal(54_200))]
    borrower = [(day, -value) for day, value in lender]
    assert annual_effective_rate(lender) == annual_effective_rate(borrower) == Decimal("166.8")


@pytest.mark.parametrize(
    "flows",
    [[], [(0, Decimal(100)), (30, Decimal(100))], [(-1, Decimal(-100)), (30, Decimal(110))]],
)
def test_given_unsolvable_flows_when_rate_solved_then_value_error(
    flows: list[tuple[int, Decimal]],
) -> None:
    with pytest.raises(ValueError):
        annual_effective_rate(flows)


def test_given_daily_rate_of_03_when_quoted_then_refused_even_if_configured() -> None:
    with pytest.raises(OfferNotAllowed, match="меньше 0,3 % в день"):
        quote(10_000, 30, with_rate("0.003"), ISSUED)


def test_given_029_for_5_days_when_quoted_then_gesv_cap_179_refuses_it() -> None:
    # (1 + 0.0029 × 5)^(365/5) − 1 = 1.0145^73 − 1 = 2.8602 − 1 = 186.0 % > 179 %
    with pytest.raises(OfferNotAllowed, match="не может превышать 179 %"):
        quote(10_000, 5, with_rate("0.0029"), ISSUED)


def test_given_029_for_30_days_when_quoted_then_allowed() -> None:
    # 1.087^(365/30) − 1 = 175.9 % ≤ 179 %
    assert quote(10_000, 30, with_rate("0.0029"), ISSUED).gesv_percent == Decimal("175.9")


def test_given_028_for_every_term_when_product_checked_then_allowed() -> None:
    # Worst case is the shortest term: 1.014^73 − 1 = 2.7591 − 1 = 175.9 % ≤ 179 %
    # (even one day would give 1.0028^365 − 1 = 177.5 %).
    check_product(PRODUCT, ISSUED)


def test_given_029_with_terms_from_5_days_when_product_checked_then_refused() -> None:
    with pytest.raises(OfferNotAllowed, match="на 5 дней"):
        check_product(with_rate("0.0029"), ISSUED)


def test_given_029_from_22_days_when_product_checked_then_allowed() -> None:
    # 22 days: 1.0638^(365/22) − 1 = 179.02 %, which is 179.0 % to one decimal:
    # the boundary. 21 days: 1.0609^(365/21) − 1 = 179.4 % breaks the cap.
    check_product(with_rate("0.0029", min_term_days=22), ISSUED)
    with pytest.raises(OfferNotAllowed, match="на 21 день"):
        check_product(with_rate("0.0029", min_term_days=21), ISSUED)


def test_given_terms_beyond_45_days_when_product_checked_then_46_percent_cap_applies() -> None:
    with pytest.raises(OfferNotAllowed, match="не может превышать 46 %"):
        check_product(with_rate("0.0028", max_term_days=46), ISSUED)


def test_given_amount_above_45_mci_when_quoted_then_46_percent_cap_applies() -> None:
    # 45 MCI in 2026 = 45 × 4 325 = 194 625 ₸; 194 626 ₸ leaves the short regime.
    big = with_rate("0.0028", max_amount=200_000)
    assert quote(194_625, 30, big, ISSUED).gesv_percent == Decimal("166.8")
    with pytest.raises(OfferNotAllowed, match="не может превышать 46 %"):
        quote(194_626, 30, big, ISSUED)


def test_given_incoherent_configuration_when_product_checked_then_value_error() -> None:
    with pytest.raises(ValueError):
        check_product(with_rate("0.0028", min_amount=200_000), ISSUED)
    with pytest.raises(ValueError):
        check_product(with_rate("-0.001"), ISSUED)
