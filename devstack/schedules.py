"""The app's ``@app.schedule`` handlers, locally: on their schedule, or at once.

``make run`` starts one thread per scheduled handler the app registered
(discovered from ``app.event_sources``, so a new ``@app.schedule`` needs no
change here); each waits for its next time by the handler's own expression
(``rate(…)`` or AWS's six-field ``cron(…)``, UTC) and invokes it with an
EventBridge "Scheduled Event", one invocation at a time with the SQS workers.

``python -m devstack.schedules NAME`` (``make schedule NAME=expire_appeals``)
invokes one handler now against the running local stack (or the AWS the
environment points at), exactly as EventBridge would; ``--list`` names them.
"""

from __future__ import annotations

import argparse
import calendar
import json
import logging
import os
import re
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalice import Chalice

log = logging.getLogger("hava.local")

PROJECT_DIR = Path(__file__).resolve().parents[1]
#: EventBridge's dummy account in the events a local run delivers.
ACCOUNT_ID = "000000000000"
Invoke = Callable[[str, dict[str, Any]], object]
NextRun = Callable[[datetime], datetime]


class ScheduleError(ValueError):
    """An expression this runner cannot follow."""


@dataclass(frozen=True)
class ScheduleBinding:
    """One ``@app.schedule`` handler and its expression."""

    handler: str
    expression: str


def schedule_bindings(app: Chalice) -> list[ScheduleBinding]:
    """Every scheduled handler the app registered, with its expression as a string."""
    from chalice.app import ScheduledEventConfig

    bindings = []
    for source in app.event_sources:
        if isinstance(source, ScheduledEventConfig):
            expression = source.schedule_expression
            text = expression if isinstance(expression, str) else expression.to_string()
            bindings.append(ScheduleBinding(source.name, text))
    return bindings


# --- expressions --------------------------------------------------------------

