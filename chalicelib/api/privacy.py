"""Borrower routes for sessions and personal-data rights (Law 94-V). Handlers translate only.

The session list, ending sessions, accepting the consent and the data export
stay open while a newer consent awaits acceptance: they are the borrower's
safety and data-subject rights, which do not depend on the new wording.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.api.body import json_body
from chalicelib.api.caller import signed_in_borrower
from chalicelib.api.errors_http import json_response, route

if TYPE_CHECKING:
    from chalicelib.services.sessions import Principal

privacy_api = Blueprint(__name__)

EXPORT_DISPOSITION = 'attachment; filename="hava-export.json"'


def _request() -> Request:
    return privacy_api.current_request


def _principal() -> Principal:
    return signed_in_borrower(_request(), allow_consent_pending=True)


@route(privacy_api, "/v1/me/sessions", methods=["GET"])
def list_sessions() -> Response:
    """The borrower's active sessions: device, address, created, last used, which is this one."""
    # lazy: services.sessions loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only list_sessions() needs it
    from chalicelib.services import sessions

    principal = _principal()
    items = sessions.active_sessions(principal.account_id, principal.token_hash)
    return json_response({"items": items})


@route(privacy_api, "/v1/me/sessions/{session_id}", methods=["DELETE"])
def end_session(session_id: str) -> Response:
    """End one of the borrower's sessions at once (any other id is 404)."""
    # lazy: services.sessions loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only end_session() needs it
    from chalicelib.services import sessions

    sessions.end_session_by_id(_principal().account_id, session_id)
    return Response(body="", status_code=204)


@route(privacy_api, "/v1/me/sessions/end-others", methods=["POST"])
def end_other_sessions() -> Response:
    """End every session of the borrower but this one."""
    # lazy: services.sessions loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only end_other_sessions() needs it
    from chalicelib.services import sessions

    principal = _principal()
    ended = sessions.end_all_sessions(principal.account_id, keep=principal.token_hash)
    return json_response({"sessions_ended": ended})


@route(privacy_api, "/v1/consent", methods=["GET"])
def current_consent() -> Response:
    """The current consent text and its version (public)."""
    # lazy: services.privacy loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only current_consent() needs it
    from chalicelib.services import privacy

    return json_response(privacy.current_consent())


@route(privacy_api, "/v1/me/consent", methods=["POST"])
def accept_consent() -> Response:
    """Accept the current consent text: {"version": "…"}."""
    # lazy: services.privacy loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only accept_consent() needs it
    from chalicelib.services import privacy

    principal = _principal()
    return json_response(privacy.accept_consent(principal, json_body(_request())))


@route(privacy_api, "/v1/me/export", methods=["GET"])
def export_my_data() -> Response:
    """Everything held about the borrower as one JSON file (an audited event)."""
    # lazy: services.privacy loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only export_my_data() needs it
    from chalicelib.services import privacy

    document = privacy.export(_principal())
    return json_response(document, headers={"Content-Disposition": EXPORT_DISPOSITION})
