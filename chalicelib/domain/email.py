"""E-mail addresses: normalisation for login and storage, masking."""

from __future__ import annotations

from chalicelib.errors import InvalidValue
from chalicelib.i18n import N_, Msg

#: RFC 5321 path limit: no deliverable address is longer.
MAX_EMAIL_LENGTH = 254

_MSG_FORMAT = N_("Укажите адрес электронной почты в виде name@example.kz.")
_MSG_LATIN = N_("Укажите адрес электронной почты латинскими буквами, например name@example.kz.")
_MSG_NO_DOMAIN_END = N_(
    "В адресе не хватает окончания после точки: например, name@gmail.com или name@mail.kz."
)
_MSG_LENGTH = Msg(
    N_("Адрес электронной почты должен быть не длиннее {max} символов."), max=MAX_EMAIL_LENGTH
)


def normalize_email(raw: str) -> str:
    """A syntactically valid address, normalised and lower-cased entirely.

    Lower-casing the local part too is a product decision: logins must accept
    upper-case spellings, and no mainstream mailbox provider is case-sensitive.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidValue(_MSG_FORMAT)
    text = raw.strip()
    if len(text) > MAX_EMAIL_LENGTH:
        raise InvalidValue(_MSG_LENGTH)
    # Lazy import keeps module import cheap (STYLE.md "No heavy import at import time").
    # lazy: email-validator ≈ 60 ms CPU at cold start; only normalize_email() needs it
    from email_validator import EmailNotValidError, validate_email

    try:
        # DESIGN.md "Platform facts": email-validator checks DNS unless told not to.
        # SMTPUTF8 is refused: the local part must be ASCII so any relay can deliver.
        result = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidValue(_format_message(text)) from exc
    normalized = result.normalized.lower()
    if len(normalized) > MAX_EMAIL_LENGTH:
        raise InvalidValue(_MSG_LENGTH)
    return normalized


def _format_message(text: str) -> str:
    """What is wrong with an address email-validator refused, in the borrower's terms."""
    if not text.isascii():
        return _MSG_LATIN
    local, at, domain = text.rpartition("@")
    if at and local and domain and "." not in domain and domain.isalnum():
        return _MSG_NO_DOMAIN_END  # name@gmail: the letters are fine, the ending is missing
    return _MSG_FORMAT


def mask_email(addr: str) -> str:
    """Show an address as ``a•••@example.kz``: first character of the local part, then dots."""
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain:
        raise ValueError("mask_email expects a normalised address.")
    return f"{local[0]}•••@{domain}"
