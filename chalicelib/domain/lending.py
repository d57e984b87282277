"""The loan: its statuses, the accrual convention and the money rules. Pure: no AWS.

Statuses and transitions::

    submitted ──approve──▶ approved ──sign (SMS code)──▶ signed ──payout──▶ issued
        │                     │                                            │  ▲
        └──reject──▶ rejected ◀┘ (reject / offer expired)                  │  │ extension
                                                                           │  │ (signed, due
    issued ──(00:00 Asia/Almaty after the due date)──▶ overdue             │  │  date moves)
    issued | overdue ──(payments cover what is owed)──▶ repaid ◀───────────┘──┘

``submitted``, ``approved``, ``signed``, ``issued`` and ``overdue`` are *open*: an
account has at most one open loan (a guard item enforces it). ``rejected`` and
``repaid`` are closed.

The accrual convention (written once, here; the calculator, the ГЭСВ, the
agreement and the daily accrual all call ``accrual_days``): interest accrues
for each calendar day from the day after issue through the day of repayment,
both in Asia/Almaty dates. A loan issued on 1 March and repaid on 16 March
accrues 15 days; repaid on the day of issue it accrues none. The term of N
days ends on the due date, issue date + N, which therefore accrues exactly N
days — the same N days the calculator prices and the ГЭСВ discounts.

Money is ``Decimal`` tenge; each day's interest and penalty is rounded to the
tiyn (half up) when it is added, so a balance is always a whole number of tiyn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from chalicelib.errors import Conflict, OfferNotAllowed
from chalicelib.i18n import N_, Msg, plural

TIYN = Decimal("0.01")
ZERO = Decimal("0.00")


class LoanStatus(StrEnum):
    """Where a loan is in its life (values are what storage keeps)."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    SIGNED = "signed"
    ISSUED = "issued"
    OVERDUE = "overdue"
    REPAID = "repaid"
    REJECTED = "rejected"


#: The state machine as data: from each status, where it may go.
TRANSITIONS: dict[LoanStatus, tuple[LoanStatus, ...]] = {
    LoanStatus.SUBMITTED: (LoanStatus.APPROVED, LoanStatus.REJECTED),
    LoanStatus.APPROVED: (LoanStatus.SIGNED, LoanStatus.REJECTED),
    LoanStatus.SIGNED: (LoanStatus.ISSUED, LoanStatus.REJECTED),
    LoanStatus.ISSUED: (LoanStatus.OVERDUE, LoanStatus.REPAID),
    LoanStatus.OVERDUE: (LoanStatus.REPAID,),
    LoanStatus.REPAID: (),
    LoanStatus.REJECTED: (),
}
OPEN = frozenset(s for s, nxt in TRANSITIONS.items() if nxt)
#: Money is owed (an issued loan not repaid).
OUTSTANDING = frozenset({LoanStatus.ISSUED, LoanStatus.OVERDUE})

STATUS_RU: dict[LoanStatus, str] = {
    LoanStatus.SUBMITTED: N_("Заявка на рассмотрении"),
    LoanStatus.APPROVED: N_("Одобрена, ожидает подписания договора"),
    LoanStatus.SIGNED: N_("Договор подписан, ожидает перечисления"),
    LoanStatus.ISSUED: N_("Выдан"),
    LoanStatus.OVERDUE: N_("Просрочен"),
    LoanStatus.REPAID: N_("Погашен"),
    LoanStatus.REJECTED: N_("Отклонена"),
}
#: How a conflict message names an open loan («уже есть …»).
OPEN_RU: dict[LoanStatus, str] = {
    LoanStatus.SUBMITTED: N_("заявка на рассмотрении"),
    LoanStatus.APPROVED: N_("одобренная заявка, договор по которой ещё не подписан"),
    LoanStatus.SIGNED: N_("подписанный договор, деньги по которому ещё не перечислены"),
    LoanStatus.ISSUED: N_("непогашенный займ"),
    LoanStatus.OVERDUE: N_("просроченный займ"),
}


WRONG_STATUS = N_("Займ в статусе «{status}»: это действие для него недоступно.")


def check_transition(current: str, new: str) -> LoanStatus:
    """The new status, or ``Conflict`` when the state machine has no such move."""
    try:
        cur, nxt = LoanStatus(current), LoanStatus(new)
    except ValueError:
        raise Conflict(N_("Недопустимый статус займа.")) from None
    if nxt not in TRANSITIONS[cur]:
        raise Conflict(
            Msg(
                N_("Займ в статусе «{status}»: это действие для него недоступно."),
                status=STATUS_RU[cur],
            )
        )
    return nxt


# --- The accrual convention -------------------------------------------------------------


def accrual_days(start: date, end: date) -> int:
    """Days of interest between ``start`` (issue, or the last day already accrued) and ``end``.

    Each calendar day after ``start`` through ``end`` counts once: 1 March → 16 March
    is 15 days; ``end`` on or before ``start`` is 0.
    """
    return max(0, (end - start).days)


