"""End-to-end fixtures: the local stack started exactly as ``make run`` starts it.

``python -m devstack`` runs as a subprocess from the repository root,
on free loopback ports and with its own ``.local`` directory, so tests never
touch a developer's running stack or outbox.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "hava-cabinet local stack ready on "
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
CODE_TIMEOUT = 10.0
#: Failed messages come back after 1 s instead of the queue's 180 s.
RETRY_DELAY_SECONDS = "1"
_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalStack:
    """A running ``python -m devstack`` and helpers to look into it."""

    process: subprocess.Popen[bytes]
    base_url: str
    aws_endpoint: str
    local_dir: Path
    log_path: Path
    smtp_port: int = 0

    @property
    def outbox_path(self) -> Path:
        return self.local_dir / "outbox.jsonl"

    def output(self) -> str:
        """Everything the stack printed so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace")

    def outbox(self) -> list[dict[str, Any]]:
        """Every SMS and e-mail the stack "sent", oldest first."""
        if not self.outbox_path.exists():
            return []
        # The last piece is "" or a line still being written: skip it.
        *lines, _ = self.outbox_path.read_text().split("\n")
        return [json.loads(line) for line in lines if line.strip()]

    def latest_code(self, phone_e164: str, *, since: int = 0, timeout: float = CODE_TIMEOUT) -> str:
        """The newest 6-digit code sent by SMS to ``phone_e164``, waiting for delivery.

        ``since``: ignore the first ``since`` outbox entries (``len(outbox())``
        taken before the action that sends the code), to skip older codes.
        """
        deadline = time.monotonic() + timeout
        while True:
            for entry in reversed(self.outbox()[since:]):
                if entry.get("channel", "").lower() == "sms" and entry.get("to") == phone_e164:
                    match = _CODE.search(entry.get("text", ""))
                    if match:
                        return match.group()
            if time.monotonic() > deadline:
                raise AssertionError(f"no SMS code to {phone_e164} within {timeout} s")
            time.sleep(0.2)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.base_url + path, timeout=10, **kwargs)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """Ctrl-C, as a person would; kill if it does not end in ``timeout`` s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_local_stack(local_dir: Path, **extra_env: str) -> LocalStack:
    """Start the stack in a subprocess and wait until it serves /health."""
    local_dir.mkdir(parents=True, exist_ok=True)
    aws_port, api_port, smtp_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "HAVA_LOCAL_SMTP_PORT": str(smtp_port),
        **extra_env,
        "HAVA_LOCAL_AWS_PORT": str(aws_port),
        "HAVA_LOCAL_API_PORT": str(api_port),
        "HAVA_LOCAL_DIR": str(local_dir),
        "HAVA_LOCAL_RETRY_DELAY": RETRY_DELAY_SECONDS,
        "PYTHONUNBUFFERED": "1",
    }
    log_path = local_dir / "stack.log"
    with log_path.open("wb") as log:  # a file, not a pipe: a full pipe would block the stack
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    stack = LocalStack(
        process=process,
        base_url=f"http://127.0.0.1:{api_port}",
        aws_endpoint=f"http://127.0.0.1:{aws_port}",
        local_dir=local_dir,
        log_path=log_path,
        smtp_port=smtp_port,
    )
    try:
        _wait_until_ready(stack)
    except BaseException:
        stack.stop(timeout=5)
        raise
    return stack


def _wait_until_ready(stack: LocalStack) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while READY_LINE not in stack.output():
        if stack.process.poll() is not None:
            pytest.fail(
                f"local stack exited with {stack.process.returncode}:\n{stack.output()}",
                pytrace=False,
            )
        if time.monotonic() > deadline:
            pytest.fail(f"local stack not ready in {START_TIMEOUT} s:\n{stack.output()}")
        time.sleep(0.1)
    response = stack.get("/health")
    if response.status_code != 200 or response.json() != {"status": "ok"}:
        pytest.fail(f"/health answered {response.status_code} {response.text}\n{stack.output()}")


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The stack, shared by the session's e2e tests."""
    stack = start_local_stack(tmp_path_factory.mktemp("local-stack"))
    yield stack
    stack.stop()


@pytest.fixture
def spawn_local_stack(tmp_path: Path) -> Iterator[Callable[[], LocalStack]]:
    """Start private stacks (for tests that stop or restart one); cleaned up after."""
    started: list[LocalStack] = []

    def spawn() -> LocalStack:
        stack = start_local_stack(tmp_path / ".local")
        started.append(stack)
        return stack

    yield spawn
    for stack in started:
        stack.stop(timeout=5)
