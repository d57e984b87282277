"""Reliability fixtures: the local stack over HTTP (the in-process ``api`` is tests/conftest.py's).

``reliable_stack`` is the e2e ``local_stack`` started the same way
(``tests.e2e.conftest.start_local_stack``), with the per-address budgets lifted:
every parallel request here comes from 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.reliability import GENEROUS_LIMITS
from tests.e2e.conftest import LocalStack, start_local_stack


@pytest.fixture(scope="session")
def reliable_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A private local stack for the races and queue tests of this session."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in GENEROUS_LIMITS.items():
            patch.setenv(name, value)
        stack = start_local_stack(tmp_path_factory.mktemp("reliable-stack"))
    yield stack
    stack.stop()
