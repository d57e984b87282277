"""Inbound e-mail, pure parts: subject matching, the new number, the MIME walk, trust.

No AWS here: ``workers.inbound`` feeds these functions the SES notification and the
raw message, and acts on what they return. The standard library's ``email``
package (``policy.default``) decodes headers, transfer encodings and charsets
(koi8-r, windows-1251, …); ``walk()`` descends nested multiparts and attached
messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from typing import Any

#: SES rejects bigger messages anyway (its limit is 40 MB); ours is the seed's 25 MB.
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
MAX_ATTACHMENTS = 10

PHONE_CHANGE = "phone_change"
SUBJECTS = {
    PHONE_CHANGE: ("изменить номер телефона", "телефон нөмірін өзгерту"),
}
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|fw|aw|wg|sv|отв|ответ|пересл|жауап)(?:\s*\[\d+\]|\s*\(\d+\))?\s*:\s*)+",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
#: Words on the line of the number that mean "the new one" (Russian, Kazakh, English).
_NEW_MARKERS = ("нов", "жаңа", "new")
_DOC_HINTS = {
    "selfie": ("selfie", "селфи", "self"),
    "id_back": ("back", "оборот", "обрат", "артқы", "reverse"),
    "id_front": ("front", "лицев", "алдыңғы", "face"),
}


def normalize_subject(subject: str | None) -> str:
    """Lower case, ``ё`` → ``е``, single spaces, every ``Re:``/``Fwd:``/``Fw:`` prefix removed."""
    text = _SPACES.sub(" ", str(subject or "")).strip()
    previous = None
    while previous != text:
        previous = text
        text = _REPLY_PREFIX.sub("", text).strip()
    return text.casefold().replace("ё", "е").strip(" .!«»\"'")


def match_subject(subject: str | None) -> str | None:
    """The request kind a subject asks for (``"phone_change"``), or None."""
    text = normalize_subject(subject)
    for kind, phrases in SUBJECTS.items():
        if any(phrase in text for phrase in phrases):
            return kind
    return None


def parse_new_number(text: str) -> str | None:
    """The Kazakh mobile number the body gives (E.164), or None.

    With several numbers, the one on a line saying "new" (новый / жаңа / new) wins,
    else the first one.
    """
    # Lazy: phonenumbers costs ~25 ms to import (DESIGN.md "Import costs").
    # lazy: phonenumbers ≈ 54 ms CPU at cold start; only parse_new_number() needs it
    import phonenumbers

    found: list[tuple[bool, str]] = []
    for line in (text or "")[:20_000].splitlines():
        marked = any(marker in line.casefold() for marker in _NEW_MARKERS)
        for match in phonenumbers.PhoneNumberMatcher(line, "KZ"):
            number = match.number
            if (
                phonenumbers.region_code_for_number(number) == "KZ"
                and phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
            ):
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                found.append((marked, e164))
    if not found:
        return None
    for marked, e164 in found:
        if marked:
            return e164
    return found[0][1]


@dataclass(frozen=True)
class Attachment:
    """One attached file: its name as sent, declared type and decoded bytes."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    """What the worker needs of a message."""

    from_address: str
    subject: str
    message_id: str
    references: str
    body: str
    attachments: list[Attachment] = field(default_factory=list)
    too_many_attachments: bool = False
    automatic: bool = False


def parse_message(raw: bytes) -> EmailMessage:
    """The message as an ``EmailMessage`` (modern API, decoded headers)."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, UnicodeError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def _strip_html(html: str) -> str:
    text = re.sub(r"(?is)<(script|style).*?</\1>", " ", html)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
    return re.sub(r"<[^>]+>", " ", text)


