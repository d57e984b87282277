"""Chalice entry point: wires blueprints and event handlers, nothing else."""

from chalice import Chalice, Cron, Rate

from chalicelib.api.account import account_api
from chalicelib.api.admin import admin_api
from chalicelib.api.appeals import appeals_api
from chalicelib.api.borrower import borrower_api
from chalicelib.api.meta import meta_api
from chalicelib.api.middleware import install_middleware
from chalicelib.api.privacy import privacy_api
from chalicelib.api.web import web_api
from chalicelib.config import INBOUND_QUEUE, NOTIFY_QUEUE, UPLOADS_QUEUE

# Powertools Logger writes the JSON logs; Chalice must not add a second handler.
app = Chalice(app_name="hava-cabinet", configure_logs=False)
install_middleware(app)
app.register_blueprint(meta_api)
app.register_blueprint(borrower_api)
app.register_blueprint(appeals_api)
app.register_blueprint(admin_api)
app.register_blueprint(privacy_api)
app.register_blueprint(account_api)
app.register_blueprint(web_api)


@app.on_sqs_message(queue=NOTIFY_QUEUE, batch_size=1, name="notify_worker")
def notify_worker(event: object) -> None:
    """Deliver SMS and e-mail messages queued by the routes."""
    # lazy: workers.notify loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only notify_worker() needs it
    from chalicelib.workers import notify  # imported on use: routes' cold start stays lean

    notify.handle_batch(event)


@app.on_sqs_message(queue=UPLOADS_QUEUE, batch_size=1, name="uploads_worker")
def uploads_worker(event: object) -> None:
    """Check uploaded ID photos and selfies (S3 → SQS notifications)."""
    # lazy: workers.uploads loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only uploads_worker() needs it
    from chalicelib.workers import uploads

    uploads.handle_batch(event)


# 00:00 Asia/Almaty (UTC+5) = 18:00 UTC: loans whose due date has passed become overdue.
@app.schedule(Cron(0, 18, "*", "*", "?", "*"), name="loans_overdue")
def loans_overdue(event: object) -> None:
    """Move loans past their due date to overdue (Queries on ``by_due``)."""
    # lazy: services.lending loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only loans_overdue() needs it
    from chalicelib.services import lending

    lending.mark_overdue()


@app.schedule(Rate(1, unit=Rate.HOURS), name="loans_reminders")
def loans_reminders(event: object) -> None:
    """Reminder SMS (3 and 1 days before, due date, first overdue day), 09:00–20:00 Almaty."""
    # lazy: services.lending loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only loans_reminders() needs it
    from chalicelib.services import lending

    lending.reminders_due()


@app.on_sqs_message(queue=INBOUND_QUEUE, batch_size=1, name="inbound_worker")
def inbound_worker(event: object) -> None:
    """Phone changes and break-in reports by e-mail (SES → S3 → SQS notifications)."""
    # lazy: workers.inbound loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only inbound_worker() needs it
    from chalicelib.workers import inbound

    inbound.handle_batch(event)


@app.schedule(Rate(1, unit=Rate.HOURS), name="expire_appeals")
def expire_appeals(event: object) -> dict[str, int]:
    """Cancel phone changes left unfinished past HAVA_PHONE_CHANGE_EXPIRY_DAYS (EventBridge)."""
    # lazy: services.appeals loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only expire_appeals() needs it
    from chalicelib.services.appeals import phone_change

    return phone_change.expire_abandoned()