def due_date(issue_date: date, term_days: int) -> date:
    """The repayment date of a term: the last day that accrues interest."""
    return issue_date + timedelta(days=term_days)


def simple_interest(principal: Decimal | int, daily_rate: Decimal, days: int) -> Decimal:
    """Interest on ``principal`` for ``days`` accrual days, rounded to the tiyn."""
    return (Decimal(principal) * daily_rate * days).quantize(TIYN, ROUND_HALF_UP)


# --- Regulation the money rules need (values come from domain.regulation) ---------------


@dataclass(frozen=True)
class Rules:
    """The limits the accrual, allocation and extension obey (dated regulation + config).

    ``penalty_daily_rate``: fraction of the overdue principal per day of delay.
    ``penalty_max_days``: no penalty (and no interest) accrues after this many days
    of delay (None: no such limit). ``overpayment_cap``: everything charged beyond
    the principal (interest + penalty) is at most this fraction of the principal
    (None: no cap). ``allocation``: the order a payment pays the components
    (names of ``Balance`` fields). ``free_early_days``: repaying the whole principal
    within this many days of issue costs no interest.
    """

    penalty_daily_rate: Decimal
    penalty_max_days: int | None
    overpayment_cap: Decimal | None
    allocation: tuple[str, ...]
    free_early_days: int
    max_extensions: int
    max_extension_days: int
    extension_daily_rate_max: Decimal | None


#: The order of the Law «О микрофинансовой деятельности» (art. 4-1): overdue principal,
#: overdue interest, penalty, then the current principal and current interest.
LEGAL_ORDER = ("principal_overdue", "interest_overdue", "penalty", "principal", "interest")


