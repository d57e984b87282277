"""The main flows with IAM enforced: each function's calls signed by a user holding its policy.

A moto server (``tests/iam/moto_iam.py``, its own process) is provisioned from
``infra/resources.yaml`` while its first calls pass unchecked; then one IAM
user per Lambda function is given exactly the policy ``infra/policies.py``
renders for moto's account, and enforcement is switched on. The API routes run
in-process (``chalice.test.Client``) with the API handler's keys; the SQS
workers receive, run and delete their messages with their own keys, as
Lambda's event source mappings do with the function's role. The browser's
uploads go to S3 with the presigned forms (signed by the API's keys).

Any AccessDenied fails the test: every decision moto took is in its log, and
each phase must have been signed by its own function's user only.
moto evaluates actions and resources, not conditions (``kms:ResourceAliases``
is taken as met).

A new Lambda function gets its user here automatically (one per entry of
``infra/policies.FUNCTIONS``); prove its flow by running it inside
``functions.as_function("<name>")`` (``functions.client.lambda_.invoke``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pyotp
import pytest
import requests

from infra import policies
from tests.conftest import TEST_INDEX_KEY
from tests.factories import test_phone
from tests.helpers import PASSWORD, form, jpeg
from tests.staffing import enrol_staff

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-central-1"
MOTO_ACCOUNT = "123456789012"
BUCKET = "hava-documents-local"
INDEX_KEY_PARAMETER = "/hava/index-key"
MAINTENANCE_PARAMETER = "/hava/maintenance"
EMAIL_SENDER = "no-reply@hava.example"
STAFF_PASSWORD = "служба-поддержки-2026"
#: Enough for the whole set-up; then /moto-api/reset-auth switches enforcement on.
SET_UP_CALLS = "100000"
_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


@dataclass
class IamMoto:
    endpoint: str
    log_path: Path
    process: subprocess.Popen[bytes]
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    kms_alias: str = "alias/hava-pii"

    def decisions(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]

    def client(self, service: str, function: str | None = None) -> Any:
        key_id, secret = self.keys[function] if function else ("testing", "testing")
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )

    def sms(self) -> list[dict[str, Any]]:
        data = requests.get(f"{self.endpoint}/moto-api/data.json", timeout=10).json()
        found: list[dict[str, Any]] = []
        for backend in data.get("sns", {}).values():
            if isinstance(backend, list):
                found.extend(x for x in backend if isinstance(x, dict))
        return found


def _target() -> policies.Target:
    return policies.Target(
        stage="local",
        account_id=MOTO_ACCOUNT,
        region=REGION,
        documents_bucket=BUCKET,
        kms_alias="alias/hava-pii",
        index_key_parameter=INDEX_KEY_PARAMETER,
        email_sender=EMAIL_SENDER,
        maintenance_parameter=MAINTENANCE_PARAMETER,
    )


@pytest.fixture(scope="module")
def iam_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IamMoto]:
    from devstack.resources import provision

    log_path = tmp_path_factory.mktemp("iam") / "decisions.jsonl"
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": SET_UP_CALLS, "PYTHONUNBUFFERED": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("AWS_ENDPOINT_URL")}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.iam.moto_iam", "0", str(log_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        endpoint = process.stdout.readline().decode().strip()
        assert endpoint.startswith("http://"), "the IAM-enforcing moto did not start"
        moto = IamMoto(endpoint=endpoint, log_path=log_path, process=process)
        # --- set-up, unchecked: the stack's resources, the index key, the SES identity.
        outputs = provision(endpoint, REGION)
        moto.kms_alias = outputs["PiiKeyAliasName"]
        moto.client("ssm").put_parameter(
            Name=INDEX_KEY_PARAMETER, Value=TEST_INDEX_KEY, Type="SecureString"
        )
        moto.client("ssm").put_parameter(
            Name=MAINTENANCE_PARAMETER, Value="off", Type="String", Overwrite=True
        )
        moto.client("ses").verify_domain_identity(Domain=EMAIL_SENDER.split("@")[1])
        # One user per function holding exactly its policy, rendered for moto's account.
        iam = moto.client("iam")
        for function in policies.FUNCTIONS:
            iam.create_user(UserName=function)
            document = policies.render(function, _target())
            iam.put_user_policy(
                UserName=function, PolicyName="function", PolicyDocument=json.dumps(document)
            )
            key = iam.create_access_key(UserName=function)["AccessKey"]
            moto.keys[function] = (key["AccessKeyId"], key["SecretAccessKey"])
        yield moto
    finally:
        process.terminate()
        process.wait(timeout=10)


def _enforce(moto: IamMoto, on: bool) -> None:
    """moto's /moto-api/reset-auth: 0 checks every call from now on."""
    count = b"0" if on else SET_UP_CALLS.encode()
    requests.post(f"{moto.endpoint}/moto-api/reset-auth", data=count, timeout=10).raise_for_status()


