"""Relabelling an e-mailed phone change's photos: only a stale copy is a conflict."""

from __future__ import annotations

import pytest
from pynamodb.exceptions import UpdateError

from chalicelib import clock
from chalicelib.errors import Conflict
from chalicelib.services.appeals import by_email, common
from chalicelib.storage.appeals import AppealModel
from tests.helpers import throttled

SLOT = {"status": "accepted", "key": "requests/appeal_relabel/id_front/n.checked"}


def _appeal() -> AppealModel:
    now = clock.iso(clock.now())
    appeal = AppealModel(
        request_id="appeal_relabel",
        account_id="acc_relabel",
        type="phone_change",
        status="in_review",
        created_at=now,
        updated_at=now,
        due_on="2026-12-20",
        channel="email",
        documents={doc: dict(SLOT) for doc in ("id_front", "id_back", "selfie")},
    )
    appeal.save()
    return appeal


SWAP = {"documents": {"id_front": "selfie", "selfie": "id_front"}}


def test_a_copy_changed_meanwhile_is_a_conflict_and_changes_nothing(
    aws: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    _appeal()
    stale = AppealModel.get("appeal_relabel", consistent_read=True)
    fresh = AppealModel.get("appeal_relabel", consistent_read=True)
    fresh.update(actions=[AppealModel.decision_reason.set("another reviewer")])
    monkeypatch.setattr(common, "load", lambda _id: stale)

    with pytest.raises(Conflict):
        by_email.relabel_documents("staff_1", "appeal_relabel", SWAP)

    assert AppealModel.get("appeal_relabel", consistent_read=True).version == fresh.version


def test_a_storage_failure_is_not_reported_as_a_conflict(
    aws: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    _appeal()

    def fail(self: AppealModel, *args: object, **kwargs: object) -> None:
        raise UpdateError("Failed to update item", cause=throttled("UpdateItem"))

    monkeypatch.setattr(AppealModel, "update", fail)

    with pytest.raises(UpdateError):  # the error mapping answers it with 503 + Retry-After
        by_email.relabel_documents("staff_1", "appeal_relabel", SWAP)
