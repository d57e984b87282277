"""Registration, confirmation, login and cabinet through the Chalice app."""

from __future__ import annotations

from tests.api.conftest import Api, form


def test_registration_creates_account_application_and_signs_in(api: Api) -> None:
    # GIVEN a valid questionnaire
    data = form()
    # WHEN the borrower registers and confirms with the SMS code
    done = api.register(data)
    # THEN they are signed in and see their masked profile and the application
    me = api.get("/v1/me", token=done["token"])
    assert me.status == 200, me.body
    assert me.body["iin"] == data["iin"][:4] + "••••••" + data["iin"][-2:]
    loans = api.get("/v1/me/loans", token=done["token"])
    assert loans.status == 200
    (loan,) = loans.body["items"]
    assert loan["status"] == "submitted"
    assert loan["amount"] == 50_000
