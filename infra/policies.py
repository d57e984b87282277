"""IAM policies of the Lambda functions: the one source of truth.

Each Lambda function Chalice deploys has its own role (``hava-cabinet-<stage>-
<function>``) and its own policy file, ``.chalice/policy-<stage>-<function>.json``
(``.chalice/config.json``: ``stages.<stage>.lambda_functions.<function>.
iam_policy_file``; ``autogen_policy`` is false). Those files are generated from
``FUNCTIONS`` below, rendered for the stage's account and region
(``infra/stages.json``) and the stage's settings (``.chalice/config.json``):

    python -m infra.policies write          # make policies
    python -m infra.policies check          # exit 1 when a committed file differs
    python -m infra.policies verify-account dev   # the credentials are dev's account

``tests/iam/test_policies.py`` fails when a committed file differs from what
this module generates, or when a function of ``app.py`` has no policy here and
in every stage of ``.chalice/config.json``. ``tests/iam/test_iam_enforced.py``
renders the same grants for moto's account and runs the main flows with each
function's AWS calls signed by an IAM user holding exactly its policy.

Every action below is one the function's code makes (boto3 clients in
``chalicelib/adapters`` and ``chalicelib/services``, pynamodb models, the
Powertools idempotency table, the AWS Encryption SDK's KMS calls), or one the
Lambda service makes with the function's role (SQS event sources, logs).
DynamoDB transactions are authorised per item (``TransactWriteItems`` needs
Put/Update/Delete/ConditionCheckItem on each item's table, ``TransactGetItems``
GetItem), so no Transact* action appears.

Adding a Lambda function (a schedule, a worker): add an entry to ``FUNCTIONS``
with what its code calls, run ``make policies``, and give the function
``lambda_functions.<name>.iam_policy_file`` in every stage of
``.chalice/config.json`` (the tests fail until all three are done).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Resource names, as the application uses them (infra/resources.yaml creates them).
from chalicelib.config import INBOUND_QUEUE, NOTIFY_QUEUE, TABLE_PREFIX, UPLOADS_QUEUE

ROOT = Path(__file__).resolve().parents[1]
CHALICE_DIR = ROOT / ".chalice"
STAGES_FILE = ROOT / "infra" / "stages.json"
APP_NAME = "hava-cabinet"

#: The prefix every request document lives under (``services.documents``).
DOCUMENTS_PREFIX = "requests/"
#: Where SES stores received e-mail (``workers.inbound.INBOUND_PREFIX``).
INBOUND_PREFIX = "inbound/"
#: ``chalicelib.config`` defaults, used when a stage does not set the variable.
DEFAULT_KMS_KEY_ID = "alias/hava-pii"
DEFAULT_EMAIL_SENDER = "no-reply@hava.example"

Statement = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """Where a policy applies: one stage in one account and region."""

    stage: str
    account_id: str
    region: str
    documents_bucket: str
    kms_alias: str
    index_key_parameter: str
    email_sender: str
    #: ``HAVA_MAINTENANCE_PARAMETER`` (chalicelib.maintenance), "" when the stage has none.
    maintenance_parameter: str = ""
    partition: str = "aws"

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"

    def table(self, name: str) -> str:
        return self.arn("dynamodb", f"table/{TABLE_PREFIX}{name}")

    def queue(self, name: str) -> str:
        return self.arn("sqs", name)

    @property
    def bucket_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.documents_bucket}"

    @property
    def email_identities(self) -> list[str]:
        """The sender address and its domain: SES authorises whichever is verified."""
        domain = self.email_sender.rsplit("@", 1)[-1]
        return [
            self.arn("ses", f"identity/{domain}"),
            self.arn("ses", f"identity/{self.email_sender}"),
        ]


def lambda_name(function: str, stage: str) -> str:
    """The deployed function's name (Chalice: the API handler is ``<app>-<stage>``)."""
    if function == "api_handler":
        return f"{APP_NAME}-{stage}"
    return f"{APP_NAME}-{stage}-{function}"


# --- statements -------------------------------------------------------------


def _allow(sid: str, actions: list[str], resources: list[str], **extra: Any) -> Statement:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def _logs(t: Target, function: str) -> Statement:
    group = t.arn("logs", f"log-group:/aws/lambda/{lambda_name(function, t.stage)}")
    return _allow(
        "OwnLogGroup",
        ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        [group, f"{group}:*"],
    )


