"""A loan's life over HTTP against the local stack (e2e and race tests share it)."""

from __future__ import annotations

from typing import Any

import requests

from bench.reliability import _post
from tests.e2e.conftest import LocalStack

IBAN = "KZ72 6010 0000 0000 0000"  # checksum-valid, bank code 601


def call(
    stack: LocalStack, method: str, path: str, body: Any = None, token: str | None = None
) -> requests.Response:
    if method == "POST":
        return _post(stack.base_url, path, body or {}, token)  # type: ignore[no-any-return]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, stack.base_url + path, json=body, headers=headers, timeout=60)


def ok(reply: requests.Response, status: int = 200) -> Any:
    assert reply.status_code == status, (reply.status_code, reply.text)
    return reply.json() if reply.content else None


def desk(
    stack: LocalStack, staff: str, account_id: str, loan_id: str, action: str, body: Any
) -> Any:
    path = f"/admin/v1/loans/{account_id}/{loan_id}/{action}"
    return call(stack, "POST", path, body, staff)


def my_loans(stack: LocalStack, token: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(call(stack, "GET", "/v1/me/loans", token=token))["items"]
    return items


def sign_and_issue(
    stack: LocalStack, phone: str, token: str, staff: str, account_id: str, loan_id: str
) -> dict[str, Any]:
    """Approve, name the payout account, sign by SMS code, pay out: the loan issued."""
    ok(desk(stack, staff, account_id, loan_id, "decision", {"decision": "approve"}))
    base = f"/v1/me/loans/{loan_id}"
    ok(call(stack, "PUT", f"{base}/payout-account", {"iban": IBAN, "own_account": True}, token))
    since = len(stack.outbox())
    started = ok(call(stack, "POST", f"{base}/signature", {}, token), 202)
    code = stack.latest_code(phone, since=since)
    body = {"challenge_id": started["challenge_id"], "code": code}
    assert ok(call(stack, "POST", f"{base}/signature/confirm", body, token))["status"] == "signed"
    payout = {"transfer_reference": f"PP-{loan_id[-6:]}"}
    issued: dict[str, Any] = ok(desk(stack, staff, account_id, loan_id, "payout", payout))
    assert issued["status"] == "issued"
    return issued
