"""The browser pages: the borrower's cabinet at ``/`` and the support desk at ``/staff``.

Static HTML, CSS and ES modules from ``chalicelib/web`` (no build step), served
by the API itself so that pages and API share one origin: the session cookie
stays ``SameSite=Strict`` and host-only, no CORS is needed, and the same bundle
works under ``make run`` and behind API Gateway. The pages are clients of the
API and decide nothing.

Every answer carries a strict Content-Security-Policy: scripts and styles only
from this origin (no inline code), Trusted Types required for DOM sinks, no
framing. Uploads go from the browser straight to the documents bucket and staff
view photos from it, so the bucket's origin (as the S3 client signs its URLs)
is allowed for ``connect-src`` and ``img-src``. ``blob:`` images are the
borrower's own photo shown back before it is sent (a preview made in the page
from the chosen file; scripts can never load from ``blob:``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from chalice import Blueprint, Response

from chalicelib.adapters import aws
from chalicelib.api.errors_http import route
from chalicelib.config import get_settings
from chalicelib.errors import NotFound

web_api = Blueprint(__name__)

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
PAGES = {"/": "index.html", "/staff": "staff.html"}
#: Every path this blueprint serves (not part of the JSON API nor of openapi.json).
WEB_PATHS = frozenset({*PAGES, "/assets/{name}"})
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
_ASSET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}\.(css|js|svg)")
#: Revalidated on every use (ETag → 304): file names carry no content hash, and a
#: deploy must never leave a browser with an old module beside a new one.
CACHE_CONTROL = "no-cache"


@dataclass(frozen=True)
class StaticFile:
    """One file of ``chalicelib/web`` ready to send."""

    body: str
    content_type: str
    etag: str


@lru_cache(maxsize=64)
def static_file(name: str) -> StaticFile:
    """A file of the web folder by plain name (``NotFound`` for anything else)."""
    path = WEB_DIR / name
    suffix = path.suffix
    if "/" in name or suffix not in CONTENT_TYPES or not path.is_file():
        raise NotFound("Такой страницы нет.")
    body = path.read_text(encoding="utf-8")
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]
    return StaticFile(body=body, content_type=CONTENT_TYPES[suffix], etag=f'"{digest}"')


@lru_cache(maxsize=1)
def documents_origins() -> tuple[str, ...]:
    """Origins of the documents bucket's presigned URLs (uploads and staff photo links).

    Signed locally by the same S3 client the API uses (no network call), so the
    policy follows ``AWS_ENDPOINT_URL[_S3]``: moto locally, S3 or an in-country
    store in production. Without credentials the pages still load, minus uploads.
    """
    try:
        s3 = aws.client("s3")
        bucket = get_settings().documents_bucket
        urls = [
            s3.generate_presigned_post(Bucket=bucket, Key="csp-probe", ExpiresIn=60)["url"],
            s3.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": "csp-probe"}, ExpiresIn=60
            ),
        ]
    except Exception:  # no credentials/endpoint: a policy without the bucket
        return ()
    origins = {f"{part.scheme}://{part.netloc}" for part in map(urlsplit, urls)}
    return tuple(sorted(origins))


@lru_cache(maxsize=1)
def content_security_policy() -> str:
    """The policy of every page and asset."""
    bucket = " ".join(documents_origins())
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' blob: {bucket}".rstrip(),
        f"connect-src 'self' {bucket}".rstrip(),
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ]
    return "; ".join(directives)


def _send(name: str) -> Response:
    file = static_file(name)
    headers: dict[str, str | list[str]] = {
        "Content-Type": file.content_type,
        "Cache-Control": CACHE_CONTROL,
        "ETag": file.etag,
        "Content-Security-Policy": content_security_policy(),
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    }
    request = web_api.current_request
    if file.etag in (request.headers.get("if-none-match") or ""):
        return Response(body="", status_code=304, headers=headers)
    return Response(body=file.body, status_code=200, headers=headers)


@route(web_api, "/", methods=["GET"])
def borrower_page() -> Response:
    """The borrower's cabinet: calculator, registration, sign-in, cabinet."""
    return _send(PAGES["/"])


@route(web_api, "/staff", methods=["GET"])
def staff_page() -> Response:
    """The support desk: sign-in with TOTP, queue, review, decisions, audit."""
    return _send(PAGES["/staff"])


@route(web_api, "/assets/{name}", methods=["GET"])
def asset(name: str) -> Response:
    """A stylesheet, script module or icon of the pages."""
    if not _ASSET_NAME.fullmatch(name):
        raise NotFound("Такого файла нет.")
    return _send(name)
