"""Counters for rate limits (table ``hava-throttles``)."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, PynamoDBException, UpdateError
from pynamodb.models import Model

from chalicelib.clock import epoch
from chalicelib.errors import RateLimited
from chalicelib.storage.base import BaseMeta, storage_errors, table_name


class ThrottleModel(Model):
    """One fixed-window counter; the key names the limit, subject and window."""

    class Meta(BaseMeta):
        table_name = table_name("throttles")

    key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    #: End of the window (epoch seconds), also the TTL.
    expires_at = TTLAttribute()


def consume(subject: str, limit: int, window_seconds: int) -> None:
    """Count one event against ``limit`` per fixed window; refuse the one over it.

    One conditional UpdateItem: concurrent callers can never overshoot the limit.
    """
    now = epoch()
    window = now // window_seconds
    window_end = (window + 1) * window_seconds
    item = ThrottleModel(key=f"{subject}#w{window_seconds}#{window}")
    with storage_errors():
        try:
            item.update(
                actions=[
                    ThrottleModel.hits.add(1),
                    ThrottleModel.expires_at.set(_at(window_end)),
                ],
                condition=ThrottleModel.key.does_not_exist() | (ThrottleModel.hits < limit),
            )
        except UpdateError as exc:
            if _condition_failed(exc):
                raise RateLimited(window_end - now) from exc
            raise


def cooldown(subject: str, seconds: int) -> None:
    """Allow one event per ``seconds`` for ``subject``; refuse earlier ones."""
    now = epoch()
    item = ThrottleModel(key=f"{subject}#cooldown", hits=1, expires_at=_at(now + seconds))
    with storage_errors():
        try:
            item.save(
                condition=ThrottleModel.key.does_not_exist()
                | (ThrottleModel.expires_at <= _at(now))
            )
        except PutError as exc:
            if not _condition_failed(exc):
                raise
            current = ThrottleModel.get(item.key)
            remaining = int(current.expires_at.timestamp()) - now if current.expires_at else 1
            raise RateLimited(remaining) from exc


def _at(epoch_seconds: int) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


def _condition_failed(exc: PynamoDBException) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"
