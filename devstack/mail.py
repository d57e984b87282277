"""The local stack's SES receiving: an SMTP server on loopback (aiosmtpd).

It accepts mail only for the configured phone-change and security addresses,
stores the raw message in the local documents bucket under ``inbound/`` (as the
receipt rule's S3 action does) and sends ``hava-inbound`` the very notification
SES would (``notificationType: Received``, ``mail``, ``receipt`` with verdicts and
the S3 action), so the app's ``inbound_worker`` runs unchanged.

Settings (environment):

- ``HAVA_LOCAL_SMTP_PORT`` the port (default 2525; 0 picks a free one);
- ``HAVA_LOCAL_MAIL_VERDICTS`` ``pass`` (default) or ``fail``: SPF, DKIM and
  DMARC verdicts of every received message (tests of untrusted mail).

Dev only: aiosmtpd is in requirements-dev.txt, never in the Lambda package.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from typing import Any

DEFAULT_SMTP_PORT = 2525
INBOUND_QUEUE = "hava-inbound"
INBOUND_PREFIX = "inbound/"


def ses_notification(
    raw: bytes,
    *,
    recipients: list[str],
    source: str,
    bucket: str,
    key: str,
    message_id: str,
    verdict: str = "PASS",
) -> dict[str, Any]:
    """What SES publishes for a received message with an S3 action (documented shape)."""
    message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    headers = [{"name": name, "value": str(value)} for name, value in message.items()]
    timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    status = {"status": verdict}
    return {
        "notificationType": "Received",
        "mail": {
            "timestamp": timestamp,
            "source": source,
            "messageId": message_id,
            "destination": recipients,
            "headersTruncated": False,
            "headers": headers,
            "commonHeaders": {
                "returnPath": source,
                "from": [str(message.get("From", ""))],
                "to": [str(message.get("To", ""))],
                "messageId": str(message.get("Message-ID", "")),
                "subject": str(message.get("Subject", "")),
            },
        },
        "receipt": {
            "timestamp": timestamp,
            "processingTimeMillis": 1,
            "recipients": recipients,
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"},
            "spfVerdict": status,
            "dkimVerdict": status,
            "dmarcVerdict": status,
            "action": {
                "type": "S3",
                "topicArn": "arn:aws:sns:local:000000000000:hava-inbound-mail",
                "bucketName": bucket,
                "objectKeyPrefix": INBOUND_PREFIX,
                "objectKey": key,
            },
        },
    }


def receive(
    s3: Any,
    sqs: Any,
    raw: bytes,
    *,
    recipients: list[str],
    source: str,
    bucket: str,
    verdict: str = "PASS",
    message_id: str | None = None,
) -> str:
    """Store ``raw`` and notify the inbound queue, as SES does; returns the SES message id."""
    message_id = message_id or secrets.token_hex(20)
    key = f"{INBOUND_PREFIX}{message_id}"
    s3.put_object(Bucket=bucket, Key=key, Body=raw)
    notification = ses_notification(
        raw,
        recipients=recipients,
        source=source,
        bucket=bucket,
        key=key,
        message_id=message_id,
        verdict=verdict,
    )
    url = sqs.get_queue_url(QueueName=INBOUND_QUEUE)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(notification))
    return message_id


class _Handler:
    """aiosmtpd handler: RCPT only for our addresses, DATA → ``receive``."""

    def __init__(self, addresses: set[str], deliver: Any) -> None:
        self._addresses = addresses
        self._deliver = deliver

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address.lower() not in self._addresses:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address.lower())
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        self._deliver(raw, list(envelope.rcpt_tos), envelope.mail_from or "")
        return "250 Message accepted for delivery"


class MailReceiver:
    """The SMTP server thread (aiosmtpd's ``Controller``)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        addresses: set[str],
        endpoint: str,
        region: str,
        bucket: str,
        verdict: str,
    ) -> None:
        import socket

        import boto3
        from aiosmtpd.controller import Controller

        session = boto3.session.Session()
        s3 = session.client("s3", endpoint_url=endpoint, region_name=region)
        sqs = session.client("sqs", endpoint_url=endpoint, region_name=region)

        def deliver(raw: bytes, recipients: list[str], source: str) -> None:
            receive(
                s3, sqs, raw, recipients=recipients, source=source, bucket=bucket, verdict=verdict
            )

        if port == 0:
            with socket.socket() as probe:
                probe.bind((host, 0))
                port = int(probe.getsockname()[1])
        self.port = port
        self.host = host
        self._controller = Controller(
            _Handler({a.lower() for a in addresses}, deliver),
            hostname=host,
            port=port,
            data_size_limit=26 * 1024 * 1024,
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
