"""ID photos and selfies of a phone change in the documents bucket (``appeals.phone_change``).

Keys are chosen here, never by the borrower, and carry ids only (a key may be
logged):

- ``requests/<request_id>/<doc>/<nonce>``: the object one issued form may
  create. Every form gets a fresh random ``nonce``, so no form can overwrite an
  object another form created; the request records, per document slot, the
  key that is current (``upload_key``). A key is used once: a second object
  at a key the worker already decided on is deleted (``workers.uploads``).
- ``requests/<request_id>/<doc>/<nonce>.checked``: the metadata-free copy the
  upload worker writes after checking the upload (``key`` of an accepted slot).
  Staff links point only at these, with the response type and an
  ``attachment`` disposition fixed in the presigned GET.

Borrowers upload with presigned POST forms whose policy pins the key, the
size range, the exact ``Content-Type`` (one form per accepted type: a policy
has no "one of") and SSE-KMS with the stage's key. S3-compatible stores (and
moto) may not enforce a POST policy, so the worker checks every object itself
anyway and deletes what no current form could have created.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any, NamedTuple

from chalicelib.adapters.aws import client
from chalicelib.adapters.crypto import derived_key
from chalicelib.config import get_settings
from chalicelib.domain import appeals as rules
from chalicelib.domain.images import ACCEPTED_CONTENT_TYPES, Verdict
from chalicelib.errors import ServiceUnavailable
from chalicelib.logs import logger

UPLOAD_FORM_SECONDS = 15 * 60
DOWNLOAD_URL_SECONDS = 300
KEY_PREFIX = "requests/"
CHECKED_SUFFIX = ".checked"
#: Object metadata of a checked copy's signed marker (S3 lower-cases metadata names).
MARK_SOURCE = "hava-checked-from"
MARK_SIGNATURE = "hava-checked-mac"
#: File name extension of a staff download, by the checked copy's type.
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}

_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_KEY = re.compile(
    r"requests/(?P<request_id>[A-Za-z0-9_-]{1,64})/(?P<doc>[a-z_]+)/(?P<nonce>[0-9a-f]{32})"
    r"(?P<checked>\.checked)?"
)


class DocumentKey(NamedTuple):
    """What a document key names."""

    request_id: str
    doc: str
    nonce: str
    checked: bool

    @property
    def upload_key(self) -> str:
        """The key of the upload this key is (or was checked from)."""
        return f"{KEY_PREFIX}{self.request_id}/{self.doc}/{self.nonce}"


def request_prefix(request_id: str) -> str:
    """``requests/<request_id>/``: every object of one request."""
    if not _REQUEST_ID.fullmatch(request_id):
        raise ValueError("malformed request id")
    return f"{KEY_PREFIX}{request_id}/"


def new_upload_key(request_id: str, doc: str) -> str:
    """A fresh ``requests/<request_id>/<doc>/<nonce>``; ``ValueError`` for a bad doc or id."""
    if doc not in rules.DOCUMENTS:
        raise ValueError("unknown document")
    return f"{request_prefix(request_id)}{doc}/{secrets.token_hex(16)}"


def checked_key(upload_key: str) -> str:
    """The key of the worker's checked copy of ``upload_key``."""
    parsed = parse_key(upload_key)
    if parsed is None or parsed.checked:
        raise ValueError("not an upload key")
    return upload_key + CHECKED_SUFFIX


def parse_key(key: str) -> DocumentKey | None:
    """What a document key names, or None for any other key."""
    match = _KEY.fullmatch(key)
    if match is None or match["doc"] not in rules.DOCUMENTS:
        return None
    return DocumentKey(match["request_id"], match["doc"], match["nonce"], bool(match["checked"]))


def new_slots(request_id: str) -> dict[str, dict[str, Any]]:
    """The documents map of a new phone change: one fresh upload key per document."""
    return {
        doc: {"upload_key": new_upload_key(request_id, doc), "status": rules.DOC_AWAITING}
        for doc in rules.DOCUMENTS
    }


