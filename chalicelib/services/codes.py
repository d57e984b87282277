"""SMS confirmation codes, the same rules wherever one is asked for.

6 digits from a CSPRNG, stored only as a keyed HMAC bound to the challenge,
valid ``code_ttl_seconds`` (10 min), single use, void after ``code_max_attempts``
(5) wrong tries. Expiry is checked on read: TTL only cleans up.

Sends are budgeted against SMS pumping: at most one per
``code_resend_cooldown_seconds`` (60 s) per recipient, then fixed-window budgets
per recipient, per client address and for the whole service, per hour and per
day (``Settings.sms_*``). A budget hit is a 429 with ``Retry-After`` and a
``security_event`` log line that names the scope only, never a number or address.
The global budget is charged only for a message that is then queued.
Notices (``services.notices``) have their own per-number budgets (``allow_notice``).
Only Kazakh mobile numbers ever get a code: every caller takes the number from
``domain.phone.normalize_kz_mobile``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib import clock
from chalicelib.adapters import crypto
from chalicelib.config import get_settings
from chalicelib.domain import otp
from chalicelib.domain.addresses import address_group
from chalicelib.errors import (
    CodeAttemptsExhausted,
    CodeExpired,
    CodeInvalid,
    NotFound,
    RateLimited,
    wait_text,
)
from chalicelib.i18n import N_, Msg
from chalicelib.logs import logger
from chalicelib.storage import throttles
from chalicelib.storage.challenges import ChallengeModel
from chalicelib.storage.tx import OnFail, Write

HOUR = 3600
DAY = 24 * HOUR
#: What became of a notice: sent, merged into one sent today, or dropped over a budget.
NoticeOutcome = Literal["queued", "merged", "over_budget"]
BUDGET_MESSAGE = N_("Превышен лимит отправки кодов подтверждения. Повторите через {wait}.")


def address_key(client_ip: str) -> str:
    """The throttle key of a client address (keyed hash: addresses are not stored).

    IPv6 clients are keyed by their /64 (``domain.addresses``): every per-address limit
    (sign-in, registration, recovery, SMS, compromise reports) counts the whole prefix.
    """

    return crypto.blind_index("ip", address_group(client_ip))


def limit_sends(phone_index: str, client_ip: str | None = None) -> None:
    """Refuse a send inside the cooldown or over any budget (429 with ``Retry-After``).

    ``phone_index`` is the blind index of the recipient (a phone or, for e-mail
    codes, an address); ``client_ip`` adds the per-address budget. The global
    budget is charged last; a refused send gives back what it had charged.
    """
    charged = limit_recipient(phone_index, client_ip)
    try:
        charge_global()
    except RateLimited:
        refund(charged)
        raise


def limit_recipient(phone_index: str, client_ip: str | None = None) -> list[str]:
    """The cooldown and the per-number (and per-address) budgets of one send."""
    settings = get_settings()
    throttles.cooldown(f"sms:{phone_index}", settings.code_resend_cooldown_seconds)
    charged = _charge(
        [
            ("phone", f"sms:{phone_index}", settings.code_sends_per_hour, HOUR),
            ("phone", f"sms:{phone_index}", settings.sms_per_phone_per_day, DAY),
        ]
    )
    if client_ip is not None:
        try:
            charged += limit_address(client_ip)
        except RateLimited:
            refund(charged)
            raise
    return charged


def limit_address(client_ip: str) -> list[str]:
    """The per-address SMS budgets (hour, day) of one attempt from ``client_ip``."""
    settings = get_settings()
    key = f"sms-ip:{address_key(client_ip)}"
    return _charge(
        [
            ("ip", key, settings.sms_per_ip_per_hour, HOUR),
            ("ip", key, settings.sms_per_ip_per_day, DAY),
        ]
    )


def charge_global() -> list[str]:
    """Charge the service-wide budgets for one message about to be queued.

    Returns the counters charged, for ``refund`` should the message not be queued.
    """
    settings = get_settings()
    return _charge(
        [
            ("global", "sms-global", settings.sms_global_per_hour, HOUR),
            ("global", "sms-global", settings.sms_global_per_day, DAY),
        ]
    )


def refund(charged: list[str]) -> None:
    """Give back budgets charged for a message that was not queued after all."""
    for key in charged:
        throttles.release(key)


def allow_notice(phone_index: str, merge_key: str | None = None) -> NoticeOutcome:
    """Charge one SMS notice to ``phone_index``: "queued", "merged" or "over_budget".

    Notices have their own per-number counters (a flood of them cannot use up
    the codes a borrower needs) and share the global budget. With ``merge_key``
    at most one notice of that key goes out per day: the others are merged into it.
    """
    settings = get_settings()
    charged: list[str] = []
    try:
        if merge_key is not None:
            try:
                charged.append(throttles.consume(f"notice-once:{merge_key}", 1, DAY))
            except RateLimited:
                return "merged"  # one of this key already went out today
        subject = f"notice:{phone_index}"
        charged += _charge(
            [
                ("notice", subject, settings.sms_notices_per_phone_per_hour, HOUR),
                ("notice", subject, settings.sms_notices_per_phone_per_day, DAY),
            ]
        )
        charged += charge_global()
    except RateLimited:
        refund(charged)  # nothing goes out: the day's merge slot and counters stay free
        return "over_budget"
    return "queued"


def first_today(merge_key: str) -> bool:
    """True for the first notice of ``merge_key`` in the day, False for the ones merged into it."""
    try:
        throttles.consume(f"notice-once:{merge_key}", 1, DAY)
    except RateLimited:
        return False
    return True


def _charge(budgets: list[tuple[str, str, int, int]]) -> list[str]:
    """Consume each budget in turn; the first one over its limit refuses (429)."""
    charged = []
    for scope, subject, limit, window in budgets:
        try:
            charged.append(throttles.consume(subject, limit, window))
        except RateLimited as exc:
            refund(charged)
            logger.warning("security_event", extra={"event": "sms_budget_exceeded", "scope": scope})
            raise RateLimited(exc.retry_after, _budget_message(exc.retry_after)) from exc
    return charged


def _budget_message(seconds: int) -> Msg:
    return Msg(BUDGET_MESSAGE, wait=wait_text(seconds))


def new_challenge(
    challenge_id: str, purpose: str, phone_index: str, lifetime_seconds: int
) -> tuple[ChallengeModel, str]:
    """A challenge (not saved) and its code in clear, to be sent once."""
    settings = get_settings()
    code = otp.new_code()
    current = clock.epoch()
    challenge = ChallengeModel(
        challenge_id=challenge_id,
        purpose=purpose,
        code_digest=otp.code_digest(crypto.derived_key("otp"), challenge_id, code),
        code_expires_at=current + settings.code_ttl_seconds,
        attempts=0,
        sends=1,
        last_sent_at=current,
        consumed=False,
        expires_at=datetime.fromtimestamp(current + lifetime_seconds, UTC),
        phone_index=phone_index,
    )
    return challenge, code


def open_challenge(challenge_id: str, purpose: str, not_found: str) -> ChallengeModel:
    """A live challenge of ``purpose``; ``NotFound`` or ``CodeExpired`` otherwise."""
    if not isinstance(challenge_id, str) or not challenge_id or len(challenge_id) > 64:
        raise NotFound(not_found)
    try:
        challenge = ChallengeModel.get(challenge_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound(not_found) from None
    if challenge.purpose != purpose:
        raise NotFound(not_found)
    if challenge.consumed or challenge.expires_at.timestamp() <= clock.epoch():
        raise CodeExpired(N_("Этот запрос уже завершён или устарел. Начните заново."))
    return challenge


def reissue(challenge: ChallengeModel, client_ip: str | None = None) -> str:
    """A new code for the same challenge (tries reset); the caller sends it."""
    settings = get_settings()
    limit_sends(challenge.phone_index, client_ip)
    code = otp.new_code()
    current = clock.epoch()
    try:
        challenge.update(
            actions=[
                ChallengeModel.code_digest.set(
                    otp.code_digest(crypto.derived_key("otp"), challenge.challenge_id, code)
                ),
                ChallengeModel.code_expires_at.set(current + settings.code_ttl_seconds),
                ChallengeModel.attempts.set(0),
                ChallengeModel.sends.add(1),
                ChallengeModel.last_sent_at.set(current),
            ],
            condition=ChallengeModel.consumed == False,  # noqa: E712 (pynamodb condition)
        )
    except UpdateError as exc:
        raise CodeExpired(N_("Этот запрос уже завершён.")) from exc
    return code


def verify(challenge: ChallengeModel, code: str) -> None:
    """Pass for the right live code; count a wrong try and raise otherwise.

    The caller then consumes the challenge with a condition on ``code_digest``
    and ``consumed`` in its own write, so a code works exactly once even when
    sent twenty times at once.
    """
    limit = get_settings().code_max_attempts
    if challenge.code_expires_at <= clock.epoch():
        raise CodeExpired()
    if challenge.attempts >= limit:
        raise CodeAttemptsExhausted()
    key = crypto.derived_key("otp")
    if otp.code_matches(key, challenge.challenge_id, code, challenge.code_digest):
        return
    try:
        challenge.update(
            actions=[ChallengeModel.attempts.add(1)],
            condition=(ChallengeModel.attempts < limit) & (ChallengeModel.consumed == False),  # noqa: E712
        )
    except UpdateError as exc:
        raise CodeAttemptsExhausted() from exc
    left = max(0, limit - int(challenge.attempts))
    if left == 0:
        raise CodeAttemptsExhausted()
    raise CodeInvalid(N_("Неверный код подтверждения. Осталось попыток: {left}."), left=left)


def consume_condition(challenge: ChallengeModel) -> Condition:
    """The condition that makes consuming ``challenge`` succeed exactly once."""
    return (
        (ChallengeModel.consumed == False)  # noqa: E712
        & (ChallengeModel.code_digest == challenge.code_digest)
        & (ChallengeModel.attempts < get_settings().code_max_attempts)
    )


def consume(t: Write, challenge: ChallengeModel, on_fail: OnFail) -> None:
    """Consume ``challenge`` in transaction ``t``: its code works once (``on_fail`` after)."""
    t.update(
        challenge,
        [ChallengeModel.consumed.set(True)],
        consume_condition(challenge),
        on_fail=on_fail,
    )