_RATE = re.compile(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\((.+)\)")
_MONTHS = {name.upper(): n for n, name in enumerate(calendar.month_abbr) if name}
#: AWS cron days of week: 1-7 = SUN-SAT.
_WEEKDAYS = {name: n for n, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}


def next_run(expression: str) -> NextRun:
    """A function giving the first time after ``t`` the expression fires (UTC, whole minutes)."""
    rate = _RATE.fullmatch(expression.strip())
    if rate:
        value = int(rate[1])
        if value < 1:
            raise ScheduleError(f"{expression}: the rate must be at least 1")
        unit = rate[2].rstrip("s")
        step = timedelta(**{f"{unit}s": value})
        return lambda t: t + step
    cron = _CRON.fullmatch(expression.strip())
    if cron:
        return _cron(expression, cron[1].split())
    raise ScheduleError(f"{expression}: neither rate(...) nor cron(...)")


def _cron(expression: str, fields: list[str]) -> NextRun:
    if len(fields) != 6:
        raise ScheduleError(f"{expression}: cron needs six fields")
    minutes = _field(expression, fields[0], 0, 59)
    hours = _field(expression, fields[1], 0, 23)
    days = _field(expression, fields[2], 1, 31)
    months = _field(expression, fields[3], 1, 12, _MONTHS)
    weekdays = _field(expression, fields[4], 1, 7, _WEEKDAYS)
    years = _field(expression, fields[5], 1970, 2199)

    def day_ok(t: datetime) -> bool:
        aws_weekday = (t.isoweekday() % 7) + 1  # Monday=1 → 2, Sunday=7 → 1
        return (
            t.year in years
            and t.month in months
            and (days is None or t.day in days)
            and (weekdays is None or aws_weekday in weekdays)
        )

    def following(after: datetime) -> datetime:
        t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = t + timedelta(days=366 * 5)
        while t < limit:
            if not day_ok(t):
                t = (t + timedelta(days=1)).replace(hour=0, minute=0)
            elif t.hour not in hours:
                t = (t + timedelta(hours=1)).replace(minute=0)
            elif t.minute not in minutes:
                t += timedelta(minutes=1)
            else:
                return t
        raise ScheduleError(f"{expression}: never fires")

    return following


def _field(
    expression: str, raw: str, low: int, high: int, names: dict[str, int] | None = None
) -> Any:
    """The set of values of one cron field (None for ``?``: any day, decided by the other)."""
    if raw == "?":
        return None
    values: set[int] = set()
    for part in raw.upper().split(","):
        base, _, step_text = part.partition("/")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _value(expression, first, names), _value(expression, last, names)
        else:
            start = _value(expression, base, names)
            end = high if step_text else start
        step = int(step_text) if step_text.isdigit() else 1
        if step_text and not step_text.isdigit():
            raise ScheduleError(f"{expression}: bad step {part!r}")
        if not low <= start <= end <= high:
            raise ScheduleError(f"{expression}: {part!r} is out of {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


def _value(expression: str, text: str, names: dict[str, int] | None) -> int:
    if text.isdigit():
        return int(text)
    if names and text in names:
        return names[text]
    raise ScheduleError(f"{expression}: {text!r} is not supported locally (L, W, # are not)")


def scheduled_event(handler: str, region: str, moment: datetime) -> dict[str, Any]:
    """The event EventBridge delivers to a scheduled Lambda."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{handler}"],
        "detail": {},
    }


# --- the runner in `make run` -------------------------------------------------


class ScheduleRunner:
    """Invokes one scheduled handler at each of its times, in a thread, until stopped."""

    def __init__(
        self,
        binding: ScheduleBinding,
        invoke: Invoke,
        region: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.binding = binding
        self._next = next_run(binding.expression)
        self._invoke = invoke
        self._region = region
        self._clock = clock or (lambda: datetime.now(UTC))
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run_forever, name=f"schedule:{binding.handler}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run_forever(self) -> None:
        due = self._next(self._clock())
        while not self._stopping.is_set():
            wait = (due - self._clock()).total_seconds()
            if wait > 0:
                self._stopping.wait(min(wait, 60.0))
                continue
            self.fire(due)
            due = self._next(max(due, self._clock()))

    def fire(self, moment: datetime) -> bool:
        """Invoke the handler once; a failure is logged (class only) and the schedule goes on."""
        event = scheduled_event(self.binding.handler, self._region, moment)
        try:
            self._invoke(self.binding.handler, event)
        except Exception as exc:
            log.warning("%s failed: %s", self.binding.handler, type(exc).__name__)
            return False
        return True


def start_schedules(app: Chalice, invoke: Invoke, region: str) -> list[ScheduleRunner]:
    """One started runner per scheduled handler of the app."""
    runners = [ScheduleRunner(b, invoke, region) for b in schedule_bindings(app)]
    for runner in runners:
        runner.start()
    return runners


def stop_schedules(runners: list[ScheduleRunner]) -> None:
    for runner in runners:
        runner.stop()
    for runner in runners:
        runner.join(timeout=10)


# --- run one now ----------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Invoke one scheduled handler now (``make schedule NAME=…``); print what it returned."""
    parser = argparse.ArgumentParser(
        prog="python -m devstack.schedules",
        description="run one @app.schedule handler of hava-cabinet now",
    )
    parser.add_argument("name", nargs="?", help="the handler's name, e.g. expire_appeals")
    parser.add_argument("--list", action="store_true", help="name every scheduled handler")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    for noisy in ("botocore", "pynamodb", "aws_encryption_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from devstack.stack import chalice_config, load_app
    from devstack.staff_cli import use_local_stack_if_present

    use_local_stack_if_present()
    config = chalice_config(
        PROJECT_DIR, {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "HAVA_"))}
    )
    os.environ.update(config.environment_variables)
    app = load_app(PROJECT_DIR)
    bindings = {b.handler: b for b in schedule_bindings(app)}
    if args.list or not args.name:
        for binding in bindings.values():
            print(f"{binding.handler}\t{binding.expression}")
        return 0 if args.list else 2
    if args.name not in bindings:
        print(f"no scheduled handler {args.name!r}; have: {', '.join(bindings)}", file=sys.stderr)
        return 2
    from chalice.test import TestLambdaClient

    region = os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1"
    event = scheduled_event(args.name, region, datetime.now(UTC))
    payload = TestLambdaClient(app, config).invoke(args.name, event).payload
    print(json.dumps({"handler": args.name, "result": payload}, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
