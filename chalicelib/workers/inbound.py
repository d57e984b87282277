"""SQS consumer of ``hava-inbound``: e-mail to the phone-change and security addresses.

SES stores each message in the documents bucket (``inbound/``) and notifies the
queue (through SNS, or directly in the local stack). Per message:

1. already handled (the guard item ``inbound#<hmac of SES id>``) → nothing;
2. the raw message from S3 (≤ 25 MB), parsed by ``domain.inbound_mail``;
3. trust: SPF or DKIM passes, DMARC does not fail, and ``From`` is a cabinet's
   registered e-mail (the login's blind index). Otherwise nothing is created
   (a break-in report becomes the anonymous one) and the sender gets one neutral
   reply that never says whether the address belongs to a cabinet;
4. phone change: filed (``services.appeals.phone_change.file_by_email``) or the reply lists exactly
   what is missing; break-in: the signed-in report's effects;
5. the guard item is written last, then the reply is queued (so a failure before
   it lets SQS redeliver; the request id derives from the SES id, so a redelivery
   finds the request already filed instead of filing a second one).

No reply to auto-replies, bounces and lists; at most ``inbound_replies_per_hour``
replies per address; every reply is ``Auto-Submitted: auto-replied`` and threads
(``In-Reply-To``/``References``). Logs carry SES ids' HMACs and outcomes only.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import i18n
from chalicelib.adapters import crypto
from chalicelib.adapters.aws import client
from chalicelib.config import get_settings
from chalicelib.domain import inbound_mail as mail
from chalicelib.errors import RateLimited
from chalicelib.i18n import N_
from chalicelib.logs import logger
from chalicelib.services import notices, notifications
from chalicelib.storage import throttles
from chalicelib.storage.accounts import IdentifierModel, claim_marker, inbound_guard_key

INBOUND_PREFIX = "inbound/"
NEUTRAL_TEXT = N_(
    "Здравствуйте!\n\nВаше письмо получено. Если этот адрес принадлежит личному кабинету "
    "Hava, обращение будет обработано.\n\nЕсли вы потеряли доступ к кабинету, позвоните на "
    "горячую линию.\n\n— Hava (письмо отправлено автоматически)"
)


class PoisonMessage(ValueError):
    """A message that cannot be a SES notification: retries will not help (DLQ)."""


def handle_batch(event: Any) -> None:
    """Chalice ``SQSEvent`` → one message at a time (batch_size is 1)."""
    for record in event:
        message_id = record.to_dict().get("messageId", "")
        try:
            handle_body(record.body)
        except Exception as exc:
            logger.error(
                "inbound mail failed", extra={"sqs_id": message_id, "error": type(exc).__name__}
            )
            raise


def notification_of(body: str) -> dict[str, Any] | None:
    """The SES notification in an SQS body (raw, or inside an SNS envelope); None for others."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise PoisonMessage("not JSON") from exc
    if isinstance(document, dict) and document.get("Type") == "Notification":
        try:
            document = json.loads(str(document.get("Message", "")))
        except ValueError as exc:
            raise PoisonMessage("SNS message is not JSON") from exc
    if not isinstance(document, dict):
        raise PoisonMessage("not an object")
    if document.get("notificationType") != "Received":
        # SES's "AMAZON_SES_SETUP_NOTIFICATION" and SNS subscription chatter.
        logger.info(
            "inbound notification skipped", extra={"kind": document.get("notificationType")}
        )
        return None
    return document


def _guard_key(ses_id: str) -> str:
    return inbound_guard_key(crypto.blind_index("inbound", ses_id).split("#", 1)[1])


def _handled(ses_id: str) -> bool:
    return IdentifierModel.count(_guard_key(ses_id), limit=1) > 0


def _claim(ses_id: str) -> bool:
    """Write the guard item; False when another delivery of the same message won."""
    return claim_marker(_guard_key(ses_id), "inbound")


def _raw_message(receipt: dict[str, Any], ses_id: str) -> bytes | None:
    """The stored message, or None when it is not where this stage keeps inbound mail."""
    action = receipt.get("action") or {}
    bucket = action.get("bucketName")
    key = str(action.get("objectKey") or "")
    if not key:
        prefix = str(action.get("objectKeyPrefix") or "")
        key = f"{prefix}{ses_id}"
    if bucket != get_settings().documents_bucket or not key.startswith(INBOUND_PREFIX):
        logger.warning("inbound mail outside the inbound prefix ignored")
        return None
    s3 = client("s3")
    head = s3.head_object(Bucket=bucket, Key=key)
    if int(head.get("ContentLength", 0)) > mail.MAX_MESSAGE_BYTES:
        logger.warning("inbound mail over 25 MB ignored")
        return None
    data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def handle_body(body: str) -> None:
    """One SQS body: act on the message once."""
    notification = notification_of(body)
    if notification is None:
        return
    mail_info = notification.get("mail") or {}
    receipt = notification.get("receipt") or {}
    ses_id = str(mail_info.get("messageId") or "")
    if not ses_id:
        raise PoisonMessage("no messageId")
    if _handled(ses_id):
        logger.info("inbound mail already handled")
        return
    raw = _raw_message(receipt, ses_id)
    if raw is None:
        _claim(ses_id)
        return
    parsed = mail.read(raw, mail_info.get("source"))
    reply = decide(ses_id, notification, parsed)
    if not _claim(ses_id):
        return
    if reply is not None and not parsed.automatic:
        send_reply(parsed, *reply)


def _recipient_kind(notification: dict[str, Any]) -> str | None:
    settings = get_settings()
    receipt = notification.get("receipt") or {}
    recipients = [str(r).lower() for r in receipt.get("recipients") or []]
    if settings.phone_change_address in recipients:
        return "phone_change"
    if settings.security_address in recipients:
        return "security"
    return None


