"""Kazakh individual identification number (ИИН): parsing, check digit, age, masking.

python-stdnum has no Kazakh module, so the rules of DESIGN.md "IIN" are written
(and tested) here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from chalicelib.errors import InvalidValue
from chalicelib.i18n import N_, plural

_DIGITS_12 = re.compile(r"[0-9]{12}")
_WHITESPACE = re.compile(r"\s+")

# DESIGN.md "IIN": digit 7 encodes century and sex; odd = male.
_CENTURY_BY_DIGIT = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}
# DESIGN.md "IIN": first pass weights 1..11, second pass 3..11,1,2 (both mod 11).
_WEIGHTS_FIRST = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_WEIGHTS_SECOND = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)

_MSG_FORMAT = N_("ИИН должен состоять из 12 цифр.")
_MSG_INVALID = N_("ИИН указан неверно. Проверьте номер по удостоверению личности.")


@dataclass(frozen=True)
class Iin:
    """A parsed, valid IIN."""

    value: str
    birth_date: date
    sex: str  # "M"/"F"


def check_digit(first_eleven: str) -> int | None:
    """The 12th digit for ``first_eleven`` digits, or None when no valid one exists."""
    digits = [int(c) for c in first_eleven]
    for weights in (_WEIGHTS_FIRST, _WEIGHTS_SECOND):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if remainder != 10:
            return remainder
    # DESIGN.md "IIN": 10 after both passes means no such IIN can be issued.
    return None


def parse_iin(raw: str) -> Iin:
    """Parse and validate an IIN typed by a person (spaces allowed); InvalidValue if bad."""
    if not isinstance(raw, str):
        raise InvalidValue(_MSG_FORMAT)
    value = _WHITESPACE.sub("", raw)
    if not _DIGITS_12.fullmatch(value):
        raise InvalidValue(_MSG_FORMAT)
    # Digit 7: century and sex (DESIGN.md "IIN").
    marker = int(value[6])
    century = _CENTURY_BY_DIGIT.get(marker)
    if century is None:
        raise InvalidValue(_MSG_INVALID)
    try:
        birth = date(century + int(value[0:2]), int(value[2:4]), int(value[4:6]))
    except ValueError as exc:
        # Digits 1-6 must be a real calendar date (no 31 February).
        raise InvalidValue(_MSG_INVALID) from exc
    if check_digit(value[:11]) != int(value[11]):
        raise InvalidValue(_MSG_INVALID)
    return Iin(value=value, birth_date=birth, sex="M" if marker % 2 else "F")


def age_on(birth: date, today: date) -> int:
    """Full years lived on ``today`` (someone born on 29 Feb ages on 1 Mar in common years)."""
    had_birthday = (today.month, today.day) >= (birth.month, birth.day)
    return today.year - birth.year - (0 if had_birthday else 1)


def check_borrower_age(iin: Iin, today: date, min_age: int = 19, max_age: int = 70) -> None:
    """Refuse a borrower outside ``min_age``..``max_age`` full years (both inclusive)."""
    # DESIGN.md "Product": borrowers aged 19-70, age from the IIN's birth date.
    if not min_age <= age_on(iin.birth_date, today) <= max_age:
        # Russian: the genitive after «до N» is «года» for 1, 21, 31…, else «лет».
        raise InvalidValue(
            plural(
                "Займ доступен заёмщикам в возрасте от {min} до {n} года.",
                "Займ доступен заёмщикам в возрасте от {min} до {n} лет.",
                max_age,
                min=min_age,
            )
        )


def mask_iin(value: str) -> str:
    """Show an IIN as ``9601••••••45``: first 4 digits, six dots, last 2."""
    if not _DIGITS_12.fullmatch(value):
        raise ValueError("mask_iin expects a 12-digit IIN.")
    return f"{value[:4]}{'•' * 6}{value[10:]}"


def make_iin(birth_date: date, sex: str, serial: int) -> str:
    """Build a valid IIN (for test fixtures and local data, never for real people).

    ``serial`` fills digits 8-11; when it admits no check digit (10 after both
    passes) the next serial is used, so the result's serial may be higher.
    """
    if sex not in ("M", "F"):
        raise ValueError('sex must be "M" or "F".')
    century = birth_date.year // 100 * 100
    firsts = {1800: 1, 1900: 3, 2000: 5}
    if century not in firsts:
        raise ValueError("IINs encode birth years 1800-2099 only.")
    marker = firsts[century] + (0 if sex == "M" else 1)
    if not 0 <= serial <= 9999:
        raise ValueError("serial must be in 0..9999.")
    prefix = f"{birth_date:%y%m%d}{marker}"
    for candidate in range(serial, 10_000):
        body = f"{prefix}{candidate:04d}"
        digit = check_digit(body)
        if digit is not None:
            return f"{body}{digit}"
    raise ValueError("No valid IIN with a serial from this one up to 9999.")
