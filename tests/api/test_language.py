"""The account's language: set at registration from Accept-Language, read by GET /v1/me,
changed by PUT /v1/me/language; SMS follow it; errors follow the request's header."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, Reply, form
from tests.api.test_web_sessions import CSRF, SESSION, web_login, with_cookies

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
