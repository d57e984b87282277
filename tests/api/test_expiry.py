"""``expire_appeals``: abandoned phone changes are cancelled, unlocked, emptied and told."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain import appeals as rules
from tests.api.test_appeals import signed_in, start_phone_change
from tests.factories import test_phone
from tests.helpers import Api


def age(request_id: str, days: float) -> None:
    """Pretend the request was filed ``days`` ago."""
    from chalicelib import clock
    from chalicelib.services.appeals.common import load
    from chalicelib.storage.appeals import AppealModel

    load(request_id).update(
        actions=[AppealModel.created_at.set(clock.iso(clock.now() - timedelta(days=days)))]
    )


def run_expiry(api: Api) -> Any:
    event = api.client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    return api.client.lambda_.invoke("expire_appeals", event).payload


def objects(api: Api, request_id: str) -> list[str]:
    from chalicelib.config import get_settings

    listed = api.aws.client("s3").list_objects_v2(
        Bucket=get_settings().documents_bucket, Prefix=f"requests/{request_id}/"
    )
    return [item["Key"] for item in listed.get("Contents", [])]


def test_an_abandoned_phone_change_is_cancelled_unlocked_emptied_and_told(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.client import BaseClient

    from chalicelib.config import get_settings
    from chalicelib.services.appeals.common import load
    from devstack.consistency import check

    # GIVEN a phone change filed eight days ago with a photo in the bucket, never finished
    data, token = signed_in(api)
    filed = start_phone_change(api, token, test_phone(7101))
    assert filed.status == 201, filed.body
    request_id = filed.body["request_id"]
    bucket = get_settings().documents_bucket
    api.aws.client("s3").put_object(
        Bucket=bucket, Key=filed.body["uploads"]["id_front"]["key"], Body=b"photo"
    )
    age(request_id, 8)
    # AND one filed an hour ago, and an old one already in review
    _, young_token = signed_in(api)
    young = start_phone_change(api, young_token, test_phone(7102)).body["request_id"]
    age(young, 1 / 24)
    _, review_token = signed_in(api)
    in_review = start_phone_change(api, review_token, test_phone(7103)).body["request_id"]
    from chalicelib.storage.appeals import AppealModel

    load(in_review).update(
        actions=[
            AppealModel.status.set(rules.IN_REVIEW),
            AppealModel.queue.set("phone_change#in_review"),
        ]
    )
    age(in_review, 9)
    api.deliver()
    texts_before = len(api.sms_to(data["phone"]))

    calls: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counting(self: Any, operation_name: str, api_params: Any) -> Any:
        calls[operation_name] += 1
        return original(self, operation_name, api_params)

    # WHEN the hourly schedule runs
    with monkeypatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", counting)
        result = run_expiry(api)

    # THEN exactly the abandoned one is cancelled, found by a Query (no Scan)
    assert result == {"found": 1, "cancelled": 1}
    assert calls["Query"] >= 1 and calls["Scan"] == 0
    mine = api.get(f"/v1/requests/{request_id}", token=token)
    assert mine.body["status"] == "cancelled"
    assert mine.body["status_text"] == "Отменена"
    assert load(young).status == rules.AWAITING_DOCUMENTS
    assert load(in_review).status == rules.IN_REVIEW
    # AND its objects are gone, the borrower is told by SMS
    assert objects(api, request_id) == []
    texts = api.sms_to(data["phone"])
    assert len(texts) == texts_before + 1
    assert "отменена" in texts[-1] and "7 дн" in texts[-1]
    # AND the consistency checker finds nothing wrong with it
    assert [f for f in check() if request_id in f.key or request_id in f.detail] == []
    # AND the code of the cancelled request can no longer be resent
    resend = api.post(f"/v1/requests/{request_id}/resend-code", token=token)
    assert resend.status == 409
    # AND the borrower can start again
    again = start_phone_change(api, token, test_phone(7104))
    assert again.status == 201, again.body

    # WHEN it runs again: nothing more happens
    assert run_expiry(api) == {"found": 0, "cancelled": 0}
    assert len(api.sms_to(data["phone"])) == texts_before + 1
    assert load(again.body["request_id"]).status == rules.AWAITING_DOCUMENTS


def test_the_age_is_configurable(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.config import reset_settings
    from chalicelib.services.appeals.common import load

    _, token = signed_in(api)
    request_id = start_phone_change(api, token, test_phone(7105)).body["request_id"]
    age(request_id, 3)
    assert run_expiry(api) == {"found": 0, "cancelled": 0}

    monkeypatch.setenv("HAVA_PHONE_CHANGE_EXPIRY_DAYS", "2")
    reset_settings()
    assert run_expiry(api) == {"found": 1, "cancelled": 1}
    assert load(request_id).status == rules.CANCELLED


def test_a_request_that_moved_on_is_not_cancelled(api: Api) -> None:
    from chalicelib.services.appeals.common import load
    from chalicelib.services.appeals.phone_change import cancel_abandoned, cutoff
    from chalicelib.storage.appeals import AppealModel

    _, token = signed_in(api)
    request_id = start_phone_change(api, token, test_phone(7106)).body["request_id"]
    age(request_id, 8)
    stale = load(request_id)
    # The borrower finishes it between the Query and the cancellation.
    load(request_id).update(
        actions=[
            AppealModel.status.set(rules.IN_REVIEW),
            AppealModel.queue.set("phone_change#in_review"),
        ]
    )
    assert stale.status == rules.AWAITING_DOCUMENTS
    assert cancel_abandoned(request_id, cutoff()) is False
    assert load(request_id).status == rules.IN_REVIEW


def test_the_consistency_checker_knows_the_cancelled_state(api: Api) -> None:
    from chalicelib.config import get_settings
    from chalicelib.services.appeals.common import load
    from chalicelib.storage.appeals import AppealModel
    from devstack.consistency import check

    _, token = signed_in(api)
    filed = start_phone_change(api, token, test_phone(7107)).body
    request_id = filed["request_id"]
    # A cancellation done wrong: lock kept and the photo left behind.
    load(request_id).update(actions=[AppealModel.status.set(rules.CANCELLED)])
    api.aws.client("s3").put_object(
        Bucket=get_settings().documents_bucket, Key=filed["uploads"]["selfie"]["key"], Body=b"x"
    )

    kinds = {f.kind for f in check() if request_id in f.key or request_id in f.detail}

    assert kinds == {"cancelled_request_holds_lock", "cancelled_request_keeps_objects"}
