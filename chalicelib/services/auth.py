"""Signing in with IIN, e-mail or phone plus password, and signing out.

An unknown login and a wrong password get the same ``InvalidCredentials`` after
the same work: an unknown login still spends one argon2 verify on a dummy hash.
Nothing personal is decrypted to sign in (no KMS call).

Brute force (ASVS 5.0 V6.3, NIST SP 800-63B §5.2.2; the rules live in
``services.backoff``, shared with staff sign-in): failures are counted per
*login identifier*, keyed by its blind index, or by a keyed hash of the typed
text when it cannot be an identifier, so an unknown login is throttled exactly
like a known one and the 429s tell nobody which logins exist. After
``login_free_failures`` (5) consecutive failures each attempt waits 1 s, doubling
per further failure up to 15 min, refused with 429 *before* any password check;
the right password after the wait works and a success resets the count.
A wrong guess cannot lock a borrower out for good: the wait is capped, the other
two identifiers of the account count separately, and recovery is never throttled
by it. A fixed window per client address (``login_per_ip_per_minute``) limits
password spraying across identifiers.
While an account must change its password (``must_change_password``: a compromise
report, a staff lock), the old password proves nothing. The right one answers 403
``password_recovery_required`` and opens no session (a wrong one answers as always, so
only the password's holder learns it, and nothing they did not know: the password is
right but no longer enough); the new password is set only through the code sent to the
phone of record (``services.recovery``). Every check of the current password inside
the cabinet (password, phone, e-mail change, deletion) refuses the same way.
A login costs three DynamoDB calls: the address window, the guard (which carries
the sign-in copy of its account, ``storage.accounts``) with the failure counter in
one read, and the session (which also forgets earlier failures, in one transaction).
The first two are issued at once, on two threads (``chalicelib.parallel``), and both
are settled before the password is checked. A failure costs one or two more writes;
an unknown login the same reads and writes and one argon2 verify on a dummy hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib import parallel
from chalicelib.adapters import crypto
from chalicelib.adapters.passwords import burn_verify, hash_password, verify_password
from chalicelib.config import get_settings
from chalicelib.domain.accounts import AccountStatus
from chalicelib.domain.email import normalize_email
from chalicelib.domain.password import check_password, normalize_password
from chalicelib.domain.phone import normalize_kz_mobile
from chalicelib.errors import (
    Forbidden,
    InvalidCredentials,
    InvalidValue,
    PasswordRecoveryRequired,
    RateLimited,
    ValidationFailed,
)
from chalicelib.i18n import N_, normalise
from chalicelib.logs import logger
from chalicelib.services import audit, login_hooks, notices
from chalicelib.services.backoff import record_failure as _record_failure
from chalicelib.services.backoff import refuse_if_locked as _refuse_if_locked
from chalicelib.services.cabinet import get_account
from chalicelib.services.forms import Form, accepted_bool, secret, string
from chalicelib.services.sessions import (
    NewSession,
    Principal,
    end_all_sessions,
    end_session,
    start_session,
)
from chalicelib.storage import logins, throttles, tx
from chalicelib.storage.accounts import (
    AccountModel,
    account_pii,
    login_account,
    update_with_login,
)

MAX_LOGIN_LENGTH = 254
#: What signing in reads of the account: not the sealed personal data. ``version`` is
#: read so that an update of this projection ADDs to it instead of resetting it.
LOGIN_ATTRIBUTES = (
    "account_id",
    "password_hash",
    "status",
    "must_change_password",
    "consent_version",
    "known_devices",
    "version",
)
#: The keys of an account's identifier guards.
INDEX_ATTRIBUTES = ("iin_index", "phone_index", "email_index")
#: Per-address attempt windows: action → (setting with the limit, window seconds).
ADDRESS_WINDOWS = {
    "login": ("login_per_ip_per_minute", 60),
    "registration": ("registration_per_ip_per_hour", 3600),
    "recovery": ("recovery_per_ip_per_hour", 3600),
    "staff_login": ("login_per_ip_per_minute", 60),
}


def identifier_index(login: str) -> str | None:
    """The blind index a login spelling points to, or None if it cannot be any identifier."""

    text = login.strip()
    digits = text.replace(" ", "")
    try:
        if "@" in text:
            return crypto.blind_index("email", normalize_email(text))
        if len(digits) == 12 and digits.isascii() and digits.isdigit():
            return crypto.blind_index("iin", digits)
        return crypto.blind_index("phone", normalize_kz_mobile(text))
    except InvalidValue:
        return None


def _find_account(index: str | None, subject: str) -> tuple[AccountModel | None, int]:
    """The account a login points to (as sign-in sees it) and the login's failure count.

    One round trip: the guard, which carries the sign-in copy of its account, and the
    failure counter in one TransactGetItems (429 while locked). An unknown login reads
    the same two items, so the answer's timing does not tell whether the account exists.
    A guard written before the copy existed costs one more read: the account.
    """

    guard, counter = logins.guard_and_failures(index, subject)
    failures = _refuse_if_locked(subject, throttles.state_of(counter))
    if guard is None:
        return None, failures
    account = login_account(guard)
    if account is None:
        try:
            # Only what signing in needs: not the sealed personal data.
            account = AccountModel.get(guard.account_id, attributes_to_get=list(LOGIN_ATTRIBUTES))
        except DoesNotExist:
            return None, failures
    return account, failures


def read_credentials(data: Mapping[str, Any]) -> tuple[str, str]:
    """``login`` and ``password`` of a sign-in body (400 when absent or not strings)."""
    form = Form(data, ("login", "password"))
    login = form.field("login", string(MAX_LOGIN_LENGTH))
    password = form.field("password", secret)
    form.raise_if_invalid()
    assert login is not None and password is not None
    return login, password


def limit_address(action: str, client_ip: str | None) -> None:
    """Count one ``action`` attempt ("login", "registration", "recovery") of a client address.

    Over the configured window: 429 with ``Retry-After`` and a ``security_event`` log
    line (the address is never logged nor stored: the key is its keyed hash).
    """
    # lazy: services.codes loads 4 chalicelib modules (≈ 11 ms CPU at cold start);
    # only limit_address() needs it
    from chalicelib.services.codes import address_key

    setting, window = ADDRESS_WINDOWS[action]
    if client_ip is None:
        return
    limit = int(getattr(get_settings(), setting))
    try:
        throttles.consume(f"{action}-ip:{address_key(client_ip)}", limit, window)
    except RateLimited:
        logger.warning(
            "security_event", extra={"event": "address_throttled", "scope": "ip", "action": action}
        )
        raise


def login_subject(login: str, index: str | None = None) -> str:
    """The brute-force counter of a login spelling, the same kind for known and unknown logins."""
    index = index or identifier_index(login)
    if index is None:
        index = crypto.blind_index("login", " ".join(login.split()).casefold())
    return f"login:{index}"


def account_subjects(account: AccountModel) -> list[str]:
    """The brute-force counters of an account's three identifiers."""
    return [f"login:{i}" for i in (account.iin_index, account.phone_index, account.email_index)]


