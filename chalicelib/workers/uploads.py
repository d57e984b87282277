"""SQS consumer of ``hava-uploads``: checks each uploaded document (S3 → SQS notifications).

For each ``ObjectCreated`` record under ``requests/`` (keys: ``services.documents``):

1. a key no form issues, an upload for an unknown appeal, for an appeal no
   longer awaiting documents, at a key that is not the slot's current one, or
   a second object at a key already decided on, is deleted at once and logged
   as a ``security_event`` (ids only): nothing a re-posted or forged form puts
   in the bucket is ever checked, linked or kept;
2. a notification already decided (the same object, ETag, redelivered) only
   finishes what an earlier attempt left undone;
3. ``head_object``: a notification whose object has since been replaced is
   skipped (the newer object has its own notification);
4. size from the head, then the bytes (``If-Match`` the notified ETag), then
   ``domain.images.inspect_image``;
5. accepted → the metadata-free copy is written to ``<upload key>.checked``
   (SSE-KMS, the checked type, a signed marker in its metadata); the verdict
   is written by ``services.appeals.phone_change.record_verdict`` (the appeal's
   state lives with the rest of its flow); then the upload itself is deleted (it
   may carry GPS metadata); a rejection texts the borrower; then
   ``phone_change.submit_if_ready``.

The notification of a checked copy is the worker's own write: a copy without a
valid marker is deleted (security event); a valid one whose verdict a failed
attempt did not record is recorded from its marker.

Bad content is a verdict, never an exception. AWS and DynamoDB failures raise,
so SQS redelivers the message (and after five receives moves it to the DLQ).
"""

from __future__ import annotations

import hmac
import json
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from chalicelib import clock
from chalicelib.adapters.aws import client
from chalicelib.config import get_settings
from chalicelib.domain import appeals as rules
from chalicelib.domain import images
from chalicelib.errors import NotFound
from chalicelib.logs import logger
from chalicelib.services import documents
from chalicelib.services.appeals import common, phone_change
from chalicelib.services.documents import (
    MARK_SIGNATURE,
    MARK_SOURCE,
    checked_mark,
    etag_of,
    store_checked_copy,
)


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
    etag = etag_of(obj.get("eTag"))
    if bucket != get_settings().documents_bucket:
        logger.warning("upload in an unexpected bucket ignored", extra={"key": key[:200]})
        return
    parsed = documents.parse_key(key)
    if parsed is None:
        if key.startswith(documents.KEY_PREFIX):
            # No form issues such a key: only a policy the store did not enforce lets it in.
            _discard(key, "unexpected_key")
        else:
            logger.warning("upload with an unexpected key ignored", extra={"key": key[:200]})
        return
    if parsed.checked:
        check_copy(parsed, key)
    else:
        check_object(parsed.request_id, parsed.doc, key, etag)


def check_object(request_id: str, doc: str, key: str, etag: str) -> None:
    """Decide on the upload ``key`` as notified with ``etag`` (idempotent)."""
    try:
        appeal = common.load(request_id)
    except NotFound:
        _discard(key, "unknown_request")
        return
    current = phone_change.document_slot(appeal, doc)
    decided_here = current.get("source_key") == key and current.get("status") in rules.DOC_DECIDED
    if decided_here and etag and etag == current.get("etag"):
        logger.info("upload already checked", extra={"key": key})
        # Recovery only: finishes what a failed earlier attempt left undone.
        _delete(key)
        phone_change.submit_if_ready(request_id)
        return
    if appeal.type != rules.PHONE_CHANGE or appeal.status != rules.AWAITING_DOCUMENTS:
        _discard(key, "not_awaiting_documents")
        return
    if current.get("upload_key") != key:
        _discard(key, "stale_form")
        return
    if decided_here:
        # The form was posted again after its first object was checked.
        _discard(key, "form_reused")
        return

    settings = get_settings()
    head = _head(settings.documents_bucket, key)
    if head is None:
        logger.info("uploaded object no longer exists", extra={"key": key})
        return
    head_etag = etag_of(head.get("ETag"))
    if etag and head_etag != etag:
        logger.info("upload superseded by a newer object", extra={"key": key})
        return
    etag = etag or head_etag

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
    copy_key = None
    stored_etag = None
    if verdict.accepted:
        copy_key = documents.checked_key(key)
        stored_etag = store_checked_copy(copy_key, etag, images.strip_metadata(data), verdict)
    status = rules.DOC_ACCEPTED if verdict.accepted else rules.DOC_REJECTED
    entry = _entry(
        key,
        status,
        reason=verdict.reason or None,
        etag=etag,
        copy_key=copy_key,
        stored_etag=stored_etag,
        content_type=verdict.content_type,
    )
    _finish(request_id, doc, entry)


