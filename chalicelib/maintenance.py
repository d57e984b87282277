"""The maintenance switch: on or off without a redeploy.

Source of truth: the SSM parameter named by ``HAVA_MAINTENANCE_PARAMETER``
(``/hava/maintenance``, created "off" by infra/resources.yaml), holding ``on``
or ``off``. Each Lambda container reads it at most once per
``HAVA_MAINTENANCE_CACHE_SECONDS`` (≤ 60 s), so a flip reaches every container
within a minute and costs one GetParameter per container per minute. An
operator flips it with one command (README "Deploying")::

    aws ssm put-parameter --name /hava/maintenance --type String --value on --overwrite

``HAVA_MAINTENANCE`` (true/false), when set, wins: local runs and tests. If SSM
cannot be read, the last value read stays in force (off when none was read):
a throttled or failing SSM never closes the cabinet by itself.
"""

from __future__ import annotations

import logging
import threading
import time

from chalicelib.adapters import aws
from chalicelib.config import get_settings

_ON = frozenset({"on", "true", "1", "yes"})
_log = logging.getLogger(__name__)
_lock = threading.Lock()
#: (parameter name, value, monotonic time it was read)
_cache: tuple[str, bool, float] | None = None


def is_on() -> bool:
    """Whether the borrowers' cabinet is closed for technical work right now."""
    global _cache  # noqa: PLW0603 - one small per-process cache
    settings = get_settings()
    if settings.maintenance_override is not None:
        return settings.maintenance_override
    name = settings.maintenance_parameter
    if not name:
        return False
    now = time.monotonic()
    with _lock:
        cached = _cache
        if cached and cached[0] == name and now - cached[2] < settings.maintenance_cache_seconds:
            return cached[1]
        previous = cached[1] if cached and cached[0] == name else False
        try:
            value = aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
            state = value.strip().lower() in _ON
        except Exception as exc:  # any failure keeps the last known state
            _log.warning(
                "maintenance switch unreadable, keeping %s: %s", previous, type(exc).__name__
            )
            state = previous
        _cache = (name, state, now)
        return state


def forget() -> None:
    """Drop the cached state (tests)."""
    global _cache  # noqa: PLW0603
    with _lock:
        _cache = None
