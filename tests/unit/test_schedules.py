"""The local stack's schedule runner: discovery of @app.schedule handlers and their times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devstack.schedules import (
    ScheduleBinding,
    ScheduleError,
    ScheduleRunner,
    next_run,
    schedule_bindings,
    scheduled_event,
)

T0 = datetime(2026, 12, 1, 10, 17, 30, tzinfo=UTC)  # a Tuesday


def test_every_scheduled_handler_of_any_app_is_discovered() -> None:
    from chalice import Chalice, Cron, Rate

    app = Chalice(app_name="t")

    @app.schedule(Rate(1, unit=Rate.HOURS), name="hourly")
    def hourly(event: object) -> None: ...

    @app.schedule(Cron(0, 9, "?", "*", "MON-FRI", "*"), name="weekday_mornings")
    def mornings(event: object) -> None: ...

    @app.schedule("rate(5 minutes)")
    def unnamed(event: object) -> None: ...

    assert schedule_bindings(app) == [
        ScheduleBinding("hourly", "rate(1 hour)"),
        ScheduleBinding("weekday_mornings", "cron(0 9 ? * MON-FRI *)"),
        ScheduleBinding("unnamed", "rate(5 minutes)"),
    ]


def test_the_project_app_schedules_expire_appeals_hourly() -> None:
    from app import app

    assert ScheduleBinding("expire_appeals", "rate(1 hour)") in schedule_bindings(app)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(1 hour)", datetime(2026, 12, 1, 11, 17, 30, tzinfo=UTC)),
        ("rate(5 minutes)", datetime(2026, 12, 1, 10, 22, 30, tzinfo=UTC)),
        ("rate(2 days)", datetime(2026, 12, 3, 10, 17, 30, tzinfo=UTC)),
        ("cron(0 * * * ? *)", datetime(2026, 12, 1, 11, 0, tzinfo=UTC)),
        ("cron(*/15 * * * ? *)", datetime(2026, 12, 1, 10, 30, tzinfo=UTC)),
        ("cron(0 9 ? * MON-FRI *)", datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
        ("cron(30 2 1 * ? *)", datetime(2027, 1, 1, 2, 30, tzinfo=UTC)),
        ("cron(0 8 ? * 1 *)", datetime(2026, 12, 6, 8, 0, tzinfo=UTC)),  # 1 = Sunday
        ("cron(0 0 1 JAN ? 2027)", datetime(2027, 1, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_next_run_follows_rate_and_aws_cron(expression: str, expected: datetime) -> None:
    assert next_run(expression)(T0) == expected


@pytest.mark.parametrize(
    "expression", ["every hour", "rate(0 hours)", "cron(0 9 * *)", "cron(0 9 L * ? *)"]
)
def test_unsupported_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleError):
        next_run(expression)


def test_the_runner_invokes_with_a_scheduled_event_and_survives_a_failure() -> None:
    calls: list[tuple[str, dict[str, object]]] = []

    def invoke(name: str, event: dict[str, object]) -> object:
        calls.append((name, event))
        raise RuntimeError("boom")

    runner = ScheduleRunner(ScheduleBinding("job", "rate(1 hour)"), invoke, "eu-central-1")
    assert runner.fire(T0) is False
    ((name, event),) = calls
    assert name == "job"
    assert event == {**scheduled_event("job", "eu-central-1", T0), "id": event["id"]}
    assert event["detail-type"] == "Scheduled Event"
    assert event["time"] == "2026-12-01T10:17:30Z"
