"""``storage.tx``: a cancelled transaction raises the error its failed write names."""

from __future__ import annotations

from itertools import permutations
from typing import Any

import pytest
from pynamodb.exceptions import TransactWriteError

from tests.conftest import Aws


class Named(Exception):
    """A test error carrying the name of the write that failed."""


def _guard(lookup: str, account_id: str = "acc_owner") -> Any:
    from chalicelib.storage.accounts import IdentifierModel

    return IdentifierModel(lookup=lookup, account_id=account_id)


def _stored(*lookups: str) -> None:
    for lookup in lookups:
        _guard(lookup).save()


def _write(t: Any, kind: str, fails: bool) -> None:
    """One write of ``kind`` whose condition fails when ``fails``."""
    from chalicelib.storage.accounts import IdentifierModel

    owner = "acc_other" if fails else "acc_owner"
    if kind == "check":
        t.check(
            IdentifierModel,
            "test#check",
            condition=IdentifierModel.account_id == owner,
            on_fail=Named(kind),
        )
    elif kind == "delete":
        t.delete(
            _guard("test#delete"),
            condition=IdentifierModel.account_id == owner,
            on_fail=Named(kind),
        )
    elif kind == "put":
        # The stored item is the one named "test#put-taken": its put fails.
        lookup = "test#put-taken" if fails else "test#put-free"
        t.put(_guard(lookup), IdentifierModel.lookup.does_not_exist(), on_fail=lambda: Named(kind))
    else:
        t.update(
            _guard("test#update"),
            [IdentifierModel.account_id.set("acc_owner")],
            condition=IdentifierModel.account_id == owner,
            on_fail=Named(kind),
        )


@pytest.mark.parametrize("order", list(permutations(("check", "delete", "put", "update"), 3)))
def test_the_failed_write_in_the_middle_raises_its_own_error_whatever_the_call_order(
    aws: Aws, order: tuple[str, str, str]
) -> None:
    from chalicelib.storage import tx

    _stored("test#check", "test#delete", "test#put-taken", "test#update")
    # GIVEN three writes, only the 2nd of which (in call order) has a failing condition
    with pytest.raises(Named) as raised, tx.write() as t:
        for position, kind in enumerate(order):
            _write(t, kind, fails=position == 1)
    # THEN that write's error is raised, not a neighbour's
    assert str(raised.value) == order[1]
    assert [str(e) for e in t.failures] == [order[1]]


def test_when_several_fail_the_first_call_wins_and_all_are_listed(aws: Aws) -> None:
    from chalicelib.storage import tx

    _stored("test#check", "test#delete", "test#put-taken", "test#update")
    with pytest.raises(Named) as raised, tx.write() as t:
        _write(t, "update", fails=True)
        _write(t, "put", fails=False)
        _write(t, "delete", fails=True)
    assert str(raised.value) == "update"
    assert [str(e) for e in t.failures] == ["update", "delete"]


def test_a_failed_condition_without_a_name_is_the_cancellation_error_or_pynamodbs(
    aws: Aws,
) -> None:
    from chalicelib.storage import tx
    from chalicelib.storage.accounts import IdentifierModel

    _stored("test#taken")
    with pytest.raises(TransactWriteError), tx.write() as t:
        t.put(_guard("test#taken"), IdentifierModel.lookup.does_not_exist())
    with pytest.raises(Named, match="cancelled"), tx.write(on_cancel=Named("cancelled")) as t:
        t.put(_guard("test#taken"), IdentifierModel.lookup.does_not_exist())


def test_nothing_is_written_when_the_block_raises(aws: Aws) -> None:
    from chalicelib.storage import tx
    from chalicelib.storage.accounts import IdentifierModel

    with pytest.raises(RuntimeError), tx.write() as t:
        t.put(_guard("test#never"))
        raise RuntimeError
    assert IdentifierModel.count("test#never") == 0


def test_pynamodb_sends_checks_deletes_puts_then_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    """The order ``storage.tx`` maps the reasons by: pynamodb's, not the calls'."""
    from pynamodb.connection import Connection

    from chalicelib.storage import tx
    from chalicelib.storage.accounts import IdentifierModel

    sent: list[str] = []

    def dispatch(self: Any, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        sent.extend(next(iter(item)) for item in kwargs["TransactItems"])
        return {}

    monkeypatch.setattr(Connection, "dispatch", dispatch)
    with tx.write() as t:
        t.update(_guard("a"), [IdentifierModel.account_id.set("x")])
        t.put(_guard("b"))
        t.delete(_guard("c"))
        t.check(IdentifierModel, "d", condition=IdentifierModel.lookup.exists(), on_fail=None)
    assert sent == ["ConditionCheck", "Delete", "Put", "Update"]
    assert [tx.SENT_ORDER[i] for i in range(4)] == ["check", "delete", "put", "update"]
