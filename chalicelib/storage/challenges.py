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
    #: Blind index of the phone the code goes to (send limits are per number).
    phone_index = UnicodeAttribute()
    #: Phone change: the request this code confirms the new number of.
    request_id = UnicodeAttribute(null=True)
    # Registration payload: the future account, sealed for that account id.
    account_id = UnicodeAttribute(null=True)
    pii = UnicodeAttribute(null=True)
    iin_index = UnicodeAttribute(null=True)
    email_index = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute(null=True)
    amount = NumberAttribute(null=True)
    term_days = NumberAttribute(null=True)
    consent_version = UnicodeAttribute(null=True)
    consent_at = UnicodeAttribute(null=True)
    #: Registration: the language of the registering request ("ru"/"kk", ``chalicelib.i18n``)
    #: - its code SMS are written in it and the account is created with it.
    language = UnicodeAttribute(null=True)
    #: The phone (for an e-mail change: the address) is already some account's: its
    #: owner got a notice, not a code, so the challenge can never be confirmed.
    phone_taken = BooleanAttribute(default=False)
    #: A registration consumed without creating its account: its IIN or e-mail was
    #: already some account's (answered like a success, the owner told).
    lost_to_taken_identifier = BooleanAttribute(default=False)