def _tables(t: Target, sid: str, tables: Mapping[str, list[str]]) -> list[Statement]:
    """One statement per table: item actions on that table only."""
    return [
        _allow(f"{sid}{name.title()}", [f"dynamodb:{a}" for a in actions], [t.table(name)])
        for name, actions in tables.items()
    ]


def _queries(t: Target, targets: list[str]) -> Statement:
    """``Query`` on tables (``name``) and indexes (``name/index/idx``)."""
    resources = [t.table(name) for name in targets]
    return _allow("DynamoDBQueries", ["dynamodb:Query"], resources)


def _consume(t: Target, queue: str) -> Statement:
    """What Lambda's SQS event source mapping does with the function's role."""
    return _allow(
        "ConsumeOwnQueue",
        ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        [t.queue(queue)],
    )


def _enqueue_notifications(t: Target) -> Statement:
    """``services.notifications.enqueue``: SMS and e-mail go through the notify queue."""
    return _allow(
        "EnqueueNotifications", ["sqs:GetQueueUrl", "sqs:SendMessage"], [t.queue(NOTIFY_QUEUE)]
    )


def _pii_key(t: Target, actions: list[str]) -> Statement:
    """The personal-data key, reached through its alias (the key id is not known here).

    ``DescribeKey``: ``adapters.crypto`` resolves the alias to the key ARN once per
    process (the strict provider decrypts only under a named key ARN).
    """
    return _allow(
        "PiiKeyThroughItsAlias",
        [f"kms:{a}" for a in actions],
        [t.arn("kms", "key/*")],
        Condition={"ForAnyValue:StringEquals": {"kms:ResourceAliases": t.kms_alias}},
    )


def _index_key(t: Target) -> Statement:
    """``crypto.index_key``: the blind-index/HMAC key, one SecureString parameter.

    Under the AWS-managed ``aws/ssm`` key no KMS grant is needed; a parameter
    under a customer key would also need ``kms:Decrypt`` on that key.
    """
    name = t.index_key_parameter
    resource = t.arn("ssm", f"parameter{name}" if name.startswith("/") else f"parameter/{name}")
    return _allow("IndexKeyParameter", ["ssm:GetParameter"], [resource])


def _maintenance_switch(t: Target) -> list[Statement]:
    """``chalicelib.maintenance``: reads the on/off String parameter (≤ once a minute)."""
    name = t.maintenance_parameter
    if not name:
        return []
    resource = t.arn("ssm", f"parameter{name}" if name.startswith("/") else f"parameter/{name}")
    return [_allow("MaintenanceSwitch", ["ssm:GetParameter"], [resource])]


def _documents(t: Target, sid: str, actions: list[str]) -> Statement:
    return _allow(sid, [f"s3:{a}" for a in actions], [f"{t.bucket_arn}/{DOCUMENTS_PREFIX}*"])


def _list_documents(t: Target) -> Statement:
    """``services.documents.list_keys``: ListObjectsV2 under ``requests/<id>/`` only."""
    return _allow(
        "ListRequestDocuments",
        ["s3:ListBucket"],
        [t.bucket_arn],
        Condition={"StringLike": {"s3:prefix": [f"{DOCUMENTS_PREFIX}*"]}},
    )


#: Signed loan agreements (``services.loan_signing.agreement_key``).
AGREEMENTS_PREFIX = "agreements/"


def _agreements(t: Target) -> Statement:
    """The signed PDFs: written once at signing, read through a presigned GET."""
    return _allow(
        "LoanAgreements", ["s3:PutObject", "s3:GetObject"], [f"{t.bucket_arn}/{AGREEMENTS_PREFIX}*"]
    )


# --- the functions ----------------------------------------------------------

_API_ITEM_READ_WRITE = ["GetItem", "PutItem", "UpdateItem"]
_WITH_DELETE = [*_API_ITEM_READ_WRITE, "DeleteItem"]


