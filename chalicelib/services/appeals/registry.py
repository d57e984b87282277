"""Every appeal type's ``AppealKind``: its reviewing role, decisions and review-view part."""

from __future__ import annotations

from chalicelib.services.appeals import compromise, deletion, phone_change
from chalicelib.services.appeals.outcome import AppealKind

KINDS: dict[str, AppealKind] = {
    kind.type: kind for kind in (phone_change.KIND, deletion.KIND, compromise.KIND)
}
#: Which role reviews which appeal type.
ROLE_FOR_TYPE: dict[str, str] = {kind.type: kind.role for kind in KINDS.values()}
