"""Attack replays over HTTP against the local stack ``make run`` starts.

``attack_stack`` is the e2e stack (``tests.e2e.conftest.start_local_stack``), private
to this tier so no other test's throttles or outbox mix with an attack's. Every
request comes from 127.0.0.1, so the per-address budgets and the SMS cooldown are
lifted as in the reliability tier; the sign-in back-off stays as in production.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from bench.reliability import GENEROUS_LIMITS
from tests.e2e.conftest import LocalStack, start_local_stack
from tests.helpers import PASSWORD, form

#: The reliability tier's limits, but failed sign-ins back off as in production.
LIMITS = {k: v for k, v in GENEROUS_LIMITS.items() if k != "HAVA_LOGIN_FREE_FAILURES"}
TIMEOUT = 30


@pytest.fixture(scope="session")
def attack_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A private local stack for this tier's attack replays."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in LIMITS.items():
            patch.setenv(name, value)
        stack = start_local_stack(tmp_path_factory.mktemp("attack-stack"))
    yield stack
    stack.stop()


class Client:
    """One party (borrower, attacker, staff) talking HTTP to the stack."""

    def __init__(self, stack: LocalStack, token: str | None = None) -> None:
        self.stack = stack
        self.token = token

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        sent = dict(headers or {})
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        return requests.request(
            method, self.stack.base_url + path, json=body, headers=sent, timeout=30
        )

    def sign_in(self, login: str, password: str = PASSWORD, **kwargs: Any) -> requests.Response:
        """Sign in; a 201 makes its token this client's."""
        reply = self.call("POST", "/v1/sessions", {"login": login, "password": password}, **kwargs)
        if reply.status_code == 201 and "token" in reply.json():
            self.token = reply.json()["token"]
        return reply


def register(stack: LocalStack) -> tuple[dict[str, Any], Client]:
    """A borrower registered over HTTP (code from the outbox) and signed in."""
    data = form()
    borrower = Client(stack)
    since = len(stack.outbox())
    started = borrower.call("POST", "/v1/registrations", data)
    assert started.status_code == 202, started.text
    code = stack.latest_code(data["phone"], since=since)
    rid = started.json()["registration_id"]
    done = borrower.call("POST", f"/v1/registrations/{rid}/confirm", {"code": code})
    assert done.status_code == 201, done.text
    borrower.token = done.json()["token"]
    return data, borrower


def recover(stack: LocalStack, login: str, phone: str, new_password: str) -> None:
    """The borrower's way back in: the code sent to the phone of record, a new password."""
    anyone = Client(stack)
    since = len(stack.outbox())
    started = anyone.call("POST", "/v1/password-recovery", {"login": login})
    assert started.status_code == 202, started.text
    code = stack.latest_code(phone, since=since)
    done = anyone.call(
        "POST",
        f"/v1/password-recovery/{started.json()['recovery_id']}/confirm",
        {"code": code, "new_password": new_password, "new_password_confirm": new_password},
    )
    assert done.status_code == 200, done.text


# --- issue 9 §3, §5: SMS budgets and identifier privacy -----------------------------


def stack_with(tmp: pytest.TempPathFactory, name: str, **env: str) -> LocalStack:
    """A private stack with ``LIMITS`` and ``env`` (a budget scaled down for one replay)."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {**LIMITS, **env}.items():
            patch.setenv(key, value)
        return start_local_stack(tmp.mktemp(name))


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
def attacker(attack_stack: LocalStack) -> Attacker:
    return Attacker(attack_stack)
