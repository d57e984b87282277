"""Attack replays over HTTP against the local stack ``make run`` starts.

``attack_stack`` is the e2e stack (``tests.e2e.conftest.start_local_stack``), private
to this tier so no other test's throttles or outbox mix with an attack's. Every
request comes from 127.0.0.1, so the per-address budgets and the SMS cooldown are
lifted as in the reliability tier; the sign-in back-off stays as in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bench.reliability import GENEROUS_LIMITS
from tests.api.conftest import PASSWORD, form
from tests.e2e.conftest import LocalStack, start_local_stack

#: The reliability tier's limits, but failed sign-ins back off as in production.
LIMITS = {k: v for k, v in GENEROUS_LIMITS.items() if k != "HAVA_LOGIN_FREE_FAILURES"}


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
