"""Dated regulatory facts (MCI, microcredit rate caps) and the offer check.

The facts live here as data with the date they take effect, so a new year's
MCI or a new resolution is one more record, never a hunt for literals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from chalicelib.errors import OfferNotAllowed


@dataclass(frozen=True)
class Mci:
    """The monthly calculation index (МРП) in force from ``effective_from``."""

    effective_from: date
    tenge: int
    source: str


@dataclass(frozen=True)
class RateCaps:
    """Caps on the cost of a microcredit in force from ``effective_from``."""

    effective_from: date
    source: str
    #: ГЭСВ cap of any microcredit, in percent.
    max_annual_rate_percent: Decimal
    #: A "short" microcredit: term at most this many calendar days...
    short_max_term_days: int
    #: ...and amount at most this many MCI.
    short_max_amount_mci: int
    #: For a short microcredit the daily rate must be strictly below this (fraction).
    short_daily_rate_below: Decimal
    #: ГЭСВ cap of a short microcredit, in percent (replaces the general cap).
    short_max_annual_rate_percent: Decimal


#: DESIGN.md "Rate caps": MCI (МРП) is set yearly by the republican budget law.
MCI_HISTORY: tuple[Mci, ...] = (
    Mci(date(2025, 1, 1), 3_932, "Закон о республиканском бюджете на 2025–2027 годы"),
    Mci(date(2026, 1, 1), 4_325, "Закон о республиканском бюджете на 2026–2028 годы"),
)

#: DESIGN.md "Rate caps": joint resolution of ARDFM and the National Bank.
RATE_CAPS_HISTORY: tuple[RateCaps, ...] = (
    RateCaps(
        # 2025-12-24 is the ADOPTION date of the resolution; the date it enters
        # into force (after official publication) may be later. Replace it with
        # the entry-into-force date once confirmed: until then the caps apply
        # from the earliest possible day, which is the safe side for borrowers.
        effective_from=date(2025, 12, 24),
        source="Совместное постановление АРРФР и Национального Банка РК от 24.12.2025",
        max_annual_rate_percent=Decimal("46"),
        short_max_term_days=45,
        short_max_amount_mci=45,
        short_daily_rate_below=Decimal("0.003"),
        short_max_annual_rate_percent=Decimal("179"),
    ),
)


def mci_on(d: date) -> int:
    """The MCI in tenge in force on ``d``."""
    # A year with no record yet falls back to the latest known MCI. MCI only
    # grows, so an older (smaller) MCI makes fewer loans "short" and the check
    # stricter, never looser: failing safe beats refusing every quote on 1 Jan.
    for record in sorted(MCI_HISTORY, key=lambda r: r.effective_from, reverse=True):
        if record.effective_from <= d:
            return record.tenge
    raise LookupError(f"No MCI is known for {d.isoformat()}.")


def caps_on(d: date) -> RateCaps:
    """The rate caps in force on ``d``."""
    for record in sorted(RATE_CAPS_HISTORY, key=lambda r: r.effective_from, reverse=True):
        if record.effective_from <= d:
            return record
    raise LookupError(f"No rate caps are known for {d.isoformat()}.")


def is_short_microcredit(amount: int | Decimal, term_days: int, on: date) -> bool:
    """Whether the special regime for ≤ 45 days and ≤ 45 MCI applies."""
    caps = caps_on(on)
    limit = caps.short_max_amount_mci * mci_on(on)
    return term_days <= caps.short_max_term_days and amount <= limit


def check_offer(
    amount: int | Decimal,
    term_days: int,
    daily_rate: Decimal,
    gesv_percent: Decimal,
    on: date,
) -> None:
    """Refuse an offer that breaks the caps in force on ``on`` (OfferNotAllowed)."""
    caps = caps_on(on)
    if is_short_microcredit(amount, term_days, on):
        limit = caps.short_max_amount_mci * mci_on(on)
        regime = (
            f"по микрокредиту на срок до {caps.short_max_term_days} "
            f"{plural_days(caps.short_max_term_days)} "
            f"и на сумму до {caps.short_max_amount_mci} МРП ({format_tenge(limit)})"
        )
        # DESIGN.md "Rate caps": daily rate strictly below 0.3 % for short loans.
        if daily_rate >= caps.short_daily_rate_below:
            raise OfferNotAllowed(
                f"Ставка вознаграждения {regime} должна быть меньше "
                f"{format_percent(caps.short_daily_rate_below * 100)} в день; "
                f"предложено {format_percent(daily_rate * 100)}."
            )
        cap = caps.short_max_annual_rate_percent
    else:
        regime = "по микрокредиту"
        cap = caps.max_annual_rate_percent
    # DESIGN.md "Rate caps": ГЭСВ ≤ 179 % (short) or ≤ 46 % (any other microcredit).
    if gesv_percent > cap:
        raise OfferNotAllowed(
            f"Годовая эффективная ставка вознаграждения (ГЭСВ) {regime} не может "
            f"превышать {format_percent(cap)}; при этих условиях она составила бы "
            f"{format_percent(gesv_percent)}."
        )


def format_amount(amount: int | Decimal) -> str:
    """Russian number text with space-grouped thousands: ``10 000``, ``4 200,50``."""
    value = Decimal(amount)
    if value == value.to_integral_value():
        return f"{int(value):,}".replace(",", " ")
    text = f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"
    return text.replace(",", " ").replace(".", ",")


def format_tenge(amount: int | Decimal) -> str:
    """Russian money text: ``10 000 ₸``, ``4 200,50 ₸``."""
    return f"{format_amount(amount)} ₸"


def format_percent(value: Decimal) -> str:
    """Russian percent text with a decimal comma: ``0,3 %``, ``179 %``."""
    text = format(value.normalize(), "f")
    return f"{text.replace('.', ',')} %"


def plural_days(n: int) -> str:
    """The genitive after «до N»: «дня» for 1, 21, 31…, else «дней»."""
    return "дня" if n % 10 == 1 and n % 100 != 11 else "дней"


def plural_days_accusative(n: int) -> str:
    """The noun after «на N»: «день», «дня» or «дней»."""
    if n % 100 in (11, 12, 13, 14):
        return "дней"
    return {1: "день", 2: "дня", 3: "дня", 4: "дня"}.get(n % 10, "дней")
