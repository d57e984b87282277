"""Forgotten password: a code to the phone of record, then a new password.

Step 1 (``start``) takes any login spelling and always answers the same 202,
after the same work: a challenge is created and the send budgets are charged
whether or not the login belongs to an account. Only a real account's phone
(a Kazakh mobile, validated at registration) gets the code; an unknown login's
challenge holds a code nobody ever sees, so its confirmation fails like a wrong
code. The budgets are keyed by the login's blind index, the same for known and
unknown logins; when the phone of record itself is over its budget through
another identifier, nothing is sent but the answer stays the same (and a
security event is logged), so a 429 never tells which logins exist.

Only a real account costs a KMS decrypt and an SQS send, so both steps that may
send answer no sooner than ``recovery_min_response_ms`` after they began: the
remaining gap between known and unknown logins is hidden under that floor.

Step 2 (``confirm``) checks the code (same rules as every code: 10 min, single
use, ≤ 5 tries), the password policy with the borrower's own data, sets the
password, lifts ``must_change_password``, clears the sign-in failure counters,
ends every session and tells the borrower by SMS. Sign-in throttling never
blocks recovery.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib import i18n
from chalicelib.adapters.passwords import hash_password
from chalicelib.config import get_settings
from chalicelib.domain.accounts import AccountStatus
from chalicelib.domain.password import normalize_password
from chalicelib.errors import CodeExpired, Conflict, RateLimited
from chalicelib.i18n import N_, Msg
from chalicelib.logs import logger
from chalicelib.services import audit, codes, notices, notifications
from chalicelib.services.auth import (
    MAX_LOGIN_LENGTH,
    account_subjects,
    check_new_password,
    identifier_index,
    limit_address,
    login_subject,
)
from chalicelib.services.forms import Form, secret, string
from chalicelib.services.sessions import end_all_sessions
from chalicelib.storage import throttles, tx
from chalicelib.storage.accounts import (
    AccountModel,
    IdentifierModel,
    account_pii,
    update_with_login,
)
from chalicelib.storage.base import new_id
from chalicelib.storage.challenges import ChallengeModel

PURPOSE = "password_recovery"
#: Room for resends; each code itself lives ``code_ttl_seconds``.
CHALLENGE_LIFETIME_SECONDS = 3600
NOT_FOUND = N_("Запрос на восстановление пароля не найден или устарел. Начните заново.")
# ``version`` too: an update of a projected item must ADD to the stored version, not reset it.
ACCOUNT_ATTRIBUTES = [
    "account_id",
    "language",
    "status",
    "pii",
    "iin_index",
    "phone_index",
    "email_index",
    "version",
]


@dataclass(frozen=True)
class Started:
    """The one answer of step 1 and of a resend, whatever the login was."""

    recovery_id: str
    code_ttl_seconds: int
    resend_after_seconds: int

    def as_dict(self) -> dict[str, object]:
        """The API's answer."""
        return {
            "recovery_id": self.recovery_id,
            "code_expires_in": self.code_ttl_seconds,
            "resend_after": self.resend_after_seconds,
            "message": (
                N_(
                    "Если такой кабинет существует, мы отправили SMS с кодом на номер телефона, "
                    "указанный в нём."
                )
            ),
        }


def _started(recovery_id: str) -> Started:
    settings = get_settings()
    return Started(recovery_id, settings.code_ttl_seconds, settings.code_resend_cooldown_seconds)


CODE_SMS = N_(
    "Hava: код для восстановления пароля {code}. {valid} Никому не сообщайте этот код. "
    "Если вы не запрашивали восстановление, просто удалите это SMS."
)
RECOVERED_SMS = N_(
    "Hava: пароль от личного кабинета восстановлен, все сеансы завершены. Если это "
    "были не вы, срочно сообщите нам через «Не получается зайти» на странице входа."
)


def _account_of(login: str) -> AccountModel | None:
    index = identifier_index(login)
    try:
        guard = IdentifierModel.get(index) if index else None
    except DoesNotExist:
        guard = None
    try:
        # An unknown login still pays for an account read (timing).
        account_id = guard.account_id if guard else "acc_none"
        account = AccountModel.get(account_id, attributes_to_get=ACCOUNT_ATTRIBUTES)
    except DoesNotExist:
        return None
    return None if account.status == AccountStatus.DELETED else account


def _phone_of(account: AccountModel) -> str:
    pii = account_pii(account)
    phone: str = pii["phone"]
    return phone


