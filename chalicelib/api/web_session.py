"""Web sessions: the session token in an HttpOnly cookie, guarded by a CSRF token.

The browser pages never hold the session token where script can read it. A
client that sends ``X-Hava-Client: web`` when signing in gets the token also as
an ``HttpOnly; Secure; SameSite=Strict`` cookie *instead of* in the JSON answer
(``token`` and ``token_type`` are left out of it, so no script ever sees the token),
and ``bearer_token`` falls back to that cookie when no Authorization header is
sent. Cookie-authenticated requests that change state must echo the CSRF token
(a readable cookie) in ``X-CSRF-Token``: a signed double-submit token, the HMAC
of the session token, so it can be neither guessed nor planted by another site.
``__Host-`` names: Secure, Path=/, no Domain - no sibling subdomain can set them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from chalice import Response
from chalice.app import Request

from chalicelib import clock
from chalicelib.adapters import crypto
from chalicelib.errors import Forbidden
from chalicelib.i18n import N_

#: The staff desk's routes; its cookies are the staff's, not the borrowers'.
ADMIN_PREFIX = "/admin/"
#: Custom header of the web client; a cross-site form cannot send it, so no other
#: site can make a browser sign in (login CSRF) and receive a cookie.
WEB_CLIENT_HEADER = "x-hava-client"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class CookieNames:
    """The session cookie and its CSRF cookie of one side (borrowers or staff)."""

    session: str
    csrf: str


BORROWER_COOKIES = CookieNames("__Host-hava_session", "__Host-hava_csrf")
STAFF_COOKIES = CookieNames("__Host-hava_staff", "__Host-hava_staff_csrf")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGN_OUT_PATHS = frozenset({"/v1/sessions/current", f"{ADMIN_PREFIX}v1/sessions/current"})
_CSRF_LABEL = b"hava-csrf-v1\x00"


def resource_path(request: Request) -> str:
    """The route's path template (``/v1/loans/{loan_id}``) as API Gateway names it."""
    return str((request.context or {}).get("resourcePath", ""))


def cookie_names(path: str) -> CookieNames:
    """Which cookies authenticate ``path``: staff's under ``/admin/``, borrowers' elsewhere."""
    return STAFF_COOKIES if path.startswith(ADMIN_PREFIX) else BORROWER_COOKIES


def request_cookies(request: Request) -> dict[str, str]:
    """The request's cookies by name (the first of a repeated name wins)."""
    found: dict[str, str] = {}
    for pair in (request.headers.get("cookie") or "").split(";"):
        name, sep, value = pair.strip().partition("=")
        if sep and name and name not in found:
            found[name] = value.strip().strip('"')
    return found


def csrf_token_for(session_token: str) -> str:
    """The CSRF token bound to a session token (keyed, so unforgeable without the key)."""
    key = crypto.index_key()
    digest = hmac.new(key, _CSRF_LABEL + session_token.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()


def _check_csrf(request: Request, session_token: str, names: CookieNames) -> None:
    """Refuse (403) a state-changing, cookie-authenticated request without the CSRF token."""
    if request.method.upper() in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    echoed = request_cookies(request).get(names.csrf, "")
    expected = csrf_token_for(session_token)
    # Both compared in constant time; both must hold (double submit, signed).
    header_ok = hmac.compare_digest(sent.encode(), expected.encode())
    cookie_ok = hmac.compare_digest(echoed.encode(), expected.encode())
    if not (header_ok and cookie_ok):
        raise Forbidden(N_("Запрос отклонён: обновите страницу и повторите действие."))


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer …``, else of the web session cookie.

    The cookie counts only when no Authorization header is sent; a state-changing
    request authenticated by it must carry the CSRF token (else ``Forbidden``).
    """
    header = request.headers.get("authorization", "")
    if not header:
        names = cookie_names(resource_path(request))
        token = request_cookies(request).get(names.session, "")
        if not token:
            return None
        _check_csrf(request, token, names)
        return token
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _cookie(name: str, value: str, max_age: int, *, http_only: bool) -> str:
    flags = "; HttpOnly" if http_only else ""
    return f"{name}={value}; Max-Age={max_age}; Path=/; Secure; SameSite=Strict{flags}"


def _seconds_until(expires_at: object) -> int:
    """Seconds until an ISO 8601 instant (the session's absolute expiry), at least 0."""
    try:
        moment = datetime.fromisoformat(str(expires_at).replace("Z", "+00:00"))
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, int((moment - clock.now()).total_seconds()))


def session_cookies(request: Request, response: Response) -> list[str]:
    """The Set-Cookie values a response needs: a new web session, or an ended one.

    A new web session's token moves from the JSON body into the cookie (the body loses it).
    """
    names = cookie_names(resource_path(request))
    body = response.body
    if (
        response.status_code == 201
        and request.headers.get(WEB_CLIENT_HEADER, "").lower() == "web"
        and isinstance(body, dict)
        and isinstance(body.get("token"), str)
    ):
        token, max_age = body.pop("token"), _seconds_until(body.get("expires_at"))
        body.pop("token_type", None)  # the cookie is the credential: no Bearer token here
        return [
            _cookie(names.session, token, max_age, http_only=True),
            _cookie(names.csrf, csrf_token_for(token), max_age, http_only=False),
        ]
    used_cookie = not request.headers.get("authorization") and bool(
        request_cookies(request).get(names.session)
    )
    signed_out = response.status_code == 204 and resource_path(request) in SIGN_OUT_PATHS
    if used_cookie and (signed_out or response.status_code == 401):
        return [
            _cookie(names.session, "", 0, http_only=True),
            _cookie(names.csrf, "", 0, http_only=False),
        ]
    return []
