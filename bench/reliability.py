"""Reliability figures: ``fault_runs_inconsistent`` and ``race_duplicates`` (issue 5).

- ``fault_runs_inconsistent`` (target 0): seeded runs of every borrower route
  family and a staff decision through ``chalice.test.Client`` while
  ``devstack.faults`` fails 30 % of DynamoDB, SQS and KMS calls; a run
  counts when any answer is a 5xx other than a clean 503 with ``Retry-After``, or
  when ``devstack.consistency`` finds anything afterwards.
- ``race_duplicates`` (target 0): on the real local stack over HTTP, the
  surplus winners of 50 parallel registrations with one IIN, of one SMS code
  confirmed 20 times at once, of two staff decisions on one request, plus the
  failures of 8 parallel wrong-password logins the counter missed.

``python -m bench.reliability`` measures both and merges them into
``bench/results.json``; the tests in ``tests/reliability`` use the same code.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

RESULTS_PATH = Path(__file__).resolve().parent / "results.json"
TARGETS: dict[str, tuple[str, float]] = {
    "fault_runs_inconsistent": ("<=", 0),
    "race_duplicates": ("<=", 0),
}
PASSWORD = "жёлтый-кит-плывёт-на-юг"  # a fictional borrower's (as in tests/api)
STAFF_PASSWORD = "служба-поддержки-2026"
WRONG_PASSWORD = "совсем-не-тот-пароль"
#: Every request of a run comes from one address: budgets that would refuse it.
GENEROUS_LIMITS = {
    "HAVA_CODE_RESEND_COOLDOWN_SECONDS": "0",
    "HAVA_CODE_SENDS_PER_HOUR": "1000",
    "HAVA_SMS_PER_PHONE_PER_DAY": "1000",
    "HAVA_SMS_PER_IP_PER_HOUR": "100000",
    "HAVA_SMS_PER_IP_PER_DAY": "100000",
    "HAVA_REGISTRATION_PER_IP_PER_HOUR": "100000",
    "HAVA_LOGIN_PER_IP_PER_MINUTE": "100000",
    "HAVA_RECOVERY_PER_IP_PER_HOUR": "100000",
    # The login race counts failures: no back-off may refuse one before it is counted.
    "HAVA_LOGIN_FREE_FAILURES": "1000",
}
_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def log(message: str) -> None:
    print(f"[bench.reliability] {message}", file=sys.stderr, flush=True)


# --- injected faults, in-process -------------------------------------------------


@dataclass
class Reply:
    """One HTTP answer of the test client."""

    method: str
    path: str
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class FaultRun:
    """What one seeded run saw."""

    seed: int
    replies: list[Reply] = field(default_factory=list)
    unclean: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    injected: int = 0
    completed: list[str] = field(default_factory=list)

    @property
    def inconsistent(self) -> bool:
        return bool(self.unclean or self.findings)


def unclean_reason(reply: Reply) -> str | None:
    """Why an answer is not a success, a 4xx or a clean 503 (None when it is)."""
    text = json.dumps(reply.body, ensure_ascii=False) if reply.body is not None else ""
    if "Traceback" in text or 'File "' in text:
        return f"{reply.method} {reply.path}: traceback in the body"
    if reply.status < 500:
        return None
    if reply.status != 503:
        return f"{reply.method} {reply.path}: HTTP {reply.status} {text[:200]}"
    if not reply.headers.get("Retry-After"):
        return f"{reply.method} {reply.path}: 503 without Retry-After"
    error = (reply.body or {}).get("error", {}) if isinstance(reply.body, dict) else {}
    if error.get("code") != "service_unavailable" or not error.get("message"):
        return f"{reply.method} {reply.path}: 503 without the error shape"
    return None


class FaultDriver:
    """Drives the app through ``chalice.test.Client`` the way a patient client would.

    Each call is retried on a 503 (as the ``Retry-After`` asks), up to ``tries``;
    every answer is recorded and checked for cleanliness.
    """

    def __init__(
        self, client: Any, run: FaultRun, outbox: Callable[[], list[dict[str, Any]]], faults: Any
    ) -> None:
        self.client = client
        self.run = run
        self.outbox = outbox
        self.faults = faults

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        *,
        tries: int = 8,
    ) -> Reply:
        headers = {"Content-Type": "application/json", "User-Agent": "hava-reliability"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = json.dumps(body) if body is not None else None
        reply = Reply(method, path, 0, None, {})
        for _ in range(tries):
            response = getattr(self.client.http, method.lower())(
                path, headers=headers, body=payload
            )
            try:
                parsed = json.loads(response.body) if response.body else None
            except ValueError:
                parsed = {"raw": response.body.decode("utf-8", "replace")[:500]}
            reply = Reply(method, path, response.status_code, parsed, dict(response.headers))
            self.run.replies.append(reply)
            reason = unclean_reason(reply)
            if reason:
                self.run.unclean.append(reason)
            if reply.status != 503:
                return reply
        return reply

    def deliver(self) -> None:
        """Run the notify worker on every queued message (faults suspended: set-up)."""
        from chalicelib.adapters.aws import client as aws_client

        with self.faults.suspended():
            sqs = aws_client("sqs")
            url = sqs.get_queue_url(QueueName="hava-notify")["QueueUrl"]
            while True:
                batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
                    "Messages", []
                )
                if not batch:
                    return
                for message in batch:
                    event = self.client.events.generate_sqs_event(
                        message_bodies=[message["Body"]], queue_name="hava-notify"
                    )
                    self.client.lambda_.invoke("notify_worker", event)
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def code_for(self, phone: str) -> str | None:
        self.deliver()
        for entry in reversed(self.outbox()):
            if entry.get("channel") == "sms" and entry.get("to") == phone:
                match = _CODE.search(entry.get("text", ""))
                if match:
                    return match.group()
        return None


def registration_form(n: int) -> dict[str, Any]:
    """A valid questionnaire of fictional borrower ``n``."""
    from bench.scenario import registration_form as base

    return base(n)


def staff_token(driver: FaultDriver, username: str, roles: tuple[str, ...]) -> str | None:
    """A signed-in staff member (created, enrolled and signed in with faults suspended)."""
    import pyotp

    from tests.staffing import enrol_staff

    with driver.faults.suspended():
        secret = enrol_staff(username, *roles, password=STAFF_PASSWORD, created_by="reliability")
        reply = driver.call(
            "POST",
            "/admin/v1/sessions",
            {"username": username, "password": STAFF_PASSWORD, "totp": pyotp.TOTP(secret).now()},
        )
    return str(reply.body["token"]) if reply.status == 201 else None


def fault_scenario(driver: FaultDriver, n: int) -> None:
    """Every borrower route family and a staff decision, under whatever faults are in force."""
    run = driver.run
    data = registration_form(n)
    started = driver.call("POST", "/v1/registrations", data)
    if started.status != 202:
        return
    code = driver.code_for(data["phone"])
    if code is None:
        return
    rid = started.body["registration_id"]
    confirmed = driver.call("POST", f"/v1/registrations/{rid}/confirm", {"code": code})
    if confirmed.status != 201:
        return
    run.completed.append("registration")
    signed_in = driver.call("POST", "/v1/sessions", {"login": data["iin"], "password": PASSWORD})
    driver.call("POST", "/v1/sessions", {"login": data["email"], "password": WRONG_PASSWORD})
    if signed_in.status != 201:
        return
    token = signed_in.body["token"]
    run.completed.append("login")
    for path in ("/v1/me", "/v1/me/loans", "/v1/requests"):
        driver.call("GET", path, token=token)
    new_phone = f"+7701000{n:04d}"
    phone_change = driver.call(
        "POST",
        "/v1/phone-change-requests",
        {"password": PASSWORD, "new_phone": new_phone},
        token=token,
    )
    if phone_change.status == 201:
        run.completed.append("phone_change")
        pcode = driver.code_for(new_phone)
        if pcode:
            driver.call(
                "POST",
                f"/v1/requests/{phone_change.body['request_id']}/confirm-phone",
                {"code": pcode},
                token=token,
            )
    driver.call(
        "POST",
        "/v1/compromise-reports",
        {"login": data["email"], "contact": data["phone"], "description": "Не могу войти, пароль"},
    )
    deletion = driver.call("POST", "/v1/deletion-requests", {"password": PASSWORD}, token=token)
    if deletion.status == 201:
        run.completed.append("deletion_request")
        staff = staff_token(driver, f"support-{n}", ("support",))
        if staff:
            decided = driver.call(
                "POST",
                f"/admin/v1/requests/{deletion.body['request_id']}/decision",
                {"decision": "approved", "reason": "Заявка проверена, долгов нет"},
                token=staff,
            )
            if decided.status == 200:
                run.completed.append("deletion_approved")
    # A second borrower reports a break-in while signed in (sessions end, password due).
    other = registration_form(n + 5000)
    started = driver.call("POST", "/v1/registrations", other)
    if started.status == 202 and (code := driver.code_for(other["phone"])):
        done = driver.call(
            "POST", f"/v1/registrations/{started.body['registration_id']}/confirm", {"code": code}
        )
        if done.status == 201:
            reported = driver.call(
                "POST",
                "/v1/me/compromise",
                {"description": "Кто-то вошёл в мой кабинет"},
                token=done.body["token"],
            )
            if reported.status in (200, 201, 202):
                run.completed.append("compromise_signed_in")


def fault_run(
    client: Any,
    outbox: Callable[[], list[dict[str, Any]]],
    seed: int,
    *,
    share: float = 0.3,
    services: tuple[str, ...] = ("dynamodb", "sqs", "kms"),
    n: int | None = None,
) -> FaultRun:
    """One seeded run of ``fault_scenario`` under faults, then the consistency check."""
    from devstack.consistency import check
    from devstack.faults import inject

    run = FaultRun(seed=seed)
    with inject(services=services, share=share, seed=seed, backoff_scale=0.01) as faults:
        driver = FaultDriver(client, run, outbox, faults)
        fault_scenario(driver, n if n is not None else 100 + seed)
        run.injected = faults.total_injected
    run.findings = [str(f) for f in check()]
    return run


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    from chalicelib.config import reset_settings

    reset_settings()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_settings()


def fault_figures(seeds: int) -> dict[str, Any]:
    """``seeds`` runs, each on a wiped and re-provisioned moto (``bench.scenario.local_stack``)."""
    import requests
    from chalice.test import Client

    from app import app
    from bench.scenario import REGION, local_stack
    from devstack.resources import provision

    runs: list[FaultRun] = []
    with local_stack() as stack, _environment(GENEROUS_LIMITS):
        for seed in range(seeds):
            # moto's state is per process: wipe it so every run starts empty.
            requests.post(f"{stack.endpoint}/moto-api/reset", timeout=10).raise_for_status()
            provision(stack.endpoint, REGION)
            with Client(app, stage_name="local") as client:
                runs.append(fault_run(client, stack.outbox, seed))
            log(f"fault run {seed}: {len(runs[-1].replies)} answers, {runs[-1].injected} faults")
    return {
        "fault_runs_inconsistent": sum(r.inconsistent for r in runs),
        "raw": {
            "runs": len(runs),
            "share": 0.3,
            "services": ["dynamodb", "sqs", "kms"],
            "answers": sum(len(r.replies) for r in runs),
            "answers_503": sum(1 for r in runs for x in r.replies if x.status == 503),
            "faults_injected": sum(r.injected for r in runs),
            "unclean": [u for r in runs for u in r.unclean][:20],
            "findings": [f for r in runs for f in r.findings][:20],
        },
    }


# --- races, over HTTP against the local stack --------------------------------------


@dataclass
class RaceResult:
    """Statuses of the parallel calls and the surplus (duplicates or lost updates)."""

    name: str
    statuses: list[int]
    surplus: int
    detail: dict[str, Any] = field(default_factory=dict)


def _parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda fn: fn(), calls))


def _post(base: str, path: str, body: Any, token: str | None = None) -> Any:
    """POST, reconnecting when ``chalice local``'s small listen backlog resets the connection."""
    import requests

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for attempt in range(5):
        try:
            return requests.post(base + path, json=body, headers=headers, timeout=60)
        except requests.ConnectionError:
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def count_accounts(stack: Any) -> int:
    """Accounts on the stack (Scan; the winners of a race, whatever the answers said)."""
    return sum(1 for _ in _scan(stack, "hava-accounts"))


