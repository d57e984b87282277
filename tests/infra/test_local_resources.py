"""The local provisioner builds, on a moto server, what infra/resources.yaml describes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
from moto.server import ThreadedMotoServer

from devstack.resources import provision

REGION = "eu-central-1"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()  # the port the OS actually chose
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def outputs(endpoint: str) -> dict[str, str]:
    return provision(endpoint, REGION)


def client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_outputs_name_the_local_bucket_queues_and_key(outputs: dict[str, str]) -> None:
    assert outputs["DocumentsBucketName"] == "hava-documents-local"
    assert outputs["PiiKeyAliasName"] == "alias/hava-pii"
    assert outputs["PiiKeyArn"].startswith(f"arn:aws:kms:{REGION}:")
    assert outputs["NotifyQueueUrl"].endswith("/hava-notify")
    assert outputs["UploadsQueueUrl"].endswith("/hava-uploads")
    assert outputs["UploadsQueueArn"].endswith(":hava-uploads")


def test_tables_have_their_indexes_ttl_and_protection(endpoint: str, outputs: dict) -> None:
    ddb = client(endpoint, "dynamodb")

    sessions = ddb.describe_table(TableName="hava-sessions")["Table"]
    (by_account,) = sessions["GlobalSecondaryIndexes"]
    assert by_account["IndexName"] == "by_account"
    assert by_account["KeySchema"] == [
        {"AttributeName": "account_id", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]
    assert sessions["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert sessions["SSEDescription"]["Status"] == "ENABLED"
    assert ddb.describe_time_to_live(TableName="hava-sessions")["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires_at",
    }
    backups = ddb.describe_continuous_backups(TableName="hava-sessions")
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"

    requests = ddb.describe_table(TableName="hava-requests")["Table"]
    assert {i["IndexName"] for i in requests["GlobalSecondaryIndexes"]} == {
        "by_account",
        "by_queue",
        "by_status",
    }
    ttl = ddb.describe_time_to_live(TableName="hava-idempotency")["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expiration"


def test_queues_redrive_to_their_dead_letter_queues(endpoint: str, outputs: dict) -> None:
    sqs = client(endpoint, "sqs")
    for name in ("hava-notify", "hava-uploads", "hava-inbound"):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"].endswith(f":{name}-dlq")
        assert int(redrive["maxReceiveCount"]) == 5
        dlq_url = sqs.get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
        assert dlq["MessageRetentionPeriod"] == str(14 * 24 * 3600)
    uploads = sqs.get_queue_attributes(
        QueueUrl=outputs["UploadsQueueUrl"], AttributeNames=["Policy"]
    )
    statement = json.loads(uploads["Attributes"]["Policy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}


def test_bucket_is_private_encrypted_and_expires_decided_documents(
    endpoint: str, outputs: dict
) -> None:
    s3 = client(endpoint, "s3")
    bucket = outputs["DocumentsBucketName"]

    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == outputs["PiiKeyArn"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    lifecycle, inbound = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert inbound["Filter"] == {"Prefix": "inbound/"}
    assert lifecycle["Filter"] == {"Tag": {"Key": "state", "Value": "decided"}}
    assert lifecycle["Expiration"] == {"Days": 30}


def test_upload_under_requests_lands_in_the_uploads_queue(endpoint: str, outputs: dict) -> None:
    # GIVEN the provisioned bucket and an empty uploads queue
    s3, sqs = client(endpoint, "s3"), client(endpoint, "sqs")
    queue = outputs["UploadsQueueUrl"]
    sqs.purge_queue(QueueUrl=queue)  # drops the s3:TestEvent S3 sends on configuration

    # WHEN one object is put under requests/ and one elsewhere
    bucket = outputs["DocumentsBucketName"]
    s3.put_object(Bucket=bucket, Key="requests/r-1/selfie.jpg", Body=b"\xff\xd8\xff")
    s3.put_object(Bucket=bucket, Key="elsewhere/ignored.jpg", Body=b"\xff\xd8\xff")

    # THEN exactly the first one is announced, encrypted with the KMS key
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    records = [r for m in messages["Messages"] for r in json.loads(m["Body"])["Records"]]
    keys = [unquote_plus(r["s3"]["object"]["key"]) for r in records]  # keys arrive URL-encoded
    assert keys == ["requests/r-1/selfie.jpg"]
    assert records[0]["eventName"].startswith("ObjectCreated:")
    head = s3.head_object(Bucket=bucket, Key="requests/r-1/selfie.jpg")
    assert head["ServerSideEncryption"] == "aws:kms"


def test_kms_alias_points_at_a_rotating_key(endpoint: str, outputs: dict) -> None:
    kms = client(endpoint, "kms")
    meta = kms.describe_key(KeyId="alias/hava-pii")["KeyMetadata"]
    assert meta["Arn"] == outputs["PiiKeyArn"]
    assert kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"] is True
    blob = kms.encrypt(KeyId="alias/hava-pii", Plaintext=b"940101300123")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"940101300123"


def test_second_provision_is_a_no_op(endpoint: str, outputs: dict) -> None:
    kms, ddb = client(endpoint, "kms"), client(endpoint, "dynamodb")
    keys_before = kms.list_keys()["Keys"]
    tables_before = ddb.list_tables()["TableNames"]

    again = provision(endpoint, REGION)

    assert again == outputs
    assert kms.list_keys()["Keys"] == keys_before
    assert ddb.list_tables()["TableNames"] == tables_before
