"""Phone change end to end over HTTP: real uploads to the local S3, staff with TOTP approves."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import pytest
import requests

from tests.e2e.conftest import LocalStack
from tests.factories import test_phone
from tests.helpers import PASSWORD, form, jpeg
from tests.staffing import STAFF_PASSWORD, enrol_on_stack

pytestmark = pytest.mark.e2e


def create_staff(stack: LocalStack, username: str, role: str) -> pyotp.TOTP:
    """``make staff`` against the running stack, then the member's own enrolment over HTTP."""
    return enrol_on_stack(stack, username, role, password=STAFF_PASSWORD)


def wait_for(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.3)


def test_phone_change_from_upload_to_staff_approval(local_stack: LocalStack) -> None:
    base = local_stack.base_url
    http = requests.Session()

    # A borrower registers and signs in.
    data = form()
    started = http.post(f"{base}/v1/registrations", json=data, timeout=30).json()
    code = local_stack.latest_code(data["phone"])
    http.post(
        f"{base}/v1/registrations/{started['registration_id']}/confirm",
        json={"code": code},
        timeout=30,
    ).raise_for_status()
    signed = http.post(
        f"{base}/v1/sessions", json={"login": data["iin"], "password": PASSWORD}, timeout=30
    )
    assert signed.status_code == 201, signed.text
    token = signed.json()["token"]
    auth = {"Authorization": f"Bearer {token}"}

    # They ask to change the number and upload three real images to S3 with the forms.
    new_phone = test_phone(8800)
    filed = http.post(
        f"{base}/v1/phone-change-requests",
        json={"password": PASSWORD, "new_phone": new_phone},
        headers=auth,
        timeout=30,
    )
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["request_id"]
    for n, (doc, upload) in enumerate(filed.json()["uploads"].items()):
        sent = requests.post(
            upload["url"],
            data=upload["fields_by_type"]["image/jpeg"],
            files={"file": (f"{doc}.jpg", jpeg(n), "image/jpeg")},
            timeout=30,
        )
        assert sent.status_code in (200, 201, 204), sent.text

    # The new number is confirmed with the code sent to it.
    new_code = local_stack.latest_code(new_phone)
    confirmed = http.post(
        f"{base}/v1/requests/{request_id}/confirm-phone",
        json={"code": new_code},
        headers=auth,
        timeout=30,
    )
    assert confirmed.status_code == 200, confirmed.text

    # The upload worker checks the three documents; the request reaches review.
    def in_review() -> dict[str, Any] | None:
        mine = http.get(f"{base}/v1/requests/{request_id}", headers=auth, timeout=10).json()
        return mine if mine["status"] == "in_review" else None

    mine = wait_for(in_review)
    assert {d["status"] for d in mine["documents"]} == {"accepted"}

    # Staff signs in with password + TOTP, finds it in the queue, reviews, approves.
    totp = create_staff(local_stack, "e2e.support", "support")
    staff_token = http.post(
        f"{base}/admin/v1/sessions",
        json={"username": "e2e.support", "password": STAFF_PASSWORD, "totp": totp.now()},
        timeout=30,
    ).json()["token"]
    staff_auth = {"Authorization": f"Bearer {staff_token}"}
    queue = http.get(
        f"{base}/admin/v1/queue", params={"type": "phone_change"}, headers=staff_auth, timeout=10
    )
    assert queue.status_code == 200, queue.text
    assert request_id in [item["request_id"] for item in queue.json()["items"]]
    review = http.get(f"{base}/admin/v1/requests/{request_id}", headers=staff_auth, timeout=10)
    assert review.status_code == 200, review.text
    assert new_phone in review.text  # the new number in full, for the decision
    photo_links = [d["download_url"] for d in review.json()["documents"]]
    assert len(photo_links) == 3
    photo = requests.get(photo_links[0], timeout=10)
    assert photo.content[:2] == b"\xff\xd8"  # a JPEG: the worker's checked copy
    assert photo.headers["Content-Type"] == "image/jpeg"
    assert photo.headers["Content-Disposition"].startswith("attachment")
    decided = http.post(
        f"{base}/admin/v1/requests/{request_id}/decision",
        json={"decision": "approved", "reason": "Документы и селфи совпадают"},
        headers=staff_auth,
        timeout=30,
    )
    assert decided.status_code == 200, decided.text

    # The borrower's sessions ended; they sign in with the new number.
    assert http.get(f"{base}/v1/me", headers=auth, timeout=10).status_code == 401
    old = http.post(
        f"{base}/v1/sessions", json={"login": data["phone"], "password": PASSWORD}, timeout=30
    )
    assert old.status_code == 401
    new = http.post(
        f"{base}/v1/sessions", json={"login": new_phone, "password": PASSWORD}, timeout=30
    )
    assert new.status_code == 201, new.text
