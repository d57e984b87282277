"""Staff decisions: each with a reason, each audited, each a conditional write.

Two staff members deciding the same request at once: the request's version
attribute makes exactly one write succeed; the other gets ``Conflict`` (409).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from chalicelib import clock, i18n
from chalicelib.adapters import crypto
from chalicelib.domain import accounts
from chalicelib.domain import requests as rules
from chalicelib.domain.accounts import AccountStatus
from chalicelib.domain.lending import LoanStatus
from chalicelib.errors import Conflict, Forbidden, NotFound
from chalicelib.i18n import N_, Msg
from chalicelib.logs import logger
from chalicelib.services import audit, notices, notifications
from chalicelib.services.desk import ROLE_FOR_TYPE
from chalicelib.services.forms import Form, string
from chalicelib.services.lending import open_guard
from chalicelib.services.requests import (
    check_no_unpaid_loans,
    load,
    request_context,
)
from chalicelib.services.sessions import Principal, end_all_sessions
from chalicelib.services.staff_accounts import SECURITY, SUPPORT
from chalicelib.storage import tx
from chalicelib.storage.accounts import (
    AccountModel,
    IdentifierModel,
    account_pii,
    identifier_guard,
    open_guard_key,
    seal_pii,
    update_with_login,
)
from chalicelib.storage.audit import AuditModel
from chalicelib.storage.loans import LoanModel, loans_of
from chalicelib.storage.requests import RequestModel

CONCURRENT = "Заявку уже рассмотрел другой сотрудник. Обновите страницу."
#: The shortest internal note (and the shortest reason of a lock or a loan decision).
NOTE_MIN = 5


def read_decision(data: dict[str, Any], allowed: tuple[str, ...], field: str) -> tuple[str, str]:
    """``(decision, reason)`` from a staff form; the reason is required (5–500 characters)."""
    form = Form(data, (field, "reason"))
    decision = form.field(field, string(32))
    reason = form.field("reason", string(500))
    if decision is not None and decision not in allowed:
        form.fail(field, "Допустимые значения: " + ", ".join(allowed) + ".")
    if reason is not None and len(reason) < 5:
        form.fail("reason", "Укажите причину решения (не короче 5 символов).")
    form.raise_if_invalid()
    assert decision is not None and reason is not None
    return decision, reason


def read_request_decision(
    data: dict[str, Any], request_type: str
) -> tuple[str, str | None, str | None]:
    """``(decision, what the borrower reads, internal note)`` from the desk's decision form.

    A rejection names a reason from the type's fixed list (``reason_code``): the
    borrower reads that reason's text, never staff's own words. The internal note
    (``note``; ``reason`` is its older name) goes to the audit entry only; it is
    required for approvals and resolutions (what was checked), optional for rejections.
    """
    form = Form(data, ("decision", "reason_code", "note", "reason"))
    decision = form.field("decision", string(32))
    allowed = _outcomes(request_type)
    if decision is not None and decision not in allowed:
        form.fail("decision", "Допустимые значения: " + ", ".join(allowed) + ".")
    if "note" in data and "reason" in data:
        form.fail("reason", "Укажите заметку в одном поле: note.")
    name = "reason" if "reason" in data else "note"
    rejecting = decision == rules.REJECTED
    note = form.field(name, string(500), required=not rejecting)
    if note is not None and len(note) < NOTE_MIN:
        form.fail(name, f"Внутренняя заметка — не короче {NOTE_MIN} символов.")
    reasons = rules.REJECTION_REASONS.get(request_type, {})
    code = form.field("reason_code", string(64), required=rejecting)
    borrower_text = None
    if code is not None:
        if not rejecting:
            form.fail("reason_code", "Причину из списка выбирают только при отказе.")
        elif code not in reasons:
            form.fail("reason_code", "Выберите причину отказа из списка.")
        else:
            borrower_text = reasons[code][1]
    form.raise_if_invalid()
    assert decision is not None
    return decision, borrower_text, note


def _staff_name(staff: Principal) -> str:
    return staff.account_id


def _check_role(staff: Principal, role: str) -> None:
    if role not in staff.roles:
        raise Forbidden()


def _account(account_id: str | None) -> AccountModel:
    if not account_id:
        raise NotFound("У заявки нет учётной записи.")
    try:
        return AccountModel.get(account_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound("Учётная запись не найдена.") from None


def _pii(account: AccountModel) -> dict[str, Any]:
    return account_pii(account)


def _closing_actions(status: str, reason: str | None, staff: Principal) -> list[Action]:
    """``reason``: what the borrower reads (rejections only); staff notes never go here."""
    moment = clock.iso(clock.now())
    return [
        RequestModel.status.set(status),
        RequestModel.queue.remove(),
        RequestModel.decision_reason.set(reason)
        if reason
        else RequestModel.decision_reason.remove(),
        RequestModel.decided_by.set(_staff_name(staff)),
        RequestModel.decided_at.set(moment),
        RequestModel.updated_at.set(moment),
    ]


def _open_guard(request: RequestModel) -> IdentifierModel:
    return IdentifierModel(lookup=open_guard_key(request.type, request.account_id or ""))


def decide(request_id: str, data: dict[str, Any], staff: Principal) -> dict[str, Any]:
    """Approve, reject or resolve a request under review.

    The decision, its audit entry and every state change commit in one
    transaction. What follows it (ending sessions, tagging or deleting photos,
    notices) is idempotent: when the same staff member repeats a decision that
    committed but did not finish (a timeout, a 503), the follow-ups run again and
    the answer is 200; anyone else gets 409.
    """
    request = load(request_id)
    _check_role(staff, ROLE_FOR_TYPE[request.type])
    decision, reason, note = read_request_decision(data, request.type)
    if request.status == decision and request.decided_by == _staff_name(staff):
        _FOLLOW_UPS[(request.type, decision)](request)
        return _done(request_id)
    if request.status != rules.IN_REVIEW:
        raise Conflict(CONCURRENT)
    rules.check_transition(request.type, request.status, decision)
    entry = audit.new_entry(
        _staff_name(staff),
        f"{request.type}_{decision}",
        request.account_id or "none",
        reason=reason,
        target=request_id,
        note=note,
    )
    _COMMITS[(request.type, decision)](request, reason, staff, entry)
    logger.info("request decided", extra={"request_id": request_id, "decision": decision})
    _FOLLOW_UPS[(request.type, decision)](load(request_id))
    return _done(request_id)


def _outcomes(request_type: str) -> tuple[str, ...]:
    return rules.decisions_for(request_type)


def _done(request_id: str) -> dict[str, Any]:
    from chalicelib.services.requests import view

    return view(load(request_id))


def _commit(tx_body: Callable[[tx.Write], None]) -> None:
    """Run a decision's transaction; a failed condition means someone else decided first."""
    with tx.write(on_cancel=Conflict(CONCURRENT)) as t:
        tx_body(t)


