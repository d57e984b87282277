"""Issue 9 §4 and §6 replayed over HTTP against the local stack, with real uploads to its S3.

moto does not enforce POST policies, so an attacker's post that S3 would refuse
is stored here: these tests assert the policy document itself (what S3 enforces)
AND that the worker and the staff links do no harm with what got in anyway.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
import requests

from tests.e2e.conftest import REPO_ROOT, LocalStack
from tests.e2e.test_phone_change_journey import STAFF_PASSWORD, create_staff, wait_for
from tests.factories import test_phone
from tests.helpers import PASSWORD, form, jpeg

pytestmark = pytest.mark.e2e

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>fetch('/admin/v1/staff').then(r=>r.text()).then(alert)</script></svg>"
)
BUCKET = "hava-documents-local"


class Borrower:
    """A signed-in borrower of the stack, over HTTP."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.base = stack.base_url
        self.http = requests.Session()
        self.data = form()
        started = self.http.post(f"{self.base}/v1/registrations", json=self.data, timeout=30)
        assert started.status_code == 202, started.text
        code = stack.latest_code(self.data["phone"])
        rid = started.json()["registration_id"]
        confirmed = self.http.post(
            f"{self.base}/v1/registrations/{rid}/confirm", json={"code": code}, timeout=30
        )
        assert confirmed.status_code == 201, confirmed.text
        self.auth = {"Authorization": f"Bearer {confirmed.json()['token']}"}

    def start_phone_change(self, new_phone: str) -> requests.Response:
        return self.http.post(
            f"{self.base}/v1/phone-change-requests",
            json={"password": PASSWORD, "new_phone": new_phone},
            headers=self.auth,
            timeout=30,
        )

    def request(self, request_id: str) -> dict[str, Any]:
        reply = self.http.get(
            f"{self.base}/v1/requests/{request_id}", headers=self.auth, timeout=10
        )
        assert reply.status_code == 200, reply.text
        return dict(reply.json())


def post_form(upload: dict[str, Any], data: bytes, content_type: str, name: str) -> int:
    """Post a file with the form's fields, the way a browser (or an attacker) would."""
    fields = dict(upload["fields_by_type"]["image/jpeg"])
    fields["Content-Type"] = content_type  # an attacker says what they like
    sent = requests.post(
        upload["url"], data=fields, files={"file": (name, data, content_type)}, timeout=30
    )
    return sent.status_code


def s3(stack: LocalStack) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=stack.aws_endpoint,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def keys(stack: LocalStack, request_id: str) -> list[str]:
    listed = s3(stack).list_objects_v2(Bucket=BUCKET, Prefix=f"requests/{request_id}/")
    return sorted(item["Key"] for item in listed.get("Contents", []))


def policy_conditions(upload: dict[str, Any], content_type: str) -> list[Any]:
    fields = upload["fields_by_type"][content_type]
    return list(json.loads(base64.b64decode(fields["policy"]))["conditions"])


def in_review(stack: LocalStack) -> tuple[Borrower, str, dict[str, Any]]:
    """A borrower whose phone change reached review with three real photos."""
    borrower = Borrower(stack)
    new_phone = test_phone(8900 + int(borrower.data["id_number"]) % 90)
    filed = borrower.start_phone_change(new_phone)
    assert filed.status_code == 201, filed.text
    body = filed.json()
    request_id = body["request_id"]
    for n, (doc, upload) in enumerate(body["uploads"].items()):
        assert post_form(upload, jpeg(n), "image/jpeg", f"{doc}.jpg") in (200, 201, 204)
    code = stack.latest_code(new_phone)
    confirmed = borrower.http.post(
        f"{stack.base_url}/v1/requests/{request_id}/confirm-phone",
        json={"code": code},
        headers=borrower.auth,
        timeout=30,
    )
    assert confirmed.status_code == 200, confirmed.text
    wait_for(lambda: borrower.request(request_id)["status"] == "in_review")
    return borrower, request_id, body["uploads"]


def staff_session(stack: LocalStack, username: str) -> dict[str, str]:
    totp = create_staff(stack, username, "support")
    signed = requests.post(
        f"{stack.base_url}/admin/v1/sessions",
        json={"username": username, "password": STAFF_PASSWORD, "totp": totp.now()},
        timeout=30,
    )
    assert signed.status_code == 201, signed.text
    return {"Authorization": f"Bearer {signed.json()['token']}"}


def review(stack: LocalStack, auth: dict[str, str], request_id: str) -> list[dict[str, Any]]:
    reply = requests.get(
        f"{stack.base_url}/admin/v1/requests/{request_id}", headers=auth, timeout=10
    )
    assert reply.status_code == 200, reply.text
    return list(reply.json()["documents"])


