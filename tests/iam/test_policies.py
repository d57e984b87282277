"""The committed per-function policies are the generated ones, wired to every function.

``infra/policies.py`` is the source; ``.chalice/policy-<stage>-<function>.json``
are its output for each stage of ``infra/stages.json``. A Lambda function added
to ``app.py`` without a policy fails here (Chalice would fall back to a shared
``policy-<stage>.json``, which does not exist).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from infra import policies

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
DEPLOY_STAGES = sorted(CONFIG["stages"])


def _deployed_functions(stage: str) -> dict[str, str]:
    """``{function: policy file}`` as Chalice's own deploy graph builds them."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    from chalice.cli.factory import CLIFactory
    from chalice.deploy import models
    from chalice.deploy.appgraph import ApplicationGraphBuilder

    config = CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name=stage)
    graph = ApplicationGraphBuilder().build(config, stage)
    found: dict[str, str] = {}
    seen: set[int] = set()

    def walk(node: Any) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, models.LambdaFunction):
            role = node.role
            assert isinstance(role, models.ManagedIAMRole), node.resource_name
            assert isinstance(role.policy, models.FileBasedIAMPolicy), node.resource_name
            found[node.resource_name] = Path(role.policy.filename).name
        for child in node.dependencies():
            walk(child)

    walk(graph)
    return found


def test_committed_policy_files_are_the_generated_ones() -> None:
    assert policies.stale_files() == [], "run `make policies` and commit .chalice/policy-*.json"
    generated = set(policies.generated_files())
    committed = {p.name for p in (ROOT / ".chalice").glob("policy-*.json")}
    assert committed == generated, "policy files nobody generates (or uses) are in .chalice/"


def test_the_stages_are_the_deploy_stages() -> None:
    assert sorted(policies.stages()) == DEPLOY_STAGES


@pytest.mark.parametrize("stage", DEPLOY_STAGES)
def test_every_function_has_its_own_role_and_generated_policy(stage: str) -> None:
    deployed = _deployed_functions(stage)
    assert CONFIG.get("autogen_policy") is False
    assert sorted(deployed) == sorted(policies.FUNCTIONS), (
        "every Lambda of app.py needs an entry in infra/policies.FUNCTIONS and "
        f"lambda_functions.<name>.iam_policy_file in stage {stage} of .chalice/config.json"
    )
    for function, file_name in deployed.items():
        assert file_name == policies.policy_file_name(stage, function)


def _statements() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for stage in policies.stages():
        target = policies.stage_target(stage)
        for function in policies.FUNCTIONS:
            for statement in policies.render(function, target)["Statement"]:
                out.append((stage, function, statement))
    return out


def _actions(stage: str, function: str) -> set[str]:
    return {
        action
        for s, f, statement in _statements()
        if (s, f) == (stage, function) and statement["Effect"] == "Allow"
        for action in statement["Action"]
    }


@pytest.mark.parametrize("stage", DEPLOY_STAGES)
def test_allowed_resources_name_the_stage_account_and_region(stage: str) -> None:
    place = policies.stages()[stage]
    for s, function, statement in _statements():
        if s != stage or statement["Effect"] != "Allow":
            continue
        for resource in statement["Resource"]:
            if statement["Action"] == ["sns:Publish"]:
                # Phone numbers have no ARN; the Deny statement excludes every topic.
                assert resource == "*"
                continue
            service = resource.split(":")[2]
            if service == "s3":
                assert resource.startswith(f"arn:aws:s3:::hava-documents-{place['account_id']}-")
                continue
            prefix = f"arn:aws:{service}:{place['region']}:{place['account_id']}:"
            assert resource.startswith(prefix), (function, resource)
            assert "*" not in resource.removeprefix(prefix).split("/")[0], (function, resource)


def test_no_scan_batch_or_unused_actions() -> None:
    unused = {
        "dynamodb:Scan",
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:ConditionCheckItem",
        "kms:Encrypt",
        "sqs:ChangeMessageVisibility",
    }
    for stage in DEPLOY_STAGES:
        for function in policies.FUNCTIONS:
            granted = _actions(stage, function)
            assert not granted & unused, (function, granted & unused)
            assert not any("*" in action for action in granted), function


@pytest.mark.parametrize("stage", DEPLOY_STAGES)
def test_each_function_holds_only_its_own_services(stage: str) -> None:
    api = _actions(stage, "api_handler")
    notify = _actions(stage, "notify_worker")
    uploads = _actions(stage, "uploads_worker")
    assert not {a for a in api if a.startswith(("sns:", "ses:"))}
    assert "sqs:ReceiveMessage" not in api
    assert not {a for a in notify if a.startswith(("s3:", "ssm:"))}
    assert not {a for a in uploads if a.startswith(("sns:", "ses:"))}
    # The encryption SDK resolves the alias once per process (adapters/crypto.py).
    assert {"kms:DescribeKey", "kms:Decrypt"} <= notify
    assert {"kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"} <= api & uploads
    # HEAD of a missing key is 404 only with ListBucket on the bucket itself.
    listing = [
        st
        for s, f, st in _statements()
        if (s, f) == (stage, "uploads_worker") and "s3:ListBucket" in st["Action"]
    ]
    assert listing and all("Condition" not in st for st in listing)
    assert all(not r.endswith("/*") for st in listing for r in st["Resource"])


def test_email_only_from_the_stage_identity() -> None:
    for stage in DEPLOY_STAGES:
        target = policies.stage_target(stage)
        (statement,) = [
            st for s, _, st in _statements() if s == stage and "ses:SendEmail" in st["Action"]
        ]
        domain = target.email_sender.rsplit("@", 1)[1]
        assert sorted(r.rsplit("/", 1)[1] for r in statement["Resource"]) == sorted(
            [domain, target.email_sender]
        )


def test_the_bucket_name_is_the_templates() -> None:
    template = (ROOT / "infra" / "resources.yaml").read_text()
    assert "hava-documents-${AWS::AccountId}-${AWS::Region}" in template
