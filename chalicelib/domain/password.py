"""Password policy (NIST SP 800-63B / ASVS 5.0 via DESIGN.md) and normalisation before hashing."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from chalicelib.errors import ValidationFailed
from chalicelib.i18n import N_, Msg

# DESIGN.md "Passwords": length >= 8, accept >= 64; we accept up to 256 and never truncate.
MIN_LENGTH = 8
MAX_LENGTH = 256
# Shorter personal strings would refuse too many innocent passwords.
MIN_PERSONAL_LENGTH = 4

MSG_LENGTH = Msg(
    N_("Пароль должен содержать от {min} до {max} символов."), min=MIN_LENGTH, max=MAX_LENGTH
)
MSG_COMMON = N_("Этот пароль слишком распространён, его легко подобрать. Придумайте другой.")
MSG_PERSONAL = N_("Пароль не должен содержать ваш ИИН, номер телефона или адрес электронной почты.")
MSG_MISMATCH = N_("Пароли не совпадают.")


def normalize_password(p: str) -> str:
    """The password in Unicode NFC, as it is measured, compared and hashed."""
    # NFC as in RFC 8265's OpaqueString profile: the same visible password typed
    # on different keyboards (composed or decomposed letters) hashes the same.
    return unicodedata.normalize("NFC", p)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # Lazy and cached: zxcvbn's lists cost ~49 ms to import (DESIGN.md "Import costs").
    # In zxcvbn 4.5.0 FREQUENCY_LISTS["passwords"] is already a list of lower-case words.
    # lazy: zxcvbn's word lists ≈ 65 ms CPU at cold start; only _common_passwords() needs it
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"])


def is_common_password(p: str) -> bool:
    """Whether ``p`` is on zxcvbn's list of frequent passwords (case-insensitive)."""
    return normalize_password(p).casefold() in _common_passwords()


def check_password(password: str, confirm: str, personal: Iterable[str] = ()) -> None:
    """Refuse a new password (ValidationFailed on ``password`` / ``password_confirm``).

    ``personal`` holds what must not appear inside the password, e.g. the IIN,
    the phone digits and the e-mail local part (case-insensitive; strings
    shorter than 4 characters are ignored).
    """
    errors: dict[str, str] = {}
    if not isinstance(password, str):
        errors["password"] = MSG_LENGTH
        password = ""
    pw = normalize_password(password)
    folded = pw.casefold()
    # Length in code points after NFC: no composition rules, no truncation.
    if not MIN_LENGTH <= len(pw) <= MAX_LENGTH:
        errors["password"] = MSG_LENGTH
    elif folded in _common_passwords():
        # DESIGN.md "Passwords": reject common/breached passwords.
        errors["password"] = MSG_COMMON
    elif any(
        isinstance(item, str)
        and len(item.strip()) >= MIN_PERSONAL_LENGTH
        and normalize_password(item.strip()).casefold() in folded
        for item in personal
    ):
        errors["password"] = MSG_PERSONAL
    confirm_text = confirm if isinstance(confirm, str) else ""
    if normalize_password(confirm_text) != pw:
        errors["password_confirm"] = MSG_MISMATCH
    if errors:
        raise ValidationFailed(errors)
