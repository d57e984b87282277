"""Attack replays over HTTP against the local stack: the e2e tier's stack fixtures, reused."""

from tests.e2e.conftest import local_stack, spawn_local_stack

__all__ = ["local_stack", "spawn_local_stack"]
