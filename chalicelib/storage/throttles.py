"""Counters for rate limits (table ``hava-throttles``)."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException, UpdateError
from pynamodb.models import Model

from chalicelib import clock
from chalicelib.errors import RateLimited
from chalicelib.storage.base import BaseMeta, table_name


class ThrottleModel(Model):
    """One fixed-window counter; the key names the limit, subject and window."""

    class Meta(BaseMeta):
        table_name = table_name("throttles")

    key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    #: End of the window (epoch seconds), also the TTL.
    expires_at = TTLAttribute()
    #: Failure counters only: no attempt is accepted before this moment (epoch seconds).
    locked_until = NumberAttribute(null=True)


def consume(subject: str, limit: int, window_seconds: int) -> str:
    """Count one event against ``limit`` per fixed window; refuse the one over it.

    One conditional UpdateItem: concurrent callers can never overshoot the limit.
    Returns the counter's key (for ``release``).
    """
    now = clock.epoch()
    window = now // window_seconds
    window_end = (window + 1) * window_seconds
    item = ThrottleModel(key=f"{subject}#w{window_seconds}#{window}")
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
    return str(item.key)


def hits(key: str) -> int:
    """The events counted so far under a key ``consume`` returned (0 once it expired)."""
    try:
        return int(ThrottleModel.get(key, consistent_read=True).hits)
    except DoesNotExist:
        return 0


def release(key: str) -> None:
    """Give back one event counted by ``consume`` (the key it returned), never below zero."""
    try:
        ThrottleModel(key=key).update(
            actions=[ThrottleModel.hits.add(-1)],
            condition=ThrottleModel.hits > 0,
        )
    except UpdateError as exc:
        if not _condition_failed(exc):
            raise


def cooldown(subject: str, seconds: int) -> None:
    """Allow one event per ``seconds`` for ``subject``; refuse earlier ones."""
    now = clock.epoch()
    item = ThrottleModel(key=f"{subject}#cooldown", hits=1, expires_at=_at(now + seconds))
    try:
        item.save(
            condition=ThrottleModel.key.does_not_exist() | (ThrottleModel.expires_at <= _at(now))
        )
    except PutError as exc:
        if not _condition_failed(exc):
            raise
        current = ThrottleModel.get(item.key)
        remaining = int(current.expires_at.timestamp()) - now if current.expires_at else 1
        raise RateLimited(remaining) from exc


def failures_key(subject: str) -> str:
    """Key of the failure counter of ``subject``."""
    return f"{subject}#failures"


def failure_state(subject: str) -> tuple[int, int]:
    """``(consecutive failures, seconds still locked)`` of ``subject``; (0, 0) when unknown."""
    try:
        item = ThrottleModel.get(failures_key(subject), consistent_read=True)
    except DoesNotExist:
        return 0, 0
    return state_of(item)


def state_of(item: ThrottleModel | None) -> tuple[int, int]:
    """``(consecutive failures, seconds still locked)`` of a failure counter item."""
    now = clock.epoch()
    # moto never expires TTL items and DynamoDB may keep them for days: check here.
    if item is None or item.expires_at is None or item.expires_at <= _at(now):
        return 0, 0
    return int(item.hits), max(0, int(item.locked_until or 0) - now)


def add_failure(subject: str, *, free: int, base: int, cap: int, memory: int) -> int:
    """Count one failure of ``subject`` (atomic ADD) and lock it once over ``free``.

    The lock lasts ``base`` seconds after the first failure over ``free``,
    doubling with each further one, at most ``cap``. The counter is forgotten
    ``memory`` seconds after the last failure. Returns the new count.
    """
    now = clock.epoch()
    item = ThrottleModel(key=failures_key(subject))
    try:
        item.update(
            actions=[
                ThrottleModel.hits.add(1),
                ThrottleModel.expires_at.set(_at(now + memory)),
            ],
            condition=ThrottleModel.key.does_not_exist() | (ThrottleModel.expires_at > _at(now)),
        )
    except UpdateError as exc:
        if not _condition_failed(exc):
            raise
        # A stale counter past its memory: start again from one.
        item = ThrottleModel(key=item.key, hits=1, expires_at=_at(now + memory))
        item.save()
    count = int(item.hits)
    if count >= free:
        until = now + min(cap, base * 2 ** min(count - free, 40))
        try:
            # Only ever lengthen: parallel failures may arrive out of order.
            item.update(
                actions=[ThrottleModel.locked_until.set(until)],
                condition=ThrottleModel.locked_until.does_not_exist()
                | (ThrottleModel.locked_until < until),
            )
        except UpdateError as exc:
            if not _condition_failed(exc):
                raise
    return count


def failure_counter(subject: str) -> ThrottleModel:
    """The failure counter item of ``subject`` (to delete it inside a transaction)."""
    return ThrottleModel(key=failures_key(subject))


def clear_failures(*subjects: str) -> None:
    """Forget the failures (and any lock) of each subject."""
    for subject in subjects:
        failure_counter(subject).delete()


def _at(epoch_seconds: int) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


def _condition_failed(exc: PynamoDBException) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"