def _save_entry(t: tx.Write, entry: AuditModel) -> None:
    t.put(entry, condition=AuditModel.entry_id.does_not_exist())


def _commit_reject(
    request: RequestModel, reason: str | None, staff: Principal, entry: AuditModel
) -> None:
    def body(t: tx.Write) -> None:
        t.delete(_open_guard(request))
        _save_entry(t, entry)
        t.update(request, actions=_closing_actions(rules.REJECTED, reason, staff))

    _commit(body)


REJECTED_SMS = N_("Hava: заявка «{type}» отклонена. Причина: {reason}")
PHONE_CHANGED = N_(
    "Номер телефона вашего личного кабинета изменён. Если вы этого не делали, "
    "срочно свяжитесь со службой поддержки."
)
PHONE_CHANGED_SMS = N_(
    "Hava: номер телефона вашего личного кабинета изменён. Если вы этого не делали, "
    "срочно свяжитесь со службой поддержки."
)
PHONE_CHANGED_SUBJECT = N_("Изменён номер телефона")
NEW_PHONE_SMS = N_("Hava: теперь это номер вашего личного кабинета.")
DELETED = N_("Учётная запись Hava удалена по вашей заявке. Данные займов хранятся по закону.")
DELETED_SMS = N_(
    "Hava: учётная запись Hava удалена по вашей заявке. Данные займов хранятся по закону."
)
DELETED_SUBJECT = N_("Учётная запись удалена")


def _after_reject(request: RequestModel) -> None:
    _tag_documents(request)
    account = _account(request.account_id)
    notices.sms(
        _pii(account)["phone"],
        # The reason is a listed borrower text (domain/requests.py REJECTION_REASONS): a
        # catalogue entry, so Msg renders it in the account's language.
        Msg(
            REJECTED_SMS,
            type=rules.TYPE_RU[request.type],
            reason=Msg(request.decision_reason) if request.decision_reason else "",
        ),
        language=i18n.normalise(account.language),
    )


def _tag_documents(request: RequestModel) -> None:
    if request.type == rules.PHONE_CHANGE:
        from chalicelib.services import documents

        documents.mark_decided(request.request_id)


