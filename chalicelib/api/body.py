"""Request body parsing: the JSON object a route expects, or a clean 4xx."""

from __future__ import annotations

import json
from typing import Any

from chalice.app import Request

from chalicelib.config import get_settings
from chalicelib.errors import BadRequest, PayloadTooLarge
from chalicelib.i18n import N_


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