# --- The balance, day by day --------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    """What a loan owes, accrued through ``through`` (inclusive).

    ``principal`` is the unpaid principal; ``interest`` and ``penalty`` the unpaid
    accrued amounts; ``charged`` everything ever charged beyond the principal
    (for the overpayment cap); ``*_paid`` what payments covered.
    """

    original: Decimal
    principal: Decimal
    interest: Decimal
    penalty: Decimal
    charged: Decimal
    daily_rate: Decimal
    issue_date: date
    due: date
    through: date
    principal_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    penalty_paid: Decimal = ZERO
    interest_waived: Decimal = ZERO

    @property
    def owed(self) -> Decimal:
        """Everything owed as of ``through``."""
        return self.principal + self.interest + self.penalty

    @property
    def paid(self) -> Decimal:
        return self.principal_paid + self.interest_paid + self.penalty_paid


def open_balance(
    amount: int | Decimal, daily_rate: Decimal, issue_date: date, term: int
) -> Balance:
    """A freshly issued loan: the principal owed, nothing accrued yet."""
    principal = Decimal(amount).quantize(TIYN)
    return Balance(
        original=principal,
        principal=principal,
        interest=ZERO,
        penalty=ZERO,
        charged=ZERO,
        daily_rate=daily_rate,
        issue_date=issue_date,
        due=due_date(issue_date, term),
        through=issue_date,
    )


def days_overdue(balance: Balance, on: date) -> int:
    """Days of delay on ``on`` (0 on or before the due date, 1 the day after)."""
    return accrual_days(balance.due, on)


def accrue(balance: Balance, on: date, rules: Rules) -> Balance:
    """The balance accrued through ``on``: daily interest, then penalty once overdue.

    Interest accrues on the unpaid principal for each accrual day; each day after the
    due date adds the penalty (``penalty_daily_rate`` × unpaid principal). Both stop
    after ``penalty_max_days`` of delay, and neither ever takes ``charged`` above
    ``overpayment_cap`` × original principal.
    """
    if on <= balance.through or balance.principal <= 0:
        return balance
    cap = None if rules.overpayment_cap is None else (balance.original * rules.overpayment_cap)
    interest, penalty, charged = balance.interest, balance.penalty, balance.charged
    day = balance.through
    while day < on:
        day += timedelta(days=1)
        delay = accrual_days(balance.due, day)
        if rules.penalty_max_days is not None and delay > rules.penalty_max_days:
            break
        add_interest = simple_interest(balance.principal, balance.daily_rate, 1)
        add_penalty = (
            simple_interest(balance.principal, rules.penalty_daily_rate, 1) if delay else ZERO
        )
        if cap is not None:
            room = max(ZERO, cap - charged)
            add_interest = min(add_interest, room)
            add_penalty = min(add_penalty, room - add_interest)
        interest += add_interest
        penalty += add_penalty
        charged += add_interest + add_penalty
    return replace(balance, interest=interest, penalty=penalty, charged=charged, through=on)


@dataclass(frozen=True)
class Allocation:
    """How one payment was split; ``change`` is what exceeded the debt (to refund)."""

    principal: Decimal
    interest: Decimal
    penalty: Decimal
    change: Decimal
    interest_waived: Decimal
    balance: Balance

    @property
    def repaid(self) -> bool:
        return self.balance.owed <= 0


def allocate(
    balance: Balance,
    amount: Decimal,
    on: date,
    rules: Rules,
    *,
    interest_first: bool = False,
) -> Allocation:
    """Accrue through ``on`` and apply ``amount`` in the legal order (``rules.allocation``).

    Before the due date nothing is overdue, so the order reduces to principal, then
    interest; after it, principal and interest are overdue and come before the penalty.
    ``interest_first`` (an extension payment, which by its terms pays the accrued
    interest) pays interest before anything else. Within ``free_early_days`` of
    issue a payment that clears the principal waives the accrued interest.
    """
    if amount <= 0:
        raise ValueError("A payment is a positive amount.")
    if on < balance.through:
        raise ValueError("A payment cannot be dated before the last accrued day.")
    current = accrue(balance, on, rules)
    overdue = on > current.due
    parts = {"principal": ZERO, "interest": ZERO, "penalty": ZERO}
    owed = {
        "principal": current.principal,
        "interest": current.interest,
        "penalty": current.penalty,
    }
    order = list(rules.allocation)
    if interest_first:
        order = ["interest_overdue", "interest", *order]
    left = Decimal(amount)
    for name in order:
        component = name.removesuffix("_overdue")
        if name.endswith("_overdue") != overdue and component != "penalty":
            continue
        take = min(left, owed[component])
        parts[component] += take
        owed[component] -= take
        left -= take
    waived = ZERO
    free = accrual_days(current.issue_date, on) <= rules.free_early_days
    if free and owed["principal"] <= 0 and current.interest_waived == 0 and not interest_first:
        # The right to return the money early without interest: paid interest comes
        # back as change, what is unpaid is waived.
        waived = current.interest
        left += parts["interest"]
        parts["interest"] = ZERO
        owed["interest"] = ZERO
    after = replace(
        current,
        principal=owed["principal"],
        interest=owed["interest"],
        penalty=owed["penalty"],
        principal_paid=current.principal_paid + parts["principal"],
        interest_paid=current.interest_paid + parts["interest"],
        penalty_paid=current.penalty_paid + parts["penalty"],
        interest_waived=current.interest_waived + waived,
    )
    return Allocation(
        principal=parts["principal"],
        interest=parts["interest"],
        penalty=parts["penalty"],
        change=left,
        interest_waived=waived,
        balance=after,
    )


def early_repayment_cost(balance: Balance, on: date, rules: Rules) -> Decimal:
    """What repaying everything on ``on`` costs (interest waived inside the free window)."""
    current = accrue(balance, on, rules)
    if accrual_days(current.issue_date, on) <= rules.free_early_days and not current.interest_paid:
        return current.principal + current.penalty
    return current.owed


def apply_payments(
    balance: Balance, payments: Sequence[tuple[date, Decimal, bool]], rules: Rules
) -> Balance:
    """Replay payments ``(date, amount, is_extension)`` in date order (what storage checks)."""
    for on, amount, extension in sorted(payments, key=lambda p: p[0]):
        balance = allocate(balance, amount, on, rules, interest_first=extension).balance
    return balance


# --- Extension (продление) ------------------------------------------------------------------


@dataclass(frozen=True)
class ExtensionQuote:
    """Pay ``pay_now`` (the accrued interest and penalty) and the due date becomes ``new_due``."""

    pay_now: Decimal
    new_due: date
    days: int
    daily_rate: Decimal
    extensions_after: int


def extension_quote(
    balance: Balance,
    on: date,
    days: int,
    extensions_done: int,
    rules: Rules,
    *,
    max_days_config: int,
) -> ExtensionQuote:
    """Price an extension by ``days`` asked on ``on``; ``OfferNotAllowed`` when limits forbid it.

    The new term runs from the later of the due date and ``on``. The interest and
    penalty accrued through ``on`` are paid now; the principal stays. During the
    extension the rate is the contract rate, lowered to the regulator's extension
    cap when there is one.
    """
    limit = min(rules.max_extension_days, max_days_config)
    if extensions_done >= rules.max_extensions:
        raise OfferNotAllowed(
            plural(
                "Займ можно продлить не более {n} раза; продления исчерпаны.",
                "Займ можно продлить не более {n} раз; продления исчерпаны.",
                rules.max_extensions,
            )
        )
    if not 1 <= days <= limit:
        raise OfferNotAllowed(
            plural("Срок продления — от 1 до {n} дня.", "Срок продления — от 1 до {n} дней.", limit)
        )
    if balance.principal <= 0:
        raise OfferNotAllowed(N_("Займ погашен: продлевать нечего."))
    current = accrue(balance, on, rules)
    rate = current.daily_rate
    if rules.extension_daily_rate_max is not None:
        rate = min(rate, rules.extension_daily_rate_max)
    return ExtensionQuote(
        pay_now=current.interest + current.penalty,
        new_due=max(current.due, on) + timedelta(days=days),
        days=days,
        daily_rate=rate,
        extensions_after=extensions_done + 1,
    )


def extend(balance: Balance, quote: ExtensionQuote) -> Balance:
    """The balance once the extension is signed and its payment recorded."""
    return replace(balance, due=quote.new_due, daily_rate=quote.daily_rate)
