"""Reading a JSON form field by field, collecting every error by field name."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any, TypeVar

from chalicelib.errors import InvalidValue, ValidationFailed
from chalicelib.i18n import N_, plural

T = TypeVar("T")

REQUIRED = N_("Заполните это поле.")
#: Letters of any script (Kazakh and Russian Cyrillic, Latin), joined by one space, hyphen or
#: apostrophe: «Әлия», «Жан-Поль», «О'Нил».
_NAME = re.compile(r"^[^\W\d_]+(?:[ '’\-][^\W\d_]+)*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def clean_text(raw: str) -> str:
    """NFC, trimmed; refuses control characters and bidirectional overrides."""
    text = unicodedata.normalize("NFC", raw).strip()
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} for ch in text):
        raise InvalidValue(N_("Поле содержит недопустимые символы."))
    return text


class Form:
    """A JSON object being read: each accessor records its own error and goes on."""

    def __init__(self, data: Mapping[str, Any], allowed: Iterable[str]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}
        for key in data:
            if key not in set(allowed):
                self.errors[str(key)[:64]] = N_("Неизвестное поле.")

    def field(self, name: str, parse: Callable[[Any], T], *, required: bool = True) -> T | None:
        """``parse(raw)``; missing or invalid values become errors on ``name``."""
        raw = self.data.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                self.errors[name] = REQUIRED
            return None
        try:
            return parse(raw)
        except InvalidValue as exc:
            self.errors[name] = exc.message
            return None

    def fail(self, name: str, message: str) -> None:
        """Record an error found by a check across fields."""
        self.errors.setdefault(name, message)

    def raise_if_invalid(self) -> None:
        """``ValidationFailed`` with every error found so far."""
        if self.errors:
            raise ValidationFailed(self.errors)


def string(max_len: int = 100) -> Callable[[Any], str]:
    """A parser for a string of at most ``max_len`` characters."""

    def parse(raw: Any) -> str:
        if not isinstance(raw, str):
            raise InvalidValue(N_("Ожидается строка."))
        text = clean_text(raw)
        if len(text) > max_len:
            raise InvalidValue(
                plural("Не длиннее {n} символа.", "Не длиннее {n} символов.", max_len)
            )
        return text

    return parse


def person_name(raw: Any) -> str:
    """A surname, name or patronymic."""
    text = string(50)(raw)
    if not _NAME.match(text):
        raise InvalidValue(N_("Только буквы, пробел, дефис или апостроф."))
    return text


def integer(raw: Any) -> int:
    """A JSON integer (not a boolean, not a float with a fraction)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InvalidValue(N_("Ожидается целое число."))
    if isinstance(raw, float) and not raw.is_integer():
        raise InvalidValue(N_("Ожидается целое число."))
    if abs(raw) > 10**12:
        raise InvalidValue(N_("Слишком большое число."))
    return int(raw)


def iso_date(raw: Any) -> date:
    """A calendar date as ``YYYY-MM-DD``."""
    if not isinstance(raw, str) or not _DATE.match(raw):
        raise InvalidValue(N_("Укажите дату в формате ГГГГ-ММ-ДД."))
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidValue(N_("Такой даты нет в календаре.")) from None


def accepted(raw: Any) -> bool:
    """An explicit ``true``."""
    if raw is not True:
        raise InvalidValue(N_("Нужно согласие на сбор и обработку персональных данных."))
    return True


def accepted_bool(raw: Any) -> bool:
    """A JSON boolean."""
    if not isinstance(raw, bool):
        raise InvalidValue(N_("Ожидается true или false."))
    return raw


def secret(raw: Any) -> str:
    """A password as typed (no trimming, no normalisation here)."""
    if not isinstance(raw, str):
        raise InvalidValue(N_("Ожидается строка."))
    if len(raw) > 1024:
        raise InvalidValue(N_("Слишком длинный пароль."))
    if not is_encodable(raw):
        raise InvalidValue(N_("Пароль содержит недопустимые символы."))
    return raw


def is_encodable(text: str) -> bool:
    """False for strings JSON can carry but UTF-8 cannot (lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
