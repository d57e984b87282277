"""The loan's life in the cabinet and on the staff desk: apply, decide, sign, pay out,
accrue, repay, extend. Money rules live in ``domain.lending``; this module stores.

Invariants DynamoDB enforces (never a read-then-write):

- one open loan per account: the guard item ``open#loan#<account>`` in
  ``hava-identifiers`` is put with ``attribute_not_exists`` in the transaction that
  files the application, and deleted in the one that closes it (rejected, repaid);
- a bank reference is recorded once: the guard ``payment#<keyed hash>`` is put with
  ``attribute_not_exists`` in the same transaction as the payment item and the loan
  update, which carries the loan's version condition — two staff members recording at
  once both recompute from the fresh loan, or one is told it is already recorded.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock, i18n
from chalicelib.adapters import crypto
from chalicelib.config import Settings, get_settings
from chalicelib.domain import calculator, lending, regulation
from chalicelib.domain.accounts import AccountStatus
from chalicelib.domain.iban import bank_for, format_iban
from chalicelib.domain.iin import mask_iin
from chalicelib.domain.lending import LoanStatus, Rules
from chalicelib.domain.regulation import format_tenge
from chalicelib.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from chalicelib.formats import LongDate, Money
from chalicelib.i18n import N_, Msg
from chalicelib.logs import logger
from chalicelib.services import audit, notices, notifications
from chalicelib.services.forms import Form, integer, string
from chalicelib.services.sessions import Principal
from chalicelib.storage import tx
from chalicelib.storage.accounts import (
    AccountModel,
    IdentifierModel,
    account_pii,
    claim_marker,
    open_guard_key,
    payment_guard_key,
    reminder_guard_key,
)
from chalicelib.storage.audit import AuditModel
from chalicelib.storage.base import sortable_id
from chalicelib.storage.loans import (
    LoanModel,
    PaymentModel,
    account_items,
    loan_of_payment,
    payment_key,
)

MONEY = Decimal("0.01")
REPAYMENT = "repayment"
EXTENSION = "extension"
PAGE_SIZE = 25
CONCURRENT = N_("Займ уже изменил другой сотрудник. Обновите страницу.")


class _AlreadyOpen(Exception):
    """The account's one-open-loan guard is taken."""


class _ReferenceUsed(Exception):
    """The bank document's reference guard is taken (recorded before, on some loan)."""


class _ChangedMeanwhile(Exception):
    """The loan changed since it was read: recompute from the fresh one."""


#: ``domain.regulation``'s allocation buckets → ``domain.lending.Balance`` components.
_BUCKETS = {
    "overdue_principal": "principal_overdue",
    "overdue_interest": "interest_overdue",
    "penalty": "penalty",
    "current_principal": "principal",
    "current_interest": "interest",
}


def rules_on(on: date, settings: Settings | None = None) -> Rules:
    """The money rules in force on ``on``: dated regulation plus this stage's contract terms.

    The contract's penalty rate (``HAVA_LOAN_PENALTY_DAILY_RATE``) is checked against
    the cap in force (``OfferNotAllowed`` when configured above it); the lender's
    collection costs are never charged here, so that bucket is left out.
    """

    settings = settings or get_settings()
    law = regulation.rules_on(on)
    regulation.check_penalty(settings.loan_penalty_daily_rate, on)
    return Rules(
        penalty_daily_rate=settings.loan_penalty_daily_rate,
        penalty_max_days=law.penalty_max_days,
        overpayment_cap=law.overpayment_max_fraction,
        allocation=tuple(_BUCKETS[b] for b in law.allocation_order if b in _BUCKETS),
        free_early_days=law.interest_free_return_days,
        max_extensions=law.max_extensions,
        max_extension_days=law.extension_max_days,
        extension_daily_rate_max=law.extension_daily_rate_max,
    )


def open_guard(account_id: str) -> IdentifierModel:
    """The guard item that makes "one open loan per account" a DynamoDB condition."""
    return IdentifierModel(lookup=open_guard_key("loan", account_id), account_id=account_id)


def _reference_guard(reference_index: str, account_id: str) -> IdentifierModel:
    return IdentifierModel(lookup=payment_guard_key(reference_index), account_id=account_id)


