"""Issue 9 §1, replayed: a reported break-in (or a staff lock, then unlock) must end
the access of whoever holds the old password; only the code sent to the phone of
record lets the borrower set a new one."""

from __future__ import annotations

import pytest
import requests

from bench.reliability import staff_session
from tests.e2e.conftest import LocalStack
from tests.helpers import PASSWORD
from tests.security.conftest import Client, recover, register

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "только-мой-новый-пароль-2026"
RECOVERY = "password_recovery_required"
WEB = {"X-Hava-Client": "web"}


def error_code(reply: requests.Response) -> str:
    return str(reply.json()["error"]["code"])


def assert_attacker_gets_nothing(attacker: Client, login: str) -> None:
    """The attack of the report: old password → sign-in, password change, loans."""
    # Signing in with the old password opens no session, not even a restricted one,
    # and says where the owner must go (recovery), in Russian.
    for headers in ({}, WEB):
        signed = attacker.sign_in(login, headers=headers)
        assert signed.status_code == 403, signed.text
        assert error_code(signed) == RECOVERY
        assert "SMS" in signed.json()["error"]["message"]
        assert "token" not in signed.text and "Set-Cookie" not in signed.headers
    # The session the attacker held is dead: no password change with the old password…
    changed = attacker.call(
        "POST",
        "/v1/me/password",
        {
            "current_password": PASSWORD,
            "new_password": "пароль-захватчика-2026",
            "new_password_confirm": "пароль-захватчика-2026",
        },
    )
    assert changed.status_code == 401, changed.text
    # …and nothing to read.
    assert attacker.call("GET", "/v1/me/loans").status_code == 401
    assert attacker.call("GET", "/v1/me").status_code == 401


def assert_borrower_recovers_and_attacker_stays_out(
    stack: LocalStack, data: dict[str, str], attacker: Client
) -> None:
    # The borrower recovers with the SMS code from the outbox and is back in.
    recover(stack, data["phone"], data["phone"], NEW_PASSWORD)
    borrower = Client(stack)
    back = borrower.sign_in(data["email"], NEW_PASSWORD)
    assert back.status_code == 201, back.text
    assert back.json()["must_change_password"] is False
    assert borrower.call("GET", "/v1/me/loans").status_code == 200
    # The attacker's session stays dead and the old password is just a wrong one now.
    assert attacker.call("GET", "/v1/me/loans").status_code == 401
    old = Client(stack).sign_in(data["iin"])
    assert old.status_code == 401 and error_code(old) == "invalid_credentials"


def test_a_compromise_report_ends_the_old_passwords_power(attack_stack: LocalStack) -> None:
    # GIVEN a borrower, and an attacker who knows the password and is signed in
    data, borrower = register(attack_stack)
    attacker = Client(attack_stack)
    assert attacker.sign_in(data["iin"]).status_code == 201
    assert attacker.call("GET", "/v1/me/loans").status_code == 200
    # WHEN the borrower reports the break-in
    reported = borrower.call("POST", "/v1/me/compromise", {"description": "Чужой вход ночью"})
    assert reported.status_code == 201, reported.text
    # THEN the attacker, old password in hand, is refused at every step
    assert_attacker_gets_nothing(attacker, data["iin"])
    # AND the borrower is told the way back in by SMS
    texts = [m["text"] for m in attack_stack.outbox() if m.get("to") == data["phone"]]
    assert any("Забыли пароль" in text for text in texts)
    assert_borrower_recovers_and_attacker_stays_out(attack_stack, data, attacker)


def test_a_staff_lock_then_unlock_ends_the_old_passwords_power(attack_stack: LocalStack) -> None:
    # GIVEN a borrower, an attacker signed in with the password, and a security officer
    data, borrower = register(attack_stack)
    account_id = borrower.call("GET", "/v1/me").json()["account_id"]
    attacker = Client(attack_stack)
    assert attacker.sign_in(data["phone"]).status_code == 201
    officer = Client(attack_stack, staff_session(attack_stack, "sec-attack-replay", "security"))
    reason = {"reason": "Подозрительные входы"}
    # WHEN security locks the account, then unlocks it
    locked = officer.call("POST", f"/admin/v1/accounts/{account_id}/lock", reason)
    assert locked.status_code == 200, locked.text
    refused = attacker.sign_in(data["phone"])
    assert refused.status_code == 403 and error_code(refused) == "forbidden"
    unlocked = officer.call("POST", f"/admin/v1/accounts/{account_id}/unlock", reason)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["must_change_password"] is True
    # THEN the old password still opens nothing
    assert_attacker_gets_nothing(attacker, data["phone"])
    assert_borrower_recovers_and_attacker_stays_out(attack_stack, data, attacker)
