"""Structured JSON logs (Powertools Logger), created on first use, with redaction.

Code never logs personal data on purpose; redaction is the second line, at two
places so that nothing slips through:

- ``RedactingFilter`` on the logger rewrites the record itself (message, args,
  string extras, the formatted exception and stack), so any handler a record
  propagates to (the root logger's, a test's) sees it masked too;
- ``serialize`` masks the finished JSON document Powertools builds, including
  the exception text and the serialised stack trace it formats on its own.

Masked: anything that looks like an IIN, a Kazakh phone number (E.164, 8-xxx or
the 10-digit national form), an e-mail address or a bearer token, and the value
of any key named like a secret or an identifier (``password``, ``code``, …).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from functools import lru_cache
from typing import IO, Any, cast

_PATTERNS = [
    (re.compile(r"(?<!\d)\d{12}(?!\d)"), "[iin]"),
    (re.compile(r"\+?\b[78][\s(-]*7\d{2}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}\b"), "[phone]"),
    # The national form without the country code: 7xx xxx xx xx.
    (re.compile(r"(?<!\d)7\d{2}[\s-]?\d{3}[\s-]?\d{2}[\s-]?\d{2}(?!\d)"), "[phone]"),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?i)bearer\s+\S+"), "Bearer [token]"),
]
#: Keys whose values are never written, whatever they look like.
SECRET_KEYS = frozenset(
    {
        "authorization",
        "code",
        "contact",
        "current_password",
        "email",
        "iin",
        "login",
        "new_password",
        "new_password_confirm",
        "new_phone",
        "password",
        "password_confirm",
        "phone",
        "pii",
        "sealed",
        "token",
    }
)
REDACTED = "[redacted]"
#: LogRecord attributes that are never personal data (and that logging itself relies on).
_RECORD_FIELDS = frozenset({"msg", "name", "levelname", "pathname", "filename", "module"})


def redact(text: str) -> str:
    """``text`` with anything that looks like personal data or a token masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub(value: Any, key: str | None = None) -> Any:
    """A JSON-able copy of ``value`` with secrets by key and personal data by pattern masked."""
    if key is not None and key.lower() in SECRET_KEYS and value is not None:
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        masked = redact(str(value))
        return value if masked == str(value) else masked
    if isinstance(value, dict):
        return {str(k): scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(v) for v in value]
    # Exception objects, dates, anything else Powertools leaves to json's ``default``.
    return redact(str(value))


def _scrub_arg(value: Any, key: str | None = None) -> Any:
    """A ``%``-format argument masked, its type kept where ``%d``/``%f`` may need it."""
    if key is not None and key.lower() in SECRET_KEYS:
        return REDACTED
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


class RedactingFilter(logging.Filter):
    """Masks personal data in the message, the args, every extra and the exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        elif isinstance(record.msg, dict):
            record.msg = scrub(record.msg)
        if isinstance(record.args, dict):
            record.args = {k: _scrub_arg(v, str(k)) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_scrub_arg(a) for a in record.args)
        for key, value in list(vars(record).items()):
            if key in _RECORD_FIELDS or key in {"args", "exc_info", "exc_text", "stack_info"}:
                continue
            if key.lower() in SECRET_KEYS:
                setattr(record, key, REDACTED)
            elif isinstance(value, str | dict | list | tuple):
                setattr(record, key, scrub(value))
        if record.exc_info and not record.exc_text:
            # Standard formatters reuse ``exc_text`` instead of formatting ``exc_info`` again.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def serialize(document: dict[str, Any]) -> str:
    """Powertools' JSON serializer, masking the whole document first."""
    return json.dumps(scrub(document), separators=(",", ":"), ensure_ascii=False)


class _Stdout:
    """``sys.stdout`` as it is at each write (Lambda and pytest's capsys may replace it)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@lru_cache(maxsize=1)
def _logger() -> Any:
    # lazy: powertools + botocore ≈ 455 ms CPU at cold start; only _logger() needs it
    from aws_lambda_powertools import Logger

    log = Logger(
        service="hava-cabinet",
        stream=cast("IO[str]", _Stdout()),
        json_serializer=serialize,
    )
    log.addFilter(RedactingFilter())
    return log


class _LazyLogger:
    """Forwards to the Powertools Logger, created at the first log call."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_logger(), name)


logger: Any = _LazyLogger()
