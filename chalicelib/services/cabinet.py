"""What the signed-in borrower sees: the masked profile and the applications."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.adapters import crypto
from chalicelib.domain.email import mask_email
from chalicelib.domain.iin import mask_iin
from chalicelib.domain.phone import mask_phone
from chalicelib.errors import Unauthenticated
from chalicelib.storage.accounts import AccountModel
from chalicelib.storage.base import storage_errors
from chalicelib.storage.loans import LoanModel

#: Status names the borrower reads.
LOAN_STATUS_RU = {
    "submitted": "Заявка на рассмотрении",
    "approved": "Одобрена",
    "rejected": "Отклонена",
    "issued": "Выдан",
    "overdue": "Просрочен",
    "repaid": "Погашен",
}


def get_account(account_id: str) -> AccountModel:
    """The account of a session (a session of a vanished account is no session)."""
    with storage_errors():
        try:
            account = AccountModel.get(account_id)
        except DoesNotExist:
            raise Unauthenticated() from None
    if account.status == "deleted":
        raise Unauthenticated()
    return account


def profile(account_id: str) -> dict[str, Any]:
    """The profile with personal data masked."""
    account = get_account(account_id)
    pii = crypto.unseal(account.pii, {"purpose": "account", "account_id": account_id})
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
    }


def loan_view(loan: LoanModel) -> dict[str, Any]:
    """One application as the API shows it."""
    return {
        "loan_id": loan.loan_id,
        "status": loan.status,
        "status_text": LOAN_STATUS_RU.get(loan.status, loan.status),
        "amount": int(loan.amount),
        "term_days": int(loan.term_days),
        "daily_rate_percent": format((Decimal(loan.daily_rate) * 100).normalize(), "f"),
        "interest": loan.interest,
        "total_to_repay": loan.total,
        "gesv_percent": loan.gesv_percent,
        "created_at": loan.created_at,
        "due_date": loan.due_date,
    }


def loans(account_id: str) -> list[dict[str, Any]]:
    """The borrower's applications and loans, newest first."""
    with storage_errors():
        items = list(LoanModel.query(account_id, scan_index_forward=False))
    return [loan_view(loan) for loan in items]
