"""Borrower sessions: opaque 256-bit tokens, stored only as their SHA-256.

Idle and absolute timeouts are checked on every request (DynamoDB TTL is only
the janitor); deleting the item revokes the session at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.clock import epoch, iso, now
from chalicelib.config import get_settings
from chalicelib.errors import Unauthenticated
from chalicelib.storage.base import storage_errors
from chalicelib.storage.sessions import SessionModel

#: ``last_seen_at`` is refreshed at most this often (one write per minute, not per request).
TOUCH_EVERY_SECONDS = 60


BORROWER = "borrower"
STAFF = "staff"


@dataclass(frozen=True)
class Principal:
    """Who signed in: a borrower (``account_id``) or staff (``staff#<username>``, ``roles``)."""

    account_id: str
    token_hash: str
    kind: str = BORROWER
    roles: frozenset[str] = frozenset()
    #: The session may only change the password (``must_change_password`` at sign-in).
    restricted: bool = False


@dataclass(frozen=True)
class NewSession:
    """A session just created; ``token`` is shown to the client once."""

    token: str
    model: SessionModel

    def as_dict(self) -> dict[str, object]:
        """The API's view of a new session."""
        return {
            "token": self.token,
            "token_type": "Bearer",
            "expires_at": iso(self.model.expires_at),
            "idle_timeout_seconds": idle_seconds(self.model.kind),
            "must_change_password": bool(self.model.restricted),
        }


def idle_seconds(kind: str) -> int:
    """Idle timeout of a session kind (staff sessions are short)."""
    settings = get_settings()
    return settings.staff_session_idle_seconds if kind == STAFF else settings.session_idle_seconds


def token_hash(token: str) -> str:
    """The storage key of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def build_session(
    account_id: str,
    user_agent: str | None,
    *,
    kind: str = BORROWER,
    roles: frozenset[str] = frozenset(),
    restricted: bool = False,
) -> NewSession:
    """A new session item (not yet saved: callers save it, alone or in a transaction)."""
    settings = get_settings()
    lifetime = (
        settings.staff_session_absolute_seconds
        if kind == STAFF
        else settings.session_absolute_seconds
    )
    token = secrets.token_urlsafe(32)
    moment = now()
    model = SessionModel(
        token_hash=token_hash(token),
        account_id=account_id,
        created_at=iso(moment) + "#" + secrets.token_hex(4),
        last_seen_at=epoch(),
        expires_at=datetime.fromtimestamp(epoch() + lifetime, UTC),
        user_agent=(user_agent or "")[:200] or None,
        kind=kind,
        roles=set(roles) or None,
        restricted=restricted,
    )
    return NewSession(token=token, model=model)


def start_session(
    account_id: str,
    user_agent: str | None,
    *,
    kind: str = BORROWER,
    roles: frozenset[str] = frozenset(),
    restricted: bool = False,
) -> NewSession:
    """Create and save a session."""
    session = build_session(account_id, user_agent, kind=kind, roles=roles, restricted=restricted)
    with storage_errors():
        session.model.save(condition=SessionModel.token_hash.does_not_exist())
    return session


def authenticate(token: str | None, kind: str = BORROWER) -> Principal:
    """The principal of a bearer token of ``kind``, or ``Unauthenticated``."""
    if not token or len(token) > 128:
        raise Unauthenticated()
    key = token_hash(token)
    with storage_errors():
        try:
            session = SessionModel.get(key)
        except DoesNotExist:
            raise Unauthenticated() from None
    if session.kind != kind:
        raise Unauthenticated()
    current = epoch()
    if (
        session.expires_at.timestamp() <= current
        or session.last_seen_at + idle_seconds(kind) <= current
    ):
        end_session(key)
        raise Unauthenticated()
    if current - session.last_seen_at >= TOUCH_EVERY_SECONDS:
        with storage_errors():
            try:
                # The condition keeps a concurrently revoked session revoked.
                session.update(
                    actions=[SessionModel.last_seen_at.set(current)],
                    condition=SessionModel.token_hash.exists(),
                )
            except UpdateError as exc:
                raise Unauthenticated() from exc
    return Principal(
        account_id=session.account_id,
        token_hash=key,
        kind=session.kind,
        roles=frozenset(session.roles or ()),
        restricted=bool(session.restricted),
    )


def end_session(key: str) -> None:
    """Revoke one session (idempotent)."""
    with storage_errors():
        SessionModel(token_hash=key).delete()


def end_all_sessions(account_id: str, keep: str | None = None) -> int:
    """Revoke every session of an account (but ``keep``, a token hash); returns how many ended."""
    ended = 0
    with storage_errors():
        for session in SessionModel.by_account.query(account_id):
            if session.token_hash != keep:
                SessionModel(token_hash=session.token_hash).delete()
                ended += 1
    return ended


def lift_restriction(key: str) -> None:
    """The session may do everything again (after the password change)."""
    with storage_errors():
        try:
            SessionModel(token_hash=key).update(
                actions=[SessionModel.restricted.set(False)],
                condition=SessionModel.token_hash.exists(),
            )
        except UpdateError as exc:
            raise Unauthenticated() from exc
