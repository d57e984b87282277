"""Issue 10 over the API: placeholders refused on a deployed stage; the SSM maintenance switch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Aws
from tests.helpers import Api

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
REAL = {
    "HAVA_DOCUMENTS_BUCKET": "hava-documents-123456789012-eu-central-1",
    "HAVA_EMAIL_SENDER": "no-reply@hava.kz",
    "HAVA_CABINET_ORIGIN": "https://cabinet.hava.kz",
    "HAVA_SMS_SENDER_ID": "Hava",
}
PARAMETER = "/hava/maintenance"


def test_a_deployed_stage_with_placeholders_answers_503_and_says_why(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from chalicelib.config import reset_settings

    monkeypatch.setenv("HAVA_STAGE", "dev")
    for name, value in CONFIG["stages"]["dev"]["environment_variables"].items():
        if name in REAL:
            monkeypatch.setenv(name, value)
    reset_settings()
    reply = api.get("/v1/product")
    assert reply.status == 503
    assert reply.error["code"] == "misconfigured"
    assert "ACCOUNT_ID" not in json.dumps(reply.body)  # operators' detail stays in the log
    assert any("HAVA_DOCUMENTS_BUCKET" in r.getMessage() for r in caplog.records)
    assert api.get("/health").status == 200  # liveness and imports are unaffected

    for name, value in REAL.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    assert api.get("/v1/product").status == 200


# --- maintenance switch ----------------------------------------------------------------


def _switch(aws: Aws, value: str) -> None:
    aws.client("ssm").put_parameter(Name=PARAMETER, Value=value, Type="String", Overwrite=True)


@pytest.fixture
def switched(api: Api, aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Api:
    from chalicelib.config import reset_settings

    monkeypatch.setenv("HAVA_MAINTENANCE_PARAMETER", PARAMETER)
    reset_settings()
    return api


def test_the_stack_creates_the_switch_off(switched: Api, aws: Aws) -> None:
    value = aws.client("ssm").get_parameter(Name=PARAMETER)["Parameter"]["Value"]
    assert value == "off"
    assert aws.outputs["MaintenanceParameterName"] == PARAMETER
    assert switched.get("/v1/product").status == 200


def test_flipping_the_parameter_closes_and_reopens_within_the_cache_time(
    switched: Api, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import maintenance

    now = [1000.0]
    monkeypatch.setattr(maintenance.time, "monotonic", lambda: now[0])
    assert switched.get("/v1/product").status == 200

    _switch(aws, "on")
    assert switched.get("/v1/product").status == 200  # cached (≤ 60 s)
    now[0] += 61
    reply = switched.get("/v1/product")
    assert reply.status == 503
    assert reply.error["code"] == "maintenance"
    assert reply.headers["Retry-After"] == "1800"
    assert switched.get("/health").status == 200  # always on

    _switch(aws, "off")
    now[0] += 61
    assert switched.get("/v1/product").status == 200


def test_the_cache_never_exceeds_sixty_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.config import get_settings, reset_settings

    monkeypatch.setenv("HAVA_MAINTENANCE_CACHE_SECONDS", "3600")
    reset_settings()
    assert get_settings().maintenance_cache_seconds == 60


def test_one_ssm_read_per_cache_period(
    switched: Api, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import maintenance
    from chalicelib.adapters import aws as adapters

    calls = []

    original = adapters.client

    def counting(service: str) -> object:
        calls.append(service)
        return original(service)

    monkeypatch.setattr(adapters, "client", counting)
    for _ in range(5):
        maintenance.is_on()
    assert calls.count("ssm") == 1


def test_the_environment_override_wins_over_ssm(
    switched: Api, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.config import reset_settings

    _switch(aws, "on")
    monkeypatch.setenv("HAVA_MAINTENANCE", "false")
    reset_settings()
    assert switched.get("/v1/product").status == 200


def test_an_unreadable_switch_keeps_the_cabinet_open(
    switched: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.config import reset_settings

    monkeypatch.setenv("HAVA_MAINTENANCE_PARAMETER", "/hava/no-such-parameter")
    reset_settings()
    assert switched.get("/v1/product").status == 200
