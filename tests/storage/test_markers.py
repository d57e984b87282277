"""One-time markers: what makes a retried schedule or a redelivered message act once."""

from __future__ import annotations

import threading

import pytest
from pynamodb.exceptions import PutError

from chalicelib.storage.accounts import IdentifierModel, claim_marker, reminder_guard_key
from tests.helpers import throttled


def test_the_first_claim_wins_and_a_second_changes_nothing(aws: object) -> None:
    key = reminder_guard_key("loan_1", "2026-12-20", -1)

    assert claim_marker(key, "acc_1") is True
    assert claim_marker(key, "acc_2") is False

    assert IdentifierModel.get(key, consistent_read=True).account_id == "acc_1"


def test_of_parallel_claims_exactly_one_wins(aws: object) -> None:
    key = reminder_guard_key("loan_2", "2026-12-20", 0)
    won: list[bool] = []
    start = threading.Barrier(8)

    def claim() -> None:
        start.wait()
        won.append(claim_marker(key, "acc_1"))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(won) == [False] * 7 + [True]


def test_a_storage_failure_propagates_and_is_not_read_as_already_claimed(
    aws: object, monkeypatch: pytest.MonkeyPatch
) -> None:

    def fail(self: IdentifierModel, *args: object, **kwargs: object) -> None:
        raise PutError("Failed to put item", cause=throttled("PutItem"))

    monkeypatch.setattr(IdentifierModel, "save", fail)

    with pytest.raises(PutError):  # the worker's message is redelivered; the route answers 503
        claim_marker(reminder_guard_key("loan_3", "2026-12-20", 3), "acc_1")
