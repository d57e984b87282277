"""Web sessions: the token in an HttpOnly cookie, CSRF double submit, and the pages' headers."""

from __future__ import annotations

import json
from typing import Any

import pyotp
import pytest

from chalicelib.api.web_session import csrf_token_for
from tests.helpers import PASSWORD, Api, Reply, form, make_staff
from tests.staffing import STAFF_PASSWORD

WEB = {"X-Hava-Client": "web"}
SESSION, CSRF = "__Host-hava_session", "__Host-hava_csrf"
STAFF_SESSION, STAFF_CSRF = "__Host-hava_staff", "__Host-hava_staff_csrf"


def set_cookies(reply: Reply) -> dict[str, str]:
    """``name → full Set-Cookie value`` of a reply."""
    raw: Any = reply.headers.get("Set-Cookie") or reply.headers.get("set-cookie") or []
    values = [raw] if isinstance(raw, str) else list(raw)
    return {value.split("=", 1)[0]: value for value in values}


def cookie_value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


def with_cookies(**cookies: str) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


def web_login(api: Api, login: str) -> tuple[str, str, Reply]:
    reply = api.call("POST", "/v1/sessions", {"login": login, "password": PASSWORD}, headers=WEB)
    assert reply.status == 201, reply.body
    cookies = set_cookies(reply)
    return cookie_value(cookies[SESSION]), cookie_value(cookies[CSRF]), reply


@pytest.fixture
def borrower(api: Api) -> dict[str, Any]:
    data = form()
    api.register(data)
    return data


def test_web_sign_in_sets_an_httponly_strict_cookie_and_keeps_the_token_out_of_the_body(
    api: Api, borrower: dict[str, Any]
) -> None:
    # GIVEN a borrower WHEN the web client signs in
    token, csrf, reply = web_login(api, borrower["iin"])
    cookies = set_cookies(reply)
    # THEN the answer describes the session but holds no token: the cookie is the credential
    assert set(reply.body) >= {"expires_at", "idle_timeout_seconds"}
    assert "token" not in reply.body and "token_type" not in reply.body
    assert token not in json.dumps(reply.body)
    # AND the session cookie is out of script's reach, the CSRF cookie readable
    session_flags = cookies[SESSION].lower()
    for flag in ("httponly", "secure", "samesite=strict", "path=/", "max-age="):
        assert flag in session_flags, cookies[SESSION]
    assert "domain=" not in session_flags
    csrf_flags = cookies[CSRF].lower()
    assert (
        "httponly" not in csrf_flags and "secure" in csrf_flags and "samesite=strict" in csrf_flags
    )
    assert csrf == csrf_token_for(token) and csrf != token


def test_without_the_web_header_no_cookie_is_set(api: Api, borrower: dict[str, Any]) -> None:
    reply = api.login(borrower["iin"])
    assert reply.status == 201
    assert set_cookies(reply) == {}
    # AND a bearer client still gets its token in the body
    assert reply.body["token"] and reply.body["token_type"] == "Bearer"


def test_registration_confirm_sets_the_cookie_for_the_web_client(api: Api) -> None:
    # GIVEN a started registration
    data = form()
    started = api.start(data)
    code = api.latest_code(data["phone"])
    # WHEN the web client confirms it
    done = api.call(
        "POST",
        f"/v1/registrations/{started.body['registration_id']}/confirm",
        {"code": code},
        headers=WEB,
    )
    # THEN it is signed in by cookie only: the body holds no token
    assert done.status == 201, done.body
    token = cookie_value(set_cookies(done)[SESSION])
    assert "token" not in done.body and done.body["account_id"]
    assert api.call("GET", "/v1/me", headers=with_cookies(**{SESSION: token})).status == 200


def test_the_cookie_authenticates_reads_without_a_csrf_token(
    api: Api, borrower: dict[str, Any]
) -> None:
    token, _, _ = web_login(api, borrower["iin"])
    me = api.call("GET", "/v1/me", headers=with_cookies(**{SESSION: token}))
    assert me.status == 200, me.body
    assert api.call("GET", "/v1/me").status == 401


def test_a_state_change_by_cookie_needs_the_matching_csrf_token(
    api: Api, borrower: dict[str, Any]
) -> None:
    # GIVEN a web session
    token, csrf, _ = web_login(api, borrower["iin"])
    cookies = with_cookies(**{SESSION: token, CSRF: csrf})
    end_others = "/v1/me/sessions/end-others"
    # WHEN a state-changing request carries no, a wrong or a cookie-only token THEN 403
    missing = api.call("POST", end_others, {}, headers=cookies)
    assert missing.status == 403 and missing.error["code"] == "forbidden"
    wrong = api.call("POST", end_others, {}, headers={**cookies, "X-CSRF-Token": "0" * 64})
    assert wrong.status == 403
    planted = with_cookies(**{SESSION: token, CSRF: "f" * 64})
    forged = api.call("POST", end_others, {}, headers={**planted, "X-CSRF-Token": "f" * 64})
    assert forged.status == 403, "a planted pair that is not bound to the session is refused"
    # AND with the header echoing the cookie it goes through
    ok = api.call("POST", end_others, {}, headers={**cookies, "X-CSRF-Token": csrf})
    assert ok.status == 200, ok.body


