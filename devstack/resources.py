"""Create the stack's AWS resources in a running moto server, from ``infra/resources.yaml``.

The CloudFormation template stays the single source of truth: this module reads
it and creates every resource with boto3 from its properties. It does not hand
the template to moto's CloudFormation, because moto 5.2.5 deploys it
unfaithfully: it ignores ``AWS::SQS::QueuePolicy`` and ``AWS::S3::BucketPolicy``,
the bucket's public-access block, ownership controls and lifecycle rules, the
tables' SSE and point-in-time recovery, and stores the KMS key policy in a form
that makes ``DescribeKey`` fail with HTTP 500.

``provision()`` returns the template's Outputs, resolved (``DocumentsBucketName``,
``PiiKeyArn``, ``NotifyQueueUrl``, ...), so local code reads the same names as a
deployed stack's outputs. Calling it again on the same server changes nothing.
Used by the local stack (``make run``) and the service tests; never by Lambda.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import yaml
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

__all__ = ["TEMPLATE_PATH", "ProvisioningError", "load_template", "provision"]

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "infra" / "resources.yaml"
LOCAL_STAGE = "local"
# moto accepts any credentials; fixed ones keep real keys from the environment
# from ever being sent to the local endpoint.
_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

Template = dict[str, Any]


#: Resource types the local stack does without (see ``_Provisioner.run``).
_SKIPPED_TYPES = ("AWS::SES::", "AWS::SNS::")


class ProvisioningError(Exception):
    """The template uses something this provisioner cannot create faithfully."""


# --- Reading the template ---------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that turns CloudFormation short forms (!Ref, !Sub...) into long ones."""


def _construct_intrinsic(loader: yaml.SafeLoader, node: yaml.Node, *, name: str) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Ref": value} if name == "Ref" else {name: value}


for _tag in ("Ref", "Condition"):
    _CfnLoader.add_constructor(f"!{_tag}", partial(_construct_intrinsic, name=_tag))
for _fn in (
    "And", "Base64", "Cidr", "Equals", "FindInMap", "GetAZs", "GetAtt",
    "If", "ImportValue", "Join", "Not", "Or", "Select", "Split", "Sub",
):  # fmt: skip
    _CfnLoader.add_constructor(f"!{_fn}", partial(_construct_intrinsic, name=f"Fn::{_fn}"))


def load_template(path: Path = TEMPLATE_PATH) -> Template:
    """Parse a CloudFormation YAML template into plain dicts (intrinsics in long form)."""
    with path.open(encoding="utf-8") as handle:
        template = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(template, dict):
        raise ProvisioningError(f"{path} is not a CloudFormation template")
    return template


# --- Resolving intrinsic functions -------------------------------------------