def product_for(settings: Settings, repeat: bool) -> calculator.Product:
    """The product: repeat borrowers may borrow more (``loan_repeat_max_amount``)."""
    return calculator.Product(
        min_amount=settings.loan_min_amount,
        max_amount=settings.loan_repeat_max_amount if repeat else settings.loan_max_amount,
        min_term_days=settings.loan_min_term_days,
        max_term_days=settings.loan_max_term_days,
        daily_rate=settings.loan_daily_rate,
    )


def new_loan(account_id: str, offer: calculator.Quote, created: str, repeat: bool) -> LoanModel:
    """An application item (not saved) for a priced offer."""
    return LoanModel(
        account_id=account_id,
        loan_id=sortable_id(created),
        status=LoanStatus.SUBMITTED.value,
        amount=offer.amount,
        term_days=offer.term_days,
        daily_rate=str(offer.daily_rate),
        interest=str(offer.interest),
        total=str(offer.total),
        gesv_percent=str(offer.gesv_percent),
        created_at=created,
        repeat=repeat,
    )


OPEN_LOAN = N_(
    "У вас уже есть {what} на {amount} от {created}. Новую заявку можно подать после её закрытия."
)


def _open_message(loan: LoanModel) -> str:
    status = LoanStatus(loan.status)
    return Msg(
        OPEN_LOAN,
        what=lending.OPEN_RU[status],
        amount=regulation_tenge(loan.amount),
        created=loan.created_at[:10],
    )


def regulation_tenge(amount: Any) -> str:

    return format_tenge(Decimal(str(amount)))


