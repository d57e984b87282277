"""The upload worker on the local stack: S3 PUT → bucket notification → SQS → worker.

Objects go into moto's bucket with boto3; the notifications S3 queues on
``hava-uploads`` are received and handed to the app's ``uploads_worker``
exactly as the SQS event source would.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from PIL import ExifTags, Image

from chalicelib.domain import appeals as rules
from chalicelib.formats import long_date
from tests.helpers import Api, LogRecorder, photo

UPLOADS_QUEUE = "hava-uploads"


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (43.0, 15.0, 0.0)
    return photo("JPEG", exif=exif)


class Uploads:
    """A phone-change request awaiting documents, and the S3 → SQS → worker loop around it."""

    def __init__(self, api: Api) -> None:
        from chalicelib.config import get_settings

        self.api = api
        self.aws = api.aws
        self.s3 = self.aws.client("s3")
        self.sqs = self.aws.client("sqs")
        self.bucket = get_settings().documents_bucket
        self.queue_url = self.sqs.get_queue_url(QueueName=UPLOADS_QUEUE)["QueueUrl"]
        registered = api.register()
        self.account_id: str = registered["account_id"]
        self.api.deliver()  # the registration SMS leaves the notify queue
        self.drain()  # S3's test event from provisioning

    def new_request(self, phone_confirmed: bool = False) -> str:
        from chalicelib import clock
        from chalicelib.services.documents import new_slots
        from chalicelib.storage.appeals import AppealModel
        from chalicelib.storage.base import new_id

        request_id = new_id("req")
        moment = clock.iso(clock.now())
        AppealModel(
            request_id=request_id,
            account_id=self.account_id,
            type=rules.PHONE_CHANGE,
            status=rules.AWAITING_DOCUMENTS,
            created_at=moment,
            updated_at=moment,
            due_on=(clock.today_kz() + timedelta(days=15)).isoformat(),
            phone_confirmed=phone_confirmed,
            documents=new_slots(request_id),
        ).save()
        return request_id

    def request(self, request_id: str) -> Any:
        from chalicelib.services.appeals.common import load

        return load(request_id)

    def document(self, request_id: str, doc: str) -> dict[str, Any]:
        return self.request(request_id).documents.as_dict()[doc]

    def upload_key(self, request_id: str, doc: str) -> str:
        """The slot's current key: where its issued form puts the file."""
        return str(self.document(request_id, doc)["upload_key"])

    def put(self, request_id: str, doc: str, data: bytes, content_type: str = "image/jpeg") -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=self.upload_key(request_id, doc),
            Body=data,
            ContentType=content_type,
            ServerSideEncryption="aws:kms",
        )

    def stored(self, request_id: str, doc: str) -> dict[str, Any]:
        """The checked copy the worker wrote (what staff links point at)."""
        return self.s3.get_object(Bucket=self.bucket, Key=self.document(request_id, doc)["key"])

    def keys(self, request_id: str) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=f"requests/{request_id}/")
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def drain(self) -> list[str]:
        """Receive and delete every notification waiting on the uploads queue."""
        bodies: list[str] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                return bodies
            for message in batch:
                bodies.append(message["Body"])
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def invoke(self, body: str) -> None:
        client = self.api.client
        event = client.events.generate_sqs_event(message_bodies=[body], queue_name=UPLOADS_QUEUE)
        client.lambda_.invoke("uploads_worker", event)

    def run_worker(self) -> list[str]:
        """Feed every queued notification to the worker, one message per invocation."""
        bodies = self.drain()
        for body in bodies:
            self.invoke(body)
        return bodies

    def upload(
        self, request_id: str, doc: str, data: bytes, content_type: str = "image/jpeg"
    ) -> list[str]:
        """PUT, then run the worker on what S3 notified; returns the notification bodies."""
        self.put(request_id, doc, data, content_type)
        bodies = self.run_worker()
        assert bodies, "the bucket sent no notification"
        return bodies


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> LogRecorder:
    from chalicelib.workers import uploads as worker

    recorder = LogRecorder()
    monkeypatch.setattr(worker, "logger", recorder)
    return recorder


