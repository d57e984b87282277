"""Requests that arrive by e-mail: phone change, break-in report; the SMS link; relabelling.

``workers.inbound`` decides whether a message is trusted and calls these; the routes
call ``phone_link_*`` (the new number's one-time link) and ``relabel_documents``
(staff). A phone change by e-mail enters the same table, state machine and staff
queue as one filed in the cabinet, with ``channel = "email"``; its photos are
stored under the same keys as uploaded ones, already checked.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock
from chalicelib.adapters import crypto
from chalicelib.config import get_settings
from chalicelib.domain import images
from chalicelib.domain import inbound_mail as mail
from chalicelib.domain import requests as rules
from chalicelib.errors import (
    CodeExpired,
    Conflict,
    NotFound,
    ValidationFailed,
)
from chalicelib.i18n import N_, Msg
from chalicelib.logs import logger
from chalicelib.services import audit
from chalicelib.services import requests as request_service
from chalicelib.storage import tx
from chalicelib.storage.accounts import IdentifierModel
from chalicelib.storage.challenges import ChallengeModel
from chalicelib.storage.requests import RequestModel

CHANNEL_EMAIL = "email"
LINK_PURPOSE = "phone_change_link"
LINK_PATH = "/v1/phone-links/"

FILE_REFUSED = N_("файл «{name}» не принят: {reason}")
DOCUMENT_MISSING_RU = {
    "id_front": N_("фото лицевой стороны удостоверения личности"),
    "id_back": N_("фото оборотной стороны удостоверения личности"),
    "selfie": N_("селфи с удостоверением в руке"),
}


def account_for_address(address: str) -> str | None:
    """The account id whose registered e-mail is ``address`` (the login's blind index)."""
    from chalicelib.services.auth import identifier_index
    from chalicelib.services.cabinet import get_account

    if "@" not in address:
        return None
    index = identifier_index(address)
    if index is None or not index.startswith("email#"):
        return None
    try:
        account_id = str(IdentifierModel.get(index).account_id)
    except DoesNotExist:
        return None
    try:
        get_account(account_id)
    except Exception:  # a deleted account is no account
        return None
    return account_id


def request_id_for(ses_message_id: str) -> str:
    """The request id of a message: derived from SES's id, so a redelivery finds it."""
    return "req_" + crypto.blind_index("inbound", ses_message_id).split("#", 1)[1][:32]


@dataclass
class PhoneChangeOutcome:
    """What the reply tells: the request filed, or what is missing."""

    request: RequestModel | None = None
    missing: list[str] | None = None
    problem: str | None = None


def file_phone_change(
    account_id: str, ses_message_id: str, parsed: mail.ParsedMail
) -> PhoneChangeOutcome:
    """Check number and photos; file the request when everything is there."""
    from chalicelib.services.cabinet import get_account

    missing: list[str] = []
    new_phone = mail.parse_new_number(parsed.body)
    account = get_account(account_id)
    if new_phone is None:
        missing.append(N_("новый номер мобильного телефона в тексте письма (+7 7XX XXX XX XX)"))
    elif crypto.blind_index("phone", new_phone) == account.phone_index:
        missing.append(N_("новый номер: в письме указан ваш текущий номер"))
    accepted = _checked_photos(parsed, missing)
    assignment = mail.assign_documents([a.filename for a, _, _ in accepted], rules.DOCUMENTS)
    for doc in rules.DOCUMENTS:
        if doc not in assignment:
            missing.append(DOCUMENT_MISSING_RU[doc])
    if missing:
        return PhoneChangeOutcome(missing=missing)
    assert new_phone is not None
    new_index = crypto.blind_index("phone", new_phone)
    taken = IdentifierModel.count(new_index, limit=1) > 0
    if taken:
        return PhoneChangeOutcome(
            problem=N_(
                "Этот номер нельзя указать. Если он принадлежит вам, обратитесь в службу "
                "поддержки по телефону горячей линии."
            )
        )

    request_id = request_id_for(ses_message_id)
    try:
        existing = request_service.load(request_id)
    except NotFound:
        existing = None
    if existing is not None:  # a redelivery after the request was filed
        return PhoneChangeOutcome(request=existing)
    from chalicelib.errors import RateLimited
    from chalicelib.services import codes

    try:
        # The same per-number SMS budget as the cabinet's phone change.
        codes.limit_sends(new_index)
    except RateLimited:
        return PhoneChangeOutcome(
            problem=N_("На этот номер недавно отправлялось много SMS. Повторите письмо позже.")
        )

    documents: dict[str, Any] = {}
    for doc, index in assignment.items():
        _attachment, verdict, clean = accepted[index]
        documents[doc] = _store(request_id, doc, clean, verdict)
    request = request_service._new_request(
        rules.PHONE_CHANGE, rules.AWAITING_DOCUMENTS, account_id, None
    )
    request.request_id = request_id
    request.details = crypto.seal(
        {"new_phone": new_phone}, request_service.request_context(request_id)
    )
    request.new_phone_index = new_index
    request.documents = documents
    request.channel = CHANNEL_EMAIL
    challenge, token = new_link(request_id, account_id, new_index)
    request.challenge_id = challenge.challenge_id
    entry = audit.new_entry(account_id, "phone_change_requested", account_id, target=request_id)
    try:
        request_service._file(request, challenge, entry)
    except Conflict as exc:
        return PhoneChangeOutcome(problem=str(exc))
    from chalicelib.services import notices, notifications

    language = notices.language_of(account_id)
    notifications.enqueue(
        "sms", new_phone, link_text(token), kind="phone_change_code", language=language
    )
    logger.info("phone change filed by e-mail", extra={"request_id": request_id})
    return PhoneChangeOutcome(request=request)


def _checked_photos(
    parsed: mail.ParsedMail, missing: list[str]
) -> list[tuple[mail.Attachment, images.Verdict, bytes]]:
    """Every attachment through the uploads' image checks; refusals appended to ``missing``."""
    settings = get_settings()
    accepted: list[tuple[mail.Attachment, images.Verdict, bytes]] = []
    for attachment in parsed.attachments:
        verdict = images.inspect_image(
            attachment.data,
            max_bytes=settings.upload_max_bytes,
            max_pixels=settings.upload_max_pixels,
        )
        if verdict.accepted:
            accepted.append((attachment, verdict, images.strip_metadata(attachment.data)))
        else:
            name = attachment.filename or N_("вложение")
            # The reason is one of domain.images' REASON_* texts: translated with the template.
            missing.append(
                Msg(N_("файл «{name}» не принят: {reason}"), name=name[:80], reason=verdict.reason)
            )
    return accepted


def _store(request_id: str, doc: str, data: bytes, verdict: images.Verdict) -> dict[str, Any]:
    """Put a checked photo where an upload of ``doc`` goes; its entry in ``documents``."""
    from chalicelib.services import documents as document_store
    from chalicelib.workers.uploads import store_checked_copy

    upload_key = document_store.new_upload_key(request_id, doc)
    # Stored as a checked copy: staff links point only at these. The worker's own
    # marker on it makes the uploads notification of this object change nothing.
    key = document_store.checked_key(upload_key)
    source = "email-" + secrets.token_hex(8)
    etag = store_checked_copy(key, source, data, verdict)
    return {
        "upload_key": upload_key,
        "source_key": upload_key,
        "key": key,
        "status": rules.DOC_ACCEPTED,
        "reason": None,
        "checked_at": clock.iso(clock.now()),
        "etag": source,
        "stored_etag": etag,
        "content_type": verdict.content_type,
        "source": CHANNEL_EMAIL,
    }


# --- the one-time link that proves the new number ---------------------------------


def _link_id(token: str) -> str:
    """The challenge id of a link token: only its HMAC is stored."""
    return "pcl_" + crypto.blind_index("phone-link", token).split("#", 1)[1][:48]


def new_link(request_id: str, account_id: str, phone_index: str) -> tuple[ChallengeModel, str]:
    """A single-use, expiring link challenge (not saved) and its token in clear."""
    ttl = get_settings().phone_link_ttl_seconds
    token = secrets.token_urlsafe(32)
    current = clock.epoch()
    challenge = ChallengeModel(
        challenge_id=_link_id(token),
        purpose=LINK_PURPOSE,
        code_digest="link",
        code_expires_at=current + ttl,
        attempts=0,
        sends=1,
        last_sent_at=current,
        consumed=False,
        expires_at=datetime.fromtimestamp(current + ttl, UTC),
        phone_index=phone_index,
        request_id=request_id,
        account_id=account_id,
    )
    return challenge, token


LINK_SMS = N_(
    "Hava: чтобы подтвердить этот номер для вашего кабинета, откройте ссылку {link} "
    "(действует {hours} ч). Если вы не меняли номер — не открывайте её."
)


def link_text(token: str) -> Msg:
    """The SMS to the new number (a template: sent in the account's language)."""
    hours = max(1, get_settings().phone_link_ttl_seconds // 3600)
    return Msg(LINK_SMS, link=f"{get_settings().public_url}{LINK_PATH}{token}", hours=hours)


def _open_link(token: str) -> ChallengeModel:
    if not isinstance(token, str) or not 20 <= len(token) <= 128:
        raise NotFound("Ссылка не найдена.")
    try:
        challenge = ChallengeModel.get(_link_id(token), consistent_read=True)
    except DoesNotExist:
        raise NotFound("Ссылка не найдена.") from None
    if challenge.purpose != LINK_PURPOSE:
        raise NotFound("Ссылка не найдена.")
    if challenge.consumed or challenge.code_expires_at <= clock.epoch():
        raise CodeExpired("Ссылка уже использована или устарела.")
    return challenge


def phone_link_status(token: str) -> dict[str, Any]:
    """What the link page shows before the borrower confirms."""
    _open_link(token)
    return {"message": "Подтвердите, что этот номер телефона ваш: нажмите «Подтвердить»."}


def confirm_phone_link(token: str) -> dict[str, Any]:
    """Consume the link (once) and mark the request's new number confirmed."""
    challenge = _open_link(token)
    request_id = str(challenge.request_id)
    request = request_service.load(request_id)
    if request.type != rules.PHONE_CHANGE or request.status != rules.AWAITING_DOCUMENTS:
        raise Conflict("Эта заявка уже не ждёт подтверждения номера.")
    used = CodeExpired("Ссылка уже использована или устарела.")
    with tx.write() as t:
        t.update(
            challenge,
            actions=[ChallengeModel.consumed.set(True)],
            condition=ChallengeModel.consumed == False,  # noqa: E712 (pynamodb condition)
            on_fail=used,
        )
        t.update(
            request,
            actions=[
                RequestModel.phone_confirmed.set(True),
                RequestModel.updated_at.set(clock.iso(clock.now())),
            ],
            condition=RequestModel.status == rules.AWAITING_DOCUMENTS,
            add_version_condition=False,
            on_fail=used,
        )
    account_id = str(request.account_id)
    audit.record(account_id, "new_phone_confirmed", account_id, target=request_id)
    request_service.submit_if_ready(request_id)
    return {
        "message": "Номер подтверждён. Заявка передана на рассмотрение.",
        "request_id": request_id,
    }


# --- break-in reports -------------------------------------------------------------


def report_compromise_by_email(account_id: str | None, address: str, text: str) -> None:
    """A proven address: the cabinet's report. Anyone else: the anonymous one (rate-limited)."""
    import unicodedata

    from chalicelib.storage import throttles

    # The form refuses control characters; a letter has line breaks and may have more.
    flat = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} else ch
        for ch in unicodedata.normalize("NFC", text or "")
    )
    description = " ".join(flat.split())[:2000] or "Сообщение о взломе по электронной почте."
    if account_id is not None:
        request_service.report_compromise(account_id, {"description": description})
        return
    limit = get_settings().compromise_reports_per_ip_per_hour
    throttles.consume(f"compromise-mail:{crypto.blind_index('email', address)}", limit, 3600)
    request = request_service._new_request(
        rules.COMPROMISE,
        rules.IN_REVIEW,
        None,
        {"login": address, "contact": address, "description": description, "signed_in": False},
    )
    request.channel = CHANNEL_EMAIL
    request.save(condition=RequestModel.request_id.does_not_exist())
    audit.record("anonymous", "compromise_reported", "none", target=request.request_id)


