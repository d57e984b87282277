"""Time, in one place (tests move it)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone

#: Kazakhstan has one time zone, UTC+5, since 1 March 2024; dates a borrower
#: sees (age, due dates) are counted in it.
KZ_TZ = timezone(timedelta(hours=5), "Asia/Almaty")


def now() -> datetime:
    """The current aware UTC time."""
    return datetime.now(UTC)


def epoch() -> int:
    """Seconds since the epoch."""
    return int(time.time())


def today_kz() -> date:
    """Today's date in Kazakhstan."""
    return now().astimezone(KZ_TZ).date()


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with seconds, e.g. ``2026-11-26T01:02:03Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
