"""Races on the real local stack over HTTP: one winner each, no lost update."""

from __future__ import annotations

import pytest

from bench.reliability import (
    race_code,
    race_decisions,
    race_registrations,
    race_wrong_logins,
    staff_session,
)
from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e


def test_fifty_parallel_registrations_with_one_iin_make_one_account(
    reliable_stack: LocalStack,
) -> None:
    # GIVEN 50 registrations with one IIN, distinct phones and e-mails, all started
    # WHEN all 50 are confirmed at once
    result = race_registrations(reliable_stack, first=2000, n=50)

    # THEN step one answered alike for all, and exactly one account was made; the
    # losers answer like winners (201, issue 9 §5) or "already in progress" (409)
    assert result.detail["started"] == [202] * 50
    assert result.detail["accounts_created"] == 1
    assert set(result.statuses) <= {201, 409}, result.statuses


def test_one_code_confirmed_twenty_times_at_once_succeeds_once(
    reliable_stack: LocalStack,
) -> None:
    result = race_code(reliable_stack, n=2100, copies=20)

    assert result.statuses.count(201) == 1, result.statuses
    assert all(400 <= s < 500 for s in result.statuses if s != 201), result.statuses


def test_two_staff_decisions_on_one_request_one_wins(reliable_stack: LocalStack) -> None:
    staff = (
        staff_session(reliable_stack, "race-support-a", "support"),
        staff_session(reliable_stack, "race-support-b", "support"),
    )

    result = race_decisions(reliable_stack, n=2101, staff=staff)

    assert sorted(result.statuses) == [200, 409]


def test_parallel_wrong_passwords_are_each_counted(reliable_stack: LocalStack) -> None:
    # GIVEN a borrower; WHEN 8 sign-ins with a wrong password arrive at once
    result = race_wrong_logins(reliable_stack, n=2102, attempts=8)

    # THEN each got the one answer and the failure counter counted every one
    assert result.statuses == [401] * 8
    assert result.detail["counted"] == 8


def test_after_the_races_the_checker_finds_the_stack_consistent(
    reliable_stack: LocalStack,
) -> None:
    import os
    import subprocess
    import sys
    from urllib.parse import urlparse

    from tests.e2e.conftest import REPO_ROOT

    # WHEN the operator's checker runs against the stack, as from a shell
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")},
        "HAVA_LOCAL_DIR": str(reliable_stack.local_dir),
        "HAVA_LOCAL_AWS_PORT": str(urlparse(reliable_stack.aws_endpoint).port),
    }
    done = subprocess.run(
        [sys.executable, "-m", "devstack.consistency"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=120,
        check=False,
    )

    # THEN it finds nothing and exits 0
    assert done.returncode == 0, done.stdout + done.stderr
    assert "consistent" in done.stderr