# --- staff: which photo is which ---------------------------------------------------


def relabel_documents(
    staff_account: str, request_id: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Reassign the photos of a request: ``{"id_front": "selfie", ...}`` (a permutation).

    Each name maps to the document whose photo it should now show; only the
    ``documents`` map changes (the objects stay), in a versioned write, audited.
    """
    mapping = data.get("documents") if isinstance(data, Mapping) else None
    if not isinstance(mapping, Mapping) or not mapping:
        raise ValidationFailed({"documents": "Укажите, какой документ на каком фото."})
    request = request_service.load(request_id)
    if request.type != rules.PHONE_CHANGE:
        raise Conflict("У этой заявки нет фотографий документов.")
    current = request.documents.as_dict() if request.documents else {}
    full = {doc: str(mapping.get(doc, doc)) for doc in rules.DOCUMENTS}
    if (
        set(mapping) - set(rules.DOCUMENTS)
        or sorted(full.values()) != sorted(rules.DOCUMENTS)
        or any(source not in current for source in full.values())
    ):
        raise ValidationFailed(
            {"documents": "Каждый документ должен получить ровно одно из фото заявки."}
        )
    relabelled = {doc: current[source] for doc, source in full.items()}
    try:
        request.update(
            actions=[
                RequestModel.documents.set(relabelled),
                RequestModel.updated_at.set(clock.iso(clock.now())),
            ]
        )
    except Exception as exc:
        raise Conflict("Заявку только что изменили. Обновите страницу.") from exc
    audit.record(staff_account, "documents_relabelled", str(request.account_id), target=request_id)
    return {"request_id": request_id, "documents": full}
