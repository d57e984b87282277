"""Russian and Kazakh over real HTTP against the local stack (``python -m devstack``)."""

from __future__ import annotations

import time

import pytest
import requests

from tests.e2e.conftest import LocalStack
from tests.helpers import PASSWORD, form

pytestmark = pytest.mark.e2e
KK = {"Accept-Language": "kk-KZ,kk;q=0.9,ru;q=0.8"}


def sms_texts(stack: LocalStack, phone: str, since: int, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        texts = [
            entry["text"]
            for entry in stack.outbox()[since:]
            if entry.get("channel", "").lower() == "sms" and entry.get("to") == phone
        ]
        if texts or time.monotonic() > deadline:
            return texts
        time.sleep(0.2)


def test_error_messages_follow_accept_language(local_stack: LocalStack) -> None:
    base, wrong = local_stack.base_url, {"login": "000000000000", "password": "x" * 12}
    russian = requests.post(f"{base}/v1/sessions", json=wrong, timeout=30)
    kazakh = requests.post(f"{base}/v1/sessions", json=wrong, headers=KK, timeout=30)
    assert russian.status_code == kazakh.status_code == 401
    assert russian.json()["error"]["message"] == "Неверный логин или пароль"
    assert kazakh.json()["error"] == {
        "code": "invalid_credentials",
        "message": "Логин немесе құпиясөз қате",
    }
    # Malformed JSON and an unknown language preference.
    broken = requests.post(
        f"{base}/v1/sessions",
        data=b"{not json",
        headers={"Content-Type": "application/json", "Accept-Language": "kk"},
        timeout=30,
    )
    assert broken.status_code == 400
    assert broken.json()["error"]["message"] == "Сұрау денесі UTF-8 кодтауындағы дұрыс JSON емес."
    english = requests.post(
        f"{base}/v1/sessions", json=wrong, headers={"Accept-Language": "en-US"}, timeout=30
    )
    assert english.json()["error"]["message"] == "Неверный логин или пароль"


def test_a_kazakh_registration_gets_kazakh_sms_and_keeps_the_language(
    local_stack: LocalStack,
) -> None:
    base, http = local_stack.base_url, requests.Session()
    data = form()
    invalid = http.post(
        f"{base}/v1/registrations", json={**data, "iin": "123"}, headers=KK, timeout=30
    )
    assert invalid.status_code == 400
    error = invalid.json()["error"]
    assert error["message"] == "Өрістердің дұрыс толтырылғанын тексеріңіз."

    since = len(local_stack.outbox())
    started = http.post(f"{base}/v1/registrations", json=data, headers=KK, timeout=30)
    assert started.status_code == 202, started.text
    code = local_stack.latest_code(data["phone"], since=since)
    (text,) = sms_texts(local_stack, data["phone"], since)
    assert text == (
        f"Hava: тіркеуді растау коды {code}. 10 минут бойы жарамды. Кодты ешкімге айтпаңыз."
    )
    rid = started.json()["registration_id"]
    wrong = http.post(
        f"{base}/v1/registrations/{rid}/confirm", json={"code": "000000"}, headers=KK, timeout=30
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["message"].startswith("Растау коды қате. Қалған әрекет саны: ")
    done = http.post(f"{base}/v1/registrations/{rid}/confirm", json={"code": code}, timeout=30)
    assert done.status_code == 201, done.text
    auth = {"Authorization": f"Bearer {done.json()['token']}"}
    assert http.get(f"{base}/v1/me", headers=auth, timeout=10).json()["language"] == "kk"

    refused = http.put(
        f"{base}/v1/me/language", json={"language": "en"}, headers={**auth, **KK}, timeout=10
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {
        "language": "Тілді таңдаңыз: «kk» (қазақша) немесе «ru» (русский)."
    }
    switched = http.put(f"{base}/v1/me/language", json={"language": "ru"}, headers=auth, timeout=10)
    assert (switched.status_code, switched.json()) == (200, {"language": "ru"})
    assert http.get(f"{base}/v1/me", headers=auth, timeout=10).json()["language"] == "ru"

    # Now Russian: the password-changed notice arrives in Russian.
    since = len(local_stack.outbox())
    new = "другой-длинный-пароль-42"
    changed = http.post(
        f"{base}/v1/me/password",
        json={"current_password": PASSWORD, "new_password": new, "new_password_confirm": new},
        headers=auth,
        timeout=30,
    )
    assert changed.status_code == 200, changed.text
    texts = sms_texts(local_stack, data["phone"], since)
    assert texts and texts[-1].startswith("Hava: пароль от личного кабинета изменён.")
