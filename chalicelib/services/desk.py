"""The support desk: the review queue, the loan queue and the review view of one appeal.

Which role reviews which appeal type, and each type's part of the review view,
come from ``services.appeals.registry``; staff accounts and sign-in are
``services.staff_accounts``. Every view of personal data or photos is audited
*before* the data is returned (Law 94-V: who accessed what, and when).

A queue page is one Query on the sparse ``by_queue`` index plus one
TransactGetItems for the borrowers' names (and one audit entry naming the requests
shown); the counts per type are one ``Select=COUNT`` Query per type on the same
index — never a Scan. Staff never see a full IIN: the agent types the IIN read
from the photo and the desk answers only whether it matches (a few tries per
appeal and member, each audited).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, TransactGetError

from chalicelib import clock
from chalicelib.domain import appeals as rules
from chalicelib.domain.accounts import AccountStatus
from chalicelib.domain.lending import LoanStatus
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.logs import logger
from chalicelib.services import audit, lending
from chalicelib.services.appeals import common
from chalicelib.services.appeals.registry import KINDS, ROLE_FOR_TYPE
from chalicelib.services.forms import Form, string
from chalicelib.services.pagination import query_page
from chalicelib.services.sessions import Principal
from chalicelib.services.staff_accounts import SUPPORT, require_role
from chalicelib.storage import throttles
from chalicelib.storage.accounts import AccountModel, account_pii
from chalicelib.storage.appeals import AppealModel
from chalicelib.storage.base import read_transaction
from chalicelib.storage.loans import LoanModel

if TYPE_CHECKING:
    from chalicelib.storage.appeals import AppealModel

#: Loan statuses staff can list (``by_status``) and set.
LOAN_STATUSES = (
    LoanStatus.SUBMITTED,
    LoanStatus.APPROVED,
    LoanStatus.SIGNED,
    LoanStatus.REJECTED,
    LoanStatus.ISSUED,
    LoanStatus.OVERDUE,
    LoanStatus.REPAID,
)

PAGE_SIZE = 20
#: IIN checks one member may make on one appeal per day, and in all per hour: enough to
#: retype a misread digit, far too few to walk the 10^5 IINs of one birth date.
IIN_CHECKS_PER_REQUEST = 3
IIN_CHECKS_PER_HOUR = 30
MSG_IIN = "ИИН — 12 цифр, как на удостоверении."


def _overdue(appeal: AppealModel) -> bool:
    return appeal.status == rules.IN_REVIEW and appeal.due_on < clock.today_kz().isoformat()


def queue_page(staff: Principal, request_type: str | None, cursor: str | None) -> dict[str, Any]:
    """One page of requests waiting for review, oldest first: exactly one Query on ``by_queue``.

    Each item names its borrower (one TransactGetItems for the page; ``None`` when the
    appeal has no live account).
    """

    if request_type not in ROLE_FOR_TYPE:
        raise ValidationFailed({"type": "Укажите тип: " + ", ".join(rules.TYPES) + "."})
    require_role(staff, ROLE_FOR_TYPE[request_type])
    queue = rules.queue_key(request_type, rules.IN_REVIEW)
    assert queue is not None
    waiting, next_cursor = query_page(
        AppealModel.by_queue,
        queue,
        cursor,
        keys=("request_id", "queue", "created_at"),
        pinned={"queue": queue},
        page_size=PAGE_SIZE,
    )
    if waiting:
        # Names are personal data: the entry says who saw which requests listed.
        audit.record(
            staff.account_id,
            "queue_viewed",
            staff.account_id,
            target=",".join(r.request_id for r in waiting),
        )
    names = _borrower_names(r.account_id for r in waiting)
    items = [
        {
            "request_id": r.request_id,
            "type": r.type,
            "type_text": rules.TYPE_RU.get(r.type, r.type),
            "status": r.status,
            "created_at": r.created_at,
            "due_on": r.due_on,
            "overdue": _overdue(r),
            "borrower_name": names.get(r.account_id or ""),
        }
        for r in waiting
    ]
    return {"items": items, "next_cursor": next_cursor}


def _borrower_names(account_ids: Iterable[str | None]) -> dict[str, str]:
    """``{account_id: "Фамилия Имя Отчество"}`` of live accounts: one TransactGetItems.

    (A page holds at most ``PAGE_SIZE`` ≤ 100 requests; the API's policy grants no
    BatchGetItem, and a transactional read needs only GetItem.)
    """

    wanted = sorted({a for a in account_ids if a})
    if not wanted:
        return {}
    try:
        with read_transaction() as tx:
            futures = [tx.get(AccountModel, account_id) for account_id in wanted]
    except TransactGetError:
        # A write to one of the accounts at this moment: the queue answers without names.
        logger.warning("queue names unavailable", extra={"accounts": len(wanted)})
        return {}
    names: dict[str, str] = {}
    for future in futures:
        try:
            account = future.get()
        except DoesNotExist:
            continue
        if account.status == AccountStatus.DELETED or not account.pii:
            continue
        pii = account_pii(account)
        names[account.account_id] = " ".join(
            part for part in (pii.get("surname"), pii.get("name"), pii.get("patronymic")) if part
        )
    return names


def queue_counts(staff: Principal) -> dict[str, Any]:
    """Requests under review per type this member reviews: one ``Select=COUNT`` Query each."""

    items = []
    for request_type, role in ROLE_FOR_TYPE.items():
        if role not in staff.roles:
            continue
        queue = rules.queue_key(request_type, rules.IN_REVIEW)
        count = AppealModel.by_queue.count(queue)
        items.append(
            {
                "type": request_type,
                "type_text": rules.TYPE_RU.get(request_type, request_type),
                "count": count,
            }
        )
    return {"items": items}


def loan_queue(status: str | None, cursor: str | None) -> dict[str, Any]:
    """One page of loans in ``status``, oldest first: one Query on ``by_status``."""

    status = status or LoanStatus.SUBMITTED
    if status not in LOAN_STATUSES:
        raise ValidationFailed({"status": "Укажите статус: " + ", ".join(LOAN_STATUSES) + "."})
    loans, next_cursor = query_page(
        LoanModel.by_status,
        status,
        cursor,
        keys=("account_id", "loan_id", "status", "created_at"),
        pinned={"status": status},
        page_size=PAGE_SIZE,
    )
    items = [
        {
            "account_id": loan.account_id,
            "loan_id": loan.loan_id,
            "status": loan.status,
            "amount": int(loan.amount),
            "term_days": int(loan.term_days),
            "total_to_repay": loan.total,
            "created_at": loan.created_at,
            "due_date": loan.due_date,
        }
        for loan in loans
    ]
    return {"items": items, "next_cursor": next_cursor}


def decide_loan(
    account_id: str, loan_id: str, data: dict[str, Any], staff: Principal
) -> dict[str, Any]:
    """The desk's older loan form ({status: approved|rejected, reason}): support only;
    the decision itself is ``services.lending.decide``."""
    require_role(staff, SUPPORT)
    loan = lending.load(account_id, loan_id)
    if loan.status != LoanStatus.SUBMITTED:
        raise Conflict("По этой заявке решение уже принято.")
    form = Form(data, ("status", "reason"))
    status = form.field("status", string(32))
    reason = form.field("reason", string(500))
    if status is not None and status not in ("approved", "rejected"):
        form.fail("status", "Допустимые значения: approved, rejected.")
    if reason is not None and len(reason) < 5:
        form.fail("reason", "Укажите причину решения (не короче 5 символов).")
    form.raise_if_invalid()
    assert status is not None and reason is not None
    decision = {"approved": "approve", "rejected": "reject"}[status]
    return lending.decide(account_id, loan_id, {"decision": decision, "reason": reason}, staff)


def review_view(staff: Principal, appeal_id: str) -> dict[str, Any]:
    """An appeal as its reviewer sees it; the view is audited before any data is read.

    The generic part is here; the type's own part is its module's ``review_part``.
    """
    appeal = common.load(appeal_id)
    kind = KINDS[appeal.type]
    require_role(staff, kind.role)
    audit.record(staff.account_id, "request_viewed", appeal.account_id, target=appeal_id)
    details = common.details_of(appeal)
    decisions = rules.decisions_for(appeal.type)
    view: dict[str, Any] = {
        **common.summary(appeal),
        "account_id": appeal.account_id or None,
        "overdue": _overdue(appeal),
        "decisions": list(decisions) if appeal.status == rules.IN_REVIEW else [],
        "decided_by": appeal.decided_by,
        "decision_reason": appeal.decision_reason,
        "rejection_reasons": rules.rejection_reasons(appeal.type)
        if rules.REJECTED in decisions
        else [],
    }
    return view | kind.review_part(staff, appeal, details)


def check_iin(staff: Principal, request_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Whether the IIN the agent read from the photo is the borrower's; the IIN is never shown.

    Only ``matches`` comes back. Each check is counted before anything is compared
    (``IIN_CHECKS_PER_REQUEST`` per member and appeal a day, ``IIN_CHECKS_PER_HOUR``
    per member; 429 beyond) and audited with its outcome, so the check cannot be
    used to find an IIN by trying candidates.
    """

    form = Form(data, ("iin",))
    typed = form.field("iin", string(32))
    iin = "".join(typed.split()) if typed is not None else None
    if iin is not None and not (len(iin) == 12 and iin.isascii() and iin.isdigit()):
        form.fail("iin", MSG_IIN)
    form.raise_if_invalid()
    assert iin is not None
    appeal = common.load(request_id)
    require_role(staff, ROLE_FOR_TYPE[appeal.type])
    found = common.live_borrower(appeal.account_id)
    if found is None:
        raise NotFound("У обращения нет учётной записи заёмщика.")
    throttles.consume(f"iin-check:{staff.account_id}", IIN_CHECKS_PER_HOUR, 3600)
    counted = throttles.consume(
        f"iin-check:{staff.account_id}:{request_id}", IIN_CHECKS_PER_REQUEST, 86400
    )
    _, pii = found
    matches = hmac.compare_digest(str(pii["iin"]).encode(), iin.encode())
    audit.record(
        staff.account_id,
        "iin_checked",
        appeal.account_id,
        target=request_id,
        reason="совпадает" if matches else "не совпадает",
    )
    used = throttles.hits(counted)
    return {"matches": matches, "attempts_left": max(0, IIN_CHECKS_PER_REQUEST - used)}
