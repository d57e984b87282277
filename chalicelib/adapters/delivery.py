"""Where SMS and e-mail finally go: SNS/SES in AWS, or the local outbox file."""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Protocol

from chalicelib import clock
from chalicelib.adapters import aws
from chalicelib.config import Settings, get_settings


class Sender(Protocol):
    """Delivers one message to one recipient."""

    def send(
        self,
        channel: str,
        to: str,
        text: str,
        subject: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None: ...


class AwsSender:
    """SMS through SNS (transactional), e-mail through SES."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def send(
        self,
        channel: str,
        to: str,
        text: str,
        subject: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:

        if channel == "sms":
            aws.client("sns").publish(
                PhoneNumber=to,
                Message=text,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                    "AWS.SNS.SMS.SenderID": {
                        "DataType": "String",
                        "StringValue": self._settings.sms_sender_id,
                    },
                },
            )
        elif channel == "email" and headers:
            # SendEmail cannot set headers: a reply that threads needs the raw form.
            # lazy: email.message (27 stdlib modules) ≈ 25 ms CPU at cold start;
            # only send() needs it
            from email.message import EmailMessage

            message = EmailMessage()
            message["From"] = self._settings.email_sender
            message["To"] = to
            message["Subject"] = subject or "Hava"
            for name, value in headers.items():
                message[name] = value
            message.set_content(text)
            aws.client("ses").send_raw_email(
                Source=self._settings.email_sender,
                Destinations=[to],
                RawMessage={"Data": message.as_bytes()},
            )
        elif channel == "email":
            aws.client("ses").send_email(
                Source=self._settings.email_sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": subject or "Hava", "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
                },
            )
        else:
            raise ValueError(f"unknown channel {channel!r}")


class OutboxSender:
    """The local stack's delivery: one JSON line per message, also printed to the console."""

    _lock = threading.Lock()

    def __init__(self, path: str) -> None:
        self._path = path

    def send(
        self,
        channel: str,
        to: str,
        text: str,
        subject: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        line: dict[str, object] = {
            "channel": channel,
            "to": to,
            "text": text,
            "at": clock.iso(clock.now()),
        }
        if subject:
            line["subject"] = subject
        if headers:
            line["headers"] = dict(headers)
        encoded = json.dumps(line, ensure_ascii=False)
        with self._lock:
            directory = os.path.dirname(self._path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            with open(self._path, "a", encoding="utf-8") as fh:
                fh.write(encoded + "\n")
        print(f"[outbox] {encoded}", file=sys.stdout, flush=True)


def sender() -> Sender:
    """The sender the configuration asks for."""
    settings = get_settings()
    if settings.notify_backend == "outbox":
        return OutboxSender(settings.outbox_path)
    return AwsSender(settings)
