"""The OpenAPI description stays in sync with the routes and with what they really answer."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

import chalicelib
from chalicelib import errors
from chalicelib.api.meta import OPENAPI_PATH
from chalicelib.api.middleware import ALWAYS_ON, SECURITY_HEADERS
from chalicelib.api.web_session import ADMIN_PREFIX
from tests.api.test_appeals import (
    accept_documents,
    after_cooldown,
    set_loan_status,
    signed_in,
    start_phone_change,
)
from tests.conftest import FrozenClock
from tests.helpers import PASSWORD, Api, Reply, form, make_staff, staff_login
from tests.staffing import STAFF_PASSWORD

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
#: Which bearer scheme a secured operation must name: staff tokens for the desk, else borrowers'.
STAFF_SCHEME, BORROWER_SCHEME = "staffBearer", "bearerAuth"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    return loaded


def documented_operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(path, METHOD) → operation object."""
    return {
        (path, method.upper()): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/components/…``) until a plain object."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def documented_response(
    document: dict[str, Any], method: str, template: str, status: int
) -> dict[str, Any]:
    operation = document["paths"][template][method.lower()]
    documented = operation["responses"]
    assert str(status) in documented, (
        f"{method} {template} answered {status}, documented: {sorted(documented)}"
    )
    return resolve(document, documented[str(status)])


def concrete(template: str, value: str = "x-1") -> str:
    """A path template with every ``{parameter}`` filled in."""
    return re.sub(r"\{[^}]+\}", value, template)


def schemes(operation: dict[str, Any]) -> set[str]:
    """The security schemes an operation requires (none for a public one)."""
    return {name for requirement in operation.get("security", []) for name in requirement}


def assert_conforms(document: dict[str, Any], method: str, template: str, reply: Reply) -> None:
    """The status is documented for the operation; the body and headers fit its response."""
    response = documented_response(document, method, template, reply.status)
    content = response.get("content", {})
    if content:
        schema = {**content["application/json"]["schema"], "components": document["components"]}
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        problems = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(reply.body)
        ]
        assert not problems, f"{method} {template} {reply.status}: {problems}\n{reply.body}"
    else:
        assert reply.body is None, f"{method} {template} {reply.status} has no documented body"
    headers = {name.lower(): value for name, value in reply.headers.items()}
    for name, header_ref in response.get("headers", {}).items():
        header = resolve(document, header_ref)
        value = headers.get(name.lower())
        if header.get("required"):
            assert value is not None, f"{method} {template} {reply.status}: no {name} header"
        if value is not None and "const" in header["schema"]:
            assert value == header["schema"]["const"], name
        if value is not None and header["schema"].get("type") == "integer":
            assert value.isdigit() and int(value) >= header["schema"].get("minimum", 0), name


# --- the document itself -------------------------------------------------------------------


def test_document_is_a_valid_openapi_description(document: dict[str, Any]) -> None:
    # GIVEN the shipped document WHEN it is validated THEN the OpenAPI schema accepts it
    validate_openapi(document)


def test_every_route_is_documented_and_nothing_else(document: dict[str, Any]) -> None:
    # GIVEN the routes the Chalice app really serves
    from app import app
    from chalicelib.api.web import WEB_PATHS

    # (the HTML pages and their assets are declared outside the JSON API: WEB_PATHS)
    served = {
        (path, method): entry.view_name
        for path, entries in app.routes.items()
        for method, entry in entries.items()
        if path not in WEB_PATHS
    }
    # WHEN they are compared with the document
    operations = documented_operations(document)
    # THEN the same (path, method) pairs are described, each named after its view function
    assert set(operations) == set(served)
    assert {key: op["operationId"] for key, op in operations.items()} == served


def test_borrower_routes_document_maintenance_and_the_always_on_routes_do_not(
    document: dict[str, Any],
) -> None:
    for (path, method), operation in documented_operations(document).items():
        unavailable = operation["responses"].get("503")
        if path in ALWAYS_ON:
            assert unavailable is None, f"{method} {path} answers during maintenance"
            continue
        assert unavailable is not None, f"{method} {path} lacks the 503"
        assert "Retry-After" in resolve(document, unavailable)["headers"]
        # The staff desk keeps working during maintenance: only a dependency failure is a 503.
        expected = "ServiceUnavailable" if path.startswith(ADMIN_PREFIX) else "Unavailable"
        assert unavailable == {"$ref": f"#/components/responses/{expected}"}, (method, path)
    assert (
        "maintenance"
        not in document["components"]["responses"]["ServiceUnavailable"]["description"]
    )


