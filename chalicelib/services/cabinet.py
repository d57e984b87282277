"""What the signed-in borrower sees: the masked profile and the applications."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib import i18n
from chalicelib.domain.accounts import AccountStatus
from chalicelib.domain.email import mask_email
from chalicelib.domain.iin import mask_iin
from chalicelib.domain.lending import STATUS_RU
from chalicelib.domain.phone import mask_phone
from chalicelib.errors import Unauthenticated, ValidationFailed
from chalicelib.i18n import N_
from chalicelib.storage.accounts import AccountModel, unseal_pii

#: Status names the borrower reads (domain.lending owns them).
LOAN_STATUS_RU: dict[str, str] = {status.value: text for status, text in STATUS_RU.items()}


def get_account(account_id: str) -> AccountModel:
    """The account of a session (a session of a vanished account is no session)."""
    try:
        account = AccountModel.get(account_id)
    except DoesNotExist:
        raise Unauthenticated() from None
    if account.status == AccountStatus.DELETED:
        raise Unauthenticated()
    return account


def profile(account_id: str) -> dict[str, Any]:
    """The profile with personal data masked."""
    account = get_account(account_id)
    pii = unseal_pii(account_id, account.pii)
    return {
        "account_id": account.account_id,
        "surname": pii["surname"],
        "name": pii["name"],
        "patronymic": pii.get("patronymic"),
        "iin": mask_iin(pii["iin"]),
        "phone": mask_phone(pii["phone"]),
        "email": mask_email(pii["email"]),
        "status": account.status,
        "must_change_password": account.must_change_password,
        "consent_version": account.consent_version,
        "created_at": account.created_at,
        "language": i18n.normalise(account.language),
    }


LANGUAGE_CHOICE = N_("Выберите язык: «kk» (қазақша) или «ru» (русский).")


def set_language(account_id: str, data: Mapping[str, Any]) -> dict[str, str]:
    """Store the borrower's language (``{"language": "ru"|"kk"}``): SMS and e-mail follow it."""
    value = data.get("language")
    if value not in i18n.LANGUAGES:
        raise ValidationFailed({"language": LANGUAGE_CHOICE})
    account = get_account(account_id)
    try:
        account.update(
            actions=[AccountModel.language.set(value)],
            # Never recreate a vanished account as a bare item.
            condition=AccountModel.account_id.exists()
            & (AccountModel.status != AccountStatus.DELETED),
            add_version_condition=False,
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise Unauthenticated() from None
        raise
    return {"language": value}


def loans(account_id: str) -> list[dict[str, Any]]:
    """The borrower's applications and loans, newest first, with payments: one Query."""
    # lazy: services.lending loads 14 chalicelib modules (≈ 95 ms CPU at cold start);
    # only loans() needs it
    from chalicelib.services import lending

    return lending.my_loans(account_id)
