"""The borrower's journey over real HTTP against the stack ``make run`` starts."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.conftest import LocalStack
from tests.helpers import PASSWORD, form

pytestmark = pytest.mark.e2e


def test_calculator_register_confirm_login_cabinet_logout(local_stack: LocalStack) -> None:
    http = requests.Session()
    base = local_stack.base_url
    # The calculator, no login.
    quote = http.get(f"{base}/v1/calculator", params={"amount": 60000, "term_days": 20}, timeout=10)
    assert quote.status_code == 200, quote.text
    assert quote.json()["total"] == "63360.00"  # 60 000 × (1 + 0.0028 × 20)

    # Step 1: questionnaire + application; the code arrives in the outbox via SQS.
    data = form(amount=60000, term_days=20)
    started = http.post(f"{base}/v1/registrations", json=data, timeout=30)
    assert started.status_code == 202, started.text
    rid = started.json()["registration_id"]
    code = local_stack.latest_code(data["phone"])

    # Step 2: confirm → signed in.
    confirmed = http.post(f"{base}/v1/registrations/{rid}/confirm", json={"code": code}, timeout=30)
    assert confirmed.status_code == 201, confirmed.text

    # Log in with each of IIN, e-mail and phone; see the cabinet; log out.
    for login in (data["iin"], data["email"].upper(), "8" + data["phone"][2:]):
        signed = http.post(
            f"{base}/v1/sessions", json={"login": login, "password": PASSWORD}, timeout=30
        )
        assert signed.status_code == 201, signed.text
        auth = {"Authorization": f"Bearer {signed.json()['token']}"}
        me = http.get(f"{base}/v1/me", headers=auth, timeout=10)
        assert me.status_code == 200
        assert me.json()["iin"].startswith(data["iin"][:4])
        assert data["iin"] not in me.text
        loans = http.get(f"{base}/v1/me/loans", headers=auth, timeout=10).json()["items"]
        assert [(x["status"], x["amount"], x["term_days"]) for x in loans] == [
            ("submitted", 60000, 20)
        ]
        assert (
            http.delete(f"{base}/v1/sessions/current", headers=auth, timeout=10).status_code == 204
        )
        assert http.get(f"{base}/v1/me", headers=auth, timeout=10).status_code == 401

    # A wrong password gets the one answer.
    wrong = http.post(
        f"{base}/v1/sessions", json={"login": data["iin"], "password": "x" * 12}, timeout=30
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["message"] == "Неверный логин или пароль"
