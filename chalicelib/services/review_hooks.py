"""What happens beside the human review of a phone change: face match and borrower SMS.

Nothing here may stop a request from reaching staff: a failing face-match
provider is stored as ``error`` (staff then decide from the photos alone) and a
failed notification is logged, not raised — the request is already in review,
so a retry of the calling worker could not send it again anyway.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib import clock, i18n
from chalicelib.adapters import facematch
from chalicelib.domain import requests as rules
from chalicelib.errors import NotFound
from chalicelib.formats import LongDate
from chalicelib.i18n import N_, Msg
from chalicelib.logs import logger
from chalicelib.services import notices
from chalicelib.storage.accounts import AccountModel, unseal_pii
from chalicelib.storage.requests import RequestModel, load_request

_UPDATE_ATTEMPTS = 4


def on_phone_change_submitted(request: RequestModel) -> None:
    """Run the face-match provider, store its result, tell the borrower it is in review."""
    if request.type != rules.PHONE_CHANGE:
        return
    result = _face_match(request)
    try:
        _store_face_match(request, result)
    except Exception as exc:
        logger.error(
            "face match not stored",
            extra={"request_id": request.request_id, "error": type(exc).__name__},
        )
    _sms(request, Msg(IN_REVIEW_SMS, due=_due(request.due_on)))


# No full stop after {due}: the Russian date ends with «г.» itself.
IN_REVIEW_SMS = N_(
    "Hava: документы приняты, заявка на изменение номера передана на рассмотрение. Срок — до {due}"
)
DOCUMENT_REJECTED_SMS = N_(
    "Hava: документ «{title}» не принят. Причина указана в личном кабинете — загрузите его заново."
)


def on_document_rejected(request: RequestModel, doc: str, reason: str) -> None:
    """Tell the borrower which document to upload again (the reason is in the cabinet)."""
    title = rules.DOCUMENT_RU.get(doc, doc)
    logger.info(
        "document rejected",
        extra={"request_id": request.request_id, "document": doc, "reason": reason},
    )
    _sms(request, Msg(DOCUMENT_REJECTED_SMS, title=title))


def _face_match(request: RequestModel) -> facematch.FaceMatchResult:
    name = "unknown"
    try:
        checker = facematch.provider()
        name = checker.name
        # The worker's checked copies, never the uploads themselves.
        slots = request.documents.as_dict() if request.documents else {}
        return checker.check(
            request.request_id,
            str((slots.get("selfie") or {}).get("key") or ""),
            str((slots.get("id_front") or {}).get("key") or ""),
        )
    except Exception as exc:
        # Never blocks the human review: staff see the error instead of a result.
        logger.error(
            "face match failed",
            extra={"request_id": request.request_id, "error": type(exc).__name__},
        )
        return facematch.FaceMatchResult(
            provider=name,
            status=facematch.ERROR,
            score=None,
            detail=f"Автоматическая проверка не выполнена: {type(exc).__name__}",
        )


def _store_face_match(request: RequestModel, result: facematch.FaceMatchResult) -> None:
    """Versioned update; on a concurrent change re-read and try again."""
    value = {**result.as_dict(), "checked_at": clock.iso(clock.now())}
    current = request
    for _ in range(_UPDATE_ATTEMPTS):
        try:
            current.update(actions=[RequestModel.face_match.set(value)])
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            current = load_request(request.request_id)
            continue
        logger.info(
            "face match stored",
            extra={"request_id": request.request_id, "face_match": result.status},
        )
        return
    logger.error("face match not stored", extra={"request_id": request.request_id})


def _due(iso_date: str) -> Any:
    """The due date as a ``formats.LongDate`` (per language), or the raw text if unreadable."""
    try:
        return LongDate(date.fromisoformat(iso_date))
    except ValueError:
        return iso_date


def _current_phone(account_id: str) -> tuple[str, str]:
    """The account's current phone and its language."""
    try:
        account = AccountModel.get(account_id)
    except DoesNotExist:
        raise NotFound() from None
    pii = unseal_pii(account_id, account.pii)
    phone: str = pii["phone"]
    return phone, i18n.normalise(account.language)


def _sms(request: RequestModel, text: str) -> None:
    """Queue an SMS to the account's current phone; failures are logged, never raised."""
    try:
        phone, language = _current_phone(request.account_id)
        notices.sms(phone, text, language=language)
    except Exception as exc:
        logger.error(
            "borrower notification failed",
            extra={"request_id": request.request_id, "error": type(exc).__name__},
        )
