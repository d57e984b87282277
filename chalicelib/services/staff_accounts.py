"""Staff accounts: roles, enrolment, TOTP sign-in, sign-out, listing and disabling members.

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

The desk itself (queue, review view) is ``services.desk``; the audit trail as
staff read it is ``services.audit_trail``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib import clock
from chalicelib.adapters import crypto
from chalicelib.adapters.passwords import burn_verify, hash_password, verify_password
from chalicelib.config import get_settings
from chalicelib.domain.password import check_password, normalize_password
from chalicelib.errors import (
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
from chalicelib.storage import throttles
from chalicelib.storage.staff import MEMBER, StaffModel, member_and_failures

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
    expires = int(clock.epoch()) + get_settings().staff_enrolment_seconds
    return token, _token_hash(token), expires


def _invitation(username: str, roles: Iterable[str], token: str, expires: int) -> dict[str, Any]:
    return {
        "username": username,
        "roles": sorted(roles),
        "status": PENDING,
        "enrolment_token": token,
        "enrolment_link": f"staff#enrol={token}",
        "enrolment_expires_at": clock.iso(datetime.fromtimestamp(expires, UTC)),
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
        created_at=clock.iso(clock.now()),
        created_by=created_by,
        enrolment_hash=token_hash,
        enrolment_expires_at=expires,
        totp_failures=0,
        last_totp_step=0,
    )
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
    # lazy: services.auth loads pyotp (≈ 42 ms CPU at cold start); only enrol() needs it
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
            & (StaffModel.enrolment_expires_at > int(clock.epoch()))
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
    # lazy: pyotp ≈ 42 ms CPU at cold start; only _matching_step() needs it
    import pyotp

    totp = pyotp.TOTP(totp_secret)
    current = int(clock.epoch() // totp.interval)
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
    # lazy: services.auth loads 13 chalicelib modules (≈ 20 ms CPU at cold start);
    # only staff_login() needs it
    from chalicelib.services.auth import limit_address

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


def require_role(staff: Principal, role: str) -> None:
    """``Forbidden`` unless ``staff`` holds ``role``."""
    if role not in staff.roles:
        raise Forbidden()


def list_staff() -> list[dict[str, Any]]:
    """Every staff member, without secrets: one Query on ``by_kind`` (no Scan)."""
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


def create_staff_from(staff: Principal, data: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /admin/v1/staff``: an admin creates a member, who then enrols through the link."""
    require_role(staff, ADMIN)
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
