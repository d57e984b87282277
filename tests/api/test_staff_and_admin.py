"""Staff accounts, staff sign-in with TOTP, the review queue and view, audit reads, the CLI."""

from __future__ import annotations

import io
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import pyotp
import pytest

from chalicelib.domain import requests as rules
from tests.conftest import Aws, FrozenClock
from tests.helpers import Api, form, make_staff, staff_login
from tests.staffing import STAFF_PASSWORD, secret_of

MSG_LOGIN = "Неверный логин, пароль или код"


@pytest.fixture
def support(api: Api) -> str:
    return staff_login(api, "sasha.support", make_staff("sasha.support", "support"))


@pytest.fixture
def security(api: Api) -> str:
    return staff_login(api, "sec-olzhas", make_staff("sec-olzhas", "security"))


@pytest.fixture
def admin(api: Api) -> str:
    return staff_login(api, "admin_ainur", make_staff("admin_ainur", "admin"))


def file_request(
    request_type: str,
    created_at: datetime,
    account_id: str = "acc_none",
    details: dict[str, Any] | None = None,
    documents: dict[str, Any] | None = None,
    due_days: int = 15,
) -> str:
    """A request waiting for review, written straight to the table."""
    from chalicelib import clock
    from chalicelib.adapters import crypto
    from chalicelib.services.appeals.common import appeal_context
    from chalicelib.storage.base import new_id
    from chalicelib.storage.requests import RequestModel

    request_id = new_id("req")
    RequestModel(
        request_id=request_id,
        account_id=account_id,
        type=request_type,
        status=rules.IN_REVIEW,
        queue=rules.queue_key(request_type, rules.IN_REVIEW),
        created_at=clock.iso(created_at),
        updated_at=clock.iso(created_at),
        due_on=(created_at + timedelta(days=due_days)).date().isoformat(),
        details=crypto.seal(details, appeal_context(request_id)) if details else None,
        phone_confirmed=request_type == rules.PHONE_CHANGE,
        documents=documents,
    ).save()
    return request_id


def actions_about(subject: str) -> list[str]:
    from chalicelib.services.audit import for_subject

    return [e["action"] for e in for_subject(subject).items]