def _send_code(account: AccountModel | None, subject: str, code: str) -> None:
    """The code to the phone of record, within that number's own budget too."""
    if account is None:
        return
    if subject != f"login:{account.phone_index}":
        try:
            # The login was the IIN or e-mail: the phone's own budget still applies.
            settings = get_settings()
            throttles.consume(f"sms:{account.phone_index}", settings.code_sends_per_hour, 3600)
            throttles.consume(
                f"sms:{account.phone_index}", settings.sms_per_phone_per_day, codes.DAY
            )
        except RateLimited:
            logger.warning(
                "security_event", extra={"event": "sms_budget_exceeded", "scope": "phone"}
            )
            return
    valid = i18n.valid_for_minutes(get_settings().code_ttl_seconds // 60)
    notifications.enqueue(
        "sms",
        _phone_of(account),
        Msg(CODE_SMS, code=code, valid=valid),
        kind="recovery_code",
        language=i18n.normalise(account.language),
    )


@contextmanager
def _no_sooner_than_the_floor() -> Iterator[None]:
    began = time.monotonic()
    try:
        yield
    finally:
        floor = get_settings().recovery_min_response_ms / 1000
        time.sleep(max(0.0, floor - (time.monotonic() - began)))


def start(data: Mapping[str, Any], client_ip: str | None = None) -> Started:
    """Step 1: a code to the phone of record of ``login``, if there is one."""
    with _no_sooner_than_the_floor():
        return _start(data, client_ip)


def _start(data: Mapping[str, Any], client_ip: str | None) -> Started:
    form = Form(data, ("login",))
    login = form.field("login", string(MAX_LOGIN_LENGTH))
    form.raise_if_invalid()
    assert login is not None
    limit_address("recovery", client_ip)
    subject = login_subject(login)
    # Budgets keyed by the login, charged for known and unknown logins alike.
    codes.limit_sends(subject.removeprefix("login:"), client_ip)
    account = _account_of(login)
    challenge, code = codes.new_challenge(
        new_id("rec"), PURPOSE, subject.removeprefix("login:"), CHALLENGE_LIFETIME_SECONDS
    )
    challenge.account_id = account.account_id if account else None
    challenge.save(condition=ChallengeModel.challenge_id.does_not_exist())
    _send_code(account, subject, code)
    logger.info("password recovery started", extra={"recovery_id": challenge.challenge_id})
    return _started(challenge.challenge_id)


def _open(recovery_id: str) -> ChallengeModel:
    return codes.open_challenge(recovery_id, PURPOSE, NOT_FOUND)


def _challenge_account(challenge: ChallengeModel) -> AccountModel | None:
    if not challenge.account_id:
        return None
    try:
        account = AccountModel.get(challenge.account_id, attributes_to_get=ACCOUNT_ATTRIBUTES)
    except DoesNotExist:
        return None
    return None if account.status == AccountStatus.DELETED else account


def resend(recovery_id: str, client_ip: str | None = None) -> Started:
    """A new code for the same recovery (cooldown and budgets apply)."""
    with _no_sooner_than_the_floor():
        challenge = _open(recovery_id)
        code = codes.reissue(challenge, client_ip)
        _send_code(_challenge_account(challenge), f"login:{challenge.phone_index}", code)
        return _started(recovery_id)


def confirm(recovery_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Step 2: the code and a new password typed twice; every session ends."""
    form = Form(data, ("code", "new_password", "new_password_confirm"))
    code = form.field("code", string(32))
    new = form.field("new_password", secret)
    again = form.field("new_password_confirm", secret)
    form.raise_if_invalid()
    assert code is not None and new is not None and again is not None
    challenge = _open(recovery_id)
    codes.verify(challenge, code)
    account = _challenge_account(challenge)
    if account is None:
        # Only reachable if the account vanished after the code was sent.
        raise CodeExpired(N_("Этот запрос уже завершён или устарел. Начните заново."))
    pii = account_pii(account)
    check_new_password(pii, new, again)
    with tx.write(
        on_cancel=Conflict(N_("Восстановление уже выполняется. Повторите попытку."))
    ) as t:
        codes.consume(t, challenge, CodeExpired(N_("Этот код уже использован. Начните заново.")))
        new_hash = hash_password(normalize_password(new))
        update_with_login(
            t,
            account,
            lambda m: [m.password_hash.set(new_hash), m.must_change_password.set(False)],
            condition=AccountModel.status != AccountStatus.DELETED,
        )
    ended = end_all_sessions(account.account_id)
    throttles.clear_failures(*account_subjects(account))
    audit.record(account.account_id, "password_recovered", account.account_id)
    notices.sms(pii["phone"], RECOVERED_SMS, language=i18n.normalise(account.language))
    logger.info("password recovered", extra={"account_id": account.account_id})
    return {
        "sessions_ended": ended,
        "message": N_("Пароль изменён. Войдите в кабинет с новым паролем."),
    }
