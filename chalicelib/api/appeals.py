"""Borrower routes for appeals («обращение», ``/v1/requests`` in the API): phone change,
deletion, compromise reports, my appeals."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.api.body import json_body
from chalicelib.api.caller import client_ip, signed_in_borrower
from chalicelib.api.errors_http import as_error, json_response, route, status_of

appeals_api = Blueprint(__name__)


def _request() -> Request:
    return appeals_api.current_request


def _account_id() -> str:
    return signed_in_borrower(_request()).account_id


@route(appeals_api, "/v1/requests", methods=["GET"])
def list_my_requests() -> Response:
    """The borrower's requests with type, status, dates and rejection reason."""
    # lazy: services.appeals loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only list_my_requests() needs it
    from chalicelib.services.appeals import common

    return json_response({"items": common.my_appeals(_account_id())})


@route(appeals_api, "/v1/requests/{request_id}", methods=["GET"])
def get_my_request(request_id: str) -> Response:
    """One of the borrower's requests (any other id is 404)."""
    # lazy: services.appeals loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only get_my_request() needs it
    from chalicelib.services.appeals import common

    return json_response(common.view(common.own(_account_id(), request_id)))


@route(appeals_api, "/v1/phone-change-requests", methods=["POST"])
def start_phone_change() -> Response:
    """New number + password → a code to the new number and three upload forms."""
    # lazy: services.appeals loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only start_phone_change() needs it
    from chalicelib.services.appeals import phone_change

    body = json_body(_request())
    answer = phone_change.start(_account_id(), body, client_ip(_request()))
    return json_response(answer, status=201)


@route(appeals_api, "/v1/requests/{request_id}/confirm-phone", methods=["POST"])
def confirm_new_phone(request_id: str) -> Response:
    """The code sent to the new number."""
    # lazy: services.appeals loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only confirm_new_phone() needs it
    from chalicelib.services.appeals import phone_change

    body = json_body(_request())
    return json_response(phone_change.confirm_code(_account_id(), request_id, body))


@route(appeals_api, "/v1/requests/{request_id}/resend-code", methods=["POST"])
def resend_phone_code(request_id: str) -> Response:
    """Another code to the new number (cooldown and hourly cap apply)."""
    # lazy: services.appeals loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only resend_phone_code() needs it
    from chalicelib.services.appeals import phone_change

    answer = phone_change.resend_code(_account_id(), request_id, client_ip(_request()))
    return json_response(answer, status=202)


@route(appeals_api, "/v1/requests/{request_id}/uploads", methods=["POST"])
def renew_upload_forms(request_id: str) -> Response:
    """Fresh presigned upload forms (the previous ones expire after 15 minutes)."""
    # lazy: services.appeals loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only renew_upload_forms() needs it
    from chalicelib.services.appeals import phone_change

    return json_response(phone_change.fresh_upload_forms(_account_id(), request_id))


@route(appeals_api, "/v1/deletion-requests", methods=["POST"])
def request_deletion() -> Response:
    """Password → ask support to delete the account (refused while a loan is unpaid)."""
    # lazy: services.appeals loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only request_deletion() needs it
    from chalicelib.services.appeals import deletion

    account_id = _account_id()
    body = json_body(_request())
    return json_response(deletion.file(account_id, body), status=201)


@route(appeals_api, "/v1/me/compromise", methods=["POST"])
def report_compromise() -> Response:
    """«Кто-то другой в моём кабинете»: all sessions end now, a new password is required."""
    # lazy: services.appeals loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only report_compromise() needs it
    from chalicelib.services.appeals import compromise

    principal = signed_in_borrower(_request(), allow_consent_pending=True)
    body = json_body(_request())
    return json_response(compromise.report(principal.account_id, body), status=201)


@route(appeals_api, "/v1/compromise-reports", methods=["POST"])
def report_compromise_anonymously() -> Response:
    """«Не получается зайти»: no sign-in; the same answer whether or not the login exists."""
    # lazy: services.appeals loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only report_compromise_anonymously() needs it
    from chalicelib.services.appeals import compromise

    body = json_body(_request())
    answer = compromise.report_anonymously(body, client_ip(_request()))
    return json_response(answer, status=202)


# --- the one-time link sent by SMS to a number given by e-mail ----------------------

_LINK_PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hava — подтверждение номера</title></head>
<body><h1>Подтверждение номера телефона</h1><p>{message}</p>{form}</body></html>"""
_LINK_FORM = '<form method="post"><button type="submit">Подтвердить</button></form>'
_LINK_CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded"]


def _wants_html() -> bool:
    accept = _request().headers.get("accept") or ""
    return "text/html" in str(accept)


def _link_page(message: str, with_form: bool, status: int = 200) -> Response:

    body = _LINK_PAGE.format(message=escape(message), form=_LINK_FORM if with_form else "")
    return Response(
        body=body,
        status_code=status,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'none'; form-action 'self'",
        },
    )


def _link_answer(step: Callable[[str], dict[str, Any]], token: str, with_form: bool) -> Response:
    """The link page (a browser) or JSON; an error is a page too when a browser asks."""
    try:
        answer = step(token)
    except Exception as exc:
        error = as_error(exc)  # storage/AWS failures too: the page says «try later»
        if error is not None and _wants_html():
            return _link_page(str(error), with_form=False, status=status_of(error))
        raise
    if _wants_html():
        return _link_page(answer["message"], with_form=with_form)
    return json_response(answer)


@route(appeals_api, "/v1/phone-links/{token}", methods=["GET"])
def phone_link_page(token: str) -> Response:
    """The page the SMS link opens: confirming is a POST (link previews only GET)."""
    # lazy: services.appeals loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only phone_link_page() needs it
    from chalicelib.services.appeals import phone_change

    return _link_answer(phone_change.link_status, token, with_form=True)


@route(
    appeals_api,
    "/v1/phone-links/{token}",
    methods=["POST"],
    content_types=_LINK_CONTENT_TYPES,
)
def confirm_phone_link(token: str) -> Response:
    """Confirm the new number of a phone change filed by e-mail (single use)."""
    # lazy: services.appeals loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only confirm_phone_link() needs it
    from chalicelib.services.appeals import phone_change

    return _link_answer(phone_change.confirm_link, token, with_form=False)
