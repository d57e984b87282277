"""Attack replays over HTTP against the local stack (``python -m devstack``).

Reuses the end-to-end tier's session-wide stack fixture.
"""

from __future__ import annotations

from tests.e2e.conftest import local_stack, spawn_local_stack

__all__ = ["local_stack", "spawn_local_stack"]