def check_current_password(account: AccountModel, password: str, field: str) -> None:
    """The signed-in borrower's password, under the same brute-force counter as sign-in.

    Wrong: a ``ValidationFailed`` on ``field`` and one failure on the phone's counter.
    While the account must change its password, no password is accepted here at all:
    ``PasswordRecoveryRequired`` (only the SMS code of recovery proves the borrower).
    """
    if account.must_change_password:
        raise PasswordRecoveryRequired()
    subject = f"login:{account.phone_index}"
    _refuse_if_locked(subject)
    if not verify_password(account.password_hash, normalize_password(password))[0]:
        _record_failure(subject)
        raise ValidationFailed({field: N_("Неверный пароль.")})


def login(
    data: Mapping[str, Any], user_agent: str | None, *, client_ip: str | None = None
) -> NewSession:
    """A new session for the right login and password, else ``InvalidCredentials`` (or 429)."""
    login, password = read_credentials(data)
    password = normalize_password(password)
    index = identifier_index(login)
    subject = login_subject(login, index)
    # The address window is charged on its own thread while the guard is read: two
    # round trips at once. Both are settled before any password check, and the
    # window's 429 answers first, as when they ran one after the other.
    charged = parallel.start(limit_address, "login", client_ip)
    try:
        account, failures = _find_account(index, subject)
    finally:
        charged.result()
    if account is None or account.status == AccountStatus.DELETED:
        burn_verify(password)
        _record_failure(subject)
        raise InvalidCredentials()
    matches, needs_rehash = verify_password(account.password_hash, password)
    if not matches:
        _record_failure(subject)
        raise InvalidCredentials()
    if account.status == AccountStatus.LOCKED:
        raise Forbidden(
            N_(
                "Вход в кабинет временно заблокирован службой безопасности. "
                "Обратитесь в службу поддержки."
            )
        )
    if account.must_change_password:
        # The password is suspect (compromise report, staff lock): no session, not even a
        # restricted one; the client is sent to recovery by SMS code.
        logger.info("sign-in refused: recovery required", extra={"account_id": account.account_id})
        raise PasswordRecoveryRequired()
    if needs_rehash:
        _rehash(account.account_id, password)

    session = start_session(
        account.account_id,
        user_agent,
        client_ip=client_ip,
        consent_pending=account.consent_version != get_settings().consent_version,
        # A success forgets the login's failures in the session's own write.
        forget=[throttles.failure_counter(subject)] if failures else [],
    )

    login_hooks.after_sign_in(account, session, user_agent)
    logger.info("signed in", extra={"account_id": account.account_id})
    return session


