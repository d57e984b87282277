"""Accounts and their uniqueness guards (tables ``hava-accounts``, ``hava-identifiers``)."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.models import Model

from chalicelib.domain.accounts import AccountStatus
from chalicelib.storage.base import BaseMeta, table_name


class AccountModel(Model):
    """A borrower. Personal fields live only inside ``pii`` (KMS envelope, see adapters.crypto)."""

    class Meta(BaseMeta):
        table_name = table_name("accounts")

    account_id = UnicodeAttribute(hash_key=True)
    #: Sealed JSON: surname, name, patronymic, iin, birth_date, phone, email, id card.
    pii = UnicodeAttribute()
    #: Blind indexes of the login identifiers (keys of the guard items).
    iin_index = UnicodeAttribute()
    phone_index = UnicodeAttribute()
    email_index = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    status = UnicodeAttribute(default=AccountStatus.ACTIVE)
    must_change_password = BooleanAttribute(default=False)
    consent_version = UnicodeAttribute()
    consent_at = UnicodeAttribute()
    created_at = UnicodeAttribute()
    #: Keyed fingerprints of the browsers signed in from, oldest first (capped):
    #: a sign-in from any other one notifies the borrower.
    known_devices = ListAttribute[str](null=True)
    #: The borrower's language, "ru" or "kk" (``chalicelib.i18n``): SMS and e-mail use it.
    #: Absent on accounts from before it existed: read it through ``i18n.normalise`` (→ "ru").
    language = UnicodeAttribute(null=True)
    version = VersionAttribute()


class IdentifierModel(Model):
    """Guard item: one per IIN, phone and e-mail, written with the account in one transaction.

    ``attribute_not_exists(lookup)`` on these puts is what makes each identifier
    unique across accounts: DynamoDB enforces it, no read-then-write check.
    """

    class Meta(BaseMeta):
        table_name = table_name("identifiers")

    lookup = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
