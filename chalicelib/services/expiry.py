"""Cancelling phone changes left unfinished (the ``expire_requests`` schedule).

A phone change waits for its documents and the new number's code; one still
``awaiting_documents`` ``phone_change_expiry_days`` after filing (default 7,
when its code has expired too) is cancelled: the request becomes ``cancelled``
and the open-request guard goes in the same transaction (with an audit entry),
so the borrower can start again; then its objects are deleted and the borrower
is told by SMS through the notification queue.

Found with a Query on the ``by_status`` index (status, created_at), never a
Scan. Safe to run any number of times, also concurrently with the borrower
finishing the request: the cancellation is a conditional write on the status
(and the version), so a request that reached review meanwhile is left alone,
and a second run finds nothing left to do.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock, i18n
from chalicelib.config import get_settings
from chalicelib.domain import requests as rules
from chalicelib.domain.accounts import AccountStatus
from chalicelib.errors import NotFound
from chalicelib.i18n import N_, Msg
from chalicelib.logs import logger
from chalicelib.storage import tx
from chalicelib.storage.requests import RequestModel

ACTOR = "system:expire_requests"

EXPIRED_SMS = N_(
    "Hava: заявка на изменение номера телефона отменена — она не была завершена за {days} дн. "
    "Загруженные фото удалены. Если номер нужно сменить, подайте новую заявку в личном кабинете."
)


class _ChangedMeanwhile(Exception):
    """The request or its guard changed since it was read: not this run's to expire."""


def cutoff(moment: datetime | None = None) -> str:
    """Requests filed before this ISO time are past their age."""
    days = get_settings().phone_change_expiry_days
    return clock.iso((moment or clock.now()) - timedelta(days=days))


def expire_requests(moment: datetime | None = None) -> dict[str, int]:
    """Cancel every phone change still awaiting documents past its age; returns counts."""
    limit = cutoff(moment)
    found = cancelled = 0
    candidates = [
        item.request_id
        for item in RequestModel.by_status.query(
            rules.AWAITING_DOCUMENTS, RequestModel.created_at < limit
        )
    ]
    for request_id in candidates:
        found += 1
        if cancel_abandoned(request_id, limit):
            cancelled += 1
    result = {"found": found, "cancelled": cancelled}
    logger.info("expired requests cancelled", extra=result)
    return result


def cancel_abandoned(request_id: str, limit: str) -> bool:
    """Cancel one unfinished phone change filed before ``limit``; False if it moved on."""
    from chalicelib.services import audit
    from chalicelib.services.requests import _open_guard, load
    from chalicelib.storage.accounts import IdentifierModel

    try:
        request = load(request_id)
    except NotFound:
        return False
    if (
        request.type != rules.PHONE_CHANGE
        or request.status != rules.AWAITING_DOCUMENTS
        or request.created_at >= limit
    ):
        return False
    rules.check_transition(request.type, request.status, rules.CANCELLED)
    account_id = request.account_id or ""
    lookup = _open_guard(request.type, account_id)
    try:
        guard: Any = IdentifierModel.get(lookup, consistent_read=True)
    except DoesNotExist:
        guard = None
    try:
        with tx.write() as t:
            t.update(
                request,
                actions=[
                    RequestModel.status.set(rules.CANCELLED),
                    RequestModel.queue.remove(),
                    RequestModel.updated_at.set(clock.iso(clock.now())),
                ],
                condition=RequestModel.status == rules.AWAITING_DOCUMENTS,
                on_fail=_ChangedMeanwhile,
            )
            if guard is not None and guard.account_id == request_id:
                t.delete(
                    guard,
                    condition=IdentifierModel.account_id == request_id,
                    on_fail=_ChangedMeanwhile,
                )
            t.put(audit.new_entry(ACTOR, "phone_change_expired", account_id, target=request_id))
    except _ChangedMeanwhile:
        logger.info("expiring request changed meanwhile", extra={"request_id": request_id})
        return False
    logger.info("phone change expired", extra={"request_id": request_id})
    _after_cancel(request)
    return True


def _after_cancel(request: RequestModel) -> None:
    """Delete the request's objects and tell the borrower; failures are logged, not raised."""
    from chalicelib.services import documents, notifications
    from chalicelib.services.requests import _account_pii
    from chalicelib.storage.accounts import AccountModel

    try:
        documents.delete_documents(request.request_id)
    except Exception as exc:
        # The consistency checker reports a cancelled request that keeps objects.
        logger.error(
            "documents of an expired request not deleted",
            extra={"request_id": request.request_id, "error": type(exc).__name__},
        )
    try:
        account = AccountModel.get(request.account_id, consistent_read=True)
        if account.status == AccountStatus.DELETED or not account.pii:
            return
        phone = _account_pii(account)["phone"]
        days = get_settings().phone_change_expiry_days
        notifications.enqueue(
            "sms",
            phone,
            Msg(EXPIRED_SMS, days=days),
            language=i18n.normalise(account.language),
        )
    except Exception as exc:
        logger.error(
            "expiry notice not queued",
            extra={"request_id": request.request_id, "error": type(exc).__name__},
        )
