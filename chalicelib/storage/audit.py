"""The append-only audit log (table ``hava-audit``).

Each entry is written with ``attribute_not_exists``: an entry can be added,
never overwritten (the deployed policy grants no UpdateItem/DeleteItem on it
either). Entries are kept per subject (an account, or ``staff#<username>``)
and can be listed per actor through ``by_actor``.
"""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.base import BaseMeta, table_name


class AuditByActor(GlobalSecondaryIndex["AuditModel"]):
    """What one staff member (or the system) did, oldest first."""

    class Meta:
        index_name = "by_actor"
        projection = AllProjection()

    actor = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)


class AuditModel(Model):
    """Who did what, when, why, to which account."""

    class Meta(BaseMeta):
        table_name = table_name("audit")

    subject = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    at = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    target = UnicodeAttribute(null=True)
    #: Staff's internal note on a decision: shown to staff only, never to the borrower.
    note = UnicodeAttribute(null=True)

    by_actor = AuditByActor()