@pytest.fixture
def uploads(api: Api) -> Uploads:
    return Uploads(api)


def test_jpeg_is_accepted_and_its_stored_copy_has_no_gps(uploads: Uploads) -> None:
    request_id = uploads.new_request()

    uploads.upload(request_id, "id_front", jpeg_with_gps())

    document = uploads.document(request_id, "id_front")
    assert document["status"] == rules.DOC_ACCEPTED
    assert document["reason"] is None
    assert document["checked_at"]
    assert document["etag"] and document["stored_etag"] != document["etag"]
    # The checked copy sits beside the upload's key; the upload itself (with GPS) is gone.
    assert document["key"] == document["source_key"] + ".checked"
    assert document["upload_key"] == document["source_key"]
    assert uploads.keys(request_id) == [document["key"]]
    stored = uploads.stored(request_id, "id_front")
    data = stored["Body"].read()
    assert stored["ContentType"] == "image/jpeg"
    assert stored["ServerSideEncryption"] == "aws:kms"
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"PhoneCam" not in data
    assert uploads.request(request_id).status == rules.AWAITING_DOCUMENTS


def test_png_is_accepted(uploads: Uploads) -> None:
    request_id = uploads.new_request()

    uploads.upload(request_id, "id_back", photo("PNG", (500, 400)), "image/png")

    assert uploads.document(request_id, "id_back")["status"] == rules.DOC_ACCEPTED
    assert uploads.stored(request_id, "id_back")["ContentType"] == "image/png"


def test_text_renamed_jpg_is_rejected_with_a_russian_reason_and_an_sms(uploads: Uploads) -> None:
    request_id = uploads.new_request()

    uploads.upload(request_id, "selfie", "Это не фото.\n".encode() * 100)

    document = uploads.document(request_id, "selfie")
    assert document["status"] == rules.DOC_REJECTED
    assert "JPEG или PNG" in document["reason"]
    uploads.api.deliver()
    texts = [m["text"] for m in uploads.aws.outbox() if m["channel"] == "sms"]
    assert any("Селфи с удостоверением" in t and "заново" in t for t in texts)