def walk(message: EmailMessage) -> tuple[str, list[Attachment], bool]:
    """``(body text, attachments, too_many)`` over every nested part.

    The body is the first text/plain part that is not an attachment (else the first
    text/html, tags removed). An attachment is a part with a file name or marked
    ``attachment``, or any non-text leaf (inline photos count too).
    """
    plain: str | None = None
    html: str | None = None
    attachments: list[Attachment] = []
    too_many = False
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() == "message":
            continue
        assert isinstance(part, EmailMessage)
        filename = part.get_filename()
        maintype = part.get_content_maintype()
        if filename or part.is_attachment() or maintype not in ("text",):
            if len(attachments) >= MAX_ATTACHMENTS:
                too_many = True
                continue
            payload = part.get_payload(decode=True)
            attachments.append(
                Attachment(
                    filename=str(filename or ""),
                    content_type=part.get_content_type(),
                    data=payload if isinstance(payload, bytes) else b"",
                )
            )
        elif part.get_content_subtype() == "plain" and plain is None:
            plain = _text_of(part)
        elif part.get_content_subtype() == "html" and html is None:
            html = _strip_html(_text_of(part))
    return plain if plain is not None else (html or ""), attachments, too_many


def address_of(header_value: Any) -> str:
    """The bare address of a ``From``-like header, lower case ('' if none)."""
    addresses = getattr(header_value, "addresses", None)
    if addresses:
        address = str(addresses[0].addr_spec)
    else:
        text = str(header_value or "")
        pairs = getaddresses([text])
        address = pairs[0][1] if pairs and pairs[0][1] else parseaddr(text)[1]
    if "<" in address or " " in address.strip():
        address = parseaddr(address)[1]
    return address.strip().lower()


def is_automatic(message: EmailMessage, return_path: str | None) -> bool:
    """True for auto-replies, bounces and list mail (RFC 3834): never answer those."""
    auto = str(message.get("Auto-Submitted", "") or "").strip().lower()
    if auto and not auto.startswith("no"):
        return True
    if str(message.get("Precedence", "") or "").strip().lower() in ("bulk", "list", "junk"):
        return True
    if message.get("List-Id") or message.get("List-Unsubscribe"):
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    sender = (return_path or "").strip().strip("<>").strip().lower()
    if not sender or sender.startswith(("mailer-daemon", "postmaster")):
        return True
    from_local = address_of(message.get("From")).split("@")[0]
    return from_local in ("mailer-daemon", "postmaster")


def read(raw: bytes, return_path: str | None) -> ParsedMail:
    """Parse ``raw`` into what the worker acts on."""
    message = parse_message(raw)
    body, attachments, too_many = walk(message)
    return ParsedMail(
        from_address=address_of(message.get("From")),
        subject=str(message.get("Subject", "") or ""),
        message_id=str(message.get("Message-ID", "") or "").strip(),
        references=str(message.get("References", "") or "").strip(),
        body=body,
        attachments=attachments,
        too_many_attachments=too_many,
        automatic=is_automatic(message, return_path),
    )


def verdicts_pass(receipt: dict[str, Any]) -> bool:
    """SPF or DKIM passes and DMARC does not fail (SES receipt verdicts)."""

    def status(name: str) -> str:
        value = receipt.get(name) or {}
        return str(value.get("status", "") if isinstance(value, dict) else "").upper()

    authenticated = status("spfVerdict") == "PASS" or status("dkimVerdict") == "PASS"
    return authenticated and status("dmarcVerdict") != "FAIL"


def guess_document(filename: str) -> str | None:
    """Which document a file name suggests (``selfie`` / ``id_back`` / ``id_front``), if any."""
    name = filename.casefold()
    for doc, hints in _DOC_HINTS.items():
        if any(hint in name for hint in hints):
            return doc
    return None


def assign_documents(names: list[str], documents: tuple[str, ...]) -> dict[str, int]:
    """``{doc: index into names}``: names that hint a document first, then in order.

    Staff relabel afterwards when the guess is wrong.
    """
    assigned: dict[str, int] = {}
    used: set[int] = set()
    for index, name in enumerate(names):
        doc = guess_document(name)
        if doc in documents and doc not in assigned:
            assigned[doc] = index
            used.add(index)
    free = [i for i in range(len(names)) if i not in used]
    for doc in documents:
        if doc not in assigned and free:
            assigned[doc] = free.pop(0)
    return assigned


def reply_subject(subject: str) -> str:
    """``Re: <subject>`` (once)."""
    subject = _SPACES.sub(" ", subject or "").strip()
    return subject if subject.lower().startswith("re:") else f"Re: {subject}".strip()
