"""Pending confirmations by SMS code (table ``hava-challenges``)."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.models import Model

from chalicelib.storage.base import BaseMeta, table_name


class ChallengeModel(Model):
    """A code sent to a phone and what confirming it will do.

    moto never expires TTL items and DynamoDB may keep them up to days after
    ``expires_at``: readers check ``code_expires_at`` and ``expires_at`` themselves.
    """

    class Meta(BaseMeta):
        table_name = table_name("challenges")

    challenge_id = UnicodeAttribute(hash_key=True)
    purpose = UnicodeAttribute()
    code_digest = UnicodeAttribute()
    #: Epoch seconds after which the current code is void.
    code_expires_at = NumberAttribute()
    attempts = NumberAttribute(default=0)
    sends = NumberAttribute(default=1)
    last_sent_at = NumberAttribute()
    consumed = BooleanAttribute(default=False)
    #: Whole challenge removed by TTL (unfinished registrations disappear).
    expires_at = TTLAttribute()
    # Registration payload: the future account, sealed for that account id.
    account_id = UnicodeAttribute()
    pii = UnicodeAttribute()
    iin_index = UnicodeAttribute()
    phone_index = UnicodeAttribute()
    email_index = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    amount = NumberAttribute()
    term_days = NumberAttribute()
    consent_version = UnicodeAttribute()
    consent_at = UnicodeAttribute()
    #: The phone was already registered: its owner got a notice, not a code.
    phone_taken = BooleanAttribute(default=False)
