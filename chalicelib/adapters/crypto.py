"""Keyed lookups and envelope encryption of personal data.

- **Blind indexes**: IIN, phone and e-mail are never stored or keyed in plain
  text. A keyed HMAC-SHA256 of the normalised value (one derived key per
  purpose) is what the tables store and query.
- **Envelope encryption**: personal fields are sealed with the AWS Encryption
  SDK under the KMS key, through a caching materials manager so that repeated
  work does not cost one KMS call each. The encryption context names the
  record, so a ciphertext copied onto another record fails to open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from chalicelib.adapters import aws
from chalicelib.config import get_settings
from chalicelib.errors import ServiceUnavailable

_PURPOSES = ("blind-index", "otp", "session", "upload-marker")


def derived_key(purpose: str) -> bytes:
    """A sub-key of the index key, one per purpose (no key is used twice)."""
    if purpose not in _PURPOSES:
        raise ValueError(purpose)
    return _derive(index_key(), purpose)


def index_key() -> bytes:
    """The secret key of the blind indexes, code hashes and CSRF tokens (32 bytes or more).

    ``HAVA_INDEX_KEY`` (base64) locally; on a deployed stage the SecureString named by
    ``HAVA_INDEX_KEY_PARAMETER``, fetched once per cold start and kept in memory only.
    """
    settings = get_settings()
    return _index_key(settings.index_key_b64, settings.index_key_parameter)


@lru_cache(maxsize=4)
def _index_key(key_b64: str, parameter: str) -> bytes:
    if key_b64:
        key = base64.b64decode(key_b64)
    elif parameter:
        response = aws.client("ssm").get_parameter(Name=parameter, WithDecryption=True)
        key = base64.b64decode(response["Parameter"]["Value"])
    else:
        raise RuntimeError("Set HAVA_INDEX_KEY_PARAMETER (or HAVA_INDEX_KEY locally).")
    if len(key) < 32:
        raise RuntimeError("The index key must be at least 32 bytes.")
    return key


@lru_cache(maxsize=8)
def _derive(root: bytes, purpose: str) -> bytes:
    return hmac.new(root, b"hava/" + purpose.encode(), hashlib.sha256).digest()


def blind_index(kind: str, normalized_value: str) -> str:
    """``kind#<hex hmac>``: the lookup key of a normalised IIN, phone or e-mail."""
    mac = hmac.new(derived_key("blind-index"), f"{kind}:{normalized_value}".encode(), "sha256")
    return f"{kind}#{mac.hexdigest()}"


class _Sealer:
    """Encrypt/decrypt JSON documents under the KMS key (one per process)."""

    def __init__(self, key_id: str) -> None:
        # lazy: aws_encryption_sdk + cryptography ≈ 550 ms CPU at cold start;
        # only __init__() needs it
        import aws_encryption_sdk
        import botocore.session
        from aws_encryption_sdk.identifiers import CommitmentPolicy
        from botocore.config import Config

        # The strict provider needs the key ARN to decrypt; resolve the alias once.
        key_arn = aws.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
        # Its own botocore session: the SDK wraps it in a boto3 session of its own,
        # which must not be the application's shared one (boto3 would register twice).
        # Same retry mode as every other client of the application.
        session = botocore.session.get_session()
        session.set_default_client_config(Config(retries=aws.RETRY_CONFIG))
        provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
            key_ids=[key_arn], botocore_session=session
        )
        self._sdk = aws_encryption_sdk.EncryptionSDKClient(
            commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
        )
        self._cmm = aws_encryption_sdk.CachingCryptoMaterialsManager(
            master_key_provider=provider,
            cache=aws_encryption_sdk.LocalCryptoMaterialsCache(capacity=256),
            max_age=300.0,
            max_messages_encrypted=1000,
        )
        # Committing, unsigned suite: writers and readers are the same service.
        self._algorithm = aws_encryption_sdk.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY

    def seal(self, document: Mapping[str, Any], context: Mapping[str, str]) -> str:
        plaintext = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        ciphertext, _ = self._sdk.encrypt(
            source=plaintext,
            materials_manager=self._cmm,
            encryption_context=dict(context),
            algorithm=self._algorithm,
        )
        return base64.b64encode(ciphertext).decode("ascii")

    def open(self, sealed: str, context: Mapping[str, str]) -> dict[str, Any]:
        plaintext, header = self._sdk.decrypt(
            source=base64.b64decode(sealed), materials_manager=self._cmm
        )
        for key, value in context.items():
            if header.encryption_context.get(key) != value:
                raise ValueError("encryption context mismatch")
        result: dict[str, Any] = json.loads(plaintext)
        return result


_lock = threading.Lock()
_sealers: dict[str, _Sealer] = {}


def _sealer() -> _Sealer:
    key_id = get_settings().kms_key_id
    with _lock:
        if key_id not in _sealers:
            _sealers[key_id] = _Sealer(key_id)
        return _sealers[key_id]


def seal(document: Mapping[str, Any], context: Mapping[str, str]) -> str:
    """Encrypt a JSON-able document; returns base64 text (KMS outage: ``ServiceUnavailable``)."""
    with _kms_errors():
        return _sealer().seal(document, context)


def unseal(sealed: str, context: Mapping[str, str]) -> dict[str, Any]:
    """Decrypt what ``seal`` produced, checking the encryption context."""
    with _kms_errors():
        return _sealer().open(sealed, context)


@contextmanager
def _kms_errors() -> Iterator[None]:
    """The SDK wraps KMS failures in its own errors: they are a retryable outage, not a bug."""
    # lazy: aws_encryption_sdk + cryptography ≈ 550 ms CPU at cold start;
    # only _kms_errors() needs it
    from aws_encryption_sdk.exceptions import DecryptKeyError, GenerateKeyError
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (GenerateKeyError, DecryptKeyError, BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable() from exc


def reset_crypto() -> None:
    """Forget cached key material (tests)."""
    with _lock:
        _sealers.clear()
    _derive.cache_clear()
    _index_key.cache_clear()
