"""Dated regulatory facts (MCI, microcredit rate caps) and the offer check.

The facts live here as data with the date they take effect, so a new year's
MCI or a new resolution is one more record, never a hunt for literals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from chalicelib.errors import ExtensionNotAllowed, OfferNotAllowed


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


@dataclass(frozen=True)
class Source:
    """Where a fact comes from, and whether its text and date were checked."""

    title: str
    url: str
    #: True only when the official text (or its verbatim reproduction) was read.
    checked: bool
    note: str = ""


@dataclass(frozen=True)
class LendingRules:
    """Limits on penalties, overpayment, extensions and allocation from ``effective_from``.

    Rates are fractions per calendar day (``0.002`` = 0.2 %/day). Each limit has
    its own ``Source``; an unchecked source means the conservative value is used.
    """

    effective_from: date
    #: Penalty (неустойка) per day of delay, as a fraction of the overdue amount.
    penalty_daily_rate_max: Decimal
    penalty_source: Source
    #: After this many consecutive days of delay neither penalty nor interest accrues.
    penalty_max_days: int
    penalty_max_days_source: Source
    #: All payments except the principal (interest, penalty, fees), over the whole
    #: life of the contract including extensions, as a fraction of the principal.
    overpayment_max_fraction: Decimal
    overpayment_source: Source
    #: Extensions (продление) of one contract, days each, interest rate during one.
    max_extensions: int
    extension_max_days: int
    extension_daily_rate_max: Decimal
    extension_source: Source
    #: The order a too-small payment is allocated in (``ALLOCATION_*`` names).
    allocation_order: tuple[str, ...]
    allocation_source: Source
    #: Days after signing within which a borrower may return the whole principal
    #: without interest; 0 when no such right applies.
    interest_free_return_days: int
    interest_free_return_source: Source


#: Allocation buckets (Law «О микрофинансовой деятельности», art. 6 p. 1-1).
OVERDUE_PRINCIPAL = "overdue_principal"
OVERDUE_INTEREST = "overdue_interest"
PENALTY = "penalty"
CURRENT_PRINCIPAL = "current_principal"
CURRENT_INTEREST = "current_interest"
COSTS = "costs"

_ARDFM_2025_DRAFT = Source(
    title=(
        "Проект постановления АРРФР о микрокредитах до 45 дней (сообщение КазТАГ, "
        "06.08.2025: неустойка ≤ 0,2 % в день; все платежи, кроме суммы микрокредита, "
        "≤ половины суммы микрокредита за весь срок; не более двух продлений ≤ 45 дней "
        "при вознаграждении ≤ 0,2 % в день)"
    ),
    url=(
        "https://kaztag.kz/kz/news/r-da-mikrokreditti-45-k-nge-deyin-aytarma-any-shin-"
        "ayypp-l-k-lemi-0-2-deyin-ys-arady"
    ),
    checked=False,
    note=(
        "Only a press report of the DRAFT was found; neither its adoption nor its "
        "entry-into-force date could be confirmed through search. Its limits are "
        "stricter than the Law's general ones, so they are applied as the "
        "conservative value, from the date of the report, to every microcredit."
    ),
)

#: Dated limits; the newest record not after the day applies (``rules_on``).
LENDING_RULES_HISTORY: tuple[LendingRules, ...] = (
    LendingRules(
        effective_from=date(2025, 8, 6),
        penalty_daily_rate_max=Decimal("0.002"),
        penalty_source=_ARDFM_2025_DRAFT,
        penalty_max_days=90,
        penalty_max_days_source=Source(
            title="Kazakhstan Microfinance: Crucial Information You Should Be Aware Of (guide)",
            url="https://wealthway.top/en/kazakhstan-microfinance-crucial-information-you-should-be-aware-of",
            checked=False,
            note=(
                "A secondary guide says the penalty runs for at most 90 days of delay; "
                "the Law's own text on this could not be found through search. Stopping "
                "penalty and interest after 90 days of delay is the borrower-safe value."
            ),
        ),
        overpayment_max_fraction=Decimal("0.5"),
        overpayment_source=_ARDFM_2025_DRAFT,
        max_extensions=2,
        extension_max_days=45,
        extension_daily_rate_max=Decimal("0.002"),
        extension_source=_ARDFM_2025_DRAFT,
        allocation_order=(
            OVERDUE_PRINCIPAL,
            OVERDUE_INTEREST,
            PENALTY,
            CURRENT_PRINCIPAL,
            CURRENT_INTEREST,
            COSTS,
        ),
        allocation_source=Source(
            title=(
                "Закон РК от 26.11.2012 № 56-V «О микрофинансовой деятельности», "
                "ст. 6 п. 1-1 (договор с физическим лицом)"
            ),
            url="https://kodeksy-kz.com/amp/o_mikrofinansovyh_organizatsiyah/6.htm",
            checked=True,
            note=(
                "Items 1)–5) read in the Kazakh text (негізгі борыш бойынша берешек; "
                "сыйақы бойынша берешек; тұрақсыздық айыбы; ағымдағы кезеңнің негізгі "
                "борышы; ағымдағы кезеңнің сыйақысы). The last item (the lender's "
                "costs of collection) was cut off in the excerpt: not checked; "
                "costs are last, the safe side for the borrower."
            ),
        ),
        interest_free_return_days=14,
        interest_free_return_source=Source(
            title="Право заемщика вернуть микрокредит без вознаграждения в течение 14 дней",
            url="",
            checked=False,
            note=(
                "Search found no Kazakh text granting or denying this right for "
                "microcredits (only EU/Russian cooling-off rules). Conservative "
                "value: the borrower may return the whole principal within 14 "
                "calendar days of signing and owe no interest. Confirm with counsel."
            ),
        ),
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


def rules_on(d: date) -> LendingRules:
    """The penalty, overpayment, extension and allocation rules in force on ``d``."""
    for record in sorted(LENDING_RULES_HISTORY, key=lambda r: r.effective_from, reverse=True):
        if record.effective_from <= d:
            return record
    raise LookupError(f"No lending rules are known for {d.isoformat()}.")


def check_penalty(penalty_daily_rate: Decimal, on: date) -> None:
    """Refuse a contract penalty rate above the cap in force on ``on`` (OfferNotAllowed)."""
    cap = rules_on(on).penalty_daily_rate_max
    if penalty_daily_rate < 0 or penalty_daily_rate > cap:
        raise OfferNotAllowed(
            f"Неустойка за просрочку не может превышать {format_percent(cap * 100)} "
            f"от просроченной суммы за каждый день; предложено "
            f"{format_percent(penalty_daily_rate * 100)}."
        )


def max_total_overpayment(principal: int | Decimal, on: date) -> Decimal:
    """The most a borrower may pay beyond ``principal`` over the whole contract, in tenge.

    Interest, penalty and any fee together, including every extension, to the tiyn
    (rounded down: the cap is never exceeded by rounding).
    """
    fraction = rules_on(on).overpayment_max_fraction
    return (Decimal(principal) * fraction).quantize(Decimal("0.01"), rounding="ROUND_DOWN")


def overpayment_room(principal: int | Decimal, charged: Decimal, on: date) -> Decimal:
    """How much more may still be charged (≥ 0) when ``charged`` beyond principal already was."""
    return max(Decimal(0), max_total_overpayment(principal, on) - charged)


def check_overpayment(principal: int | Decimal, total_charges: Decimal, on: date) -> None:
    """Refuse terms whose interest + penalty + fees exceed the cap (OfferNotAllowed)."""
    cap = max_total_overpayment(principal, on)
    if total_charges > cap:
        fraction = rules_on(on).overpayment_max_fraction
        raise OfferNotAllowed(
            f"Сумма всех платежей сверх суммы займа (вознаграждение, неустойка, комиссии) "
            f"не может превышать {format_percent(fraction * 100)} суммы займа "
            f"({format_tenge(cap)}); при этих условиях она составила бы "
            f"{format_tenge(total_charges)}."
        )


def check_contract_terms(
    amount: int | Decimal,
    interest: Decimal,
    penalty_daily_rate: Decimal,
    on: date,
) -> None:
    """Refuse an offer whose penalty rate or contract interest already breaks the caps.

    Call beside ``check_offer`` (which checks the rate and ГЭСВ) when the offer is made.
    """
    check_penalty(penalty_daily_rate, on)
    check_overpayment(amount, interest, on)


def penalty_for(
    overdue_amount: Decimal,
    days_overdue: int,
    penalty_daily_rate: Decimal,
    on: date,
) -> Decimal:
    """Penalty for ``days_overdue`` days on ``overdue_amount`` at the contract rate, to the tiyn.

    Days beyond ``penalty_max_days`` of delay add nothing. The rate is checked
    against the cap in force on ``on``; the overall cap on all charges is applied
    separately (``overpayment_room``).
    """
    check_penalty(penalty_daily_rate, on)
    if days_overdue <= 0 or overdue_amount <= 0:
        return Decimal("0.00")
    days = min(days_overdue, rules_on(on).penalty_max_days)
    raw = overdue_amount * penalty_daily_rate * days
    return raw.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def check_extension(
    extensions_done: int,
    extension_days: int,
    extension_daily_rate: Decimal,
    on: date,
) -> None:
    """Refuse an extension that breaks the limits in force on ``on`` (ExtensionNotAllowed).

    ``extensions_done`` counts the extensions already signed on this contract.
    """
    rules = rules_on(on)
    if extensions_done >= rules.max_extensions:
        raise ExtensionNotAllowed(
            f"Займ можно продлить не более {rules.max_extensions} раз; лимит продлений исчерпан."
        )
    if not 1 <= extension_days <= rules.extension_max_days:
        raise ExtensionNotAllowed(
            f"Срок продления — от 1 до {rules.extension_max_days} "
            f"{plural_days(rules.extension_max_days)}."
        )
    if extension_daily_rate > rules.extension_daily_rate_max:
        raise ExtensionNotAllowed(
            f"Ставка вознаграждения на время продления не может превышать "
            f"{format_percent(rules.extension_daily_rate_max * 100)} в день; "
            f"предложено {format_percent(extension_daily_rate * 100)}."
        )


def interest_free_until(signed_on: date) -> date | None:
    """Last day the whole principal may be returned without interest, or None if no such right."""
    days = rules_on(signed_on).interest_free_return_days
    return signed_on + timedelta(days=days) if days else None


@dataclass(frozen=True)
class Allocation:
    """How one payment was split; ``parts`` maps bucket → tenge, ``change`` is left over."""

    parts: dict[str, Decimal]
    change: Decimal

    @property
    def applied(self) -> Decimal:
        """The part of the payment that went to the debt."""
        return sum(self.parts.values(), Decimal(0))


def allocate_payment(amount: Decimal, owed: dict[str, Decimal], on: date) -> Allocation:
    """Split ``amount`` over the buckets ``owed`` in the order the law prescribes on ``on``.

    ``owed`` maps bucket names (``OVERDUE_PRINCIPAL`` … ``COSTS``) to amounts; a
    missing bucket owes nothing. Whatever exceeds the whole debt is ``change``
    (to be returned to the borrower, never kept as income).
    """
    if amount < 0:
        raise ValueError("A payment cannot be negative.")
    unknown = set(owed) - set(rules_on(on).allocation_order)
    if unknown:
        raise ValueError(f"Unknown allocation buckets: {sorted(unknown)}.")
    left = amount
    parts: dict[str, Decimal] = {}
    for bucket in rules_on(on).allocation_order:
        due = owed.get(bucket, Decimal(0))
        if due < 0:
            raise ValueError(f"A debt cannot be negative ({bucket}).")
        take = min(left, due)
        if take > 0:
            parts[bucket] = take
            left -= take
    return Allocation(parts=parts, change=left)