def upload_forms(request_id: str, slots: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The presigned POST forms of each slot's current ``upload_key``.

    ``{doc: {"url", "key", "fields_by_type", "expires_in", "max_bytes", "content_types"}}``:
    the client posts ``fields_by_type[<the file's type>]`` as they are, then ``file``.
    """
    settings = get_settings()
    s3 = client("s3")
    forms: dict[str, dict[str, Any]] = {}
    for doc in rules.DOCUMENTS:
        key = str((slots.get(doc) or {}).get("upload_key") or "")
        parsed = parse_key(key)
        if parsed is None or parsed.checked or parsed.request_id != request_id or parsed.doc != doc:
            raise ValueError("the slot has no upload key of this request")
        url = ""
        by_type: dict[str, dict[str, str]] = {}
        for content_type in ACCEPTED_CONTENT_TYPES:
            fixed = {
                "Content-Type": content_type,
                "x-amz-server-side-encryption": "aws:kms",
                "x-amz-server-side-encryption-aws-kms-key-id": settings.kms_key_id,
            }
            # botocore adds {"bucket": ...} and the exact {"key": ...} condition itself.
            post = s3.generate_presigned_post(
                Bucket=settings.documents_bucket,
                Key=key,
                Fields=dict(fixed),
                Conditions=[
                    ["content-length-range", 1, settings.upload_max_bytes],
                    *({name: value} for name, value in fixed.items()),
                ],
                ExpiresIn=UPLOAD_FORM_SECONDS,
            )
            url = post["url"]
            by_type[content_type] = post["fields"]
        forms[doc] = {
            "url": url,
            "key": key,
            "fields_by_type": by_type,
            "expires_in": UPLOAD_FORM_SECONDS,
            "max_bytes": settings.upload_max_bytes,
            "content_types": list(ACCEPTED_CONTENT_TYPES),
        }
    return forms


def download_url(key: str, content_type: str | None, expires_in: int = DOWNLOAD_URL_SECONDS) -> str:
    """A presigned GET of one checked copy for staff review, valid at most 300 s.

    Only the worker's checked copies; the response type is fixed to the checked
    image type and the disposition to ``attachment``, whatever the object says,
    so a link never serves active content from the bucket's origin (an ``<img>``
    still shows it).
    """
    parsed = parse_key(key)
    if parsed is None or not parsed.checked:
        raise ValueError("not a checked request document key")
    if content_type not in ACCEPTED_CONTENT_TYPES:
        raise ValueError("not a checked image type")
    filename = f"{parsed.doc}.{_EXTENSIONS[content_type]}"
    url: str = client("s3").generate_presigned_url(
        "get_object",
        Params={
            "Bucket": get_settings().documents_bucket,
            "Key": key,
            "ResponseContentType": content_type,
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
            "ResponseCacheControl": "no-store",
        },
        ExpiresIn=max(1, min(expires_in, DOWNLOAD_URL_SECONDS)),
    )
    return url


def _error_code(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def list_keys(request_id: str) -> list[str]:
    """Every object key of the request (uploads, checked copies, anything else)."""
    s3 = client("s3")
    keys: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(
        Bucket=get_settings().documents_bucket, Prefix=request_prefix(request_id)
    ):
        keys.extend(str(item["Key"]) for item in page.get("Contents") or [])
    return keys


def mark_decided(request_id: str) -> int:
    """Tag every object of the request ``state=decided``; the bucket lifecycle deletes them.

    Returns how many objects were tagged.
    """
    # lazy: botocore ≈ 317 ms CPU at cold start; only mark_decided() needs it
    from botocore.exceptions import ClientError

    s3 = client("s3")
    bucket = get_settings().documents_bucket
    tagged = 0
    for key in list_keys(request_id):
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


def delete_keys(keys: list[str]) -> None:
    """Delete objects of the documents bucket (1 000 per call); ``ServiceUnavailable`` on errors."""
    s3 = client("s3")
    bucket = get_settings().documents_bucket
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        response = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
        )
        errors = response.get("Errors") or []
        if errors:
            logger.error("documents not deleted", extra={"failed": len(errors)})
            raise ServiceUnavailable()


def delete_documents(request_id: str) -> int:
    """Erase every object of the request at once (account deletion, expiry); returns how many."""
    keys = list_keys(request_id)
    delete_keys(keys)
    logger.info("documents deleted", extra={"request_id": request_id, "deleted": len(keys)})
    return len(keys)


def etag_of(raw: object) -> str:
    """An S3 ETag without its quotes."""
    return str(raw or "").strip('"')


def checked_mark(key: str, source_etag: str) -> str:
    """The signature of a checked copy's marker: only the worker (and the e-mail channel,
    through ``store_checked_copy``) can make one."""

    return hmac.new(
        derived_key("upload-marker"), f"{key}|{source_etag}".encode(), hashlib.sha256
    ).hexdigest()


def store_checked_copy(key: str, source_etag: str, data: bytes, verdict: Verdict) -> str:
    """Write the metadata-free copy at ``key`` (the checked key); returns its ETag.

    The uploads worker and the e-mail channel store their checked photos through
    this, so the signed marker is made in one place.
    """
    settings = get_settings()
    response = client("s3").put_object(
        Bucket=settings.documents_bucket,
        Key=key,
        Body=data,
        ContentType=verdict.content_type or "application/octet-stream",
        CacheControl="no-store",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=settings.kms_key_id,
        Metadata={MARK_SOURCE: source_etag, MARK_SIGNATURE: checked_mark(key, source_etag)},
    )
    return etag_of(response.get("ETag"))
