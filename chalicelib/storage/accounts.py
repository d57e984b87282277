"""Accounts and their guard items (tables ``hava-accounts``, ``hava-identifiers``).

One place for what the rest of the code must not spell out itself:

- the keys of guard items (``guard_key``, ``open_guard_key`` …);
- sealing and opening an account's personal data (``seal_pii``/``unseal_pii``: the
  encryption context ``{"purpose": "account", "account_id": …}`` is typed only here);
- the sign-in copy: each identifier guard (IIN, phone, e-mail) carries what signing
  in needs of its account (``LOGIN_FIELDS``), so a sign-in reads the guard and never
  the account. Every write of those fields goes through ``update_with_login`` (the
  account and its guards in one transaction); a guard made with an account or for a
  new identifier gets the whole copy (``login_copy``) and ``has_login`` set. Guards
  written before the copy existed have no ``has_login``: sign-in then reads the
  account as before (``python -m devstack.reindex_logins`` fills them in).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.exceptions import PutError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from chalicelib.adapters import crypto
from chalicelib.domain.accounts import AccountStatus
from chalicelib.storage.base import BaseMeta, table_name

if TYPE_CHECKING:
    from chalicelib.storage.tx import OnFail, Write


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
    unique across accounts: DynamoDB enforces it, no read-then-write check. The
    identifier guards also carry the sign-in copy of their account (module docstring).
    """

    class Meta(BaseMeta):
        table_name = table_name("identifiers")

    lookup = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    #: Set when the guard carries the whole sign-in copy below.
    has_login = BooleanAttribute(null=True)
    password_hash = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    must_change_password = BooleanAttribute(null=True)
    consent_version = UnicodeAttribute(null=True)
    known_devices = ListAttribute[str](null=True)


#: What signing in needs of an account, copied onto each of its identifier guards.
LOGIN_FIELDS = (
    "password_hash",
    "status",
    "must_change_password",
    "consent_version",
    "known_devices",
)
#: The kinds of identifier a borrower signs in with (the prefix of their guard keys).
IDENTIFIER_KINDS = ("iin", "phone", "email")


# --- guard keys ---------------------------------------------------------------------


def guard_key(kind: str, digest: str) -> str:
    """``kind#<digest>``: the key of an identifier guard (``crypto.blind_index`` makes it)."""
    return f"{kind}#{digest}"


def is_identifier_key(key: str, kind: str | None = None) -> bool:
    """Whether ``key`` is the guard key of an identifier (of ``kind``, when given)."""
    prefix = key.split("#", 1)[0]
    return prefix == kind if kind is not None else prefix in IDENTIFIER_KINDS


def open_guard_key(kind: str, account_id: str) -> str:
    """One open item of ``kind`` (a loan, or an appeal type) per account."""
    return f"open#{kind}#{account_id}"


def payment_guard_key(reference_digest: str) -> str:
    """One recorded payment per bank document (its keyed reference)."""
    return f"payment#{reference_digest}"


def inbound_guard_key(message_digest: str) -> str:
    """One handling of an inbound e-mail (its keyed SES message id)."""
    return f"inbound#{message_digest}"


def reminder_guard_key(loan_id: str, due_iso: str, offset: int) -> str:
    """One reminder of a loan per due date and offset (days before or after it)."""
    return f"reminder#{loan_id}#{due_iso}#{offset}"


def claim_marker(lookup: str, owner: str) -> bool:
    """Write the one-time marker item ``lookup``; False when another run wrote it first.

    What makes a job run once although its trigger fires more than once (a schedule
    retried, a message delivered twice). Any other failure propagates.
    """
    try:
        IdentifierModel(lookup=lookup, account_id=owner).save(
            condition=IdentifierModel.lookup.does_not_exist()
        )
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


# --- personal data ------------------------------------------------------------------


def pii_context(account_id: str) -> dict[str, str]:
    """The encryption context of an account's sealed personal data."""
    return {"purpose": "account", "account_id": account_id}


def seal_pii(account_id: str, pii: Mapping[str, Any]) -> str:
    """Seal an account's personal data (KMS; an outage is ``ServiceUnavailable``)."""

    return crypto.seal(pii, pii_context(account_id))


def unseal_pii(account_id: str, sealed: str) -> dict[str, Any]:
    """Open what ``seal_pii`` sealed for this account (the context is checked)."""

    return crypto.unseal(sealed, pii_context(account_id))


def account_pii(account: AccountModel) -> dict[str, Any]:
    """The personal data of a loaded account."""
    return unseal_pii(account.account_id, account.pii)


# --- the sign-in copy on the identifier guards --------------------------------------


def identifier_indexes(account: AccountModel) -> list[str]:
    """The keys of the account's identifier guards (none once it is deleted)."""
    indexes = (account.iin_index, account.phone_index, account.email_index)
    return [index for index in indexes if index]


def login_copy(account: AccountModel) -> dict[str, Any]:
    """The sign-in fields of ``account``, as a new guard of it carries them."""
    copy = {name: getattr(account, name) for name in LOGIN_FIELDS}
    return {**copy, "has_login": True}


def identifier_guard(lookup: str, account: AccountModel) -> IdentifierModel:
    """A new identifier guard of ``account``, with the sign-in copy."""
    return IdentifierModel(lookup=lookup, account_id=account.account_id, **login_copy(account))


def claim_identifier(t: Write, lookup: str, account: AccountModel, on_fail: OnFail) -> None:
    """A new guard ``lookup`` of ``account`` with the sign-in copy, in ``t``, while it is free.

    ``on_fail``: what it means that some account already holds the identifier.
    """
    t.put(
        identifier_guard(lookup, account), IdentifierModel.lookup.does_not_exist(), on_fail=on_fail
    )


def login_account(guard: IdentifierModel) -> AccountModel | None:
    """The account as sign-in sees it, from the guard's copy (None if it has none)."""
    if not guard.has_login:
        return None
    account = AccountModel(account_id=guard.account_id)
    for name in LOGIN_FIELDS:
        setattr(account, name, getattr(guard, name))
    return account


#: Builds the same actions for the account and for a guard: ``lambda m: [m.status.set(…)]``.
LoginActions = Callable[[Any], list[Action]]


def update_with_login(
    t: Write,
    account: AccountModel,
    login_actions: LoginActions,
    *,
    other_actions: Iterable[Action] = (),
    condition: Condition | None = None,
    on_fail: OnFail = None,
    add_version_condition: bool = False,
    indexes: Iterable[str] | None = None,
) -> None:
    """Update sign-in fields of the account and of each of its guards in transaction ``t``.

    ``login_actions`` touches only ``LOGIN_FIELDS``; ``other_actions`` go to the
    account alone. A guard that is no longer the account's cancels the transaction.
    """
    t.update(
        account,
        [*login_actions(AccountModel), *other_actions],
        condition,
        on_fail=on_fail,
        add_version_condition=add_version_condition,
    )
    for index in identifier_indexes(account) if indexes is None else indexes:
        t.update(
            IdentifierModel(lookup=index),
            login_actions(IdentifierModel),
            IdentifierModel.account_id == account.account_id,
        )
