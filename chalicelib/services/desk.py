"""The support desk: the review queue, the loan queue and the review view of one request.

Which role reviews which request type is decided here (``ROLE_FOR_TYPE``);
staff accounts and sign-in are ``services.staff_accounts``. Every view of
personal data or photos is audited *before* the data is returned (Law 94-V:
who accessed what, and when).

A queue page is one Query on the sparse ``by_queue`` index plus one
TransactGetItems for the borrowers' names (and one audit entry naming the requests
shown); the counts per type are one ``Select=COUNT`` Query per type on the same
index — never a Scan. Staff never see a full IIN: the agent types the IIN read
from the photo and the desk answers only whether it matches (a few tries per
request and member, each audited).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock
from chalicelib.adapters import crypto
from chalicelib.domain import requests as rules
from chalicelib.domain.accounts import AccountStatus
from chalicelib.domain.lending import LoanStatus
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.logs import logger
from chalicelib.services import audit
from chalicelib.services.forms import Form, string
from chalicelib.services.pagination import decode_cursor, encode_cursor
from chalicelib.services.sessions import Principal
from chalicelib.services.staff_accounts import SECURITY, SUPPORT, require_role

if TYPE_CHECKING:
    from chalicelib.storage.accounts import AccountModel
    from chalicelib.storage.requests import RequestModel

#: Which role reviews which request type.
ROLE_FOR_TYPE = {
    rules.PHONE_CHANGE: SUPPORT,
    rules.DELETION: SUPPORT,
    rules.COMPROMISE: SECURITY,
}
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
#: IIN checks one member may make on one request per day, and in all per hour: enough to
#: retype a misread digit, far too few to walk the 10^5 IINs of one birth date.
IIN_CHECKS_PER_REQUEST = 3
IIN_CHECKS_PER_HOUR = 30
MSG_IIN = "ИИН — 12 цифр, как на удостоверении."


def _overdue(request: RequestModel) -> bool:
    return request.status == rules.IN_REVIEW and request.due_on < clock.today_kz().isoformat()


def queue_page(staff: Principal, request_type: str | None, cursor: str | None) -> dict[str, Any]:
    """One page of requests waiting for review, oldest first: exactly one Query on ``by_queue``.

    Each item names its borrower (one TransactGetItems for the page; ``None`` when the
    request has no live account).
    """
    from chalicelib.storage.requests import RequestModel

    if request_type not in ROLE_FOR_TYPE:
        raise ValidationFailed({"type": "Укажите тип: " + ", ".join(rules.TYPES) + "."})
    require_role(staff, ROLE_FOR_TYPE[request_type])
    queue = rules.queue_key(request_type, rules.IN_REVIEW)
    assert queue is not None
    start = decode_cursor(cursor, ("request_id", "queue", "created_at"), {"queue": queue})
    result = RequestModel.by_queue.query(
        queue,
        scan_index_forward=True,
        limit=PAGE_SIZE,
        page_size=PAGE_SIZE,
        last_evaluated_key=start,
    )
    waiting = list(result)
    next_cursor = encode_cursor(result.last_evaluated_key)
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
    from pynamodb.exceptions import TransactGetError

    from chalicelib.storage.accounts import AccountModel, account_pii
    from chalicelib.storage.base import read_transaction

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
    from chalicelib.storage.requests import RequestModel

    items = []
    for request_type, role in ROLE_FOR_TYPE.items():
        if role not in staff.roles:
            continue
        queue = rules.queue_key(request_type, rules.IN_REVIEW)
        count = RequestModel.by_queue.count(queue)
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
    from chalicelib.storage.loans import LoanModel

    status = status or LoanStatus.SUBMITTED
    if status not in LOAN_STATUSES:
        raise ValidationFailed({"status": "Укажите статус: " + ", ".join(LOAN_STATUSES) + "."})
    start = decode_cursor(
        cursor, ("account_id", "loan_id", "status", "created_at"), {"status": status}
    )
    result = LoanModel.by_status.query(
        status,
        scan_index_forward=True,
        limit=PAGE_SIZE,
        page_size=PAGE_SIZE,
        last_evaluated_key=start,
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
        for loan in result
    ]
    return {"items": items, "next_cursor": encode_cursor(result.last_evaluated_key)}


def _account_pii(account_id: str) -> tuple[AccountModel, dict[str, Any]] | None:
    from chalicelib.storage.accounts import AccountModel, unseal_pii

    if not account_id:
        return None
    try:
        account = AccountModel.get(account_id)
    except DoesNotExist:
        return None
    if account.status == AccountStatus.DELETED:
        return None
    pii = unseal_pii(account_id, account.pii)
    return account, pii


def _iin_birth_part(iin: str) -> str:
    """An IIN with only its birth-date part (digits 1–6, YYMMDD) shown."""
    return f"{iin[:6]}{'•' * 6}"


def _masked_identifiers(account: AccountModel, pii: Mapping[str, Any]) -> dict[str, Any]:
    from chalicelib.domain.email import mask_email
    from chalicelib.domain.iin import mask_iin
    from chalicelib.domain.phone import mask_phone

    return {
        "account_id": account.account_id,
        "account_status": account.status,
        "iin": mask_iin(pii["iin"]),
        "phone": mask_phone(pii["phone"]),
        "email": mask_email(pii["email"]),
    }


def _full_name(pii: Mapping[str, Any]) -> dict[str, Any]:
    return {"surname": pii["surname"], "name": pii["name"], "patronymic": pii.get("patronymic")}


def _phone_change_part(
    staff: Principal, request: RequestModel, details: Mapping[str, Any]
) -> dict[str, Any]:
    """What a phone-change decision needs: identity against the ID card, the new number, photos.

    The current number stays masked: recognising it is enough to decide.
    """
    from chalicelib.domain.phone import mask_phone

    found = _account_pii(request.account_id)
    borrower = None
    if found is not None:
        account, pii = found
        card = pii.get("id_card") or {}
        borrower = {
            "account_id": account.account_id,
            "account_status": account.status,
            **_full_name(pii),
            "iin": _iin_birth_part(pii["iin"]),
            "birth_date": pii.get("birth_date"),
            "current_phone": mask_phone(pii["phone"]),
            "id_card": {
                "number": card.get("number"),
                "issued_on": card.get("issued_on"),
                "expires_on": card.get("expires_on"),
            },
        }
    documents = request.documents.as_dict() if request.documents else {}
    keys = {
        doc: str(documents[doc]["key"])
        for doc in rules.DOCUMENTS
        if doc in documents
        and documents[doc].get("key")
        and documents[doc].get("status") == rules.DOC_ACCEPTED
    }
    links: dict[str, str] = {}
    if keys:
        from chalicelib.services import documents as document_links

        # Recorded before a single link exists.
        audit.record(
            staff.account_id, "documents_viewed", request.account_id, target=request.request_id
        )
        # Checked copies only, served as an attachment of the checked image type.
        links = {
            doc: document_links.download_url(key, str(documents[doc].get("content_type") or ""))
            for doc, key in keys.items()
        }
    return {
        "new_phone": details.get("new_phone"),
        "phone_confirmed": request.phone_confirmed,
        "borrower": borrower,
        "documents": [
            {
                "document": doc,
                "title": rules.DOCUMENT_RU[doc],
                "status": documents[doc].get("status"),
                "reason": documents[doc].get("reason"),
                "download_url": links.get(doc),
            }
            for doc in rules.DOCUMENTS
            if doc in documents
        ],
        "face_match": request.face_match.as_dict() if request.face_match else None,
    }


def _deletion_part(request: RequestModel) -> dict[str, Any]:
    """What a deletion decision needs: who, and every loan with its status."""
    from chalicelib.services.cabinet import LOAN_STATUS_RU
    from chalicelib.services.requests import UNPAID_LOAN_STATUSES
    from chalicelib.storage.loans import loans_of

    found = _account_pii(request.account_id)
    borrower = None
    if found is not None:
        account, pii = found
        borrower = {**_masked_identifiers(account, pii), **_full_name(pii)}
    loans = loans_of(request.account_id) if request.account_id else []
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


def _compromise_part(request: RequestModel, details: Mapping[str, Any]) -> dict[str, Any]:
    """What security needs: the report and, when it names an account, that account masked.

    A signed-in report names its account; a report made without signing in names
    the account its login matched, if any (``account_id`` is then set too). The
    login as typed is not shown: the account it matched is what a decision needs.
    """
    found = _account_pii(request.account_id)
    return {
        "signed_in": bool(details.get("signed_in")),
        "description": details.get("description"),
        "contact": details.get("contact"),
        "borrower": _masked_identifiers(*found) if found is not None else None,
    }


def review_view(staff: Principal, request_id: str) -> dict[str, Any]:
    """A request as its reviewer sees it; the view is audited before any data is read."""
    from chalicelib.services.requests import load, request_context

    request = load(request_id)
    require_role(staff, ROLE_FOR_TYPE[request.type])
    audit.record(staff.account_id, "request_viewed", request.account_id, target=request_id)
    details = crypto.unseal(request.details, request_context(request_id)) if request.details else {}
    view: dict[str, Any] = {
        "request_id": request.request_id,
        "type": request.type,
        "type_text": rules.TYPE_RU.get(request.type, request.type),
        "channel": request.channel or "cabinet",
        "status": request.status,
        "status_text": rules.STATUS_RU.get(request.status, request.status),
        "account_id": request.account_id or None,
        "created_at": request.created_at,
        "updated_at": request.updated_at,
        "due_on": request.due_on,
        "overdue": _overdue(request),
        "decisions": list(rules.decisions_for(request.type))
        if request.status == rules.IN_REVIEW
        else [],
        "decided_at": request.decided_at,
        "decided_by": request.decided_by,
        "decision_reason": request.decision_reason,
        "rejection_reasons": rules.rejection_reasons(request.type)
        if rules.REJECTED in rules.decisions_for(request.type)
        else [],
    }
    if request.type == rules.PHONE_CHANGE:
        view |= _phone_change_part(staff, request, details)
    elif request.type == rules.DELETION:
        view |= _deletion_part(request)
    elif request.type == rules.COMPROMISE:
        view |= _compromise_part(request, details)
    return view


def check_iin(staff: Principal, request_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Whether the IIN the agent read from the photo is the borrower's; the IIN is never shown.

    Only ``matches`` comes back. Each check is counted before anything is compared
    (``IIN_CHECKS_PER_REQUEST`` per member and request a day, ``IIN_CHECKS_PER_HOUR``
    per member; 429 beyond) and audited with its outcome, so the check cannot be
    used to find an IIN by trying candidates.
    """
    from chalicelib.services.requests import load
    from chalicelib.storage import throttles

    form = Form(data, ("iin",))
    typed = form.field("iin", string(32))
    iin = "".join(typed.split()) if typed is not None else None
    if iin is not None and not (len(iin) == 12 and iin.isascii() and iin.isdigit()):
        form.fail("iin", MSG_IIN)
    form.raise_if_invalid()
    assert iin is not None
    request = load(request_id)
    require_role(staff, ROLE_FOR_TYPE[request.type])
    found = _account_pii(request.account_id)
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
        request.account_id,
        target=request_id,
        reason="совпадает" if matches else "не совпадает",
    )
    used = throttles.hits(counted)
    return {"matches": matches, "attempts_left": max(0, IIN_CHECKS_PER_REQUEST - used)}
