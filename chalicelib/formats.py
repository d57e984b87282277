"""Money, percentages and dates for people (SMS, e-mail, reminders), per locale, by Babel.

What Babel's CLDR data gives (checked in ``tests/unit/test_formats.py``):

=========  ===================  ===========================
           ``ru`` (``ru_KZ``)   ``kk`` (``kk_KZ``)
=========  ===================  ===========================
money      ``63 528 ₸``         ``63 528 ₸``
percent    ``171,0 %``          ``171,0%``
date       ``23 декабря 2026 г.``  ``2026 ж. 23 желтоқсан``
=========  ===================  ===========================

``ru_KZ`` rather than ``ru``: Russian in Kazakhstan writes the tenge as ``₸``
(plain ``ru`` gives ``KZT``). Spaces are no-break spaces (CLDR's narrow one in
dates becomes an ordinary no-break space, which every phone shows). Babel is
imported on first use only: an API cold start that formats nothing never loads it
(its import and the locale data cost ≈ 0.3 s).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

LOCALES = {"ru": "ru_KZ", "kk": "kk_KZ"}


def _locale(language: str) -> str:
    return LOCALES.get(language, LOCALES["ru"])


def money(amount: Any, language: str) -> str:
    """``63 528 ₸``; kopecks (tiyn) only when there are any: ``4 200,50 ₸``."""
    # lazy: Babel ≈ 45 ms CPU at cold start; only money() needs it
    from babel.numbers import format_currency  # Babel is heavy: only when formatting

    value = Decimal(str(amount))
    pattern = "#,##0\xa0¤" if value == value.to_integral_value() else "#,##0.00\xa0¤"
    return format_currency(
        value, "KZT", format=pattern, locale=_locale(language), currency_digits=False
    )


def percent(value: Any, language: str, digits: int = 1) -> str:
    """A percentage given in percent (``171`` → ``171,0 %``), the locale's own pattern."""
    # lazy: Babel ≈ 45 ms CPU at cold start; only percent() needs it
    from babel import Locale  # Babel is heavy: only when formatting
    from babel.numbers import format_percent

    locale = Locale.parse(_locale(language))
    pattern = locale.percent_formats[None].pattern
    if digits:
        pattern = pattern.replace("#,##0", "#,##0." + "0" * digits, 1)
    return format_percent(Decimal(str(value)) / 100, format=pattern, locale=locale)


def long_date(day: date, language: str) -> str:
    """``23 декабря 2026 г.`` / ``2026 ж. 23 желтоқсан``."""
    # lazy: Babel ≈ 45 ms CPU at cold start; only long_date() needs it
    from babel.dates import format_date  # Babel is heavy: only when formatting

    return format_date(day, "long", locale=_locale(language)).replace("\u202f", "\xa0")


@dataclass(frozen=True)
class Money:
    """A sum of tenge as a message parameter (``i18n.Msg``), formatted per language."""

    amount: Any

    def localised(self, language: str) -> str:
        return money(self.amount, language)


@dataclass(frozen=True)
class Percent:
    """A percentage (in percent) as a message parameter."""

    value: Any
    digits: int = 1

    def localised(self, language: str) -> str:
        return percent(self.value, language, self.digits)


@dataclass(frozen=True)
class LongDate:
    """A calendar date as a message parameter."""

    day: date

    def localised(self, language: str) -> str:
        return long_date(self.day, language)
