"""The one read a sign-in starts with: the login's guard item and its failure counter."""

from __future__ import annotations

from typing import TypeVar

from pynamodb.exceptions import DoesNotExist, TransactGetError
from pynamodb.models import Model, _ModelFuture

from chalicelib.errors import ServiceUnavailable
from chalicelib.storage.accounts import IdentifierModel
from chalicelib.storage.base import read_transaction
from chalicelib.storage.throttles import ThrottleModel, failures_key

T = TypeVar("T", bound=Model)


def guard_and_failures(
    index: str | None, subject: str
) -> tuple[IdentifierModel | None, ThrottleModel | None]:
    """Both items in one ``TransactGetItems`` (strongly consistent), None where absent.

    Saves a round trip on every sign-in; ``index`` is None when the login cannot
    be any identifier (only the counter is read then).
    """
    try:
        with read_transaction() as tx:
            guard = tx.get(IdentifierModel, index) if index is not None else None
            counter = tx.get(ThrottleModel, failures_key(subject))
    except TransactGetError as exc:
        raise ServiceUnavailable() from exc
    return _result(guard), _result(counter)


def _result(future: _ModelFuture[T] | None) -> T | None:
    if future is None:
        return None
    try:
        return future.get()
    except DoesNotExist:
        return None
