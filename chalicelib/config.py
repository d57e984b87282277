"""Every environment read of the application, in one place.

Settings are read on first use (never at import) and cached for the life of
the process; tests call ``reset_settings()`` after changing the environment.

AWS endpoints are not read here: boto3 and botocore honour ``AWS_ENDPOINT_URL``
and ``AWS_ENDPOINT_URL_<SERVICE>`` themselves, so the same code runs on AWS, on
moto locally, or on DynamoDB-/S3-compatible stores hosted in Kazakhstan
(Law 94-V, art. 12: personal-data databases kept in the country).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from chalicelib.errors import Misconfigured

#: Resource names. One stage per AWS account (the multi-account layout AWS
#: recommends), so names carry no stage suffix; SQS names must be known when
#: ``app.py`` is imported by ``chalice deploy`` itself.
NOTIFY_QUEUE = "hava-notify"
UPLOADS_QUEUE = "hava-uploads"
INBOUND_QUEUE = "hava-inbound"
TABLE_PREFIX = "hava-"


#: Stages that run on a developer's machine or in tests: placeholders are fine there.
DEVELOPMENT_STAGES = frozenset({"local", "test"})
#: What .chalice/config.json ships with until an operator fills in the stage's values.
_PLACEHOLDER = re.compile(r"ACCOUNT_ID|\.example\b|example\.(com|org|net)\b|CHANGE_ME", re.I)
#: SNS alphanumeric sender ID: 1-11 letters/digits, at least one letter.
_SENDER_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_log = logging.getLogger(__name__)


def placeholder_problems(env: Mapping[str, str]) -> list[str]:
    """What a deployed stage's environment still lacks: one English line per setting.

    Read by ``get_settings()`` on every stage outside ``DEVELOPMENT_STAGES`` and by
    ``python -m devstack.stage_check`` before the deploy workflow deploys anything.
    """
    problems = []
    bucket = env.get("HAVA_DOCUMENTS_BUCKET", "")
    if not bucket or _PLACEHOLDER.search(bucket) or not _BUCKET.match(bucket):
        problems.append(
            f"HAVA_DOCUMENTS_BUCKET={bucket!r}: set the stage's real bucket name "
            "(hava-documents-<account id>-<region>) in .chalice/config.json"
        )
    sender = env.get("HAVA_EMAIL_SENDER", "")
    if not sender or _PLACEHOLDER.search(sender) or "@" not in sender:
        problems.append(
            f"HAVA_EMAIL_SENDER={sender!r}: set an address of a verified SES identity "
            "for the stage in .chalice/config.json"
        )
    origin = env.get("HAVA_CABINET_ORIGIN", "")
    if not origin.startswith("https://") or _PLACEHOLDER.search(origin) or origin.endswith("/"):
        problems.append(
            f"HAVA_CABINET_ORIGIN={origin!r}: set the cabinet's https:// origin "
            "(scheme://host, no path) for the stage in .chalice/config.json"
        )
    sender_id = env.get("HAVA_SMS_SENDER_ID", "")
    if not _SENDER_ID.match(sender_id):
        problems.append(
            f"HAVA_SMS_SENDER_ID={sender_id!r}: 1-11 letters or digits, the sender ID "
            "registered for Kazakhstan"
        )
    return problems


def _flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


@dataclass(frozen=True)
class Settings:
    """The application's configuration for one process."""

    stage: str
    region: str
    #: HAVA_MAINTENANCE when set (local runs, tests): wins over the SSM parameter.
    maintenance_override: bool | None
    #: SSM parameter holding "on"/"off" (chalicelib.maintenance reads it, cached ≤ 60 s).
    maintenance_parameter: str
    maintenance_cache_seconds: int
    #: The web cabinet's origin (scheme://host[:port]); the bucket's CORS allows it.
    cabinet_origin: str
    kms_key_id: str
    documents_bucket: str
    #: Name of the SSM SecureString holding the blind-index/HMAC key, or "".
    index_key_parameter: str
    #: The key itself (base64), for local runs and tests only.
    index_key_b64: str
    #: "aws" sends SMS through SNS and e-mail through SES; "outbox" appends
    #: JSON lines to ``outbox_path`` and prints them (the local stack).
    notify_backend: str
    outbox_path: str
    sms_sender_id: str
    email_sender: str
    # Loan product (terms are not published by Hava: configuration).
    loan_min_amount: int
    loan_max_amount: int
    loan_min_term_days: int
    loan_max_term_days: int
    loan_daily_rate: Decimal
    #: Repeat borrowers (a loan repaid before) may borrow up to this much.
    loan_repeat_max_amount: int
    #: Extensions: days per extension (also capped by regulation).
    loan_max_extension_days: int
    #: Reminder SMS only between these Asia/Almaty hours (start inclusive, end exclusive).
    reminder_from_hour: int
    reminder_to_hour: int
    #: Presigned links to a signed agreement live this long.
    agreement_link_seconds: int
    #: Contract penalty per day of delay (fraction of the overdue amount); capped by regulation.
    loan_penalty_daily_rate: Decimal
    # The lender as printed in the agreement (defaults are fictional placeholders).
    agreement_version: str
    lender_name_ru: str
    lender_name_kk: str
    lender_bin: str
    lender_licence: str
    lender_address_ru: str
    lender_address_kk: str
    lender_iban: str
    #: Support contacts printed in the pages' footer (defaults are fictional placeholders).
    support_phone: str
    support_email: str
    # Codes, sessions, limits.
    code_ttl_seconds: int
    code_max_attempts: int
    code_resend_cooldown_seconds: int
    code_sends_per_hour: int
    # SMS budgets (SMS pumping): per number, per client address, for the whole service.
    sms_per_phone_per_day: int
    sms_per_ip_per_hour: int
    sms_per_ip_per_day: int
    sms_global_per_hour: int
    sms_global_per_day: int
    #: Notices (new device, password changed, decisions…) per number: their own counters,
    #: so a flood of notices never uses up the codes a borrower needs to recover.
    sms_notices_per_phone_per_hour: int
    sms_notices_per_phone_per_day: int
    #: Phone-change attempts per account per day (charged before the new number is looked up).
    phone_change_attempts_per_day: int
    # Brute force: per login identifier, then per client address (fixed windows).
    login_free_failures: int
    login_delay_base_seconds: int
    login_delay_max_seconds: int
    login_failure_memory_seconds: int
    login_per_ip_per_minute: int
    registration_per_ip_per_hour: int
    recovery_per_ip_per_hour: int
    compromise_reports_per_ip_per_hour: int
    #: Recovery start/resend never answer sooner (equal timing, known or unknown login).
    recovery_min_response_ms: int
    #: Registration confirmation never answers sooner (equal timing, taken IIN/e-mail or not).
    registration_min_response_ms: int
    session_idle_seconds: int
    session_absolute_seconds: int
    staff_session_idle_seconds: int
    staff_session_absolute_seconds: int
    review_days: int
    document_retention_days: int
    #: A phone change still awaiting documents this many days after filing is cancelled.
    phone_change_expiry_days: int
    upload_max_bytes: int
    upload_max_pixels: int
    face_match_provider: str
    staff_issuer: str
    staff_enrolment_seconds: int
    consent_version: str
    max_body_bytes: int
    #: Fingerprints of known browsers kept per account (new-device notices).
    known_devices_max: int
    #: Data exports a borrower may download per hour (each decrypts all their data).
    exports_per_hour: int
    # Inbound e-mail (SES): the domain, the two local parts, replies per sender and hour.
    inbound_domain: str
    phone_change_local_part: str
    security_local_part: str
    inbound_replies_per_hour: int
    #: Lifetime of the one-time link that proves a new number received by e-mail.
    phone_link_ttl_seconds: int
    #: Public origin of the cabinet (links in SMS and e-mail).
    public_url: str

    @property
    def phone_change_address(self) -> str:
        """``nomer@hava.kz`` by default."""
        return f"{self.phone_change_local_part}@{self.inbound_domain}".lower()

    @property
    def security_address(self) -> str:
        """``security@hava.kz`` by default."""
        return f"{self.security_local_part}@{self.inbound_domain}".lower()


