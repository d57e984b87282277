"""Health and the OpenAPI description (both answer during maintenance)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.errors_http import json_response, route

meta_api = Blueprint(__name__)
OPENAPI_PATH = Path(__file__).with_name("openapi.json")


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3 description shipped with the code."""
    document: dict[str, Any] = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    return document


@route(meta_api, "/health", methods=["GET"])
def health() -> Response:
    """Liveness: answers even in maintenance mode."""
    return json_response({"status": "ok"})


@route(meta_api, "/openapi.json", methods=["GET"])
def openapi() -> Response:
    """The API description."""
    return json_response(openapi_document())
