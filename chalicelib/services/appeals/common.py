"""What every appeal type shares: loading, the one-open-appeal guard, filing, the summary.

An appeal is stored in ``storage.appeals`` (``AppealModel``); its sealed
``details`` are opened with ``appeal_context``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib import clock, metrics
from chalicelib.adapters import crypto
from chalicelib.config import get_settings
from chalicelib.domain import appeals as rules
from chalicelib.domain.accounts import AccountStatus
from chalicelib.domain.email import mask_email
from chalicelib.domain.iin import mask_iin
from chalicelib.domain.phone import mask_phone
from chalicelib.errors import Conflict, NotFound
from chalicelib.i18n import N_
from chalicelib.storage import tx
from chalicelib.storage.accounts import (
    AccountModel,
    IdentifierModel,
    open_guard_key,
    unseal_pii,
)
from chalicelib.storage.appeals import AppealModel, load_appeal
from chalicelib.storage.base import new_id


def load(appeal_id: str) -> AppealModel:
    """An appeal by id (strongly consistent), or ``NotFound``."""
    return load_appeal(appeal_id)


def own(account_id: str, appeal_id: str) -> AppealModel:
    """The borrower's own appeal; any other id is ``NotFound`` (no hint that it exists)."""
    appeal = load(appeal_id)
    if appeal.account_id != account_id:
        raise NotFound(N_("Заявка не найдена."))
    return appeal


def appeal_context(appeal_id: str) -> dict[str, str]:
    """Encryption context of an appeal's sealed details (the stored purpose is "request")."""
    return {"purpose": "request", "request_id": appeal_id}


def details_of(appeal: AppealModel) -> dict[str, Any]:
    """The appeal's sealed details, opened (``{}`` when it has none)."""
    if not appeal.details:
        return {}
    details: dict[str, Any] = crypto.unseal(appeal.details, appeal_context(appeal.request_id))
    return details


# --- filing -------------------------------------------------------------------------


def open_guard(appeal_type: str, account_id: str) -> str:
    """Key of the guard item that allows one open appeal of a type per account."""
    return open_guard_key(appeal_type, account_id)


def open_conflict(appeal_type: str) -> Conflict:
    return Conflict(
        N_("У вас уже есть открытая заявка «{type}». Дождитесь решения по ней."),
        type=rules.TYPE_RU[appeal_type],
    )


def check_no_open_appeal(appeal_type: str, account_id: str) -> None:
    """``Conflict`` at once when the account already has an open appeal of this type."""
    try:
        IdentifierModel.get(open_guard(appeal_type, account_id), consistent_read=True)
    except DoesNotExist:
        return
    raise open_conflict(appeal_type)


def new_appeal(
    appeal_type: str,
    status: str,
    account_id: str | None,
    details: Mapping[str, Any] | None,
    appeal_id: str | None = None,
) -> AppealModel:
    """A new appeal (not saved); ``details`` are sealed with its context."""
    settings = get_settings()
    moment = clock.now()
    appeal_id = appeal_id or new_id("req")
    return AppealModel(
        request_id=appeal_id,
        account_id=account_id,
        type=appeal_type,
        status=status,
        queue=rules.queue_key(appeal_type, status),
        created_at=clock.iso(moment),
        updated_at=clock.iso(moment),
        due_on=(clock.today_kz() + timedelta(days=settings.review_days)).isoformat(),
        details=crypto.seal(details, appeal_context(appeal_id)) if details else None,
        phone_confirmed=False,
    )


def file(appeal: AppealModel, *extra: Model) -> None:
    """Save an appeal with its one-open-appeal guard (and extra items) in one transaction."""
    guard = IdentifierModel(
        lookup=open_guard(appeal.type, appeal.account_id), account_id=appeal.request_id
    )
    with tx.write() as t:
        t.put(
            guard,
            IdentifierModel.lookup.does_not_exist(),
            on_fail=lambda: open_conflict(appeal.type),
        )
        t.put(appeal, AppealModel.request_id.does_not_exist())
        for item in extra:
            t.put(item)
    metrics.count("RequestFiled", Type=appeal.type)


def save_unguarded(appeal: AppealModel) -> None:
    """Save an appeal that takes no open-appeal guard (a break-in report)."""
    appeal.save(condition=AppealModel.request_id.does_not_exist())


# --- what the borrower and the desk see ---------------------------------------------


def summary(appeal: AppealModel) -> dict[str, Any]:
    """The fields of an appeal both its borrower and its reviewer see."""
    return {
        "request_id": appeal.request_id,
        "type": appeal.type,
        "type_text": rules.TYPE_RU.get(appeal.type, appeal.type),
        "channel": appeal.channel or "cabinet",
        "status": appeal.status,
        "status_text": rules.STATUS_RU.get(appeal.status, appeal.status),
        "created_at": appeal.created_at,
        "updated_at": appeal.updated_at,
        "due_on": appeal.due_on,
        "decided_at": appeal.decided_at,
    }


def document_rows(appeal: AppealModel) -> list[dict[str, Any]]:
    """The photos of a phone change, in upload order: document, title, status, reason."""
    documents = appeal.documents.as_dict() if appeal.documents else {}
    return [
        {
            "document": doc,
            "title": rules.DOCUMENT_RU[doc],
            "status": documents[doc].get("status"),
            "reason": documents[doc].get("reason"),
        }
        for doc in rules.DOCUMENTS
        if doc in documents
    ]


def view(appeal: AppealModel) -> dict[str, Any]:
    """An appeal as its borrower sees it."""
    phone_change = appeal.type == rules.PHONE_CHANGE
    return {
        **summary(appeal),
        "rejection_reason": appeal.decision_reason if appeal.status == rules.REJECTED else None,
        "phone_confirmed": appeal.phone_confirmed if phone_change else None,
        "documents": document_rows(appeal) or None,
    }


def my_appeals(account_id: str) -> list[dict[str, Any]]:
    """The borrower's appeals, newest first (one Query on ``by_account``)."""
    items = list(AppealModel.by_account.query(account_id, scan_index_forward=False))
    return [view(a) for a in items]


# --- the borrower of an appeal, for its reviewer -------------------------------------


def live_borrower(account_id: str | None) -> tuple[AccountModel, dict[str, Any]] | None:
    """The appeal's account and its personal data; None when there is no live account."""
    if not account_id:
        return None
    try:
        account = AccountModel.get(account_id)
    except DoesNotExist:
        return None
    if account.status == AccountStatus.DELETED:
        return None
    return account, unseal_pii(account_id, account.pii)


def masked_identifiers(account: AccountModel, pii: Mapping[str, Any]) -> dict[str, Any]:

    return {
        "account_id": account.account_id,
        "account_status": account.status,
        "iin": mask_iin(pii["iin"]),
        "phone": mask_phone(pii["phone"]),
        "email": mask_email(pii["email"]),
    }


def full_name(pii: Mapping[str, Any]) -> dict[str, Any]:
    return {"surname": pii["surname"], "name": pii["name"], "patronymic": pii.get("patronymic")}
