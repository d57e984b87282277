"""Structured JSON logs (Powertools Logger), created on first use, with a redaction guard.

Code never logs personal data on purpose; the filter below is the second line:
anything that looks like an IIN, a phone number, an e-mail address or a bearer
token is replaced before the record is written.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

_PATTERNS = [
    (re.compile(r"(?<!\d)\d{12}(?!\d)"), "[iin]"),
    (re.compile(r"\+?\b[78][\s(-]*7\d{2}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}\b"), "[phone]"),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?i)bearer\s+\S+"), "Bearer [token]"),
]


def redact(text: str) -> str:
    """``text`` with anything that looks like personal data or a token masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks personal data in the message and in every string extra."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        for key, value in list(vars(record).items()):
            if isinstance(value, str) and key not in {"msg", "name", "levelname", "pathname"}:
                setattr(record, key, redact(value))
        return True


@lru_cache(maxsize=1)
def _logger() -> Any:
    from aws_lambda_powertools import Logger

    log = Logger(service="hava-cabinet")
    log.addFilter(RedactingFilter())
    return log


class _LazyLogger:
    """Forwards to the Powertools Logger, created at the first log call."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_logger(), name)


logger: Any = _LazyLogger()
