"""Support-desk staff accounts (table ``hava-staff``), separate from borrowers.

Members are listed by one Query on ``by_kind`` (every member carries
``kind = "member"``; the table holds a handful of people), never by a Scan.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import DoesNotExist, TransactGetError
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.errors import ServiceUnavailable
from chalicelib.storage.base import BaseMeta, read_transaction, table_name
from chalicelib.storage.throttles import ThrottleModel, failures_key

#: The ``kind`` of every staff member (the partition of ``by_kind``).
MEMBER = "member"
#: What ``by_kind`` holds besides its keys: never a secret.
LISTED = ["roles", "status", "created_at", "created_by", "staff_number"]


class StaffByKind(GlobalSecondaryIndex["StaffModel"]):
    """Every staff member by username (no password hash, no TOTP secret projected)."""

    class Meta:
        index_name = "by_kind"
        projection = IncludeProjection(LISTED)

    kind = UnicodeAttribute(hash_key=True)
    username = UnicodeAttribute(range_key=True)


class StaffModel(Model):
    """A staff member: argon2 password, mandatory TOTP (secret sealed under KMS), roles.

    ``status``: ``pending`` (created, enrolment link issued), ``enrolling`` (the
    member set a password and got the TOTP secret; the first sign-in with a code
    activates), ``active``, ``disabled``.
    """

    class Meta(BaseMeta):
        table_name = table_name("staff")

    username = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default=MEMBER)
    #: Shown to borrowers instead of the username (stable, pseudonymous).
    staff_number = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute(null=True)
    totp_secret = UnicodeAttribute(null=True)
    roles = UnicodeSetAttribute()
    status = UnicodeAttribute(default="active")
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    #: SHA-256 of the one-time enrolment token (never the token) and its expiry (epoch s).
    enrolment_hash = UnicodeAttribute(null=True)
    enrolment_expires_at = NumberAttribute(null=True)
    #: Consecutive wrong TOTP codes after a right password (a security event past a few).
    totp_failures = NumberAttribute(default=0)
    #: The last TOTP time step accepted: a code is never accepted twice.
    last_totp_step = NumberAttribute(default=0)

    by_kind = StaffByKind()


def member_and_failures(
    username: str, subject: str
) -> tuple[StaffModel | None, ThrottleModel | None]:
    """The member and the username's failure counter in one ``TransactGetItems``.

    An unknown username reads a key that never exists: the same round trip.
    """
    try:
        with read_transaction() as tx:
            member = tx.get(StaffModel, username)
            counter = tx.get(ThrottleModel, failures_key(subject))
    except TransactGetError as exc:
        raise ServiceUnavailable() from exc
    results: list[Model | None] = []
    for future in (member, counter):
        try:
            results.append(future.get())
        except DoesNotExist:
            results.append(None)
    found, count = results
    assert found is None or isinstance(found, StaffModel)
    assert count is None or isinstance(count, ThrottleModel)
    return found, count
