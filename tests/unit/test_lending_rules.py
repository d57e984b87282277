"""Penalty, overpayment, extension, allocation and early-return rules (domain.regulation)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from chalicelib.domain import regulation
from chalicelib.domain.regulation import (
    COSTS,
    CURRENT_INTEREST,
    CURRENT_PRINCIPAL,
    OVERDUE_INTEREST,
    OVERDUE_PRINCIPAL,
    PENALTY,
    allocate_payment,
    check_contract_terms,
    check_extension,
    check_overpayment,
    check_penalty,
    interest_free_until,
    max_total_overpayment,
    overpayment_room,
    penalty_for,
    rules_on,
)
from chalicelib.errors import ExtensionNotAllowed, OfferNotAllowed

D = Decimal
ON = date(2026, 12, 1)


def test_every_fact_has_a_source_and_unchecked_ones_say_so() -> None:
    for record in regulation.LENDING_RULES_HISTORY:
        for source in (
            record.penalty_source,
            record.penalty_max_days_source,
            record.overpayment_source,
            record.extension_source,
            record.allocation_source,
            record.interest_free_return_source,
        ):
            assert source.title
            # Never present a guess as checked: an unchecked source explains itself.
            assert source.checked or source.note


def test_rules_before_the_first_record_are_unknown() -> None:
    with pytest.raises(LookupError):
        rules_on(date(2020, 1, 1))


def test_current_values() -> None:
    rules = rules_on(ON)
    assert rules.penalty_daily_rate_max == D("0.002")
    assert rules.overpayment_max_fraction == D("0.5")
    assert (rules.max_extensions, rules.extension_max_days) == (2, 45)
    assert rules.extension_daily_rate_max == D("0.002")


def test_penalty_rate_cap() -> None:
    check_penalty(D("0.002"), ON)
    check_penalty(D("0.001"), ON)
    with pytest.raises(OfferNotAllowed, match=r"0,2 %.*0,21 %"):
        check_penalty(D("0.0021"), ON)
    with pytest.raises(OfferNotAllowed):
        check_penalty(D("-0.001"), ON)


def test_penalty_worked_numbers() -> None:
    # 54 200 ₸ overdue for 3 days at 0.2 %/day: 54 200 × 0.002 × 3 = 325.20 ₸.
    assert penalty_for(D("54200"), 3, D("0.002"), ON) == D("325.20")
    # 10 840 ₸ for 3 days: 65.04 ₸; rounding half up to the tiyn: 12 345 × 0.002 × 1 = 24.69.
    assert penalty_for(D("10840"), 3, D("0.002"), ON) == D("65.04")
    assert penalty_for(D("12345"), 1, D("0.002"), ON) == D("24.69")
    assert penalty_for(D("54200"), 0, D("0.002"), ON) == D("0.00")
    # No penalty accrues after 90 days of delay: 10 000 × 0.002 × 90 = 1 800.
    assert penalty_for(D("10000"), 90, D("0.002"), ON) == D("1800.00")
    assert penalty_for(D("10000"), 120, D("0.002"), ON) == D("1800.00")
    with pytest.raises(OfferNotAllowed):
        penalty_for(D("54200"), 3, D("0.005"), ON)


def test_overpayment_cap_worked_numbers() -> None:
    # Half of the principal, to the tiyn, never rounded up.
    assert max_total_overpayment(50_000, ON) == D("25000.00")
    assert max_total_overpayment(D("10001"), ON) == D("5000.50")
    assert max_total_overpayment(D("10000.03"), ON) == D("5000.01")
    # 50 000 ₸ at 0.28 % for 30 days: interest 4 200; room left 20 800.
    assert overpayment_room(50_000, D("4200"), ON) == D("20800.00")
    assert overpayment_room(50_000, D("26000"), ON) == D("0")
    check_overpayment(50_000, D("25000.00"), ON)
    with pytest.raises(OfferNotAllowed, match="25 000 ₸"):
        check_overpayment(50_000, D("25000.01"), ON)


def test_extension_limits() -> None:
    check_extension(0, 30, D("0.002"), ON)
    check_extension(1, 45, D("0.0015"), ON)
    with pytest.raises(ExtensionNotAllowed, match="не более 2 раз"):
        check_extension(2, 10, D("0.002"), ON)
    with pytest.raises(ExtensionNotAllowed, match="до 45"):
        check_extension(0, 46, D("0.002"), ON)
    with pytest.raises(ExtensionNotAllowed):
        check_extension(0, 0, D("0.002"), ON)
    # The product rate 0.28 %/day is above the extension cap 0.2 %/day.
    with pytest.raises(ExtensionNotAllowed, match=r"0,2 %.*0,28 %"):
        check_extension(0, 30, D("0.0028"), ON)


def test_extension_refusal_is_a_422_offer_error() -> None:
    assert issubclass(ExtensionNotAllowed, OfferNotAllowed)
    assert ExtensionNotAllowed.code == "extension_not_allowed"


def test_interest_free_return_window() -> None:
    assert interest_free_until(date(2026, 12, 1)) == date(2026, 12, 15)


def test_allocation_before_due_date_goes_to_principal_first() -> None:
    # Not overdue: 5 000 ₸ of a 10 000 ₸ loan with 840 ₸ interest accrued so far
    # lowers the principal (current period principal comes before current interest).
    result = allocate_payment(
        D("5000"), {CURRENT_PRINCIPAL: D("10000"), CURRENT_INTEREST: D("840")}, ON
    )
    assert result.parts == {CURRENT_PRINCIPAL: D("5000")}
    assert result.change == 0
    assert result.applied == D("5000")


def test_allocation_when_overdue() -> None:
    owed = {
        OVERDUE_PRINCIPAL: D("10000"),
        OVERDUE_INTEREST: D("840"),
        PENALTY: D("65.04"),
    }
    # 10 500 ₸: principal in full, then 500 of the interest; penalty untouched.
    partial = allocate_payment(D("10500"), owed, ON)
    assert partial.parts == {OVERDUE_PRINCIPAL: D("10000"), OVERDUE_INTEREST: D("500")}
    assert partial.change == 0
    # 11 000 ₸ pays everything (10 905.04) and leaves 94.96 ₸ to return.
    full = allocate_payment(D("11000"), owed, ON)
    assert full.parts == owed
    assert full.change == D("94.96")


def test_allocation_order_is_the_law_order() -> None:
    assert rules_on(ON).allocation_order == (
        OVERDUE_PRINCIPAL,
        OVERDUE_INTEREST,
        PENALTY,
        CURRENT_PRINCIPAL,
        CURRENT_INTEREST,
        COSTS,
    )


def test_allocation_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        allocate_payment(D("-1"), {}, ON)
    with pytest.raises(ValueError):
        allocate_payment(D("1"), {"fees": D("1")}, ON)
    with pytest.raises(ValueError):
        allocate_payment(D("1"), {PENALTY: D("-1")}, ON)


def test_contract_terms() -> None:
    # 50 000 ₸ for 30 days at 0.28 %: 4 200 ₸ interest, penalty 0.2 %/day: allowed.
    check_contract_terms(50_000, D("4200.00"), D("0.002"), ON)
    with pytest.raises(OfferNotAllowed):
        check_contract_terms(50_000, D("4200.00"), D("0.003"), ON)
    with pytest.raises(OfferNotAllowed):
        check_contract_terms(50_000, D("25000.01"), D("0.002"), ON)
