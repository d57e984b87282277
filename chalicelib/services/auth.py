"""Signing in with IIN, e-mail or phone plus password, and signing out.

An unknown login and a wrong password get the same ``InvalidCredentials`` after
the same work: an unknown login still spends one argon2 verify on a dummy hash.
A login costs at most three DynamoDB calls (guard, account, session) and no KMS
call: nothing personal is decrypted to sign in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.adapters import crypto
from chalicelib.adapters.passwords import burn_verify, hash_password, verify_password
from chalicelib.domain.password import normalize_password
from chalicelib.errors import Forbidden, InvalidCredentials, InvalidValue, ValidationFailed
from chalicelib.logs import logger
from chalicelib.services import audit
from chalicelib.services.forms import Form, secret, string
from chalicelib.services.sessions import NewSession, Principal, end_session, start_session
from chalicelib.storage.accounts import AccountModel, IdentifierModel
from chalicelib.storage.base import storage_errors

MAX_LOGIN_LENGTH = 254
LOGIN_ATTRIBUTES = (
    "account_id",
    "password_hash",
    "status",
    "must_change_password",
    "failed_logins",
)


def identifier_index(login: str) -> str | None:
    """The blind index a login spelling points to, or None if it cannot be any identifier."""
    from chalicelib.domain.email import normalize_email
    from chalicelib.domain.phone import normalize_kz_mobile

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


def _find_account(login: str) -> AccountModel | None:
    index = identifier_index(login)
    if index is None:
        return None
    with storage_errors():
        try:
            guard = IdentifierModel.get(index)
            # Only what signing in needs: not the sealed personal data.
            return AccountModel.get(guard.account_id, attributes_to_get=list(LOGIN_ATTRIBUTES))
        except DoesNotExist:
            return None


def read_credentials(data: Mapping[str, Any]) -> tuple[str, str]:
    """``login`` and ``password`` of a sign-in body (400 when absent or not strings)."""
    form = Form(data, ("login", "password"))
    login = form.field("login", string(MAX_LOGIN_LENGTH))
    password = form.field("password", secret)
    form.raise_if_invalid()
    assert login is not None and password is not None
    return login, password


def login(data: Mapping[str, Any], user_agent: str | None) -> NewSession:
    """A new session for the right login and password, else ``InvalidCredentials``."""
    login, password = read_credentials(data)
    password = normalize_password(password)
    account = _find_account(login)
    if account is None or account.status == "deleted":
        burn_verify(password)
        raise InvalidCredentials()
    matches, needs_rehash = verify_password(account.password_hash, password)
    if not matches:
        _count_failure(account)
        raise InvalidCredentials()
    if account.status == "locked":
        raise Forbidden(
            "Вход в кабинет временно заблокирован службой безопасности. "
            "Обратитесь в службу поддержки."
        )
    if needs_rehash or account.failed_logins:
        _after_success(account, password if needs_rehash else None)
    session = start_session(
        account.account_id, user_agent, restricted=bool(account.must_change_password)
    )
    logger.info("signed in", extra={"account_id": account.account_id})
    return session


def _count_failure(account: AccountModel) -> None:
    # ADD is atomic: parallel wrong guesses are each counted.
    with storage_errors():
        account.update(actions=[AccountModel.failed_logins.add(1)], add_version_condition=False)


def _after_success(account: AccountModel, rehash_password: str | None) -> None:
    actions: list[Any] = [AccountModel.failed_logins.set(0)]
    if rehash_password is not None:
        # Parameters changed since this hash was made (ASVS: rehash on login).
        actions.append(AccountModel.password_hash.set(hash_password(rehash_password)))
    with storage_errors():
        account.update(actions=actions, add_version_condition=False)


def logout(token_hash: str) -> None:
    """End the current session at once."""
    end_session(token_hash)


PASSWORD_CHANGE_FIELDS = (
    "current_password",
    "new_password",
    "new_password_confirm",
    "end_other_sessions",
)


def change_password(principal: Principal, data: Mapping[str, Any]) -> dict[str, Any]:
    """Set a new password (current one required); other sessions end when asked or forced."""
    from chalicelib.adapters import crypto as crypto_adapter
    from chalicelib.domain.password import check_password
    from chalicelib.services import notifications
    from chalicelib.services.cabinet import get_account
    from chalicelib.services.forms import accepted_bool
    from chalicelib.services.sessions import end_all_sessions, lift_restriction

    form = Form(data, PASSWORD_CHANGE_FIELDS)
    current = form.field("current_password", secret)
    new = form.field("new_password", secret)
    confirm = form.field("new_password_confirm", secret)
    end_others = form.field("end_other_sessions", accepted_bool, required=False)
    form.raise_if_invalid()
    assert current is not None and new is not None and confirm is not None
    account = get_account(principal.account_id)
    matches, _ = verify_password(account.password_hash, normalize_password(current))
    if not matches:
        _count_failure(account)
        raise ValidationFailed({"current_password": "Неверный текущий пароль."})
    pii = crypto_adapter.unseal(
        account.pii, {"purpose": "account", "account_id": account.account_id}
    )
    personal = [pii["iin"], pii["phone"], pii["phone"][2:], pii["email"].split("@")[0]]
    check_password(new, confirm, personal)
    if verify_password(account.password_hash, normalize_password(new))[0]:
        raise ValidationFailed({"new_password": "Новый пароль совпадает с текущим."})
    forced = bool(account.must_change_password)
    with storage_errors():
        account.update(
            actions=[
                AccountModel.password_hash.set(hash_password(normalize_password(new))),
                AccountModel.must_change_password.set(False),
                AccountModel.failed_logins.set(0),
            ],
            add_version_condition=False,
        )
    ended = 0
    if forced or end_others:
        ended = end_all_sessions(account.account_id, keep=principal.token_hash)
    if principal.restricted:
        lift_restriction(principal.token_hash)
    audit.record(account.account_id, "password_changed", account.account_id)
    notifications.enqueue(
        "sms",
        pii["phone"],
        "Hava: пароль от личного кабинета изменён. Если это были не вы, срочно "
        "сообщите нам через «Не получается зайти» на странице входа.",
    )
    return {"sessions_ended": ended}
