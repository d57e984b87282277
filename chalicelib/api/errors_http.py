"""The one place where errors become HTTP: statuses, the error body, the route wrapper.

Every error body has one shape::

    {"error": {"code": "validation_failed", "message": "…", "fields": {"iin": "…"}}}

``code`` is stable for programs, ``message`` is Russian for people, ``fields``
appears when specific fields are at fault.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response

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
MAINTENANCE_RETRY_AFTER = "1800"


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


def as_error(exc: Exception) -> HavaError | None:
    """The domain error an exception answers as: itself, ``ServiceUnavailable`` for a
    storage or AWS client failure (pynamodb's errors, botocore's), else None (a bug).

    The one mapping of storage and AWS failures: services let them propagate.
    """
    if isinstance(exc, HavaError):
        return exc
    # lazy: pynamodb + botocore ≈ 317 ms CPU at cold start; only as_error() needs it
    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    if isinstance(exc, BotoCoreError | ClientError | PynamoDBException):
        return ServiceUnavailable()
    return None


def handles_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a view: domain errors → their status; storage/AWS failures → 503; else → 500."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except Exception as exc:
            error = as_error(exc)
            if error is not None:
                if error is not exc:
                    logger.warning("dependency failed", extra={"error": type(exc).__name__})
                return error_response(error)
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


def chalice_error_to_ours(response: Response) -> Response:
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