def test_the_bearer_header_wins_and_needs_no_csrf(api: Api, borrower: dict[str, Any]) -> None:
    # GIVEN a bearer token and an unrelated stale cookie
    bearer = api.login(borrower["iin"]).body["token"]
    headers = {**with_cookies(**{SESSION: "stale"}), "Authorization": f"Bearer {bearer}"}
    # WHEN a state change is sent with the header THEN no CSRF token is asked for
    reply = api.call("POST", "/v1/me/sessions/end-others", {}, headers=headers)
    assert reply.status == 200, reply.body


def test_sign_out_clears_both_cookies_and_ends_the_session(
    api: Api, borrower: dict[str, Any]
) -> None:
    token, csrf, _ = web_login(api, borrower["iin"])
    cookies = with_cookies(**{SESSION: token, CSRF: csrf})
    # WHEN signing out without the CSRF token THEN it is refused
    assert api.call("DELETE", "/v1/sessions/current", headers=cookies).status == 403
    # WHEN with it THEN both cookies expire and the session is gone
    out = api.call("DELETE", "/v1/sessions/current", headers={**cookies, "X-CSRF-Token": csrf})
    assert out.status == 204
    cleared = set_cookies(out)
    assert {SESSION, CSRF} <= set(cleared)
    assert all("max-age=0" in cleared[name].lower() for name in (SESSION, CSRF))
    assert api.call("GET", "/v1/me", headers=cookies).status == 401


def test_an_ended_session_cookie_is_cleared_on_401(api: Api) -> None:
    reply = api.call("GET", "/v1/me", headers=with_cookies(**{SESSION: "not-a-session"}))
    assert reply.status == 401
    assert "max-age=0" in set_cookies(reply)[SESSION].lower()


def test_staff_get_their_own_cookie_which_borrower_routes_ignore(api: Api) -> None:
    # GIVEN a staff member signing in from the desk
    secret = make_staff("web.support", "support")
    reply = api.call(
        "POST",
        "/admin/v1/sessions",
        {"username": "web.support", "password": STAFF_PASSWORD, "totp": pyotp.TOTP(secret).now()},
        headers=WEB,
    )
    assert reply.status == 201, reply.body
    cookies = set_cookies(reply)
    assert set(cookies) == {STAFF_SESSION, STAFF_CSRF}
    assert "httponly" in cookies[STAFF_SESSION].lower()
    staff_token = cookie_value(cookies[STAFF_SESSION])
    assert "token" not in reply.body, "the desk's token lives only in its HttpOnly cookie"
    staff_cookie = with_cookies(**{STAFF_SESSION: staff_token})
    # THEN the desk accepts it, the borrower routes do not see it
    queue = api.call("GET", "/admin/v1/queue?type=phone_change", headers=staff_cookie)
    assert queue.status == 200, queue.body
    assert api.call("GET", "/v1/me", headers=staff_cookie).status == 401
    # AND a desk decision by cookie needs the staff CSRF token
    decision = api.call(
        "POST",
        "/admin/v1/requests/nope/decision",
        {"decision": "approved", "reason": "x"},
        headers=staff_cookie,
    )
    assert decision.status == 403


def test_pages_and_assets_carry_a_strict_policy_and_revalidate(api: Api) -> None:
    for path, content_type in (
        ("/", "text/html"),
        ("/staff", "text/html"),
        ("/assets/borrower.js", "text/javascript"),
        ("/assets/app.css", "text/css"),
        ("/assets/logo.svg", "image/svg+xml"),
    ):
        response = api.client.http.get(path)
        assert response.status_code == 200, path
        headers = response.headers
        assert headers["Content-Type"].startswith(content_type)
        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy
        assert headers["Cache-Control"] == "no-cache"
        again = api.client.http.get(path, headers={"If-None-Match": headers["ETag"]})
        assert again.status_code == 304


@pytest.mark.parametrize("name", ["index.html", "..%2Fhttp.py", "nope.js", "APP.CSS"])
def test_only_the_listed_assets_are_served(api: Api, name: str) -> None:
    response = api.client.http.get(f"/assets/{name}")
    assert response.status_code == 404
    assert json.loads(response.body)["error"]["code"] == "not_found"


def test_pages_load_during_maintenance(
    api: Api, monkeypatch: pytest.MonkeyPatch, borrower: dict[str, Any]
) -> None:
    from chalicelib.config import reset_settings

    monkeypatch.setenv("HAVA_MAINTENANCE", "true")
    reset_settings()
    assert api.client.http.get("/").status_code == 200
    assert api.get("/v1/product").status == 503
