"""Make moto's DynamoDB as atomic as DynamoDB under concurrent requests.

moto serves requests on several threads and does not lock its DynamoDB backend:
two ``TransactWriteItems`` racing on the same guard item can both pass their
condition checks. DynamoDB itself serialises conflicting writes (a condition is
evaluated atomically with its write; conflicting transactions are cancelled).
The local stack and the tests serialise every DynamoDB request in moto so that
races exercise the same guarantees the application relies on in AWS.
"""

from __future__ import annotations

import threading
from typing import Any

_LOCK = threading.RLock()


def serialise_dynamodb() -> None:
    """Wrap moto's DynamoDB request handler in one lock (idempotent)."""
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_hava_serialised", False):
        return
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with _LOCK:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    DynamoHandler._hava_serialised = True  # type: ignore[attr-defined]