def _commit_phone_change(
    request: RequestModel, reason: str | None, staff: Principal, entry: AuditModel
) -> None:
    account = _account(request.account_id)
    pii = _pii(account)
    context = request_context(request.request_id)
    new_phone = crypto.unseal(request.details or "", context)["new_phone"]
    new_index = crypto.blind_index("phone", new_phone)
    # The old number is kept with the request (sealed) so the security notice to it
    # can still be sent when the follow-ups are finished on a retry.
    details = crypto.seal(
        {"new_phone": new_phone, "old_phone": pii["phone"], "email": pii["email"]}, context
    )
    pii["phone"] = new_phone
    sealed = seal_pii(account.account_id, pii)

    def body(t: tx.Write) -> None:
        t.put(
            identifier_guard(new_index, account),
            condition=IdentifierModel.lookup.does_not_exist(),
            on_fail=Conflict(
                "Новый номер за это время занял другой кабинет. Отклоните заявку с объяснением."
            ),
        )
        t.delete(
            IdentifierModel(lookup=account.phone_index),
            condition=IdentifierModel.account_id == account.account_id,
        )
        t.delete(_open_guard(request))
        _save_entry(t, entry)
        t.update(
            request,
            actions=[
                *_closing_actions(rules.APPROVED, reason, staff),
                RequestModel.details.set(details),
            ],
        )
        t.update(
            account,
            actions=[AccountModel.pii.set(sealed), AccountModel.phone_index.set(new_index)],
        )

    _commit(body)


def _after_phone_change(request: RequestModel) -> None:
    details = crypto.unseal(request.details or "", request_context(request.request_id))
    end_all_sessions(request.account_id or "")
    _tag_documents(request)
    language = notices.language_of(request.account_id or "")
    notices.sms(details["old_phone"], PHONE_CHANGED_SMS, language=language)
    notifications.enqueue(
        "email", details["email"], PHONE_CHANGED, PHONE_CHANGED_SUBJECT, language=language
    )
    notices.sms(details["new_phone"], NEW_PHONE_SMS, language=language)


def _commit_deletion(
    request: RequestModel, reason: str | None, staff: Principal, entry: AuditModel
) -> None:
    account = _account(request.account_id)
    check_no_unpaid_loans(account.account_id)  # re-checked at the moment of the decision
    pii = _pii(account)
    loans = loans_of(account.account_id)
    # The farewell's addresses ride in the request itself: this transaction erases the
    # account's copy, and the notices may go out only once it committed (a losing
    # concurrent decision must send nothing). ``_after_deletion`` sends and drops them.
    farewell = crypto.seal(
        {"phone": pii["phone"], "email": pii["email"]}, request_context(request.request_id)
    )

    def body(t: tx.Write) -> None:
        for index in (account.iin_index, account.phone_index, account.email_index):
            t.delete(
                IdentifierModel(lookup=index),
                condition=IdentifierModel.account_id == account.account_id,
            )
        t.delete(_open_guard(request))
        _save_entry(t, entry)
        t.update(
            request,
            actions=[
                *_closing_actions(rules.APPROVED, reason, staff),
                RequestModel.details.set(farewell),
            ],
        )
        # Personal data erased: the sealed blob, the blind indexes and the password go;
        # the account id stays only as the key that loan records (kept by law) point to.
        t.update(
            account,
            actions=[
                AccountModel.status.set(AccountStatus.DELETED),
                AccountModel.pii.set(""),
                AccountModel.iin_index.set(""),
                AccountModel.phone_index.set(""),
                AccountModel.email_index.set(""),
                AccountModel.password_hash.set("!"),
            ],
        )
        for loan in loans:
            if loan.status == LoanStatus.SUBMITTED:
                t.update(loan, actions=[LoanModel.status.set(LoanStatus.REJECTED)])
                t.delete(open_guard(account.account_id))

    _commit(body)


def _after_deletion(request: RequestModel) -> None:
    from chalicelib.services import documents

    account_id = request.account_id or ""
    requests_of_account = list(RequestModel.by_account.query(account_id))
    for other in requests_of_account:
        if other.request_id != request.request_id and (other.details or other.new_phone_index):
            _erase_request(other)
        if other.type == rules.PHONE_CHANGE:
            documents.delete_documents(other.request_id)
    end_all_sessions(account_id)
    if request.details:
        # Only after the commit; a retried decision resends it only if it was not dropped.
        to = crypto.unseal(request.details, request_context(request.request_id))
        language = notices.language_of(account_id)
        notices.sms(to["phone"], DELETED_SMS, language=language)
        notifications.enqueue("email", to["email"], DELETED, DELETED_SUBJECT, language=language)
        _erase_request(request)