def get_settings() -> Settings:
    """The settings of this process: read once, then cached.

    On a deployed stage (not ``local``/``test``) a placeholder left in
    ``.chalice/config.json`` (``ACCOUNT_ID``, ``no-reply@hava.example``, …)
    raises ``Misconfigured`` here, at first use, with every offending setting
    named in the log: routes answer 503 and worker messages retry into their
    DLQ (whose alarm fires) instead of failing later and quietly (SES refusing
    the sender, the uploads worker ignoring "unexpected bucket" notifications).
    Importing the app never fails, so ``chalice deploy`` and ``/health`` work.
    """
    settings = _read_settings()
    if settings.stage not in DEVELOPMENT_STAGES:
        _require_real_values(settings.stage)
    return settings


@lru_cache(maxsize=1)
def _require_real_values(stage: str) -> None:
    """Raise ``Misconfigured`` while placeholders remain (success is cached, failure is not)."""
    problems = placeholder_problems(os.environ)
    if problems:
        error = Misconfigured(problems)
        _log.error("stage %s is misconfigured: %s", stage, error)
        raise error


@lru_cache(maxsize=1)
def _read_settings() -> Settings:
    """Read the environment once."""
    env = os.environ.get
    override = env("HAVA_MAINTENANCE", "").strip()
    return Settings(
        stage=env("HAVA_STAGE", "local"),
        region=env("AWS_REGION") or env("AWS_DEFAULT_REGION") or "eu-central-1",
        maintenance_override=_flag("HAVA_MAINTENANCE") if override else None,
        maintenance_parameter=env("HAVA_MAINTENANCE_PARAMETER", ""),
        # At most 60 s: a flipped switch takes effect within a minute everywhere.
        maintenance_cache_seconds=min(_int("HAVA_MAINTENANCE_CACHE_SECONDS", 60), 60),
        cabinet_origin=env("HAVA_CABINET_ORIGIN", "http://127.0.0.1:8000"),
        kms_key_id=env("HAVA_KMS_KEY_ID", "alias/hava-pii"),
        documents_bucket=env("HAVA_DOCUMENTS_BUCKET", "hava-documents-local"),
        index_key_parameter=env("HAVA_INDEX_KEY_PARAMETER", ""),
        index_key_b64=env("HAVA_INDEX_KEY", ""),
        notify_backend=env("HAVA_NOTIFY_BACKEND", "aws"),
        outbox_path=env("HAVA_OUTBOX_PATH", ".local/outbox.jsonl"),
        sms_sender_id=env("HAVA_SMS_SENDER_ID", "Hava"),
        email_sender=env("HAVA_EMAIL_SENDER", "no-reply@hava.example"),
        loan_min_amount=_int("HAVA_LOAN_MIN_AMOUNT", 10_000),
        loan_max_amount=_int("HAVA_LOAN_MAX_AMOUNT", 150_000),
        loan_min_term_days=_int("HAVA_LOAN_MIN_TERM_DAYS", 5),
        loan_max_term_days=_int("HAVA_LOAN_MAX_TERM_DAYS", 30),
        # 0.28 %/day keeps the ГЭСВ of every term in 5–30 days under the 179 %
        # cap (0.29 % would break it for terms under ~15 days).
        loan_daily_rate=Decimal(env("HAVA_LOAN_DAILY_RATE", "0.0028")),
        loan_repeat_max_amount=_int("HAVA_LOAN_REPEAT_MAX_AMOUNT", 200_000),
        loan_max_extension_days=_int("HAVA_LOAN_MAX_EXTENSION_DAYS", 30),
        reminder_from_hour=_int("HAVA_REMINDER_FROM_HOUR", 9),
        reminder_to_hour=_int("HAVA_REMINDER_TO_HOUR", 20),
        agreement_link_seconds=_int("HAVA_AGREEMENT_LINK_SECONDS", 300),
        loan_penalty_daily_rate=Decimal(env("HAVA_LOAN_PENALTY_DAILY_RATE", "0.002")),
        agreement_version=env("HAVA_AGREEMENT_VERSION", "2026-12"),
        # Fictional but well-formed: a checksum-valid BIN and IBAN nobody holds.
        lender_name_ru=env("HAVA_LENDER_NAME_RU", "ТОО «МФО «Образец» (тестовые реквизиты)"),
        lender_name_kk=env("HAVA_LENDER_NAME_KK", "«Образец» МҚҰ» ЖШС (сынақ деректемелері)"),
        lender_bin=env("HAVA_LENDER_BIN", "260140000015"),
        lender_licence=env("HAVA_LENDER_LICENCE", "№ 02.26.0000.М от 01.01.2026 (образец)"),
        lender_address_ru=env(
            "HAVA_LENDER_ADDRESS_RU", "Республика Казахстан, г. Алматы, ул. Образцовая, 1"
        ),
        lender_address_kk=env(
            "HAVA_LENDER_ADDRESS_KK", "Қазақстан Республикасы, Алматы қ., Үлгі к-сі, 1"
        ),
        lender_iban=env("HAVA_LENDER_IBAN", "KZ726010000000000000"),
        support_phone=env("HAVA_SUPPORT_PHONE", "+7 727 000 00 00"),
        support_email=env("HAVA_SUPPORT_EMAIL", "support@example.kz"),
        code_ttl_seconds=_int("HAVA_CODE_TTL_SECONDS", 600),
        code_max_attempts=_int("HAVA_CODE_MAX_ATTEMPTS", 5),
        code_resend_cooldown_seconds=_int("HAVA_CODE_RESEND_COOLDOWN_SECONDS", 60),
        code_sends_per_hour=_int("HAVA_CODE_SENDS_PER_HOUR", 5),
        sms_per_phone_per_day=_int("HAVA_SMS_PER_PHONE_PER_DAY", 10),
        # Mobile carriers put many subscribers behind one address (CGNAT): raise
        # the per-address limits per stage if real users meet them.
        sms_per_ip_per_hour=_int("HAVA_SMS_PER_IP_PER_HOUR", 10),
        sms_per_ip_per_day=_int("HAVA_SMS_PER_IP_PER_DAY", 30),
        sms_global_per_hour=_int("HAVA_SMS_GLOBAL_PER_HOUR", 2_000),
        sms_global_per_day=_int("HAVA_SMS_GLOBAL_PER_DAY", 20_000),
        sms_notices_per_phone_per_hour=_int("HAVA_SMS_NOTICES_PER_PHONE_PER_HOUR", 4),
        sms_notices_per_phone_per_day=_int("HAVA_SMS_NOTICES_PER_PHONE_PER_DAY", 10),
        phone_change_attempts_per_day=_int("HAVA_PHONE_CHANGE_ATTEMPTS_PER_DAY", 5),
        login_free_failures=_int("HAVA_LOGIN_FREE_FAILURES", 5),
        login_delay_base_seconds=_int("HAVA_LOGIN_DELAY_BASE_SECONDS", 1),
        login_delay_max_seconds=_int("HAVA_LOGIN_DELAY_MAX_SECONDS", 15 * 60),
        login_failure_memory_seconds=_int("HAVA_LOGIN_FAILURE_MEMORY_SECONDS", 24 * 3600),
        login_per_ip_per_minute=_int("HAVA_LOGIN_PER_IP_PER_MINUTE", 30),
        registration_per_ip_per_hour=_int("HAVA_REGISTRATION_PER_IP_PER_HOUR", 10),
        recovery_per_ip_per_hour=_int("HAVA_RECOVERY_PER_IP_PER_HOUR", 10),
        compromise_reports_per_ip_per_hour=_int("HAVA_COMPROMISE_REPORTS_PER_IP_PER_HOUR", 5),
        recovery_min_response_ms=_int("HAVA_RECOVERY_MIN_RESPONSE_MS", 400),
        registration_min_response_ms=_int("HAVA_REGISTRATION_MIN_RESPONSE_MS", 400),
        session_idle_seconds=_int("HAVA_SESSION_IDLE_SECONDS", 30 * 60),
        session_absolute_seconds=_int("HAVA_SESSION_ABSOLUTE_SECONDS", 12 * 3600),
        staff_session_idle_seconds=_int("HAVA_STAFF_SESSION_IDLE_SECONDS", 15 * 60),
        staff_session_absolute_seconds=_int("HAVA_STAFF_SESSION_ABSOLUTE_SECONDS", 8 * 3600),
        # Review deadline of a request, calendar days (Law 94-V / consumer practice: 15).
        review_days=_int("HAVA_REVIEW_DAYS", 15),
        document_retention_days=_int("HAVA_DOCUMENT_RETENTION_DAYS", 30),
        phone_change_expiry_days=_int("HAVA_PHONE_CHANGE_EXPIRY_DAYS", 7),
        upload_max_bytes=_int("HAVA_UPLOAD_MAX_BYTES", 10 * 1024 * 1024),
        upload_max_pixels=_int("HAVA_UPLOAD_MAX_PIXELS", 40_000_000),
        # "none" reports "not checked"; a real provider is configured per stage.
        face_match_provider=env("HAVA_FACE_MATCH_PROVIDER", "none"),
        staff_issuer=env("HAVA_STAFF_TOTP_ISSUER", "Hava support desk"),
        staff_enrolment_seconds=_int("HAVA_STAFF_ENROLMENT_SECONDS", 24 * 3600),
        consent_version=env("HAVA_CONSENT_VERSION", "2026-01"),
        max_body_bytes=_int("HAVA_MAX_BODY_BYTES", 16 * 1024),
        known_devices_max=_int("HAVA_KNOWN_DEVICES_MAX", 20),
        exports_per_hour=_int("HAVA_EXPORTS_PER_HOUR", 5),
        inbound_domain=env("HAVA_INBOUND_DOMAIN", "hava.kz"),
        phone_change_local_part=env("HAVA_INBOUND_PHONE_CHANGE_LOCAL", "nomer"),
        security_local_part=env("HAVA_INBOUND_SECURITY_LOCAL", "security"),
        inbound_replies_per_hour=_int("HAVA_INBOUND_REPLIES_PER_HOUR", 3),
        phone_link_ttl_seconds=_int("HAVA_PHONE_LINK_TTL_SECONDS", 24 * 3600),
        public_url=env("HAVA_PUBLIC_URL", "https://cabinet.hava.kz").rstrip("/"),
    )


def reset_settings() -> None:
    """Forget cached settings (tests change the environment)."""
    _read_settings.cache_clear()
    _require_real_values.cache_clear()
