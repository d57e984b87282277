"""Progressive back-off on repeated sign-in failures, shared by borrowers and staff.

Failures are counted per *subject* (``login:<blind index>`` for a borrower's
identifier, ``staff-login:<blind index>`` for a staff username), whether or not
the subject exists, so the 429s tell nobody which logins exist. After
``login_free_failures`` (5) consecutive failures each attempt waits 1 s,
doubling per further failure up to 15 min (``login_delay_*`` settings), and is
refused with 429 *before* any password check; a success resets the count
(ASVS 5.0 V6.3, NIST SP 800-63B §5.2.2). The counters live in ``hava-throttles``
(``storage.throttles``).
"""

from __future__ import annotations

from chalicelib.config import get_settings
from chalicelib.errors import RateLimited, wait_text
from chalicelib.i18n import N_, Msg
from chalicelib.logs import logger

#: A template: ``{wait}`` is filled (and translated) when refused.
LOCKED_MESSAGE = N_(
    "Слишком много неудачных попыток входа. Повторите через {wait} или восстановите пароль."
)


def refuse_if_locked(
    subject: str, state: tuple[int, int] | None = None, *, message: str = LOCKED_MESSAGE
) -> int:
    """The failure count of ``subject`` (or of its already read ``state``); 429 while locked."""
    # lazy: storage.throttles loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only refuse_if_locked() needs it
    from chalicelib.storage import throttles

    failures, locked_for = state or throttles.failure_state(subject)
    if locked_for > 0:
        raise RateLimited(locked_for, Msg(message, wait=wait_text(locked_for)))
    return failures


def record_failure(subject: str) -> int:
    """Count one failure of ``subject`` under the sign-in rules; the new count."""
    # lazy: storage.throttles loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only record_failure() needs it
    from chalicelib.storage import throttles

    settings = get_settings()
    count = throttles.add_failure(
        subject,
        free=settings.login_free_failures,
        base=settings.login_delay_base_seconds,
        cap=settings.login_delay_max_seconds,
        memory=settings.login_failure_memory_seconds,
    )
    logger.info("sign-in failed")
    return count
