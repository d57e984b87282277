"""Presigned upload forms and download links of request documents.

moto does not enforce POST policies, so these tests read the policy document
itself: what S3 would enforce is exactly what it says.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.domain.requests import DOCUMENTS
from tests.conftest import Aws

REQUEST_ID = "req_0123456789abcdef0123456789abcdef"


def conditions_of(policy: dict[str, Any]) -> tuple[dict[str, Any], list[list[Any]]]:
    """(exact-match conditions merged into one dict, array conditions)."""
    exact: dict[str, Any] = {}
    arrays: list[list[Any]] = []
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            exact.update(condition)
        else:
            arrays.append(condition)
    return exact, arrays


def test_keys_are_server_chosen_unique_per_form_and_checked() -> None:
    from chalicelib.services.documents import checked_key, new_upload_key, parse_key

    first = new_upload_key(REQUEST_ID, "selfie")
    second = new_upload_key(REQUEST_ID, "selfie")
    assert first != second  # a new form never reuses an issued key
    assert first.startswith(f"requests/{REQUEST_ID}/selfie/")
    parsed = parse_key(first)
    assert parsed is not None and parsed.request_id == REQUEST_ID and parsed.doc == "selfie"
    assert not parsed.checked
    copy = checked_key(first)
    assert copy == first + ".checked"
    copy_parsed = parse_key(copy)
    assert copy_parsed is not None and copy_parsed.checked
    assert copy_parsed.upload_key == first
    nonce = "0" * 32
    for bad in (
        f"requests/x/passport/{nonce}",
        f"requests/../selfie/{nonce}",
        f"other/x/selfie/{nonce}",
        f"requests/x/selfie/{nonce}/y",
        "requests/x/selfie",
        f"requests/x/selfie/{nonce}.svg",
    ):
        assert parse_key(bad) is None
    with pytest.raises(ValueError):
        new_upload_key("../etc", "selfie")
    with pytest.raises(ValueError):
        new_upload_key(REQUEST_ID, "passport")
    with pytest.raises(ValueError):
        checked_key(copy)


def test_upload_forms_policy_pins_key_size_exact_type_and_encryption(aws: Aws) -> None:
    from chalicelib.config import get_settings
    from chalicelib.services.documents import new_slots, upload_forms

    settings = get_settings()
    issued = datetime.now(UTC)
    slots = new_slots(REQUEST_ID)

    forms = upload_forms(REQUEST_ID, slots)
    done = datetime.now(UTC)

    assert set(forms) == set(DOCUMENTS)
    for doc, form in forms.items():
        key = slots[doc]["upload_key"]
        assert form["key"] == key
        assert form["expires_in"] == 900
        assert form["max_bytes"] == settings.upload_max_bytes == 10 * 1024 * 1024
        assert form["content_types"] == ["image/jpeg", "image/png"]
        assert set(form["fields_by_type"]) == {"image/jpeg", "image/png"}
        for content_type, fields in form["fields_by_type"].items():
            assert fields["key"] == key
            assert fields["Content-Type"] == content_type
            policy = json.loads(base64.b64decode(fields["policy"]))
            exact, arrays = conditions_of(policy)
            # The key is an exact match: no "starts-with $key", no ${filename}.
            assert exact["key"] == key
            assert not any(c[0] == "starts-with" and c[1] == "$key" for c in arrays)
            # The type is an exact match too: no "starts-with image/" (image/svg+xml).
            assert exact["Content-Type"] == content_type
            assert not any(str(c[1]).lower() == "$content-type" for c in arrays)
            assert exact["bucket"] == settings.documents_bucket
            assert ["content-length-range", 1, settings.upload_max_bytes] in arrays
            assert exact["x-amz-server-side-encryption"] == "aws:kms"
            assert exact["x-amz-server-side-encryption-aws-kms-key-id"] == settings.kms_key_id
            assert fields["x-amz-server-side-encryption"] == "aws:kms"
            assert fields["x-amz-server-side-encryption-aws-kms-key-id"] == settings.kms_key_id
            # No condition lets the uploader add metadata (e.g. forge the worker's marker).
            assert not any(name.lower().startswith("x-amz-meta-") for name in exact)
            assert not any(str(c[1]).lower().startswith("$x-amz-meta-") for c in arrays)

            expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=UTC
            )
            assert expiration - done <= timedelta(minutes=15, seconds=1)
            assert expiration - issued >= timedelta(minutes=15, seconds=-1)


def test_upload_forms_refuse_a_slot_without_a_key_of_this_request(aws: Aws) -> None:
    from chalicelib.services.documents import new_slots, upload_forms

    other = new_slots("req_other")
    with pytest.raises(ValueError):
        upload_forms(REQUEST_ID, other)
    with pytest.raises(ValueError):
        upload_forms(REQUEST_ID, {})


def test_download_url_is_an_attachment_of_the_checked_type_for_five_minutes(aws: Aws) -> None:
    from chalicelib.services.documents import checked_key, download_url, new_upload_key

    key = checked_key(new_upload_key(REQUEST_ID, "selfie"))
    for asked in (None, 60, 3600):
        url = (
            download_url(key, "image/png")
            if asked is None
            else download_url(key, "image/jpeg", expires_in=asked)
        )
        query = parse_qs(urlsplit(url).query)
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
        expires = int(query["X-Amz-Expires"][0])
        assert 0 < expires <= 300
        if asked == 60:
            assert expires == 60
        assert urlsplit(url).path.endswith(f"/{key}")
        expected = "image/png" if asked is None else "image/jpeg"
        assert query["response-content-type"] == [expected]
        (disposition,) = query["response-content-disposition"]
        assert disposition.startswith("attachment;")


def test_download_url_only_for_checked_copies_of_an_image_type(aws: Aws) -> None:
    from chalicelib.services.documents import checked_key, download_url, new_upload_key

    upload = new_upload_key(REQUEST_ID, "selfie")
    for key, content_type in (
        ("accounts/secret.json", "image/jpeg"),
        (upload, "image/jpeg"),  # the borrower's own object, never checked
        (checked_key(upload), "image/svg+xml"),
        (checked_key(upload), None),
    ):
        with pytest.raises(ValueError):
            download_url(key, content_type)


def test_mark_decided_tags_every_object_and_delete_erases_them(aws: Aws) -> None:
    from chalicelib.config import get_settings
    from chalicelib.services.documents import (
        checked_key,
        delete_documents,
        mark_decided,
        new_upload_key,
    )

    s3 = aws.client("s3")
    bucket = get_settings().documents_bucket
    keys = [
        checked_key(new_upload_key(REQUEST_ID, "id_front")),
        checked_key(new_upload_key(REQUEST_ID, "selfie")),
        new_upload_key(REQUEST_ID, "selfie"),  # a late upload: tagged too
    ]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    other = new_upload_key("req_other", "selfie")
    s3.put_object(Bucket=bucket, Key=other, Body=b"x")

    assert mark_decided(REQUEST_ID) == 3

    for key in keys:
        tags = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
        assert {"Key": "state", "Value": "decided"} in tags
    assert s3.get_object_tagging(Bucket=bucket, Key=other)["TagSet"] == []

    assert delete_documents(REQUEST_ID) == 3

    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"requests/{REQUEST_ID}/")
    assert listed.get("KeyCount", 0) == 0
    assert s3.list_objects_v2(Bucket=bucket, Prefix="requests/req_other/")["KeyCount"] == 1
