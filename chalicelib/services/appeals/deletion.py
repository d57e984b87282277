"""Account deletion: a borrower's appeal («обращение») to erase the account.

Filed with the password, refused while a loan is unpaid (checked again at the
decision). Approval erases the personal data in one transaction (the account id
stays: loan records kept by law point to it), then ends sessions, deletes the
photos of every phone change and drops the details of the account's other appeals.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib import i18n
from chalicelib.adapters import crypto
from chalicelib.domain import appeals as rules
from chalicelib.domain.accounts import AccountStatus
from chalicelib.domain.lending import LoanStatus
from chalicelib.domain.regulation import format_tenge
from chalicelib.errors import Conflict
from chalicelib.formats import LongDate
from chalicelib.i18n import N_, Msg
from chalicelib.logs import logger
from chalicelib.services import audit, documents, notices, notifications
from chalicelib.services.appeals import common, outcome
from chalicelib.services.cabinet import LOAN_STATUS_RU, get_account
from chalicelib.services.forms import Form, secret
from chalicelib.services.lending import open_guard
from chalicelib.services.sessions import Principal, end_all_sessions
from chalicelib.services.staff_accounts import SUPPORT
from chalicelib.storage import tx
from chalicelib.storage.accounts import AccountModel, IdentifierModel, account_pii
from chalicelib.storage.appeals import AppealModel
from chalicelib.storage.audit import AuditModel
from chalicelib.storage.loans import LoanModel, loans_of


class UnpaidLoan(Conflict):
    """Account deletion while a loan is not repaid."""

    code = "unpaid_loan"


UNPAID_LOAN_STATUSES = (
    LoanStatus.APPROVED,
    LoanStatus.SIGNED,
    LoanStatus.ISSUED,
    LoanStatus.OVERDUE,
)
DELETION_FILED_SMS = N_(
    "Hava: заявка на удаление учётной записи принята. Кабинет работает до решения "
    "службы поддержки (срок — до {due})."
)
UNPAID = N_(
    "Удалить учётную запись нельзя, пока не погашен займ на {amount}. "
    "Погасите задолженность и подайте заявку снова."
)
UNPAID_DUE = N_(
    "Удалить учётную запись нельзя, пока не погашен займ на {amount}, срок возврата {due}. "
    "Погасите задолженность и подайте заявку снова."
)
DELETED = N_("Учётная запись Hava удалена по вашей заявке. Данные займов хранятся по закону.")
DELETED_SMS = N_(
    "Hava: учётная запись Hava удалена по вашей заявке. Данные займов хранятся по закону."
)
DELETED_SUBJECT = N_("Учётная запись удалена")


def file(account_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """File an account deletion (password re-checked), refused while any loan is unpaid."""
    # lazy: services.auth loads 5 chalicelib modules (≈ 19 ms CPU at cold start);
    # only file() needs it
    from chalicelib.services.auth import check_current_password

    form = Form(data, ("password",))
    password = form.field("password", secret)
    form.raise_if_invalid()
    assert password is not None
    account = get_account(account_id)
    # As for a phone change: a stolen session alone cannot ask to erase the account, and
    # wrong guesses count on the sign-in counter (429 with the same growing waits).
    check_current_password(account, password, "password")
    check_no_unpaid_loans(account_id)
    appeal = common.new_appeal(rules.DELETION, rules.IN_REVIEW, account_id, None)
    common.file(
        appeal,
        audit.new_entry(account_id, "deletion_requested", account_id, target=appeal.request_id),
    )
    notices.sms(
        account_pii(account)["phone"],
        Msg(DELETION_FILED_SMS, due=LongDate(date.fromisoformat(appeal.due_on))),
        language=i18n.normalise(account.language),
    )
    return common.view(appeal)


def regulation_amount(amount: int) -> str:

    return format_tenge(amount)


def check_no_unpaid_loans(account_id: str) -> None:
    """``Conflict`` naming the unpaid loan, if there is one."""
    unpaid = [loan for loan in loans_of(account_id) if loan.status in UNPAID_LOAN_STATUSES]
    if unpaid:
        loan = unpaid[0]
        amount = regulation_amount(int(loan.amount))
        if loan.due_date:
            raise UnpaidLoan(UNPAID_DUE, amount=amount, due=loan.due_date)
        raise UnpaidLoan(UNPAID, amount=amount)


def review_part(
    staff: Principal, appeal: AppealModel, details: Mapping[str, Any]
) -> dict[str, Any]:
    """What a deletion decision needs: who, and every loan with its status."""

    found = common.live_borrower(appeal.account_id)
    borrower = None
    if found is not None:
        account, pii = found
        borrower = {**common.masked_identifiers(account, pii), **common.full_name(pii)}
    loans = loans_of(appeal.account_id) if appeal.account_id else []
    return {
        "borrower": borrower,
        "loans": [
            {
                "loan_id": loan.loan_id,
                "status": loan.status,
                "status_text": LOAN_STATUS_RU.get(loan.status, loan.status),
                "amount": int(loan.amount),
                "total_to_repay": loan.total,
                "created_at": loan.created_at,
                "due_date": loan.due_date,
            }
            for loan in loans
        ],
        "unpaid_loans": sum(loan.status in UNPAID_LOAN_STATUSES for loan in loans),
    }


def commit_approve(
    appeal: AppealModel, reason: str | None, staff: Principal, entry: AuditModel
) -> None:
    """The personal data erased, the identifiers freed, open applications rejected: one write."""
    account = outcome.account_of(appeal.account_id)
    check_no_unpaid_loans(account.account_id)  # re-checked at the moment of the decision
    pii = account_pii(account)
    loans = loans_of(account.account_id)
    # The farewell's addresses ride in the appeal itself: this transaction erases the
    # account's copy, and the notices may go out only once it committed (a losing
    # concurrent decision must send nothing). ``after_approve`` sends and drops them.
    farewell = crypto.seal(
        {"phone": pii["phone"], "email": pii["email"]}, common.appeal_context(appeal.request_id)
    )

    def body(t: tx.Write) -> None:
        for index in (account.iin_index, account.phone_index, account.email_index):
            t.delete(
                IdentifierModel(lookup=index),
                condition=IdentifierModel.account_id == account.account_id,
            )
        closing = outcome.closing_actions(rules.APPROVED, reason, staff)
        outcome.close(t, appeal, entry, [*closing, AppealModel.details.set(farewell)])
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

    outcome.commit(body)


def after_approve(appeal: AppealModel) -> None:
    """Other appeals' details and photos erased, sessions ended, the farewell sent once."""

    account_id = appeal.account_id or ""
    appeals_of_account = list(AppealModel.by_account.query(account_id))
    for other in appeals_of_account:
        if other.request_id != appeal.request_id and (other.details or other.new_phone_index):
            erase(other)
        if other.type == rules.PHONE_CHANGE:
            documents.delete_documents(other.request_id)
    end_all_sessions(account_id)
    if appeal.details:
        # Only after the commit; a retried decision resends it only if it was not dropped.
        to = common.details_of(appeal)
        language = notices.language_of(account_id)
        notices.sms(to["phone"], DELETED_SMS, language=language)
        notifications.enqueue("email", to["email"], DELETED, DELETED_SUBJECT, language=language)
        erase(appeal)


def erase(appeal: AppealModel) -> None:
    """Drop the personal details of a deleted borrower's appeal."""
    try:
        appeal.update(actions=[AppealModel.details.remove(), AppealModel.new_phone_index.remove()])
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            # A failed write, not a changed appeal: answer 503 so the retried
            # decision runs its follow-ups (and this erasure) again.
            raise
        logger.warning("request not erased", extra={"request_id": appeal.request_id})


KIND = outcome.AppealKind(
    type=rules.DELETION,
    role=SUPPORT,
    outcomes={
        rules.APPROVED: (commit_approve, after_approve),
        rules.REJECTED: (outcome.commit_reject, outcome.notify_rejected),
    },
    review_part=review_part,
)
