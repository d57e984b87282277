"""Support-desk (staff) routes under /admin/v1. Handlers translate only.

Roles: ``support`` reviews phone changes, deletions and loans; ``security``
compromise reports and account locks; ``admin`` manages staff and reads the
trail per staff member. Rules and audit entries live in ``services.staff_accounts``
(sign-in, staff), ``services.desk`` (queue, review view), ``services.audit_trail``
and ``services.decisions`` (which checks roles again). These routes answer
during maintenance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import metrics
from chalicelib.api.body import json_body
from chalicelib.api.caller import client_ip, user_agent
from chalicelib.api.errors_http import json_response, route
from chalicelib.api.web_session import bearer_token
from chalicelib.errors import ValidationFailed

if TYPE_CHECKING:
    from chalicelib.services.sessions import Principal

admin_api = Blueprint(__name__)

PREFIX = "/admin/v1"


def _request() -> Request:
    return admin_api.current_request


def _params() -> Mapping[str, str]:
    params: Mapping[str, str] = _request().query_params or {}
    return params


def _staff(*roles: str) -> Principal:
    """The signed-in staff member holding one of ``roles`` (any staff when none), or 401/403."""
    # lazy: services.staff_accounts loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only _staff() needs it
    from chalicelib.services.staff_accounts import require_staff

    return require_staff(bearer_token(_request()), *roles)


@route(admin_api, f"{PREFIX}/sessions", methods=["POST"])
def staff_sign_in() -> Response:
    """Sign in with username, password and a TOTP code."""
    # lazy: services.staff_accounts loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only staff_sign_in() needs it
    from chalicelib.services import staff_accounts

    request = _request()
    session = staff_accounts.staff_login(
        json_body(request), user_agent(request), client_ip=client_ip(request)
    )
    return json_response(session.as_dict(), status=201)


@route(admin_api, f"{PREFIX}/sessions/current", methods=["DELETE"])
def staff_sign_out() -> Response:
    """End this staff session at once."""
    # lazy: services.staff_accounts loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only staff_sign_out() needs it
    from chalicelib.services import staff_accounts

    staff_accounts.staff_logout(_staff())
    return Response(body="", status_code=204)


@route(admin_api, f"{PREFIX}/queue", methods=["GET"])
def review_queue() -> Response:
    """Requests waiting for review, oldest first: ?type=…&cursor=…"""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only review_queue() needs it
    from chalicelib.services import desk, staff_accounts

    principal = _staff(staff_accounts.SUPPORT, staff_accounts.SECURITY)
    params = _params()
    return json_response(desk.queue_page(principal, params.get("type"), params.get("cursor")))


@route(admin_api, f"{PREFIX}/queue/counts", methods=["GET"])
def review_queue_counts() -> Response:
    """Requests under review per type this member reviews (one COUNT Query per type)."""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only review_queue_counts() needs it
    from chalicelib.services import desk, staff_accounts

    principal = _staff(staff_accounts.SUPPORT, staff_accounts.SECURITY)
    return json_response(desk.queue_counts(principal))


@route(admin_api, f"{PREFIX}/requests/{{request_id}}", methods=["GET"])
def review_request(request_id: str) -> Response:
    """One request with what its decision needs (audited)."""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only review_request() needs it
    from chalicelib.services import desk, staff_accounts

    principal = _staff(staff_accounts.SUPPORT, staff_accounts.SECURITY)
    return json_response(desk.review_view(principal, request_id))


@route(admin_api, f"{PREFIX}/requests/{{request_id}}/decision", methods=["POST"])
def decide_request(request_id: str) -> Response:
    """Approve, reject or resolve a request: {decision, reason_code (rejections), note}."""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only decide_request() needs it
    from chalicelib.services import staff_accounts
    from chalicelib.services.appeals import decisions

    principal = _staff(staff_accounts.SUPPORT, staff_accounts.SECURITY)
    decided = decisions.decide(request_id, json_body(_request()), principal)
    metrics.count(
        "RequestDecided", Type=str(decided.get("type", "")), Decision=str(decided.get("status", ""))
    )
    return json_response(decided)


@route(admin_api, f"{PREFIX}/requests/{{request_id}}/iin-check", methods=["POST"])
def check_iin(request_id: str) -> Response:
    """Does the IIN read from the photo match the borrower's? {iin} → {matches} (audited)."""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only check_iin() needs it
    from chalicelib.services import desk, staff_accounts

    principal = _staff(staff_accounts.SUPPORT, staff_accounts.SECURITY)
    return json_response(desk.check_iin(principal, request_id, json_body(_request())))


@route(admin_api, f"{PREFIX}/requests/{{request_id}}/documents", methods=["POST"])
def relabel_documents(request_id: str) -> Response:
    """Say which photo is which: {"documents": {"id_front": "selfie", ...}} (audited)."""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only relabel_documents() needs it
    from chalicelib.services import staff_accounts
    from chalicelib.services.appeals import by_email

    principal = _staff(staff_accounts.SUPPORT)
    body = json_body(_request())
    return json_response(by_email.relabel_documents(principal.account_id, request_id, body))


@route(admin_api, f"{PREFIX}/loans", methods=["GET"])
def loan_queue() -> Response:
    """Loans by status, oldest first: ?status=submitted&cursor=…"""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only loan_queue() needs it
    from chalicelib.services import desk, staff_accounts

    _staff(staff_accounts.SUPPORT)
    params = _params()
    return json_response(desk.loan_queue(params.get("status"), params.get("cursor")))


