"""infra/resources.yaml, the packaged SAM template and the IAM policies are what we settled on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "resources.yaml"
BIN = Path(sys.executable).parent
POLICY_FILES = sorted((ROOT / ".chalice").glob("policy-*.json"))

#: Indexes projecting keys only (every other index projects ALL).
KEYS_ONLY = {("hava-appeals", "by_status")}

#: table -> (key schema, attribute types, {index: key schema}, TTL attribute)
EXPECTED_TABLES: dict[
    str, tuple[list[tuple[str, str]], dict[str, str], dict[str, Any], str | None]
] = {
    "hava-accounts": ([("account_id", "HASH")], {"account_id": "S"}, {}, None),
    "hava-identifiers": ([("lookup", "HASH")], {"lookup": "S"}, {}, None),
    "hava-challenges": ([("challenge_id", "HASH")], {"challenge_id": "S"}, {}, "expires_at"),
    "hava-sessions": (
        [("token_hash", "HASH")],
        {"token_hash": "S", "account_id": "S", "created_at": "S"},
        {"by_account": [("account_id", "HASH"), ("created_at", "RANGE")]},
        "expires_at",
    ),
    "hava-loans": (
        [("account_id", "HASH"), ("loan_id", "RANGE")],
        {
            "account_id": "S",
            "loan_id": "S",
            "status": "S",
            "created_at": "S",
            "due_status": "S",
            "due_date": "S",
        },
        {
            "by_status": [("status", "HASH"), ("created_at", "RANGE")],
            "by_due": [("due_status", "HASH"), ("due_date", "RANGE")],
        },
        None,
    ),
    "hava-appeals": (
        [("request_id", "HASH")],
        {"request_id": "S", "account_id": "S", "queue": "S", "status": "S", "created_at": "S"},
        {
            "by_account": [("account_id", "HASH"), ("created_at", "RANGE")],
            "by_queue": [("queue", "HASH"), ("created_at", "RANGE")],
            "by_status": [("status", "HASH"), ("created_at", "RANGE")],
        },
        None,
    ),
    "hava-audit": (
        [("subject", "HASH"), ("entry_id", "RANGE")],
        {"subject": "S", "entry_id": "S", "actor": "S"},
        {"by_actor": [("actor", "HASH"), ("entry_id", "RANGE")]},
        None,
    ),
    "hava-throttles": ([("key", "HASH")], {"key": "S"}, {}, "expires_at"),
    "hava-staff": (
        [("username", "HASH")],
        {"username": "S", "kind": "S"},
        {"by_kind": [("kind", "HASH"), ("username", "RANGE")]},
        None,
    ),
    "hava-idempotency": ([("id", "HASH")], {"id": "S"}, {}, "expiration"),
}


#: Indexes projecting chosen attributes (staff list: no password hash, no TOTP secret).
PROJECTIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("hava-staff", "by_kind"): {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["roles", "status", "created_at", "created_by", "staff_number"],
    },
}


def load(path: Path) -> dict[str, Any]:
    template, matches = decode_str(path.read_text(encoding="utf-8"))
    assert not matches, matches
    return template


def resources_of(template: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == type_]


def cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    exe = BIN / "cfn-lint"
    command = [str(exe)] if exe.exists() else [shutil.which("cfn-lint") or "cfn-lint"]
    return subprocess.run([*command, str(path)], capture_output=True, text=True, check=False)


def keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load(TEMPLATE)


def template_project(target: Path) -> Path:
    """The app's sources and Chalice settings with no dependencies to install.

    The SAM template does not depend on what the zip holds, and installing the
    dependencies took ≈ 95 s of this test. `make lambda-check` (CI, after `make test`)
    builds the real package on the Lambda runtime, lints its template the same way and
    imports its zip.
    """
    shutil.copy2(ROOT / "app.py", target / "app.py")
    shutil.copytree(
        ROOT / "chalicelib", target / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
    )
    (target / ".chalice").mkdir()
    for settings in [ROOT / ".chalice" / "config.json", *POLICY_FILES]:
        shutil.copy2(settings, target / ".chalice" / settings.name)
    (target / "requirements.txt").write_text("", encoding="utf-8")
    return target


def chalice_package(project: Path, out: Path) -> Path:
    """`chalice package --stage dev` of ``project`` merged with the infra template."""
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-central-1")}
    command = [str(BIN / "chalice"), "package", "--stage", "dev", "--merge-template", str(TEMPLATE)]
    result = subprocess.run(
        [*command, str(out)], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # A YAML merge template makes Chalice write sam.yaml instead of sam.json.
    (sam,) = [p for p in (out / "sam.json", out / "sam.yaml") if p.exists()]
    return sam


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SAM template `chalice package` makes of the app and the infra template."""
    project = template_project(tmp_path_factory.mktemp("project"))
    return chalice_package(project, tmp_path_factory.mktemp("package"))


