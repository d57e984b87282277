"""Kazakh mobile numbers: normalisation to E.164, masking, login-kind heuristic."""

from __future__ import annotations

import re

from chalicelib.errors import InvalidValue
from chalicelib.i18n import N_

_MSG_FORMAT = N_("Укажите номер мобильного телефона в формате +7 7XX XXX XX XX.")
_MSG_NOT_KZ = N_("Принимаются только казахстанские мобильные номера: +7 7XX XXX XX XX.")
_MSG_NOT_MOBILE = N_("Укажите номер мобильного, а не городского телефона: +7 7XX XXX XX XX.")

# Longer than any spelling of a phone number: refuse before parsing.
_MAX_RAW_LENGTH = 32
_E164_KZ = re.compile(r"\+7[0-9]{10}")


def normalize_kz_mobile(raw: str) -> str:
    """Any usual spelling of a Kazakh mobile number as E.164 (``+77011234567``)."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > _MAX_RAW_LENGTH:
        raise InvalidValue(_MSG_FORMAT)
    # Lazy: phonenumbers costs ~25 ms to import (DESIGN.md "Import costs").
    # lazy: phonenumbers ≈ 54 ms CPU at cold start; only normalize_kz_mobile() needs it
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, "KZ")
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue(_MSG_FORMAT) from exc
    if number.extension or not phonenumbers.is_valid_number(number):
        raise InvalidValue(_MSG_FORMAT)
    # DESIGN.md "Phones": +7 is shared with Russia (+7 9xx); only KZ mobiles pass.
    if phonenumbers.region_code_for_number(number) != "KZ":
        raise InvalidValue(_MSG_NOT_KZ)
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
        raise InvalidValue(_MSG_NOT_MOBILE)
    # DESIGN.md "Phones": store E.164.
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """Show a +7 number as ``+7 701 ••• •• 67``."""
    if not _E164_KZ.fullmatch(e164):
        raise ValueError("mask_phone expects an E.164 number +7XXXXXXXXXX.")
    return f"+7 {e164[2:5]} ••• •• {e164[10:]}"