@pytest.fixture
def photo_links(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """For each link ``documents.download_url`` issued: what the reviewer's trail held then."""
    from chalicelib.services import documents
    from chalicelib.services.audit import for_actor

    issued: list[list[str]] = []

    def fake_url(key: str, content_type: str | None, expires_in: int = 300) -> str:
        issued.append([e["action"] for e in for_actor("staff#sasha.support").items])
        return f"https://s3.example/{key}?X-Amz-Expires={expires_in}&type={content_type}"

    monkeypatch.setattr(documents, "download_url", fake_url)
    return issued


# --- sign-in -------------------------------------------------------------------


def test_staff_signs_in_with_password_and_totp(api: Api) -> None:
    # GIVEN a support staff member created and enrolled with the service
    secret = make_staff("sasha.support", "support")
    # WHEN they sign in with the password and the current code
    reply = api.post(
        "/admin/v1/sessions",
        {"username": "sasha.support", "password": STAFF_PASSWORD, "totp": pyotp.TOTP(secret).now()},
    )
    # THEN a short staff session starts; creation, enrolment and sign-in are audited
    assert reply.status == 201, reply.body
    assert reply.body["idle_timeout_seconds"] == 15 * 60
    token = reply.body["token"]
    assert api.get("/admin/v1/queue?type=phone_change", token=token).status == 200
    assert sorted(actions_about("staff#sasha.support")) == [
        "staff_created",
        "staff_enrolled",
        "staff_enrolment_started",
        "staff_login",
    ]


def test_wrong_replayed_totp_unknown_user_and_wrong_password_get_the_same_401(api: Api) -> None:
    secret = make_staff("sasha.support", "support")
    totp = pyotp.TOTP(secret)
    code = totp.now()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    def attempt(username: str, password: str, totp_code: str) -> tuple[int, Any]:
        body = {"username": username, "password": password, "totp": totp_code}
        reply = api.post("/admin/v1/sessions", body)
        return reply.status, reply.body

    wrong_code = attempt("sasha.support", STAFF_PASSWORD, wrong)
    unknown = attempt("nobody-here", STAFF_PASSWORD, code)
    bad_password = attempt("sasha.support", "не-тот-пароль-совсем", code)
    first = attempt("sasha.support", STAFF_PASSWORD, code)
    replayed = attempt("sasha.support", STAFF_PASSWORD, code)
    # An older step than the one accepted is a replay too.
    older = attempt("sasha.support", STAFF_PASSWORD, totp.at(time.time() - 30))

    assert first[0] == 201
    expected = (401, {"error": {"code": "invalid_credentials", "message": MSG_LOGIN}})
    assert wrong_code == unknown == bad_password == replayed == older == expected


def test_disabled_staff_cannot_sign_in_and_loses_sessions(api: Api) -> None:
    from chalicelib.services.staff_accounts import disable_staff

    secret = make_staff("sasha.support", "support")
    token = staff_login(api, "sasha.support", secret)
    disable_staff("sasha.support", "staff#admin_ainur")
    assert api.get("/admin/v1/queue?type=deletion", token=token).status == 401
    body = {
        "username": "sasha.support",
        "password": STAFF_PASSWORD,
        "totp": pyotp.TOTP(secret).at(time.time() + 30),
    }
    assert api.post("/admin/v1/sessions", body).status == 401


def test_create_staff_refuses_a_taken_username_a_bad_name_and_bad_roles(aws: Aws) -> None:
    from chalicelib.errors import Conflict, ValidationFailed
    from chalicelib.services.staff_accounts import invite_staff

    make_staff("sasha.support", "support")
    with pytest.raises(Conflict):
        invite_staff("sasha.support", ["security"], "tests")
    with pytest.raises(ValidationFailed) as refused:
        invite_staff("Sasha Support", ["root"], "tests")
    assert set(refused.value.fields) == {"username", "roles"}


def test_staff_sign_out_ends_the_session(api: Api, support: str) -> None:
    assert api.call("DELETE", "/admin/v1/sessions/current", token=support).status == 204
    assert api.get("/admin/v1/queue?type=phone_change", token=support).status == 401
    assert "staff_logout" in actions_about("staff#sasha.support")


# --- authorisation -----------------------------------------------------------------


def test_borrower_token_is_no_staff_token_and_back(api: Api, support: str) -> None:
    borrower = api.register()["token"]
    for path in ("/admin/v1/queue?type=phone_change", "/admin/v1/staff", "/admin/v1/loans"):
        reply = api.get(path, token=borrower)
        assert reply.status == 401, path
        assert reply.error["code"] == "unauthenticated"
    assert api.get("/v1/me", token=support).status == 401


def test_roles_are_enforced_and_admin_implies_no_other_role(
    api: Api, support: str, security: str, admin: str
) -> None:
    lock = "/admin/v1/accounts/acc_x/lock"
    assert api.post(lock, {"reason": "подозрение на взлом"}, token=support).status == 403
    assert api.get("/admin/v1/queue?type=compromise", token=support).status == 403
    assert api.get("/admin/v1/queue?type=phone_change", token=security).status == 403
    assert api.get("/admin/v1/queue?type=phone_change", token=admin).status == 403
    assert api.get("/admin/v1/loans", token=admin).status == 403
    assert api.get("/admin/v1/staff", token=support).status == 403
    assert api.get("/admin/v1/queue?type=compromise", token=security).status == 200
    request_id = file_request(rules.COMPROMISE, datetime.now(UTC), details={"description": "x"})
    assert api.get(f"/admin/v1/requests/{request_id}", token=support).status == 403
    decision = {"decision": "resolved", "reason": "проверено, всё в порядке"}
    path = f"/admin/v1/requests/{request_id}/decision"
    assert api.post(path, decision, token=support).status == 403


def test_expired_staff_session_is_refused(
    api: Api, support: str, frozen_clock: FrozenClock
) -> None:
    frozen_clock.advance(16 * 60)
    reply = api.get("/admin/v1/queue?type=phone_change", token=support)
    assert reply.status == 401
    assert reply.error["code"] == "unauthenticated"


# --- the queue -------------------------------------------------------------------


def test_queue_pages_oldest_first_with_one_query_per_page(
    api: Api, support: str, dynamodb_calls: Counter[str]
) -> None:
    # GIVEN 25 deletion requests filed a minute apart, in shuffled order, and other types
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
    order = [
        7,
        3,
        19,
        0,
        24,
        11,
        5,
        16,
        2,
        21,
        9,
        14,
        1,
        23,
        6,
        18,
        10,
        4,
        22,
        13,
        8,
        17,
        12,
        20,
        15,
    ]
    filed = {i: file_request(rules.DELETION, start + timedelta(minutes=i)) for i in order}
    file_request(rules.PHONE_CHANGE, start - timedelta(days=1))
    dynamodb_calls.clear()

    # WHEN support reads the queue page by page
    first = api.get("/admin/v1/queue?type=deletion", token=support)
    first_calls = dynamodb_calls.copy()
    dynamodb_calls.clear()
    second = api.get(
        f"/admin/v1/queue?type=deletion&cursor={first.body['next_cursor']}", token=support
    )

    # THEN the pages hold 20 + 5 requests, oldest first, each page one Query and no Scan
    assert first.status == second.status == 200, (first.body, second.body)
    ids = [item["request_id"] for item in first.body["items"] + second.body["items"]]
    assert ids == [filed[i] for i in range(25)]
    assert len(first.body["items"]) == 20
    assert second.body["next_cursor"] is None
    assert first_calls["Query"] == dynamodb_calls["Query"] == 1
    assert first_calls["Scan"] == dynamodb_calls["Scan"] == 0
    item = first.body["items"][0]
    assert item["type"] == "deletion"
    assert item["status"] == "in_review"
    assert item["created_at"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert item["due_on"] == (start + timedelta(days=15)).date().isoformat()
    assert item["overdue"] is True


def test_queue_refuses_a_malformed_or_foreign_cursor(api: Api, support: str) -> None:
    for i in range(21):
        file_request(rules.PHONE_CHANGE, datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i))
    cursor = api.get("/admin/v1/queue?type=phone_change", token=support).body["next_cursor"]
    assert cursor
    for bad in ("not-base64!", "eyJ4IjoxfQ", cursor[:-3]):
        reply = api.get(f"/admin/v1/queue?type=phone_change&cursor={bad}", token=support)
        assert reply.status == 400, bad
    # A cursor of the phone-change queue is not one of the deletion queue.
    reply = api.get(f"/admin/v1/queue?type=deletion&cursor={cursor}", token=support)
    assert reply.status == 400
    assert api.get("/admin/v1/queue?type=everything", token=support).status == 400


def test_loan_queue_lists_submitted_applications(api: Api, support: str) -> None:
    account_id = api.register()["account_id"]
    reply = api.get("/admin/v1/loans?status=submitted", token=support)
    assert reply.status == 200, reply.body
    assert [item["account_id"] for item in reply.body["items"]] == [account_id]
    assert reply.body["next_cursor"] is None
    assert api.get("/admin/v1/loans?status=stolen", token=support).status == 400


# --- the review view ---------------------------------------------------------------


def test_phone_change_review_shows_what_the_decision_needs_and_is_audited(
    api: Api, support: str, photo_links: list[list[str]]
) -> None:
    # GIVEN a registered borrower whose phone change waits for review
    data = form()
    account_id = api.register(data)["account_id"]
    documents = {
        doc: {
            "key": f"requests/req_x/{doc}/{'0' * 32}.checked",
            "status": rules.DOC_ACCEPTED,
            "content_type": "image/png" if doc == "id_back" else "image/jpeg",
        }
        for doc in rules.DOCUMENTS
    }
    request_id = file_request(
        rules.PHONE_CHANGE,
        datetime.now(UTC),
        account_id,
        details={"new_phone": "+77010000042"},
        documents=documents,
    )
    # WHEN support opens it
    reply = api.get(f"/admin/v1/requests/{request_id}", token=support)
    # THEN the new number is in full, the rest only as far as the decision needs it
    assert reply.status == 200, reply.body
    view = reply.body
    assert view["new_phone"] == "+77010000042"
    borrower = view["borrower"]
    assert (borrower["surname"], borrower["name"]) == (data["surname"], data["name"])
    assert borrower["iin"] == data["iin"][:6] + "••••••"
    assert borrower["current_phone"] != data["phone"]
    assert borrower["current_phone"].endswith(data["phone"][-2:])
    assert borrower["id_card"] == {
        "number": data["id_number"],
        "issued_on": data["id_issued_on"],
        "expires_on": data["id_expires_on"],
    }
    assert "email" not in borrower
    assert [d["download_url"] for d in view["documents"]] == [
        f"https://s3.example/requests/req_x/{doc}/{'0' * 32}.checked?X-Amz-Expires=300"
        f"&type=image/{'png' if doc == 'id_back' else 'jpeg'}"
        for doc in rules.DOCUMENTS
    ]
    assert view["decisions"] == ["approved", "rejected"]
    # AND both the view and the photo links are in the account's audit trail
    # (entry ids order by the second only: two entries of one second come in any order)
    assert {"request_viewed", "documents_viewed"} <= set(actions_about(account_id))
    assert len(photo_links) == 3
    assert all("documents_viewed" in trail for trail in photo_links)


def test_review_is_audited_before_data_is_returned(
    api: Api, support: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.errors import ServiceUnavailable
    from chalicelib.services import audit

    account_id = api.register()["account_id"]
    request_id = file_request(rules.DELETION, datetime.now(UTC), account_id)

    def audit_down(*args: Any, **kwargs: Any) -> None:
        raise ServiceUnavailable()

    monkeypatch.setattr(audit, "record", audit_down)
    reply = api.get(f"/admin/v1/requests/{request_id}", token=support)
    assert reply.status == 503
    assert "borrower" not in reply.body


def test_deletion_review_shows_masked_identifiers_and_loans(api: Api, support: str) -> None:
    data = form()
    account_id = api.register(data)["account_id"]
    request_id = file_request(rules.DELETION, datetime.now(UTC), account_id)
    view = api.get(f"/admin/v1/requests/{request_id}", token=support).body
    borrower = view["borrower"]
    assert borrower["surname"] == data["surname"]
    assert data["iin"] not in str(view)
    assert data["phone"] not in str(view)
    assert data["email"] not in str(view)
    assert [loan["status"] for loan in view["loans"]] == ["submitted"]
    assert view["unpaid_loans"] == 0
    assert "request_viewed" in actions_about(account_id)


def test_compromise_review_shows_the_report(api: Api, security: str) -> None:
    data = form()
    account_id = api.register(data)["account_id"]
    details = {"description": "Кто-то вошёл в мой кабинет", "contact": "+77010000077"}
    request_id = file_request(
        rules.COMPROMISE, datetime.now(UTC), account_id, details={**details, "signed_in": True}
    )
    view = api.get(f"/admin/v1/requests/{request_id}", token=security).body
    assert (view["description"], view["contact"]) == (details["description"], details["contact"])
    assert view["signed_in"] is True
    assert view["borrower"]["account_id"] == account_id
    assert data["iin"] not in str(view)
    assert api.get("/admin/v1/requests/req_missing", token=security).status == 404


# --- decisions (services.decisions is the lead's; these check the wiring) ----------


def test_decision_routes_reach_the_decision_service(api: Api, support: str) -> None:
    account_id = api.register()["account_id"]
    request_id = file_request(rules.DELETION, datetime.now(UTC), account_id)
    path = f"/admin/v1/requests/{request_id}/decision"

    short = api.post(path, {"decision": "approved", "note": "нет"}, token=support)
    assert short.status == 400
    free_text = {"decision": "rejected", "reason": "Не подтверждена личность заявителя"}
    unlisted = api.post(path, free_text, token=support)
    assert unlisted.status == 400 and "reason_code" in unlisted.error["fields"]
    body = {"decision": "rejected", "reason_code": "owner_unconfirmed"}
    decided = api.post(path, body, token=support)
    assert decided.status == 200, decided.body
    assert decided.body["status"] == "rejected"
    # Repeating one's own decision (a retry after a timeout) is idempotent …
    again = api.post(path, body, token=support)
    assert again.status == 200 and again.body["status"] == "rejected"
    # … changing it is not.
    changed = api.post(path, {"decision": "approved", "note": "Передумали"}, token=support)
    assert changed.status == 409


# --- audit reads -------------------------------------------------------------------


def test_audit_per_account_and_per_actor_and_each_read_is_audited(
    api: Api, support: str, admin: str
) -> None:
    account_id = api.register()["account_id"]
    request_id = file_request(rules.DELETION, datetime.now(UTC), account_id)
    api.get(f"/admin/v1/requests/{request_id}", token=support)

    per_account = api.get(f"/admin/v1/audit?account_id={account_id}", token=support)
    assert per_account.status == 200, per_account.body
    viewed = [e for e in per_account.body["items"] if e["action"] == "request_viewed"]
    assert viewed[0]["actor"] == "staff#sasha.support"
    assert viewed[0]["target"] == request_id

    per_actor = api.get("/admin/v1/audit?actor=sasha.support", token=admin)
    assert per_actor.status == 200, per_actor.body
    assert sorted(e["action"] for e in per_actor.body["items"]) == [
        "audit_viewed",
        "request_viewed",
        "staff_enrolled",
        "staff_enrolment_started",
        "staff_login",
    ]

    assert api.get("/admin/v1/audit?actor=sasha.support", token=support).status == 403
    assert api.get(f"/admin/v1/audit?account_id={account_id}", token=admin).status == 403
    # A staff member's own trail is admin only (separation of duties).
    staff_trail = "/admin/v1/audit?account_id=staff%23sasha.support"
    assert api.get(staff_trail, token=support).status == 403
    assert api.get(staff_trail, token=admin).status == 200
    assert api.get("/admin/v1/audit", token=support).status == 400
    assert "audit_viewed" in actions_about(account_id)
    assert "audit_viewed" in actions_about("staff#sasha.support")


# --- staff management --------------------------------------------------------------


def test_admin_creates_and_lists_staff(api: Api, admin: str) -> None:
    body = {"username": "new.agent", "roles": ["support"]}
    created = api.post("/admin/v1/staff", body, token=admin)
    assert created.status == 201, created.body
    # The admin gets a one-time link, never a password nor a TOTP secret.
    assert created.body["status"] == "pending"
    assert "provisioning_uri" not in created.body
    token = created.body["enrolment_token"]
    assert created.body["enrolment_link"] == f"staff#enrol={token}"
    enrolled = api.post(
        "/admin/v1/enrolment",
        {"token": token, "password": STAFF_PASSWORD, "password_confirm": STAFF_PASSWORD},
    )
    assert enrolled.status == 200, enrolled.body
    assert "issuer=Hava" in enrolled.body["provisioning_uri"]
    staff_login(api, "new.agent", secret_of(enrolled.body["provisioning_uri"]))
    assert api.post("/admin/v1/staff", body, token=admin).status == 409

    listed = api.get("/admin/v1/staff", token=admin)
    assert listed.status == 200
    assert [(m["username"], m["roles"], m["status"]) for m in listed.body["items"]] == [
        ("admin_ainur", ["admin"], "active"),
        ("new.agent", ["support"], "active"),
    ]
    assert all(len(m["staff_number"]) == 6 for m in listed.body["items"])
    assert "password_hash" not in str(listed.body)
    assert "totp_secret" not in str(listed.body)
    assert "enrolment" not in str(listed.body)


def test_admin_cannot_choose_a_password_nor_combine_admin_with_review_roles(
    api: Api, admin: str
) -> None:
    chosen = {"username": "new.agent", "password": STAFF_PASSWORD, "roles": ["support"]}
    refused = api.post("/admin/v1/staff", chosen, token=admin)
    assert refused.status == 400
    assert "по ссылке" in refused.error["fields"]["password"]
    for roles in (["admin", "support"], ["admin", "security"], ["admin", "support", "security"]):
        reply = api.post("/admin/v1/staff", {"username": "boss", "roles": roles}, token=admin)
        assert reply.status == 400, roles
        assert "не совмещается" in reply.error["fields"]["roles"]
    assert api.get("/admin/v1/staff", token=admin).body["items"][-1]["username"] == "admin_ainur"


def test_listing_staff_is_a_query_on_an_index_never_a_scan(api: Api, admin: str) -> None:
    from chalicelib.services.staff_accounts import list_staff
    from chalicelib.storage.staff import StaffModel

    def no_scan(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("Scan on hava-staff")

    original = StaffModel.scan
    StaffModel.scan = no_scan  # type: ignore[method-assign]
    try:
        assert [m["username"] for m in list_staff()] == ["admin_ainur"]
    finally:
        StaffModel.scan = original  # type: ignore[method-assign]


# --- maintenance -------------------------------------------------------------------


def test_admin_routes_answer_during_maintenance(
    api: Api, support: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.config import reset_settings

    borrower = api.register()["token"]
    monkeypatch.setenv("HAVA_MAINTENANCE", "1")
    reset_settings()
    assert api.get("/admin/v1/queue?type=phone_change", token=support).status == 200
    reply = api.get("/v1/me", token=borrower)
    assert reply.status == 503
    assert reply.headers["Retry-After"] == "1800"


# --- the CLI -----------------------------------------------------------------------


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stdin", buffer)
    yield buffer


def test_cli_creates_a_staff_member_who_enrols_and_signs_in(
    api: Api, stdin: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    from devstack.staff_cli import main

    # GIVEN a member created from the command line: a one-time link, no password asked
    assert main(["create", "cli.agent", "--role", "support", "--role", "security"]) == 0
    out = capsys.readouterr().out
    link = next(word for word in out.split() if "#enrol=" in word)
    assert link.startswith("http://127.0.0.1:8000/staff#enrol=cli.agent.")
    # WHEN the member enrols with the token from the terminal
    stdin.write(STAFF_PASSWORD + "\n")
    stdin.seek(0)
    assert main(["enrol", link.split("#enrol=")[1]]) == 0
    out = capsys.readouterr().out
    uri = next(line for line in out.splitlines() if line.startswith("otpauth://"))
    assert "аутентификатор" in out
    # THEN the first sign-in with a code activates them
    token = staff_login(api, "cli.agent", secret_of(uri))
    assert api.get("/admin/v1/queue?type=compromise", token=token).status == 200


def test_cli_refuses_a_weak_password_and_admin_with_review_roles(
    aws: Aws, stdin: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    from devstack.staff_cli import main

    assert main(["create", "cli.boss", "--role", "admin", "--role", "support"]) == 2
    assert "не совмещается" in capsys.readouterr().err
    assert main(["create", "cli.agent", "--role", "support"]) == 0
    token = next(w for w in capsys.readouterr().out.split() if "#enrol=" in w).split("#enrol=")[1]
    stdin.write("qwerty\n")
    stdin.seek(0)
    assert main(["enrol", token]) == 2


def test_cli_uses_the_local_stack_when_no_endpoint_is_set(
    aws: Aws,
    stdin: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from devstack.stack import load_or_create_index_key
    from devstack.staff_cli import main

    # GIVEN a local stack's state directory and no endpoint in the environment
    monkeypatch.setattr(os, "environ", os.environ.copy())
    del os.environ["AWS_ENDPOINT_URL"]
    os.environ["HAVA_LOCAL_DIR"] = str(tmp_path / ".local")
    os.environ["HAVA_LOCAL_AWS_PORT"] = str(urlparse(aws.endpoint).port)
    (tmp_path / ".local").mkdir()
    load_or_create_index_key(tmp_path / ".local" / "index-key")
    # WHEN the CLI creates a staff member
    assert main(["create", "local.agent", "--role", "admin"]) == 0
    # THEN it went to the local stack (the moto of this test)
    assert os.environ["AWS_ENDPOINT_URL"] == aws.endpoint
    assert "Локальный стенд" in capsys.readouterr().err
    table = aws.client("dynamodb").get_item(
        TableName="hava-staff", Key={"username": {"S": "local.agent"}}
    )
    assert table["Item"]["roles"] == {"SS": ["admin"]}