def _scan(stack: Any, table: str) -> Iterator[dict[str, Any]]:
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=stack.aws_endpoint,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        yield from page["Items"]


def race_registrations(stack: Any, first: int, n: int = 50) -> RaceResult:
    """``n`` registrations with one IIN, distinct phones and e-mails, confirmed at once."""
    base = stack.base_url
    forms = []
    iin = registration_form(first)["iin"]
    for i in range(n):
        data = registration_form(first + i)
        data["iin"] = iin
        forms.append(data)
    accounts_before = count_accounts(stack)
    started = _parallel([partial(_post, base, "/v1/registrations", d) for d in forms])
    pending = [
        (s.json()["registration_id"], stack.latest_code(d["phone"]))
        for s, d in zip(started, forms, strict=True)
        if s.status_code == 202
    ]
    confirmed = _parallel(
        [partial(_post, base, f"/v1/registrations/{r}/confirm", {"code": c}) for r, c in pending]
    )
    statuses = [r.status_code for r in confirmed]
    created = count_accounts(stack) - accounts_before
    # A taken IIN is answered like fresh data (201, a token that opens nothing: issue 9
    # §5), so the statuses cannot count winners: the accounts made do.
    return RaceResult(
        "registrations_one_iin",
        statuses,
        max(0, created - 1),
        {"started": [s.status_code for s in started], "accounts_created": created},
    )