def decide(
    ses_id: str, notification: dict[str, Any], parsed: mail.ParsedMail
) -> tuple[str, str] | None:
    """Act on the message; ``(subject, text)`` of the reply, or None for no reply."""
    # lazy: services.appeals loads 30 chalicelib modules (≈ 87 ms CPU at cold start);
    # only decide() needs it
    from chalicelib.services.appeals import by_email, compromise, phone_change

    kind = _recipient_kind(notification)
    trusted = mail.verdicts_pass(notification.get("receipt") or {})
    account_id = by_email.account_for_address(parsed.from_address) if trusted else None
    # The reply is in the account's language; a sender with no account gets Russian.
    language = notices.language_of(account_id) if account_id else i18n.DEFAULT
    subject = mail.reply_subject(parsed.subject or i18n.gettext(language, N_("Обращение в Hava")))
    outcome = "neutral"
    try:
        if kind == "security":
            if parsed.automatic:
                outcome = "automatic"
                return None
            try:
                compromise.report_by_email(
                    account_id, parsed.from_address, f"{parsed.subject}\n\n{parsed.body}"
                )
            except RateLimited:
                outcome = "rate_limited"
                return None
            if account_id is None:
                return subject, i18n.gettext(language, NEUTRAL_TEXT)
            outcome = "compromise"
            return subject, i18n.gettext(language, COMPROMISE_TEXT)
        if kind != "phone_change" or account_id is None:
            return subject, i18n.gettext(language, NEUTRAL_TEXT)
        if parsed.automatic:
            outcome = "automatic"
            return None
        if mail.match_subject(parsed.subject) != mail.PHONE_CHANGE:
            outcome = "wrong_subject"
            return subject, i18n.gettext(language, WRONG_SUBJECT_TEXT)
        if parsed.too_many_attachments:
            outcome = "too_many_attachments"
            return subject, i18n.render(language, TOO_MANY_TEXT, limit=mail.MAX_ATTACHMENTS)
        result = phone_change.file_by_email(account_id, ses_id, parsed)
        if result.appeal is not None:
            outcome = "filed"
            return subject, i18n.render(
                language,
                FILED_TEXT,
                request_id=result.appeal.request_id,
                due_on=result.appeal.due_on,
            )
        if result.problem:
            outcome = "refused"
            return subject, i18n.render(language, PROBLEM_TEXT, problem=result.problem)
        outcome = "missing"
        items = "\n".join(f"— {i18n.localise(item, language)}" for item in result.missing or [])
        return subject, i18n.render(language, MISSING_TEXT, items=items)
    finally:
        logger.info(
            "inbound mail handled",
            extra={"recipient": kind, "trusted": account_id is not None, "outcome": outcome},
        )


FILED_TEXT = N_(
    "Здравствуйте!\n\nЗаявка на изменение номера телефона принята, её номер: {request_id}.\n"
    "На новый номер отправлено SMS со ссылкой: откройте её, чтобы подтвердить, что номер ваш. "
    "После этого заявку рассмотрит служба поддержки (срок — до {due_on}). Статус заявки виден "
    "в кабинете в разделе «Мои заявки».\n\n— Hava (письмо отправлено автоматически)"
)
MISSING_TEXT = N_(
    "Здравствуйте!\n\nЧтобы принять заявку на изменение номера телефона, не хватает:\n{items}\n\n"
    "Ответьте на это письмо, не меняя тему: укажите новый номер в тексте письма и приложите "
    "три фото (JPEG или PNG) — лицевую и оборотную стороны удостоверения личности и селфи с "
    "удостоверением в руке.\n\n— Hava (письмо отправлено автоматически)"
)
WRONG_SUBJECT_TEXT = N_(
    "Здравствуйте!\n\nНа этот адрес принимаются заявки на изменение номера телефона. Отправьте "
    "письмо с темой «Изменить номер телефона» (или «Телефон нөмірін өзгерту»), новым номером в "
    "тексте и тремя фото: лицевая и оборотная стороны удостоверения личности и селфи с ним.\n\n"
    "— Hava (письмо отправлено автоматически)"
)
TOO_MANY_TEXT = N_(
    "Здравствуйте!\n\nВ письме слишком много вложений: не больше {limit}. Приложите только три "
    "фото — лицевую и оборотную стороны удостоверения и селфи с ним.\n\n"
    "— Hava (письмо отправлено автоматически)"
)
PROBLEM_TEXT = N_("Здравствуйте!\n\n{problem}\n\n— Hava (письмо отправлено автоматически)")
COMPROMISE_TEXT = N_(
    "Здравствуйте!\n\nСообщение о взломе получено. Все сеансы кабинета завершены, прежний "
    "пароль больше не действует. Задайте новый пароль: «Забыли пароль?» на странице входа "
    "(код придёт по SMS). Специалист службы безопасности рассмотрит обращение.\n\n"
    "— Hava (письмо отправлено автоматически)"
)


def send_reply(parsed: mail.ParsedMail, subject: str, text: str) -> bool:
    """Queue a reply that threads, unless the address had its share this hour."""

    if "@" not in parsed.from_address:
        return False
    limit = get_settings().inbound_replies_per_hour
    try:
        throttles.consume(
            f"inbound-reply:{crypto.blind_index('email', parsed.from_address)}", limit, 3600
        )
    except RateLimited:
        logger.info("inbound reply suppressed by the rate limit")
        return False
    headers = {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}
    if parsed.message_id:
        headers["In-Reply-To"] = parsed.message_id
        headers["References"] = f"{parsed.references} {parsed.message_id}".strip()
    notifications.enqueue("email", parsed.from_address, text, subject, headers=headers)
    return True
