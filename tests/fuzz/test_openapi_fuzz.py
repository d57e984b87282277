"""Every documented operation, fuzzed from ``GET /openapi.json`` against the real local stack.

Pass condition (issue 5, part 1): no 5xx, every response conforms to its
documented status codes, content type, headers and body schema - so nothing the
API answers is undocumented. A 429 is a documented answer like any other.

One pytest subtest per operation; each runs schemathesis's examples, coverage
(boundary values, wrong types, missing fields, unexpected methods) and fuzzing
phases (``HAVA_FUZZ_EXAMPLES`` examples, valid and invalid alike). See
``conftest.py`` for the stack, the sessions and the knobs; ``make fuzz`` runs
this file with a bigger budget.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from chalicelib.api.meta import OPENAPI_PATH
from tests.e2e.conftest import LocalStack
from tests.fuzz import formats
from tests.fuzz.conftest import BORROWER_SCHEME, TIMEOUT, CaseLog, Identities, fuzz_config

pytestmark = pytest.mark.e2e

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    # An undocumented method must get 405 with an Allow header, not reach a handler.
    unsupported_method,
    # ST202: a request valid under the document is not refused as malformed (400).
    # 422 stays an accepted answer: a well-formed request the state refuses (a wrong
    # one-time code, an offer the product does not allow), which no schema can know.
    positive_data_acceptance,
]
SAFE = {"GET", "HEAD", "OPTIONS"}

# Loaded at collection, so each operation is its own pytest item ("[GET /v1/me]").
# schemathesis's lazy fixture loader (``from_fixture``) does not run on pytest 9.2
# (it writes ``Node._nodeid``, which pytest 9.2 no longer has); the first test
# below proves the stack serves exactly this document at ``GET /openapi.json``.
formats.register()  # before loading: the document's own formats get their strategies
schema = schemathesis.openapi.from_path(OPENAPI_PATH, config=fuzz_config())


def test_the_stack_serves_the_fuzzed_document(fuzz_stack: LocalStack) -> None:
    served = fuzz_stack.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


def security_scheme(operation: Any) -> str | None:
    """The bearer scheme an operation requires (the document names one per operation)."""
    for requirement in operation.definition.raw.get("security") or []:
        for name in requirement:
            return str(name)
    return None


def cross_field_rules(case: Any) -> None:
    """Rules across the fields of one request, which a JSON Schema cannot state (positive cases).

    Each is written in the document's description of the operation or parameter.
    """
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive:
        return
    label, query = case.operation.label, case.query
    if label == "GET /admin/v1/audit" and isinstance(query, dict):
        # Exactly one of account_id and actor.
        if query.get("account_id") and query.get("actor"):
            del query["actor"]
        elif not query.get("account_id") and not query.get("actor"):
            query.pop("actor", None)
            query["account_id"] = "fuzz-account"
    if label in CURSOR_PINS and isinstance(query, dict) and query.get("cursor"):
        # A cursor pages the list it came from (the queue of this type, loans in this status).
        name, default, field_name, template = CURSOR_PINS[label]
        try:
            key = json.loads(formats.b64decode(query["cursor"]))
        except ValueError:
            return  # not drawn from the cursor format (an explicit example): left as is
        if isinstance(key, dict):
            key[field_name] = {"S": template.format(query.get(name) or default)}
            query["cursor"] = formats.b64encode(json.dumps(key, sort_keys=True))


#: Listing → (its parameter, its default, the key field the cursor pins, the pinned value).
CURSOR_PINS = {
    "GET /admin/v1/queue": ("type", "phone_change", "queue", "{}#in_review"),
    "GET /admin/v1/loans": ("status", "submitted", "status", "{}"),
}


@schema.parametrize()
def test_documented_operation(
    case: Any, fuzz_stack: LocalStack, identities: Identities, case_log: CaseLog
) -> None:
    scheme = security_scheme(case.operation)
    headers = {"User-Agent": "hava-fuzz"}
    if scheme:
        headers["Authorization"] = f"Bearer {identities.tokens[scheme]}"
    cross_field_rules(case)
    offset = case_log.log_offset()
    response = case.call(base_url=fuzz_stack.base_url, headers=headers, timeout=TIMEOUT)
    curl = case.as_curl_command(headers=headers, base_url=fuzz_stack.base_url)
    status = response.status_code
    log_text = case_log.log_since(offset) if status >= 500 else ""
    case_log.record(case.operation.label, status, curl, response.text, log_text)
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except BaseException as error:
        case_log.failed(case.operation.label, error, curl, log_text or case_log.log_since(offset))
        raise
    finally:
        # A fuzzed call may have ended the session on purpose (logout, compromise, lock…).
        # (401s are mostly schemathesis's own "missing Authorization" cases: harmless.)
        if scheme and (
            status in (401, 403) or (200 <= status < 300 and case.method.upper() not in SAFE)
        ):
            identities.ensure(scheme)
        if scheme == BORROWER_SCHEME and status < 300 and case.operation.label in PASSWORD_CHANGES:
            # The borrower's password is no longer the one the ``password`` format draws.
            identities.tokens[scheme] = identities.register_borrower()


#: Operations after whose success the fuzzed borrower's password is ``formats.NEW_PASSWORD``.
PASSWORD_CHANGES = {"POST /v1/me/password"}