def register(stack: Any, n: int) -> tuple[dict[str, Any], str]:
    """A registered borrower over HTTP: its form and its session token."""
    data = registration_form(n)
    started = _post(stack.base_url, "/v1/registrations", data)
    assert started.status_code == 202, started.text
    code = stack.latest_code(data["phone"])
    rid = started.json()["registration_id"]
    done = _post(stack.base_url, f"/v1/registrations/{rid}/confirm", {"code": code})
    assert done.status_code == 201, done.text
    return data, str(done.json()["token"])


def race_code(stack: Any, n: int, copies: int = 20) -> RaceResult:
    """One SMS code confirmed ``copies`` times at once."""
    data = registration_form(n)
    started = _post(stack.base_url, "/v1/registrations", data)
    code = stack.latest_code(data["phone"])
    path = f"/v1/registrations/{started.json()['registration_id']}/confirm"
    replies = _parallel([lambda: _post(stack.base_url, path, {"code": code})] * copies)
    statuses = [r.status_code for r in replies]
    return RaceResult("one_code_many_confirms", statuses, max(0, statuses.count(201) - 1))


def staff_session(stack: Any, username: str, role: str) -> str:
    """``python -m devstack.staff_cli create`` against the stack, enrolment, a TOTP sign-in."""
    from tests.staffing import enrol_on_stack

    totp = enrol_on_stack(stack, username, role, password=STAFF_PASSWORD)
    body = {"username": username, "password": STAFF_PASSWORD, "totp": totp.now()}
    reply = _post(stack.base_url, "/admin/v1/sessions", body)
    assert reply.status_code == 201, reply.text
    return str(reply.json()["token"])


