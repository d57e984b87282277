"""The support desk's day (issue 14 §8–§9): listed rejection reasons with a note that stays
with staff, the IIN check that never shows an IIN, names and counts in the queue."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import requests as rules
from tests.api.test_staff_and_admin import file_request
from tests.factories import valid_iin
from tests.helpers import PASSWORD, Api, form, make_staff, staff_login


@pytest.fixture
def support(api: Api) -> str:
    return staff_login(api, "desk.support", make_staff("desk.support", "support"))


@pytest.fixture
def security(api: Api) -> str:
    return staff_login(api, "desk.security", make_staff("desk.security", "security"))


def borrower(api: Api) -> tuple[dict[str, Any], str, str]:
    """A registered borrower: questionnaire, session token, account id."""
    data = form()
    token = api.register(data)["token"]
    account_id = api.get("/v1/me", token=token).body["account_id"]
    return data, token, account_id


def staff_trail(account_id: str) -> list[dict[str, Any]]:
    from chalicelib.services.audit import for_subject

    return for_subject(account_id, internal=True).items


# --- §8 safe decisions: listed reasons, an internal note ----------------------------


def test_a_rejection_names_a_listed_reason_and_the_note_never_reaches_the_borrower(
    api: Api, support: str
) -> None:
    # GIVEN a deletion request under review
    data, token, account_id = borrower(api)
    filed = api.post("/v1/deletion-requests", {"password": PASSWORD}, token=token)
    assert filed.status == 201, filed.body
    request_id = filed.body["request_id"]
    path = f"/admin/v1/requests/{request_id}/decision"

    # WHEN support opens it THEN the server's list of reasons for this type comes with it
    view = api.get(f"/admin/v1/requests/{request_id}", token=support).body
    reasons = {r["code"]: r for r in view["rejection_reasons"]}
    assert set(reasons) == set(rules.REJECTION_REASONS[rules.DELETION])
    assert all(r["title"] and r["borrower_text"] for r in reasons.values())

    # AND a rejection without a listed reason, or a reason on an approval, is refused
    refused = [
        ({"decision": "rejected", "note": "Проверено по базе"}, "reason_code"),
        ({"decision": "rejected", "reason_code": "made_up"}, "reason_code"),
        ({"decision": "rejected", "reason_code": "photos_unreadable"}, "reason_code"),
        ({"decision": "approved", "reason_code": "legal_hold", "note": "Проверено"}, "reason_code"),
        ({"decision": "approved"}, "note"),
        ({"decision": "approved", "note": "ок"}, "note"),
        ({"decision": "approved", "note": "Проверено", "reason": "Проверено"}, "reason"),
    ]
    for body, field in refused:
        reply = api.post(path, body, token=support)
        assert reply.status == 400, (body, reply.body)
        assert field in reply.error["fields"], (body, reply.error)

    # WHEN support rejects with a listed reason and an internal note
    note = "Внутреннее: звонил заявителю, голос не совпал с записью разговора"
    body = {"decision": "rejected", "reason_code": "owner_unconfirmed", "note": note}
    decided = api.post(path, body, token=support)
    assert decided.status == 200, decided.body

    # THEN the borrower reads the reason's own words — in the request, the SMS, the export
    said = reasons["owner_unconfirmed"]["borrower_text"]
    (mine,) = api.get("/v1/requests", token=token).body["items"]
    assert mine["rejection_reason"] == said
    sms = api.sms_to(data["phone"])[-1]
    assert said in sms and note not in sms
    export = api.get("/v1/me/export", token=token)
    assert export.status == 200, export.body
    assert note not in json.dumps(export.body, ensure_ascii=False)
    assert all("note" not in entry for entry in export.body["audit"])
    assert any(e["action"] == "deletion_rejected" for e in export.body["audit"])
    # AND the note is in the decision's audit entry, which staff read in Russian words
    trail = api.get(f"/admin/v1/audit?account_id={account_id}", token=support).body["items"]
    (entry,) = [e for e in trail if e["action"] == "deletion_rejected"]
    assert (entry["note"], entry["reason"]) == (note, said)
    assert entry["action_text"] == "Удаление отклонено"
    assert all(e["action_text"] != e["action"] for e in trail), trail
    # AND the decided request offers nothing more to decide
    assert api.get(f"/admin/v1/requests/{request_id}", token=support).body["decisions"] == []


def test_a_kazakh_borrower_reads_the_rejection_reason_in_kazakh(api: Api, support: str) -> None:
    # GIVEN a borrower who chose Kazakh files a deletion request
    data, token, _ = borrower(api)
    switched = api.call("PUT", "/v1/me/language", {"language": "kk"}, token=token)
    assert switched.status == 200, switched.body
    filed = api.post("/v1/deletion-requests", {"password": PASSWORD}, token=token)
    assert filed.status == 201, filed.body
    # WHEN support rejects it with a listed reason
    decided = api.post(
        f"/admin/v1/requests/{filed.body['request_id']}/decision",
        {"decision": "rejected", "reason_code": "legal_hold"},
        token=support,
    )
    assert decided.status == 200, decided.body
    # THEN the SMS gives the reason in Kazakh, not the Russian text staff chose from
    sms = api.sms_to(data["phone"])[-1]
    assert "Есептік жазбаны қазір жою мүмкін емес." in sms, sms
    assert "Удалить учётную запись" not in sms, sms


def test_an_approval_keeps_its_note_in_the_trail_only(api: Api, support: str) -> None:
    account_id = borrower(api)[2]
    request_id = file_request(rules.DELETION, datetime.now(UTC), account_id)
    note = "Внутреннее: долгов нет, личность подтверждена звонком"
    decided = api.post(
        f"/admin/v1/requests/{request_id}/decision",
        {"decision": "approved", "note": note},
        token=support,
    )
    assert decided.status == 200, decided.body
    assert decided.body["rejection_reason"] is None
    (entry,) = [e for e in staff_trail(account_id) if e["action"] == "deletion_approved"]
    assert entry["note"] == note and entry["reason"] is None
    from chalicelib.services.audit import for_subject

    assert all("note" not in e for e in for_subject(account_id).items)


# --- §9 the IIN check ---------------------------------------------------------------


def test_the_iin_check_says_only_whether_it_matches_and_cannot_enumerate(
    api: Api, support: str, security: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a phone change under review
    data, _, account_id = borrower(api)
    request_id = file_request(rules.PHONE_CHANGE, datetime.now(UTC), account_id)
    path = f"/admin/v1/requests/{request_id}/iin-check"
    other = valid_iin(serial=977)
    assert other != data["iin"]

    # WHEN the typed value is not an IIN THEN 400, and nothing is counted
    for bad in ({"iin": "12345"}, {"iin": "12345678901a"}, {"iin": data["iin"], "x": 1}, {}):
        reply = api.post(path, bad, token=support)
        assert reply.status == 400, (bad, reply.body)
    # AND the wrong role is refused
    assert api.post(path, {"iin": data["iin"]}, token=security).status == 403

    # WHEN support types a wrong IIN, then the right one (spaces allowed)
    miss = api.post(path, {"iin": other}, token=support)
    spaced = f"{data['iin'][:6]} {data['iin'][6:]}"
    hit = api.post(path, {"iin": spaced}, token=support)

    # THEN only whether it matches comes back, never an IIN
    assert (miss.status, miss.body) == (200, {"matches": False, "attempts_left": 2})
    assert (hit.status, hit.body) == (200, {"matches": True, "attempts_left": 1})
    view = api.get(f"/admin/v1/requests/{request_id}", token=support).body
    assert data["iin"] not in json.dumps(view)
    # AND each check is audited with its outcome
    checks = [e for e in staff_trail(account_id) if e["action"] == "iin_checked"]
    assert [e["reason"] for e in checks] == ["не совпадает", "совпадает"]
    assert all(e["actor"] == "staff#desk.support" and e["target"] == request_id for e in checks)
    assert all(data["iin"] not in json.dumps(e) for e in checks)

    # WHEN the tries on this request run out THEN 429, before anything is compared
    assert api.post(path, {"iin": other}, token=support).body["attempts_left"] == 0
    limited = api.post(path, {"iin": data["iin"]}, token=support)
    assert limited.status == 429, limited.body
    assert "Retry-After" in limited.headers
    assert len([e for e in staff_trail(account_id) if e["action"] == "iin_checked"]) == 3

    # AND a member's checks across requests are capped per hour too
    from chalicelib.services import desk

    monkeypatch.setattr(desk, "IIN_CHECKS_PER_HOUR", 4)
    second = file_request(rules.PHONE_CHANGE, datetime.now(UTC), account_id)
    assert (
        api.post(f"/admin/v1/requests/{second}/iin-check", {"iin": other}, token=support).status
        == 429
    )

    # AND a report with no account has nothing to compare with
    report = file_request(rules.COMPROMISE, datetime.now(UTC))
    answer = api.post(f"/admin/v1/requests/{report}/iin-check", {"iin": other}, token=security)
    assert answer.status == 404
    missing = api.post("/admin/v1/requests/req_missing/iin-check", {"iin": other}, token=support)
    assert missing.status == 404


# --- §9 the day's queue ---------------------------------------------------------------


def test_the_queue_names_borrowers_and_counts_per_type_without_a_scan(
    api: Api, support: str, security: str, dynamodb_calls: Counter[str]
) -> None:
    # GIVEN two deletions (one of a borrower, one with no account), a phone change, a report
    data, _, account_id = borrower(api)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    named = file_request(rules.DELETION, start, account_id)
    nameless = file_request(rules.DELETION, start + timedelta(hours=1))
    file_request(rules.PHONE_CHANGE, start)
    file_request(rules.COMPROMISE, start)

    # WHEN support loads the deletion queue
    dynamodb_calls.clear()
    page = api.get("/admin/v1/queue?type=deletion", token=support)
    page_calls = dynamodb_calls.copy()

    # THEN each row names its borrower; one Query, one transactional read, no Scan
    assert page.status == 200, page.body
    rows = {item["request_id"]: item["borrower_name"] for item in page.body["items"]}
    assert rows[named] == f"{data['surname']} {data['name']} {data['patronymic']}"
    assert rows[nameless] is None
    assert page_calls["Query"] == 1 and page_calls["Scan"] == 0
    assert page_calls["TransactGetItems"] == 1
    assert page_calls["BatchGetItem"] == 0
    # AND showing names was audited, naming the requests listed
    from chalicelib.services.audit import for_subject

    (shown,) = [e for e in for_subject("staff#desk.support").items if e["action"] == "queue_viewed"]
    assert set(shown["target"].split(",")) == set(rows)

    # WHEN support and security read the counts
    dynamodb_calls.clear()
    counts = api.get("/admin/v1/queue/counts", token=support)
    count_calls = dynamodb_calls.copy()
    security_counts = api.get("/admin/v1/queue/counts", token=security)

    # THEN each sees the types they review, one COUNT Query per type, no Scan
    assert counts.status == 200, counts.body
    assert [(c["type"], c["count"]) for c in counts.body["items"]] == [
        ("phone_change", 1),
        ("deletion", 2),
    ]
    assert count_calls["Query"] == count_calls["Query:COUNT"] == 2
    assert count_calls["Scan"] == 0
    assert [(c["type"], c["count"]) for c in security_counts.body["items"]] == [("compromise", 1)]
    assert api.get("/admin/v1/queue/counts", token=None).status == 401
