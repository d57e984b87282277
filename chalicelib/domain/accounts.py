"""A borrower's account: its statuses and the moves between them. Pure: no AWS.

::

    active ──lock (security)──▶ locked ──unlock (security)──▶ active
    active | locked ──deletion request approved──▶ deleted

A locked account may be locked again (a new reason, sessions ended again).
``deleted`` is final: personal data is erased, only the id stays for the loan records.
"""

from __future__ import annotations

from enum import StrEnum

from chalicelib.errors import Conflict


class AccountStatus(StrEnum):
    """Where an account is (values are what storage keeps)."""

    ACTIVE = "active"
    LOCKED = "locked"
    DELETED = "deleted"


#: The state machine as data: from each status, where it may go.
TRANSITIONS: dict[AccountStatus, tuple[AccountStatus, ...]] = {
    AccountStatus.ACTIVE: (AccountStatus.LOCKED, AccountStatus.DELETED),
    AccountStatus.LOCKED: (AccountStatus.LOCKED, AccountStatus.ACTIVE, AccountStatus.DELETED),
    AccountStatus.DELETED: (),
}

#: Why a move is refused, by the status the account is in.
REFUSAL_RU: dict[AccountStatus, str] = {
    AccountStatus.ACTIVE: "Учётная запись не заблокирована.",
    AccountStatus.LOCKED: "Учётная запись заблокирована.",
    AccountStatus.DELETED: "Учётная запись удалена.",
}


def can_move(current: str, new: str) -> bool:
    """Whether the state machine has the move ``current`` → ``new``."""
    return AccountStatus(new) in TRANSITIONS[AccountStatus(current)]


def check_transition(current: str, new: str) -> AccountStatus:
    """The new status, or ``Conflict`` (saying why) when the state machine has no such move."""
    if not can_move(current, new):
        raise Conflict(REFUSAL_RU[AccountStatus(current)])
    return AccountStatus(new)
