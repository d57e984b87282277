"""Recording and reading the audit trail (who / what / when / why / which account).

Breach notification to the authorised body is due within one business day
(Law 94-V): the trail must show who accessed which personal data and when,
so every staff view of personal data or photos and every decision is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PutError

from chalicelib import clock
from chalicelib.errors import ServiceUnavailable
from chalicelib.storage.audit import AuditModel
from chalicelib.storage.base import sortable_id

SYSTEM = "system"
PAGE_SIZE = 50


def staff_subject(username: str) -> str:
    """The audit subject of a staff member's own account."""
    return f"staff#{username}"


def new_entry(
    actor: str,
    action: str,
    subject: str,
    *,
    reason: str | None = None,
    target: str | None = None,
    note: str | None = None,
) -> AuditModel:
    """An entry not yet written (to go into a transaction with what it records).

    ``note``: staff's internal words, read only through ``internal=True`` (staff).
    """
    moment = clock.iso(clock.now())
    return AuditModel(
        subject=subject or "none",
        entry_id=sortable_id(moment),
        actor=actor,
        action=action,
        at=moment,
        reason=reason,
        target=target,
        note=note or None,
    )


def record(
    actor: str,
    action: str,
    subject: str,
    *,
    reason: str | None = None,
    target: str | None = None,
) -> AuditModel:
    """Append one entry; it can never overwrite another."""
    entry = new_entry(actor, action, subject, reason=reason, target=target)
    try:
        entry.save(condition=AuditModel.entry_id.does_not_exist())
    except PutError as exc:  # a 48-bit random collision in the same second
        raise ServiceUnavailable() from exc
    return entry


@dataclass(frozen=True)
class Page:
    """One page of entries and the cursor of the next (None at the end)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def _view(entry: AuditModel, internal: bool = False) -> dict[str, Any]:
    view = {
        "entry_id": entry.entry_id,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "target": entry.target,
        "reason": entry.reason,
    }
    if internal:
        view["note"] = entry.note
    return view


def for_subject(subject: str, cursor: str | None = None, *, internal: bool = False) -> Page:
    """Entries about one account (or staff member), oldest first.

    ``internal``: with staff's notes (the desk's reads only; never a borrower's).
    """
    return _page(AuditModel.query, subject, cursor, internal)


def for_actor(actor: str, cursor: str | None = None, *, internal: bool = False) -> Page:
    """Entries made by one staff member, oldest first (``internal``: with staff's notes)."""
    return _page(AuditModel.by_actor.query, actor, cursor, internal)


def _page(query: Callable[..., Any], key: str, cursor: str | None, internal: bool) -> Page:
    """One page of a query on ``entry_id`` order; the cursor is the last entry id seen."""
    result = query(key, AuditModel.entry_id > cursor if cursor else None, limit=PAGE_SIZE)
    items = [_view(e, internal) for e in result]
    last = result.last_evaluated_key
    return Page(items, items[-1]["entry_id"] if last and items else None)