class _Resolver:
    """Evaluates Ref, Fn::Sub, Fn::GetAtt, Fn::If and condition functions against resources."""

    def __init__(self, template: Template, parameters: dict[str, str], pseudo: dict[str, str]):
        self._template = template
        self.values: dict[str, str] = dict(pseudo)
        for name, spec in template.get("Parameters", {}).items():
            value = parameters.get(name, spec.get("Default"))
            if value is None:
                raise ProvisioningError(f"parameter {name} has no value")
            self.values[name] = str(value)
        #: logical id -> {"Ref": ..., "Arn": ...}
        self.attributes: dict[str, dict[str, str]] = {}

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self._template["Conditions"][name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg
                return self.attributes[logical_id][attribute]
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = self.resolve(arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                (inner,) = arg
                return not self.resolve(inner)
            if key == "Fn::And":
                return all(self.resolve(item) for item in arg)
            if key == "Fn::Or":
                return any(self.resolve(item) for item in arg)
            if key == "Condition":
                return self.condition(arg)
            if key.startswith("Fn::") or key == "Condition":
                raise ProvisioningError(f"{key} is not supported by the local provisioner")
        return {key: self.resolve(item) for key, item in value.items()}

    def _ref(self, name: str) -> str:
        if name in self.values:
            return self.values[name]
        return self.attributes[name]["Ref"]

    def _sub(self, arg: str | list[Any]) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
        out, rest = [], text
        while "${" in rest:
            head, _, tail = rest.partition("${")
            name, _, rest = tail.partition("}")
            out.append(head)
            if name.startswith("!"):  # ${!Literal}
                out.append("${" + name[1:] + "}")
            elif name in variables:
                out.append(str(variables[name]))
            elif "." in name:
                logical_id, attribute = name.split(".", 1)
                out.append(self.attributes[logical_id][attribute])
            else:
                out.append(self._ref(name))
        out.append(rest)
        return "".join(out)


def _references(value: Any) -> Iterator[str]:
    """Logical ids (or parameter names) a property value refers to."""
    if isinstance(value, list):
        for item in value:
            yield from _references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref":
                yield arg
            elif key == "Fn::GetAtt":
                yield arg[0]
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                for part in text.split("${")[1:]:
                    yield part.split("}", 1)[0].split(".", 1)[0]
                if not isinstance(arg, str):
                    yield from _references(arg[1])
            else:
                yield from _references(arg)


def _creation_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids sorted so that each comes after what it refers to or depends on."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(logical_id: str) -> None:
        if state.get(logical_id) == "done":
            return
        if state.get(logical_id) == "visiting":
            raise ProvisioningError(f"circular reference through {logical_id}")
        state[logical_id] = "visiting"
        spec = resources[logical_id]
        depends = spec.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        for other in [*depends, *_references(spec.get("Properties", {}))]:
            if other in resources:
                visit(other)
        state[logical_id] = "done"
        order.append(logical_id)

    for logical_id in resources:
        visit(logical_id)
    return order


# --- Creating resources -----------------------------------------------------


class _Provisioner:
    def __init__(self, endpoint_url: str, region: str, template: Template):
        self._endpoint_url = endpoint_url
        self.region = region
        self.template = template
        self._creators: dict[str, Callable[[str, dict[str, Any]], dict[str, str]]] = {
            "AWS::KMS::Key": self._kms_key,
            "AWS::KMS::Alias": self._kms_alias,
            "AWS::DynamoDB::Table": self._dynamodb_table,
            "AWS::SQS::Queue": self._sqs_queue,
            "AWS::SQS::QueuePolicy": self._sqs_queue_policy,
            "AWS::S3::Bucket": self._s3_bucket,
            "AWS::S3::BucketPolicy": self._s3_bucket_policy,
            "AWS::SSM::Parameter": self._ssm_parameter,
        }

    def client(self, service: str) -> Any:
        return _client(self._endpoint_url, self.region, service)

    def run(self) -> dict[str, str]:
        account = self.client("sts").get_caller_identity()["Account"]
        resolver = _Resolver(
            self.template,
            {"Stage": LOCAL_STAGE},
            {
                "AWS::AccountId": account,
                "AWS::Region": self.region,
                "AWS::Partition": "aws",
                "AWS::StackName": "hava-resources",
                "AWS::URLSuffix": "amazonaws.com",
            },
        )
        resources = self.template["Resources"]
        for logical_id in _creation_order(resources):
            spec = resources[logical_id]
            if "Condition" in spec and not resolver.condition(spec["Condition"]):
                continue
            if spec["Type"].startswith(_SKIPPED_TYPES):
                # SES receipt rules have no local counterpart (moto cannot receive
                # mail; the local SMTP receiver plays SES, devstack/mail.py) and the
                # SNS topic only relays SES's notification to the queue. They carry
                # Condition ReceivesMail, false on the local stage, so this is the
                # safety net should that condition ever change.
                continue
            creator = self._creators.get(spec["Type"])
            if creator is None:
                raise ProvisioningError(
                    f"{logical_id}: {spec['Type']} is not supported by the local provisioner"
                )
            properties = resolver.resolve(spec.get("Properties", {}))
            resolver.attributes[logical_id] = creator(logical_id, properties)
        return {
            name: str(resolver.resolve(output["Value"]))
            for name, output in self.template.get("Outputs", {}).items()
            if "Condition" not in output or resolver.condition(output["Condition"])
        }

    # SSM ---------------------------------------------------------------------

    def _ssm_parameter(self, _logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        ssm = self.client("ssm")
        # Like CloudFormation, a rerun never resets a value someone flipped since.
        try:
            ssm.put_parameter(
                Name=props["Name"],
                Type=props.get("Type", "String"),
                Value=props["Value"],
                Description=props.get("Description", ""),
                Overwrite=False,
            )
        except ClientError as exc:
            if _code(exc) != "ParameterAlreadyExists":
                raise
        return {"Ref": props["Name"], "Type": props.get("Type", "String")}

    # KMS ---------------------------------------------------------------------

    def _kms_key(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        kms: KMSClient = self.client("kms")
        # A key is found again through its alias: that makes a rerun a no-op.
        aliases = [
            spec["Properties"]["AliasName"]
            for spec in self.template["Resources"].values()
            if spec["Type"] == "AWS::KMS::Alias"
            and spec["Properties"].get("TargetKeyId") == {"Ref": logical_id}
        ]
        for alias in aliases:
            try:
                meta = kms.describe_key(KeyId=alias)["KeyMetadata"]
            except ClientError as exc:
                if _code(exc) != "NotFoundException":
                    raise
            else:
                return {"Ref": meta["KeyId"], "Arn": meta["Arn"], "KeyId": meta["KeyId"]}
        meta = kms.create_key(
            Description=props.get("Description", ""),
            KeyUsage=props.get("KeyUsage", "ENCRYPT_DECRYPT"),
            KeySpec=props.get("KeySpec", "SYMMETRIC_DEFAULT"),
            Policy=json.dumps(props["KeyPolicy"]),
        )["KeyMetadata"]
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        return {"Ref": meta["KeyId"], "Arn": meta["Arn"], "KeyId": meta["KeyId"]}

    def _kms_alias(self, _logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        kms: KMSClient = self.client("kms")
        name = props["AliasName"]
        try:
            kms.create_alias(AliasName=name, TargetKeyId=props["TargetKeyId"])
        except ClientError as exc:
            if _code(exc) != "AlreadyExistsException":
                raise
        return {"Ref": name}

    # DynamoDB ----------------------------------------------------------------

    def _dynamodb_table(self, _logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        ddb: DynamoDBClient = self.client("dynamodb")
        name = props["TableName"]
        try:
            table = ddb.describe_table(TableName=name)["Table"]
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
            request: dict[str, Any] = {
                "TableName": name,
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PROVISIONED"),
            }
            if "GlobalSecondaryIndexes" in props:
                request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            if "LocalSecondaryIndexes" in props:
                request["LocalSecondaryIndexes"] = props["LocalSecondaryIndexes"]
            if "SSESpecification" in props:
                sse = props["SSESpecification"]
                request["SSESpecification"] = {
                    "Enabled": bool(sse.get("SSEEnabled")),
                    **({"SSEType": sse["SSEType"]} if "SSEType" in sse else {}),
                    **(
                        {"KMSMasterKeyId": sse["KMSMasterKeyId"]} if "KMSMasterKeyId" in sse else {}
                    ),
                }
            if "DeletionProtectionEnabled" in props:
                request["DeletionProtectionEnabled"] = bool(props["DeletionProtectionEnabled"])
            table = ddb.create_table(**request)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            current = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") not in {"ENABLED", "ENABLING"}:
                ddb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={
                        "AttributeName": ttl["AttributeName"],
                        "Enabled": True,
                    },
                )
        pitr = props.get("PointInTimeRecoverySpecification", {})
        if pitr.get("PointInTimeRecoveryEnabled"):
            ddb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        return {"Ref": name, "Arn": table["TableArn"]}

    # SQS ---------------------------------------------------------------------

    _QUEUE_ATTRIBUTES = (
        "DelaySeconds",
        "KmsDataKeyReusePeriodSeconds",
        "KmsMasterKeyId",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "RedriveAllowPolicy",
        "RedrivePolicy",
        "SqsManagedSseEnabled",
        "VisibilityTimeout",
    )

    def _sqs_queue(self, _logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        sqs: SQSClient = self.client("sqs")
        if props.get("FifoQueue"):
            raise ProvisioningError("FIFO queues are not supported by the local provisioner")
        attributes = {
            key: json.dumps(value) if isinstance(value, dict) else _attribute_str(value)
            for key, value in props.items()
            if key in self._QUEUE_ATTRIBUTES
        }
        # CreateQueue is idempotent when the attributes are unchanged.
        url = sqs.create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return {"Ref": url, "Arn": arn, "QueueName": props["QueueName"], "QueueUrl": url}

    def _sqs_queue_policy(self, _logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        sqs: SQSClient = self.client("sqs")
        for url in props["Queues"]:
            sqs.set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])}
            )
        return {"Ref": ""}

    # S3 ----------------------------------------------------------------------

    def _s3_bucket(self, _logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        s3: S3Client = self.client("s3")
        name = props["BucketName"]
        try:
            if self.region == "us-east-1":
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(
                    Bucket=name,
                    CreateBucketConfiguration={"LocationConstraint": self.region},
                )
        except ClientError as exc:
            if _code(exc) != "BucketAlreadyOwnedByYou":
                raise
        # The Put* calls below replace whole configurations: rerunning them is a no-op.
        if "BucketEncryption" in props:
            rules = [
                {
                    "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                    **(
                        {"BucketKeyEnabled": rule["BucketKeyEnabled"]}
                        if "BucketKeyEnabled" in rule
                        else {}
                    ),
                }
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules}
            )
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
        if "OwnershipControls" in props:
            s3.put_bucket_ownership_controls(
                Bucket=name, OwnershipControls=props["OwnershipControls"]
            )
        if "CorsConfiguration" in props:
            s3.put_bucket_cors(
                Bucket=name,
                CORSConfiguration={
                    "CORSRules": [
                        {
                            "AllowedMethods": rule["AllowedMethods"],
                            "AllowedOrigins": rule["AllowedOrigins"],
                            "AllowedHeaders": rule.get("AllowedHeaders", []),
                            "MaxAgeSeconds": rule.get("MaxAge", 0),
                        }
                        for rule in props["CorsConfiguration"]["CorsRules"]
                    ]
                },
            )
        if "LifecycleConfiguration" in props:
            s3.put_bucket_lifecycle_configuration(
                Bucket=name,
                LifecycleConfiguration={
                    "Rules": [
                        _lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]
                    ]
                },
            )
        notifications = props.get("NotificationConfiguration", {})
        unsupported = set(notifications) - {"QueueConfigurations"}
        if unsupported:
            raise ProvisioningError(f"bucket notifications {sorted(unsupported)} are not supported")
        if notifications:
            s3.put_bucket_notification_configuration(
                Bucket=name,
                NotificationConfiguration={
                    "QueueConfigurations": [
                        _queue_notification(item) for item in notifications["QueueConfigurations"]
                    ]
                },
            )
        return {"Ref": name, "Arn": f"arn:aws:s3:::{name}"}

    def _s3_bucket_policy(self, _logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        s3: S3Client = self.client("s3")
        document = dict(props["PolicyDocument"])
        if self._endpoint_url.startswith("http://"):
            # moto evaluates bucket policies, and a loopback endpoint without
            # TLS would fail every request against a TLS-only statement.
            document["Statement"] = [
                statement
                for statement in document["Statement"]
                if not _denies_insecure_transport(statement)
            ]
        if document["Statement"]:
            s3.put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(document))
        return {"Ref": props["Bucket"]}


@lru_cache(maxsize=32)
def _client(endpoint_url: str, region: str, service: str) -> Any:
    # Cached: tests provision a freshly reset server for every test, and
    # creating botocore clients costs more than the calls themselves.
    session = boto3.session.Session(region_name=region, **_CREDENTIALS)
    return session.client(service, endpoint_url=endpoint_url)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _denies_insecure_transport(statement: dict[str, Any]) -> bool:
    return statement.get("Effect") == "Deny" and statement.get("Condition") == {
        "Bool": {"aws:SecureTransport": "false"}
    }


def _attribute_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """Translate a CloudFormation lifecycle rule into the S3 API's shape."""
    supported = {"Id", "Status", "Prefix", "TagFilters", "ExpirationInDays"}
    if set(rule) - supported:
        raise ProvisioningError(f"lifecycle properties {sorted(set(rule) - supported)} unsupported")
    tags = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in rule.get("TagFilters", [])]
    prefix = rule.get("Prefix")
    filter_: dict[str, Any]
    if len(tags) == 1 and prefix is None:
        filter_ = {"Tag": tags[0]}
    elif tags:
        filter_ = {"And": {"Tags": tags, **({"Prefix": prefix} if prefix else {})}}
    else:
        filter_ = {"Prefix": prefix or ""}
    out: dict[str, Any] = {"Status": rule["Status"], "Filter": filter_}
    if "Id" in rule:
        out["ID"] = rule["Id"]
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    return out


def _queue_notification(item: dict[str, Any]) -> dict[str, Any]:
    """Translate a CloudFormation QueueConfiguration into the S3 API's shape."""
    out: dict[str, Any] = {"QueueArn": item["Queue"], "Events": [item["Event"]]}
    rules = item.get("Filter", {}).get("S3Key", {}).get("Rules")
    if rules:
        out["Filter"] = {"Key": {"FilterRules": rules}}
    return out


def provision(
    endpoint_url: str, region: str, *, template_path: Path = TEMPLATE_PATH
) -> dict[str, str]:
    """Create every resource of the template on a moto server; return the stack's Outputs.

    The template is deployed with ``Stage=local``, so the bucket is
    ``hava-documents-local``. Idempotent: a second call returns the same
    values and creates nothing.
    """
    return _Provisioner(endpoint_url, region, load_template(template_path)).run()
