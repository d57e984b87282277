"""Borrower sessions (table ``hava-sessions``)."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.base import BaseMeta, table_name


class SessionsByAccount(GlobalSecondaryIndex["SessionModel"]):
    """Every session of one account, oldest first (revocation, session list)."""

    class Meta:
        index_name = "by_account"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class SessionModel(Model):
    """A session; the key is the SHA-256 of the token, the token itself is never stored.

    ``kind`` separates borrowers' sessions from staff sessions (``account_id`` is
    then ``staff#<username>``, ``roles`` the staff roles at sign-in).
    """

    class Meta(BaseMeta):
        table_name = table_name("sessions")

    token_hash = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    last_seen_at = NumberAttribute()
    #: Absolute end of the session (also the TTL).
    expires_at = TTLAttribute()
    user_agent = UnicodeAttribute(null=True)
    kind = UnicodeAttribute(default="borrower")
    #: Only a password change is allowed (after a compromise report or a staff reset).
    restricted = BooleanAttribute(default=False)
    roles = UnicodeSetAttribute(null=True)
    #: The id the borrower sees in the session list (the token hash is never shown).
    #: Sessions created before it existed have none: they are not listed.
    session_id = UnicodeAttribute(null=True)
    #: The address the session was created from (shown to its borrower; never logged).
    client_ip = UnicodeAttribute(null=True)
    #: A newer consent text awaits acceptance: only the consent and safety routes answer.
    consent_pending = BooleanAttribute(null=True)

    by_account = SessionsByAccount()
