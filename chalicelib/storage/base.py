"""What every table model shares, and the one place storage errors are translated."""

from __future__ import annotations

import secrets
import time
from functools import lru_cache

import pynamodb.connection.base
from pynamodb.connection import Connection
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.adapters.aws import botocore_session
from chalicelib.config import TABLE_PREFIX

# pynamodb opens a new botocore session per model connection, and each one
# reloads the DynamoDB service model (≈ 200 ms): share the process's session.
pynamodb.connection.base.get_session = botocore_session


class BaseMeta:
    """Connection settings of every table (region and endpoint come from botocore's env)."""

    region: str | None = None
    host: str | None = None
    connect_timeout_seconds = 3
    read_timeout_seconds = 10
    # pynamodb turns this into botocore's "standard" retry mode.
    max_retry_attempts = 3
    billing_mode = "PAY_PER_REQUEST"


def table_name(name: str) -> str:
    """The physical name of a table (see ``infra/resources.yaml``)."""
    return f"{TABLE_PREFIX}{name}"


def new_id(prefix: str) -> str:
    """An opaque 128-bit identifier with a readable prefix."""
    return f"{prefix}_{secrets.token_hex(16)}"


def sortable_id(iso_time: str) -> str:
    """A URL-safe identifier that sorts by time: ``20261126T010203Z-<ns><random>``.

    The nanoseconds within the second keep entries written in the same second
    in the order they were made.
    """
    compact = iso_time.replace("-", "").replace(":", "")
    return f"{compact}-{time.time_ns() % 1_000_000_000:09d}{secrets.token_hex(4)}"


@lru_cache(maxsize=1)
def _transaction_connection() -> Connection:
    return Connection(
        connect_timeout_seconds=BaseMeta.connect_timeout_seconds,
        read_timeout_seconds=BaseMeta.read_timeout_seconds,
        max_retry_attempts=BaseMeta.max_retry_attempts,
    )


def read_transaction() -> TransactGet:
    """A ``TransactGet`` on the shared connection (strongly consistent reads of several items)."""
    return TransactGet(connection=_transaction_connection())


def transaction() -> TransactWrite:
    """A ``TransactWrite`` on the shared connection (commits when its block ends)."""
    return TransactWrite(connection=_transaction_connection())


def reset_transaction_connection() -> None:
    """Forget the shared transaction connection (``registry.reset_connections`` uses it)."""
    _transaction_connection.cache_clear()
