"""The support desk: staff accounts, staff sign-in, the review queue, the review view, audit reads.

Staff are separate from borrowers (table ``hava-staff``): argon2id passwords,
mandatory TOTP (RFC 6238 through pyotp; the secret sealed under KMS with the
context ``{"purpose": "staff-totp", "username": …}``) and roles:

- ``support``: phone changes, account deletions, loans;
- ``security``: compromise reports, locking and unlocking accounts;
- ``admin``: staff management only — it implies no other role.

``admin`` is never combined with ``support`` or ``security`` (separation of
duties): an admin cannot mint an identity that reviews borrowers.

New members enrol themselves: an admin (or ``staff_cli``) creates a pending
member with roles and receives a one-time enrolment token (24 h, stored only
as its SHA-256); the member opens the link, sets their own password and
receives the TOTP provisioning URI; their first sign-in with a code activates
them. Whoever creates a member never chooses the password nor sees the secret.

Sign-in answers one 401 («Неверный логин, пароль или код») for an unknown
username, a wrong password, a wrong or replayed code and a disabled account,
after the same work: one TransactGetItems (member + failure counter), one
argon2 verify (a dummy hash for unknown usernames), the failure counter and
one audit entry. Failures back off per username exactly like borrowers' logins
(``services.backoff``); a per-address window limits spraying. A code's time
step is accepted at most once: the step is written with ``last_totp_step <
step``, so of two sign-ins with the same code exactly one succeeds.

Borrowers never see staff login names: ``for_borrowers`` shows a role and a
stable pseudonymous staff number instead.

Every view of personal data or photos, and every read of the audit trail, is
audited *before* the data is returned (Law 94-V: who accessed what, and when).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.adapters import crypto
from chalicelib.adapters.passwords import burn_verify, hash_password, verify_password
from chalicelib.clock import epoch, iso, now, today_kz
from chalicelib.config import get_settings
from chalicelib.domain import requests as rules
from chalicelib.domain.password import check_password, normalize_password
from chalicelib.errors import (
    BadRequest,
    Conflict,
    EnrolmentLinkInvalid,
    Forbidden,
    InvalidCredentials,
    InvalidValue,
    NotFound,
    ValidationFailed,
)
from chalicelib.logs import logger
from chalicelib.services import audit
from chalicelib.services.backoff import record_failure, refuse_if_locked
from chalicelib.services.forms import Form, secret, string
from chalicelib.services.sessions import (
    STAFF,
    NewSession,
    Principal,
    authenticate,
    end_all_sessions,
    end_session,
    start_session,
)
from chalicelib.storage.accounts import unseal_pii
from chalicelib.storage.base import storage_errors
from chalicelib.storage.staff import MEMBER, StaffModel, member_and_failures

if TYPE_CHECKING:
    from chalicelib.storage.accounts import AccountModel
    from chalicelib.storage.requests import RequestModel

SUPPORT = "support"
SECURITY = "security"
ADMIN = "admin"
ROLES = (SUPPORT, SECURITY, ADMIN)
PENDING = "pending"
ENROLLING = "enrolling"
ACTIVE = "active"
DISABLED = "disabled"
#: Never a username (``USERNAME`` has no ``~``): read for unknown usernames.
NO_STAFF = "~none"
#: The audit subject of failed sign-ins with an unknown username (the name is not kept).
UNKNOWN_STAFF = "staff#?"
#: Wrong codes in a row after a right password from which each is a security event.
TOTP_ALERT_AFTER = 3

#: Which role reviews which request type.
ROLE_FOR_TYPE = {
    rules.PHONE_CHANGE: SUPPORT,
    rules.DELETION: SUPPORT,
    rules.COMPROMISE: SECURITY,
}
#: Loan statuses staff can list (``by_status``) and set.
LOAN_STATUSES = ("submitted", "approved", "signed", "rejected", "issued", "overdue", "repaid")

PAGE_SIZE = 20
USERNAME = re.compile(r"[a-z0-9._-]{3,32}")
TOTP_CODE = re.compile(r"\d{6}")
#: pyotp: accept the previous, the current and the next 30-second step (clock drift).
TOTP_VALID_WINDOW = 1

MSG_LOGIN = "Неверный логин, пароль или код"
MSG_USERNAME = "Логин: от 3 до 32 символов — строчные латинские буквы, цифры, «.», «_», «-»."
MSG_ROLES = "Укажите одну или несколько ролей: " + ", ".join(ROLES) + "."
MSG_ADMIN_ALONE = (
    "Роль admin не совмещается с ролями support и security: "
    "для работы с заявками заведите сотруднику отдельную учётную запись."
)
MSG_SET_BY_MEMBER = "Пароль сотрудник задаёт сам по ссылке для регистрации."
MSG_LOCKED = "Слишком много неудачных попыток входа. Повторите через {wait}."
MSG_CURSOR = "Некорректный курсор страницы: начните с первой страницы."


# --- staff accounts -----------------------------------------------------------


def _totp_context(username: str) -> dict[str, str]:
    return {"purpose": "staff-totp", "username": username}


def _check_roles(roles: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(roles)
    if not chosen or not chosen <= set(ROLES):
        raise ValidationFailed({"roles": MSG_ROLES})
    if ADMIN in chosen and chosen & {SUPPORT, SECURITY}:
        raise ValidationFailed({"roles": MSG_ADMIN_ALONE})
    return chosen


def staff_number(username: str) -> str:
    """The member's stable pseudonymous number (six digits of an HMAC of the username)."""
    digest = crypto.blind_index("staff-number", username).partition("#")[2]
    return f"{int(digest[:12], 16) % 1_000_000:06d}"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_enrolment(username: str) -> tuple[str, str, int]:
    """A one-time enrolment token for ``username``: (token, its hash, expiry epoch)."""
    # The username tells which record to check; the 256-bit secret is the proof.
    token = f"{username}.{secrets.token_urlsafe(32)}"
    expires = int(epoch()) + get_settings().staff_enrolment_seconds
    return token, _token_hash(token), expires