def test_truncated_jpeg_is_rejected(uploads: Uploads) -> None:
    request_id = uploads.new_request()
    data = photo("JPEG", (800, 600), quality=95)

    uploads.upload(request_id, "id_front", data[: len(data) // 2])

    document = uploads.document(request_id, "id_front")
    assert document["status"] == rules.DOC_REJECTED
    assert "повреждён" in document["reason"]


def test_oversized_upload_is_rejected(uploads: Uploads, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.config import reset_settings

    data = photo("JPEG", (640, 480))
    monkeypatch.setenv("HAVA_UPLOAD_MAX_BYTES", str(len(data) - 1))
    reset_settings()
    request_id = uploads.new_request()

    uploads.upload(request_id, "id_front", data)

    document = uploads.document(request_id, "id_front")
    assert document["status"] == rules.DOC_REJECTED
    assert "слишком большой" in document["reason"]


def test_redelivery_of_the_same_notification_changes_nothing(uploads: Uploads) -> None:
    request_id = uploads.new_request()
    rejected_id = uploads.new_request()
    accepted = uploads.upload(request_id, "id_front", jpeg_with_gps())
    rejected = uploads.upload(rejected_id, "id_front", b"not an image at all")
    before = {rid: uploads.request(rid) for rid in (request_id, rejected_id)}
    stored_before = uploads.stored(request_id, "id_front")["ETag"]
    uploads.api.deliver()
    sent_before = len(uploads.aws.outbox())

    for body in accepted + rejected:
        uploads.invoke(body)

    for rid, old in before.items():
        now = uploads.request(rid)
        assert now.version == old.version
        assert now.documents.as_dict() == old.documents.as_dict()
    assert uploads.stored(request_id, "id_front")["ETag"] == stored_before
    assert uploads.drain() == []  # nothing rewritten, so nothing notified
    assert uploads.api.deliver() == 0  # no second rejection SMS
    assert len(uploads.aws.outbox()) == sent_before


def test_the_workers_own_rewrite_notification_is_skipped(uploads: Uploads) -> None:
    request_id = uploads.new_request()
    uploads.put(request_id, "selfie", jpeg_with_gps())
    (original,) = uploads.drain()
    uploads.invoke(original)
    version = uploads.request(request_id).version

    rewrite = uploads.drain()  # the notification of the worker's own PUT
    assert len(rewrite) == 1
    uploads.invoke(rewrite[0])

    assert uploads.request(request_id).version == version
    assert uploads.drain() == []  # not rewritten a second time


def test_upload_for_a_request_no_longer_awaiting_documents_is_deleted(
    uploads: Uploads, events: LogRecorder
) -> None:
    from chalicelib.storage.appeals import AppealModel

    request_id = uploads.new_request()
    key = uploads.upload_key(request_id, "id_front")
    request = uploads.request(request_id)
    request.update(actions=[AppealModel.status.set(rules.CANCELLED)])
    version = uploads.request(request_id).version

    uploads.upload(request_id, "id_front", photo())

    assert uploads.request(request_id).version == version
    assert uploads.document(request_id, "id_front")["status"] == rules.DOC_AWAITING
    assert uploads.keys(request_id) == []
    assert events.security() == [
        {
            "event": "upload_discarded",
            "why": "not_awaiting_documents",
            "request_id": request_id,
            "document": "id_front",
        }
    ]
    assert key not in repr(events.security())  # ids, not keys or data


def test_a_reposted_form_and_a_stale_form_create_nothing(
    uploads: Uploads, events: LogRecorder
) -> None:
    from chalicelib.services.appeals.phone_change import renew_forms

    request_id = uploads.new_request()
    first_key = uploads.upload_key(request_id, "selfie")
    uploads.upload(request_id, "selfie", photo())
    accepted = uploads.document(request_id, "selfie")
    assert accepted["status"] == rules.DOC_ACCEPTED

    # The same form posted again: a second object at a key already decided on.
    uploads.s3.put_object(Bucket=uploads.bucket, Key=first_key, Body=photo("PNG"))
    uploads.run_worker()
    assert uploads.document(request_id, "selfie") == accepted
    assert uploads.keys(request_id) == [accepted["key"]]
    assert events.security()[-1]["why"] == "form_reused"

    # New forms: the used slot gets a new key, an unused slot keeps its own.
    front_key = uploads.upload_key(request_id, "id_front")
    forms = renew_forms(uploads.request(request_id))
    assert forms["selfie"]["key"] != first_key
    assert uploads.upload_key(request_id, "selfie") == forms["selfie"]["key"]
    assert forms["id_front"]["key"] == front_key
    # The old form cannot be used any more.
    uploads.s3.put_object(Bucket=uploads.bucket, Key=first_key, Body=photo(size=(700, 500)))
    uploads.run_worker()
    assert uploads.document(request_id, "selfie")["key"] == accepted["key"]
    assert uploads.keys(request_id) == [accepted["key"]]
    assert events.security()[-1]["why"] == "stale_form"


def test_unexpected_keys_and_test_events_are_handled(uploads: Uploads, events: LogRecorder) -> None:
    uploads.s3.put_object(Bucket=uploads.bucket, Key="requests/whatever/passport", Body=b"x")
    uploads.s3.put_object(
        Bucket=uploads.bucket, Key=f"requests/req_none/selfie/{'0' * 32}", Body=b"x"
    )

    assert uploads.run_worker()  # handled without raising
    uploads.invoke('{"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}')
    uploads.invoke("not json")

    assert uploads.drain() == []
    listed = uploads.s3.list_objects_v2(Bucket=uploads.bucket, Prefix="requests/")
    assert listed.get("KeyCount", 0) == 0
    assert [e["why"] for e in events.security()] == ["unexpected_key", "unknown_request"]


def test_a_rewrite_whose_verdict_was_lost_is_recorded_from_its_signed_marker(
    uploads: Uploads, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.errors import ServiceUnavailable
    from chalicelib.services.appeals import phone_change

    request_id = uploads.new_request()
    uploads.put(request_id, "id_front", jpeg_with_gps())
    (original,) = uploads.drain()

    def crash(*_: Any) -> None:
        raise ServiceUnavailable()

    # GIVEN the clean copy was written but the verdict was not (DynamoDB failed)
    with monkeypatch.context() as patch:
        patch.setattr(phone_change, "record_verdict", crash)
        with pytest.raises(ServiceUnavailable):
            uploads.invoke(original)
    assert uploads.document(request_id, "id_front")["status"] == rules.DOC_AWAITING

    # WHEN the notification of the worker's own copy arrives
    uploads.run_worker()

    # THEN the verdict is recorded without checking (or rewriting) the copy again
    document = uploads.document(request_id, "id_front")
    assert document["status"] == rules.DOC_ACCEPTED
    assert document["stored_etag"] == uploads.stored(request_id, "id_front")["ETag"].strip('"')
    assert uploads.drain() == []
    # AND the redelivered original notification is recognised as superseded
    version = uploads.request(request_id).version
    uploads.invoke(original)
    assert uploads.request(request_id).version == version


def test_a_forged_checked_copy_is_deleted(uploads: Uploads, events: LogRecorder) -> None:
    from chalicelib.services.documents import checked_key
    from chalicelib.workers.uploads import MARK_SIGNATURE, MARK_SOURCE

    request_id = uploads.new_request()
    key = checked_key(uploads.upload_key(request_id, "selfie"))
    uploads.s3.put_object(
        Bucket=uploads.bucket,
        Key=key,
        Body=b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        ContentType="image/svg+xml",
        Metadata={MARK_SOURCE: "abc", MARK_SIGNATURE: "0" * 64},
    )

    uploads.run_worker()

    assert uploads.document(request_id, "selfie")["status"] == rules.DOC_AWAITING
    assert uploads.keys(request_id) == []
    assert events.security()[-1]["why"] == "forged_checked_copy"


def test_three_accepted_documents_and_a_confirmed_number_go_to_review(uploads: Uploads) -> None:
    from chalicelib.config import get_settings

    request_id = uploads.new_request(phone_confirmed=True)

    uploads.upload(request_id, "id_front", jpeg_with_gps())
    uploads.upload(request_id, "id_back", photo("PNG", (500, 400)), "image/png")
    assert uploads.request(request_id).status == rules.AWAITING_DOCUMENTS
    uploads.upload(request_id, "selfie", photo("JPEG", (480, 640)))

    request = uploads.request(request_id)
    assert request.status == rules.IN_REVIEW
    assert request.queue == "phone_change#in_review"
    face_match = request.face_match.as_dict()
    assert face_match["status"] == "not_checked"
    assert face_match["score"] is None
    assert face_match["provider"] == "none"
    assert get_settings().face_match_provider == "none"

    uploads.api.deliver()
    registered_phone = uploads.api.aws.outbox()[0]["to"]  # the registration code went there
    texts = uploads.api.sms_to(registered_phone)
    due = long_date(date.fromisoformat(request.due_on), "ru")  # «23 декабря 2026 г.»
    assert any("передана на рассмотрение" in t and t.endswith(f"до {due}") for t in texts), texts


def test_a_failing_face_match_provider_does_not_block_review(
    uploads: Uploads, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.adapters import facematch

    class Broken:
        name = "broken"

        def check(self, request_id: str, selfie_key: str, id_front_key: str) -> Any:
            raise TimeoutError("provider down")

    monkeypatch.setattr(facematch, "provider", Broken)
    request_id = uploads.new_request(phone_confirmed=True)

    for doc in rules.DOCUMENTS:
        uploads.upload(request_id, doc, photo())

    request = uploads.request(request_id)
    assert request.status == rules.IN_REVIEW
    assert request.face_match.as_dict()["status"] == "error"
    assert "TimeoutError" in request.face_match.as_dict()["detail"]
