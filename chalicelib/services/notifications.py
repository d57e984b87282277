"""Queue SMS and e-mail for the delivery worker.

The route only enqueues; ``workers.notify`` delivers. The message body holds
no readable personal data: recipient and text are sealed under the KMS key,
so neither the queue, its DLQ nor a log line ever shows a phone or a code.
"""

from __future__ import annotations

import json
import secrets
from functools import lru_cache

from chalicelib.adapters import crypto
from chalicelib.adapters.aws import client
from chalicelib.config import NOTIFY_QUEUE
from chalicelib.i18n import Msg, localise

#: Encryption context of queued messages (constant, so data keys are cached).
NOTIFY_CONTEXT = {"purpose": "notify"}


@lru_cache(maxsize=1)
def _queue_url() -> str:
    url: str = client("sqs").get_queue_url(QueueName=NOTIFY_QUEUE)["QueueUrl"]
    return url


def enqueue(
    channel: str,
    to: str,
    text: str,
    subject: str | None = None,
    *,
    kind: str = "notice",
    headers: dict[str, str] | None = None,
    language: str = "ru",
) -> str:
    """Queue one message; returns its delivery id (the idempotency key of the worker).

    ``kind`` (``registration_code``, ``recovery_code``, ``phone_change_code``,
    ``notice``) travels unsealed: it is the SmsSent metric's dimension, no personal data.
    ``headers``: extra e-mail headers (replies to inbound mail: ``In-Reply-To``,
    ``References``, ``Auto-Submitted``), sealed with the rest.
    ``language``: the recipient account's (``AccountModel.language``); ``text`` and
    ``subject`` (Russian msgids or ``i18n.Msg`` templates) are rendered in it here.
    """
    if language != "ru" or isinstance(text, Msg) or isinstance(subject, Msg):
        text, subject = localise(text, language), localise(subject, language)
    delivery_id = secrets.token_hex(16)
    document: dict[str, object] = {"channel": channel, "to": to, "text": text, "subject": subject}
    if headers:
        document["headers"] = dict(headers)
    sealed = crypto.seal(document, NOTIFY_CONTEXT)
    body = json.dumps({"delivery_id": delivery_id, "sealed": sealed, "kind": kind})
    client("sqs").send_message(QueueUrl=_queue_url(), MessageBody=body)
    return delivery_id


def reset_queue_cache() -> None:
    """Forget the queue URL (tests)."""
    _queue_url.cache_clear()
