"""Count AWS API calls by service and operation, with botocore's own event hooks.

Every botocore client - boto3's (``chalicelib.adapters.aws``), pynamodb's (its
own ``botocore.session.get_session()``), Powertools' - is built by
``botocore.client.ClientCreator.create_client``. ``install()`` wraps that one
class-level method, once, so each new client gets a handler for
``before-parameter-build`` on its event emitter. botocore emits that event once
per API operation, before ``before-call`` and to every handler (``emit``, not
``emit_until_response``), so a stub or cache answering at ``before-call`` cannot
hide a call. Retries happen later, inside the endpoint: the counts are API
calls, not HTTP attempts.

Clients created before ``install()`` are not seen: install first, then import
the application. The bench's own harness clients are created with
``harness_config()`` and deliberately left out.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: ``user_agent_extra`` that marks a client as the bench's own (not counted).
HARNESS_MARK = "hava-bench-harness"
_HANDLER_ID = "hava-bench-call-counter"

Calls = Counter[tuple[str, str]]

_lock = threading.Lock()
_windows: list[Calls] = []
_installed = False


def _on_api_call(model: Any, **_: Any) -> None:
    key = (str(model.service_model.service_name), str(model.name))
    with _lock:
        for window in _windows:
            window[key] += 1


def _is_harness(kwargs: dict[str, Any]) -> bool:
    config = kwargs.get("client_config")
    return bool(config is not None and getattr(config, "user_agent_extra", None) == HARNESS_MARK)


def install() -> None:
    """Hook every botocore client created from now on (idempotent)."""
    global _installed  # noqa: PLW0603 - one process-wide patch, applied once
    if _installed:
        return
    from botocore.client import ClientCreator

    original = ClientCreator.create_client

    def create_client(self: ClientCreator, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        if not _is_harness(kwargs):
            client.meta.events.register(
                "before-parameter-build", _on_api_call, unique_id=_HANDLER_ID
            )
        return client

    ClientCreator.create_client = create_client
    _installed = True


def harness_config() -> Any:
    """A botocore ``Config`` for the bench's own clients (left out of every count)."""
    from botocore.config import Config

    return Config(user_agent_extra=HARNESS_MARK)


@contextmanager
def counting() -> Iterator[Calls]:
    """Count the calls made inside the block (windows may nest)."""
    calls: Calls = Counter()
    with _lock:
        _windows.append(calls)
    try:
        yield calls
    finally:
        with _lock:
            _windows.remove(calls)


def of_service(calls: Calls, service: str) -> int:
    """Calls to one service (botocore's service name: ``dynamodb``, ``kms``...)."""
    return sum(n for (svc, _), n in calls.items() if svc == service)


def as_table(calls: Calls) -> dict[str, int]:
    """``{"dynamodb.GetItem": 2, ...}``, sorted, for the JSON report."""
    return {f"{svc}.{op}": n for (svc, op), n in sorted(calls.items())}