class Functions:
    """Runs app code as one Lambda function at a time, signed with that function's keys."""

    def __init__(self, moto: IamMoto, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.moto = moto
        self.client = client
        self.monkeypatch = monkeypatch
        self.current = ""
        self.phases: list[tuple[str, int, int]] = []
        self.totp = pyotp.TOTP(pyotp.random_base32())

    @contextmanager
    def as_function(self, function: str) -> Iterator[None]:
        key_id, secret = self.moto.keys[function]
        self.monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
        self.monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        _forget_aws_state()
        start = len(self.moto.decisions())
        self.current = function
        try:
            yield
        finally:
            self.phases.append((function, start, len(self.moto.decisions())))
            self.current = ""

    def http(self, method: str, path: str, body: Any = None, token: str = "") -> Any:
        headers = {"Content-Type": "application/json", "User-Agent": "pytest-iam"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        with self.as_function("api_handler"):
            response = getattr(self.client.http, method.lower())(
                path, headers=headers, body=json.dumps(body) if body is not None else None
            )
        parsed = json.loads(response.body) if response.body else None
        if response.status_code >= 500:
            denied = [d for d in self.moto.decisions() if not d["allowed"]]
            raise AssertionError(f"{method} {path}: {response.status_code} {parsed}; {denied}")
        return response.status_code, parsed

    def drain(self, function: str, queue: str) -> int:
        """The worker's event source mapping: receive, invoke, delete — with its keys."""
        handled = 0
        with self.as_function(function):
            sqs = self.moto.client("sqs", function)
            url = f"{self.moto.endpoint}/{MOTO_ACCOUNT}/{queue}"
            while True:
                messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get(
                    "Messages", []
                )
                if not messages:
                    return handled
                (message,) = messages
                event = self.client.events.generate_sqs_event(
                    message_bodies=[message["Body"]], queue_name=queue
                )
                self.client.lambda_.invoke(function, event)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                handled += 1

    def code_to(self, phone: str) -> str:
        self.drain("notify_worker", "hava-notify")
        texts = [m.get("message", "") for m in self.moto.sms() if m.get("phone_number") == phone]
        codes = [m.group() for t in texts if (m := _CODE.search(t))]
        assert codes, f"no SMS code reached {phone}: {self.moto.sms()[-3:]}"
        return codes[-1]


def _forget_aws_state() -> None:
    """Every cached client, connection and key: the next call signs with the new keys."""
    from chalicelib import maintenance
    from chalicelib.adapters import aws
    from chalicelib.storage.registry import reset_connections
    from tests.conftest import reset_process_caches

    maintenance.forget()
    aws._client.cache_clear()
    aws._boto3_session.cache_clear()
    aws.reset_session()
    reset_connections()
    reset_process_caches()


@pytest.fixture
def functions(iam_moto: IamMoto, monkeypatch: pytest.MonkeyPatch) -> Iterator[Functions]:
    from chalice.test import Client

    env = {
        "AWS_ENDPOINT_URL": iam_moto.endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "HAVA_STAGE": "test",
        "HAVA_NOTIFY_BACKEND": "aws",
        "HAVA_EMAIL_SENDER": EMAIL_SENDER,
        "HAVA_INDEX_KEY_PARAMETER": INDEX_KEY_PARAMETER,
        "HAVA_MAINTENANCE_PARAMETER": MAINTENANCE_PARAMETER,
        "HAVA_KMS_KEY_ID": iam_moto.kms_alias,
        "HAVA_DOCUMENTS_BUCKET": BUCKET,
    }
    for name in list(os.environ):
        if name.startswith("AWS_") or name == "HAVA_INDEX_KEY":
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HAVA_MAINTENANCE", raising=False)
    # The staff member exists before enforcement (an operator's `make staff`).
    _enforce(iam_moto, False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    _forget_aws_state()
    from chalicelib.errors import Conflict

    try:
        secret = enrol_staff("iam.support", "support", password=STAFF_PASSWORD)
    except Conflict:  # enrolled by an earlier test on this module's server
        secret = pyotp.random_base32()
    _enforce(iam_moto, True)
    from app import app

    with Client(app, stage_name="local") as client:
        runner = Functions(iam_moto, client, monkeypatch)
        runner.totp = pyotp.TOTP(secret)
        yield runner
    _forget_aws_state()


def test_main_flows_run_on_each_functions_own_policy(functions: Functions) -> None:
    moto = functions.moto
    start = len(moto.decisions())

    # Registration + confirmation (the code goes out through the notify worker and SNS).
    data = form()
    status, body = functions.http("POST", "/v1/registrations", data)
    assert status == 202, body
    code = functions.code_to(data["phone"])
    status, body = functions.http(
        "POST", f"/v1/registrations/{body['registration_id']}/confirm", {"code": code}
    )
    assert status == 201, body

    # Sign-in and the cabinet.
    status, body = functions.http(
        "POST", "/v1/sessions", {"login": data["iin"], "password": PASSWORD}
    )
    assert status == 201, body
    token = body["token"]
    for path in ("/v1/me", "/v1/me/loans", "/v1/requests", "/v1/me/sessions"):
        status, body = functions.http("GET", path, token=token)
        assert status == 200, (path, body)

    # Phone change: real uploads to S3 with the presigned forms, the new number confirmed.
    new_phone = test_phone(8811)
    status, body = functions.http(
        "POST",
        "/v1/phone-change-requests",
        {"password": PASSWORD, "new_phone": new_phone},
        token=token,
    )
    assert status == 201, body
    request_id = body["request_id"]
    for n, (doc, upload) in enumerate(body["uploads"].items()):
        sent = requests.post(
            upload["url"],
            data=upload["fields_by_type"]["image/jpeg"],
            files={"file": (f"{doc}.jpg", jpeg(n), "image/jpeg")},
            timeout=30,
        )
        assert sent.status_code in (200, 201, 204), sent.text
    new_code = functions.code_to(new_phone)
    status, body = functions.http(
        "POST", f"/v1/requests/{request_id}/confirm-phone", {"code": new_code}, token=token
    )
    assert status == 200, body

    # The uploads worker checks the three documents (S3 → SQS); the request reaches review.
    assert functions.drain("uploads_worker", "hava-uploads") >= 3
    status, body = functions.http("GET", f"/v1/requests/{request_id}", token=token)
    assert body["status"] == "in_review", body

    # A staff decision: sign-in with TOTP, the queue, the review with photo links, approval.
    status, body = functions.http(
        "POST",
        "/admin/v1/sessions",
        {"username": "iam.support", "password": STAFF_PASSWORD, "totp": functions.totp.now()},
    )
    assert status == 201, body
    staff_token = body["token"]
    status, body = functions.http("GET", "/admin/v1/queue?type=phone_change", token=staff_token)
    assert status == 200, body
    status, body = functions.http("GET", f"/admin/v1/requests/{request_id}", token=staff_token)
    assert status == 200, body
    photo = requests.get(body["documents"][0]["download_url"], timeout=10)
    assert photo.status_code == 200 and photo.content[:2] == b"\xff\xd8"
    status, body = functions.http(
        "POST",
        f"/admin/v1/requests/{request_id}/decision",
        {"decision": "approved", "reason": "Документы и селфи совпадают"},
        token=staff_token,
    )
    assert status == 200, body

    # The notify worker delivers what is left: SMS through SNS, the e-mail through SES.
    functions.drain("notify_worker", "hava-notify")
    sent_mail = requests.get(f"{moto.endpoint}/moto-api/data.json", timeout=10).json()["ses"]
    assert "Изменён номер телефона" in json.dumps(sent_mail, ensure_ascii=False)
    status, body = functions.http(
        "POST", "/v1/sessions", {"login": new_phone, "password": PASSWORD}
    )
    assert status == 201, body

    # The hourly expiry as its own function: a phone change left unfinished is cancelled.
    status, body = functions.http(
        "POST",
        "/v1/phone-change-requests",
        {"password": PASSWORD, "new_phone": test_phone(8812)},
        token=body["token"],
    )
    assert status == 201, body
    from datetime import timedelta

    from chalicelib import clock
    from chalicelib.services.appeals import phone_change

    with functions.as_function("expire_requests"):
        assert phone_change.expire_abandoned(clock.now() + timedelta(days=8)) == {
            "found": 1,
            "cancelled": 1,
        }

    # No AccessDenied anywhere, and each phase was signed by its own function only.
    decisions = moto.decisions()[start:]
    denied = [d for d in decisions if not d["allowed"]]
    assert not denied, denied
    for function, first, last in functions.phases:
        signers = {d["user"].rsplit("/", 1)[-1] for d in moto.decisions()[first:last]}
        assert signers <= {function, "?"}, (function, signers)
    checked = {d["action"] for d in decisions}
    for needed in (
        "dynamodb:PutItem",
        "dynamodb:Query",
        "kms:DescribeKey",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "ssm:GetParameter",
        "sns:Publish",
        "ses:SendEmail",
        "s3:PutObject",
        "s3:GetObject",
        "sqs:ReceiveMessage",
    ):
        assert needed in checked, needed
    # The maintenance switch was read (its failures are swallowed: only the log shows them).
    assert any(d["resource"].endswith(f"parameter{MAINTENANCE_PARAMETER}") for d in decisions)


def test_calls_outside_a_functions_policy_are_denied(iam_moto: IamMoto) -> None:
    """The control: the same server refuses what a function's policy does not grant."""
    from botocore.exceptions import ClientError

    _enforce(iam_moto, True)
    start = len(iam_moto.decisions())
    table = "hava-staff"
    refused = [
        # No Scan for anyone (the staff list is a Query).
        lambda: iam_moto.client("dynamodb", "api_handler").scan(TableName=table),
        # The API handler never consumes a queue; the notify worker never reads S3.
        lambda: iam_moto.client("sqs", "api_handler").receive_message(
            QueueUrl=f"{iam_moto.endpoint}/{MOTO_ACCOUNT}/hava-notify"
        ),
        lambda: iam_moto.client("s3", "notify_worker").get_object(Bucket=BUCKET, Key="requests/x"),
        # The uploads worker sends no SMS itself, and reads no other table.
        lambda: iam_moto.client("sns", "uploads_worker").publish(
            PhoneNumber=test_phone(8812), Message="x"
        ),
        lambda: iam_moto.client("dynamodb", "uploads_worker").get_item(
            TableName="hava-sessions", Key={"token_hash": {"S": "x"}}
        ),
        # The notify worker opens sealed messages but seals nothing.
        lambda: iam_moto.client("kms", "notify_worker").generate_data_key(
            KeyId=iam_moto.kms_alias, KeySpec="AES_256"
        ),
        # The audit trail is append-only.
        lambda: iam_moto.client("dynamodb", "api_handler").delete_item(
            TableName="hava-audit", Key={"subject": {"S": "x"}, "entry_id": {"S": "y"}}
        ),
    ]
    for call in refused:
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert len([d for d in iam_moto.decisions()[start:] if not d["allowed"]]) == len(refused)
    start = len(iam_moto.decisions())
    # S3 answers a missing key with 404 only to who may list the bucket: the uploads
    # worker (a deleted upload is skipped, not retried into the DLQ); others get 403.
    missing = {"Bucket": BUCKET, "Key": "requests/req_missing/selfie"}
    with pytest.raises(ClientError) as caught:
        iam_moto.client("s3", "uploads_worker").head_object(**missing)
    assert caught.value.response["Error"]["Code"] == "404"
    with pytest.raises(ClientError) as caught:
        iam_moto.client("s3", "notify_worker").head_object(**missing)
    assert caught.value.response["Error"]["Code"] == "403"
    # (The API handler and expire_requests list only under s3:prefix requests/*, a
    # condition HeadObject never matches on AWS; moto's IAM does not evaluate it.)
    # And what the policy grants passes on the same server.
    iam_moto.client("kms", "notify_worker").describe_key(KeyId=iam_moto.kms_alias)


def test_inbound_worker_runs_on_its_own_policy(functions: Functions) -> None:
    """E-mail channel: SES's object + notification, then the worker, notify and the link."""
    from email.message import EmailMessage

    from devstack.mail import receive

    moto = functions.moto
    data = form()
    status, body = functions.http("POST", "/v1/registrations", data)
    assert status == 202, body
    code = functions.code_to(data["phone"])
    status, body = functions.http(
        "POST", f"/v1/registrations/{body['registration_id']}/confirm", {"code": code}
    )
    assert status == 201, body
    token = body["token"]

    new_phone = test_phone(8821)
    letter = EmailMessage()
    letter["From"], letter["To"] = data["email"], "nomer@hava.kz"
    letter["Subject"], letter["Message-ID"] = "Изменить номер телефона", "<iam@example.kz>"
    letter.set_content(f"Новый номер: {new_phone}")
    for n, name in enumerate(("front.jpg", "back.jpg", "selfie.jpg")):
        letter.add_attachment(jpeg(n), maintype="image", subtype="jpeg", filename=name)
    # SES's own writes (service principals) are not a function's: unchecked.
    _enforce(moto, False)
    receive(
        moto.client("s3"),
        moto.client("sqs"),
        letter.as_bytes(),
        recipients=["nomer@hava.kz"],
        source=data["email"],
        bucket=BUCKET,
    )
    _enforce(moto, True)
    start = len(moto.decisions())
    assert functions.drain("inbound_worker", "hava-inbound") == 1
    functions.drain("notify_worker", "hava-notify")
    texts = [m.get("message", "") for m in moto.sms() if m.get("phone_number") == new_phone]
    links = [m.group(1) for t in texts if (m := re.search(r"/v1/phone-links/([\w-]+)", t))]
    assert links, texts
    status, body = functions.http("POST", f"/v1/phone-links/{links[-1]}", {})
    assert status == 200, body
    status, body = functions.http("GET", "/v1/requests", token=token)
    (request,) = body["items"]
    assert request["channel"] == "email" and request["status"] == "in_review", request

    decisions = moto.decisions()[start:]
    assert not [d for d in decisions if not d["allowed"]]
    inbound = [
        d
        for function, first, last in functions.phases
        if function == "inbound_worker"
        for d in moto.decisions()[first:last]
    ]
    assert {d["user"].rsplit("/", 1)[-1] for d in inbound} <= {"inbound_worker", "?"}
    assert {"s3:GetObject", "s3:PutObject", "dynamodb:PutItem", "sqs:SendMessage"} <= {
        d["action"] for d in inbound
    }
    assert "ses:SendRawEmail" in {d["action"] for d in decisions}
