"""Attack replays (issue 9) over HTTP against the local stack ``make run`` starts.

The stacks are started exactly as the e2e tier starts them
(``tests.e2e.conftest.start_local_stack``), with the per-address limits lifted
(every request here comes from 127.0.0.1) and, where a replay needs it, a budget
scaled down so that hundreds of probes prove in seconds what thousands would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from tests.api.conftest import PASSWORD, form
from tests.e2e.conftest import LocalStack, start_local_stack

TIMEOUT = 30
#: Every request of a replay comes from 127.0.0.1: the per-address limits are lifted
#: (they have their own tests); the resend cooldown too, so that a number just
#: registered can be probed at once.
OPEN_ADDRESS_LIMITS = {
    "HAVA_CODE_RESEND_COOLDOWN_SECONDS": "0",
    "HAVA_SMS_PER_IP_PER_HOUR": "100000",
    "HAVA_SMS_PER_IP_PER_DAY": "100000",
    "HAVA_REGISTRATION_PER_IP_PER_HOUR": "100000",
    "HAVA_LOGIN_PER_IP_PER_MINUTE": "100000",
    "HAVA_RECOVERY_PER_IP_PER_HOUR": "100000",
}


def stack_with(tmp: pytest.TempPathFactory, name: str, **env: str) -> LocalStack:
    """A private local stack started with ``env`` on top of the open address limits."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {**OPEN_ADDRESS_LIMITS, **env}.items():
            patch.setenv(key, value)
        return start_local_stack(tmp.mktemp(name))


@pytest.fixture(scope="session")
def security_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The stack shared by the replays that need no budget of their own."""
    stack = stack_with(tmp_path_factory, "security-stack")
    yield stack
    stack.stop()


class Attacker:
    """Borrower actions over HTTP, as a script would run them."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack

    def post(self, path: str, body: Any = None, token: str | None = None, **headers: Any) -> Any:
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.post(
            self.stack.base_url + path, json=body or {}, headers=headers, timeout=TIMEOUT
        )

    def get(self, path: str, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(self.stack.base_url + path, headers=headers, timeout=TIMEOUT)

    def start(self, data: dict[str, Any]) -> tuple[Any, str]:
        """Step 1 and the code that reached ``data``'s phone."""
        since = len(self.stack.outbox())
        started = self.post("/v1/registrations", data)
        assert started.status_code == 202, started.text
        return started, self.stack.latest_code(data["phone"], since=since)

    def confirm(self, registration_id: str, code: str) -> tuple[Any, float]:
        """Step 2 and how long it took (seconds)."""
        began = time.perf_counter()
        reply = self.post(f"/v1/registrations/{registration_id}/confirm", {"code": code})
        return reply, time.perf_counter() - began

    def register(self, data: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
        """A new borrower: its form and session token."""
        data = data or form()
        started, code = self.start(data)
        done, _ = self.confirm(started.json()["registration_id"], code)
        assert done.status_code == 201, done.text
        return data, str(done.json()["token"])

    def sign_in(self, login: str, password: str = PASSWORD, user_agent: str = "pytest") -> Any:
        """Sign in sending ``user_agent`` as is (UTF-8 bytes when it is not ASCII)."""
        body = {"login": login, "password": password}
        agent: Any = user_agent if user_agent.isascii() else user_agent.encode()
        return self.post("/v1/sessions", body, **{"User-Agent": agent})

    def messages_to(self, recipient: str, channel: str = "sms") -> list[dict[str, Any]]:
        return [
            m
            for m in self.stack.outbox()
            if m.get("channel", "").lower() == channel and m.get("to") == recipient
        ]

    def wait_for_queue(self, settle: float = 1.5, timeout: float = 15.0) -> None:
        """Until the outbox stops growing for ``settle`` seconds (the worker is done)."""
        deadline = time.monotonic() + timeout
        seen, since = len(self.stack.outbox()), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = len(self.stack.outbox())
            if now != seen:
                seen, since = now, time.monotonic()
            elif time.monotonic() - since >= settle:
                return

    def throttle_hits(self, prefix: str) -> int:
        """The sum of the stack's throttle counters whose key starts with ``prefix``."""
        table = boto3.resource(
            "dynamodb",
            endpoint_url=self.stack.aws_endpoint,
            region_name="eu-central-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).Table("hava-throttles")
        items = table.scan()["Items"]
        return sum(int(i.get("hits", 0)) for i in items if str(i["key"]).startswith(prefix))


@pytest.fixture
def attacker(security_stack: LocalStack) -> Attacker:
    return Attacker(security_stack)


def shape(body: Any) -> Any:
    """A JSON body with every value replaced by its type: what must not differ."""
    if isinstance(body, dict):
        return {k: shape(v) for k, v in body.items()}
    if isinstance(body, list):
        return [shape(v) for v in body]
    return type(body).__name__
