"""The public calculator: product limits and a priced offer, no sign-in."""

from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.config import get_settings
from chalicelib.domain import calculator
from chalicelib.errors import InvalidValue
from chalicelib.i18n import N_
from chalicelib.services.forms import Form
from chalicelib.services.registration import product


def _query_int(raw: Any) -> int:
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise InvalidValue(N_("Ожидается целое положительное число."))
    return int(text)


def product_view() -> dict[str, Any]:
    """Limits and rate of the configured product (for sliders)."""
    settings = get_settings()
    p = product(settings)
    return {
        "min_amount": p.min_amount,
        "max_amount": p.max_amount,
        "min_term_days": p.min_term_days,
        "max_term_days": p.max_term_days,
        "daily_rate": format(p.daily_rate, "f"),
        "currency": "KZT",
        # The pages' footer: who lends, under which licence, and how to reach support.
        "lender": {
            "name_ru": settings.lender_name_ru,
            "name_kk": settings.lender_name_kk,
            "licence": settings.lender_licence,
            "support_phone": settings.support_phone,
            "support_email": settings.support_email,
        },
    }


def quote_view(amount: Any, term_days: Any) -> dict[str, Any]:
    """A priced offer from query-string values; every bad field is named."""
    form = Form({"amount": amount, "term_days": term_days}, ("amount", "term_days"))
    parsed_amount = form.field("amount", _query_int)
    parsed_term = form.field("term_days", _query_int)
    form.raise_if_invalid()
    offer = calculator.quote(parsed_amount, parsed_term, product(get_settings()), clock.today_kz())
    return offer.as_dict()
