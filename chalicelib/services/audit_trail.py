"""The audit trail as staff read it; every read is audited before anything is returned."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.errors import BadRequest, Forbidden, NotFound, ValidationFailed
from chalicelib.services import audit
from chalicelib.services.pagination import MSG_CURSOR
from chalicelib.services.sessions import Principal
from chalicelib.services.staff_accounts import (
    ADMIN,
    MSG_USERNAME,
    SECURITY,
    SUPPORT,
    USERNAME,
    require_role,
)


def audit_trail(staff: Principal, params: Mapping[str, str]) -> dict[str, Any]:
    """Entries about one account (support, security), about or by a staff member (admin).

    Audited before anything is read.
    """
    account_id, actor, cursor = params.get("account_id"), params.get("actor"), params.get("cursor")
    if bool(account_id) == bool(actor):
        raise ValidationFailed({"account_id": "Укажите либо account_id, либо actor."})
    if cursor is not None and (len(cursor) > 64 or not cursor.isascii()):
        raise BadRequest(MSG_CURSOR)
    if account_id:
        if account_id.startswith("staff#"):
            # A staff member's own trail (sign-ins, enrolment): admin only.
            require_role(staff, ADMIN)
        elif not staff.roles & {SUPPORT, SECURITY}:
            raise Forbidden()
        if len(account_id) > 64:
            raise NotFound()
        audit.record(staff.account_id, "audit_viewed", account_id)
        page = audit.for_subject(account_id, cursor)
    else:
        assert actor is not None
        require_role(staff, ADMIN)
        username = actor.removeprefix("staff#")
        if username == audit.SYSTEM:
            who = audit.SYSTEM
        elif USERNAME.fullmatch(username):
            who = audit.staff_subject(username)
        else:
            raise ValidationFailed({"actor": MSG_USERNAME})
        audit.record(staff.account_id, "audit_viewed", who)
        page = audit.for_actor(who, cursor)
    return {"items": page.items, "next_cursor": page.next_cursor}
