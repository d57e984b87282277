"""The HTTP middleware: maintenance switch, uniform error bodies, web-session cookies
and security headers on every response."""

from __future__ import annotations

from collections.abc import Callable

from chalice import Chalice, Response
from chalice.app import Request

from chalicelib import i18n, maintenance
from chalicelib.api.errors_http import chalice_error_to_ours, error_response
from chalicelib.api.web_session import ADMIN_PREFIX, resource_path, session_cookies
from chalicelib.errors import HavaError, Maintenance

#: Paths that answer even in maintenance mode; so does the staff desk (``ADMIN_PREFIX``),
#: which must keep working while the borrowers' cabinet is closed. The web pages
#: (``chalicelib.api.web``) are static and must load to *show* the maintenance notice.
ALWAYS_ON = {"/health", "/openapi.json", "/", "/staff", "/assets/{name}"}
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}


def install_middleware(app: Chalice) -> None:
    """Maintenance switch, uniform error bodies, web-session cookies and security headers."""

    @app.middleware("http")
    def guard(event: Request, get_response: Callable[[Request], Response]) -> Response:
        path = resource_path(event)
        borrower_route = path not in ALWAYS_ON and not path.startswith(ADMIN_PREFIX)
        try:
            closed = borrower_route and maintenance.is_on()
        except HavaError as error:  # Misconfigured: a placeholder setting on a deployed stage
            response = error_response(error)
        else:
            response = error_response(Maintenance()) if closed else get_response(event)
        if response.status_code >= 400:
            response = chalice_error_to_ours(response)
            # The one place messages are translated: Kazakh for `Accept-Language: kk`.
            language = i18n.negotiate(event.headers.get("accept-language"))
            i18n.localise_error(response.body, language)
        cookies = session_cookies(event, response)
        if cookies:
            response.headers["Set-Cookie"] = cookies
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