@route(admin_api, f"{PREFIX}/loans/{{account_id}}/{{loan_id}}", methods=["POST"])
def decide_loan(account_id: str, loan_id: str) -> Response:
    """Move a loan on: {status, reason}."""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only decide_loan() needs it
    from chalicelib.services import desk, staff_accounts

    principal = _staff(staff_accounts.SUPPORT)
    body = json_body(_request())
    return json_response(desk.decide_loan(account_id, loan_id, body, principal))


@route(admin_api, f"{PREFIX}/loan-desk", methods=["GET"])
def loan_desk() -> Response:
    """A loan desk list, oldest first: ?queue=…&cursor=… (one Query on ``by_status``)."""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only loan_desk() needs it
    from chalicelib.services import lending, staff_accounts

    principal = _staff(staff_accounts.SUPPORT)
    params = _params()
    page = lending.desk_page(params.get("queue") or "", params.get("cursor"), principal)
    return json_response(page)


@route(admin_api, f"{PREFIX}/loans/{{account_id}}/{{loan_id}}/decision", methods=["POST"])
def loan_decision(account_id: str, loan_id: str) -> Response:
    """Approve (the offer goes to the borrower) or reject an application: {decision, reason}."""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only loan_decision() needs it
    from chalicelib.services import lending, staff_accounts

    principal = _staff(staff_accounts.SUPPORT)
    body = json_body(_request())
    return json_response(lending.decide(account_id, loan_id, body, principal))


@route(admin_api, f"{PREFIX}/loans/{{account_id}}/{{loan_id}}/payout", methods=["POST"])
def loan_payout(account_id: str, loan_id: str) -> Response:
    """The money was sent: {transfer_reference}; the loan is issued."""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only loan_payout() needs it
    from chalicelib.services import lending, staff_accounts

    principal = _staff(staff_accounts.SUPPORT)
    body = json_body(_request())
    return json_response(lending.record_payout(account_id, loan_id, body, principal))


@route(admin_api, f"{PREFIX}/loans/{{account_id}}/{{loan_id}}/payments", methods=["POST"])
def loan_payment(account_id: str, loan_id: str) -> Response:
    """A payment from the bank statement: {amount, paid_on, bank_reference, kind}."""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only loan_payment() needs it
    from chalicelib.services import lending, staff_accounts

    principal = _staff(staff_accounts.SUPPORT)
    body = json_body(_request())
    kind = body.get("kind", lending.REPAYMENT) if isinstance(body, dict) else lending.REPAYMENT
    if kind not in (lending.REPAYMENT, lending.EXTENSION):
        raise ValidationFailed({"kind": "Допустимые значения: repayment, extension."})
    data = {k: v for k, v in body.items() if k != "kind"} if isinstance(body, dict) else body
    result = lending.record_payment(account_id, loan_id, data, principal, kind=kind)
    return json_response(result, status=201 if result["recorded"] else 200)


@route(admin_api, f"{PREFIX}/accounts/{{account_id}}/lock", methods=["POST"])
def lock_account(account_id: str) -> Response:
    """Lock a borrower's account: {reason}."""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only lock_account() needs it
    from chalicelib.services import account_locks, staff_accounts

    principal = _staff(staff_accounts.SECURITY)
    return json_response(account_locks.lock_account(account_id, json_body(_request()), principal))


@route(admin_api, f"{PREFIX}/accounts/{{account_id}}/unlock", methods=["POST"])
def unlock_account(account_id: str) -> Response:
    """Unlock a borrower's account: {reason}."""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only unlock_account() needs it
    from chalicelib.services import account_locks, staff_accounts

    principal = _staff(staff_accounts.SECURITY)
    return json_response(account_locks.unlock_account(account_id, json_body(_request()), principal))


@route(admin_api, f"{PREFIX}/audit", methods=["GET"])
def audit_trail() -> Response:
    """The trail: ?account_id=… (support, security) or ?actor=… (admin); the read is audited."""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only audit_trail() needs it
    from chalicelib.services import audit_trail, staff_accounts

    principal = _staff(staff_accounts.SUPPORT, staff_accounts.SECURITY, staff_accounts.ADMIN)
    return json_response(audit_trail.audit_trail(principal, _params()))


@route(admin_api, f"{PREFIX}/staff", methods=["POST"])
def create_staff() -> Response:
    """Create a pending staff member: {username, roles}; answers a one-time enrolment link."""
    # lazy: services.staff_accounts loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only create_staff() needs it
    from chalicelib.services import staff_accounts

    principal = _staff(staff_accounts.ADMIN)
    return json_response(
        staff_accounts.create_staff_from(principal, json_body(_request())), status=201
    )


@route(admin_api, f"{PREFIX}/staff", methods=["GET"])
def list_staff() -> Response:
    """Every staff member (no secrets)."""
    # lazy: services.staff_accounts loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only list_staff() needs it
    from chalicelib.services import staff_accounts

    _staff(staff_accounts.ADMIN)
    return json_response({"items": staff_accounts.list_staff()})


@route(admin_api, f"{PREFIX}/staff/{{username}}/enrolment", methods=["POST"])
def reissue_enrolment(username: str) -> Response:
    """A new enrolment link for a member who has not finished enrolling (the old one dies)."""
    # lazy: services.staff_accounts loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only reissue_enrolment() needs it
    from chalicelib.services import staff_accounts

    principal = _staff(staff_accounts.ADMIN)
    return json_response(
        staff_accounts.reissue_enrolment(username, principal.account_id), status=201
    )


@route(admin_api, f"{PREFIX}/enrolment", methods=["POST"])
def enrol() -> Response:
    """The member's own step: {token, password, password_confirm}; answers the TOTP URI once."""
    # lazy: services.staff_accounts loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only enrol() needs it
    from chalicelib.services import staff_accounts

    request = _request()
    return json_response(staff_accounts.enrol(json_body(request), client_ip(request)))