def api_handler(t: Target) -> list[Statement]:
    """Every route. No SNS/SES, no queue consumption, no idempotency table."""
    return [
        _logs(t, "api_handler"),
        *_tables(
            t,
            "DynamoDB",
            {
                "accounts": _API_ITEM_READ_WRITE,
                # Uniqueness guards and open-request guards are deleted when released.
                "identifiers": _WITH_DELETE,
                "challenges": _API_ITEM_READ_WRITE,
                # Logout, revocation and expired sessions.
                "sessions": _WITH_DELETE,
                "loans": _API_ITEM_READ_WRITE,
                "appeals": _API_ITEM_READ_WRITE,
                # Append-only: entries are written once (conditional put) and read by Query.
                "audit": ["PutItem"],
                # A successful login clears its failure counter.
                "throttles": _WITH_DELETE,
                "staff": _API_ITEM_READ_WRITE,
            },
        ),
        _queries(
            t,
            [
                "identifiers",  # Model.count(hash, limit=1): is a phone/e-mail taken
                "sessions/index/by_account",
                "loans",
                "loans/index/by_status",
                "appeals/index/by_account",
                "appeals/index/by_queue",
                "audit",
                "audit/index/by_actor",
                "staff/index/by_kind",  # GET /admin/v1/staff: a Query, never a Scan
            ],
        ),
        _enqueue_notifications(t),
        # Presigned POST (borrower uploads), presigned GET (staff review), the
        # decision's state=decided tag, deletion with the account (DeleteObjects).
        _documents(
            t, "RequestDocuments", ["PutObject", "GetObject", "PutObjectTagging", "DeleteObject"]
        ),
        # Keys are random per form: tagging and deletion list the request's prefix.
        _list_documents(t),
        _agreements(t),
        # Seal and open personal data; the presigned uploads are SSE-KMS under it.
        _pii_key(t, ["DescribeKey", "GenerateDataKey", "Decrypt"]),
        _index_key(t),
        *_maintenance_switch(t),
    ]


def notify_worker(t: Target) -> list[Statement]:
    """Delivers queued SMS (SNS) and e-mail (SES) once. No S3, no SSM, no app tables."""
    return [
        _logs(t, "notify_worker"),
        _consume(t, NOTIFY_QUEUE),
        # Powertools' DynamoDBPersistenceLayer: claim, read, complete, release on error.
        *_tables(
            t,
            "Idempotency",
            {"idempotency": ["GetItem", "PutItem", "UpdateItem", "DeleteItem"]},
        ),
        _pii_key(t, ["DescribeKey", "Decrypt"]),
        # SMS goes to phone numbers, which have no ARN: allow Publish, deny every topic.
        _allow("SmsToPhoneNumbers", ["sns:Publish"], ["*"]),
        {
            "Sid": "NoPublishToTopics",
            "Effect": "Deny",
            "Action": ["sns:Publish"],
            "Resource": [f"arn:{t.partition}:sns:*:*:*"],
        },
        # SendRawEmail: replies to inbound mail carry In-Reply-To/Auto-Submitted headers.
        _allow(
            "EmailFromTheStageSender", ["ses:SendEmail", "ses:SendRawEmail"], t.email_identities
        ),
    ]


def uploads_worker(t: Target) -> list[Statement]:
    """Checks uploaded documents (S3 → SQS). No SNS/SES: a rejection SMS is queued."""
    return [
        _logs(t, "uploads_worker"),
        _consume(t, UPLOADS_QUEUE),
        *_tables(
            t,
            "DynamoDB",
            {
                # The verdict (versioned update), the face-match result, the submission.
                "appeals": ["GetItem", "UpdateItem"],
                # The borrower's current phone for a rejection or "in review" SMS.
                "accounts": ["GetItem"],
                # That SMS is charged to the number's notice budget.
                "throttles": ["UpdateItem"],
            },
        ),
        # HeadObject needs GetObject; the clean copy replaces the upload (PutObject).
        # HeadObject needs GetObject; the checked copy (PutObject); the upload once
        # checked, and anything no current form could create (DeleteObject).
        _documents(t, "RequestDocuments", ["GetObject", "PutObject", "DeleteObject"]),
        # Without ListBucket, S3 answers HEAD of a missing key with 403, not 404
        # (and the worker would retry a deleted upload into the DLQ). No s3:prefix
        # condition: HeadObject carries no prefix, so the condition would never match.
        _allow("RequestDocumentsMissingKeysAre404", ["s3:ListBucket"], [t.bucket_arn]),
        _enqueue_notifications(t),
        # Open the account's phone, seal the SMS; GetObject/PutObject of SSE-KMS objects.
        _pii_key(t, ["DescribeKey", "GenerateDataKey", "Decrypt"]),
        # The HMAC key signing the worker's own rewrites.
        _index_key(t),
    ]


