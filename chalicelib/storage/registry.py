"""Every table model of the application, in one list (local tools and tests use it).

Kept apart from ``storage.base``: every model imports ``base``, so ``base`` must import none.
"""

from __future__ import annotations

from pynamodb.models import Model

from chalicelib.storage import (
    accounts,
    appeals,
    audit,
    base,
    challenges,
    loans,
    sessions,
    staff,
    throttles,
)


def all_models() -> list[type[Model]]:
    """Every table model of the application."""
    return [
        accounts.AccountModel,
        accounts.IdentifierModel,
        audit.AuditModel,
        challenges.ChallengeModel,
        loans.LoanModel,
        appeals.AppealModel,
        sessions.SessionModel,
        staff.StaffModel,
        throttles.ThrottleModel,
    ]


def reset_connections() -> None:
    """Forget every cached DynamoDB connection (tests point them at a fresh moto)."""
    base.reset_transaction_connection()
    models: list[type[Model]] = [*all_models(), loans.PaymentModel]  # shares the loans table
    for model in models:
        model._connection = None