def check_copy(parsed: documents.DocumentKey, key: str) -> None:
    """The notification of a checked copy: the worker's own write, or a forgery."""
    settings = get_settings()
    head = _head(settings.documents_bucket, key)
    if head is None:
        return
    source = _own_rewrite(key, head)
    if source is None:
        _discard(key, "forged_checked_copy")
        return
    appeal, _ = phone_change.awaiting_documents(parsed.request_id)
    if appeal is None:
        return  # decided or cancelled since: the copy goes with the appeal's other objects
    current = phone_change.document_slot(appeal, parsed.doc)
    upload_key = parsed.upload_key
    if current.get("upload_key") != upload_key or (
        current.get("source_key") == upload_key and current.get("status") in rules.DOC_DECIDED
    ):
        return  # the usual case: the verdict is already recorded
    # Our copy, whose verdict a failed attempt has not written yet.
    content_type = str(head.get("ContentType") or "")
    entry = _entry(
        upload_key,
        rules.DOC_ACCEPTED,
        reason=None,
        etag=source,
        copy_key=key,
        stored_etag=etag_of(head.get("ETag")),
        content_type=content_type if content_type in images.ACCEPTED_CONTENT_TYPES else None,
    )
    _finish(parsed.request_id, parsed.doc, entry)


def _finish(request_id: str, doc: str, entry: dict[str, Any]) -> None:
    outcome, recorded = phone_change.record_verdict(request_id, doc, entry)
    if outcome == "gone":
        # The appeal stopped taking documents (or the slot moved on) while this was checked.
        _discard(entry["source_key"], "documents_closed_during_check")
        if entry.get("key"):
            _delete(str(entry["key"]))
        return
    if recorded is not None:
        logger.info(
            "upload checked",
            extra={"key": entry["source_key"], "document_status": entry["status"]},
        )
        if entry["status"] == rules.DOC_REJECTED:
            phone_change.on_document_rejected(recorded, doc, str(entry["reason"]))
    # The verdict is recorded: the upload itself (which may carry GPS metadata) goes.
    _delete(entry["source_key"])
    phone_change.submit_if_ready(request_id)


def _entry(
    source_key: str,
    status: str,
    *,
    reason: str | None,
    etag: str,
    copy_key: str | None = None,
    stored_etag: str | None = None,
    content_type: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "upload_key": source_key,
        "source_key": source_key,
        "status": status,
        "reason": reason,
        "checked_at": clock.iso(clock.now()),
        "etag": etag,
    }
    if copy_key:
        entry["key"] = copy_key
    if stored_etag:
        entry["stored_etag"] = stored_etag
    if content_type:
        entry["content_type"] = content_type
    return entry


def _discard(key: str, why: str) -> None:
    """Delete an object no current form could have created; a security event (ids only)."""
    _delete(key)
    parsed = documents.parse_key(key)
    logger.warning(
        "security_event",
        extra={
            "event": "upload_discarded",
            "why": why,
            "request_id": parsed.request_id if parsed else None,
            "document": parsed.doc if parsed else None,
        },
    )


# --- S3 ---------------------------------------------------------------------


def _error_code(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _head(bucket: str, key: str) -> dict[str, Any] | None:

    try:
        head: dict[str, Any] = client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return head


def _get(bucket: str, key: str, etag: str) -> bytes | None:
    """The object's bytes if it is still the notified version, else None."""

    try:
        response = client("s3").get_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')
    except ClientError as exc:
        if _error_code(exc) in ("404", "NoSuchKey", "412", "PreconditionFailed"):
            return None
        raise
    data: bytes = response["Body"].read()
    return data


def _own_rewrite(key: str, head: dict[str, Any]) -> str | None:
    """The source ETag if the object is the worker's own signed copy, else None."""
    metadata = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
    source = metadata.get(MARK_SOURCE)
    signature = metadata.get(MARK_SIGNATURE)
    if not source or not signature:
        return None
    if not hmac.compare_digest(signature, checked_mark(key, source)):
        logger.warning("upload with a forged worker marker", extra={"key": key})
        return None
    return str(source)


def _delete(key: str) -> None:
    """Delete one object of the documents bucket (absent already: fine)."""
    client("s3").delete_object(Bucket=get_settings().documents_bucket, Key=key)
