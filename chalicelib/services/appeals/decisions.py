"""Staff decisions on appeals: each with a reason, each audited, each a conditional write.

``decide`` reads the desk's form, checks the role, writes the audit entry and
runs the outcome of the appeal's type (``registry.KINDS``). Two staff members
deciding the same appeal at once: the appeal's version attribute makes exactly
one write succeed; the other gets ``Conflict`` (409).
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain import requests as rules
from chalicelib.errors import Conflict
from chalicelib.logs import logger
from chalicelib.services import audit
from chalicelib.services.appeals import common
from chalicelib.services.appeals.outcome import CONCURRENT, staff_name
from chalicelib.services.appeals.registry import KINDS
from chalicelib.services.forms import Form, string
from chalicelib.services.sessions import Principal
from chalicelib.services.staff_accounts import require_role

#: The shortest internal note.
NOTE_MIN = 5


def read_appeal_decision(
    data: dict[str, Any], appeal_type: str
) -> tuple[str, str | None, str | None]:
    """``(decision, what the borrower reads, internal note)`` from the desk's decision form.

    A rejection names a reason from the type's fixed list (``reason_code``): the
    borrower reads that reason's text, never staff's own words. The internal note
    (``note``; ``reason`` is its older name) goes to the audit entry only; it is
    required for approvals and resolutions (what was checked), optional for rejections.
    """
    form = Form(data, ("decision", "reason_code", "note", "reason"))
    decision = form.field("decision", string(32))
    allowed = rules.decisions_for(appeal_type)
    if decision is not None and decision not in allowed:
        form.fail("decision", "Допустимые значения: " + ", ".join(allowed) + ".")
    if "note" in data and "reason" in data:
        form.fail("reason", "Укажите заметку в одном поле: note.")
    name = "reason" if "reason" in data else "note"
    rejecting = decision == rules.REJECTED
    note = form.field(name, string(500), required=not rejecting)
    if note is not None and len(note) < NOTE_MIN:
        form.fail(name, f"Внутренняя заметка — не короче {NOTE_MIN} символов.")
    reasons = rules.REJECTION_REASONS.get(appeal_type, {})
    code = form.field("reason_code", string(64), required=rejecting)
    borrower_text = None
    if code is not None:
        if not rejecting:
            form.fail("reason_code", "Причину из списка выбирают только при отказе.")
        elif code not in reasons:
            form.fail("reason_code", "Выберите причину отказа из списка.")
        else:
            borrower_text = reasons[code][1]
    form.raise_if_invalid()
    assert decision is not None
    return decision, borrower_text, note


def decide(appeal_id: str, data: dict[str, Any], staff: Principal) -> dict[str, Any]:
    """Approve, reject or resolve an appeal under review.

    The decision, its audit entry and every state change commit in one
    transaction. What follows it (ending sessions, tagging or deleting photos,
    notices) is idempotent: when the same staff member repeats a decision that
    committed but did not finish (a timeout, a 503), the follow-ups run again and
    the answer is 200; anyone else gets 409.
    """
    appeal = common.load(appeal_id)
    kind = KINDS[appeal.type]
    require_role(staff, kind.role)
    decision, reason, note = read_appeal_decision(data, appeal.type)
    commit, after = kind.outcomes[decision]
    if appeal.status == decision and appeal.decided_by == staff_name(staff):
        after(appeal)
        return common.view(common.load(appeal_id))
    if appeal.status != rules.IN_REVIEW:
        raise Conflict(CONCURRENT)
    rules.check_transition(appeal.type, appeal.status, decision)
    entry = audit.new_entry(
        staff_name(staff),
        f"{appeal.type}_{decision}",
        appeal.account_id or "none",
        reason=reason,
        target=appeal_id,
        note=note,
    )
    commit(appeal, reason, staff, entry)
    logger.info("request decided", extra={"request_id": appeal_id, "decision": decision})
    after(common.load(appeal_id))
    return common.view(common.load(appeal_id))