def inbound_worker(t: Target) -> list[Statement]:
    """E-mail to the phone-change and security addresses (SES → S3 → SNS → SQS).

    Reads the raw message under inbound/, stores checked photos under requests/,
    files the request (with its open-request guard, link challenge and audit entry
    in one transaction), or does what ``POST /v1/me/compromise`` does. Replies and
    SMS are queued. No SNS/SES of its own.
    """
    return [
        _logs(t, "inbound_worker"),
        _consume(t, INBOUND_QUEUE),
        *_tables(
            t,
            "DynamoDB",
            {
                # The account of the From address (blind index), the per-message guard,
                # the one-open-request guard of a phone change; a break-in report sets
                # must_change_password in the guards' sign-in copy too (UpdateItem).
                "identifiers": ["GetItem", "PutItem", "UpdateItem"],
                # get_account; a break-in report sets must_change_password.
                "accounts": ["GetItem", "UpdateItem"],
                "appeals": ["GetItem", "PutItem"],
                # The new number's one-time link.
                "challenges": ["PutItem"],
                "audit": ["PutItem"],
                # A break-in report ends every session.
                "sessions": ["DeleteItem"],
                # Reply and anonymous-report limits (UpdateItem); the new number's SMS
                # cooldown and budgets (codes.limit_sends: PutItem, UpdateItem).
                "throttles": ["PutItem", "UpdateItem"],
            },
        ),
        _queries(t, ["identifiers", "sessions/index/by_account"]),
        _allow(
            "InboundMail",
            ["s3:GetObject"],
            [f"{t.bucket_arn}/{INBOUND_PREFIX}*"],
        ),
        _documents(t, "RequestDocuments", ["PutObject"]),
        _allow("MissingKeysAre404", ["s3:ListBucket"], [t.bucket_arn]),
        _enqueue_notifications(t),
        _pii_key(t, ["DescribeKey", "GenerateDataKey", "Decrypt"]),
        # Blind indexes, the request id derived from SES's id, the uploads marker.
        _index_key(t),
    ]


def expire_appeals(t: Target) -> list[Statement]:
    """Hourly: cancels abandoned phone changes (``services.expiry``). No SNS/SES, no SSM."""
    return [
        _logs(t, "expire_appeals"),
        *_tables(
            t,
            "DynamoDB",
            {
                # Load, then the cancellation (a transaction: per-item actions).
                "appeals": ["GetItem", "UpdateItem"],
                # The open-request guard: read, then deleted with the cancellation.
                "identifiers": ["GetItem", "DeleteItem"],
                "audit": ["PutItem"],
                # The borrower's current phone for the SMS.
                "accounts": ["GetItem"],
            },
        ),
        # Requests still awaiting documents past their age (keys only), never a Scan.
        _queries(t, ["appeals/index/by_status"]),
        _list_documents(t),
        _documents(t, "RequestDocuments", ["DeleteObject"]),
        _enqueue_notifications(t),
        # Open the account's phone, seal the SMS.
        _pii_key(t, ["DescribeKey", "GenerateDataKey", "Decrypt"]),
    ]


def loans_overdue(t: Target) -> list[Statement]:
    """The midnight schedule: issued loans past their due date become overdue (audited)."""
    return [
        _logs(t, "loans_overdue"),
        *_tables(t, "DynamoDB", {"loans": ["GetItem", "UpdateItem"], "audit": ["PutItem"]}),
        _queries(t, ["loans/index/by_due"]),
    ]


def loans_reminders(t: Target) -> list[Statement]:
    """The hourly reminders: a marker item per reminder, the SMS budgets, the queue."""
    return [
        _logs(t, "loans_reminders"),
        *_tables(
            t,
            "DynamoDB",
            {
                "loans": ["GetItem"],
                "accounts": ["GetItem"],
                # The once-only marker of each reminder (conditional put).
                "identifiers": ["PutItem"],
                # SMS notice budgets per number and overall.
                "throttles": ["UpdateItem"],
            },
        ),
        _queries(t, ["loans/index/by_due"]),
        _enqueue_notifications(t),
        # Open the borrower's phone, seal the queued SMS.
        _pii_key(t, ["DescribeKey", "GenerateDataKey", "Decrypt"]),
        # The notice budgets are keyed by the phone's blind index.
        _index_key(t),
    ]


