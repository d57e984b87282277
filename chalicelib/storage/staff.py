"""Support-desk staff accounts (table ``hava-staff``), separate from borrowers."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.models import Model

from chalicelib.storage.base import BaseMeta, table_name


class StaffModel(Model):
    """A staff member: argon2 password, mandatory TOTP (secret sealed under KMS), roles."""

    class Meta(BaseMeta):
        table_name = table_name("staff")

    username = UnicodeAttribute(hash_key=True)
    password_hash = UnicodeAttribute()
    totp_secret = UnicodeAttribute()
    roles = UnicodeSetAttribute()
    status = UnicodeAttribute(default="active")
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    failed_logins = NumberAttribute(default=0)
    #: The last TOTP time step accepted: a code is never accepted twice.
    last_totp_step = NumberAttribute(default=0)
