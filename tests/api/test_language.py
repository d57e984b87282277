"""The account's language: set at registration from Accept-Language, read by GET /v1/me,
changed by PUT /v1/me/language; SMS follow it; errors follow the request's header."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_web_sessions import CSRF, SESSION, web_login, with_cookies
from tests.conftest import FrozenClock
from tests.helpers import Api, Reply, form

KAZAKH_LETTERS = set("әғқңөұүһі")


def put_language(api: Api, token: str, body: Any, **headers: str) -> Reply:
    return api.call("PUT", "/v1/me/language", body, token=token, headers=headers)


def register(api: Api, accept_language: str | None = None) -> tuple[dict[str, Any], str]:
    data = form()
    headers = {"Accept-Language": accept_language} if accept_language else {}
    started = api.call("POST", "/v1/registrations", data, headers=headers)
    assert started.status == 202, started.body
    code = api.latest_code(data["phone"])
    done = api.post(f"/v1/registrations/{started.body['registration_id']}/confirm", {"code": code})
    assert done.status == 201, done.body
    return data, done.body["token"]


def test_default_is_russian_and_the_code_sms_is_russian(api: Api) -> None:
    data, token = register(api)
    assert api.get("/v1/me", token=token).body["language"] == "ru"
    (text,) = api.sms_to(data["phone"])
    assert "код подтверждения регистрации" in text
    assert "Действует 10 минут." in text


@pytest.mark.parametrize("header", ["kk", "kk-KZ", "ru;q=0.5, kk-KZ;q=0.9", "en, kk;q=0.3"])
def test_registration_in_kazakh_stores_kk_and_sends_the_code_in_kazakh(
    api: Api, header: str
) -> None:
    data, token = register(api, header)
    assert api.get("/v1/me", token=token).body["language"] == "kk"
    (text,) = api.sms_to(data["phone"])
    assert "тіркеуді растау коды" in text
    assert "10 минут бойы жарамды" in text


@pytest.mark.parametrize("header", ["en", "ru-RU", "kk;q=0, ru", "kk;q=0.4, ru;q=0.8", "*"])
def test_other_languages_register_in_russian(api: Api, header: str) -> None:
    _, token = register(api, header)
    assert api.get("/v1/me", token=token).body["language"] == "ru"


def test_put_language_switches_and_is_stored(api: Api) -> None:
    _, token = register(api)
    reply = put_language(api, token, {"language": "kk"})
    assert (reply.status, reply.body) == (200, {"language": "kk"})
    assert api.get("/v1/me", token=token).body["language"] == "kk"
    reply = put_language(api, token, {"language": "ru"})
    assert (reply.status, reply.body) == (200, {"language": "ru"})
    assert api.get("/v1/me", token=token).body["language"] == "ru"


@pytest.mark.parametrize(
    "body", [{"language": "en"}, {"language": "KK"}, {"language": None}, {"language": ["kk"]}, {}]
)
def test_put_language_refuses_anything_else(api: Api, body: Any) -> None:
    _, token = register(api)
    reply = put_language(api, token, body)
    assert reply.status == 400
    assert reply.error["code"] == "validation_failed"
    assert reply.error["fields"]["language"] == "Выберите язык: «kk» (қазақша) или «ru» (русский)."
    assert api.get("/v1/me", token=token).body["language"] == "ru"  # nothing half-written


def test_put_language_refusal_in_kazakh(api: Api) -> None:
    _, token = register(api)
    reply = put_language(api, token, {"language": "de"}, **{"Accept-Language": "kk-KZ"})
    assert reply.status == 400
    assert KAZAKH_LETTERS & set(reply.error["message"])
    assert KAZAKH_LETTERS & set(reply.error["fields"]["language"])
    assert "Тілді таңдаңыз" in reply.error["fields"]["language"]


def test_put_language_needs_a_session(api: Api) -> None:
    reply = api.call("PUT", "/v1/me/language", {"language": "kk"})
    assert reply.status == 401


def test_put_language_with_the_web_cookie_needs_the_csrf_token(api: Api) -> None:
    data, _ = register(api)
    session, csrf, _ = web_login(api, data["iin"])
    cookie = with_cookies(**{SESSION: session, CSRF: csrf})
    refused = api.call("PUT", "/v1/me/language", {"language": "kk"}, headers=cookie)
    assert refused.status == 403
    done = api.call(
        "PUT", "/v1/me/language", {"language": "kk"}, headers={**cookie, "X-CSRF-Token": csrf}
    )
    assert (done.status, done.body) == (200, {"language": "kk"})


def test_a_kazakh_account_gets_loan_sms_reminders_and_agreement_in_kazakh(
    api: Api, frozen_clock: FrozenClock
) -> None:
    from datetime import datetime, timedelta

    from chalicelib import clock, formats
    from chalicelib.services import lending
    from chalicelib.storage.loans import LoanModel
    from tests.api.test_appeals import after_cooldown
    from tests.api.test_lending import IBAN, account_of, first_loan, loan_path
    from tests.helpers import make_staff, staff_login

    support = staff_login(api, "kamila.support", make_staff("kamila.support", "support"))
    data, token = register(api, "kk-KZ")
    account_id = account_of(api, token)
    loan_id = first_loan(api, token)["loan_id"]
    base = f"/v1/me/loans/{loan_id}"
    decision = api.post(
        loan_path(account_id, loan_id, "decision"), {"decision": "approve"}, support
    )
    assert decision.status == 200
    approved = api.sms_to(data["phone"])[-1]
    assert approved.startswith("Hava: 50\xa0000\xa0₸ сомасындағы несие өтінімі мақұлданды.")

    body = {"iban": IBAN, "own_account": True}
    assert api.call("PUT", f"{base}/payout-account", body, token).status == 200
    after_cooldown(frozen_clock)
    started = api.post(f"{base}/signature", {}, token=token)
    assert started.status == 202, started.body
    sign_sms = api.sms_to(data["phone"])[-1]
    assert "50\xa0000\xa0₸ сомасындағы 15 күндік несие шартына қол қою коды" in sign_sms
    code = api.latest_code(data["phone"])
    right = {"challenge_id": started.body["challenge_id"], "code": code}
    assert api.post(f"{base}/signature/confirm", right, token=token).status == 200
    assert "шартына қол қойылды" in api.sms_to(data["phone"])[-1]

    # The agreement link follows the account's language; ?language= picks the other one.
    kazakh = api.get(f"{base}/agreement", token=token)
    assert kazakh.status == 200 and kazakh.body["language"] == "kk"
    russian = api.get(f"{base}/agreement?language=ru", token=token)
    assert russian.body["language"] == "ru" and russian.body["sha256"] != kazakh.body["sha256"]
    assert "/kk-" in kazakh.body["url"] and "/ru-" in russian.body["url"]
    refused = api.get(f"{base}/agreement?language=en", token=token)
    assert refused.status == 400 and "language" in refused.error["fields"]

    reply = api.post(
        loan_path(account_id, loan_id, "payout"), {"transfer_reference": "ПП-7"}, token=support
    )
    assert reply.status == 200, reply.body
    due = datetime.fromisoformat(reply.body["due_date"]).date()
    issued = api.sms_to(data["phone"])[-1]
    assert f"қайтару мерзімі: {formats.long_date(due, 'kk')}." in issued
    assert "\xa0ж. " in formats.long_date(due, "kk")

    loan = LoanModel.get(account_id, loan_id)
    loan.due_date = (clock.today_kz() + timedelta(days=3)).isoformat()
    loan.save()
    day = clock.today_kz()
    assert (
        lending.reminders_due(datetime(day.year, day.month, day.day, 10, 0, tzinfo=clock.KZ_TZ))
        == 1
    )
    reminder = api.sms_to(data["phone"])[-1]
    assert reminder.startswith("Hava: 3 күннен кейін, ")
    assert "несиені қайтару мерзімі" in reminder and "₸" in reminder

    pay = {"amount": "1000.00", "paid_on": day.isoformat(), "bank_reference": "KK-1"}
    paid = api.post(loan_path(account_id, loan_id, "payments"), pay, token=support)
    assert paid.status == 201, paid.body
    assert api.sms_to(data["phone"])[-1].startswith(
        "Hava: несие бойынша 1\xa0000\xa0₸ төлем түсті."
    )


def test_a_russian_account_keeps_russian_sms_with_babel_formats(api: Api) -> None:
    from tests.api.test_lending import account_of, first_loan, loan_path
    from tests.helpers import make_staff, staff_login

    support = staff_login(api, "ruslan.support", make_staff("ruslan.support", "support"))
    data, token = register(api)
    account_id, loan_id = account_of(api, token), first_loan(api, token)["loan_id"]
    body = {"decision": "reject", "reason": "Не подходит по условиям"}
    assert api.post(loan_path(account_id, loan_id, "decision"), body, support).status == 200
    assert api.sms_to(data["phone"])[-1] == (
        "Hava: по заявке на займ 50\xa0000\xa0₸ принято отрицательное решение."
    )


def test_switching_to_kazakh_changes_the_next_sms(api: Api) -> None:
    data, token = register(api)
    assert put_language(api, token, {"language": "kk"}).status == 200
    changed = api.post(
        "/v1/me/password",
        {
            "current_password": data["password"],
            "new_password": "басқа-ұзын-құпиясөз-42",
            "new_password_confirm": "басқа-ұзын-құпиясөз-42",
        },
        token=token,
    )
    assert changed.status == 200, changed.body
    assert api.sms_to(data["phone"])[-1].startswith("Hava: жеке кабинеттің құпиясөзі өзгертілді.")


def test_iban_refusals_in_kazakh(api: Api) -> None:
    from tests.api.test_lending import first_loan

    _, token = register(api)
    loan_id = first_loan(api, token)["loan_id"]
    path = f"/v1/me/loans/{loan_id}/payout-account"
    body = {"iban": "KZ12 3456", "own_account": True}
    reply = api.call("PUT", path, body, token=token, headers={"Accept-Language": "kk"})
    assert reply.status == 400
    assert reply.error["fields"]["iban"] == "Қазақстандық IBAN 20 таңбадан тұрады; көрсетілгені: 8."
    russian = api.call("PUT", path, body, token=token)
    assert russian.error["fields"]["iban"] == "Казахстанский IBAN содержит 20 знаков; указано 8."
