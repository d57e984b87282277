"""Write transactions whose conditions carry what their failure means.

Each write names the error its failed condition stands for (``on_fail``: an
error, or a callable making one). DynamoDB reports a cancelled transaction's
reasons by position in the list it was SENT, and pynamodb's ``TransactWrite``
sends condition checks, then deletes, then puts, then updates, whatever the
order of the calls (``pynamodb/connection/base.py``, ``transact_write_items``;
``tests/storage/test_storage_tx.py`` holds it to that). This module maps the
positions back to the writes, so no service counts them.

When several conditions fail, the first write *in the order of the calls*
that has an ``on_fail`` wins: write the condition that matters most first.
A cancellation no named condition explains (a concurrent transaction, a failed
condition without ``on_fail``) raises ``on_cancel`` when the transaction has
one; anything else re-raises pynamodb's error, which the error mapping answers
with 503.

    with tx.write(on_cancel=Conflict()) as t:
        t.update(challenge, [...], condition=..., on_fail=CodeExpired("…"))
        t.put(guard, IdentifierModel.lookup.does_not_exist(), on_fail=lambda: Taken())
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.storage.base import transaction

#: What a failed condition raises: an exception, or a factory of one (built only then).
OnFail = BaseException | Callable[[], BaseException] | None

#: The order pynamodb sends the groups in (see the module docstring).
SENT_ORDER = ("check", "delete", "put", "update")


@dataclass(frozen=True)
class _Item:
    group: str
    on_fail: OnFail


def _error(on_fail: OnFail) -> BaseException | None:
    if on_fail is None or isinstance(on_fail, BaseException):
        return on_fail
    return on_fail()


class Write:
    """One ``TransactWriteItems``: checks, deletes, puts and updates, each with its ``on_fail``."""

    def __init__(self, inner: TransactWrite, on_cancel: OnFail = None) -> None:
        self._inner = inner
        self._on_cancel = on_cancel
        self._items: list[_Item] = []
        #: After a cancellation: the errors of every failed named condition, in call order.
        self.failures: list[BaseException] = []

    def check(
        self,
        model_cls: type[Model],
        hash_key: Any,
        range_key: Any = None,
        *,
        condition: Condition,
        on_fail: OnFail,
    ) -> None:
        """A condition on an item this transaction does not write."""
        self._inner.condition_check(model_cls, hash_key, range_key, condition=condition)
        self._items.append(_Item("check", on_fail))

    def delete(
        self,
        model: Model,
        condition: Condition | None = None,
        *,
        on_fail: OnFail = None,
        add_version_condition: bool = True,
    ) -> None:
        self._inner.delete(model, condition, add_version_condition=add_version_condition)
        self._items.append(_Item("delete", on_fail))

    def put(
        self, model: Model, condition: Condition | None = None, *, on_fail: OnFail = None
    ) -> None:
        self._inner.save(model, condition)
        self._items.append(_Item("put", on_fail))

    def update(
        self,
        model: Model,
        actions: list[Action],
        condition: Condition | None = None,
        *,
        on_fail: OnFail = None,
        add_version_condition: bool = True,
    ) -> None:
        self._inner.update(model, actions, condition, add_version_condition=add_version_condition)
        self._items.append(_Item("update", on_fail))

    def sent(self) -> list[int]:
        """Call positions of the items in the order DynamoDB receives them."""
        rank = {group: i for i, group in enumerate(SENT_ORDER)}
        return sorted(range(len(self._items)), key=lambda i: rank[self._items[i].group])

    def commit(self) -> None:
        try:
            self._inner._commit()
        except TransactWriteError as exc:
            error = self._explain(exc)
            if error is None:
                raise
            raise error from exc

    def _explain(self, exc: TransactWriteError) -> BaseException | None:
        reasons = exc.cancellation_reasons or []
        failed = {
            call
            for call, reason in zip(self.sent(), reasons, strict=False)
            if reason is not None and reason.code == "ConditionalCheckFailed"
        }
        self.failures = [
            error
            for call, item in enumerate(self._items)
            if call in failed and (error := _error(item.on_fail)) is not None
        ]
        if self.failures:
            return self.failures[0]
        if exc.cause_response_code == "TransactionCanceledException":
            return _error(self._on_cancel)
        return None


@contextmanager
def write(on_cancel: OnFail = None) -> Iterator[Write]:
    """A transaction that commits when the block ends without an exception."""
    tx = Write(transaction(), on_cancel)
    yield tx
    tx.commit()
