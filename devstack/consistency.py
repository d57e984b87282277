"""Consistency checker: walks the tables and reports states the application must never leave.

An operator's and the tests' tool, never on a request path: it reads whole
tables with Scan (the deployed IAM policies grant no ``dynamodb:Scan`` to the
application, so run it with an operator's credentials). Findings name items by
their keys only, never personal data.

What it checks (each finding's ``kind``):

- ``guard_without_account`` / ``guard_points_elsewhere``: an identifier guard
  whose account is missing, deleted, or does not carry that index any more;
- ``account_missing_guard``: a live account lacking its IIN, phone or e-mail guard;
- ``guard_login_copy_stale``: a guard's sign-in copy (``storage.accounts.LOGIN_FIELDS``)
  that differs from its account's fields;
- ``open_guard_without_open_request``: ``open#<type>#<account>`` whose request is
  missing, closed, of another type or another account's;
- ``open_request_without_guard``: an open phone change or deletion without its guard;
- ``cancelled_request_holds_lock`` / ``cancelled_request_keeps_objects``: a cancelled
  phone change (``expire_appeals``) still named by its ``open#`` guard, or still
  with objects under ``requests/<id>/`` in the documents bucket;
- ``request_queue_mismatch``, ``request_unknown_status``, ``request_decision_fields``,
  ``request_in_review_not_ready``, ``request_without_account``,
  ``request_of_deleted_account_keeps_details``;
- ``challenge_consumed_without_account`` / ``challenge_unconsumed_with_account``
  (registration: the account and the consumed challenge are one transaction) /
  ``challenge_lost_but_account_created`` (a registration answered as lost to a taken
  IIN or e-mail consumes its challenge and must create nothing),
  ``phone_challenge_mismatch`` (consumed ↔ the request's ``phone_confirmed``);
- ``account_without_application`` / ``loan_without_account``;
- ``deleted_account_keeps_data`` / ``session_of_missing_or_deleted_account``;
- loans and payments: ``more_than_one_open_loan``, ``open_loan_without_guard``,
  ``loan_guard_without_open_loan``, ``payments_do_not_add_up`` (the payment items of a
  loan against its ``paid_total`` and ``payments_count``), ``payment_without_loan``,
  ``payment_guard_without_payment``, ``outstanding_loan_not_in_due_index``.

``python -m devstack.consistency`` checks the environment's tables (the
local stack when no endpoint is set, like ``staff_cli``), prints the findings and
exits 1 if there are any.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from pynamodb.models import Model

__all__ = ["Finding", "Snapshot", "check", "count_items", "scan_all", "snapshot"]

M = TypeVar("M", bound=Model)
OPEN_STATUSES = ("awaiting_documents", "in_review")
DECIDED_STATUSES = ("approved", "rejected", "resolved")


@dataclass(frozen=True)
class Finding:
    """One impossible state: what, which item (keys only) and why."""

    kind: str
    table: str
    key: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.table}[{self.key}] {self.detail}"


def scan_all(model: type[M]) -> list[M]:
    """Every item of a table (Scan: operators' tools and tests only)."""
    return list(model.scan(consistent_read=True))


def count_items(model: type[Model]) -> int:
    """How many items a table holds (Scan with Select=COUNT)."""
    return sum(1 for _ in model.scan(consistent_read=True, attributes_to_get=[_hash_key(model)]))


def _hash_key(model: type[Model]) -> str:
    for name, attribute in model.get_attributes().items():
        if attribute.is_hash_key:
            return attribute.attr_name or name
    raise ValueError(f"{model.__name__} has no hash key")


@dataclass
class Snapshot:
    """The items the checks look at, read once."""

    accounts: dict[str, Any]
    guards: dict[str, Any]
    requests: dict[str, Any]
    challenges: list[Any]
    loans: list[Any]
    sessions: list[Any]
    #: request id -> objects left in the documents bucket, for cancelled requests.
    cancelled_objects: dict[str, int] = field(default_factory=dict)
    payments: list[Any] = field(default_factory=list)


def snapshot() -> Snapshot:
    """Read every table the checks need."""
    from chalicelib.storage.accounts import AccountModel, IdentifierModel
    from chalicelib.storage.appeals import AppealModel
    from chalicelib.storage.challenges import ChallengeModel
    from chalicelib.storage.loans import PAYMENT_MARK, LoanModel, PaymentModel
    from chalicelib.storage.sessions import SessionModel

    requests = {r.request_id: r for r in scan_all(AppealModel)}
    # Loans and their payments share a table (sort keys tell them apart).
    loans = [item for item in scan_all(LoanModel) if PAYMENT_MARK not in item.loan_id]
    payments = [item for item in scan_all(PaymentModel) if PAYMENT_MARK in item.loan_id]
    return Snapshot(
        accounts={a.account_id: a for a in scan_all(AccountModel)},
        guards={g.lookup: g for g in scan_all(IdentifierModel)},
        requests=requests,
        challenges=scan_all(ChallengeModel),
        loans=loans,
        sessions=scan_all(SessionModel),
        cancelled_objects=_cancelled_objects(requests.values()),
        payments=payments,
    )


def _cancelled_objects(requests: Iterable[Any]) -> dict[str, int]:
    """How many objects each cancelled request still has in the documents bucket."""
    from chalicelib.services.documents import list_keys

    return {r.request_id: len(list_keys(r.request_id)) for r in requests if r.status == "cancelled"}


def check(snap: Snapshot | None = None) -> list[Finding]:
    """Every impossible state of the tables (an empty list: consistent)."""
    snap = snap or snapshot()
    findings: list[Finding] = []
    findings += _guards(snap)
    findings += _accounts(snap)
    findings += _requests(snap)
    findings += _challenges(snap)
    findings += _loans_and_sessions(snap)
    findings += _lending(snap)
    return findings


def _live(account: Any) -> bool:
    return account is not None and account.status != "deleted"


def _guards(snap: Snapshot) -> Iterable[Finding]:
    from chalicelib.storage.accounts import LOGIN_FIELDS

    for lookup, guard in snap.guards.items():
        if lookup.startswith(("open#loan#", "payment#", "reminder#")):
            continue  # the loans' guards and markers: see _lending
        if lookup.startswith("open#"):
            yield from _open_guard(snap, lookup, guard)
            continue
        account = snap.accounts.get(guard.account_id)
        if account is None or not _live(account):
            state = "missing" if account is None else "deleted"
            yield Finding("guard_without_account", "identifiers", lookup, f"account {state}")
        elif lookup not in (account.iin_index, account.phone_index, account.email_index):
            yield Finding(
                "guard_points_elsewhere",
                "identifiers",
                lookup,
                f"account {guard.account_id} no longer has this index",
            )
        elif guard.has_login:
            stale = [
                name
                for name in LOGIN_FIELDS
                if _login_value(getattr(guard, name)) != _login_value(getattr(account, name))
            ]
            if stale:
                yield Finding(
                    "guard_login_copy_stale", "identifiers", lookup, "differs: " + ", ".join(stale)
                )


def _login_value(value: Any) -> Any:
    """Absent and empty lists, absent and False compare equal (the model's defaults)."""
    return value or None


def _open_guard(snap: Snapshot, lookup: str, guard: Any) -> Iterable[Finding]:
    _, request_type, account_id = [*lookup.split("#", 2), "", ""][:3]
    appeal = snap.requests.get(guard.account_id)
    if appeal is None:
        why = f"request {guard.account_id} missing"
    elif appeal.status == "cancelled":
        yield Finding("cancelled_request_holds_lock", "identifiers", lookup, f"{appeal.request_id}")
        return
    elif appeal.status not in OPEN_STATUSES:
        why = f"request {appeal.request_id} is {appeal.status}"
    elif appeal.type != request_type or appeal.account_id != account_id:
        why = f"request {appeal.request_id} is another type's or account's"
    else:
        return
    yield Finding("open_guard_without_open_request", "identifiers", lookup, why)


def _accounts(snap: Snapshot) -> Iterable[Finding]:
    for account_id, account in snap.accounts.items():
        if account.status == "deleted":
            kept = [
                name
                for name in ("pii", "iin_index", "phone_index", "email_index")
                if getattr(account, name)
            ]
            if kept:
                yield Finding("deleted_account_keeps_data", "accounts", account_id, ", ".join(kept))
            continue
        for kind in ("iin", "phone", "email"):
            index = getattr(account, f"{kind}_index")
            guard = snap.guards.get(index)
            if guard is None or guard.account_id != account_id:
                yield Finding(
                    "account_missing_guard",
                    "accounts",
                    account_id,
                    f"{kind} guard {'missing' if guard is None else 'held by another account'}",
                )


def _requests(snap: Snapshot) -> Iterable[Finding]:
    from chalicelib.domain import appeals as rules

    for request_id, request in snap.requests.items():
        known = rules.TRANSITIONS.get(request.type, {})
        reachable = set(known) | {s for targets in known.values() for s in targets}
        if request.status not in reachable:
            yield Finding(
                "request_unknown_status", "appeals", request_id, f"{request.type}/{request.status}"
            )
        expected_queue = rules.queue_key(request.type, request.status)
        if request.queue != expected_queue:
            yield Finding(
                "request_queue_mismatch",
                "appeals",
                request_id,
                f"status {request.status}, queue {request.queue!r} (expected {expected_queue!r})",
            )
        decided = request.status in DECIDED_STATUSES
        if decided != bool(request.decided_at and request.decided_by):
            yield Finding(
                "request_decision_fields",
                "appeals",
                request_id,
                f"status {request.status}, decided_at {request.decided_at!r}",
            )
        if request.type == rules.PHONE_CHANGE and request.status == rules.IN_REVIEW:
            documents = request.documents.as_dict() if request.documents else {}
            ready = request.phone_confirmed and all(
                (documents.get(doc) or {}).get("status") == rules.DOC_ACCEPTED
                for doc in rules.DOCUMENTS
            )
            if not ready:
                yield Finding("request_in_review_not_ready", "appeals", request_id, "phone change")
        account = snap.accounts.get(request.account_id) if request.account_id else None
        if request.account_id and account is None:
            yield Finding("request_without_account", "appeals", request_id, f"{request.account_id}")
        if (
            account is not None
            and account.status == "deleted"
            and (request.details or request.new_phone_index)
            and request.type != rules.DELETION
        ):
            yield Finding(
                "request_of_deleted_account_keeps_details", "appeals", request_id, request.type
            )
        if snap.cancelled_objects.get(request_id):
            yield Finding(
                "cancelled_request_keeps_objects",
                "appeals",
                request_id,
                f"{snap.cancelled_objects[request_id]} object(s) under requests/{request_id}/",
            )
        if (
            request.account_id
            and request.type in (rules.PHONE_CHANGE, rules.DELETION)
            and request.status in OPEN_STATUSES
        ):
            lookup = f"open#{request.type}#{request.account_id}"
            guard = snap.guards.get(lookup)
            if guard is None or guard.account_id != request_id:
                yield Finding("open_request_without_guard", "appeals", request_id, lookup)


def _challenges(snap: Snapshot) -> Iterable[Finding]:
    for challenge in snap.challenges:
        key = challenge.challenge_id
        if challenge.purpose == "registration" and challenge.account_id:
            exists = challenge.account_id in snap.accounts
            # A registration that lost to a taken IIN/e-mail is consumed on purpose and
            # creates nothing (services.registration._taken_identifiers).
            lost = bool(challenge.lost_to_taken_identifier)
            if challenge.consumed and not exists and not lost:
                yield Finding(
                    "challenge_consumed_without_account", "challenges", key, challenge.account_id
                )
            if lost and exists:
                yield Finding(
                    "challenge_lost_but_account_created", "challenges", key, challenge.account_id
                )
            if not challenge.consumed and exists:
                yield Finding(
                    "challenge_unconsumed_with_account", "challenges", key, challenge.account_id
                )
        elif challenge.purpose == "phone_change" and challenge.request_id:
            request = snap.requests.get(challenge.request_id)
            if request is None:
                yield Finding("phone_challenge_mismatch", "challenges", key, "request missing")
            elif bool(challenge.consumed) != bool(request.phone_confirmed):
                yield Finding(
                    "phone_challenge_mismatch",
                    "challenges",
                    key,
                    f"consumed={challenge.consumed}, phone_confirmed={request.phone_confirmed}",
                )


def _loans_and_sessions(snap: Snapshot) -> Iterable[Finding]:
    with_loans = {loan.account_id for loan in snap.loans}
    for loan in snap.loans:
        if loan.account_id not in snap.accounts:
            yield Finding("loan_without_account", "loans", f"{loan.account_id}/{loan.loan_id}", "")
    for account_id in snap.accounts:
        if account_id not in with_loans:
            yield Finding("account_without_application", "accounts", account_id, "")
    for session in snap.sessions:
        if session.kind != "borrower":
            continue
        if not _live(snap.accounts.get(session.account_id)):
            yield Finding(
                "session_of_missing_or_deleted_account",
                "sessions",
                session.token_hash[:12] + "…",
                session.account_id,
            )


def _lending(snap: Snapshot) -> Iterable[Finding]:
    from decimal import Decimal

    from chalicelib.domain.lending import OPEN, OUTSTANDING
    from chalicelib.storage.loans import loan_of_payment

    open_by_account: dict[str, list[Any]] = {}
    loans = {(loan.account_id, loan.loan_id): loan for loan in snap.loans}
    for loan in snap.loans:
        if loan.status in OPEN:
            open_by_account.setdefault(loan.account_id, []).append(loan)
        key = f"{loan.account_id}/{loan.loan_id}"
        if loan.status in OUTSTANDING and loan.due_status != loan.status:
            yield Finding("outstanding_loan_not_in_due_index", "loans", key, str(loan.due_status))
    for account_id, open_loans in open_by_account.items():
        if len(open_loans) > 1:
            yield Finding("more_than_one_open_loan", "loans", account_id, str(len(open_loans)))
        if f"open#loan#{account_id}" not in snap.guards:
            yield Finding("open_loan_without_guard", "loans", account_id, open_loans[0].loan_id)
    for lookup in snap.guards:
        if lookup.startswith("open#loan#") and lookup[len("open#loan#") :] not in open_by_account:
            yield Finding("loan_guard_without_open_loan", "identifiers", lookup, "")
    sums: dict[tuple[str, str], tuple[Decimal, int]] = {}
    references = set()
    for payment in snap.payments:
        owner = (payment.account_id, loan_of_payment(payment))
        references.add(f"payment#{payment.reference_index}")
        if owner not in loans:
            yield Finding("payment_without_loan", "loans", f"{owner[0]}/{payment.loan_id}", "")
            continue
        total, count = sums.get(owner, (Decimal(0), 0))
        sums[owner] = (total + Decimal(payment.amount), count + 1)
    for owner, loan in loans.items():
        total, count = sums.get(owner, (Decimal(0), 0))
        recorded = Decimal(loan.paid_total or "0")
        if total != recorded or count != int(loan.payments_count or 0):
            yield Finding(
                "payments_do_not_add_up",
                "loans",
                "/".join(owner),
                f"items {total} in {count}, loan records {recorded} in {loan.payments_count or 0}",
            )
    for lookup in snap.guards:
        if lookup.startswith("payment#") and lookup not in references:
            yield Finding("payment_guard_without_payment", "identifiers", lookup, "")


def main(argv: Sequence[str] | None = None) -> int:
    """Check the tables; print the findings; exit 1 if any."""
    parser = argparse.ArgumentParser(
        prog="python -m devstack.consistency", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per finding")
    args = parser.parse_args(argv)
    from devstack.staff_cli import use_local_stack_if_present

    use_local_stack_if_present()
    findings = check()
    for finding in findings:
        print(json.dumps(asdict(finding), ensure_ascii=False) if args.json else str(finding))
    if not findings:
        print("consistent: no findings", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