def race_decisions(stack: Any, n: int, staff: tuple[str, str]) -> RaceResult:
    """Two staff members decide one deletion request at the same moment."""
    _, token = register(stack, n)
    filed = _post(stack.base_url, "/v1/deletion-requests", {"password": PASSWORD}, token)
    assert filed.status_code == 201, filed.text
    path = f"/admin/v1/requests/{filed.json()['request_id']}/decision"
    bodies = [
        {"decision": "rejected", "reason_code": "owner_unconfirmed"},
        {"decision": "approved", "reason": "Заявка проверена, долгов нет"},
    ]
    replies = _parallel(
        [partial(_post, stack.base_url, path, b, t) for b, t in zip(bodies, staff, strict=True)]
    )
    statuses = [r.status_code for r in replies]
    return RaceResult("two_staff_decisions", statuses, max(0, statuses.count(200) - 1))


def failure_counts(stack: Any) -> dict[str, int]:
    """``{throttle key: hits}`` of every login failure counter on the stack."""
    counts: dict[str, int] = {}
    for item in _scan(stack, "hava-throttles"):
        key = item["key"]["S"]
        if key.startswith("login:") and key.endswith("#failures"):
            counts[key] = int(item["hits"]["N"])
    return counts


def race_wrong_logins(stack: Any, n: int, attempts: int = 8) -> RaceResult:
    """``attempts`` parallel sign-ins with a wrong password: the counter must count each."""
    data, _ = register(stack, n)
    before = failure_counts(stack)
    body = {"login": data["iin"], "password": WRONG_PASSWORD}
    replies = _parallel([lambda: _post(stack.base_url, "/v1/sessions", body)] * attempts)
    statuses = [r.status_code for r in replies]
    after = failure_counts(stack)
    changed = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    counted = sum(changed.values())
    return RaceResult(
        "parallel_wrong_logins",
        statuses,
        max(0, statuses.count(401) - counted),
        {"counted": counted, "refused_401": statuses.count(401)},
    )