#: Every Lambda function of ``app.py`` and what it may do.
FUNCTIONS: dict[str, Callable[[Target], list[Statement]]] = {
    "api_handler": api_handler,
    "notify_worker": notify_worker,
    "uploads_worker": uploads_worker,
    "inbound_worker": inbound_worker,
    "expire_appeals": expire_appeals,
    "loans_overdue": loans_overdue,
    "loans_reminders": loans_reminders,
}


def render(function: str, target: Target) -> dict[str, Any]:
    """The IAM policy document of ``function`` for ``target``."""
    return {"Version": "2012-10-17", "Statement": FUNCTIONS[function](target)}


# --- stages and files -------------------------------------------------------


def policy_file_name(stage: str, function: str) -> str:
    return f"policy-{stage}-{function}.json"


def stages() -> dict[str, dict[str, str]]:
    """``infra/stages.json``: account and region per stage."""
    data: dict[str, Any] = json.loads(STAGES_FILE.read_text())
    return {name: value for name, value in data.items() if not name.startswith("_")}


def stage_target(stage: str) -> Target:
    """The target of a deploy stage: ``infra/stages.json`` + the stage's variables."""
    place = stages()[stage]
    account, region = place["account_id"], place["region"]
    if not (len(account) == 12 and account.isdigit()):
        raise SystemExit(f"infra/stages.json: {stage}.account_id must be 12 digits")
    config = json.loads((CHALICE_DIR / "config.json").read_text())
    env = {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }
    return Target(
        stage=stage,
        account_id=account,
        region=region,
        # infra/resources.yaml names the bucket hava-documents-${AccountId}-${Region}.
        documents_bucket=f"hava-documents-{account}-{region}",
        kms_alias=env.get("HAVA_KMS_KEY_ID", DEFAULT_KMS_KEY_ID),
        index_key_parameter=env["HAVA_INDEX_KEY_PARAMETER"],
        email_sender=env.get("HAVA_EMAIL_SENDER", DEFAULT_EMAIL_SENDER),
        maintenance_parameter=env.get("HAVA_MAINTENANCE_PARAMETER", ""),
    )


def generated_files() -> dict[str, str]:
    """``{file name in .chalice: JSON text}`` for every stage and function."""
    files = {}
    for stage in stages():
        target = stage_target(stage)
        for function in FUNCTIONS:
            text = json.dumps(render(function, target), indent=2, ensure_ascii=False) + "\n"
            files[policy_file_name(stage, function)] = text
    return files


def stale_files() -> list[str]:
    """Committed policy files that differ from the generated ones (or are missing)."""
    stale = []
    for name, text in generated_files().items():
        path = CHALICE_DIR / name
        if not path.exists() or path.read_text() != text:
            stale.append(name)
    return stale


def write() -> list[str]:
    written = []
    for name, text in generated_files().items():
        path = CHALICE_DIR / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(name)
    return written


def verify_account(stage: str) -> str:
    """The account of the current AWS credentials, if it is ``stage``'s; else exit."""
    import boto3

    expected = stages()[stage]["account_id"]
    actual: str = boto3.client("sts").get_caller_identity()["Account"]
    if actual != expected:
        raise SystemExit(
            f"these credentials are for account {actual}, but infra/stages.json gives "
            f"{stage} account {expected}: the policies would grant nothing there. "
            "Fix infra/stages.json, run `make policies` and commit."
        )
    return actual


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.policies", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("write", help="regenerate .chalice/policy-<stage>-<function>.json")
    sub.add_parser("check", help="fail when a committed policy file is not the generated one")
    verify = sub.add_parser("verify-account", help="the credentials belong to the stage's account")
    verify.add_argument("stage")
    args = parser.parse_args(argv)
    if args.command == "write":
        for name in write():
            print(f"wrote .chalice/{name}")
        return 0
    if args.command == "check":
        stale = stale_files()
        for name in stale:
            print(f".chalice/{name} is not what infra/policies.py generates: run `make policies`")
        return 1 if stale else 0
    print(f"account {verify_account(args.stage)} is {args.stage}'s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
