"""moto in server mode with IAM enforced on the resources the application names.

``python -m tests.iam.moto_iam PORT LOG``: a moto server on 127.0.0.1:PORT
(0 picks one; the first line printed is its URL) whose process environment
sets ``INITIAL_NO_AUTH_ACTION_COUNT``: the set-up calls pass unchecked, then
the test posts ``/moto-api/reset-auth`` with ``0`` and every later call must be
signed by an IAM user whose policies allow it (moto's docs/iam.rst).

moto 5 checks the resource only for S3 and SQS: every other service is
authorised against ``"*"``, so a policy naming a table or a key could never
match. Here the authorisation of DynamoDB, KMS, SSM, SES and SNS names the
resource as AWS does (the queue of ``GetQueueUrl``; ``dynamodb:Query`` on ``table/T/index/I``;
``TransactWriteItems`` as Put/Update/Delete/ConditionCheckItem on each item's
table, ``TransactGetItems`` as GetItem; the KMS key behind an alias; the SSM
parameter; the SES identity of the sender). Presigned S3 requests (POST
forms, GET URLs), which moto cannot authorise at all, are authorised for the
access key that signed them (the signature itself is not re-checked), and
GET/HEAD of a missing key answers 403 unless the caller may ``s3:ListBucket``
the bucket, as in AWS (moto answers 404 to anyone).

Like moto, this evaluates actions and resources, not conditions (a statement's
``Condition`` is taken as met). Every decision is appended to LOG as one JSON
line: ``{"user", "action", "resource", "allowed"}``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys
import threading
from typing import Any

_LOG_LOCK = threading.Lock()
_LOG_PATH = ""


def _log(user: str, action: str, resource: str, allowed: bool) -> None:
    line = json.dumps({"user": user, "action": action, "resource": resource, "allowed": allowed})
    with _LOG_LOCK, open(_LOG_PATH, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def _checking() -> bool:
    """moto's own gate: the first INITIAL_NO_AUTH_ACTION_COUNT calls pass unchecked."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    if ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT:
        return True
    ActionAuthenticatorMixin.request_count += 1
    return False


def _record_decisions() -> None:
    """Log every decision moto's IAMRequest takes (S3, SQS and the checks below)."""
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase.check_action_permitted

    def check_action_permitted(self: Any, resource: str) -> None:
        user = getattr(getattr(self, "_access_key", None), "arn", "?")
        try:
            original(self, resource)
        except Exception:
            _log(user, self._action, resource, False)
            raise
        _log(user, self._action, resource, True)

    IAMRequestBase.check_action_permitted = check_action_permitted  # type: ignore[method-assign]


def _authorise(handler: Any, checks: list[tuple[str, str]]) -> None:
    """Authenticate the request once, then authorise each (action, resource)."""
    from moto.iam.access_control import IAMRequest

    if not _checking():
        return
    path = handler.raw_path
    query = handler.uri.partition("?")[2]
    if query:
        path += "?" + query
    request = IAMRequest(
        account_id=handler.current_account,
        method=handler.method,
        path=path,
        data=handler.data,
        body=handler.raw_body,
        headers=handler.headers,
        action=handler._get_action(),
    )
    request.check_signature()
    service = request._action.split(":", 1)[0]
    for action, resource in checks or [(handler._get_action(), "*")]:
        request._action = f"{service}:{action}"
        request.check_action_permitted(resource)


