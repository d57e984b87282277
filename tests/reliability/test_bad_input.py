"""The bad input corpus: every hostile body is a 4xx in Russian, naming the field, leaving nothing.

Complements ``tests/api/test_registration_flow.py`` (invalid fields, strange
bodies on confirm and login) across every borrower POST route that takes a body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.domain.iin import check_digit
from tests.helpers import PASSWORD, Api, form
from tests.workers.test_uploads_worker import Uploads, uploads  # noqa: F401

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
#: Borrower POST routes with a body; ``{rid}``/``{req}`` are filled per test.
ROUTES: list[tuple[str, bool]] = [
    ("/v1/registrations", False),
    ("/v1/registrations/{rid}/confirm", False),
    ("/v1/sessions", False),
    ("/v1/compromise-reports", False),
    ("/v1/me/password", True),
    ("/v1/phone-change-requests", True),
    ("/v1/requests/{req}/confirm-phone", True),
    ("/v1/me/compromise", True),
]
DEEP = ("[" * 10_000 + "]" * 10_000).encode()
BODIES: dict[str, bytes] = {
    "oversized": json.dumps({"description": "я" * 40_000}).encode(),
    "nested_10000": DEEP,
    "nested_object_10000": ('{"a":' * 10_000 + "1" + "}" * 10_000).encode(),
    "invalid_utf8": b'{"login": "\xff\xfe\xfa", "password": "\xc3\x28"}',
    "not_an_object": b'["login", "password"]',
    "nosql_operator": json.dumps({"$ne": None, "$where": "1==1"}).encode(),
    "huge_number": b'{"amount": 1e308, "term_days": 100000000000000000000000000000}',
    "nan": b'{"amount": NaN, "term_days": Infinity}',
}


def impossible_date_iin() -> str:
    """A checksum-valid IIN born on the 31st of the 13th month."""
    for serial in range(1000, 2000):
        first = f"9013313{serial:04d}"
        digit = check_digit(first)
        if digit is not None:
            return first + str(digit)
    raise AssertionError("no check digit found")


def table_counts() -> dict[str, int]:
    from chalicelib.storage.accounts import AccountModel, IdentifierModel
    from chalicelib.storage.challenges import ChallengeModel
    from chalicelib.storage.loans import LoanModel
    from chalicelib.storage.requests import RequestModel
    from devstack.consistency import count_items

    models = (AccountModel, IdentifierModel, ChallengeModel, LoanModel, RequestModel)
    return {m.__name__: count_items(m) for m in models}


def clean_4xx_problem(reply: Any, field: str | None = None) -> str | None:
    """Why ``reply`` is not a 4xx with a Russian message naming ``field`` (None if it is)."""
    if not 400 <= reply.status < 500:
        return f"HTTP {reply.status} {reply.body}"
    error = (reply.body or {}).get("error", {})
    if not CYRILLIC.search(str(error.get("message", ""))):
        return f"no Russian message: {error}"
    if field is not None and not CYRILLIC.search(str(error.get("fields", {}).get(field, ""))):
        return f"field {field!r} not named: {error}"
    return None


#: One moto per test is the slow part: each test runs its whole corpus, then asserts.
def run_corpus(cases: list[tuple[str, Callable[[], Any], str | None]]) -> list[str]:
    """``(label, call, field)`` → the problems found (a call that changed a table is one)."""
    problems = []
    for label, call, field in cases:
        before = table_counts()
        reply = call()
        problem = clean_4xx_problem(reply, field)
        if problem:
            problems.append(f"{label}: {problem}")
        if table_counts() != before:
            problems.append(f"{label}: left items behind")
    return problems


@pytest.mark.parametrize(("route", "needs_session"), ROUTES)
def test_hostile_bodies_get_a_russian_4xx_and_leave_nothing(
    api: Api, route: str, needs_session: bool
) -> None:
    token = api.register()["token"] if needs_session else None
    path = route.format(rid="reg_" + "0" * 32, req="req_" + "0" * 32)

    problems = run_corpus(
        [
            (name, lambda body=body: api.call("POST", path, token=token, raw=body), None)
            for name, body in sorted(BODIES.items())
        ]
    )

    assert problems == []


REGISTRATION_FIELDS: list[tuple[str, Any]] = [
    ("surname", "Тест\x00ова"),
    ("surname", "Тест\u202eова"),  # right-to-left override
    ("name", "Әлия\u200f"),  # right-to-left mark
    ("name", "\u0007Әлия"),
    ("surname", "' OR 1=1 --"),
    ("surname", {"$ne": None}),
    ("patronymic", "Robert'); DROP TABLE accounts;--"),
    ("iin", {"$ne": None}),
    ("iin", "' OR 1=1 --"),
    ("iin", impossible_date_iin()),
    ("amount", 1e308),
    ("amount", 10**30),
    ("amount", -50_000),
    ("amount", "50000"),
    ("term_days", -15),
    ("term_days", 10**30),
    ("phone", "+79161234567"),  # Russia
    ("phone", "+12025550123"),  # USA
    ("phone", "+380501234567"),  # Ukraine
    ("phone", {"$gt": ""}),
    ("email", "пользователь@example.kz"),  # non-ASCII local part (no SMTPUTF8)
    ("email", "a@b"),
    ("email", "x" * 300 + "@example.kz"),
    ("id_number", "12345678\u0660"),  # an Arabic-Indic digit
    ("id_issued_on", "2020-02-30"),
]


def test_hostile_registration_fields_are_named_in_russian_and_nothing_is_kept(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.config import reset_settings

    # Every case comes from one address: the per-address window would answer 429 first.
    monkeypatch.setenv("HAVA_REGISTRATION_PER_IP_PER_HOUR", "1000")
    reset_settings()
    problems = run_corpus(
        [
            (f"{field}={value!r:.40}", lambda f=field, v=value: api.start(form(**{f: v})), field)
            for field, value in REGISTRATION_FIELDS
        ]
    )

    assert problems == []
    assert api.deliver() == 0  # no SMS queued


def test_an_e_mail_with_a_unicode_domain_is_stored_in_its_ascii_form(api: Api) -> None:
    # IDNA domains are valid addresses (email-validator turns them into punycode):
    # accepted on purpose, not a bad input.
    reply = api.start(form(email="borrower@пример.kz"))

    assert reply.status == 202, reply.body


SIGNED_IN_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("/v1/phone-change-requests", {"password": PASSWORD, "new_phone": "+79161234567"}, "new_phone"),
    (
        "/v1/phone-change-requests",
        {"password": {"$ne": None}, "new_phone": "+77011234567"},
        "password",
    ),
    (
        "/v1/me/password",
        {"current_password": 1e308, "new_password": "x", "new_password_confirm": "x"},
        "current_password",
    ),
    ("/v1/me/compromise", {"description": {"$ne": None}}, "description"),
]


def test_hostile_fields_on_signed_in_routes_are_named(api: Api) -> None:
    token = api.register()["token"]

    problems = run_corpus(
        [
            (f"{path} {field}", lambda p=path, b=body: api.post(p, b, token=token), field)
            for path, body, field in SIGNED_IN_FIELDS
        ]
    )

    assert problems == []


ANONYMOUS_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("/v1/sessions", {"login": {"$ne": None}, "password": {"$ne": None}}, "login"),
    ("/v1/sessions", {"login": "' OR 1=1 --", "password": 10**30}, "password"),
    (
        "/v1/compromise-reports",
        {"login": "x", "contact": "+12025550123", "description": "Не могу войти в кабинет"},
        "contact",
    ),
    (
        "/v1/compromise-reports",
        {"login": {"$ne": None}, "contact": "a@example.kz", "description": "Не могу войти"},
        "login",
    ),
]


def test_hostile_fields_on_anonymous_routes_are_named(api: Api) -> None:
    problems = run_corpus(
        [
            (f"{path} {field}", lambda p=path, b=body: api.post(p, b), field)
            for path, body, field in ANONYMOUS_FIELDS
        ]
    )

    assert problems == []


def _html() -> bytes:
    return b"<html><script>alert(1)</script></html>"


def _png_header_then_garbage() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 100


def _pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def _svg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def _zip() -> bytes:
    return b"PK\x03\x04" + b"\x00" * 200


LIES: list[tuple[str, Callable[[], bytes], str]] = [
    ("html_as_jpeg", _html, "image/jpeg"),
    ("png_header_garbage", _png_header_then_garbage, "image/png"),
    ("pdf_as_jpeg", _pdf, "image/jpeg"),
    ("svg_as_png", _svg, "image/png"),
    ("zip_as_jpeg", _zip, "image/jpeg"),
]


def test_uploads_that_lie_about_their_type_are_rejected_in_russian(
    uploads: Uploads,  # noqa: F811
) -> None:
    verdicts = {}
    for name, content, content_type in LIES:
        request_id = uploads.new_request()
        uploads.upload(request_id, "id_front", content(), content_type)
        entry = uploads.request(request_id).documents.as_dict()["id_front"]
        verdicts[name] = (entry["status"], bool(CYRILLIC.search(str(entry["reason"]))))

    assert verdicts == {name: ("rejected", True) for name, _, _ in LIES}
