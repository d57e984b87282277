"""Opaque page cursors over DynamoDB's LastEvaluatedKey and one page of an index (staff lists)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.errors import BadRequest

MSG_CURSOR = "Некорректный курсор страницы: начните с первой страницы."


def encode_cursor(last_evaluated_key: Mapping[str, Any] | None) -> str | None:
    """An opaque cursor: base64url of DynamoDB's LastEvaluatedKey JSON."""
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(
    cursor: str | None, keys: Iterable[str], pinned: Mapping[str, str]
) -> dict[str, Any] | None:
    """The LastEvaluatedKey of ``cursor``, or ``BadRequest``.

    Only string keys named ``keys`` are accepted, and those in ``pinned`` must
    hold the given values (a cursor of another queue is no cursor of this one).
    """
    if not cursor:
        return None
    try:
        if len(cursor) > 1024:
            raise ValueError(cursor)
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise BadRequest(MSG_CURSOR) from None
    if not isinstance(key, dict) or set(key) != set(keys):
        raise BadRequest(MSG_CURSOR)
    for name, value in key.items():
        if not isinstance(value, dict) or set(value) != {"S"} or not isinstance(value["S"], str):
            raise BadRequest(MSG_CURSOR)
        if name in pinned and value["S"] != pinned[name]:
            raise BadRequest(MSG_CURSOR)
    return key


def query_page(
    index: Any,
    hash_key: str,
    cursor: str | None,
    *,
    keys: Iterable[str],
    pinned: Mapping[str, str],
    page_size: int,
) -> tuple[list[Any], str | None]:
    """One page of an index, oldest first: ``(items, next cursor)`` (one Query).

    ``cursor`` is checked as ``decode_cursor`` does (``keys``, ``pinned``).
    """
    start = decode_cursor(cursor, keys, pinned)
    result = index.query(
        hash_key,
        scan_index_forward=True,
        limit=page_size,
        page_size=page_size,
        last_evaluated_key=start,
    )
    items = list(result)
    return items, encode_cursor(result.last_evaluated_key)
