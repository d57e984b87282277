"""Phone change: a borrower's appeal («обращение») to move the cabinet to a new number.

The whole flow, in the order it happens:

- filing: in the cabinet (password, new number, a code to it, three upload forms:
  ``start``) or by e-mail (number and photos in one letter, a one-time link to
  the new number: ``file_by_email``);
- the new number proven (``confirm_code`` or ``confirm_link``: one transaction,
  ``_confirm_number``), a code sent again (``resend_code``), fresh forms
  (``fresh_upload_forms``); the uploads worker checks each photo and calls
  ``on_document_rejected`` / ``submit_if_ready``;
- in review: face match and an SMS (``on_submitted``); the desk's part of the
  review view (``review_part``);
- the staff decision (``KIND``: approve moves the number, reject tags the photos);
- expiry: one still awaiting documents past its age is cancelled
  (``expire_abandoned``, the ``expire_appeals`` schedule).

Nothing beside the human review may stop an appeal from reaching staff: a
failing face-match provider is stored as ``error`` and a failed notification is
logged, not raised.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib import clock, i18n
from chalicelib.adapters import crypto, facematch
from chalicelib.config import get_settings
from chalicelib.domain import appeals as rules
from chalicelib.domain import images
from chalicelib.domain import inbound_mail as mail
from chalicelib.domain.accounts import AccountStatus
from chalicelib.domain.phone import mask_phone, normalize_kz_mobile
from chalicelib.errors import (
    CodeExpired,
    CodeInvalid,
    Conflict,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from chalicelib.formats import LongDate
from chalicelib.i18n import N_, Msg, plural
from chalicelib.logs import logger
from chalicelib.services import audit, codes, documents, notices, notifications
from chalicelib.services import documents as document_links
from chalicelib.services import documents as document_store
from chalicelib.services.appeals import by_email, common, outcome
from chalicelib.services.cabinet import get_account
from chalicelib.services.forms import Form, secret, string
from chalicelib.services.sessions import Principal, end_all_sessions
from chalicelib.services.staff_accounts import SUPPORT
from chalicelib.storage import throttles, tx
from chalicelib.storage.accounts import (
    AccountModel,
    IdentifierModel,
    account_pii,
    claim_identifier,
    seal_pii,
    unseal_pii,
)
from chalicelib.storage.appeals import AppealModel
from chalicelib.storage.audit import AuditModel
from chalicelib.storage.base import new_id
from chalicelib.storage.challenges import ChallengeModel

PHONE_CODE_PURPOSE = "phone_change"
#: A phone change not completed within a week is dropped (its code and uploads expire).
PHONE_CHANGE_LIFETIME_SECONDS = 7 * 24 * 3600
LINK_PURPOSE = "phone_change_link"
LINK_PATH = "/v1/phone-links/"
_UPDATE_ATTEMPTS = 4

PHONE_TAKEN_SMS = N_(
    "Hava: этот номер уже указан в личном кабинете Hava, поэтому его нельзя "
    "привязать к другому кабинету. Ваш кабинет не изменён. Если номер указывали "
    "не вы, просто удалите это SMS."
)
PHONE_CODE_SMS = N_(
    "Hava: код подтверждения нового номера {code}. {valid} Никому не сообщайте этот код."
)
LINK_SMS = N_(
    "Hava: чтобы подтвердить этот номер для вашего кабинета, откройте ссылку {link} "
    "(действует {hours} ч). Если вы не меняли номер — не открывайте её."
)
# No full stop after {due}: the Russian date ends with «г.» itself.
IN_REVIEW_SMS = N_(
    "Hava: документы приняты, заявка на изменение номера передана на рассмотрение. Срок — до {due}"
)
DOCUMENT_REJECTED_SMS = N_(
    "Hava: документ «{title}» не принят. Причина указана в личном кабинете — загрузите его заново."
)
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
EXPIRED_SMS = N_(
    "Hava: заявка на изменение номера телефона отменена — она не была завершена за {days} дн. "
    "Загруженные фото удалены. Если номер нужно сменить, подайте новую заявку в личном кабинете."
)
NOT_AWAITING_NUMBER = N_("Эта заявка уже не ждёт подтверждения номера.")
NO_MORE_DOCUMENTS = N_("По этой заявке документы больше не принимаются.")
FILE_REFUSED = N_("файл «{name}» не принят: {reason}")
DOCUMENT_MISSING_RU = {
    "id_front": N_("фото лицевой стороны удостоверения личности"),
    "id_back": N_("фото оборотной стороны удостоверения личности"),
    "selfie": N_("селфи с удостоверением в руке"),
}


def _awaiting_documents(appeal: AppealModel) -> bool:
    return appeal.type == rules.PHONE_CHANGE and appeal.status == rules.AWAITING_DOCUMENTS


# --- filing in the cabinet -----------------------------------------------------------


def start(account_id: str, data: Mapping[str, Any], client_ip: str | None = None) -> dict[str, Any]:
    """File a phone change: re-check the password, code to the new number, upload forms.

    Against SMS pumping and number probing, in this order: the account's daily
    cap of attempts and the address's SMS budgets are charged before anything
    is looked up; then the open-appeal lock; then the new number's own cooldown
    and budgets; the global budget only for the message actually queued (given
    back if the appeal cannot be filed). A number that is already some
    account's answers exactly like a free one: the appeal is filed alike, but
    its owner gets a notice instead of the code (``phone_taken`` on the
    challenge), so nobody can ever confirm it and the borrower is not told why.
    """
    # lazy: services.auth loads 7 chalicelib modules (≈ 16 ms CPU at cold start);
    # only start() needs it
    from chalicelib.services.auth import check_current_password

    form = Form(data, ("password", "new_phone"))
    password = form.field("password", secret)
    new_phone = form.field("new_phone", _kz_mobile)
    form.raise_if_invalid()
    assert password is not None and new_phone is not None
    account = get_account(account_id)
    # Same brute-force counter as sign-in: a stolen session cannot guess the password.
    check_current_password(account, password, "password")
    new_index = crypto.blind_index("phone", new_phone)
    if new_index == account.phone_index:
        raise ValidationFailed({"new_phone": N_("Это ваш текущий номер.")})
    _charge_attempt(account_id, client_ip)
    common.check_no_open_appeal(rules.PHONE_CHANGE, account_id)
    codes.limit_recipient(new_index)
    taken = IdentifierModel.count(new_index, limit=1) > 0
    appeal = common.new_appeal(rules.PHONE_CHANGE, rules.AWAITING_DOCUMENTS, account_id, None)
    appeal.details = crypto.seal({"new_phone": new_phone}, common.appeal_context(appeal.request_id))
    appeal.new_phone_index = new_index
    # One fresh object key per document and form: no form overwrites another's object.
    slots = documents.new_slots(appeal.request_id)
    appeal.documents = slots
    challenge, code = codes.new_challenge(
        new_id("pcc"), PHONE_CODE_PURPOSE, new_index, PHONE_CHANGE_LIFETIME_SECONDS
    )
    challenge.request_id = appeal.request_id
    challenge.account_id = account_id
    challenge.phone_taken = taken
    appeal.challenge_id = challenge.challenge_id
    entry = audit.new_entry(
        account_id, "phone_change_requested", account_id, target=appeal.request_id
    )
    charged = codes.charge_global()
    try:
        common.file(appeal, challenge, entry)
    except Exception:
        codes.refund(charged)
        raise
    notifications.enqueue(
        "sms",
        new_phone,
        _code_text(None if taken else code),
        kind="phone_change_code",
        language=i18n.normalise(account.language),
    )
    return {**common.view(appeal), "uploads": documents.upload_forms(appeal.request_id, slots)}


def _charge_attempt(account_id: str, client_ip: str | None) -> None:
    """The account's daily cap of phone-change attempts, then the address's SMS budgets."""

    limit = get_settings().phone_change_attempts_per_day
    try:
        throttles.consume(f"phone-change:{account_id}", limit, codes.DAY)
    except RateLimited as exc:
        logger.warning(
            "security_event", extra={"event": "phone_change_attempts_exceeded", "scope": "account"}
        )
        hours = -(-exc.retry_after // 3600)
        raise RateLimited(
            exc.retry_after,
            plural(
                "Слишком много попыток смены номера за сутки. Повторите через {n} час.",
                "Слишком много попыток смены номера за сутки. Повторите через {n} часов.",
                hours,
            ),
        ) from exc
    if client_ip is not None:
        codes.limit_address(client_ip)


def _code_text(code: str | None) -> str:
    """A msgid or template: ``notifications.enqueue`` renders it in the account's language."""
    if code is None:
        return PHONE_TAKEN_SMS
    valid = i18n.valid_for_minutes(get_settings().code_ttl_seconds // 60)
    return Msg(PHONE_CODE_SMS, code=code, valid=valid)


def _kz_mobile(raw: Any) -> str:

    return normalize_kz_mobile(string(32)(raw))


def resend_code(account_id: str, appeal_id: str, client_ip: str | None = None) -> dict[str, Any]:
    """A new code to the new number (cooldown and hourly cap apply)."""

    appeal = common.own(account_id, appeal_id)
    if not _awaiting_documents(appeal):
        raise Conflict(NOT_AWAITING_NUMBER)
    if appeal.phone_confirmed:
        raise Conflict(N_("Новый номер уже подтверждён."))
    challenge = codes.open_challenge(
        appeal.challenge_id or "", PHONE_CODE_PURPOSE, N_("Заявка не найдена.")
    )
    code = codes.reissue(challenge, client_ip)
    new_phone = common.details_of(appeal)["new_phone"]
    text = _code_text(None if challenge.phone_taken else code)
    language = notices.language_of(appeal.account_id)
    notifications.enqueue("sms", new_phone, text, kind="phone_change_code", language=language)
    return {"resend_after": get_settings().code_resend_cooldown_seconds}


def fresh_upload_forms(account_id: str, appeal_id: str) -> dict[str, Any]:
    """New presigned forms (a used key is replaced by a new one; see ``renew_forms``)."""
    appeal = common.own(account_id, appeal_id)
    if not _awaiting_documents(appeal):
        raise Conflict(NO_MORE_DOCUMENTS)
    return {"uploads": renew_forms(appeal)}


def renew_forms(appeal: AppealModel) -> dict[str, dict[str, Any]]:
    """Fresh forms for a phone change awaiting documents.

    A slot whose current key is unused keeps it (the new form only lasts
    longer: an upload in flight stays valid); a slot whose key the worker has
    already decided on, or that has none, gets a new key, recorded on the
    appeal with a versioned update before any form exists.
    """

    for _ in range(_UPDATE_ATTEMPTS):
        if appeal.status != rules.AWAITING_DOCUMENTS:
            raise Conflict(NO_MORE_DOCUMENTS)
        slots = appeal.documents.as_dict() if appeal.documents else {}
        changed = False
        for doc in rules.DOCUMENTS:
            slot = dict(slots.get(doc) or {"status": rules.DOC_AWAITING})
            current = slot.get("upload_key")
            if not current or slot.get("source_key") == current:
                slot["upload_key"] = documents.new_upload_key(appeal.request_id, doc)
                changed = True
            slots[doc] = slot
        if not changed:
            return documents.upload_forms(appeal.request_id, slots)
        try:
            appeal.update(
                actions=[
                    AppealModel.documents.set(slots),
                    AppealModel.updated_at.set(clock.iso(clock.now())),
                ],
                condition=AppealModel.status == rules.AWAITING_DOCUMENTS,
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            appeal = common.load(appeal.request_id)
            continue
        return documents.upload_forms(appeal.request_id, slots)
    raise ServiceUnavailable()


# --- filing by e-mail ------------------------------------------------------------------


@dataclass
class EmailFiling:
    """What the reply tells: the appeal filed, or what is missing."""

    appeal: AppealModel | None = None
    missing: list[str] = field(default_factory=list)
    problem: str | None = None


def file_by_email(account_id: str, ses_message_id: str, parsed: mail.ParsedMail) -> EmailFiling:
    """Check number and photos; file the appeal when everything is there.

    It enters the same table, state machine and staff queue as one filed in the
    cabinet, with ``channel = "email"``; its photos are stored under the same keys
    as uploaded ones, already checked; the new number gets a one-time link.
    """
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
        return EmailFiling(missing=missing)
    assert new_phone is not None
    new_index = crypto.blind_index("phone", new_phone)
    taken = IdentifierModel.count(new_index, limit=1) > 0
    if taken:
        return EmailFiling(
            problem=N_(
                "Этот номер нельзя указать. Если он принадлежит вам, обратитесь в службу "
                "поддержки по телефону горячей линии."
            )
        )

    appeal_id = by_email.appeal_id_for(ses_message_id)
    try:
        existing = common.load(appeal_id)
    except NotFound:
        existing = None
    if existing is not None:  # a redelivery after the appeal was filed
        return EmailFiling(appeal=existing)
    try:
        # The same per-number SMS budget as the cabinet's phone change.
        codes.limit_sends(new_index)
    except RateLimited:
        return EmailFiling(
            problem=N_("На этот номер недавно отправлялось много SMS. Повторите письмо позже.")
        )

    documents: dict[str, Any] = {}
    for doc, index in assignment.items():
        _attachment, verdict, clean = accepted[index]
        documents[doc] = _store_photo(appeal_id, doc, clean, verdict)
    appeal = common.new_appeal(
        rules.PHONE_CHANGE,
        rules.AWAITING_DOCUMENTS,
        account_id,
        {"new_phone": new_phone},
        appeal_id=appeal_id,
    )
    appeal.new_phone_index = new_index
    appeal.documents = documents
    appeal.channel = by_email.CHANNEL_EMAIL
    challenge, token = new_link(appeal_id, account_id, new_index)
    appeal.challenge_id = challenge.challenge_id
    entry = audit.new_entry(account_id, "phone_change_requested", account_id, target=appeal_id)
    try:
        common.file(appeal, challenge, entry)
    except Conflict as exc:
        return EmailFiling(problem=str(exc))
    language = notices.language_of(account_id)
    notifications.enqueue(
        "sms", new_phone, link_text(token), kind="phone_change_code", language=language
    )
    logger.info("phone change filed by e-mail", extra={"request_id": appeal_id})
    return EmailFiling(appeal=appeal)


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
            missing.append(Msg(FILE_REFUSED, name=name[:80], reason=verdict.reason))
    return accepted


def _store_photo(appeal_id: str, doc: str, data: bytes, verdict: images.Verdict) -> dict[str, Any]:
    """Put a checked photo where an upload of ``doc`` goes; its entry in ``documents``."""

    upload_key = document_store.new_upload_key(appeal_id, doc)
    # Stored as a checked copy: staff links point only at these. The worker's own
    # marker on it makes the uploads notification of this object change nothing.
    key = document_store.checked_key(upload_key)
    source = "email-" + secrets.token_hex(8)
    etag = document_store.store_checked_copy(key, source, data, verdict)
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
        "source": by_email.CHANNEL_EMAIL,
    }


# --- the new number proven: a code (cabinet) or a one-time link (e-mail) --------------


def _confirm_number(
    appeal: AppealModel, challenge: ChallengeModel, unused: Condition, used: CodeExpired
) -> None:
    """Consume the challenge and mark the new number confirmed, in one transaction;
    then submit the appeal for review if its documents are in too."""
    with tx.write() as t:
        t.update(
            challenge,
            actions=[ChallengeModel.consumed.set(True)],
            condition=unused,
            on_fail=used,
        )
        t.update(
            appeal,
            actions=[
                AppealModel.phone_confirmed.set(True),
                AppealModel.updated_at.set(clock.iso(clock.now())),
            ],
            condition=AppealModel.status == rules.AWAITING_DOCUMENTS,
            add_version_condition=False,
            on_fail=used,
        )
    account_id = str(appeal.account_id)
    audit.record(account_id, "new_phone_confirmed", account_id, target=appeal.request_id)
    submit_if_ready(appeal.request_id)


def confirm_code(account_id: str, appeal_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Confirm the new number with the code sent to it; submit for review if documents are in."""
    # lazy: services.registration loads 9 chalicelib modules (≈ 91 ms CPU at cold start);
    # only confirm_code() needs it
    from chalicelib.services.registration import read_code

    code = read_code(data)
    appeal = common.own(account_id, appeal_id)
    if not _awaiting_documents(appeal):
        raise Conflict(NOT_AWAITING_NUMBER)
    challenge = codes.open_challenge(
        appeal.challenge_id or "", PHONE_CODE_PURPOSE, N_("Заявка не найдена.")
    )
    codes.verify(challenge, code)
    if challenge.phone_taken:
        # Nobody was ever sent this code; should one still be guessed, it counts as wrong.
        raise CodeInvalid(N_("Неверный код подтверждения."))
    used = CodeExpired(N_("Этот код уже использован."))
    _confirm_number(appeal, challenge, codes.consume_condition(challenge), used)
    return common.view(common.load(appeal_id))


def _link_id(token: str) -> str:
    """The challenge id of a link token: only its HMAC is stored."""
    return "pcl_" + crypto.blind_index("phone-link", token).split("#", 1)[1][:48]


def new_link(appeal_id: str, account_id: str, phone_index: str) -> tuple[ChallengeModel, str]:
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
        request_id=appeal_id,
        account_id=account_id,
    )
    return challenge, token


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


def link_status(token: str) -> dict[str, Any]:
    """What the link page shows before the borrower confirms."""
    _open_link(token)
    return {"message": "Подтвердите, что этот номер телефона ваш: нажмите «Подтвердить»."}


def confirm_link(token: str) -> dict[str, Any]:
    """Consume the link (once) and mark the appeal's new number confirmed."""
    challenge = _open_link(token)
    appeal_id = str(challenge.request_id)
    appeal = common.load(appeal_id)
    if not _awaiting_documents(appeal):
        raise Conflict(NOT_AWAITING_NUMBER)
    used = CodeExpired("Ссылка уже использована или устарела.")
    _confirm_number(appeal, challenge, ChallengeModel.consumed == False, used)  # noqa: E712
    return {
        "message": "Номер подтверждён. Заявка передана на рассмотрение.",
        "request_id": appeal_id,
    }


# --- to review: once all documents are accepted and the number confirmed -------------


def submit_if_ready(appeal_id: str) -> bool:
    """Move a phone change to review once all documents are accepted and the number confirmed.

    Called by the upload worker after each verdict and by the number's confirmation;
    safe to call any number of times (the versioned update lets one caller win,
    the others re-read and find it done).
    """
    for _ in range(3):
        appeal = common.load(appeal_id)
        if not _awaiting_documents(appeal):
            return False
        documents = appeal.documents.as_dict() if appeal.documents else {}
        ready = appeal.phone_confirmed and all(
            documents.get(doc, {}).get("status") == rules.DOC_ACCEPTED for doc in rules.DOCUMENTS
        )
        if not ready:
            return False
        rules.check_transition(appeal.type, appeal.status, rules.IN_REVIEW)
        queue = rules.queue_key(appeal.type, rules.IN_REVIEW)
        assert queue is not None
        try:
            appeal.update(
                actions=[
                    AppealModel.status.set(rules.IN_REVIEW),
                    AppealModel.queue.set(queue),
                    AppealModel.updated_at.set(clock.iso(clock.now())),
                ]
            )
        except UpdateError:
            continue  # someone else changed it: look again
        logger.info("request submitted for review", extra={"request_id": appeal_id})
        on_submitted(appeal)
        return True
    return False


def on_submitted(appeal: AppealModel) -> None:
    """Run the face-match provider, store its result, tell the borrower it is in review."""
    result = _face_match(appeal)
    try:
        _store_face_match(appeal, result)
    except Exception as exc:
        logger.error(
            "face match not stored",
            extra={"request_id": appeal.request_id, "error": type(exc).__name__},
        )
    _sms(appeal, Msg(IN_REVIEW_SMS, due=_due(appeal.due_on)))


# --- the uploads worker's verdicts -----------------------------------------------


def awaiting_documents(appeal_id: str) -> tuple[AppealModel | None, str]:
    """The appeal if it still takes documents, else None and why."""
    try:
        appeal = common.load(appeal_id)
    except NotFound:
        return None, "unknown_request"
    if appeal.type != rules.PHONE_CHANGE or appeal.status != rules.AWAITING_DOCUMENTS:
        return None, "not_awaiting_documents"
    return appeal, ""


def document_slot(appeal: AppealModel, doc: str) -> dict[str, Any]:
    """What the appeal records of document ``doc`` (empty before its first upload)."""
    all_docs = appeal.documents.as_dict() if appeal.documents else {}
    entry = all_docs.get(doc)
    return dict(entry) if isinstance(entry, dict) else {}


def record_verdict(
    appeal_id: str, doc: str, entry: dict[str, Any]
) -> tuple[str, AppealModel | None]:
    """Write the uploads worker's verdict on document ``doc`` with a versioned update.

    ``("written", appeal)``, ``("done", None)`` when a concurrent attempt wrote
    it, ``("gone", None)`` when the appeal or the slot no longer takes this upload.
    """
    for _ in range(_UPDATE_ATTEMPTS):
        appeal, _why = awaiting_documents(appeal_id)
        if appeal is None:
            return "gone", None
        all_docs = appeal.documents.as_dict() if appeal.documents else {}
        current = all_docs.get(doc) or {}
        if current.get("upload_key") != entry["source_key"]:
            return "gone", None
        if (
            current.get("status") in rules.DOC_DECIDED
            and current.get("source_key") == entry["source_key"]
            and current.get("etag") == entry["etag"]
        ):
            return "done", None  # a concurrent attempt wrote this verdict
        all_docs[doc] = entry
        try:
            appeal.update(
                actions=[
                    AppealModel.documents.set(all_docs),
                    AppealModel.updated_at.set(clock.iso(clock.now())),
                ]
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            continue  # changed meanwhile: re-read
        return "written", appeal
    raise ServiceUnavailable()  # still contended: let SQS redeliver


def on_document_rejected(appeal: AppealModel, doc: str, reason: str) -> None:
    """Tell the borrower which document to upload again (the reason is in the cabinet)."""
    title = rules.DOCUMENT_RU.get(doc, doc)
    logger.info(
        "document rejected",
        extra={"request_id": appeal.request_id, "document": doc, "reason": reason},
    )
    _sms(appeal, Msg(DOCUMENT_REJECTED_SMS, title=title))


def _face_match(appeal: AppealModel) -> facematch.FaceMatchResult:
    name = "unknown"
    try:
        checker = facematch.provider()
        name = checker.name
        # The worker's checked copies, never the uploads themselves.
        slots = appeal.documents.as_dict() if appeal.documents else {}
        return checker.check(
            appeal.request_id,
            str((slots.get("selfie") or {}).get("key") or ""),
            str((slots.get("id_front") or {}).get("key") or ""),
        )
    except Exception as exc:
        # Never blocks the human review: staff see the error instead of a result.
        logger.error(
            "face match failed",
            extra={"request_id": appeal.request_id, "error": type(exc).__name__},
        )
        return facematch.FaceMatchResult(
            provider=name,
            status=facematch.ERROR,
            score=None,
            detail=f"Автоматическая проверка не выполнена: {type(exc).__name__}",
        )


def _store_face_match(appeal: AppealModel, result: facematch.FaceMatchResult) -> None:
    """Versioned update; on a concurrent change re-read and try again."""
    value = {**result.as_dict(), "checked_at": clock.iso(clock.now())}
    current = appeal
    for _ in range(_UPDATE_ATTEMPTS):
        try:
            current.update(actions=[AppealModel.face_match.set(value)])
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            current = common.load(appeal.request_id)
            continue
        logger.info(
            "face match stored",
            extra={"request_id": appeal.request_id, "face_match": result.status},
        )
        return
    logger.error("face match not stored", extra={"request_id": appeal.request_id})


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


def _sms(appeal: AppealModel, text: str) -> None:
    """Queue an SMS to the account's current phone; failures are logged, never raised."""
    try:
        phone, language = _current_phone(appeal.account_id)
        notices.sms(phone, text, language=language)
    except Exception as exc:
        logger.error(
            "borrower notification failed",
            extra={"request_id": appeal.request_id, "error": type(exc).__name__},
        )


# --- the desk's review view and the staff decision ---------------------------------------


def _iin_birth_part(iin: str) -> str:
    """An IIN with only its birth-date part (digits 1–6, YYMMDD) shown."""
    return f"{iin[:6]}{'•' * 6}"


def review_part(
    staff: Principal, appeal: AppealModel, details: Mapping[str, Any]
) -> dict[str, Any]:
    """What a phone-change decision needs: identity against the ID card, the new number, photos.

    The current number stays masked: recognising it is enough to decide.
    """

    found = common.live_borrower(appeal.account_id)
    borrower = None
    if found is not None:
        account, pii = found
        card = pii.get("id_card") or {}
        borrower = {
            "account_id": account.account_id,
            "account_status": account.status,
            **common.full_name(pii),
            "iin": _iin_birth_part(pii["iin"]),
            "birth_date": pii.get("birth_date"),
            "current_phone": mask_phone(pii["phone"]),
            "id_card": {
                "number": card.get("number"),
                "issued_on": card.get("issued_on"),
                "expires_on": card.get("expires_on"),
            },
        }
    documents = appeal.documents.as_dict() if appeal.documents else {}
    keys = {
        doc: str(documents[doc]["key"])
        for doc in rules.DOCUMENTS
        if doc in documents
        and documents[doc].get("key")
        and documents[doc].get("status") == rules.DOC_ACCEPTED
    }
    links: dict[str, str] = {}
    if keys:
        # Recorded before a single link exists.
        audit.record(
            staff.account_id, "documents_viewed", appeal.account_id, target=appeal.request_id
        )
        # Checked copies only, served as an attachment of the checked image type.
        links = {
            doc: document_links.download_url(key, str(documents[doc].get("content_type") or ""))
            for doc, key in keys.items()
        }
    return {
        "new_phone": details.get("new_phone"),
        "phone_confirmed": appeal.phone_confirmed,
        "borrower": borrower,
        "documents": [
            {**row, "download_url": links.get(row["document"])}
            for row in common.document_rows(appeal)
        ],
        "face_match": appeal.face_match.as_dict() if appeal.face_match else None,
    }


def commit_approve(
    appeal: AppealModel, reason: str | None, staff: Principal, entry: AuditModel
) -> None:
    """The account's number becomes the new one (its guard moves), in one transaction."""
    account = outcome.account_of(appeal.account_id)
    pii = account_pii(account)
    context = common.appeal_context(appeal.request_id)
    new_phone = crypto.unseal(appeal.details or "", context)["new_phone"]
    new_index = crypto.blind_index("phone", new_phone)
    # The old number is kept with the appeal (sealed) so the security notice to it
    # can still be sent when the follow-ups are finished on a retry.
    details = crypto.seal(
        {"new_phone": new_phone, "old_phone": pii["phone"], "email": pii["email"]}, context
    )
    pii["phone"] = new_phone
    sealed = seal_pii(account.account_id, pii)

    def body(t: tx.Write) -> None:
        taken = Conflict(
            "Новый номер за это время занял другой кабинет. Отклоните заявку с объяснением."
        )
        claim_identifier(t, new_index, account, taken)
        t.delete(
            IdentifierModel(lookup=account.phone_index),
            condition=IdentifierModel.account_id == account.account_id,
        )
        closing = outcome.closing_actions(rules.APPROVED, reason, staff)
        outcome.close(t, appeal, entry, [*closing, AppealModel.details.set(details)])
        t.update(
            account,
            actions=[AccountModel.pii.set(sealed), AccountModel.phone_index.set(new_index)],
        )

    outcome.commit(body)


def after_approve(appeal: AppealModel) -> None:
    """Sessions end, photos are tagged for deletion, old and new number and e-mail are told."""

    details = common.details_of(appeal)
    end_all_sessions(appeal.account_id or "")
    documents.mark_decided(appeal.request_id)
    language = notices.language_of(appeal.account_id or "")
    notices.sms(details["old_phone"], PHONE_CHANGED_SMS, language=language)
    notifications.enqueue(
        "email", details["email"], PHONE_CHANGED, PHONE_CHANGED_SUBJECT, language=language
    )
    notices.sms(details["new_phone"], NEW_PHONE_SMS, language=language)


def after_reject(appeal: AppealModel) -> None:
    """Photos tagged for deletion, the borrower told why."""

    documents.mark_decided(appeal.request_id)
    outcome.notify_rejected(appeal)


KIND = outcome.AppealKind(
    type=rules.PHONE_CHANGE,
    role=SUPPORT,
    outcomes={
        rules.APPROVED: (commit_approve, after_approve),
        rules.REJECTED: (outcome.commit_reject, after_reject),
    },
    review_part=review_part,
)


# --- expiry: the ``expire_appeals`` schedule --------------------------------------------

EXPIRY_ACTOR = "system:expire_requests"


class _ChangedMeanwhile(Exception):
    """The appeal or its guard changed since it was read: not this run's to expire."""


def cutoff(moment: datetime | None = None) -> str:
    """Phone changes filed before this ISO time are past their age."""
    days = get_settings().phone_change_expiry_days
    return clock.iso((moment or clock.now()) - timedelta(days=days))


def expire_abandoned(moment: datetime | None = None) -> dict[str, int]:
    """Cancel every phone change still awaiting documents past its age; returns counts.

    One still ``awaiting_documents`` ``phone_change_expiry_days`` after filing
    (default 7, when its code has expired too) becomes ``cancelled`` and its
    open-appeal guard goes in the same transaction (with an audit entry), so the
    borrower can start again; then its objects are deleted and the borrower is
    told by SMS. Found with a Query on the ``by_status`` index (status,
    created_at), never a Scan. Safe to run any number of times, also while the
    borrower finishes the appeal: the cancellation is a conditional write on the
    status (and the version), so one that reached review meanwhile is left alone.
    """
    limit = cutoff(moment)
    found = cancelled = 0
    candidates = [
        item.request_id
        for item in AppealModel.by_status.query(
            rules.AWAITING_DOCUMENTS, AppealModel.created_at < limit
        )
    ]
    for appeal_id in candidates:
        found += 1
        if cancel_abandoned(appeal_id, limit):
            cancelled += 1
    result = {"found": found, "cancelled": cancelled}
    logger.info("expired requests cancelled", extra=result)
    return result


def cancel_abandoned(appeal_id: str, limit: str) -> bool:
    """Cancel one unfinished phone change filed before ``limit``; False if it moved on."""
    try:
        appeal = common.load(appeal_id)
    except NotFound:
        return False
    if not _awaiting_documents(appeal) or appeal.created_at >= limit:
        return False
    rules.check_transition(appeal.type, appeal.status, rules.CANCELLED)
    account_id = appeal.account_id or ""
    lookup = common.open_guard(appeal.type, account_id)
    try:
        guard: Any = IdentifierModel.get(lookup, consistent_read=True)
    except DoesNotExist:
        guard = None
    try:
        with tx.write() as t:
            t.update(
                appeal,
                actions=[
                    AppealModel.status.set(rules.CANCELLED),
                    AppealModel.queue.remove(),
                    AppealModel.updated_at.set(clock.iso(clock.now())),
                ],
                condition=AppealModel.status == rules.AWAITING_DOCUMENTS,
                on_fail=_ChangedMeanwhile,
            )
            if guard is not None and guard.account_id == appeal_id:
                t.delete(
                    guard,
                    condition=IdentifierModel.account_id == appeal_id,
                    on_fail=_ChangedMeanwhile,
                )
            t.put(
                audit.new_entry(EXPIRY_ACTOR, "phone_change_expired", account_id, target=appeal_id)
            )
    except _ChangedMeanwhile:
        logger.info("expiring request changed meanwhile", extra={"request_id": appeal_id})
        return False
    logger.info("phone change expired", extra={"request_id": appeal_id})
    _after_cancel(appeal)
    return True


def _after_cancel(appeal: AppealModel) -> None:
    """Delete the appeal's objects and tell the borrower; failures are logged, not raised."""

    try:
        documents.delete_documents(appeal.request_id)
    except Exception as exc:
        # The consistency checker reports a cancelled appeal that keeps objects.
        logger.error(
            "documents of an expired request not deleted",
            extra={"request_id": appeal.request_id, "error": type(exc).__name__},
        )
    try:
        account = AccountModel.get(appeal.account_id, consistent_read=True)
        if account.status == AccountStatus.DELETED or not account.pii:
            return
        phone = account_pii(account)["phone"]
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
            extra={"request_id": appeal.request_id, "error": type(exc).__name__},
        )