def race_figures(first: int = 7000) -> dict[str, Any]:
    """Every race on a private local stack (started like the e2e tests start it)."""
    import tempfile

    from tests.e2e.conftest import start_local_stack

    with _environment(GENEROUS_LIMITS):
        stack = start_local_stack(Path(tempfile.mkdtemp(prefix="hava-races-")))
    try:
        staff = (
            staff_session(stack, "race-support-a", "support"),
            staff_session(stack, "race-support-b", "support"),
        )
        results = [
            race_registrations(stack, first),
            race_code(stack, first + 100),
            race_decisions(stack, first + 101, staff),
            race_wrong_logins(stack, first + 102),
        ]
    finally:
        stack.stop()
    return {
        "race_duplicates": sum(r.surplus for r in results),
        "raw": {r.name: {"statuses": sorted(r.statuses), **r.detail} for r in results},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability", description=__doc__)
    parser.add_argument("--seeds", type=int, default=5, help="fault runs (one seed each)")
    parser.add_argument("--no-races", action="store_true", help="skip the local-stack races")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    faults = fault_figures(args.seeds)
    races = {"race_duplicates": None, "raw": {"reason": "skipped"}}
    if not args.no_races:
        races = race_figures()
    results: dict[str, Any] = (
        json.loads(RESULTS_PATH.read_text(encoding="utf-8")) if RESULTS_PATH.exists() else {}
    )
    results["fault_runs_inconsistent"] = faults["fault_runs_inconsistent"]
    results["race_duplicates"] = races["race_duplicates"]
    for name, (op, limit) in TARGETS.items():
        results.setdefault("targets", {})[name] = {op: limit}
        value = results[name]
        results.setdefault("pass", {})[name] = None if value is None else value <= limit
    results["all_pass"] = all(v is True for v in results["pass"].values())
    results.setdefault("raw", {})["reliability"] = {
        "faults": faults["raw"],
        "races": races["raw"],
        "command": "python -m bench.reliability",
        "seconds": round(time.perf_counter() - began, 1),
    }
    RESULTS_PATH.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", "utf-8")
    for name in TARGETS:
        print(f"{name}: {results[name]} (target <= {TARGETS[name][1]:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
