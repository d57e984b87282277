"""Credential routes: forgotten password and e-mail change. Handlers translate only."""

from __future__ import annotations

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.api.body import json_body
from chalicelib.api.caller import client_ip, signed_in_borrower
from chalicelib.api.errors_http import json_response, route

account_api = Blueprint(__name__)


def _request() -> Request:
    return account_api.current_request


@route(account_api, "/v1/password-recovery", methods=["POST"])
def start_recovery() -> Response:
    """A code to the phone of record of a login; the same answer whether or not it exists."""
    # lazy: services.recovery loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only start_recovery() needs it
    from chalicelib.services import recovery

    request = _request()
    started = recovery.start(json_body(request), client_ip(request))
    return json_response(started.as_dict(), status=202)


@route(account_api, "/v1/password-recovery/{recovery_id}/resend", methods=["POST"])
def resend_recovery(recovery_id: str) -> Response:
    """A new recovery code (cooldown and budgets apply)."""
    # lazy: services.recovery loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only resend_recovery() needs it
    from chalicelib.services import recovery

    started = recovery.resend(recovery_id, client_ip(_request()))
    return json_response(started.as_dict(), status=202)


@route(account_api, "/v1/password-recovery/{recovery_id}/confirm", methods=["POST"])
def confirm_recovery(recovery_id: str) -> Response:
    """The code and a new password: the password is set and every session ends."""
    # lazy: services.recovery loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only confirm_recovery() needs it
    from chalicelib.services import recovery

    return json_response(recovery.confirm(recovery_id, json_body(_request())))


@route(account_api, "/v1/me/email", methods=["POST"])
def change_email() -> Response:
    """Password and a new address: a code goes to the new address."""
    # lazy: services.email_change loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only change_email() needs it
    from chalicelib.services import email_change

    request = _request()
    principal = signed_in_borrower(request)
    return json_response(
        email_change.start(principal, json_body(request), client_ip(request)), status=202
    )


@route(account_api, "/v1/me/email/confirm", methods=["POST"])
def confirm_email() -> Response:
    """The code from the new address: the address changes; the old one is told."""
    # lazy: services.email_change loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only confirm_email() needs it
    from chalicelib.services import email_change

    request = _request()
    principal = signed_in_borrower(request)
    return json_response(email_change.confirm(principal, json_body(request)))
