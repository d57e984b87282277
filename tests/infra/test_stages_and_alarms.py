"""Issue 10: per-stage settings, queue timeouts, alarms and the maintenance switch.

Everything is read from the two files that define a deployment,
infra/resources.yaml and .chalice/config.json, plus the app's own event sources.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "resources.yaml"
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
CHALICE_DEFAULT_TIMEOUT = 60
REAL = {
    "HAVA_DOCUMENTS_BUCKET": "hava-documents-123456789012-eu-central-1",
    "HAVA_EMAIL_SENDER": "no-reply@hava.kz",
    "HAVA_CABINET_ORIGIN": "https://cabinet.hava.kz",
    "HAVA_SMS_SENDER_ID": "Hava",
}


def template() -> dict[str, Any]:
    loaded, matches = decode_str(TEMPLATE.read_text(encoding="utf-8"))
    assert not matches, matches
    return loaded


def resources(type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template()["Resources"].items() if v["Type"] == type_}


def function_timeout(stage: str, function: str) -> int:
    """Chalice's lookup order: stage's function, stage, global function, global, default."""
    stage_config = CONFIG["stages"][stage]
    for scope in (
        stage_config.get("lambda_functions", {}).get(function, {}),
        stage_config,
        CONFIG.get("lambda_functions", {}).get(function, {}),
        CONFIG,
    ):
        if "lambda_timeout" in scope:
            return int(scope["lambda_timeout"])
    return CHALICE_DEFAULT_TIMEOUT


def sqs_consumers() -> dict[str, str]:
    """Queue name → the name of the Lambda function that consumes it (from app.py)."""
    from chalice.app import SQSEventConfig

    from app import app

    return {s.queue: s.name for s in app.event_sources if isinstance(s, SQSEventConfig)}


# --- queues --------------------------------------------------------------------------


@pytest.mark.parametrize("stage", sorted(CONFIG["stages"]))
def test_every_queue_visibility_is_six_times_its_consumers_timeout(stage: str) -> None:
    queues = {
        q["Properties"]["QueueName"]: q["Properties"] for q in resources("AWS::SQS::Queue").values()
    }
    consumers = sqs_consumers()
    assert consumers, "app.py consumes no queue?"
    for queue, function in consumers.items():
        assert queue in queues, f"{queue} (consumed by {function}) is not in the template"
        visibility = queues[queue]["VisibilityTimeout"]
        timeout = function_timeout(stage, function)
        assert visibility >= 6 * timeout, f"{stage}: {queue} {visibility} s < 6 × {timeout} s"


# --- per-stage settings --------------------------------------------------------------


@pytest.mark.parametrize("stage", sorted(CONFIG["stages"]))
def test_every_stage_names_its_own_settings(stage: str) -> None:
    env = CONFIG["stages"][stage]["environment_variables"]
    for name in (*REAL, "HAVA_MAINTENANCE_PARAMETER", "HAVA_STAGE"):
        assert env.get(name), f"{stage}: {name} missing"
    # The switch lives in SSM: an env value would override it and need a redeploy.
    assert "HAVA_MAINTENANCE" not in env
    assert env["HAVA_STAGE"] == stage


def test_stage_check_names_each_placeholder_and_passes_real_values() -> None:
    from chalicelib.config import placeholder_problems

    shipped = {**CONFIG["stages"]["prod"]["environment_variables"]}
    named = " ".join(placeholder_problems(shipped))
    for placeholder in ("ACCOUNT_ID", "no-reply@hava.example", "cabinet.hava.example"):
        if placeholder in json.dumps(shipped):
            assert placeholder in named
    assert placeholder_problems(REAL) == []
    assert placeholder_problems({**REAL, "HAVA_CABINET_ORIGIN": "http://cabinet.hava.kz"})
    assert placeholder_problems({**REAL, "HAVA_SMS_SENDER_ID": "Hava Finance KZ"})


def test_stage_check_prints_the_template_parameters(tmp_path: Path) -> None:
    from devstack.stage_check import main, stage_environment

    env = stage_environment("dev")
    assert env["POWERTOOLS_SERVICE_NAME"] == "hava-cabinet"  # global + stage merged
    assert main(["dev", "--get", "HAVA_STAGE"]) == 0


# --- alarms --------------------------------------------------------------------------


def alarms() -> list[dict[str, Any]]:
    found = resources("AWS::CloudWatch::Alarm")
    for logical_id, alarm in found.items():
        assert alarm.get("Condition") == "IsDeployed", logical_id
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id
    return [a["Properties"] for a in found.values()]


def _dimension(alarm: dict[str, Any]) -> Any:
    dims = alarm.get("Dimensions") or []
    return dims[0]["Value"] if dims else None


def test_every_dead_letter_queue_alarms_on_its_first_message() -> None:
    dlqs = [lid for lid, q in resources("AWS::SQS::Queue").items()
            if q["Properties"]["QueueName"].endswith("-dlq")]  # fmt: skip
    watched = {
        _dimension(a)["Fn::GetAtt"][0]
        for a in alarms()
        if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and a["Threshold"] == 0
        and a["ComparisonOperator"] == "GreaterThanThreshold"
    }
    assert dlqs and set(dlqs) <= watched


def test_every_consumed_queue_alarms_on_the_age_of_its_oldest_message() -> None:
    by_name = {q["Properties"]["QueueName"]: lid for lid, q in resources("AWS::SQS::Queue").items()}
    watched = {
        _dimension(a)["Fn::GetAtt"][0]
        for a in alarms()
        if a.get("MetricName") == "ApproximateAgeOfOldestMessage"
    }
    for queue in sqs_consumers():
        assert by_name[queue] in watched, queue


def test_every_function_alarms_on_errors_and_throttles() -> None:
    from app import app

    names = (
        {""}
        | {f"-{s.name}" for s in app.event_sources}
        | {f"-{f.name}" for f in app.pure_lambda_functions}
    )
    for metric in ("Errors", "Throttles"):
        watched = {
            _dimension(a)["Fn::Sub"].removeprefix("hava-cabinet-${Stage}")
            for a in alarms()
            if a.get("MetricName") == metric and a.get("Namespace") == "AWS/Lambda"
        }
        assert names <= watched, (metric, names - watched)


def test_api_5xx_rate_and_sms_spend_alarms_exist() -> None:
    expressions = [m.get("Expression") for a in alarms() for m in a.get("Metrics", [])]
    metrics = {
        m["MetricStat"]["Metric"]["MetricName"]
        for a in alarms()
        for m in a.get("Metrics", [])
        if "MetricStat" in m
    }
    assert {"5XXError", "Count", "SMSMonthToDateSpentUSD"} <= metrics
    assert any(isinstance(e, str) and "errors / requests" in e for e in expressions)


def test_the_alarm_topic_takes_a_subscriber_address() -> None:
    subscription = resources("AWS::SNS::Subscription")["AlarmEmailSubscription"]
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert subscription["Condition"] == "HasAlarmEmail"
