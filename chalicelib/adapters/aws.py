"""Cached AWS clients, created on first use, never at import.

Endpoints come from ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>``
(honoured by botocore itself); retries use botocore's standard mode, set once
here for every client of the application.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from chalicelib.config import get_settings

RETRY_CONFIG: dict[str, Any] = {"max_attempts": 4, "mode": "standard"}
#: Held while the shared session is made and while it makes a client (re-entrant).
_creating = threading.RLock()


def botocore_session() -> Any:
    """The one botocore session of the process.

    Every client, pynamodb's included (see ``storage.base``), is made from it:
    a fresh session re-reads the service models from disk (≈ 200 ms a client
    here), a shared one ≈ 45 ms, which is most of a cold start's AWS set-up.
    Thread-safe: a sign-in makes its first DynamoDB calls on two threads at once
    (``services.auth``), and a botocore session is not safe while it makes clients.
    """
    with _creating:
        return _shared_session()


def reset_session() -> None:
    """Forget the shared session (tests that change credentials)."""
    with _creating:
        _shared_session.cache_clear()


@lru_cache(maxsize=1)
def _shared_session() -> Any:
    # lazy: botocore ≈ 317 ms CPU at cold start; only _shared_session() needs it
    import botocore.session

    session = botocore.session.get_session()
    make = session.create_client

    def create_client(*args: Any, **kwargs: Any) -> Any:
        with _creating:
            return make(*args, **kwargs)

    session.create_client = create_client
    return session


@lru_cache(maxsize=1)
def _boto3_session() -> Any:
    # One boto3 session over the shared botocore one: each boto3 session registers
    # its handlers on the botocore session, so a second one would register them twice.
    # lazy: boto3 + botocore ≈ 379 ms CPU at cold start; only _boto3_session() needs it
    import boto3

    return boto3.session.Session(botocore_session=botocore_session())


@lru_cache(maxsize=16)
def _client(service: str, region: str) -> Any:
    # lazy: botocore ≈ 317 ms CPU at cold start; only _client() needs it
    from botocore.config import Config

    return _boto3_session().client(
        service,
        region_name=region,
        config=Config(retries=RETRY_CONFIG, connect_timeout=3, read_timeout=10),
    )


def client(service: str) -> Any:
    """A shared boto3 client for ``service`` in the configured region."""
    return _client(service, get_settings().region)


def reset_clients() -> None:
    """Forget cached clients (tests point them at a fresh moto)."""
    _client.cache_clear()