def _erase_request(request: RequestModel) -> None:
    """Drop the personal details of a deleted borrower's other requests."""
    try:
        request.update(
            actions=[RequestModel.details.remove(), RequestModel.new_phone_index.remove()]
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            # A failed write, not a changed request: answer 503 so the retried
            # decision runs its follow-ups (and this erasure) again.
            raise
        logger.warning("request not erased", extra={"request_id": request.request_id})


def _commit_compromise(
    request: RequestModel, reason: str | None, staff: Principal, entry: AuditModel
) -> None:
    def body(t: tx.Write) -> None:
        _save_entry(t, entry)
        t.update(request, actions=_closing_actions(rules.RESOLVED, reason, staff))

    _commit(body)


def _nothing_after(_: RequestModel) -> None:
    return None


_COMMITS = {
    (rules.PHONE_CHANGE, rules.APPROVED): _commit_phone_change,
    (rules.PHONE_CHANGE, rules.REJECTED): _commit_reject,
    (rules.DELETION, rules.APPROVED): _commit_deletion,
    (rules.DELETION, rules.REJECTED): _commit_reject,
    (rules.COMPROMISE, rules.RESOLVED): _commit_compromise,
}
_FOLLOW_UPS = {
    (rules.PHONE_CHANGE, rules.APPROVED): _after_phone_change,
    (rules.PHONE_CHANGE, rules.REJECTED): _after_reject,
    (rules.DELETION, rules.APPROVED): _after_deletion,
    (rules.DELETION, rules.REJECTED): _after_reject,
    (rules.COMPROMISE, rules.RESOLVED): _nothing_after,
}


# --- accounts and loans ----------------------------------------------------------


def lock_account(account_id: str, data: dict[str, Any], staff: Principal) -> dict[str, Any]:
    """Security: lock sign-in, end every session, require a new password."""
    _check_role(staff, SECURITY)
    reason = _reason(data)
    account = _account(account_id)
    accounts.check_transition(account.status, AccountStatus.LOCKED)
    with tx.write() as t:
        update_with_login(
            t,
            account,
            lambda m: [m.status.set(AccountStatus.LOCKED), m.must_change_password.set(True)],
            add_version_condition=True,
        )
    end_all_sessions(account_id)
    audit.record(_staff_name(staff), "account_locked", account_id, reason=reason)
    return {"account_id": account_id, "status": AccountStatus.LOCKED, "must_change_password": True}


def unlock_account(account_id: str, data: dict[str, Any], staff: Principal) -> dict[str, Any]:
    """Security: allow sign-in again, but only after recovery by SMS code.

    The password that was known while the account was locked proves nothing: unlocking
    (re)sets ``must_change_password`` and ends any session, so the next way in is the
    code sent to the phone of record (``services.recovery``).
    """
    _check_role(staff, SECURITY)
    reason = _reason(data)
    account = _account(account_id)
    if account.status != AccountStatus.LOCKED:
        raise Conflict("Учётная запись не заблокирована.")
    with tx.write() as t:
        update_with_login(
            t,
            account,
            lambda m: [m.status.set(AccountStatus.ACTIVE), m.must_change_password.set(True)],
            add_version_condition=True,
        )
    end_all_sessions(account_id)
    audit.record(_staff_name(staff), "account_unlocked", account_id, reason=reason)
    return {"account_id": account_id, "status": AccountStatus.ACTIVE, "must_change_password": True}


def _reason(data: dict[str, Any]) -> str:
    form = Form(data, ("reason",))
    reason = form.field("reason", string(500))
    if reason is not None and len(reason) < 5:
        form.fail("reason", "Укажите причину (не короче 5 символов).")
    form.raise_if_invalid()
    assert reason is not None
    return reason


def decide_loan(
    account_id: str, loan_id: str, data: dict[str, Any], staff: Principal
) -> dict[str, Any]:
    """Support: approve or reject an application ({status, reason}); the loan desk's
    own routes (``services.lending``) do the rest of the loan's life."""
    from chalicelib.services import lending

    _check_role(staff, SUPPORT)
    loan = lending.load(account_id, loan_id)
    if loan.status != LoanStatus.SUBMITTED:
        raise Conflict("По этой заявке решение уже принято.")
    status, reason = read_decision(data, ("approved", "rejected"), "status")
    decision = {"approved": "approve", "rejected": "reject"}[status]
    return lending.decide(account_id, loan_id, {"decision": decision, "reason": reason}, staff)
