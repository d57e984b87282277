"""Dated regulatory facts and the offer check (DESIGN.md "Rate caps")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from chalicelib.domain.regulation import (
    caps_on,
    check_offer,
    format_percent,
    format_tenge,
    is_short_microcredit,
    mci_on,
)
from chalicelib.errors import OfferNotAllowed

D = Decimal
IN_2026 = date(2026, 3, 1)


@pytest.mark.parametrize(
    ("day", "mci"),
    [
        (date(2025, 1, 1), 3_932),
        (date(2025, 12, 31), 3_932),
        (date(2026, 1, 1), 4_325),
        (date(2027, 6, 1), 4_325),  # no 2027 record yet: the latest, smaller, one
    ],
)
def test_given_date_when_mci_asked_then_value_in_force(day: date, mci: int) -> None:
    assert mci_on(day) == mci


def test_given_date_before_any_record_when_asked_then_lookup_error() -> None:
    with pytest.raises(LookupError):
        mci_on(date(2024, 12, 31))
    with pytest.raises(LookupError):
        caps_on(date(2025, 12, 23))


def test_given_resolution_date_when_caps_asked_then_joint_resolution_caps() -> None:
    caps = caps_on(date(2025, 12, 24))
    assert (caps.max_annual_rate_percent, caps.short_max_annual_rate_percent) == (D(46), D(179))
    assert (caps.short_max_term_days, caps.short_max_amount_mci) == (45, 45)
    assert caps.short_daily_rate_below == D("0.003")


def test_given_45_mci_in_2026_when_classified_then_194625_is_the_short_limit() -> None:
    # 45 × 4 325 = 194 625 ₸
    assert is_short_microcredit(194_625, 45, IN_2026)
    assert not is_short_microcredit(194_626, 45, IN_2026)
    assert not is_short_microcredit(10_000, 46, IN_2026)


def test_given_2025_mci_when_classified_then_limit_is_176940() -> None:
    # 45 × 3 932 = 176 940 ₸ on 2025-12-30; 194 625 ₸ from 2026-01-01
    assert not is_short_microcredit(180_000, 30, date(2025, 12, 30))
    assert is_short_microcredit(180_000, 30, date(2026, 1, 1))


def test_given_daily_rate_below_03_when_checked_then_allowed() -> None:
    check_offer(10_000, 30, D("0.0029999"), D("179.0"), IN_2026)


def test_given_daily_rate_of_exactly_03_when_checked_then_refused_strictly() -> None:
    with pytest.raises(OfferNotAllowed, match="меньше 0,3 % в день; предложено 0,3 %"):
        check_offer(10_000, 30, D("0.003"), D("100"), IN_2026)


def test_given_short_loan_gesv_at_179_when_checked_then_allowed_and_above_refused() -> None:
    check_offer(10_000, 30, D("0.0028"), D("179.0"), IN_2026)
    with pytest.raises(OfferNotAllowed, match="179 %; при этих условиях она составила бы 179,1 %"):
        check_offer(10_000, 30, D("0.0028"), D("179.1"), IN_2026)


def test_given_long_loan_when_checked_then_46_percent_cap_and_no_daily_cap() -> None:
    check_offer(10_000, 46, D("0.005"), D("46.0"), IN_2026)
    with pytest.raises(OfferNotAllowed, match="не может превышать 46 %"):
        check_offer(10_000, 46, D("0.001"), D("46.1"), IN_2026)


def test_given_numbers_when_formatted_then_russian_style() -> None:
    assert format_tenge(194_625) == "194 625 ₸"
    assert format_tenge(D("4200.5")) == "4 200,50 ₸"
    assert format_percent(D("0.300")) == "0,3 %"
    assert format_percent(D("180")) == "180 %"
