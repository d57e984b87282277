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


def policy_of(form: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(form["fields"]["policy"]))


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


def test_object_key_is_server_chosen_and_checked() -> None:
    from chalicelib.services.documents import object_key, parse_key

    assert object_key(REQUEST_ID, "selfie") == f"requests/{REQUEST_ID}/selfie"
    assert parse_key(f"requests/{REQUEST_ID}/id_front") == (REQUEST_ID, "id_front")
    for bad in (
        "requests/x/passport",
        "requests/../selfie",
        "other/x/selfie",
        "requests/x/selfie/y",
    ):
        assert parse_key(bad) is None
    with pytest.raises(ValueError):
        object_key("../etc", "selfie")
    with pytest.raises(ValueError):
        object_key(REQUEST_ID, "passport")


def test_upload_forms_policy_pins_key_size_type_and_encryption(aws: Aws) -> None:
    from chalicelib.config import get_settings
    from chalicelib.services.documents import upload_forms

    settings = get_settings()
    issued = datetime.now(UTC)

    forms = upload_forms(REQUEST_ID)

    assert set(forms) == set(DOCUMENTS)
    for doc, form in forms.items():
        key = f"requests/{REQUEST_ID}/{doc}"
        assert form["fields"]["key"] == key
        assert form["expires_in"] == 900
        assert form["max_bytes"] == settings.upload_max_bytes == 10 * 1024 * 1024
        assert form["content_types"] == ["image/jpeg", "image/png"]

        policy = policy_of(form)
        exact, arrays = conditions_of(policy)
        # The key is an exact match: no "starts-with $key", no ${filename}.
        assert exact["key"] == key
        assert not any(c[0] == "starts-with" and c[1] == "$key" for c in arrays)
        assert exact["bucket"] == settings.documents_bucket
        assert ["content-length-range", 1, settings.upload_max_bytes] in arrays
        assert ["starts-with", "$Content-Type", "image/"] in arrays
        assert exact["x-amz-server-side-encryption"] == "aws:kms"
        assert exact["x-amz-server-side-encryption-aws-kms-key-id"] == settings.kms_key_id
        assert form["fields"]["x-amz-server-side-encryption"] == "aws:kms"
        assert form["fields"]["x-amz-server-side-encryption-aws-kms-key-id"] == settings.kms_key_id
        # No condition lets the uploader add metadata (e.g. forge the worker's marker).
        assert not any(name.lower().startswith("x-amz-meta-") for name in exact)
        assert not any(str(c[1]).lower().startswith("$x-amz-meta-") for c in arrays)

        expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC
        )
        assert expiration - issued <= timedelta(minutes=15, seconds=1)
        assert expiration > issued


def test_upload_forms_refuse_a_malformed_request_id(aws: Aws) -> None:
    from chalicelib.services.documents import upload_forms

    with pytest.raises(ValueError):
        upload_forms("a/b")


def test_download_url_lives_at_most_five_minutes(aws: Aws) -> None:
    from chalicelib.services.documents import download_url

    for asked in (None, 60, 3600):
        url = (
            download_url(f"requests/{REQUEST_ID}/selfie")
            if asked is None
            else download_url(f"requests/{REQUEST_ID}/selfie", expires_in=asked)
        )
        query = parse_qs(urlsplit(url).query)
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
        expires = int(query["X-Amz-Expires"][0])
        assert 0 < expires <= 300
        if asked == 60:
            assert expires == 60
        assert urlsplit(url).path.endswith(f"/requests/{REQUEST_ID}/selfie")


def test_download_url_only_for_request_documents(aws: Aws) -> None:
    from chalicelib.services.documents import download_url

    with pytest.raises(ValueError):
        download_url("accounts/secret.json")


def test_mark_decided_tags_the_objects_and_delete_erases_them(aws: Aws) -> None:
    from chalicelib.config import get_settings
    from chalicelib.services.documents import delete_documents, mark_decided, object_key

    s3 = aws.client("s3")
    bucket = get_settings().documents_bucket
    for doc in ("id_front", "selfie"):  # id_back never uploaded
        s3.put_object(Bucket=bucket, Key=object_key(REQUEST_ID, doc), Body=b"x")

    assert mark_decided(REQUEST_ID) == 2

    tags = s3.get_object_tagging(Bucket=bucket, Key=object_key(REQUEST_ID, "selfie"))["TagSet"]
    assert {"Key": "state", "Value": "decided"} in tags

    delete_documents(REQUEST_ID)

    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"requests/{REQUEST_ID}/")
    assert listed.get("KeyCount", 0) == 0