def _rehash(account_id: str, password: str) -> None:
    """Parameters changed since this hash was made (ASVS: rehash on login).

    Rare (only after the parameters change), so it may read the account: the new hash
    goes to the account and its guards' sign-in copy in one transaction.
    """

    stored = AccountModel.get(account_id, attributes_to_get=["account_id", *INDEX_ATTRIBUTES])
    new_hash = hash_password(password)
    with tx.write() as t:
        update_with_login(t, stored, lambda m: [m.password_hash.set(new_hash)])


def logout(token_hash: str) -> None:
    """End the current session at once."""
    end_session(token_hash)


PASSWORD_CHANGE_FIELDS = (
    "current_password",
    "new_password",
    "new_password_confirm",
    "end_other_sessions",
)


def check_new_password(pii: Mapping[str, Any], new: str, confirm: str) -> None:
    """The password rules for a new password of the account whose personal data is ``pii``.

    The errors name the fields ``new_password`` and ``new_password_confirm``.
    """
    personal = [pii["iin"], pii["phone"], pii["phone"][2:], pii["email"].split("@")[0]]
    try:
        check_password(new, confirm, personal)
    except ValidationFailed as exc:
        names = {"password": "new_password", "password_confirm": "new_password_confirm"}
        raise ValidationFailed({names.get(k, k): v for k, v in exc.fields.items()}) from None


def change_password(principal: Principal, data: Mapping[str, Any]) -> dict[str, Any]:
    """Set a new password (current one required); other sessions end when asked.

    Refused (``PasswordRecoveryRequired``) while the account must change its password:
    then only recovery by SMS code sets it.
    """
    form = Form(data, PASSWORD_CHANGE_FIELDS)
    current = form.field("current_password", secret)
    new = form.field("new_password", secret)
    confirm = form.field("new_password_confirm", secret)
    end_others = form.field("end_other_sessions", accepted_bool, required=False)
    form.raise_if_invalid()
    assert current is not None and new is not None and confirm is not None
    account = get_account(principal.account_id)
    try:
        check_current_password(account, current, "current_password")
    except ValidationFailed:
        raise ValidationFailed({"current_password": N_("Неверный текущий пароль.")}) from None
    pii = account_pii(account)
    check_new_password(pii, new, confirm)
    if verify_password(account.password_hash, normalize_password(new))[0]:
        raise ValidationFailed({"new_password": N_("Новый пароль совпадает с текущим.")})

    new_hash = hash_password(normalize_password(new))
    with tx.write() as t:
        update_with_login(
            t,
            account,
            lambda m: [m.password_hash.set(new_hash)],
            # A compromise report or a staff lock meanwhile wins: recovery only.
            condition=AccountModel.must_change_password.does_not_exist()
            | (AccountModel.must_change_password == False),  # noqa: E712
            on_fail=PasswordRecoveryRequired(),
        )

    throttles.clear_failures(*account_subjects(account))
    ended = 0
    if end_others:
        ended = end_all_sessions(account.account_id, keep=principal.token_hash)
    audit.record(account.account_id, "password_changed", account.account_id)
    notices.sms(
        pii["phone"],
        N_(
            "Hava: пароль от личного кабинета изменён. Если это были не вы, срочно "
            "сообщите нам через «Не получается зайти» на странице входа."
        ),
        language=normalise(account.language),
    )
    return {"sessions_ended": ended}