def test_resources_template_passes_cfn_lint() -> None:
    result = cfn_lint(TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_packaged_sam_template_passes_cfn_lint(packaged: Path) -> None:
    result = cfn_lint(packaged)
    assert result.returncode == 0, result.stdout + result.stderr


def test_packaged_template_has_the_infra_and_roomy_functions(packaged: Path) -> None:
    sam = load(packaged)
    names = {p.get("TableName") for p in resources_of(sam, "AWS::DynamoDB::Table")}
    assert names == set(EXPECTED_TABLES)
    functions = resources_of(sam, "AWS::Serverless::Function")
    assert functions
    for function in functions:
        # argon2id t=2, m=19 MiB must fit beside the interpreter and libraries; the upload
        # and inbound-mail workers decode photos of up to 40 megapixels (≈ 230 MB more)
        # and get 1 GB.
        photo_workers = {"app.uploads_worker", "app.inbound_worker"}
        expected = 1024 if function["Handler"] in photo_workers else 512
        assert function["MemorySize"] == expected, function["Handler"]
        assert function["Environment"]["Variables"]["HAVA_KMS_KEY_ID"] == "alias/hava-pii"


def test_tables_keys_indexes_and_ttl_are_the_settled_ones(template: dict[str, Any]) -> None:
    tables = {p["TableName"]: p for p in resources_of(template, "AWS::DynamoDB::Table")}
    assert set(tables) == set(EXPECTED_TABLES)
    for name, (key_schema, attributes, indexes, ttl) in EXPECTED_TABLES.items():
        table = tables[name]
        assert keys(table["KeySchema"]) == key_schema, name
        assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == (
            attributes
        ), name
        gsis = {g["IndexName"]: g for g in table.get("GlobalSecondaryIndexes", [])}
        assert {n: keys(g["KeySchema"]) for n, g in gsis.items()} == indexes, name
        # by_status only finds ids for the expiry run (which re-reads each item): keys only;
        # by_kind lists staff members with what the list shows, never a secret.
        for n, g in gsis.items():
            expected = PROJECTIONS.get((name, n)) or {
                "ProjectionType": "KEYS_ONLY" if (name, n) in KEYS_ONLY else "ALL"
            }
            assert g["Projection"] == expected, (name, n)
        if ttl is None:
            assert "TimeToLiveSpecification" not in table, name
        else:
            assert table["TimeToLiveSpecification"] == {"AttributeName": ttl, "Enabled": True}
        assert table["BillingMode"] == "PAY_PER_REQUEST", name
        assert table["SSESpecification"] == {"SSEEnabled": True}, name
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_queues_redrive_to_dead_letter_queues(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    queues = {r["Properties"]["QueueName"]: (lid, r["Properties"]) for lid, r in resources.items()
              if r["Type"] == "AWS::SQS::Queue"}  # fmt: skip
    names = ("hava-notify", "hava-uploads", "hava-inbound")
    assert set(queues) == {*names, *(f"{name}-dlq" for name in names)}
    for name in names:
        _, queue = queues[name]
        dlq_id, dlq = queues[f"{name}-dlq"]
        assert queue["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "maxReceiveCount": 5,
        }
        assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
        for props in (queue, dlq):
            assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props
        # Lambda requires the visibility timeout to cover the function timeout.
        config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
        timeouts = [config.get("lambda_timeout", 60)] + [
            s.get("lambda_timeout", 0) for s in config["stages"].values()
        ]
        assert queue["VisibilityTimeout"] >= max(timeouts)


def test_bucket_is_private_encrypted_and_notifies_uploads(template: dict[str, Any]) -> None:
    (bucket,) = resources_of(template, "AWS::S3::Bucket")
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    lifecycle, inbound = bucket["LifecycleConfiguration"]["Rules"]
    assert lifecycle["TagFilters"] == [{"Key": "state", "Value": "decided"}]
    assert lifecycle["ExpirationInDays"] == {"Ref": "DocumentRetentionDays"}
    # Raw inbound e-mail is deleted after InboundRetentionDays, decided or not.
    assert inbound["Prefix"] == "inbound/"
    assert inbound["ExpirationInDays"] == {"Ref": "InboundRetentionDays"}
    (notification,) = bucket["NotificationConfiguration"]["QueueConfigurations"]
    assert notification["Queue"] == {"Fn::GetAtt": ["UploadsQueue", "Arn"]}
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "requests/"}]
    (policy,) = resources_of(template, "AWS::S3::BucketPolicy")
    statement, ses = policy["PolicyDocument"]["Statement"]
    # SES may only put objects under inbound/, and only for this account.
    assert ses["Principal"] == {"Service": "ses.amazonaws.com"}
    assert ses["Action"] == "s3:PutObject"
    assert ses["Resource"] == {"Fn::Sub": "${DocumentsBucket.Arn}/inbound/*"}
    assert ses["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (key,) = resources_of(template, "AWS::KMS::Key")
    assert key["EnableKeyRotation"] is True
    (alias,) = resources_of(template, "AWS::KMS::Alias")
    assert alias["AliasName"] == "alias/hava-pii"


def test_ses_receipt_rule_stores_inbound_mail_and_notifies_the_inbound_queue(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    rule = resources["InboundReceiptRule"]
    assert rule["Condition"] == "ReceivesMail"
    (action,) = rule["Properties"]["Rule"]["Actions"]
    assert action["S3Action"]["BucketName"] == {"Ref": "DocumentsBucket"}
    assert action["S3Action"]["ObjectKeyPrefix"] == "inbound/"
    assert action["S3Action"]["TopicArn"] == {"Ref": "InboundTopic"}
    assert rule["Properties"]["Rule"]["Recipients"] == [
        {"Fn::Sub": "${InboundPhoneChangeLocalPart}@${InboundMailDomain}"},
        {"Fn::Sub": "${InboundSecurityLocalPart}@${InboundMailDomain}"},
    ]
    subscription = resources["InboundSubscription"]["Properties"]
    assert subscription["Endpoint"] == {"Fn::GetAtt": ["InboundQueue", "Arn"]}
    # The inbound worker runs 60 s: the queue hides a message 6x as long.
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    for stage in config["stages"].values():
        timeout = stage["lambda_functions"]["inbound_worker"]["lambda_timeout"]
        assert resources["InboundQueue"]["Properties"]["VisibilityTimeout"] >= 6 * timeout


def allowed_actions(policy: dict[str, Any]) -> list[str]:
    actions: list[str] = []
    for statement in policy["Statement"]:
        assert "NotAction" not in statement, "NotAction grants everything else"
        if statement["Effect"] == "Allow":
            listed = statement["Action"]
            actions.extend([listed] if isinstance(listed, str) else listed)
    return actions


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_policy_never_allows_scan_or_wildcard_actions(path: Path) -> None:
    actions = allowed_actions(json.loads(path.read_text(encoding="utf-8")))
    assert actions
    assert not [a for a in actions if "*" in a]
    assert "dynamodb:scan" not in {a.lower() for a in actions}


def test_every_stage_has_its_written_policy() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    assert config["autogen_policy"] is False
    for stage, settings in config["stages"].items():
        # One policy per function (tests/iam/test_policies.py checks each is generated).
        for function, function_settings in settings["lambda_functions"].items():
            policy = ROOT / ".chalice" / function_settings["iam_policy_file"]
            assert policy in POLICY_FILES, (stage, function)
        assert settings.get("lambda_memory_size", config.get("lambda_memory_size")) == 512
