"""The OpenAPI description stays in sync with the routes and with what they really answer."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from chalicelib import errors
from chalicelib.api.http import ALWAYS_ON, SECURITY_HEADERS
from chalicelib.api.meta import OPENAPI_PATH
from tests.api.conftest import PASSWORD, Api, Reply, form

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


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

    served = {
        (path, method): entry.view_name
        for path, entries in app.routes.items()
        for method, entry in entries.items()
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
        maintenance = operation["responses"].get("503")
        if path in ALWAYS_ON:
            assert maintenance is None, f"{method} {path} answers during maintenance"
            continue
        assert maintenance is not None, f"{method} {path} lacks the maintenance 503"
        assert "Retry-After" in resolve(document, maintenance)["headers"]


def test_signed_in_routes_require_the_bearer_scheme(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    secured = {
        key
        for key, operation in documented_operations(document).items()
        if {"bearerAuth": []} in operation.get("security", [])
    }
    assert secured == {
        ("/v1/me", "GET"),
        ("/v1/me/loans", "GET"),
        ("/v1/sessions/current", "DELETE"),
    }
    assert "security" not in document, "public routes must not inherit a security requirement"


def test_every_error_code_of_the_application_is_documented(document: dict[str, Any]) -> None:
    raised = {
        cls.code
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.HavaError)
    }
    # Chalice's own 405/415 bodies are rewritten to these codes in chalicelib.api.http.
    rewritten = {"method_not_allowed", "unsupported_media_type", "bad_request"}
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
        concrete = path.replace("{registration_id}", "reg-1")
        reply = api.call(method, concrete, body={} if method == "POST" else None)
        # THEN borrower routes answer the documented 503, the always-on ones still 200
        if path in ALWAYS_ON:
            assert reply.status == 200, (path, reply.body)
        else:
            assert (reply.status, reply.error["code"]) == (503, "maintenance"), path
            assert reply.headers["Retry-After"] == "1800"
        assert_conforms(document, method, path, reply)