def test_reposting_an_issued_form_after_review_started_creates_nothing_staff_see(
    attack_stack: LocalStack,
) -> None:
    _, request_id, uploads = in_review(attack_stack)
    auth = staff_session(attack_stack, "sec.support1")
    before = review(attack_stack, auth, request_id)
    stored_before = keys(attack_stack, request_id)
    # Only the worker's checked copies are left: the uploads themselves are gone.
    assert stored_before and all(k.endswith(".checked") for k in stored_before)

    # The attacker re-posts the id_front form with an SVG holding <script>.
    front = uploads["id_front"]
    assert post_form(front, SVG, "image/svg+xml", "id_front.svg") in (200, 201, 204)

    # THEN the object is deleted and a security event (ids only) is logged
    wait_for(lambda: keys(attack_stack, request_id) == stored_before)
    wait_for(lambda: "upload_discarded" in attack_stack.output())
    event_lines = [
        line for line in attack_stack.output().splitlines() if "upload_discarded" in line
    ]
    assert any(request_id in line and "not_awaiting_documents" in line for line in event_lines)
    assert not any("<script>" in line for line in event_lines)
    # AND the staff view is unchanged: same statuses, links to the same checked copies
    after = review(attack_stack, auth, request_id)
    assert [(d["document"], d["status"]) for d in after] == [
        (d["document"], d["status"]) for d in before
    ]
    assert [urlparse(d["download_url"]).path for d in after] == [
        urlparse(d["download_url"]).path for d in before
    ]
    photo = requests.get(after[0]["download_url"], timeout=10)
    assert photo.status_code == 200
    assert photo.content[:2] == b"\xff\xd8"
    assert photo.headers["Content-Type"] == "image/jpeg"
    # AND S3 itself would have refused that post: the policy fixes the exact type.
    for content_type in ("image/jpeg", "image/png"):
        conditions = policy_conditions(front, content_type)
        assert {"Content-Type": content_type} in conditions
        assert not any(
            isinstance(c, list) and str(c[1]).lower() == "$content-type" for c in conditions
        )


def test_an_svg_forced_into_the_bucket_is_never_served_by_a_staff_link(
    attack_stack: LocalStack,
) -> None:
    _, request_id, _ = in_review(attack_stack)
    auth = staff_session(attack_stack, "sec.support2")
    documents = review(attack_stack, auth, request_id)
    link = documents[0]["download_url"]
    path = urlparse(link).path
    # The link points at the worker's checked copy, never at an upload key.
    assert path.endswith(".checked")

    # The checked copy is overwritten with an SVG behind the policy's back.
    key = path.split(f"/{BUCKET}/", 1)[1]
    s3(attack_stack).put_object(Bucket=BUCKET, Key=key, Body=SVG, ContentType="image/svg+xml")

    served = requests.get(link, timeout=10)
    # Either the worker has already deleted the forgery, or the link serves it
    # as a downloaded JPEG: never inline, never as SVG.
    if served.status_code == 200:
        assert served.headers["Content-Type"] == "image/jpeg"
        assert served.headers["Content-Disposition"].startswith("attachment")
        assert "svg" not in served.headers["Content-Type"]
    else:
        assert served.status_code in (403, 404)
    # The forged copy (no valid worker marker) is deleted and logged.
    wait_for(lambda: key not in keys(attack_stack, request_id))
    wait_for(lambda: "forged_checked_copy" in attack_stack.output())


def run_schedule(stack: LocalStack, name: str) -> dict[str, Any]:
    """``make schedule NAME=…`` against the running stack."""
    port = urlparse(stack.aws_endpoint).port
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")},
        "HAVA_LOCAL_DIR": str(stack.local_dir),
        "HAVA_LOCAL_AWS_PORT": str(port),
    }
    done = subprocess.run(
        [sys.executable, "-m", "devstack.schedules", name],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=120,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_expiry_run_cancels_an_abandoned_phone_change_once(attack_stack: LocalStack) -> None:
    # GIVEN a phone change with a real upload, filed eight days ago and never finished
    borrower = Borrower(attack_stack)
    new_phone = test_phone(8990 + int(borrower.data["id_number"]) % 9)
    filed = borrower.start_phone_change(new_phone)
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["request_id"]
    front = filed.json()["uploads"]["id_front"]
    assert post_form(front, jpeg(1), "image/jpeg", "id_front.jpg") in (200, 201, 204)
    wait_for(lambda: borrower.request(request_id)["documents"][0]["status"] == "accepted")
    assert keys(attack_stack, request_id)
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=attack_stack.aws_endpoint,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    dynamodb.update_item(
        TableName="hava-requests",
        Key={"request_id": {"S": request_id}},
        UpdateExpression="SET created_at = :old",
        ExpressionAttributeValues={":old": {"S": "2026-01-01T00:00:00Z"}},
    )
    # The borrower cannot start again while it is open.
    assert borrower.start_phone_change(test_phone(8998)).status_code == 409
    sent_before = len(attack_stack.outbox())

    # WHEN the schedule runs (make schedule NAME=expire_requests)
    first = run_schedule(attack_stack, "expire_requests")

    # THEN it is cancelled, its objects are gone and the borrower is told by SMS
    assert first["result"]["cancelled"] >= 1
    assert borrower.request(request_id)["status"] == "cancelled"
    assert keys(attack_stack, request_id) == []

    def told() -> list[dict[str, Any]]:
        return [
            m
            for m in attack_stack.outbox()[sent_before:]
            if m.get("to") == borrower.data["phone"] and "отменена" in m.get("text", "")
        ]

    wait_for(told)
    # AND the borrower can start again
    again = borrower.start_phone_change(test_phone(8999))
    assert again.status_code == 201, again.text

    # WHEN it runs a second time: nothing more
    second = run_schedule(attack_stack, "expire_requests")
    assert second["result"] == {"found": 0, "cancelled": 0}
    assert borrower.request(again.json()["request_id"])["status"] == "awaiting_documents"
    assert len(told()) == 1