def test_signed_in_routes_require_the_bearer_scheme_of_their_side(
    document: dict[str, Any],
) -> None:
    # GIVEN the two token kinds: borrowers' and staff's
    for name in (BORROWER_SCHEME, STAFF_SCHEME):
        scheme = document["components"]["securitySchemes"][name]
        assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    # THEN a secured operation names exactly one scheme: staff under /admin/, borrowers' elsewhere
    for (path, method), operation in documented_operations(document).items():
        required = schemes(operation)
        if not required:
            continue
        expected = STAFF_SCHEME if path.startswith(ADMIN_PREFIX) else BORROWER_SCHEME
        assert required == {expected}, (method, path, required)
        assert "401" in operation["responses"], f"{method} {path}: secured without a 401"
    # AND every desk route but the sign-in and the enrolment by one-time link is secured
    # (which ones a borrower needs is probed live)
    staff_public = {
        key
        for key, operation in documented_operations(document).items()
        if key[0].startswith(ADMIN_PREFIX) and not schemes(operation)
    }
    assert staff_public == {("/admin/v1/sessions", "POST"), ("/admin/v1/enrolment", "POST")}
    assert "security" not in document, "public routes must not inherit a security requirement"


def every_error_class() -> set[type[errors.HavaError]]:
    """``HavaError`` and every subclass, wherever in ``chalicelib`` it is defined."""
    for module in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: set[type[errors.HavaError]] = set()
    pending: list[type[errors.HavaError]] = [errors.HavaError]
    while pending:
        cls = pending.pop()
        if cls not in found:
            found.add(cls)
            pending.extend(cls.__subclasses__())
    return found


def test_every_error_code_of_the_application_is_documented(document: dict[str, Any]) -> None:
    # GIVEN every error class (errors.py, and subclasses defined elsewhere, e.g. UnpaidLoan)
    raised = {cls.code for cls in every_error_class()}
    assert {"unpaid_loan", "password_recovery_required"} <= raised
    # Chalice's own 405/415 bodies are rewritten to these codes in chalicelib.api.errors_http.
    rewritten = {"method_not_allowed", "unsupported_media_type", "bad_request"}
    # THEN the documented enum is exactly those codes
    assert set(document["components"]["schemas"]["ErrorCode"]["enum"]) == raised | rewritten


def test_documented_security_headers_are_the_ones_sent(document: dict[str, Any]) -> None:
    headers = document["components"]["headers"]
    assert {name: headers[name]["schema"]["const"] for name in SECURITY_HEADERS} == (
        SECURITY_HEADERS
    )


# --- what the app really answers -----------------------------------------------------------


def test_openapi_route_serves_the_document(api: Api, document: dict[str, Any]) -> None:
    reply = api.get("/openapi.json")
    assert reply.status == 200
    assert reply.body == document
    assert_conforms(document, "GET", "/openapi.json", reply)


def test_a_borrower_flow_answers_as_documented(api: Api, document: dict[str, Any]) -> None:
    # GIVEN a fresh stack and a valid questionnaire
    data = form()

    def check(method: str, template: str, reply: Reply, status: int) -> Reply:
        assert reply.status == status, reply.body
        assert_conforms(document, method, template, reply)
        return reply

    # WHEN a borrower goes from the calculator to the cabinet and out again
    check("GET", "/health", api.get("/health"), 200)
    check("GET", "/v1/product", api.get("/v1/product"), 200)
    calc = "/v1/calculator"
    check("GET", calc, api.get(f"{calc}?amount=50000&term_days=15"), 200)
    check("GET", calc, api.get(f"{calc}?amount=5&term_days=15"), 400)
    check("GET", calc, api.get(f"{calc}?amount=abc"), 400)
    started = check("POST", "/v1/registrations", api.start(data), 202)
    rid = started.body["registration_id"]
    resend = "/v1/registrations/{registration_id}/resend"
    confirm = "/v1/registrations/{registration_id}/confirm"
    check("POST", resend, api.post(f"/v1/registrations/{rid}/resend"), 429)
    check("POST", resend, api.post("/v1/registrations/reg-unknown/resend"), 404)
    check("POST", confirm, api.post(f"/v1/registrations/{rid}/confirm", {"code": "x"}), 422)
    code = api.latest_code(data["phone"])
    done = check("POST", confirm, api.post(f"/v1/registrations/{rid}/confirm", {"code": code}), 201)
    check("POST", confirm, api.post(f"/v1/registrations/{rid}/confirm", {"code": code}), 422)
    token = check("POST", "/v1/sessions", api.login(data["email"].upper()), 201).body["token"]
    check("GET", "/v1/me", api.get("/v1/me", token=token), 200)
    loans = check("GET", "/v1/me/loans", api.get("/v1/me/loans", token=token), 200)
    check(
        "DELETE",
        "/v1/sessions/current",
        api.call("DELETE", "/v1/sessions/current", token=token),
        204,
    )

    # THEN every answer fits its documented status and schema
    assert loans.body["items"][0]["loan_id"] == done.body["loan_id"]
    check("GET", "/v1/me", api.get("/v1/me", token=token), 401)
    check("GET", "/v1/me/loans", api.get("/v1/me/loans"), 401)
    check("DELETE", "/v1/sessions/current", api.call("DELETE", "/v1/sessions/current"), 401)
    check("POST", "/v1/sessions", api.login(data["phone"], PASSWORD + "x"), 401)


