"""Schema-driven fuzzing fixtures: the real local stack over HTTP, real sessions, a case log.

What runs: ``python -m devstack`` started exactly as the e2e tests start
it (``tests.e2e.conftest.start_local_stack``), and schemathesis 4 driven by the
document it serves at ``GET /openapi.json`` (``chalicelib/api/openapi.json``,
loaded at collection; the first test asserts the stack serves exactly it). Every
case goes over real HTTP to ``chalice local`` (moto behind it, SQS pollers
running) - the same stack ``make run`` starts. An in-process run
(``schemathesis.openapi.from_wsgi`` over ``chalice.local.LocalGateway``) would
skip the HTTP server, the one layer that adds headers, status lines and content
types of its own; a fresh connection per case (no keep-alive: ``chalice local``
has a ≈ 44 ms floor on kept-alive connections, see DESIGN.md) keeps HTTP within
a few ms per case (≈ 25 cases/s here), so the real stack is both the faithful
and a fast enough choice.

Sessions: operations secured by ``bearerAuth`` get a real borrower's token
(registered through the real flow: form → SMS code from the stack's outbox →
confirm); those secured by ``staffBearer`` get a real staff member's token
(support and security: admin is never combined with them; enrolled through the
one-time link, signed in with a TOTP code from pyotp). Fuzzed operations may end
a session on purpose (logout, "end other sessions", compromise, a lock by staff …): after any 2xx of
a state-changing secured operation, and after any 401 or 403 to a secured one,
the token is probed (``GET /v1/me/sessions``, ``GET /admin/v1/queue``) and
replaced when it
no longer works - by a new sign-in, or a new borrower when the old one cannot
sign in any more (compromised, locked, deleted). Staff sign-ins each need a TOTP
step never used before; a member has two usable at once (this step and the next; the
previous one is skipped: at a step boundary the server may have moved on), so new
members are created through ``POST /admin/v1/staff`` by a desk-only admin
session the fuzzer never sees.

All traffic comes from 127.0.0.1, so the per-address budgets are lifted for the
stack (``FUZZ_LIMITS``): otherwise the first minute of fuzzing would exhaust
them and every later case would stop at a 429 instead of reaching the code
behind it. 429 stays a documented, accepted answer.

Settings (environment): ``HAVA_FUZZ_EXAMPLES`` examples per operation in the
fuzzing phase (default 8 - the bounded ``make test`` run; ``make fuzz`` sets
more), ``HAVA_FUZZ_SEED`` a fixed seed (default: random, printed), and
``HAVA_FUZZ_REPORT`` a path where the session writes a JSON summary (cases,
5xx, failures with curl reproductions and the stack's log) - ``bench/fuzz.py``
reads it.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
import requests

from tests.e2e.conftest import LocalStack, start_local_stack
from tests.fuzz import report
from tests.helpers import PASSWORD, form

#: Per-address and global budgets lifted for the fuzzing stack (all from 127.0.0.1).
FUZZ_LIMITS = {
    "HAVA_LOGIN_PER_IP_PER_MINUTE": "1000000",
    "HAVA_REGISTRATION_PER_IP_PER_HOUR": "1000000",
    "HAVA_RECOVERY_PER_IP_PER_HOUR": "1000000",
    "HAVA_COMPROMISE_REPORTS_PER_IP_PER_HOUR": "1000000",
    "HAVA_SMS_PER_IP_PER_HOUR": "1000000",
    "HAVA_SMS_PER_IP_PER_DAY": "1000000",
    "HAVA_SMS_GLOBAL_PER_HOUR": "1000000",
    "HAVA_SMS_GLOBAL_PER_DAY": "1000000",
    # The recovery route pads its answer to 400 ms (no enumeration by timing): not
    # what is fuzzed here, and it would make the recovery cases the slowest by far.
    "HAVA_RECOVERY_MIN_RESPONSE_MS": "0",
    "HAVA_REGISTRATION_MIN_RESPONSE_MS": "0",
}
DEFAULT_EXAMPLES = 8
STAFF_PASSWORD = "служба-поддержки-2026"
#: The fuzzed staff token's roles (admin is never combined with these).
STAFF_ROLES = ("support", "security")
BORROWER_SCHEME, STAFF_SCHEME = "bearerAuth", "staffBearer"
#: Cheap, side-effect-free calls that succeed only with a live token of each kind in
#: good standing (``GET /v1/me`` still answers after a compromise report, which
#: puts the account under "change your password first"; ``/v1/me/sessions`` does not).
PROBES = {BORROWER_SCHEME: "/v1/me/sessions", STAFF_SCHEME: "/admin/v1/queue"}
TIMEOUT = 30


def fuzz_examples() -> int:
    return int(os.environ.get("HAVA_FUZZ_EXAMPLES") or DEFAULT_EXAMPLES)


def fuzz_seed() -> int:
    raw = os.environ.get("HAVA_FUZZ_SEED")
    return int(raw) if raw else random.SystemRandom().randrange(2**31)


# --- identities -----------------------------------------------------------------


@dataclass
class StaffMember:
    username: str
    totp: pyotp.TOTP
    last_step: int = 0


@dataclass
class Identities:
    """Live bearer tokens per security scheme, renewed when a fuzzed call ends them."""

    stack: LocalStack
    borrower_login: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    renewals: Counter[str] = field(default_factory=Counter)
    _members: list[StaffMember] = field(default_factory=list)
    _desk_token: str = ""
    _serial: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # borrowers
    def register_borrower(self, attempts: int = 5) -> str:
        """A new borrower through the real flow; its session token.

        When the IIN, phone or e-mail is taken (``form()``'s serials can meet an
        earlier borrower's data in a long run), confirmation answers 201 all the same
        (issue 9 §5) but its token opens nothing: then the next form is taken.
        """
        base = self.stack.base_url
        for _ in range(attempts):
            data = form()
            since = len(self.stack.outbox())
            started = requests.post(f"{base}/v1/registrations", json=data, timeout=TIMEOUT)
            assert started.status_code == 202, started.text
            code = self.stack.latest_code(data["phone"], since=since)
            done = requests.post(
                f"{base}/v1/registrations/{started.json()['registration_id']}/confirm",
                json={"code": code},
                timeout=TIMEOUT,
            )
            if done.status_code == 409:
                continue
            assert done.status_code == 201, done.text
            token = str(done.json()["token"])
            me = requests.get(
                f"{base}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
            )
            if me.status_code == 401:
                continue
            self.borrower_login = data["iin"]
            return token
        raise AssertionError(f"no new borrower in {attempts} attempts: every form was taken")

    def borrower_token(self) -> str:
        """Sign the borrower in again; a new borrower when that gives no usable session."""
        if self.borrower_login:
            signed = requests.post(
                f"{self.stack.base_url}/v1/sessions",
                json={"login": self.borrower_login, "password": PASSWORD},
                timeout=TIMEOUT,
            )
            if signed.status_code == 201:
                token = str(signed.json()["token"])
                if self.works(BORROWER_SCHEME, token):
                    return token
        return self.register_borrower()

    # staff
    def create_first_staff(self, username: str) -> StaffMember:
        """``make staff`` (an admin) against the running stack, enrolled over HTTP."""
        from tests.staffing import enrol_on_stack

        return StaffMember(username, enrol_on_stack(self.stack, username, "admin"))

    def create_staff_through_api(self) -> StaffMember:
        self._serial += 1
        username = f"fuzz-desk-{self._serial}"
        created = requests.post(
            f"{self.stack.base_url}/admin/v1/staff",
            json={"username": username, "roles": list(STAFF_ROLES)},
            headers={"Authorization": f"Bearer {self._desk_token}"},
            timeout=TIMEOUT,
        )
        assert created.status_code == 201, created.text
        token = created.json()["enrolment_token"]
        enrolled = requests.post(
            f"{self.stack.base_url}/admin/v1/enrolment",
            json={"token": token, "password": STAFF_PASSWORD, "password_confirm": STAFF_PASSWORD},
            timeout=TIMEOUT,
        )
        assert enrolled.status_code == 200, enrolled.text
        return StaffMember(username, _totp_of(json.dumps(enrolled.json())))

    def staff_sign_in(self, member: StaffMember) -> str | None:
        """Sign in with the oldest TOTP step still accepted and never used; None if none is."""
        now = int(time.time()) // 30
        # Not now - 1: at a step boundary the server may already be one step on.
        step = max(now, member.last_step + 1)
        if step > now + 1:
            return None
        member.last_step = step
        signed = requests.post(
            f"{self.stack.base_url}/admin/v1/sessions",
            json={
                "username": member.username,
                "password": STAFF_PASSWORD,
                "totp": member.totp.at(step * 30),
            },
            timeout=TIMEOUT,
        )
        assert signed.status_code == 201, signed.text
        return str(signed.json()["token"])

    def staff_token(self) -> str:
        for member in self._members:
            token = self.staff_sign_in(member)
            if token:
                return token
        member = self.create_staff_through_api()
        self._members.append(member)
        token = self.staff_sign_in(member)
        assert token
        return token

    def set_up(self) -> None:
        desk = self.create_first_staff("fuzz-desk")
        desk_token = self.staff_sign_in(desk)
        assert desk_token
        self._desk_token = desk_token  # only for creating members; never fuzzed
        self.tokens[STAFF_SCHEME] = self.staff_token()
        self.tokens[BORROWER_SCHEME] = self.register_borrower()

    # during the run
    def works(self, scheme: str, token: str) -> bool:
        probe = requests.get(
            self.stack.base_url + PROBES[scheme],
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )
        return probe.status_code == 200

    def ensure(self, scheme: str) -> None:
        """Replace the scheme's token when it no longer works."""
        with self._lock:
            if self.works(scheme, self.tokens[scheme]):
                return
            self.renewals[scheme] += 1
            self.tokens[scheme] = (
                self.staff_token() if scheme == STAFF_SCHEME else self.borrower_token()
            )


def _totp_of(text: str) -> pyotp.TOTP:
    uri = next(word.strip('"') for word in text.replace(",", " ").split() if "otpauth://" in word)
    uri = uri[uri.index("otpauth://") :]
    return pyotp.TOTP(parse_qs(urlparse(uri).query)["secret"][0])


# --- the case log ----------------------------------------------------------------


@dataclass
class CaseLog:
    """Every case sent, every 5xx and every failed check, for the summary and bench."""

    stack: LocalStack | None = None
    seed: int = 0
    examples: int = DEFAULT_EXAMPLES
    cases: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    operation_statuses: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    #: The first body seen per (operation, status): what each answer looked like.
    samples: dict[str, str] = field(default_factory=dict)
    server_errors: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def log_offset(self) -> int:
        return self.stack.log_path.stat().st_size if self.stack else 0

    def log_since(self, offset: int) -> str:
        if not self.stack:
            return ""
        with self.stack.log_path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(20_000).decode(errors="replace")

    def record(self, label: str, status: int, curl: str, body: str, log_text: str) -> None:
        self.cases += 1
        self.by_operation[label] += 1
        self.statuses[str(status)] += 1
        self.operation_statuses[label][str(status)] += 1
        self.samples.setdefault(f"{label} -> {status}", body[:300])
        if status >= 500:
            self.server_errors.append(
                {
                    "operation": label,
                    "status": status,
                    "curl": curl,
                    "body": body[:2000],
                    "stack_log": log_text,
                }
            )

    def failed(self, label: str, error: BaseException, curl: str, log_text: str) -> None:
        message = str(error).strip()
        key = f"{label} | {message.splitlines()[0] if message else type(error).__name__}"
        entry = self.failures.setdefault(
            key, {"operation": label, "message": message[:4000], "curl": curl, "times": 0}
        )
        entry["times"] += 1
        entry["curl"] = curl  # the last one: after shrinking, the smallest
        entry["stack_log"] = log_text[-4000:]

    def summary(self, renewals: Counter[str]) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "server_errors": len(self.server_errors),
            "failures": len(self.failures),
            "operations": len(self.by_operation),
            "examples_per_operation": self.examples,
            "seed": self.seed,
            "seconds": round(time.monotonic() - self.started, 1),
            "statuses": dict(sorted(self.statuses.items())),
            "by_operation": {
                label: {
                    "cases": n,
                    "statuses": dict(sorted(self.operation_statuses[label].items())),
                }
                for label, n in sorted(self.by_operation.items())
            },
            "session_renewals": dict(renewals),
            "first_body_per_status": dict(sorted(self.samples.items())),
            "server_error_cases": self.server_errors[:50],
            "failure_details": list(self.failures.values()),
        }


