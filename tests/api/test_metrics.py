"""Business metrics reach stdout as CloudWatch EMF lines (namespace "Hava")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.test_appeals import repaid_borrower
from tests.helpers import PASSWORD, Api, form, make_staff, staff_login


def emf(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Every EMF document printed since the last call."""
    found = []
    for line in capsys.readouterr().out.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "_aws" in doc:
            found.append(doc)
    return found


def counted(docs: list[dict[str, Any]], name: str, **dimensions: str) -> int:
    total = 0
    for doc in docs:
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        names = [m["Name"] for m in directive["Metrics"]]
        if directive["Namespace"] != "Hava" or name not in names:
            continue
        if all(doc.get(k) == v for k, v in dimensions.items()):
            total += int(doc[name]) if not isinstance(doc[name], list) else sum(doc[name])
    return total


def test_registration_sms_and_sign_in_metrics(
    api: Api, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = form()
    api.register(data)
    api.deliver()
    docs = emf(capsys)
    assert counted(docs, "RegistrationStarted") == 1
    assert counted(docs, "RegistrationConfirmed") == 1
    assert counted(docs, "SmsSent", Kind="registration_code") == 1

    assert api.login(data["iin"]).status == 201
    assert api.login(data["iin"], "wrong password 123").status == 401
    docs = emf(capsys)
    assert counted(docs, "SignInOk") == 1
    assert counted(docs, "SignInFailed") == 1
    # No personal data in a metric line.
    assert not any(data["iin"] in json.dumps(d) or data["phone"] in json.dumps(d) for d in docs)

    from chalicelib.config import reset_settings

    monkeypatch.setenv("HAVA_LOGIN_PER_IP_PER_MINUTE", "1")
    reset_settings()
    replies = [api.login(data["iin"]).status for _ in range(3)]
    assert 429 in replies
    assert counted(emf(capsys), "SignInThrottled") == replies.count(429)


def test_request_filed_and_decided_metrics(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    _data, token, _account_id = repaid_borrower(api)
    emf(capsys)
    reply = api.post("/v1/deletion-requests", {"password": PASSWORD}, token=token)
    assert reply.status in (200, 201, 202)
    assert counted(emf(capsys), "RequestFiled", Type="deletion") == 1

    secret = make_staff("metrics-support", "support")
    staff_token = staff_login(api, "metrics-support", secret)
    path = f"/admin/v1/requests/{reply.body['request_id']}/decision"
    decided = api.post(path, {"decision": "approved", "reason": "Заявка клиента"}, staff_token)
    assert decided.status == 200, decided.body
    assert counted(emf(capsys), "RequestDecided", Type="deletion", Decision="approved") == 1
