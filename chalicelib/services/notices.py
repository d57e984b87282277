"""SMS notices (new device, password changed, decisions…) within the budgets of their number.

Codes are budgeted by ``codes.limit_sends`` and refused with a 429. A notice
follows an action that has already happened, so it is never refused: it is
queued, merged into one already sent today (``merge_key``), or dropped over
the number's notice budgets or the global one (``codes.allow_notice``) with a
``security_event`` log line. Notice texts are written here and in the services;
nothing a client sent ever goes into one (a device is named by
``domain.devices.device_family``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.adapters import crypto
from chalicelib.i18n import normalise
from chalicelib.logs import logger

if TYPE_CHECKING:
    from chalicelib.services.codes import NoticeOutcome


def language_of(account_id: str) -> str:
    """The language of an account's SMS and e-mail (``"ru"`` when unset or the account is gone)."""
    # lazy: storage.accounts loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only language_of() needs it
    from pynamodb.exceptions import DoesNotExist

    from chalicelib.storage.accounts import AccountModel

    try:
        account = AccountModel.get(account_id, attributes_to_get=["language"])
    except DoesNotExist:
        return "ru"
    return normalise(account.language)


def sms(
    phone: str, text: str, *, merge_key: str | None = None, language: str = "ru"
) -> NoticeOutcome:
    """Queue an SMS notice to ``phone`` if its budgets allow; say what became of it.

    ``text`` is a Russian msgid or ``i18n.Msg``, sent in ``language`` (the account's).
    """
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only sms() needs it
    from chalicelib.services import codes, notifications

    outcome = codes.allow_notice(crypto.blind_index("phone", phone), merge_key)
    if outcome == "queued":
        notifications.enqueue("sms", phone, text, language=language)
    elif outcome == "over_budget":
        logger.warning("security_event", extra={"event": "notice_dropped", "scope": "notice"})
    return outcome


def email(
    address: str,
    subject: str,
    text: str,
    *,
    merge_key: str | None = None,
    language: str = "ru",
) -> NoticeOutcome:
    """Queue an e-mail notice; with ``merge_key``, at most one of that key per day."""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only email() needs it
    from chalicelib.services import codes, notifications

    if merge_key is not None and not codes.first_today(f"email:{merge_key}"):
        return "merged"
    notifications.enqueue("email", address, text, subject=subject, language=language)
    return "queued"