def _account(account_id: str) -> AccountModel:
    try:
        return AccountModel.get(account_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound(N_("Учётная запись не найдена.")) from None


def _phone(account: AccountModel) -> str:
    pii = account_pii(account)
    return str(pii["phone"])


APPROVED_SMS = N_(
    "Hava: заявка на займ {amount} одобрена. Укажите счёт для перечисления и подпишите "
    "договор в личном кабинете."
)
REJECTED_SMS = N_("Hava: по заявке на займ {amount} принято отрицательное решение.")
# No full stop after {due}: the Russian date ends with «г.» itself.
ISSUED_SMS = N_(
    "Hava: займ {amount} перечислен на ваш счёт. Сумма к возврату — в личном кабинете, "
    "вернуть до {due}"
)
REPAID_SMS = N_("Hava: займ {amount} погашен полностью. Спасибо!")
PAYMENT_SMS = N_("Hava: получен платёж {paid} по займу. Осталось к оплате {owed}.")


def _tell(account_id: str, text: str) -> None:
    """A notice of a staff action on the loan (decision, payout, payment), in the account's
    language (``text``: a Russian msgid or ``i18n.Msg``).

    Queued directly, not through the anti-pumping notice budgets (``services.notices``):
    only staff actions send these, nobody outside can make them multiply, and a dropped
    payment confirmation would hurt the borrower. Reminders and codes are budgeted.
    """
    try:
        account = _account(account_id)
        notifications.enqueue(
            "sms", _phone(account), text, language=i18n.normalise(account.language)
        )
    except NotFound:
        logger.warning("loan notice not sent", extra={"account_id": account_id})


# --- Repeat application -------------------------------------------------------------------


def apply(principal: Principal, data: Mapping[str, Any]) -> dict[str, Any]:
    """File an application for a signed-in borrower (``POST /v1/me/loans``)."""
    form = Form(data, ("amount", "term_days"))
    amount = form.field("amount", integer)
    term = form.field("term_days", integer)
    form.raise_if_invalid()
    settings = get_settings()
    account = _account(principal.account_id)
    if account.status != AccountStatus.ACTIVE:
        raise Forbidden(N_("Учётная запись ограничена: подать заявку сейчас нельзя."))
    loans, _ = account_items(principal.account_id)
    repeat = any(loan.status == LoanStatus.REPAID for loan in loans)
    offer = calculator.quote(amount, term, product_for(settings, repeat), clock.today_kz())

    regulation.check_contract_terms(
        offer.amount, offer.interest, settings.loan_penalty_daily_rate, clock.today_kz()
    )
    created = clock.iso(clock.now())
    loan = new_loan(principal.account_id, offer, created, repeat)
    entry = audit.new_entry(principal.account_id, "loan_applied", principal.account_id)
    entry.target = loan.loan_id
    try:
        with tx.write() as t:
            t.put(
                open_guard(principal.account_id),
                condition=IdentifierModel.lookup.does_not_exist(),
                on_fail=_AlreadyOpen,
            )
            t.put(loan, condition=LoanModel.loan_id.does_not_exist())
            t.put(entry, condition=AuditModel.entry_id.does_not_exist())
    except _AlreadyOpen as exc:
        open_loans = [ln for ln in loans if ln.status in lending.OPEN]
        if not open_loans:
            open_loans = [
                ln for ln in account_items(principal.account_id)[0] if ln.status in lending.OPEN
            ]
        if open_loans:
            raise Conflict(_open_message(open_loans[-1])) from exc
        raise Conflict(N_("У вас уже есть открытая заявка или займ.")) from exc
    logger.info("loan applied", extra={"account_id": principal.account_id, "loan_id": loan.loan_id})
    return view(loan, [], clock.today_kz())


# --- What the cabinet shows -----------------------------------------------------------------


def balance_of(loan: LoanModel) -> lending.Balance | None:
    """The stored balance of an issued loan (None before issue)."""
    if not loan.issue_date or loan.principal_due is None:
        return None
    d = Decimal
    return lending.Balance(
        original=d(str(loan.amount)).quantize(MONEY),
        principal=d(loan.principal_due),
        interest=d(loan.interest_due or "0"),
        penalty=d(loan.penalty_due or "0"),
        charged=d(loan.charged or "0"),
        daily_rate=d(loan.accrual_rate or loan.daily_rate),
        issue_date=date.fromisoformat(loan.issue_date),
        due=date.fromisoformat(loan.due_date or loan.issue_date),
        through=date.fromisoformat(loan.accrued_through or loan.issue_date),
        principal_paid=d(loan.principal_paid or "0"),
        interest_paid=d(loan.interest_paid or "0"),
        penalty_paid=d(loan.penalty_paid or "0"),
        interest_waived=d(loan.interest_waived or "0"),
    )


def _money(value: Decimal) -> str:
    return format(value.quantize(MONEY), "f")


def payment_view(payment: PaymentModel) -> dict[str, Any]:
    return {
        "paid_on": payment.paid_on,
        "amount": payment.amount,
        "kind": payment.kind,
        "to_principal": payment.to_principal,
        "to_interest": payment.to_interest,
        "to_penalty": payment.to_penalty,
        "change": payment.change,
    }


def view(loan: LoanModel, payments: list[PaymentModel], today: date) -> dict[str, Any]:
    """One loan as the cabinet and the desk show it, with today's figures once issued."""
    status = LoanStatus(loan.status)
    result: dict[str, Any] = {
        "loan_id": loan.loan_id,
        "status": status.value,
        "status_text": lending.STATUS_RU[status],
        "amount": int(loan.amount),
        "term_days": int(loan.term_days),
        "daily_rate_percent": format((Decimal(loan.daily_rate) * 100).normalize(), "f"),
        "interest": loan.interest,
        "total_to_repay": loan.total,
        "gesv_percent": loan.gesv_percent,
        "created_at": loan.created_at,
        "due_date": loan.due_date,
        "payout_account_set": loan.payout_account is not None,
        "payout_bank": loan.payout_bank,
        "signed_at": loan.signed_at,
        "issue_date": loan.issue_date,
        "extensions": int(loan.extensions or 0),
        "payments": [payment_view(p) for p in payments],
        "paid_total": loan.paid_total or "0.00",
    }
    if status == LoanStatus.REJECTED:
        result["decision_reason"] = loan.decision_reason
    balance = balance_of(loan)
    if balance is not None and status in lending.OUTSTANDING:
        rules = rules_on(today)
        current = lending.accrue(balance, today, rules)
        result.update(
            owed_today=_money(current.owed),
            principal_owed=_money(current.principal),
            interest_owed=_money(current.interest),
            penalty_owed=_money(current.penalty),
            days_left=(current.due - today).days,
            days_overdue=lending.days_overdue(current, today),
            early_repayment_today=_money(lending.early_repayment_cost(balance, today, rules)),
            accrual_rate_percent=format((current.daily_rate * 100).normalize(), "f"),
        )
    if loan.payment_reference and status in lending.OUTSTANDING:
        result["repayment_details"] = repayment_details(loan)
    return result


def repayment_details(loan: LoanModel) -> dict[str, Any]:
    """Where the borrower pays: the lender's account and this loan's unique reference."""

    settings = get_settings()
    bank = bank_for(settings.lender_iban)
    return {
        "recipient": settings.lender_name_ru,
        "bin": settings.lender_bin,
        "iban": format_iban(settings.lender_iban),
        "bank": bank.name_ru if bank else None,
        "payment_reference": loan.payment_reference,
    }


def my_loans(account_id: str) -> list[dict[str, Any]]:
    """The borrower's loans, newest first, each with its payments: one Query."""
    loans, payments = account_items(account_id)
    by_loan: dict[str, list[PaymentModel]] = {}
    for payment in payments:
        by_loan.setdefault(loan_of_payment(payment), []).append(payment)
    today = clock.today_kz()
    return [view(loan, by_loan.get(loan.loan_id, []), today) for loan in reversed(loans)]


# --- Staff desk -------------------------------------------------------------------------------


def load(account_id: str, loan_id: str) -> LoanModel:
    if "#" in loan_id:
        raise NotFound(N_("Займ не найден."))
    try:
        return LoanModel.get(account_id, loan_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound(N_("Займ не найден.")) from None


def _read_reason(data: Mapping[str, Any], required: bool) -> str | None:
    form = Form(data, ("reason",))
    reason = form.field("reason", string(500), required=required)
    if required and reason is not None and len(reason) < 5:
        form.fail("reason", N_("Укажите причину (не короче 5 символов)."))
    form.raise_if_invalid()
    return reason


def _audited_update(
    loan: LoanModel,
    actions: list[Any],
    entry: AuditModel,
    *,
    close: bool = False,
) -> None:
    concurrent = Conflict(CONCURRENT)
    with tx.write() as t:
        if close:
            t.delete(open_guard(loan.account_id))
        t.put(entry, condition=AuditModel.entry_id.does_not_exist(), on_fail=concurrent)
        t.update(loan, actions=actions, on_fail=concurrent)


def decide(
    account_id: str, loan_id: str, data: Mapping[str, Any], staff: Principal
) -> dict[str, Any]:
    """Approve (the offer goes to the borrower) or reject (with a reason) an application."""
    form = Form(data, ("decision", "reason"))
    decision = form.field("decision", string(16))
    reason = form.field("reason", string(500), required=False)
    if decision not in ("approve", "reject"):
        form.fail("decision", N_("Допустимые значения: approve, reject."))
    if decision == "reject" and (reason is None or len(reason) < 5):
        form.fail("reason", N_("Укажите причину отказа (не короче 5 символов)."))
    form.raise_if_invalid()
    loan = load(account_id, loan_id)
    new = LoanStatus.APPROVED if decision == "approve" else LoanStatus.REJECTED
    lending.check_transition(loan.status, new)
    entry = audit.new_entry(staff.account_id, f"loan_{new.value}", account_id, reason=reason)
    entry.target = loan_id
    moment = clock.iso(clock.now())
    actions = [
        LoanModel.status.set(new.value),
        LoanModel.decided_at.set(moment),
    ]
    if reason:
        actions.append(LoanModel.decision_reason.set(reason))
    _audited_update(loan, actions, entry, close=new == LoanStatus.REJECTED)
    if new == LoanStatus.APPROVED:
        _tell(account_id, Msg(APPROVED_SMS, amount=Money(int(loan.amount))))
    else:
        _tell(account_id, Msg(REJECTED_SMS, amount=Money(int(loan.amount))))
    return view(load(account_id, loan_id), [], clock.today_kz())


def payment_reference(loan: LoanModel) -> str:
    """A reference the borrower puts in the transfer: unique per loan, no personal data."""
    return f"HV-{loan.loan_id[:8]}-{secrets.token_hex(3).upper()}"


def record_payout(
    account_id: str, loan_id: str, data: Mapping[str, Any], staff: Principal
) -> dict[str, Any]:
    """The money was sent (transfer reference): the loan is issued and starts accruing."""
    form = Form(data, ("transfer_reference",))
    reference = form.field("transfer_reference", string(64))
    if reference is not None and len(reference) < 3:
        form.fail("transfer_reference", N_("Укажите номер платёжного поручения."))
    form.raise_if_invalid()
    assert reference is not None
    loan = load(account_id, loan_id)
    lending.check_transition(loan.status, LoanStatus.ISSUED)
    if loan.payout_account is None:
        raise Conflict(N_("Заёмщик ещё не указал счёт для перечисления."))
    issued = clock.today_kz()
    balance = lending.open_balance(
        int(loan.amount), Decimal(loan.daily_rate), issued, int(loan.term_days)
    )
    entry = audit.new_entry(staff.account_id, "loan_issued", account_id, reason=reference)
    entry.target = loan_id
    actions = [
        LoanModel.status.set(LoanStatus.ISSUED.value),
        LoanModel.due_status.set(LoanStatus.ISSUED.value),
        LoanModel.issue_date.set(issued.isoformat()),
        LoanModel.payout_reference.set(reference),
        LoanModel.payment_reference.set(loan.payment_reference or payment_reference(loan)),
        *_balance_actions(balance),
        LoanModel.paid_total.set("0.00"),
        LoanModel.payments_count.set(0),
        LoanModel.extensions.set(0),
    ]
    _audited_update(loan, actions, entry)
    _tell(
        account_id,
        Msg(ISSUED_SMS, amount=Money(int(loan.amount)), due=LongDate(balance.due)),
    )
    return view(load(account_id, loan_id), [], issued)


def _balance_actions(balance: lending.Balance) -> list[Any]:
    return [
        LoanModel.principal_due.set(_money(balance.principal)),
        LoanModel.interest_due.set(_money(balance.interest)),
        LoanModel.penalty_due.set(_money(balance.penalty)),
        LoanModel.charged.set(_money(balance.charged)),
        LoanModel.accrued_through.set(balance.through.isoformat()),
        LoanModel.principal_paid.set(_money(balance.principal_paid)),
        LoanModel.interest_paid.set(_money(balance.interest_paid)),
        LoanModel.penalty_paid.set(_money(balance.penalty_paid)),
        LoanModel.interest_waived.set(_money(balance.interest_waived)),
        LoanModel.due_date.set(balance.due.isoformat()),
        LoanModel.accrual_rate.set(str(balance.daily_rate)),
    ]


def _read_payment(data: Mapping[str, Any]) -> tuple[Decimal, date, str]:
    form = Form(data, ("amount", "paid_on", "bank_reference"))
    raw_amount = form.field("amount", string(20))
    raw_date = form.field("paid_on", string(10))
    reference = form.field("bank_reference", string(64))
    amount = Decimal(0)
    paid_on = clock.today_kz()
    if raw_amount is not None:
        try:
            amount = Decimal(raw_amount.replace(",", ".").replace(" ", ""))
        except InvalidOperation:
            amount = Decimal(0)
        if not amount.is_finite() or amount <= 0 or amount != amount.quantize(MONEY):
            form.fail("amount", N_("Укажите сумму в тенге, например 12500.00."))
    if raw_date is not None:
        try:
            paid_on = date.fromisoformat(raw_date)
        except ValueError:
            form.fail("paid_on", N_("Укажите дату платежа в формате ГГГГ-ММ-ДД."))
        else:
            if paid_on > clock.today_kz():
                form.fail("paid_on", N_("Дата платежа не может быть в будущем."))
    if reference is not None and len(reference.strip()) < 3:
        form.fail("bank_reference", N_("Укажите номер банковского документа."))
    form.raise_if_invalid()
    assert reference is not None
    return amount, paid_on, reference.strip()


def record_payment(
    account_id: str,
    loan_id: str,
    data: Mapping[str, Any],
    staff: Principal,
    *,
    kind: str = REPAYMENT,
) -> dict[str, Any]:
    """Record one payment from the bank statement; idempotent per bank reference.

    Answers ``{"recorded": true|false, "loan": …}``: false when that bank reference was
    already recorded for this loan (a retry), 409 when it was recorded for another.
    """
    amount, paid_on, reference = _read_payment(data)
    reference_index = crypto.blind_index("bank_reference", reference)
    for _ in range(5):
        loan = load(account_id, loan_id)
        status = LoanStatus(loan.status)
        balance = balance_of(loan)
        if status not in lending.OUTSTANDING or balance is None:
            if _already_recorded(reference_index, account_id, loan_id):
                return {"recorded": False, "loan": view(loan, [], clock.today_kz())}
            raise Conflict(N_("Этот займ не ожидает платежей."))
        if paid_on < balance.through:
            raise ValidationFailed(
                {"paid_on": N_("Дата платежа раньше уже учтённых платежей по этому займу.")}
            )
        rules = rules_on(paid_on)
        is_extension = kind == EXTENSION
        split = lending.allocate(balance, amount, paid_on, rules, interest_first=is_extension)
        after = split.balance
        moment = clock.iso(clock.now())
        payment = PaymentModel(
            account_id=account_id,
            loan_id=payment_key(loan_id, sortable_id(moment)),
            amount=_money(amount),
            paid_on=paid_on.isoformat(),
            reference_index=reference_index,
            kind=kind,
            to_principal=_money(split.principal),
            to_interest=_money(split.interest),
            to_penalty=_money(split.penalty),
            change=_money(split.change),
            recorded_by=staff.account_id,
            recorded_at=moment,
        )
        actions = [
            *_balance_actions(after),
            LoanModel.paid_total.set(_money(Decimal(loan.paid_total or "0") + amount)),
            LoanModel.payments_count.set(int(loan.payments_count or 0) + 1),
        ]
        closes = split.repaid
        if closes:
            actions += [
                LoanModel.status.set(LoanStatus.REPAID.value),
                LoanModel.due_status.remove(),
                LoanModel.closed_at.set(moment),
                LoanModel.pending_extension.remove(),
            ]
        elif is_extension:
            extended, extra = _extension_actions(loan, split)
            if extended is not None:
                after = extended
                actions = [*_balance_actions(after), *actions[len(_balance_actions(after)) :]]
                actions += extra
        entry = audit.new_entry(
            staff.account_id, f"loan_payment_{kind}", account_id, reason=_money(amount)
        )
        entry.target = loan_id
        try:
            with tx.write(on_cancel=_ChangedMeanwhile) as t:
                t.put(
                    _reference_guard(reference_index, account_id),
                    condition=IdentifierModel.lookup.does_not_exist(),
                    on_fail=_ReferenceUsed,
                )
                if closes:
                    t.delete(open_guard(account_id))
                t.put(payment, condition=PaymentModel.loan_id.does_not_exist())
                t.put(entry, condition=AuditModel.entry_id.does_not_exist())
                t.update(loan, actions=actions)
        except _ReferenceUsed as exc:
            if _already_recorded(reference_index, account_id, loan_id):
                return {
                    "recorded": False,
                    "loan": view(load(account_id, loan_id), [], clock.today_kz()),
                }
            raise Conflict(
                N_("Платёж с этим банковским документом уже учтён по другому займу.")
            ) from exc
        except _ChangedMeanwhile:
            continue  # someone else changed the loan: recompute from the fresh one
        logger.info("loan payment recorded", extra={"account_id": account_id, "loan_id": loan_id})
        _payment_notice(loan, amount, after, closes)
        return {"recorded": True, "loan": view(load(account_id, loan_id), [], clock.today_kz())}
    raise Conflict(CONCURRENT)


def _extension_actions(
    loan: LoanModel, split: lending.Allocation
) -> tuple[lending.Balance | None, list[Any]]:
    """A signed extension takes effect once its payment covers the interest it asked:
    the extended balance (new due date and rate) and the other actions it needs."""
    pending = json.loads(loan.pending_extension) if loan.pending_extension else None
    if not pending or not pending.get("signed"):
        return None, []
    quote = lending.ExtensionQuote(
        pay_now=Decimal(pending["pay_now"]),
        new_due=date.fromisoformat(pending["new_due"]),
        days=int(pending["days"]),
        daily_rate=Decimal(pending["rate"]),
        extensions_after=int(loan.extensions or 0) + 1,
    )
    if split.interest + split.penalty < quote.pay_now:
        return None, []
    extended = lending.extend(split.balance, quote)
    return extended, [
        LoanModel.extensions.set(quote.extensions_after),
        LoanModel.pending_extension.remove(),
        LoanModel.status.set(LoanStatus.ISSUED.value),
        LoanModel.due_status.set(LoanStatus.ISSUED.value),
    ]


def _payment_notice(loan: LoanModel, amount: Decimal, after: lending.Balance, closes: bool) -> None:
    if closes:
        _tell(loan.account_id, Msg(REPAID_SMS, amount=Money(int(loan.amount))))
        return
    today = clock.today_kz()
    owed = lending.accrue(after, today, rules_on(today)).owed
    _tell(loan.account_id, Msg(PAYMENT_SMS, paid=Money(amount), owed=Money(owed)))


def _already_recorded(reference_index: str, account_id: str, loan_id: str) -> bool:
    """Whether this bank reference is a payment of this very loan (a retried recording)."""
    _, payments = account_items(account_id)
    return any(
        p.reference_index == reference_index and loan_of_payment(p) == loan_id for p in payments
    )


def desk_page(queue: str, cursor: str | None, staff: Principal | None = None) -> dict[str, Any]:
    """One page of a desk list, oldest first: one Query on ``by_status``."""
    statuses = {
        "applications": LoanStatus.SUBMITTED,
        "awaiting_payout": LoanStatus.SIGNED,
        "awaiting_signature": LoanStatus.APPROVED,
        "payments": LoanStatus.ISSUED,
        "overdue": LoanStatus.OVERDUE,
    }
    if queue not in statuses:
        raise ValidationFailed({"queue": "Укажите список: " + ", ".join(statuses) + "."})
    status = statuses[queue]
    start = None
    if cursor:
        try:
            account_id, loan_id, created_at = json.loads(crypto_b64decode(cursor))
            start = {
                "account_id": {"S": account_id},
                "loan_id": {"S": loan_id},
                "status": {"S": status.value},
                "created_at": {"S": created_at},
            }
        except (ValueError, TypeError):
            raise ValidationFailed({"cursor": N_("Неверный курсор.")}) from None
    result = LoanModel.by_status.query(
        status.value, limit=PAGE_SIZE, last_evaluated_key=start, scan_index_forward=True
    )
    items = list(result)
    today = clock.today_kz()
    last = result.last_evaluated_key
    next_cursor = None
    if last and items:
        tail = items[-1]
        next_cursor = crypto_b64encode(json.dumps([tail.account_id, tail.loan_id, tail.created_at]))
    rows = [{"account_id": ln.account_id, **view(ln, [], today)} for ln in items]
    if status == LoanStatus.SIGNED and staff is not None:
        # The payout needs the account beside the person: audited before it is shown.
        for row, loan in zip(rows, items, strict=True):
            audit.record(
                staff.account_id, "loan_payout_account_viewed", loan.account_id, target=loan.loan_id
            )
            row.update(_payout_view(loan))
    return {"queue": queue, "items": rows, "next_cursor": next_cursor}


def _payout_view(loan: LoanModel) -> dict[str, Any]:

    account = _account(loan.account_id)
    pii = account_pii(account)
    payout = (
        crypto.unseal(
            loan.payout_account,
            {"purpose": "loan", "account_id": loan.account_id, "loan_id": loan.loan_id},
        )
        if loan.payout_account
        else {}
    )
    name = " ".join(p for p in (pii.get("surname"), pii.get("name"), pii.get("patronymic")) if p)
    return {
        "borrower_name": name,
        "borrower_iin": mask_iin(pii["iin"]),
        "payout_iban": format_iban(payout["iban"]) if payout.get("iban") else None,
    }


def crypto_b64encode(text: str) -> str:

    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def crypto_b64decode(text: str) -> str:

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


# --- The daily schedule -----------------------------------------------------------------------


def mark_overdue(today: date | None = None) -> int:
    """Move issued loans whose due date has passed to overdue (Query on ``by_due``)."""
    today = today or clock.today_kz()
    moved = 0
    keys = list(
        LoanModel.by_due.query(LoanStatus.ISSUED.value, LoanModel.due_date < today.isoformat())
    )
    for key in keys:
        loan = load(key.account_id, key.loan_id)
        if loan.status != LoanStatus.ISSUED or (loan.due_date or "") >= today.isoformat():
            continue
        entry = audit.new_entry(audit.SYSTEM, "loan_overdue", loan.account_id)
        entry.target = loan.loan_id
        try:
            _audited_update(
                loan,
                [
                    LoanModel.status.set(LoanStatus.OVERDUE.value),
                    LoanModel.due_status.set(LoanStatus.OVERDUE.value),
                ],
                entry,
            )
            moved += 1
        except Conflict:
            continue  # a payment landed meanwhile; the next run looks again
    logger.info("overdue run", extra={"moved": moved})
    return moved


#: Reminder texts by days before the due date (-1: the first overdue day); Russian msgids,
#: the Kazakh ones are in ``locale/kk`` (``{due}``, ``{owed}`` formatted per language).
REMINDERS_RU = {
    3: N_(
        "Hava: через 3 дня, {due}, срок возврата займа. К оплате сегодня {owed}. "
        "Реквизиты и продление — в личном кабинете."
    ),
    1: N_("Hava: завтра, {due}, срок возврата займа. К оплате сегодня {owed}."),
    0: N_("Hava: сегодня, {due}, срок возврата займа. К оплате {owed}."),
    -1: N_(
        "Hava: займ просрочен с {overdue_from}, начисляется неустойка. К оплате {owed}. "
        "Погасите или продлите займ в личном кабинете."
    ),
}


def reminders_due(moment: datetime | None = None) -> int:
    """Send today's reminders (3 and 1 days before, on the due date, first overdue day).

    Only between ``reminder_from_hour`` and ``reminder_to_hour`` Asia/Almaty; each one
    is claimed by a marker item put with ``attribute_not_exists`` before it is queued,
    so a schedule that runs twice sends nothing twice.
    """
    settings = get_settings()
    local = (moment or clock.now()).astimezone(clock.KZ_TZ)
    if not settings.reminder_from_hour <= local.hour < settings.reminder_to_hour:
        return 0
    today = local.date()
    sent = 0
    targets = [(LoanStatus.ISSUED, today + timedelta(days=d), d) for d in (3, 1, 0)]
    targets.append((LoanStatus.OVERDUE, today - timedelta(days=1), -1))
    targets.append((LoanStatus.ISSUED, today - timedelta(days=1), -1))  # before the overdue run
    for status, due, offset in targets:
        keys = list(LoanModel.by_due.query(status.value, LoanModel.due_date == due.isoformat()))
        for key in keys:
            if _claim_reminder(key.account_id, key.loan_id, due, offset):
                sent += _send_reminder(key.account_id, key.loan_id, today, offset)
    return sent


def _claim_reminder(account_id: str, loan_id: str, due: date, offset: int) -> bool:
    """This reminder's one-time marker; False when an earlier run already sent it."""
    return claim_marker(reminder_guard_key(loan_id, due.isoformat(), offset), account_id)


def _send_reminder(account_id: str, loan_id: str, today: date, offset: int) -> int:
    loan = load(account_id, loan_id)
    balance = balance_of(loan)
    if balance is None or LoanStatus(loan.status) not in lending.OUTSTANDING:
        return 0
    owed = lending.accrue(balance, today, rules_on(today)).owed
    account = _account(account_id)
    text = Msg(
        REMINDERS_RU[offset],
        due=LongDate(balance.due),
        owed=Money(owed),
        overdue_from=LongDate(balance.due + timedelta(days=1)),
    )

    # Within the notice budgets of the number and the service (a hit drops it, logged).
    language = i18n.normalise(account.language)
    if notices.sms(_phone(account), text, language=language) != "queued":
        logger.warning("reminder not queued", extra={"loan_id": loan_id})
        return 0
    return 1
