"""The one place where errors become HTTP, plus request helpers shared by the blueprints.

Every error body has one shape::

    {"error": {"code": "validation_failed", "message": "…", "fields": {"iin": "…"}}}

``code`` is stable for programs, ``message`` is Russian for people, ``fields``
appears when specific fields are at fault.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Chalice, Response
from chalice.app import Request

from chalicelib import i18n, maintenance
from chalicelib.config import get_settings
from chalicelib.errors import (
    BadRequest,
    CodeInvalid,
    Conflict,
    Forbidden,
    HavaError,
    InvalidCredentials,
    Maintenance,
    NotFound,
    OfferNotAllowed,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
    ValidationFailed,
)
from chalicelib.i18n import N_
from chalicelib.logs import logger

if TYPE_CHECKING:
    from chalicelib.services.sessions import Principal

STATUS: dict[type[HavaError], int] = {
    ValidationFailed: 400,
    BadRequest: 400,
    InvalidCredentials: 401,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    CodeInvalid: 422,
    OfferNotAllowed: 422,
    RateLimited: 429,
    Maintenance: 503,
    ServiceUnavailable: 503,
}
#: Paths that answer even in maintenance mode; so does the staff desk (``ADMIN_PREFIX``),
#: which must keep working while the borrowers' cabinet is closed. The web pages
#: (``chalicelib.api.web``) are static and must load to *show* the maintenance notice.
ALWAYS_ON = {"/health", "/openapi.json", "/", "/staff", "/assets/{name}"}
ADMIN_PREFIX = "/admin/"
MAINTENANCE_RETRY_AFTER = "1800"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}


def status_of(error: HavaError) -> int:
    """The HTTP status of a domain error (the nearest mapped base class)."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_response(error: HavaError) -> Response:
    """A domain error as the one JSON error shape."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    headers: dict[str, str | list[str]] = {"Content-Type": "application/json; charset=utf-8"}
    if isinstance(error, ValidationFailed):
        body["fields"] = error.fields
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Maintenance):
        headers["Retry-After"] = MAINTENANCE_RETRY_AFTER
    if isinstance(error, ServiceUnavailable):
        headers["Retry-After"] = "30"
    return Response(body={"error": body}, status_code=status_of(error), headers=headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON success response."""
    all_headers: dict[str, str | list[str]] = {
        "Content-Type": "application/json; charset=utf-8",
        **(headers or {}),
    }
    return Response(body=body, status_code=status, headers=all_headers)


def handles_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a view: domain errors → their status; storage/AWS failures → 503; else → 500."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except HavaError as error:
            return error_response(error)
        except Exception as exc:
            from botocore.exceptions import BotoCoreError, ClientError
            from pynamodb.exceptions import PynamoDBException

            # Storage and AWS client failures, wherever they were raised: the one mapping.
            if isinstance(exc, BotoCoreError | ClientError | PynamoDBException):
                logger.warning("dependency failed", extra={"error": type(exc).__name__})
                return error_response(ServiceUnavailable())
            logger.exception("unhandled error", extra={"error": type(exc).__name__})
            response = error_response(HavaError(N_("Внутренняя ошибка. Мы уже разбираемся.")))
            response.status_code = 500
            return response

    return wrapper


def route(bp: Blueprint, path: str, **options: Any) -> Callable[..., Any]:
    """``bp.route`` with the error mapping applied (every route of the API goes through it)."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        return bp.route(path, **options)(handles_errors(view))

    return decorate


def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a clean 4xx."""
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > get_settings().max_body_bytes:
        raise PayloadTooLarge()
    if not raw:
        raise BadRequest(N_("Пустой запрос: ожидается JSON-объект."))
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest(N_("Тело запроса — не корректный JSON в UTF-8.")) from None
    if not isinstance(data, dict):
        raise BadRequest(N_("Ожидается JSON-объект."))
    return data