def _invitation(username: str, roles: Iterable[str], token: str, expires: int) -> dict[str, Any]:
    return {
        "username": username,
        "roles": sorted(roles),
        "status": PENDING,
        "enrolment_token": token,
        "enrolment_link": f"staff#enrol={token}",
        "enrolment_expires_at": iso(datetime.fromtimestamp(expires, UTC)),
    }


def invite_staff(username: str, roles: Iterable[str], created_by: str) -> dict[str, Any]:
    """Create a pending member; the answer holds the one-time enrolment token (shown once).

    The member sets their own password and receives their TOTP secret through
    the link (``enrol``); whoever creates them sees neither. Only the token's
    hash is stored; it expires after ``staff_enrolment_seconds`` (24 h).
    """
    errors: dict[str, str] = {}
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        errors["username"] = MSG_USERNAME
    try:
        chosen = _check_roles(roles)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        chosen = frozenset()
    if errors:
        raise ValidationFailed(errors)

    token, token_hash, expires = _new_enrolment(username)
    member = StaffModel(
        username=username,
        kind=MEMBER,
        staff_number=staff_number(username),
        roles=set(chosen),
        status=PENDING,
        created_at=iso(now()),
        created_by=created_by,
        enrolment_hash=token_hash,
        enrolment_expires_at=expires,
        failed_logins=0,
        totp_failures=0,
        last_totp_step=0,
    )
    with storage_errors():
        try:
            member.save(condition=StaffModel.username.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise Conflict("Сотрудник с таким логином уже есть.") from None
            raise
    audit.record(
        created_by,
        "staff_created",
        audit.staff_subject(username),
        target=",".join(sorted(chosen)),
    )
    logger.info("staff invited", extra={"staff": username})
    return _invitation(username, chosen, token, expires)


def reissue_enrolment(username: str, by: str) -> dict[str, Any]:
    """A new enrolment token for a member not yet active (the old one stops working)."""
    if not USERNAME.fullmatch(username):
        raise NotFound("Сотрудник не найден.")
    token, token_hash, expires = _new_enrolment(username)
    member = StaffModel(username=username)
    with storage_errors():
        try:
            member.update(
                actions=[
                    StaffModel.status.set(PENDING),
                    StaffModel.enrolment_hash.set(token_hash),
                    StaffModel.enrolment_expires_at.set(expires),
                    StaffModel.password_hash.remove(),
                    StaffModel.totp_secret.remove(),
                ],
                condition=StaffModel.status.is_in(PENDING, ENROLLING),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise Conflict(
                    "Новую ссылку можно выдать только сотруднику, ещё не завершившему регистрацию."
                ) from None
            raise
    audit.record(by, "staff_enrolment_reissued", audit.staff_subject(username))
    return _invitation(username, member.roles or (), token, expires)


def enrol(data: Mapping[str, Any], client_ip: str | None = None) -> dict[str, Any]:
    """``POST /admin/v1/enrolment``: the member sets their password with the one-time token.

    The token is spent here (one conditional update: the right hash, not expired,
    still pending). The answer holds the TOTP provisioning URI, shown once; the
    first sign-in with a code from it activates the member.
    """
    import pyotp

    from chalicelib.services.auth import limit_address

    form = Form(data, ("token", "password", "password_confirm"))
    token = form.field("token", string(128))
    password = form.field("password", secret)
    confirm = form.field("password_confirm", secret)
    form.raise_if_invalid()
    assert token is not None and password is not None and confirm is not None
    limit_address("staff_login", client_ip)
    username = token.rpartition(".")[0]
    if not USERNAME.fullmatch(username):
        raise EnrolmentLinkInvalid()
    check_password(password, confirm, [username])

    totp_secret = pyotp.random_base32()  # 160 bits, RFC 4226's recommended length
    with storage_errors():
        try:
            StaffModel(username=username).update(
                actions=[
                    StaffModel.password_hash.set(hash_password(normalize_password(password))),
                    StaffModel.totp_secret.set(
                        crypto.seal({"secret": totp_secret}, _totp_context(username))
                    ),
                    StaffModel.status.set(ENROLLING),
                    StaffModel.enrolment_hash.remove(),
                    StaffModel.enrolment_expires_at.remove(),
                ],
                condition=(StaffModel.enrolment_hash == _token_hash(token))
                & (StaffModel.enrolment_expires_at > int(epoch()))
                & (StaffModel.status == PENDING),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise EnrolmentLinkInvalid() from None
            raise
    subject = audit.staff_subject(username)
    audit.record(subject, "staff_enrolment_started", subject)
    uri: str = pyotp.TOTP(totp_secret).provisioning_uri(
        name=username, issuer_name=get_settings().staff_issuer
    )
    return {"username": username, "provisioning_uri": uri, "status": ENROLLING}


def _matching_step(totp_secret: str, code: str) -> int | None:
    """The time step ``code`` belongs to within the valid window, or None."""
    import pyotp

    totp = pyotp.TOTP(totp_secret)
    current = int(epoch() // totp.interval)
    for step in range(current - TOTP_VALID_WINDOW, current + TOTP_VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def login_subject(username: str) -> str:
    """The back-off counter of a typed username (every spelling of one name shares it)."""
    return "staff-login:" + crypto.blind_index("staff-login", " ".join(username.split()).casefold())


def _refuse(subject: str, member: StaffModel | None, why: str) -> InvalidCredentials:
    """Count and audit a failed sign-in; the error to raise.

    Known and unknown usernames do the same writes (the counter, one audit entry).
    """
    record_failure(subject)
    who = audit.staff_subject(member.username) if member is not None else UNKNOWN_STAFF
    audit.record(who, "staff_login_failed", who, reason=why)
    return InvalidCredentials(MSG_LOGIN)


def _refuse_totp(subject: str, member: StaffModel, why: str) -> InvalidCredentials:
    """A wrong or replayed code after the right password: counted on the member too.

    From the ``TOTP_ALERT_AFTER``-th in a row, each raises a ``security_event``
    (``staff_totp_failures``) an alarm watches: someone holds the password.
    """
    with storage_errors():
        member.update(actions=[StaffModel.totp_failures.add(1)])
    failures = int(member.totp_failures or 0)
    if failures >= TOTP_ALERT_AFTER:
        logger.warning(
            "security_event", extra={"event": "staff_totp_failures", "failures": failures}
        )
    return _refuse(subject, member, why)


def staff_login(
    data: Mapping[str, Any], user_agent: str | None, *, client_ip: str | None = None
) -> NewSession:
    """A staff session for the right username, password and an unused TOTP code.

    The borrowers' back-off (``services.backoff``) per username, counting wrong
    passwords and wrong codes alike, plus the per-address window; 429 before
    any check while a wait runs. The first sign-in of an enrolling member
    activates them.
    """
    from chalicelib.services.auth import limit_address
    from chalicelib.storage import throttles

    form = Form(data, ("username", "password", "totp"))
    username = form.field("username", string(64))
    password = form.field("password", secret)
    code = form.field("totp", string(16))
    form.raise_if_invalid()
    assert username is not None and password is not None and code is not None
    limit_address("staff_login", client_ip)
    password = normalize_password(password)
    subject = login_subject(username)
    key = username if USERNAME.fullmatch(username) else NO_STAFF
    member, counter = member_and_failures(key, subject)
    failures = refuse_if_locked(subject, throttles.state_of(counter), message=MSG_LOCKED)
    if member is None or not member.password_hash or not member.totp_secret:
        burn_verify(password)
        raise _refuse(subject, None, "unknown")
    matches, needs_rehash = verify_password(member.password_hash, password)
    if not matches:
        raise _refuse(subject, member, "password")
    if member.status not in (ACTIVE, ENROLLING):
        raise _refuse(subject, member, "disabled")
    totp_secret = crypto.unseal(member.totp_secret, _totp_context(username))["secret"]
    step = _matching_step(totp_secret, code) if TOTP_CODE.fullmatch(code) else None
    if step is None:
        raise _refuse_totp(subject, member, "totp")

    actions: list[Any] = [
        StaffModel.last_totp_step.set(step),
        StaffModel.totp_failures.set(0),
        StaffModel.status.set(ACTIVE),
    ]
    if needs_rehash:
        actions.append(StaffModel.password_hash.set(hash_password(password)))
    first_sign_in = member.status == ENROLLING
    with storage_errors():
        try:
            # The step moves forward only: a code (or an older one) is never accepted twice.
            member.update(
                actions=actions,
                condition=(StaffModel.last_totp_step < step) & (StaffModel.status == member.status),
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            raise _refuse_totp(subject, member, "totp_replayed") from None
    if failures:
        throttles.clear_failures(subject)

    subject_id = audit.staff_subject(username)
    if first_sign_in:
        audit.record(subject_id, "staff_enrolled", subject_id)
    session = start_session(subject_id, user_agent, kind=STAFF, roles=frozenset(member.roles))
    audit.record(subject_id, "staff_login", subject_id)
    logger.info("staff signed in", extra={"staff": username})
    return session


def staff_logout(staff: Principal) -> None:
    """End the staff member's current session."""
    end_session(staff.token_hash)
    audit.record(staff.account_id, "staff_logout", staff.account_id)


def require_staff(token: str | None, *roles: str) -> Principal:
    """The staff principal of ``token`` holding one of ``roles`` (any staff when none given).

    ``Unauthenticated`` without a live staff session (a borrower's token is none);
    ``Forbidden`` when no role matches. ``admin`` implies no other role.
    """
    principal = authenticate(token, kind=STAFF)
    if roles and not principal.roles & set(roles):
        raise Forbidden()
    return principal


def _require_role(staff: Principal, role: str) -> None:
    if role not in staff.roles:
        raise Forbidden()


def list_staff() -> list[dict[str, Any]]:
    """Every staff member, without secrets: one Query on ``by_kind`` (no Scan)."""
    with storage_errors():
        members = list(StaffModel.by_kind.query(MEMBER))
    return [
        {
            "username": m.username,
            "staff_number": m.staff_number or staff_number(m.username),
            "roles": sorted(m.roles or ()),
            "status": m.status,
            "created_at": m.created_at,
            "created_by": m.created_by,
        }
        for m in members
    ]


def for_borrowers(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Audit entries as a borrower may read them: staff shown by role and staff number.

    A borrower never sees a staff login name: ``staff#<username>`` becomes
    ``staff`` with ``staff_role`` and the member's pseudonymous ``staff_number``.
    """
    cache: dict[str, dict[str, Any]] = {}
    shown = []
    for entry in entries:
        view = dict(entry)
        for field in ("actor", "subject"):
            value = view.get(field)
            if isinstance(value, str) and value.startswith("staff#"):
                if value not in cache:
                    cache[value] = _pseudonym(value.removeprefix("staff#"))
                view[field] = "staff"
                view.update(cache[value])
        shown.append(view)
    return shown


def _pseudonym(username: str) -> dict[str, Any]:
    member = None
    if USERNAME.fullmatch(username):
        with storage_errors():
            try:
                member = StaffModel.get(username, attributes_to_get=["roles", "staff_number"])
            except DoesNotExist:
                member = None
    roles = sorted(member.roles or ()) if member is not None else []
    number = (member.staff_number if member is not None else None) or staff_number(username)
    return {"staff_role": ",".join(roles) or None, "staff_number": number}


def disable_staff(username: str, by: str) -> None:
    """Disable a staff member and end their sessions at once."""
    if audit.staff_subject(username) == by:
        raise Conflict("Нельзя отключить собственную учётную запись.")
    with storage_errors():
        try:
            StaffModel(username=username).update(
                actions=[StaffModel.status.set(DISABLED)],
                condition=StaffModel.username.exists(),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise NotFound("Сотрудник не найден.") from None
            raise
    end_all_sessions(audit.staff_subject(username))
    audit.record(by, "staff_disabled", audit.staff_subject(username))


# --- pagination -----------------------------------------------------------------


def encode_cursor(last_evaluated_key: Mapping[str, Any] | None) -> str | None:
    """An opaque cursor: base64url of DynamoDB's LastEvaluatedKey JSON."""
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(
    cursor: str | None, keys: Iterable[str], pinned: Mapping[str, str]
) -> dict[str, Any] | None:
    """The LastEvaluatedKey of ``cursor``, or ``BadRequest``.

    Only string keys named ``keys`` are accepted, and those in ``pinned`` must
    hold the given values (a cursor of another queue is no cursor of this one).
    """
    if not cursor:
        return None
    try:
        if len(cursor) > 1024:
            raise ValueError(cursor)
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise BadRequest(MSG_CURSOR) from None
    if not isinstance(key, dict) or set(key) != set(keys):
        raise BadRequest(MSG_CURSOR)
    for name, value in key.items():
        if not isinstance(value, dict) or set(value) != {"S"} or not isinstance(value["S"], str):
            raise BadRequest(MSG_CURSOR)
        if name in pinned and value["S"] != pinned[name]:
            raise BadRequest(MSG_CURSOR)
    return key


# --- the review queue -----------------------------------------------------------


def _overdue(request: RequestModel) -> bool:
    return request.status == rules.IN_REVIEW and request.due_on < today_kz().isoformat()


def queue_page(staff: Principal, request_type: str | None, cursor: str | None) -> dict[str, Any]:
    """One page of requests waiting for review, oldest first: exactly one Query on ``by_queue``."""
    from chalicelib.storage.requests import RequestModel

    if request_type not in ROLE_FOR_TYPE:
        raise ValidationFailed({"type": "Укажите тип: " + ", ".join(rules.TYPES) + "."})
    _require_role(staff, ROLE_FOR_TYPE[request_type])
    queue = rules.queue_key(request_type, rules.IN_REVIEW)
    assert queue is not None
    start = decode_cursor(cursor, ("request_id", "queue", "created_at"), {"queue": queue})
    with storage_errors():
        result = RequestModel.by_queue.query(
            queue,
            scan_index_forward=True,
            limit=PAGE_SIZE,
            page_size=PAGE_SIZE,
            last_evaluated_key=start,
        )
        items = [
            {
                "request_id": r.request_id,
                "type": r.type,
                "type_text": rules.TYPE_RU.get(r.type, r.type),
                "status": r.status,
                "created_at": r.created_at,
                "due_on": r.due_on,
                "overdue": _overdue(r),
            }
            for r in result
        ]
    return {"items": items, "next_cursor": encode_cursor(result.last_evaluated_key)}


def loan_queue(status: str | None, cursor: str | None) -> dict[str, Any]:
    """One page of loans in ``status``, oldest first: one Query on ``by_status``."""
    from chalicelib.storage.loans import LoanModel

    status = status or "submitted"
    if status not in LOAN_STATUSES:
        raise ValidationFailed({"status": "Укажите статус: " + ", ".join(LOAN_STATUSES) + "."})
    start = decode_cursor(
        cursor, ("account_id", "loan_id", "status", "created_at"), {"status": status}
    )
    with storage_errors():
        result = LoanModel.by_status.query(
            status,
            scan_index_forward=True,
            limit=PAGE_SIZE,
            page_size=PAGE_SIZE,
            last_evaluated_key=start,
        )
        items = [
            {
                "account_id": loan.account_id,
                "loan_id": loan.loan_id,
                "status": loan.status,
                "amount": int(loan.amount),
                "term_days": int(loan.term_days),
                "total_to_repay": loan.total,
                "created_at": loan.created_at,
                "due_date": loan.due_date,
            }
            for loan in result
        ]
    return {"items": items, "next_cursor": encode_cursor(result.last_evaluated_key)}


# --- the review view ------------------------------------------------------------


def _account_pii(account_id: str) -> tuple[AccountModel, dict[str, Any]] | None:
    from chalicelib.storage.accounts import AccountModel

    if not account_id:
        return None
    with storage_errors():
        try:
            account = AccountModel.get(account_id)
        except DoesNotExist:
            return None
    if account.status == "deleted":
        return None
    pii = unseal_pii(account_id, account.pii)
    return account, pii


def _iin_birth_part(iin: str) -> str:
    """An IIN with only its birth-date part (digits 1–6, YYMMDD) shown."""
    return f"{iin[:6]}{'•' * 6}"


def _masked_identifiers(account: AccountModel, pii: Mapping[str, Any]) -> dict[str, Any]:
    from chalicelib.domain.email import mask_email
    from chalicelib.domain.iin import mask_iin
    from chalicelib.domain.phone import mask_phone

    return {
        "account_id": account.account_id,
        "account_status": account.status,
        "iin": mask_iin(pii["iin"]),
        "phone": mask_phone(pii["phone"]),
        "email": mask_email(pii["email"]),
    }


def _full_name(pii: Mapping[str, Any]) -> dict[str, Any]:
    return {"surname": pii["surname"], "name": pii["name"], "patronymic": pii.get("patronymic")}


def _phone_change_part(
    staff: Principal, request: RequestModel, details: Mapping[str, Any]
) -> dict[str, Any]:
    """What a phone-change decision needs: identity against the ID card, the new number, photos.

    The current number stays masked: recognising it is enough to decide.
    """
    from chalicelib.domain.phone import mask_phone

    found = _account_pii(request.account_id)
    borrower = None
    if found is not None:
        account, pii = found
        card = pii.get("id_card") or {}
        borrower = {
            "account_id": account.account_id,
            "account_status": account.status,
            **_full_name(pii),
            "iin": _iin_birth_part(pii["iin"]),
            "birth_date": pii.get("birth_date"),
            "current_phone": mask_phone(pii["phone"]),
            "id_card": {
                "number": card.get("number"),
                "issued_on": card.get("issued_on"),
                "expires_on": card.get("expires_on"),
            },
        }
    documents = request.documents.as_dict() if request.documents else {}
    keys = {
        doc: str(documents[doc]["key"])
        for doc in rules.DOCUMENTS
        if doc in documents
        and documents[doc].get("key")
        and documents[doc].get("status") == rules.DOC_ACCEPTED
    }
    links: dict[str, str] = {}
    if keys:
        from chalicelib.services import documents as document_links

        # Recorded before a single link exists.
        audit.record(
            staff.account_id, "documents_viewed", request.account_id, target=request.request_id
        )
        # Checked copies only, served as an attachment of the checked image type.
        links = {
            doc: document_links.download_url(key, str(documents[doc].get("content_type") or ""))
            for doc, key in keys.items()
        }
    return {
        "new_phone": details.get("new_phone"),
        "phone_confirmed": request.phone_confirmed,
        "borrower": borrower,
        "documents": [
            {
                "document": doc,
                "title": rules.DOCUMENT_RU[doc],
                "status": documents[doc].get("status"),
                "reason": documents[doc].get("reason"),
                "download_url": links.get(doc),
            }
            for doc in rules.DOCUMENTS
            if doc in documents
        ],
        "face_match": request.face_match.as_dict() if request.face_match else None,
    }


def _deletion_part(request: RequestModel) -> dict[str, Any]:
    """What a deletion decision needs: who, and every loan with its status."""
    from chalicelib.services.cabinet import LOAN_STATUS_RU
    from chalicelib.services.requests import UNPAID_LOAN_STATUSES
    from chalicelib.storage.loans import loans_of

    found = _account_pii(request.account_id)
    borrower = None
    if found is not None:
        account, pii = found
        borrower = {**_masked_identifiers(account, pii), **_full_name(pii)}
    with storage_errors():
        loans = loans_of(request.account_id) if request.account_id else []
    return {
        "borrower": borrower,
        "loans": [
            {
                "loan_id": loan.loan_id,
                "status": loan.status,
                "status_text": LOAN_STATUS_RU.get(loan.status, loan.status),
                "amount": int(loan.amount),
                "total_to_repay": loan.total,
                "created_at": loan.created_at,
                "due_date": loan.due_date,
            }
            for loan in loans
        ],
        "unpaid_loans": sum(loan.status in UNPAID_LOAN_STATUSES for loan in loans),
    }


def _compromise_part(request: RequestModel, details: Mapping[str, Any]) -> dict[str, Any]:
    """What security needs: the report and, when it names an account, that account masked.

    A signed-in report names its account; a report made without signing in names
    the account its login matched, if any (``account_id`` is then set too). The
    login as typed is not shown: the account it matched is what a decision needs.
    """
    found = _account_pii(request.account_id)
    return {
        "signed_in": bool(details.get("signed_in")),
        "description": details.get("description"),
        "contact": details.get("contact"),
        "borrower": _masked_identifiers(*found) if found is not None else None,
    }


def review_view(staff: Principal, request_id: str) -> dict[str, Any]:
    """A request as its reviewer sees it; the view is audited before any data is read."""
    from chalicelib.services.requests import load, request_context

    request = load(request_id)
    _require_role(staff, ROLE_FOR_TYPE[request.type])
    audit.record(staff.account_id, "request_viewed", request.account_id, target=request_id)
    details = crypto.unseal(request.details, request_context(request_id)) if request.details else {}
    view: dict[str, Any] = {
        "request_id": request.request_id,
        "type": request.type,
        "type_text": rules.TYPE_RU.get(request.type, request.type),
        "channel": request.channel or "cabinet",
        "status": request.status,
        "status_text": rules.STATUS_RU.get(request.status, request.status),
        "account_id": request.account_id or None,
        "created_at": request.created_at,
        "updated_at": request.updated_at,
        "due_on": request.due_on,
        "overdue": _overdue(request),
        "decisions": list(rules.decisions_for(request.type))
        if request.status == rules.IN_REVIEW
        else [],
        "decided_at": request.decided_at,
        "decided_by": request.decided_by,
        "decision_reason": request.decision_reason,
    }
    if request.type == rules.PHONE_CHANGE:
        view |= _phone_change_part(staff, request, details)
    elif request.type == rules.DELETION:
        view |= _deletion_part(request)
    elif request.type == rules.COMPROMISE:
        view |= _compromise_part(request, details)
    return view


# --- audit reads ----------------------------------------------------------------


def audit_trail(staff: Principal, params: Mapping[str, str]) -> dict[str, Any]:
    """Entries about one account (support, security), about or by a staff member (admin).

    Audited before anything is read.
    """
    account_id, actor, cursor = params.get("account_id"), params.get("actor"), params.get("cursor")
    if bool(account_id) == bool(actor):
        raise ValidationFailed({"account_id": "Укажите либо account_id, либо actor."})
    if cursor is not None and (len(cursor) > 64 or not cursor.isascii()):
        raise BadRequest(MSG_CURSOR)
    if account_id:
        if account_id.startswith("staff#"):
            # A staff member's own trail (sign-ins, enrolment): admin only.
            _require_role(staff, ADMIN)
        elif not staff.roles & {SUPPORT, SECURITY}:
            raise Forbidden()
        if len(account_id) > 64:
            raise NotFound()
        audit.record(staff.account_id, "audit_viewed", account_id)
        page = audit.for_subject(account_id, cursor)
    else:
        assert actor is not None
        _require_role(staff, ADMIN)
        username = actor.removeprefix("staff#")
        if username == audit.SYSTEM:
            who = audit.SYSTEM
        elif USERNAME.fullmatch(username):
            who = audit.staff_subject(username)
        else:
            raise ValidationFailed({"actor": MSG_USERNAME})
        audit.record(staff.account_id, "audit_viewed", who)
        page = audit.for_actor(who, cursor)
    return {"items": page.items, "next_cursor": page.next_cursor}


def create_staff_from(staff: Principal, data: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /admin/v1/staff``: an admin creates a member, who then enrols through the link."""
    _require_role(staff, ADMIN)
    form = Form(data, ("username", "roles", "password"))
    username = form.field("username", string(64))
    roles = form.field("roles", _role_list)
    if "password" in data:
        form.errors["password"] = MSG_SET_BY_MEMBER
    form.raise_if_invalid()
    assert username is not None and roles is not None
    return invite_staff(username, roles, staff.account_id)


def _role_list(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        raise InvalidValue(MSG_ROLES)
    try:
        return sorted(_check_roles(raw))
    except ValidationFailed as exc:
        raise InvalidValue(exc.fields["roles"]) from None
