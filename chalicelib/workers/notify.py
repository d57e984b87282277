"""SQS consumer of ``hava-notify``: delivers each queued SMS or e-mail exactly once.

Redelivery (a Lambda retry, a visibility timeout, a duplicate from SQS) must not
send a second SMS: each delivery id is claimed through Powertools' idempotency
utility on ``hava-idempotency`` before sending. A message that cannot be read
raises, is retried and ends in ``hava-notify-dlq`` after the receive count.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from chalicelib import metrics
from chalicelib.adapters import aws, crypto
from chalicelib.adapters.delivery import sender
from chalicelib.logs import logger
from chalicelib.services.notifications import NOTIFY_CONTEXT
from chalicelib.storage.base import table_name

IDEMPOTENCY_TTL_SECONDS = 24 * 3600


class PoisonMessage(ValueError):
    """The message cannot be understood; retries will not help (ends in the DLQ)."""


@lru_cache(maxsize=1)
def _deliver_once() -> tuple[Any, Any]:
    """``(deliver, config)``: the idempotent delivery function and its configuration."""
    # lazy: boto3 + botocore + powertools ≈ 410 ms CPU at cold start; only _deliver_once() needs it
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    persistence = DynamoDBPersistenceLayer(
        table_name=table_name("idempotency"), boto3_client=aws.client("dynamodb")
    )
    config = IdempotencyConfig(
        event_key_jmespath="delivery_id",
        expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        raise_on_no_idempotency_key=True,
    )

    @idempotent_function(
        data_keyword_argument="message", config=config, persistence_store=persistence
    )
    def deliver(message: dict[str, Any]) -> dict[str, str]:
        payload = crypto.unseal(message["sealed"], NOTIFY_CONTEXT)
        extra = {"headers": payload["headers"]} if payload.get("headers") else {}
        sender().send(
            payload["channel"], payload["to"], payload["text"], payload.get("subject"), **extra
        )
        if payload["channel"] == "sms":  # once per delivery: this function is idempotent
            metrics.count("SmsSent", Kind=str(message.get("kind") or "notice"))
        return {"delivered": message["delivery_id"]}

    return deliver, config


def parse(body: str) -> dict[str, Any]:
    """The queued message, or ``PoisonMessage``."""
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise PoisonMessage("body is not JSON") from exc
    if not isinstance(message, dict) or not all(
        isinstance(message.get(k), str) and message.get(k) for k in ("delivery_id", "sealed")
    ):
        raise PoisonMessage("body lacks delivery_id/sealed")
    return message


def handle_record(body: str, message_id: str, context: Any = None) -> None:
    """Deliver one queued message (idempotent)."""
    message = parse(body)
    deliver, config = _deliver_once()
    if context is not None:
        # Lets Powertools expire an in-progress claim when the Lambda times out.
        config.register_lambda_context(context)
    deliver(message=message)
    logger.info("delivered", extra={"delivery_id": message["delivery_id"], "sqs_id": message_id})


def handle_batch(event: Any) -> None:
    """Chalice ``SQSEvent`` → one delivery per record (batch_size is 1)."""
    for record in event:
        message_id = record.to_dict().get("messageId", "")
        try:
            handle_record(record.body, message_id, event.context)
        except Exception as exc:
            logger.error(
                "delivery failed", extra={"sqs_id": message_id, "error": type(exc).__name__}
            )
            raise


def reset_worker() -> None:
    """Forget the idempotency wiring (tests)."""
    _deliver_once.cache_clear()