_LOG = CaseLog()
_IDENTITIES: list[Identities] = []


@pytest.fixture(scope="session")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A private local stack for the fuzzing session, budgets lifted (see the docstring)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FUZZ_LIMITS.items():
            patch.setenv(name, value)
        stack = start_local_stack(tmp_path_factory.mktemp("fuzz-stack"))
    _LOG.stack = stack
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def identities(fuzz_stack: LocalStack) -> Identities:
    ids = Identities(fuzz_stack)
    ids.set_up()
    _IDENTITIES.append(ids)
    return ids


@pytest.fixture(scope="session")
def case_log() -> CaseLog:
    return _LOG


def fuzz_config() -> Any:
    """The run's schemathesis configuration: phases, checks' context and budget."""
    from schemathesis.config import SchemathesisConfig

    _LOG.seed = fuzz_seed()
    _LOG.examples = fuzz_examples()
    return SchemathesisConfig.from_dict(
        {
            "seed": _LOG.seed,
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "request-timeout": TIMEOUT,
            # ST202 (positive data acceptance): 400 means "the document should have said so";
            # 422 is a well-formed request the state refuses (a wrong code, an offer).
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": [
                        "2xx",
                        "3xx",
                        "401",
                        "403",
                        "404",
                        "409",
                        "422",
                        "429",
                        "5xx",
                    ]
                }
            },
            "generation": {
                "mode": "all",  # valid and invalid input alike
                "max-examples": _LOG.examples,
                "database": "none",  # nothing written into the working tree
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {
                    "enabled": True,
                    # chalice local answers TRACE with 501 (its server, not the app);
                    # API Gateway refuses TRACE before any Lambda runs.
                    "unexpected-methods": ["get", "put", "post", "delete", "patch"],
                },
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
        }
    )


def pytest_sessionfinish(session: Any) -> None:
    """Hand this process's fuzz summary on: to the xdist controller from a worker, else
    to ``tests.fuzz.report``, which ``tests/conftest.py`` prints at the end of the run."""
    if not _LOG.cases:
        return
    renewals = _IDENTITIES[0].renewals if _IDENTITIES else Counter()
    summary = _LOG.summary(renewals)
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["fuzz_summary"] = json.dumps(summary, ensure_ascii=False)
    else:
        report.SUMMARIES.append(summary)
