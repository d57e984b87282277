"""Injected AWS faults: every answer a success, a 4xx or a clean 503; consistent tables after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.reliability import GENEROUS_LIMITS, fault_run
from tests.conftest import Aws
from tests.helpers import PASSWORD, Api, form

#: (seed, share): 30 % as the issue asks; 60 % so that retries run out and 503s show.
PLANS = ((1, 0.3), (2, 0.3), (3, 0.3), (4, 0.6), (5, 0.6), (6, 0.6))
SERVICES = ("dynamodb", "sqs", "kms")
#: Findings tolerated by the randomized runs (none).
KNOWN_FINDINGS: tuple[str, ...] = ()


@pytest.fixture
def generous(monkeypatch: pytest.MonkeyPatch, aws: Aws) -> Iterator[None]:
    """One client address for everything: lift the per-address and per-number budgets."""
    from chalicelib.config import reset_settings

    for name, value in GENEROUS_LIMITS.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    yield
    reset_settings()


@pytest.mark.parametrize(("seed", "share"), PLANS)
def test_every_route_answers_cleanly_and_leaves_consistent_tables(
    api: Api, generous: None, seed: int, share: float
) -> None:
    # GIVEN a share of DynamoDB and SQS calls failing (throttling or 5xx), seeded
    # WHEN a borrower registers, signs in, reads the cabinet, files every request
    # and staff approves the deletion (each call retried on 503, as Retry-After asks)
    run = fault_run(api.client, api.aws.outbox, seed, share=share, services=SERVICES)

    # THEN faults were injected and every answer was a success, a 4xx or a clean 503
    assert run.injected > 0
    assert run.unclean == []
    # AND the consistency checker finds nothing
    assert [f for f in run.findings if not f.startswith(KNOWN_FINDINGS)] == []
    # AND at 30 % patient retries get the whole scenario through
    if share <= 0.3:
        assert "registration" in run.completed, run.replies


def test_the_injector_reaches_pynamodb_boto3_and_the_encryption_sdk(api: Api) -> None:
    from devstack.faults import inject

    with inject(services=None, share=1.0, seed=0, backoff_scale=0.01) as faults:
        login = api.post("/v1/sessions", {"login": "someone@example.kz", "password": "x" * 10})
    assert login.status == 503
    assert login.headers["Retry-After"] == "30"
    assert faults.of_service("dynamodb") >= 4  # pynamodb: 1 + max_retry_attempts


def test_throttled_calls_are_retried_by_botocore_and_then_succeed(api: Api) -> None:
    from devstack.faults import inject

    # GIVEN every other DynamoDB attempt throttled (seeded)
    with inject(services={"dynamodb"}, share=0.5, seed=5, kinds=("throttle",)) as faults:
        reply = api.get("/v1/calculator?amount=50000&term_days=15")
        started = api.start(form())
    # THEN botocore's retries absorb them: the answers are successes
    assert reply.status == 200
    assert started.status == 202, started.body
    assert faults.of_service("dynamodb") > 0


def test_injection_is_repeatable_for_a_seed() -> None:
    from devstack.faults import Faults

    def pattern(seed: int) -> list[bool]:
        plan = Faults(services=None, operations=None, share=0.3, seed=seed)
        return [plan.decide("dynamodb", "GetItem") is not None for _ in range(50)]

    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)


def test_the_checker_reports_a_guard_without_its_account(aws: Aws) -> None:
    from chalicelib.storage.accounts import IdentifierModel
    from devstack.consistency import check

    IdentifierModel(lookup="iin:dangling", account_id="acc_missing").save()

    kinds = [f.kind for f in check()]

    assert kinds == ["guard_without_account"]


# --- bugs found under injected faults, fixed; these keep them fixed -------------------


@pytest.mark.parametrize("operation", ["GenerateDataKey", "Decrypt"])
def test_a_kms_outage_while_sealing_or_opening_personal_data_is_a_clean_503(
    api: Api, operation: str
) -> None:
    from devstack.faults import inject

    # GIVEN a borrower signed in (their data sealed before the outage)
    token = api.register()["token"]
    # WHEN KMS fails every data-key call (new data key to seal, decrypt to open)
    with inject(services={"kms"}, operations={operation}, share=1.0, backoff_scale=0.01):
        replies = [
            api.start(form()),
            api.post("/v1/deletion-requests", {"password": PASSWORD}, token=token),
        ]
    # THEN each answer is a success or a clean 503 with Retry-After, never a 500
    for reply in replies:
        assert reply.status < 500 or (reply.status == 503 and reply.headers.get("Retry-After"))


def test_a_deletion_approval_interrupted_after_its_commit_is_finished_or_audited(
    api: Api, generous: None
) -> None:
    from chalicelib.storage.audit import AuditModel
    from devstack.consistency import check
    from devstack.faults import inject
    from tests.helpers import make_staff, staff_login

    # GIVEN a deletion request under review and a support member
    registered = api.register()
    filed = api.post("/v1/deletion-requests", {"password": PASSWORD}, token=registered["token"])
    assert filed.status == 201, filed.body
    support = staff_login(api, "sasha.support", make_staff("sasha.support", "support"))
    path = f"/admin/v1/requests/{filed.body['request_id']}/decision"
    body = {"decision": "approved", "reason": "Заявка проверена, долгов нет"}

    # WHEN every DeleteItem fails during the approval (the commit is a TransactWriteItems)
    with inject(services={"dynamodb"}, operations={"DeleteItem"}, share=1.0, backoff_scale=0.01):
        first = api.post(path, body, token=support)
    # AND staff retries once DynamoDB is back
    retry = api.post(path, body, token=support)

    # THEN the first answer was a clean 503 and the retry finishes the job (or it was done)
    assert first.status in (200, 503)
    assert retry.status == 200
    # AND no session of the deleted account survives, and the decision is in the audit trail
    assert check() == []
    actions = [e.action for e in AuditModel.query(registered["account_id"])]
    assert "deletion_approved" in actions
