"""The local stack of one bench run, and a borrower going through it over the HTTP API.

One ``ThreadedMotoServer`` on loopback, provisioned from ``infra/resources.yaml``
by the same code as ``make run``; the application is reached only through
``chalice.test.Client`` (routes and the notify worker), so the bench measures
what users get. Personal data is fictional and built from the domain rules.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.calls import harness_config

REGION = "eu-central-1"
PASSWORD = "жёлтый-кит-плывёт-на-юг"  # a fictional borrower's (as in tests/api)
BASELINE_TABLE = "hava-bench-baseline"
NOTIFY_QUEUE = "hava-notify"


@dataclass
class Stack:
    """The running moto server and the environment the application needs for it."""

    endpoint: str
    env: dict[str, str]
    outbox_path: Path

    def harness_client(self, service: str) -> Any:
        """A boto3 client of the bench itself (never counted as the application's)."""
        import boto3

        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=REGION, config=harness_config()
        )

    def outbox(self) -> list[dict[str, Any]]:
        if not self.outbox_path.exists():
            return []
        lines = self.outbox_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]


class MotoProcess:
    """moto's threaded server in a process of its own (``ThreadedMotoServer``'s interface).

    For ``python -m bench.login_steps --moto-process``: whether the emulator's own CPU,
    under the bench's GIL, is what a sign-in's round trips cost.
    """

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        code = (
            "import logging, time\n"
            "logging.getLogger('werkzeug').setLevel(logging.ERROR)\n"
            "from moto.server import ThreadedMotoServer\n"
            f"ThreadedMotoServer(ip_address='127.0.0.1', port={self.port}, verbose=False).start()\n"
            "while True: time.sleep(3600)\n"
        )
        self.process = subprocess.Popen([sys.executable, "-c", code])

    def start(self) -> None:
        import requests

        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{self.port}/moto-api/", timeout=1)
                return
            except requests.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("moto did not start in its own process") from None
                time.sleep(0.05)

    def get_host_and_port(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@contextmanager
def local_stack(moto_process: bool = False) -> Iterator[Stack]:
    """Start and provision moto; set the application's environment in this process.

    moto serves from a thread of this process, or with ``moto_process`` from its own.
    """
    from moto.server import ThreadedMotoServer

    from devstack.resources import provision

    # moto's werkzeug server logs every request to stderr.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    workdir = Path(tempfile.mkdtemp(prefix="hava-bench-"))
    server: Any = (
        MotoProcess()
        if moto_process
        else ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    )
    server.start()
    saved = dict(os.environ)
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # moto's state is global to the process: a stack started earlier in this run
        # (the scenario before the fault runs) must not leak into this one.
        import requests

        requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
        env = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "HAVA_STAGE": "local",
            # A fresh blind-index key per run (base64 of 32 random bytes).
            "HAVA_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "HAVA_NOTIFY_BACKEND": "outbox",
            "HAVA_OUTBOX_PATH": str(workdir / "outbox.jsonl"),
            "HAVA_DOCUMENTS_BUCKET": "hava-documents-local",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            # Every bench request comes from one loopback address: lift the
            # per-address sign-in window so the timed logins are never refused.
            "HAVA_LOGIN_PER_IP_PER_MINUTE": "1000000",
        }
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "HAVA_MAINTENANCE"):
            os.environ.pop(name, None)
        os.environ.update(env)
        provision(endpoint, REGION)
        stack = Stack(endpoint=endpoint, env=dict(os.environ), outbox_path=workdir / "outbox.jsonl")
        _create_baseline_table(stack)
        yield stack
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _create_baseline_table(stack: Stack) -> None:
    dynamodb = stack.harness_client("dynamodb")
    dynamodb.create_table(
        TableName=BASELINE_TABLE,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def registration_form(n: int) -> dict[str, Any]:
    """A valid questionnaire of fictional borrower ``n`` (as tests/helpers.py builds it)."""
    from chalicelib.domain.iin import make_iin

    today = date.today()
    try:
        birth = today.replace(year=today.year - 30)
    except ValueError:  # 29 February
        birth = today.replace(year=today.year - 30, day=28)
    return {
        "amount": 50_000,
        "term_days": 15,
        "surname": "Тестова",
        "name": "Әлия",
        "patronymic": "Сериковна",
        "iin": make_iin(birth, "F", n),
        "id_number": f"{n:09d}",
        "id_issued_by": "МВД РК",
        "id_issued_on": (today - timedelta(days=700)).isoformat(),
        "id_expires_on": (today + timedelta(days=2900)).isoformat(),
        "phone": f"+7700000{n:04d}",
        "email": f"borrower{n}@example.kz",
        "consent": True,
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }


@dataclass
class Reply:
    status: int
    body: Any


class Borrower:
    """One fictional borrower driving the app through ``chalice.test.Client``."""

    def __init__(self, client: Any, stack: Stack, n: int = 1) -> None:
        self.client = client
        self.stack = stack
        self.form = registration_form(n)
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Reply:
        headers = {"Content-Type": "application/json", "User-Agent": "hava-bench"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = json.dumps(body) if body is not None else None
        response = getattr(self.client.http, method.lower())(path, headers=headers, body=payload)
        parsed = json.loads(response.body) if response.body else None
        return Reply(response.status_code, parsed)

    def expect(self, status: int, reply: Reply) -> Any:
        if reply.status != status:
            raise RuntimeError(f"expected HTTP {status}, got {reply.status}: {reply.body}")
        return reply.body

    def deliver(self) -> int:
        """Run the notify worker on every queued message, as SQS → Lambda would."""
        sqs = self.stack.harness_client("sqs")
        url = sqs.get_queue_url(QueueName=NOTIFY_QUEUE)["QueueUrl"]
        delivered = 0
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return delivered
            for message in batch:
                event = self.client.events.generate_sqs_event(
                    message_bodies=[message["Body"]], queue_name=NOTIFY_QUEUE
                )
                self.client.lambda_.invoke("notify_worker", event)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                delivered += 1

    def latest_code(self) -> str:
        self.deliver()
        texts = [
            m["text"]
            for m in self.stack.outbox()
            if m["channel"] == "sms" and m["to"] == self.form["phone"]
        ]
        codes = [m.group(1) for t in texts if (m := re.search(r"\b(\d{6})\b", t))]
        if not codes:
            raise RuntimeError(f"no code reached the outbox for the bench borrower: {texts}")
        return codes[-1]

    def register(self) -> None:
        """Step 1, the SMS through SQS and the worker, step 2 (signed in afterwards)."""
        started = self.expect(202, self.call("POST", "/v1/registrations", self.form))
        rid = started["registration_id"]
        code = self.latest_code()
        done = self.expect(
            201, self.call("POST", f"/v1/registrations/{rid}/confirm", {"code": code})
        )
        self.token = done["token"]

    def login(self, login: str) -> str:
        body = {"login": login, "password": PASSWORD}
        token: str = self.expect(201, self.call("POST", "/v1/sessions", body))["token"]
        return token

    def cabinet(self, token: str) -> None:
        self.expect(200, self.call("GET", "/v1/me", token=token))
        self.expect(200, self.call("GET", "/v1/me/loans", token=token))

    def logout(self, token: str) -> None:
        self.expect(204, self.call("DELETE", "/v1/sessions/current", token=token))
