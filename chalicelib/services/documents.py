"""ID photos and selfies of a phone change in the documents bucket.

Keys are chosen here, never by the borrower: ``requests/<request_id>/<doc>``
(ids only, so a key may be logged). Borrowers upload with presigned POST forms
whose policy pins the key, the size range, the type family and SSE-KMS with
the stage's key; because S3-compatible stores (and moto) may not enforce a
POST policy, ``workers.uploads`` checks every object itself anyway.

A POST policy has no "one of" condition, so the type condition is
``starts-with image/``: the tightest it can express for JPEG *and* PNG. The
accepted list goes to the client in ``content_types``; the worker accepts only
what the magic bytes and Pillow confirm (``domain.images``) and stores the
copy it keeps with the detected type.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.adapters.aws import client
from chalicelib.config import get_settings
from chalicelib.domain import requests as rules
from chalicelib.domain.images import ACCEPTED_CONTENT_TYPES
from chalicelib.errors import ServiceUnavailable
from chalicelib.logs import logger

UPLOAD_FORM_SECONDS = 15 * 60
DOWNLOAD_URL_SECONDS = 300
KEY_PREFIX = "requests/"

_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_KEY = re.compile(r"requests/(?P<request_id>[A-Za-z0-9_-]{1,64})/(?P<doc>[a-z_]+)")


def object_key(request_id: str, doc: str) -> str:
    """``requests/<request_id>/<doc>``; ``ValueError`` for an unknown document or a bad id."""
    if doc not in rules.DOCUMENTS or not _REQUEST_ID.fullmatch(request_id):
        raise ValueError("unknown document or malformed request id")
    return f"{KEY_PREFIX}{request_id}/{doc}"


def parse_key(key: str) -> tuple[str, str] | None:
    """``(request_id, doc)`` of a document key, or None for any other key."""
    match = _KEY.fullmatch(key)
    if match is None or match["doc"] not in rules.DOCUMENTS:
        return None
    return match["request_id"], match["doc"]


def upload_forms(request_id: str) -> dict[str, dict[str, Any]]:
    """One presigned POST form per document.

    ``{doc: {"url", "fields", "expires_in", "max_bytes", "content_types"}}``; the
    client posts ``fields`` plus ``Content-Type`` and ``file`` to ``url``.
    """
    settings = get_settings()
    s3 = client("s3")
    forms: dict[str, dict[str, Any]] = {}
    for doc in rules.DOCUMENTS:
        key = object_key(request_id, doc)
        sse = {
            "x-amz-server-side-encryption": "aws:kms",
            "x-amz-server-side-encryption-aws-kms-key-id": settings.kms_key_id,
        }
        # botocore adds {"bucket": ...} and the exact {"key": ...} condition itself.
        post = s3.generate_presigned_post(
            Bucket=settings.documents_bucket,
            Key=key,
            Fields=dict(sse),
            Conditions=[
                ["content-length-range", 1, settings.upload_max_bytes],
                ["starts-with", "$Content-Type", "image/"],
                *({name: value} for name, value in sse.items()),
            ],
            ExpiresIn=UPLOAD_FORM_SECONDS,
        )
        forms[doc] = {
            "url": post["url"],
            "fields": post["fields"],
            "expires_in": UPLOAD_FORM_SECONDS,
            "max_bytes": settings.upload_max_bytes,
            "content_types": list(ACCEPTED_CONTENT_TYPES),
        }
    return forms


def download_url(key: str, expires_in: int = DOWNLOAD_URL_SECONDS) -> str:
    """A presigned GET of one document for staff review, valid at most 300 s."""
    if parse_key(key) is None:
        raise ValueError("not a request document key")
    url: str = client("s3").generate_presigned_url(
        "get_object",
        Params={
            "Bucket": get_settings().documents_bucket,
            "Key": key,
            # Shown in the browser, never saved under a guessable name.
            "ResponseContentDisposition": "inline",
            "ResponseCacheControl": "no-store",
        },
        ExpiresIn=max(1, min(expires_in, DOWNLOAD_URL_SECONDS)),
    )
    return url


def _error_code(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _keys(request_id: str) -> list[str]:
    return [object_key(request_id, doc) for doc in rules.DOCUMENTS]


def mark_decided(request_id: str) -> int:
    """Tag the request's documents ``state=decided``; the bucket lifecycle deletes them later.

    Returns how many objects were tagged (a document never uploaded is skipped).
    """
    from botocore.exceptions import ClientError

    s3 = client("s3")
    bucket = get_settings().documents_bucket
    tagged = 0
    for key in _keys(request_id):
        try:
            s3.put_object_tagging(
                Bucket=bucket,
                Key=key,
                Tagging={"TagSet": [{"Key": "state", "Value": "decided"}]},
            )
        except ClientError as exc:
            if _error_code(exc) not in ("NoSuchKey", "404"):
                raise
            continue
        tagged += 1
    logger.info("documents marked decided", extra={"request_id": request_id, "tagged": tagged})
    return tagged


def delete_documents(request_id: str) -> None:
    """Erase the request's documents at once (account deletion under Law 94-V)."""
    s3 = client("s3")
    response = s3.delete_objects(
        Bucket=get_settings().documents_bucket,
        Delete={"Objects": [{"Key": key} for key in _keys(request_id)], "Quiet": True},
    )
    errors = response.get("Errors") or []
    if errors:
        logger.error(
            "documents not deleted", extra={"request_id": request_id, "failed": len(errors)}
        )
        raise ServiceUnavailable()
    logger.info("documents deleted", extra={"request_id": request_id})
