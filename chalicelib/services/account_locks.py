"""Security staff lock and unlock a borrower's account (after a break-in report, say)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain import accounts
from chalicelib.domain.accounts import AccountStatus
from chalicelib.errors import Conflict
from chalicelib.services import audit
from chalicelib.services.appeals.outcome import account_of, staff_name
from chalicelib.services.forms import Form, string
from chalicelib.services.sessions import Principal, end_all_sessions
from chalicelib.services.staff_accounts import SECURITY, require_role
from chalicelib.storage import tx
from chalicelib.storage.accounts import AccountModel, update_with_login


def lock_account(account_id: str, data: dict[str, Any], staff: Principal) -> dict[str, Any]:
    """Security: lock sign-in, end every session, require a new password."""
    require_role(staff, SECURITY)
    reason = _reason(data)
    account = account_of(account_id)
    accounts.check_transition(account.status, AccountStatus.LOCKED)
    return _set_status(account, AccountStatus.LOCKED, "account_locked", reason, staff)


def unlock_account(account_id: str, data: dict[str, Any], staff: Principal) -> dict[str, Any]:
    """Security: allow sign-in again, but only after recovery by SMS code.

    The password that was known while the account was locked proves nothing: unlocking
    (re)sets ``must_change_password`` and ends any session, so the next way in is the
    code sent to the phone of record (``services.recovery``).
    """
    require_role(staff, SECURITY)
    reason = _reason(data)
    account = account_of(account_id)
    if account.status != AccountStatus.LOCKED:
        raise Conflict("Учётная запись не заблокирована.")
    return _set_status(account, AccountStatus.ACTIVE, "account_unlocked", reason, staff)


def _set_status(
    account: AccountModel, status: AccountStatus, action: str, reason: str, staff: Principal
) -> dict[str, Any]:
    """The new status with a new password required (versioned), sessions ended, audited."""
    with tx.write() as t:
        update_with_login(
            t,
            account,
            lambda m: [m.status.set(status), m.must_change_password.set(True)],
            add_version_condition=True,
        )
    end_all_sessions(account.account_id)
    audit.record(staff_name(staff), action, account.account_id, reason=reason)
    return {"account_id": account.account_id, "status": status, "must_change_password": True}


def _reason(data: dict[str, Any]) -> str:
    form = Form(data, ("reason",))
    reason = form.field("reason", string(500))
    if reason is not None and len(reason) < 5:
        form.fail("reason", "Укажите причину (не короче 5 символов).")
    form.raise_if_invalid()
    assert reason is not None
    return reason
