"""Who is calling: the signed-in borrower, the caller's address and User-Agent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Request

from chalicelib.api.web_session import bearer_token
from chalicelib.domain.consent import ConsentRequired
from chalicelib.errors import PasswordRecoveryRequired

if TYPE_CHECKING:
    from chalicelib.services.sessions import Principal


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
    # lazy: services.sessions loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only signed_in_borrower() needs it
    from chalicelib.services.sessions import authenticate

    principal = authenticate(bearer_token(request))
    if principal.restricted and not allow_restricted:
        raise PasswordRecoveryRequired()
    if principal.consent_pending and not (allow_consent_pending or allow_restricted):
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