# --- web sessions: the token in an HttpOnly cookie ----------------------------
#
# The browser pages never hold the session token where script can read it. A
# client that sends ``X-Hava-Client: web`` when signing in gets the token also as
# an ``HttpOnly; Secure; SameSite=Strict`` cookie *instead of* in the JSON answer
# (``token`` and ``token_type`` are left out of it, so no script ever sees the token),
# and ``bearer_token`` falls back to that cookie when no Authorization header is
# sent. Cookie-authenticated requests that change state must echo the CSRF token
# (a readable cookie) in ``X-CSRF-Token``: a signed double-submit token, the HMAC
# of the session token, so it can be neither guessed nor planted by another site.
# ``__Host-`` names: Secure, Path=/, no Domain - no sibling subdomain can set them.

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


def _resource_path(request: Request) -> str:
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
    key = get_settings().index_key
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
        names = cookie_names(_resource_path(request))
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
    return max(0, int((moment - datetime.now(UTC)).total_seconds()))


def _session_cookies(request: Request, response: Response) -> list[str]:
    """The Set-Cookie values a response needs: a new web session, or an ended one.

    A new web session's token moves from the JSON body into the cookie (the body loses it).
    """
    names = cookie_names(_resource_path(request))
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
    signed_out = response.status_code == 204 and _resource_path(request) in SIGN_OUT_PATHS
    if used_cookie and (signed_out or response.status_code == 401):
        return [
            _cookie(names.session, "", 0, http_only=True),
            _cookie(names.csrf, "", 0, http_only=False),
        ]
    return []


def signed_in_borrower(
    request: Request,
    *,
    allow_restricted: bool = False,
    allow_consent_pending: bool = False,
) -> Principal:
    """The borrower of the bearer token (401), refused (403) while the password must be
    recovered (``password_recovery_required``) or while a newer consent text awaits
    acceptance (``consent_required``).

    A restricted session (opened with a password security declared suspect) reads and
    changes nothing: only sign-out (``allow_restricted``) takes it. The routes that
    must work before the consent is accepted (profile, password, sessions, consent,
    export, compromise report, sign-out) pass ``allow_consent_pending``.
    """
    from chalicelib.errors import PasswordRecoveryRequired
    from chalicelib.services.sessions import authenticate

    principal = authenticate(bearer_token(request))
    if principal.restricted and not allow_restricted:
        raise PasswordRecoveryRequired()
    if principal.consent_pending and not (allow_consent_pending or allow_restricted):
        from chalicelib.domain.consent import ConsentRequired

        raise ConsentRequired()
    return principal


def client_ip(request: Request) -> str:
    """The caller's address as API Gateway saw it (rate limits only; never logged)."""
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def user_agent(request: Request) -> str | None:
    """The client's User-Agent (kept with the session for the borrower's session list)."""
    value: str | None = request.headers.get("user-agent")
    return value


def _chalice_error_to_ours(response: Response) -> Response:
    """Chalice's own 4xx bodies (405, 415, …) in the application's error shape."""
    body = response.body
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return response
    if isinstance(body, dict) and "Code" in body and "Message" in body:
        codes = {405: "method_not_allowed", 415: "unsupported_media_type", 400: "bad_request"}
        messages = {
            405: N_("Метод не поддерживается для этого адреса."),
            415: N_("Ожидается Content-Type: application/json."),
        }
        status = response.status_code
        response.body = {
            "error": {
                "code": codes.get(status, "error"),
                "message": messages.get(status, "Некорректный запрос."),
            }
        }
        response.headers["Content-Type"] = "application/json; charset=utf-8"
    return response


def install_middleware(app: Chalice) -> None:
    """Maintenance switch, uniform error bodies, web-session cookies and security headers."""

    @app.middleware("http")
    def guard(event: Request, get_response: Callable[[Request], Response]) -> Response:
        path = (event.context or {}).get("resourcePath", "")
        borrower_route = path not in ALWAYS_ON and not path.startswith(ADMIN_PREFIX)
        try:
            closed = borrower_route and maintenance.is_on()
        except HavaError as error:  # Misconfigured: a placeholder setting on a deployed stage
            response = error_response(error)
        else:
            response = error_response(Maintenance()) if closed else get_response(event)
        if response.status_code >= 400:
            response = _chalice_error_to_ours(response)
            # The one place messages are translated: Kazakh for `Accept-Language: kk`.
            language = i18n.negotiate(event.headers.get("accept-language"))
            i18n.localise_error(response.body, language)
        cookies = _session_cookies(event, response)
        if cookies:
            response.headers["Set-Cookie"] = cookies
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