def _json_body(handler: Any) -> dict[str, Any]:
    raw = handler.raw_body
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    try:
        body = json.loads(raw or "{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _arn(handler: Any, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{handler.region}:{handler.current_account}:{resource}"


_TRANSACT_WRITE = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _dynamodb_checks(handler: Any) -> list[tuple[str, str]]:
    body = _json_body(handler)
    action = handler._get_action()

    def table(name: str) -> str:
        return _arn(handler, "dynamodb", f"table/{name}")

    if action == "TransactWriteItems":
        return [
            (_TRANSACT_WRITE[kind], table(op["TableName"]))
            for item in body.get("TransactItems", [])
            for kind, op in item.items()
        ]
    if action == "TransactGetItems":
        return [("GetItem", table(i["Get"]["TableName"])) for i in body.get("TransactItems", [])]
    if action in ("BatchGetItem", "BatchWriteItem"):
        return [(action, table(name)) for name in body.get("RequestItems", {})]
    if "TableName" not in body:
        return [(action, "*")]
    resource = table(body["TableName"])
    if body.get("IndexName"):
        resource += f"/index/{body['IndexName']}"
    return [(action, resource)]


def _kms_checks(handler: Any) -> list[tuple[str, str]]:
    from moto.kms.models import kms_backends
    from moto.kms.utils import _deserialize_ciphertext_blob

    body = _json_body(handler)
    backend = kms_backends[handler.current_account][handler.region]
    key_id = body.get("KeyId")
    if not key_id and body.get("CiphertextBlob"):
        key_id = _deserialize_ciphertext_blob(base64.b64decode(body["CiphertextBlob"])).key_id
    if not key_id:
        return [(handler._get_action(), "*")]
    try:
        resolved = backend.any_id_to_key_id(key_id)
    except Exception:
        return [(handler._get_action(), "*")]
    return [(handler._get_action(), _arn(handler, "kms", f"key/{resolved}"))]


def _ssm_checks(handler: Any) -> list[tuple[str, str]]:
    body = _json_body(handler)
    names = body.get("Names") or ([body["Name"]] if "Name" in body else [])
    if not names:
        return [(handler._get_action(), "*")]
    return [
        (handler._get_action(), _arn(handler, "ssm", "parameter/" + name.lstrip("/")))
        for name in names
    ]


def _query_param(handler: Any, name: str) -> str:
    value = handler.querystring.get(name)
    return str(value[0]) if value else ""


def _ses_checks(handler: Any) -> list[tuple[str, str]]:
    from email.utils import parseaddr

    from moto.ses.models import ses_backends

    action = handler._get_action()
    source = parseaddr(_query_param(handler, "Source"))[1]
    if not source:
        return [(action, "*")]
    backend = ses_backends[handler.current_account][handler.region]
    # AWS authorises the verified identity that is used: the address, else its domain.
    identity = source if source in backend.email_identities else source.split("@", 1)[-1]
    return [(action, _arn(handler, "ses", f"identity/{identity}"))]


def _sns_checks(handler: Any) -> list[tuple[str, str]]:
    action = handler._get_action()
    target = _query_param(handler, "TopicArn") or _query_param(handler, "TargetArn")
    return [(action, target or "*")]


def _install_resource_checks() -> None:
    from moto.dynamodb.responses import DynamoHandler
    from moto.kms.responses import KmsResponse
    from moto.ses.responses import EmailResponse
    from moto.sns.responses import SNSResponse
    from moto.ssm.responses import SimpleSystemManagerResponse

    for cls, checks in (
        (DynamoHandler, _dynamodb_checks),
        (KmsResponse, _kms_checks),
        (SimpleSystemManagerResponse, _ssm_checks),
        (EmailResponse, _ses_checks),
        (SNSResponse, _sns_checks),
    ):

        def authorise(self: Any, resource: str = "*", _checks: Any = checks) -> None:
            _authorise(self, _checks(self))

        cls._authenticate_and_authorize_normal_action = authorise  # type: ignore[method-assign]


def _install_sqs_queue_names() -> None:
    """``GetQueueUrl`` names the queue by ``QueueName``; moto then authorises ``"*"``."""
    from moto.sqs.responses import SQSResponse

    original = SQSResponse._determine_resource

    def determine(self: Any) -> str:
        resource: str = original(self)
        name = _json_body(self).get("QueueName") or _query_param(self, "QueueName")
        if resource == "*" and name:
            return _arn(self, "sqs", str(name))
        return resource

    SQSResponse._determine_resource = determine  # type: ignore[method-assign]


def _s3_permits(handler: Any, access_key_id: str, action: str, resource: str) -> bool:
    """Whether the access key's user may ``action`` on ``resource`` (logged)."""
    from moto.iam.access_control import IAMPolicy, IAMUserAccessKey, PermissionResult

    key = IAMUserAccessKey(
        account_id=handler.current_account, partition="aws", access_key_id=access_key_id, headers={}
    )
    results = [IAMPolicy(p).is_action_permitted(action, resource) for p in key.collect_policies()]
    allowed = PermissionResult.PERMITTED in results and PermissionResult.DENIED not in results
    _log(key.arn, action, resource, allowed)
    return allowed


def _missing_object(handler: Any, bucket_name: str, key_name: str) -> bool:
    from moto.s3.models import s3_backends

    try:
        bucket = s3_backends[handler.current_account]["aws"].get_bucket(bucket_name)
    except Exception:
        return False
    return bucket.keys.get(key_name) is None


def _install_s3() -> None:
    """Presigned requests, and S3's answer to a missing key without ``s3:ListBucket``.

    Presigned POST forms and GET URLs carry no Authorization header: they are
    authorised for the access key named in ``X-Amz-Credential``. AWS answers
    GET/HEAD of a missing key with 403, not 404, when the caller may not list
    the bucket (S3 user guide, GetObject/HeadObject "Permissions"); moto always
    answers 404, so here the ListBucket check is made as AWS makes it.
    """
    from moto.s3.exceptions import BucketAccessDeniedError
    from moto.s3.responses import S3Response

    original = S3Response._authenticate_and_authorize_s3_action

    def authorise(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        if self.method == "POST" and key_name is None and "key" in self.querystring:
            key_name = self.querystring["key"][0]  # a form upload names its key in the form
        if "Authorization" in self.headers:
            original(self, bucket_name=bucket_name, key_name=key_name)
            credential = self.headers["Authorization"].partition("Credential=")[2]
        else:
            credential = _query_param(self, "X-Amz-Credential") or _query_param(
                self, "x-amz-credential"
            )
            if not _checking():
                return
            action = f"s3:{self.data.get('Action') or self._get_action()}"
            arn = f"{bucket_name}/{key_name}" if key_name else str(bucket_name)
            if not credential:
                _log("anonymous", action, f"arn:aws:s3:::{arn}", False)
                raise BucketAccessDeniedError(bucket=bucket_name or "")
            if not _s3_permits(self, credential.split("/", 1)[0], action, f"arn:aws:s3:::{arn}"):
                raise BucketAccessDeniedError(bucket=bucket_name or "")
        from moto import settings
        from moto.core.authorization import ActionAuthenticatorMixin

        if (
            ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT
            and credential
            and bucket_name
            and key_name
            and self.method in ("GET", "HEAD")
            and self.data.get("Action") == "GetObject"
            and _missing_object(self, bucket_name, key_name)
        ):
            access_key_id = credential.split("/", 1)[0]
            if not _s3_permits(self, access_key_id, "s3:ListBucket", f"arn:aws:s3:::{bucket_name}"):
                raise BucketAccessDeniedError(bucket=bucket_name)

    S3Response._authenticate_and_authorize_s3_action = authorise  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    global _LOG_PATH
    port, _LOG_PATH = int(argv[0]), argv[1]
    if "INITIAL_NO_AUTH_ACTION_COUNT" not in os.environ:
        print("set INITIAL_NO_AUTH_ACTION_COUNT in this process's environment", file=sys.stderr)
        return 2
    import logging

    from moto.server import ThreadedMotoServer

    from devstack.moto_atomic import serialise_dynamodb

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    serialise_dynamodb()
    _record_decisions()
    _install_resource_checks()
    _install_sqs_queue_names()
    _install_s3()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    print(f"http://{host}:{bound}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # SIGTERM from the test ends it too
        threading.Event().wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
