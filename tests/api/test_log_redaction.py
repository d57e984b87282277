"""No personal data, secret or token in any log line while the main flows run (Law 94-V).

Everything written is captured three ways: stdout/stderr (``capsys``: the
Powertools JSON lines), a handler on the root logger at INFO (every library's
records, and ours as they propagate), and the handler's view of each record's
extras. SMS go through SNS (moto) here rather than the local outbox, whose
console echo *is* the SMS channel of the local stack, not a log.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import REGION
from tests.helpers import PASSWORD, Api, form

WRONG_PASSWORD = "совсем-не-тот-пароль-42"
NEW_PHONE = "+77001230077"
REPORTER_EMAIL = "reporter.someone@example.kz"
#: Attributes every LogRecord has; the rest are a call's extras.
STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class EverythingFormatter(logging.Formatter):
    """The message, the exception text and every extra of a record, as a handler sees them."""

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in vars(record).items() if k not in STANDARD}
        return f"{super().format(record)} {extras!r}"


@pytest.fixture
def root_capture() -> Iterator[io.StringIO]:
    from chalicelib.logs import _logger

    # Created first: Powertools hides its records from root handlers that exist
    # when it is set up (no duplicates in Lambda), and this one must see them.
    _logger()
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(EverythingFormatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def sns_sms(api: Api, monkeypatch: pytest.MonkeyPatch) -> Any:
    """SMS delivered through SNS on moto; returns a reader of the codes sent to a number."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    from chalicelib.config import reset_settings

    monkeypatch.setenv("HAVA_NOTIFY_BACKEND", "aws")
    reset_settings()

    def codes_to(phone: str) -> list[str]:
        api.deliver()
        sent = sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values()
        return [m.group(1) for to, text in sent if to == phone and (m := _CODE.search(text))]

    return codes_to


_CODE = re.compile(r"\b(\d{6})\b")


def _secrets(data: dict[str, Any]) -> list[str]:
    return [
        data["iin"],
        data["phone"],
        data["phone"][2:],
        data["email"],
        PASSWORD,
        WRONG_PASSWORD,
        NEW_PHONE,
        NEW_PHONE[2:],
        REPORTER_EMAIL,
        data["id_number"],
    ]


def _assert_clean(output: str, secrets: list[str]) -> None:
    for secret in secrets:
        # Codes are short: match them as whole numbers only.
        pattern = rf"(?<!\d){re.escape(secret)}(?!\d)" if secret.isdigit() else re.escape(secret)
        match = re.search(pattern, output, flags=re.IGNORECASE)
        assert match is None, f"{secret!r} leaked: …{output[max(0, match.start() - 200) :][:400]}…"


def test_main_flows_log_no_personal_data_codes_or_tokens(
    api: Api,
    sns_sms: Any,
    root_capture: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = form()
    secrets = _secrets(data)
    # Registration, confirmed with the SMS code.
    started = api.start(data)
    assert started.status == 202, started.body
    rid = started.body["registration_id"]
    (code,) = sns_sms(data["phone"])
    secrets.append(code)
    done = api.post(f"/v1/registrations/{rid}/confirm", {"code": code})
    assert done.status == 201, done.body
    secrets.append(done.body["token"])
    # Sign-in with each identifier (the first from a new device: a notice), a wrong password.
    digits = data["phone"][2:]
    for login in (data["iin"], data["email"], data["phone"], f"8 ({digits[:3]}) {digits[3:]}"):
        reply = api.login(login)
        assert reply.status == 201, reply.body
        secrets.append(reply.body["token"])
    assert api.login(data["email"], WRONG_PASSWORD).status == 401
    token = secrets[-1]
    # The cabinet, the session list, the export.
    for path in ("/v1/me", "/v1/me/loans", "/v1/me/sessions", "/v1/requests", "/v1/me/export"):
        assert api.get(path, token=token).status == 200
    # Phone change: the password again and a code to the new number.
    change = api.post(
        "/v1/phone-change-requests", {"password": PASSWORD, "new_phone": NEW_PHONE}, token=token
    )
    assert change.status == 201, change.body
    secrets.extend(sns_sms(NEW_PHONE))
    wrong = api.post(
        "/v1/phone-change-requests",
        {"password": WRONG_PASSWORD, "new_phone": NEW_PHONE},
        token=token,
    )
    assert wrong.status in {400, 409}
    # Deletion request, and an anonymous compromise report naming the borrower's login.
    assert api.post("/v1/deletion-requests", {"password": PASSWORD}, token=token).status == 201
    report = {
        "login": data["iin"],
        "contact": REPORTER_EMAIL,
        "description": f"Не могу войти, мой телефон {data['phone']}, почта {data['email']}",
    }
    assert api.post("/v1/compromise-reports", report).status == 202
    api.deliver()

    out, err = capsys.readouterr()
    logged = root_capture.getvalue()
    # The capture is not empty: our lines are there, as JSON on stdout.
    json_lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    # Powertools Metrics prints its EMF documents on stdout too (key "_aws"); they
    # are checked for personal data below with everything else.
    log_lines = [line for line in json_lines if "_aws" not in line]
    assert len(log_lines) < len(json_lines), "no metrics were emitted"
    assert {"signed in", "registration confirmed", "delivered"} <= {
        line.get("message") for line in log_lines
    }
    assert all({"level", "location", "message", "service"} <= set(line) for line in log_lines)
    assert "signed in" in logged
    _assert_clean(out + err + logged, secrets)


def test_exception_text_and_traceback_are_redacted(
    api: Api, root_capture: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.logs import logger

    data = form()
    secret_bits = {"email": data["email"], "phone": data["phone"]}
    try:
        raise ValueError(f"borrower {data['iin']} {data['phone']} {data['email']}")
    except ValueError:
        logger.exception("failed for %s", data["phone"][2:], extra=secret_bits)
    out, err = capsys.readouterr()
    logged = root_capture.getvalue()
    (line,) = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    # The structured line keeps its shape: the exception is there, masked.
    assert line["exception_name"] == "ValueError"
    assert "[iin]" in line["exception"] and "[email]" in line["exception"]
    assert "Traceback" in logged and "[phone]" in logged
    _assert_clean(out + err + logged, _secrets(data))
