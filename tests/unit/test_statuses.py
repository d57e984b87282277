"""The account and request state machines (``chalicelib.domain``): stored values and moves."""

from __future__ import annotations

import pytest

from chalicelib.domain import accounts
from chalicelib.domain import appeals as rules
from chalicelib.domain.accounts import AccountStatus
from chalicelib.domain.appeals import AppealStatus, AppealType
from chalicelib.errors import Conflict


def test_account_statuses_keep_their_stored_values() -> None:
    assert [str(s) for s in AccountStatus] == ["active", "locked", "deleted"]
    assert AccountStatus.ACTIVE == "active"


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("active", "locked"),
        ("active", "deleted"),
        ("locked", "locked"),
        ("locked", "active"),
        ("locked", "deleted"),
    ],
)
def test_account_moves_the_state_machine_has(current: str, new: str) -> None:
    assert accounts.can_move(current, new)
    assert accounts.check_transition(current, new) == new


@pytest.mark.parametrize(
    ("current", "new", "message"),
    [
        ("active", "active", "Учётная запись не заблокирована."),
        ("deleted", "locked", "Учётная запись удалена."),
        ("deleted", "active", "Учётная запись удалена."),
        ("deleted", "deleted", "Учётная запись удалена."),
    ],
)
def test_account_moves_refused(current: str, new: str, message: str) -> None:
    assert not accounts.can_move(current, new)
    with pytest.raises(Conflict) as refused:
        accounts.check_transition(current, new)
    assert refused.value.message == message


def test_deleted_is_final() -> None:
    assert accounts.TRANSITIONS[AccountStatus.DELETED] == ()
    assert set(accounts.TRANSITIONS) == set(AccountStatus)


def test_request_enums_keep_their_stored_values() -> None:
    assert [str(t) for t in AppealType] == ["phone_change", "deletion", "compromise"]
    assert rules.TYPES == ("phone_change", "deletion", "compromise")
    assert rules.IN_REVIEW is AppealStatus.IN_REVIEW
    assert [str(s) for s in AppealStatus] == [
        "awaiting_documents",
        "in_review",
        "approved",
        "rejected",
        "resolved",
        "cancelled",
    ]


@pytest.mark.parametrize(
    ("kind", "current", "new"),
    [
        ("phone_change", "awaiting_documents", "in_review"),
        ("phone_change", "awaiting_documents", "cancelled"),
        ("phone_change", "in_review", "approved"),
        ("phone_change", "in_review", "rejected"),
        ("deletion", "in_review", "approved"),
        ("deletion", "in_review", "rejected"),
        ("compromise", "in_review", "resolved"),
    ],
)
def test_request_moves_the_state_machine_has(kind: str, current: str, new: str) -> None:
    rules.check_transition(kind, current, new)


@pytest.mark.parametrize(
    ("kind", "current", "new"),
    [
        ("deletion", "awaiting_documents", "in_review"),
        ("compromise", "in_review", "approved"),
        ("phone_change", "approved", "rejected"),
        ("phone_change", "cancelled", "in_review"),
        ("deletion", "approved", "in_review"),
    ],
)
def test_request_moves_refused(kind: str, current: str, new: str) -> None:
    with pytest.raises(Conflict):
        rules.check_transition(kind, current, new)


def test_decisions_per_type() -> None:
    assert rules.decisions_for("compromise") == ("resolved",)
    assert rules.decisions_for("deletion") == ("approved", "rejected")
