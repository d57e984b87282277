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
from chalicelib.errors import Forbidden, InvalidCredentials, InvalidValue
from chalicelib.logs import logger
from chalicelib.services.forms import Form, secret, string
from chalicelib.services.sessions import NewSession, end_session, start_session
from chalicelib.storage.accounts import AccountModel, IdentifierModel
from chalicelib.storage.base import storage_errors

MAX_LOGIN_LENGTH = 254


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
            return AccountModel.get(guard.account_id)
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
    session = start_session(account.account_id, user_agent)
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