def test_refusals_answer_as_documented(api: Api, document: dict[str, Any]) -> None:
    def check(method: str, template: str, reply: Reply, status: int, code: str) -> None:
        assert (reply.status, reply.error["code"]) == (status, code), reply.body
        assert_conforms(document, method, template, reply)

    start = "/v1/registrations"
    bad = form(iin="123", surname="", color="green")
    reply = api.start(bad)
    check("POST", start, reply, 400, "validation_failed")
    assert {"iin", "surname", "color"} <= set(reply.error["fields"])
    check("POST", start, api.call("POST", start, raw=b"{not json"), 400, "bad_request")
    check("POST", start, api.call("POST", start, raw=b"[1, 2]"), 400, "bad_request")
    big = json.dumps({"login": "x" * 20_000, "password": "y"}).encode()
    check(
        "POST", "/v1/sessions", api.call("POST", "/v1/sessions", raw=big), 413, "payload_too_large"
    )
    text = {"Content-Type": "text/plain"}
    reply = api.call("POST", "/v1/sessions", body={"login": "a"}, headers=text)
    check("POST", "/v1/sessions", reply, 415, "unsupported_media_type")
    check("POST", "/v1/sessions", api.post("/v1/sessions", {}), 400, "validation_failed")


def test_maintenance_answers_as_documented(
    api: Api, document: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.config import reset_settings

    # GIVEN maintenance mode is switched on
    monkeypatch.setenv("HAVA_MAINTENANCE", "true")
    reset_settings()
    # WHEN any documented route is called
    for path, method in documented_operations(document):
        reply = api.call(method, concrete(path), body={} if method == "POST" else None)
        # THEN borrower routes answer the documented 503, the always-on ones still 200,
        # and the staff desk answers as usual (here: no token or an empty sign-in form)
        if path in ALWAYS_ON:
            assert reply.status == 200, (path, reply.body)
        elif path.startswith(ADMIN_PREFIX):
            assert reply.status in (400, 401), (path, reply.body)
        else:
            assert (reply.status, reply.error["code"]) == (503, "maintenance"), path
            assert reply.headers["Retry-After"] == "1800"
        assert_conforms(document, method, path, reply)


# --- who may call what: the document's security against the live routes ------------------


def set_account(account_id: str, **values: Any) -> None:
    """Change a borrower's account straight in the table (the state a probe needs)."""
    from chalicelib.storage.accounts import AccountModel
    from devstack.reindex_logins import reindex_account

    account = AccountModel.get(account_id)
    for name, value in values.items():
        setattr(account, name, value)
    account.save()
    reindex_account(account_id)  # the guards' sign-in copy follows the account


def documented_403_codes(document: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    forbidden = operation["responses"].get("403")
    description = resolve(document, forbidden)["description"] if forbidden else ""
    return {
        code for code in ("password_recovery_required", "consent_required") if code in description
    }


def test_exactly_the_secured_operations_refuse_a_caller_without_a_token(
    api: Api, document: dict[str, Any]
) -> None:
    # GIVEN every documented operation WHEN it is called without a token
    for (path, method), operation in documented_operations(document).items():
        reply = api.call(method, concrete(path), body={} if method == "POST" else None)
        refused = reply.status == 401 and reply.error["code"] == "unauthenticated"
        # THEN it answers 401 exactly when the document asks for a bearer token
        assert refused == bool(schemes(operation)), (method, path, reply.status, reply.body)
        assert_conforms(document, method, path, reply)


@pytest.mark.parametrize(
    ("code", "state"),
    [
        ("password_recovery_required", {"must_change_password": True}),
        ("consent_required", {"consent_version": "2000-01"}),
    ],
)
def test_the_403_of_a_restricted_session_is_documented_where_it_is_answered(
    api: Api, document: dict[str, Any], code: str, state: dict[str, Any]
) -> None:
    # GIVEN a borrower whose session is restricted (password suspect / new consent text)
    from chalicelib.config import get_settings
    from chalicelib.services.sessions import start_session

    current = get_settings().consent_version
    data, token = signed_in(api)
    account_id = api.get("/v1/me", token=token).body["account_id"]

    def restricted_token() -> str:
        set_account(
            account_id, **{"must_change_password": False, "consent_version": current, **state}
        )
        if "must_change_password" in state:
            # Sign-in no longer opens a session with a suspect password; one opened before
            # (legacy sessions, a race with the report) must still be refused everywhere.
            return start_session(account_id, None, restricted=True).token
        return str(api.login(data["email"]).body["token"])

    token = restricted_token()
    refused_somewhere = answered_somewhere = False
    # WHEN every borrower operation is called with it
    for (path, method), operation in documented_operations(document).items():
        if BORROWER_SCHEME not in schemes(operation):
            continue
        reply = api.call(method, concrete(path), body={} if method == "POST" else None, token=token)
        # THEN it is refused with that code exactly where the document says so
        refused = reply.status == 403 and reply.error["code"] == code
        assert refused == (code in documented_403_codes(document, operation)), (
            method,
            path,
            reply.status,
            reply.body,
        )
        assert_conforms(document, method, path, reply)
        refused_somewhere |= refused
        answered_somewhere |= reply.status < 300
        if reply.status < 300:  # sign-out, compromise report…: the session may be gone
            token = restricted_token()
    assert refused_somewhere and answered_somewhere


# --- the main new flows answer as documented -----------------------------------------------


def checker(api: Api, document: dict[str, Any]) -> Any:
    def check(
        method: str,
        template: str,
        status: int,
        body: Any = None,
        token: str | None = None,
        code: str | None = None,
        **params: str,
    ) -> Reply:
        path = template.format(**params)
        if method == "POST" and body is None:
            body = {}
        reply = api.call(method, path, body=body, token=token)
        assert reply.status == status, (method, path, reply.body)
        if code is not None:
            assert reply.error["code"] == code, reply.body
        assert_conforms(document, method, template.partition("?")[0], reply)
        return reply

    return check


def test_borrower_requests_answer_as_documented(
    api: Api, document: dict[str, Any], frozen_clock: FrozenClock
) -> None:
    check = checker(api, document)
    data, token = signed_in(api)
    account_id = check("GET", "/v1/me", 200, token=token).body["account_id"]
    new_phone = "+7 701 555 00 11"

    # phone change: start (three presigned forms), code to the new number, confirm
    pcr = "/v1/phone-change-requests"
    check("POST", pcr, 400, {"password": "не-тот-пароль-123", "new_phone": new_phone}, token)
    check("POST", pcr, 400, {"password": PASSWORD, "new_phone": new_phone, "x": 1}, token)
    started = check("POST", pcr, 201, {"password": PASSWORD, "new_phone": new_phone}, token)
    rid = started.body["request_id"]
    assert set(started.body["uploads"]) == {"id_front", "id_back", "selfie"}
    check("POST", pcr, 409, {"password": PASSWORD, "new_phone": "+77015550012"}, token)
    check("POST", "/v1/requests/{request_id}/resend-code", 429, token=token, request_id=rid)
    code = api.latest_code("+77015550011")
    confirm = "/v1/requests/{request_id}/confirm-phone"
    wrong = "111111" if code != "111111" else "222222"
    check("POST", confirm, 422, {"code": wrong}, token, "code_invalid", request_id=rid)
    check("POST", confirm, 404, {"code": code}, token, request_id="req_unknown")
    confirmed = check("POST", confirm, 200, {"code": code}, token, request_id=rid)
    assert confirmed.body["phone_confirmed"] is True
    check("POST", "/v1/requests/{request_id}/resend-code", 409, token=token, request_id=rid)
    check("POST", "/v1/requests/{request_id}/uploads", 200, token=token, request_id=rid)

    # my requests
    listed = check("GET", "/v1/requests", 200, token=token)
    assert [r["request_id"] for r in listed.body["items"]] == [rid]
    check("GET", "/v1/requests/{request_id}", 200, token=token, request_id=rid)
    check("GET", "/v1/requests/{request_id}", 404, token=token, request_id="req_unknown")

    # deletion: refused while a loan is unpaid, then filed once
    set_loan_status(account_id, "issued")
    deletion = {"password": PASSWORD}
    check("POST", "/v1/deletion-requests", 409, deletion, token, "unpaid_loan")
    set_loan_status(account_id, "repaid")
    check("POST", "/v1/deletion-requests", 400, {}, token, "validation_failed")
    check("POST", "/v1/deletion-requests", 400, {"password": "не-тот-пароль-123"}, token)
    check("POST", "/v1/deletion-requests", 201, deletion, token)
    check("POST", "/v1/deletion-requests", 409, deletion, token, "conflict")

    # compromise: anonymous report, signed-in report, then the forced password change
    reports = "/v1/compromise-reports"
    check("POST", reports, 400, {"login": "x", "contact": "?", "description": ""})
    report = {"login": data["iin"], "contact": data["email"], "description": "Пароль не подходит"}
    check("POST", reports, 202, report)
    check("POST", "/v1/me/compromise", 400, {"text": "?"}, token)
    check("POST", "/v1/me/compromise", 201, {"description": "Чужой вход ночью"}, token)
    check("GET", "/v1/me", 401, token=token)
    old = {"login": data["iin"], "password": PASSWORD}
    check("POST", "/v1/sessions", 403, old, code="password_recovery_required")
    check("POST", "/v1/sessions", 401, {**old, "password": "не-тот-пароль-123"})
    # the way back in: recovery by the code sent to the phone of record
    after_cooldown(frozen_clock)
    started = check("POST", "/v1/password-recovery", 202, {"login": data["iin"]})
    new_password = "новый-длинный-пароль-2026"
    change = {"new_password": new_password, "new_password_confirm": new_password}
    code = api.latest_code(data["phone"])
    rid = started.body["recovery_id"]
    confirm = "/v1/password-recovery/{recovery_id}/confirm"
    check("POST", confirm, 200, {"code": code, **change}, recovery_id=rid)
    signed = check("POST", "/v1/sessions", 201, {**old, "password": new_password})
    assert signed.body["must_change_password"] is False
    check("GET", "/v1/requests", 200, token=signed.body["token"])
    check("GET", "/v1/requests", 401, token=token)


def test_account_and_privacy_routes_answer_as_documented(
    api: Api, document: dict[str, Any], frozen_clock: FrozenClock
) -> None:
    check = checker(api, document)
    data, token = signed_in(api)
    other = check("POST", "/v1/sessions", 201, {"login": data["iin"], "password": PASSWORD})

    # sessions, consent, export
    sessions = check("GET", "/v1/me/sessions", 200, token=token).body["items"]
    assert [s["current"] for s in sessions].count(True) == 1
    check("DELETE", "/v1/me/sessions/{session_id}", 404, token=token, session_id="ses_unknown")
    mine = next(s["session_id"] for s in sessions if not s["current"])
    check("DELETE", "/v1/me/sessions/{session_id}", 204, token=token, session_id=mine)
    check("GET", "/v1/me", 401, token=other.body["token"])
    check("POST", "/v1/me/sessions/end-others", 200, token=token)
    consent = check("GET", "/v1/consent", 200).body
    check("POST", "/v1/me/consent", 400, {"version": "1999-01"}, token)
    check("POST", "/v1/me/consent", 200, {"version": consent["version"]}, token)
    check("GET", "/v1/me/export", 200, token=token)

    # e-mail change
    check("POST", "/v1/me/email", 400, {"password": "x", "new_email": "new@example.kz"}, token)
    check("POST", "/v1/me/email", 202, {"password": PASSWORD, "new_email": "new@example.kz"}, token)
    check("POST", "/v1/me/email/confirm", 422, {"code": "abc"}, token, code="code_invalid")
    api.deliver()
    mail = [m["text"] for m in api.aws.outbox() if m["to"] == "new@example.kz"]
    email_code = re.findall(r"\b(\d{6})\b", mail[-1])[0]
    changed = check("POST", "/v1/me/email/confirm", 200, {"code": email_code}, token).body
    assert changed["email"] != "new@example.kz"

    # password recovery (past the cooldown of the registration code to the same phone)
    after_cooldown(frozen_clock)
    recovery = "/v1/password-recovery"
    check("POST", recovery, 400, {"login": data["phone"], "extra": True})
    started = check("POST", recovery, 202, {"login": data["phone"]}).body
    rid = started["recovery_id"]
    check("POST", recovery + "/{recovery_id}/resend", 429, recovery_id=rid)
    check("POST", recovery + "/{recovery_id}/resend", 404, recovery_id="rec_unknown")
    code = api.latest_code(data["phone"])
    new_password = "другой-длинный-пароль-2026"
    body = {"code": code, "new_password": new_password, "new_password_confirm": new_password}
    check(
        "POST",
        recovery + "/{recovery_id}/confirm",
        400,
        {**body, "new_password_confirm": "x"},
        recovery_id=rid,
    )
    wrong = "111111" if code != "111111" else "222222"
    check(
        "POST", recovery + "/{recovery_id}/confirm", 422, {**body, "code": wrong}, recovery_id=rid
    )
    done = check("POST", recovery + "/{recovery_id}/confirm", 200, body, recovery_id=rid).body
    assert done["sessions_ended"] >= 1
    check(
        "POST", recovery + "/{recovery_id}/confirm", 422, body, recovery_id=rid, code="code_expired"
    )


def test_the_staff_desk_answers_as_documented(api: Api, document: dict[str, Any]) -> None:
    check = checker(api, document)
    # GIVEN borrowers with a deletion, a phone change and an anonymous report under review
    _, borrower = signed_in(api)
    account_id = check("GET", "/v1/me", 200, token=borrower).body["account_id"]
    set_loan_status(account_id, "repaid")
    deletion = check("POST", "/v1/deletion-requests", 201, {"password": PASSWORD}, borrower).body[
        "request_id"
    ]
    mover_data, mover = signed_in(api)
    mover_id = check("GET", "/v1/me", 200, token=mover).body["account_id"]
    change = start_phone_change(api, mover, "+77015550021").body["request_id"]
    accept_documents(change)
    code = api.latest_code("+77015550021")
    check(
        "POST",
        "/v1/requests/{request_id}/confirm-phone",
        200,
        {"code": code},
        mover,
        request_id=change,
    )
    report = {
        "login": "nobody@example.kz",
        "contact": "x@example.kz",
        "description": "Не могу войти в кабинет",
    }
    check("POST", "/v1/compromise-reports", 202, report)

    # WHEN support signs in with password and TOTP
    import pyotp

    secret = make_staff("sasha.support", "support")
    login = {"username": "sasha.support", "password": STAFF_PASSWORD}
    check("POST", "/admin/v1/sessions", 401, {**login, "totp": "abc"}, code="invalid_credentials")
    check("POST", "/admin/v1/sessions", 400, {**login, "code": "123456"})
    support = check(
        "POST", "/admin/v1/sessions", 201, {**login, "totp": pyotp.TOTP(secret).now()}
    ).body["token"]
    security = staff_login(api, "sec-olzhas", make_staff("sec-olzhas", "security"))
    admin = staff_login(api, "admin_ainur", make_staff("admin_ainur", "admin"))

    # THEN queue → request → decision answer as documented
    queue = "/admin/v1/queue"
    check("GET", queue, 401, token=borrower)
    check("GET", queue, 400, token=support)
    check("GET", queue + "?type=compromise", 403, token=support)
    check("GET", queue + "?type=deletion&cursor=%25%25", 400, token=support)
    page = check("GET", queue + "?type=deletion", 200, token=support).body
    assert [i["request_id"] for i in page["items"]] == [deletion]
    assert page["next_cursor"] is None
    review = "/admin/v1/requests/{request_id}"
    check("GET", review, 404, token=support, request_id="req_missing")
    check("GET", review, 403, token=security, request_id=deletion)
    check("GET", review, 200, token=support, request_id=deletion)
    decide = review + "/decision"
    check(
        "POST", decide, 400, {"decision": "approved", "reason": "нет"}, support, request_id=deletion
    )
    approve = {"decision": "approved", "reason": "Заявка клиента"}
    decided = check("POST", decide, 200, approve, support, request_id=deletion).body
    assert decided["status"] == "approved"
    check("POST", decide, 200, approve, support, request_id=deletion)  # a retry: idempotent
    reject = {"decision": "rejected", "reason_code": "legal_hold", "note": "Передумали"}
    check("POST", decide, 409, reject, support, request_id=deletion)

    assert check("GET", queue + "?type=phone_change", 200, token=support).body["items"]
    viewed = check("GET", review, 200, token=support, request_id=change).body
    assert viewed["new_phone"] == "+77015550021" and viewed["phone_confirmed"] is True
    check("POST", decide, 200, approve, support, request_id=change)
    assert mover_data["phone"] != "+77015550021"

    (compromise,) = check("GET", queue + "?type=compromise", 200, token=security).body["items"]
    check("GET", review, 200, token=security, request_id=compromise["request_id"])
    resolve_it = {"decision": "resolved", "reason": "Связались с заявителем"}
    check("POST", decide, 200, resolve_it, security, request_id=compromise["request_id"])

    # loans, locks, audit, staff
    loans = check("GET", "/admin/v1/loans", 200, token=support).body["items"]
    check("GET", "/admin/v1/loans?status=stolen", 400, token=support)
    loan = next(item for item in loans if item["account_id"] == mover_id)
    loan_path = "/admin/v1/loans/{account_id}/{loan_id}"
    issued = {"status": "issued", "reason": "Деньги выданы"}
    check("POST", loan_path, 400, issued, support, account_id=mover_id, loan_id=loan["loan_id"])
    approved = {"status": "approved", "reason": "Скоринг пройден"}
    check("POST", loan_path, 200, approved, support, account_id=mover_id, loan_id=loan["loan_id"])
    check("POST", loan_path, 404, approved, support, account_id=mover_id, loan_id="missing")
    lock = "/admin/v1/accounts/{account_id}/lock"
    unlock = "/admin/v1/accounts/{account_id}/unlock"
    reason = {"reason": "Подозрительные входы"}
    check("POST", lock, 403, reason, support, account_id=mover_id)
    check("POST", unlock, 409, reason, security, account_id=mover_id)
    check("POST", lock, 400, {"reason": "?"}, security, account_id=mover_id)
    check("POST", lock, 404, reason, security, account_id="acc_missing")
    check("POST", lock, 200, reason, security, account_id=mover_id)
    check("POST", unlock, 200, reason, security, account_id=mover_id)
    check("GET", "/admin/v1/audit?account_id=" + mover_id, 200, token=support)
    check("GET", "/admin/v1/audit?actor=sasha.support", 200, token=admin)
    check("GET", "/admin/v1/audit?actor=sasha.support", 403, token=support)
    check("GET", "/admin/v1/audit", 400, token=support)
    check("GET", "/admin/v1/audit?account_id=staff%23sasha.support", 403, token=support)
    check("GET", "/admin/v1/audit?account_id=staff%23sasha.support", 200, token=admin)
    new_agent = {"username": "new.agent", "roles": ["support"]}
    check("POST", "/admin/v1/staff", 403, new_agent, support)
    check("POST", "/admin/v1/staff", 400, {**new_agent, "roles": ["boss"]}, admin)
    check("POST", "/admin/v1/staff", 400, {**new_agent, "roles": ["admin", "support"]}, admin)
    check("POST", "/admin/v1/staff", 400, {**new_agent, "password": STAFF_PASSWORD}, admin)
    invited = check("POST", "/admin/v1/staff", 201, new_agent, admin).body
    check("POST", "/admin/v1/staff", 409, new_agent, admin)
    reissue = "/admin/v1/staff/{username}/enrolment"
    check("POST", reissue, 403, {}, support, username="new.agent")
    check("POST", reissue, 409, {}, admin, username="sasha.support")
    invited = check("POST", reissue, 201, {}, admin, username="new.agent").body
    enrolment = {
        "token": invited["enrolment_token"],
        "password": STAFF_PASSWORD,
        "password_confirm": STAFF_PASSWORD,
    }
    check("POST", "/admin/v1/enrolment", 400, {**enrolment, "password": "qwerty"})
    check("POST", "/admin/v1/enrolment", 200, enrolment)
    check("POST", "/admin/v1/enrolment", 404, enrolment)
    check("GET", "/admin/v1/staff", 200, token=admin)
    check("DELETE", "/admin/v1/sessions/current", 204, token=support)
    check("DELETE", "/admin/v1/sessions/current", 401, token=support)
