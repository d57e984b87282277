"""Borrower appeals («обращение») reviewed by staff (table ``hava-appeals``).

The API calls an appeal a *request* (``request_id``, ``/v1/requests``): those
names, and the stored attribute names, stay as they are."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.errors import NotFound
from chalicelib.i18n import N_
from chalicelib.storage.base import BaseMeta, table_name


class AppealsByAccount(GlobalSecondaryIndex["AppealModel"]):
    """One borrower's appeals, by creation time ("my appeals")."""

    class Meta:
        index_name = "by_account"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class AppealsByQueue(GlobalSecondaryIndex["AppealModel"]):
    """Sparse index: only appeals waiting for staff carry ``queue`` (``<type>#<status>``)."""

    class Meta:
        index_name = "by_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class AppealsByStatus(GlobalSecondaryIndex["AppealModel"]):
    """Appeals of one status by creation time (keys only): the expiry run's Query."""

    class Meta:
        index_name = "by_status"
        projection = KeysOnlyProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class AppealModel(Model):
    """A phone change, an account deletion or a compromise report.

    ``version`` makes every decision a conditional write: of two staff members
    deciding at once, exactly one wins.
    """

    class Meta(BaseMeta):
        table_name = table_name("appeals")

    request_id = UnicodeAttribute(hash_key=True)
    #: None for a compromise report whose login matched no account (not in ``by_account``).
    account_id = UnicodeAttribute(null=True)
    type = UnicodeAttribute()
    status = UnicodeAttribute()
    queue = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    #: Review deadline (ISO date).
    due_on = UnicodeAttribute()
    #: Sealed JSON of what the request carries (new phone, contact, description).
    details = UnicodeAttribute(null=True)
    new_phone_index = UnicodeAttribute(null=True)
    phone_confirmed = BooleanAttribute(default=False)
    challenge_id = UnicodeAttribute(null=True)
    #: {"id_front"|"id_back"|"selfie": {"key", "status", "reason", "checked_at"}}
    documents = MapAttribute[str, object](null=True)
    #: {"provider", "status", "score", "detail", "checked_at"}: see adapters.facematch
    face_match = MapAttribute[str, object](null=True)
    #: How it came: None for the cabinet, "email" for the inbound mail channel.
    channel = UnicodeAttribute(null=True)
    decision_reason = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    decided_at = UnicodeAttribute(null=True)
    version = VersionAttribute()

    by_account = AppealsByAccount()
    by_queue = AppealsByQueue()
    by_status = AppealsByStatus()


def load_appeal(appeal_id: str) -> AppealModel:
    """An appeal by id (strongly consistent), or ``NotFound``."""
    if not isinstance(appeal_id, str) or not appeal_id or len(appeal_id) > 64:
        raise NotFound(N_("Заявка не найдена."))
    try:
        return AppealModel.get(appeal_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound(N_("Заявка не найдена.")) from None
