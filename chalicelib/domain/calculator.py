"""Loan calculator: interest, total, due date and ГЭСВ of a one-payment microcredit."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeGuard

from chalicelib.domain import lending, regulation
from chalicelib.errors import OfferNotAllowed, ValidationFailed
from chalicelib.i18n import N_, Msg, plural

TIYN = Decimal("0.01")
_PERCENT_STEP = Decimal("0.1")
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Product:
    """A loan product's configured limits; ``daily_rate`` is a fraction (0.0028 = 0.28 %)."""

    min_amount: int
    max_amount: int
    min_term_days: int
    max_term_days: int
    daily_rate: Decimal


@dataclass(frozen=True)
class Quote:
    """One priced offer: money in tenge (tiyn precision), ``gesv_percent`` to 0.1 %."""

    amount: int
    term_days: int
    daily_rate: Decimal
    interest: Decimal
    total: Decimal
    due_date: date
    gesv_percent: Decimal

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view.

        Whole inputs stay ints (``amount``, ``term_days``); money is a string with
        two decimals (``"4200.00"``) so no float ever rounds it; rates are strings
        (``daily_rate`` a fraction, ``daily_rate_percent`` and ``gesv_percent`` in
        percent); dates are ISO 8601.
        """
        return {
            "amount": self.amount,
            "term_days": self.term_days,
            "daily_rate": format(self.daily_rate, "f"),
            "daily_rate_percent": format((self.daily_rate * 100).normalize(), "f"),
            "interest": format(self.interest.quantize(TIYN), "f"),
            "total": format(self.total.quantize(TIYN), "f"),
            "due_date": self.due_date.isoformat(),
            "gesv_percent": format(self.gesv_percent.quantize(_PERCENT_STEP), "f"),
        }


def _is_int(value: object) -> TypeGuard[int]:
    # bool is an int subclass: JSON `true` must not become a 1-day loan.
    return isinstance(value, int) and not isinstance(value, bool)


def quote(amount: object, term_days: object, product: Product, issue_date: date) -> Quote:
    """Price ``amount`` ₸ for ``term_days`` days; refuse what the product or the caps forbid."""
    errors: dict[str, str] = {}
    if not (_is_int(amount) and product.min_amount <= amount <= product.max_amount):
        errors["amount"] = Msg(
            N_("Сумма займа должна быть от {min} до {max}."),
            min=regulation.format_amount(product.min_amount),
            max=regulation.format_tenge(product.max_amount),
        )
    if not (_is_int(term_days) and product.min_term_days <= term_days <= product.max_term_days):
        errors["term_days"] = plural(
            "Срок займа должен быть от {min} до {n} дня.",
            "Срок займа должен быть от {min} до {n} дней.",
            product.max_term_days,
            min=product.min_term_days,
        )
    if errors or not (_is_int(amount) and _is_int(term_days)):
        raise ValidationFailed(errors)
    return _price(amount, term_days, product.daily_rate, issue_date)


def _price(amount: int, term_days: int, daily_rate: Decimal, issue_date: date) -> Quote:
    # The one accrual convention (domain.lending): the due date is issue + term and
    # every day after issue through it accrues simple interest, rounded to the tiyn.
    due = lending.due_date(issue_date, term_days)
    days = lending.accrual_days(issue_date, due)
    interest = lending.simple_interest(amount, daily_rate, days)
    total = amount + interest
    # The regulator's method: disbursement on day 0, the one repayment on the due date.
    gesv = annual_effective_rate([(0, Decimal(-amount)), (days, total)])
    regulation.check_offer(amount, term_days, daily_rate, gesv, issue_date)
    return Quote(
        amount=amount,
        term_days=term_days,
        daily_rate=daily_rate,
        interest=interest,
        total=total,
        due_date=due,
        gesv_percent=gesv,
    )


def annual_effective_rate(flows: Sequence[tuple[int, Decimal]]) -> Decimal:
    """ГЭСВ in percent (to 0.1) of signed cash flows ``(day, amount)``.

    Solves Σ Aⱼ / (1 + APR)^(tⱼ/365) = 0, i.e. disbursements and repayments
    discounted to day 0 are equal (the National Bank's ГЭСВ formula), with
    ``tⱼ`` the days since the first disbursement. Signs only need to be
    opposite: money to the borrower one sign, money back the other.
    """
    if not flows:
        raise ValueError("No cash flows.")
    if any(day < 0 for day, _ in flows):
        raise ValueError("Days are counted from the disbursement and cannot be negative.")
    cash = [(day / 365.0, float(value)) for day, value in flows if value != 0]
    if not (any(v > 0 for _, v in cash) and any(v < 0 for _, v in cash)):
        raise ValueError("Cash flows need at least one disbursement and one repayment.")

    def npv(rate: float) -> float:
        # exp(-y·log1p(r)) instead of (1+r)**-y: no overflow for huge rates.
        log_base = math.log1p(rate)
        return sum(value * math.exp(-years * log_base) for years, value in cash)

    low, high = -0.999999, 1.0
    npv_low = npv(low)
    while (npv(high) > 0) == (npv_low > 0):
        high *= 2
        if high > 1e15:
            raise ValueError("No annual effective rate solves these cash flows.")
    for _ in range(400):
        mid = (low + high) / 2
        npv_mid = npv(mid)
        if npv_mid == 0:
            low = high = mid
            break
        if (npv_mid > 0) == (npv_low > 0):
            low, npv_low = mid, npv_mid
        else:
            high = mid
        if high - low <= _TOLERANCE * max(1.0, abs(mid)):
            break
    rate = (low + high) / 2
    return (Decimal(rate) * 100).quantize(_PERCENT_STEP, ROUND_HALF_UP)


def check_product(product: Product, on: date) -> None:
    """Refuse a product configuration that would price any allowed loan above the caps."""
    if not 0 < product.min_amount <= product.max_amount:
        raise ValueError("Product amounts must satisfy 0 < min_amount <= max_amount.")
    if not 0 < product.min_term_days <= product.max_term_days:
        raise ValueError("Product terms must satisfy 0 < min_term_days <= max_term_days.")
    if product.daily_rate < 0:
        raise ValueError("The daily rate cannot be negative.")
    # Simple interest makes the ГЭСВ fall as the term grows, but the cap itself
    # changes at 45 days and 45 MCI (DESIGN.md "Rate caps"), so price every term
    # at both amount extremes: the smallest has the largest tiyn rounding, the
    # largest may leave the short-microcredit regime.
    for term in range(product.min_term_days, product.max_term_days + 1):
        for amount in {product.min_amount, product.max_amount}:
            try:
                _price(amount, term, product.daily_rate, on)
            except OfferNotAllowed as exc:
                raise OfferNotAllowed(
                    f"Условия продукта недопустимы для суммы "
                    f"{regulation.format_tenge(amount)} на {term} "
                    f"{regulation.plural_days_accusative(term)}: {exc.message}"
                ) from exc
