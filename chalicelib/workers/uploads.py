"""SQS consumer of ``hava-uploads``: checks each uploaded document (S3 → SQS notifications).

For each ``ObjectCreated`` record of ``requests/<request_id>/<doc>``:

1. the request must be a phone change still ``awaiting_documents`` (else the
   upload is ignored, with a log line);
2. a notification already decided — the same object (ETag) redelivered, or the
   worker's own rewrite — changes nothing;
3. ``head_object``: a notification whose object has since been replaced is
   skipped (the newer object has its own notification); an object carrying
   the worker's signed marker is its own rewrite;
4. size from the head, then the bytes (``If-Match`` the notified ETag), then
   ``domain.images.inspect_image``;
5. accepted → the metadata-free copy replaces the upload (SSE-KMS, signed
   marker in its metadata); the verdict is written with a versioned update
   (re-read and retried on a concurrent change); a rejection texts the
   borrower; then ``services.requests.submit_if_ready``.

Bad content is a verdict, never an exception. AWS and DynamoDB failures raise,
so SQS redelivers the message (and after five receives moves it to the DLQ).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import unquote_plus

from pynamodb.exceptions import UpdateError

from chalicelib.adapters.aws import client
from chalicelib.clock import iso, now
from chalicelib.config import get_settings
from chalicelib.domain import images
from chalicelib.domain import requests as rules
from chalicelib.errors import NotFound, ServiceUnavailable
from chalicelib.logs import logger
from chalicelib.services import documents, review_hooks
from chalicelib.services import requests as request_service
from chalicelib.storage.base import storage_errors
from chalicelib.storage.requests import RequestModel

#: Object metadata of the worker's own rewrite (S3 lower-cases metadata names).
MARK_SOURCE = "hava-checked-from"
MARK_SIGNATURE = "hava-checked-mac"
_UPDATE_ATTEMPTS = 4
_DECIDED = (rules.DOC_ACCEPTED, rules.DOC_REJECTED)


def handle_batch(event: Any) -> None:
    """Chalice ``SQSEvent`` → check every S3 record of every message (batch_size is 1)."""
    for record in event:
        message_id = record.to_dict().get("messageId", "")
        try:
            handle_message(record.body)
        except Exception as exc:
            logger.error(
                "upload check failed", extra={"sqs_id": message_id, "error": type(exc).__name__}
            )
            raise


def handle_message(body: str) -> None:
    """One SQS message body: an S3 event notification (or S3's test event)."""
    try:
        notification = json.loads(body)
    except ValueError:
        logger.error("uploads message is not JSON: dropped")
        return
    records = notification.get("Records") if isinstance(notification, dict) else None
    if not records:
        # S3 sends {"Event": "s3:TestEvent"} when the notification is configured.
        event_name = notification.get("Event") if isinstance(notification, dict) else None
        logger.info("uploads message without records skipped", extra={"event": event_name})
        return
    for s3_record in records:
        handle_s3_record(s3_record)


def handle_s3_record(s3_record: dict[str, Any]) -> None:
    """Check the object one S3 ``ObjectCreated`` record names."""
    if not str(s3_record.get("eventName", "")).startswith("ObjectCreated:"):
        return
    s3_info = s3_record.get("s3") or {}
    bucket = (s3_info.get("bucket") or {}).get("name")
    obj = s3_info.get("object") or {}
    key = unquote_plus(str(obj.get("key", "")))
    etag = _etag(obj.get("eTag"))
    if bucket != get_settings().documents_bucket:
        logger.warning("upload in an unexpected bucket ignored", extra={"key": key})
        return
    parsed = documents.parse_key(key)
    if parsed is None:
        logger.warning("upload with an unexpected key ignored", extra={"key": key})
        return
    request_id, doc = parsed
    check_object(request_id, doc, key, etag)


def check_object(request_id: str, doc: str, key: str, etag: str) -> None:
    """Decide on the object ``key`` as notified with ``etag`` (idempotent)."""
    request = _awaiting(request_id, key)
    if request is None:
        return
    current = _document(request, doc)
    if (
        current.get("status") in _DECIDED
        and etag
        and (
            etag == current.get("stored_etag")
            or (etag == current.get("etag") and current.get("status") == rules.DOC_REJECTED)
        )
    ):
        logger.info("upload already checked", extra={"key": key})
        # Recovery only: finishes a submission a failed earlier attempt left undone.
        request_service.submit_if_ready(request_id)
        return

    settings = get_settings()
    head = _head(settings.documents_bucket, key)
    if head is None:
        logger.info("uploaded object no longer exists", extra={"key": key})
        return
    head_etag = _etag(head.get("ETag"))
    if etag and head_etag != etag:
        logger.info("upload superseded by a newer object", extra={"key": key})
        return
    etag = etag or head_etag

    source = _own_rewrite(key, head)
    if source is not None:
        # Our copy, whose verdict a failed or concurrent attempt has not yet written.
        entry = _entry(key, rules.DOC_ACCEPTED, reason=None, etag=source, stored_etag=head_etag)
        _finish(request_id, doc, entry)
        return

    data = b""
    size = int(head.get("ContentLength", 0))
    if size > settings.upload_max_bytes:
        verdict = images.Verdict(False, images.reason_too_large(settings.upload_max_bytes))
    else:
        fetched = _get(settings.documents_bucket, key, etag)
        if fetched is None:
            logger.info("upload superseded by a newer object", extra={"key": key})
            return
        data = fetched
        verdict = images.inspect_image(
            data, max_bytes=settings.upload_max_bytes, max_pixels=settings.upload_max_pixels
        )
    stored_etag = None
    if verdict.accepted:
        stored_etag = _store_clean_copy(key, etag, images.strip_metadata(data), verdict)
    status = rules.DOC_ACCEPTED if verdict.accepted else rules.DOC_REJECTED
    entry = _entry(
        key,
        status,
        reason=verdict.reason or None,
        etag=etag,
        stored_etag=stored_etag,
        content_type=verdict.content_type,
    )
    _finish(request_id, doc, entry)


def _finish(request_id: str, doc: str, entry: dict[str, Any]) -> None:
    recorded = _record(request_id, doc, entry)
    if recorded is not None:
        logger.info(
            "upload checked", extra={"key": entry["key"], "document_status": entry["status"]}
        )
        if entry["status"] == rules.DOC_REJECTED:
            review_hooks.on_document_rejected(recorded, doc, str(entry["reason"]))
    request_service.submit_if_ready(request_id)


def _entry(
    key: str,
    status: str,
    *,
    reason: str | None,
    etag: str,
    stored_etag: str | None = None,
    content_type: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "key": key,
        "status": status,
        "reason": reason,
        "checked_at": iso(now()),
        "etag": etag,
    }
    if stored_etag:
        entry["stored_etag"] = stored_etag
    if content_type:
        entry["content_type"] = content_type
    return entry


def _awaiting(request_id: str, key: str) -> RequestModel | None:
    """The request if it still takes documents, else None (logged)."""
    try:
        request = request_service.load(request_id)
    except NotFound:
        logger.warning("upload for an unknown request ignored", extra={"key": key})
        return None
    if request.type != rules.PHONE_CHANGE or request.status != rules.AWAITING_DOCUMENTS:
        logger.info(
            "upload for a request not awaiting documents ignored",
            extra={"key": key, "request_status": request.status},
        )
        return None
    return request


def _document(request: RequestModel, doc: str) -> dict[str, Any]:
    all_docs = request.documents.as_dict() if request.documents else {}
    entry = all_docs.get(doc)
    return dict(entry) if isinstance(entry, dict) else {}


def _record(request_id: str, doc: str, entry: dict[str, Any]) -> RequestModel | None:
    """Write the verdict with a versioned update; None when there is nothing to write."""
    for _ in range(_UPDATE_ATTEMPTS):
        request = _awaiting(request_id, entry["key"])
        if request is None:
            return None
        all_docs = request.documents.as_dict() if request.documents else {}
        current = all_docs.get(doc) or {}
        if current.get("status") in _DECIDED and current.get("etag") == entry["etag"]:
            return None  # a concurrent attempt wrote this verdict
        all_docs[doc] = entry
        with storage_errors():
            try:
                request.update(
                    actions=[
                        RequestModel.documents.set(all_docs),
                        RequestModel.updated_at.set(iso(now())),
                    ]
                )
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
                continue  # changed meanwhile: re-read
        return request
    raise ServiceUnavailable()  # still contended: let SQS redeliver


# --- S3 ---------------------------------------------------------------------


def _etag(raw: object) -> str:
    return str(raw or "").strip('"')


def _error_code(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _head(bucket: str, key: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        head: dict[str, Any] = client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return head


def _get(bucket: str, key: str, etag: str) -> bytes | None:
    """The object's bytes if it is still the notified version, else None."""
    from botocore.exceptions import ClientError

    try:
        response = client("s3").get_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')
    except ClientError as exc:
        if _error_code(exc) in ("404", "NoSuchKey", "412", "PreconditionFailed"):
            return None
        raise
    data: bytes = response["Body"].read()
    return data


def _mark(key: str, source_etag: str) -> str:
    from chalicelib.adapters.crypto import derived_key

    return hmac.new(
        derived_key("upload-marker"), f"{key}|{source_etag}".encode(), hashlib.sha256
    ).hexdigest()


def _own_rewrite(key: str, head: dict[str, Any]) -> str | None:
    """The source ETag if the object is the worker's own signed copy, else None."""
    metadata = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
    source = metadata.get(MARK_SOURCE)
    signature = metadata.get(MARK_SIGNATURE)
    if not source or not signature:
        return None
    if not hmac.compare_digest(signature, _mark(key, source)):
        logger.warning("upload with a forged worker marker", extra={"key": key})
        return None
    return str(source)


def _store_clean_copy(key: str, source_etag: str, data: bytes, verdict: images.Verdict) -> str:
    """Replace the upload with its metadata-free copy; returns the copy's ETag."""
    settings = get_settings()
    response = client("s3").put_object(
        Bucket=settings.documents_bucket,
        Key=key,
        Body=data,
        ContentType=verdict.content_type or "application/octet-stream",
        CacheControl="no-store",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=settings.kms_key_id,
        Metadata={MARK_SOURCE: source_etag, MARK_SIGNATURE: _mark(key, source_etag)},
    )
    return _etag(response.get("ETag"))
