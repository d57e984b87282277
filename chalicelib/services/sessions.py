"""Borrower sessions: opaque 256-bit tokens, stored only as their SHA-256.

Idle and absolute timeouts are checked on every request (DynamoDB TTL is only
the janitor); deleting the item revokes the session at once. The borrower's
session list names sessions by a random public ``session_id``: the token hash
(the item key) never leaves the server.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.models import Model

from chalicelib import clock
from chalicelib.config import get_settings
from chalicelib.errors import NotFound, Unauthenticated
from chalicelib.i18n import N_
from chalicelib.storage import tx
from chalicelib.storage.base import new_id
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
    #: Opened with a password security declared suspect (sessions from before sign-in
    #: stopped opening them): it may only sign out; everything else answers 403.
    restricted: bool = False
    #: A newer consent text must be accepted before the cabinet answers.
    consent_pending: bool = False


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
            "expires_at": clock.iso(self.model.expires_at),
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
    client_ip: str | None = None,
    consent_pending: bool = False,
) -> NewSession:
    """A new session item (not yet saved: callers save it, alone or in a transaction)."""
    settings = get_settings()
    lifetime = (
        settings.staff_session_absolute_seconds
        if kind == STAFF
        else settings.session_absolute_seconds
    )
    token = secrets.token_urlsafe(32)
    moment = clock.now()
    model = SessionModel(
        token_hash=token_hash(token),
        account_id=account_id,
        created_at=clock.iso(moment) + "#" + secrets.token_hex(4),
        last_seen_at=clock.epoch(),
        expires_at=datetime.fromtimestamp(clock.epoch() + lifetime, UTC),
        user_agent=(user_agent or "")[:200] or None,
        kind=kind,
        roles=set(roles) or None,
        restricted=restricted,
        session_id=new_id("ses"),
        client_ip=(client_ip or "")[:64] or None,
        consent_pending=consent_pending,
    )
    return NewSession(token=token, model=model)


def start_session(
    account_id: str,
    user_agent: str | None,
    *,
    kind: str = BORROWER,
    roles: frozenset[str] = frozenset(),
    restricted: bool = False,
    client_ip: str | None = None,
    consent_pending: bool = False,
    forget: Sequence[Model] = (),
) -> NewSession:
    """Create and save a session; the items of ``forget`` are deleted in the same write.

    One call either way: a ``PutItem``, or with ``forget`` one ``TransactWriteItems``
    (sign-in forgets the login's failure counter so, instead of a call of its own).
    """
    session = build_session(
        account_id,
        user_agent,
        kind=kind,
        roles=roles,
        restricted=restricted,
        client_ip=client_ip,
        consent_pending=consent_pending,
    )
    condition = SessionModel.token_hash.does_not_exist()
    if not forget:
        session.model.save(condition=condition)
        return session
    with tx.write() as t:
        t.put(session.model, condition)
        for item in forget:
            t.delete(item)
    return session


def authenticate(token: str | None, kind: str = BORROWER) -> Principal:
    """The principal of a bearer token of ``kind``, or ``Unauthenticated``."""
    if not token or len(token) > 128:
        raise Unauthenticated()
    key = token_hash(token)
    try:
        session = SessionModel.get(key)
    except DoesNotExist:
        raise Unauthenticated() from None
    if session.kind != kind:
        raise Unauthenticated()
    current = clock.epoch()
    if not is_alive(session, current):
        end_session(key)
        raise Unauthenticated()
    if current - session.last_seen_at >= TOUCH_EVERY_SECONDS:
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
        consent_pending=bool(session.consent_pending),
    )


def is_alive(session: SessionModel, current: int) -> bool:
    """Within both the absolute lifetime and the idle timeout at ``current`` (epoch seconds)."""
    return (
        session.expires_at.timestamp() > current
        and session.last_seen_at + idle_seconds(session.kind) > current
    )


def end_session(key: str) -> None:
    """Revoke one session (idempotent)."""
    SessionModel(token_hash=key).delete()


def end_all_sessions(account_id: str, keep: str | None = None) -> int:
    """Revoke every session of an account (but ``keep``, a token hash); returns how many ended."""
    ended = 0
    for session in SessionModel.by_account.query(account_id):
        if session.token_hash != keep:
            SessionModel(token_hash=session.token_hash).delete()
            ended += 1
    return ended


# --- the borrower's session list --------------------------------------------------

#: (marker in the User-Agent, name shown, marker its major version follows), first match wins:
#: Edge, Opera and Yandex also say "Chrome", and every Chromium says "Safari".
_BROWSERS = (
    ("YaBrowser", "Яндекс Браузер", "YaBrowser/"),
    ("Edg", "Edge", "Edg/"),
    ("OPR", "Opera", "OPR/"),
    ("SamsungBrowser", "Samsung Internet", "SamsungBrowser/"),
    ("Firefox", "Firefox", "Firefox/"),
    ("FxiOS", "Firefox", "FxiOS/"),
    ("CriOS", "Chrome", "CriOS/"),
    ("Chrome", "Chrome", "Chrome/"),
    ("Safari", "Safari", "Version/"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def describe_device(user_agent: str | None) -> str:
    """A short label of a User-Agent, e.g. «Chrome 120, Android»; its first 60 characters else."""
    text = user_agent or ""
    browser = None
    for marker, name, version_marker in _BROWSERS:
        if marker in text:
            version = re.search(re.escape(version_marker) + r"(\d+)", text)
            browser = f"{name} {version.group(1)}" if version else name
            break
    system = next((name for marker, name in _SYSTEMS if marker in text), None)
    if browser and system:
        return f"{browser}, {system}"
    return browser or system or text[:60] or "Неизвестное устройство"


def _session_view(session: SessionModel, current_hash: str | None) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "device": describe_device(session.user_agent),
        "user_agent": session.user_agent,
        "ip_address": session.client_ip,
        "created_at": session.created_at.split("#", 1)[0],
        "last_used_at": clock.iso(datetime.fromtimestamp(session.last_seen_at, UTC)),
        "expires_at": clock.iso(session.expires_at),
        "current": session.token_hash == current_hash,
    }


def _live_sessions(account_id: str) -> list[SessionModel]:
    """The account's borrower sessions still within both timeouts, oldest first.

    Sessions without a public id (made before it existed) are left out: nothing
    about them may be derived from the token hash; they end by their timeouts.
    """
    current = clock.epoch()
    items = list(SessionModel.by_account.query(account_id))
    return [s for s in items if s.kind == BORROWER and s.session_id and is_alive(s, current)]


def active_sessions(account_id: str, current_hash: str | None) -> list[dict[str, Any]]:
    """The borrower's active sessions, the caller's own marked ``current``."""
    return [_session_view(s, current_hash) for s in _live_sessions(account_id)]


def end_session_by_id(account_id: str, session_id: str) -> None:
    """End one of the borrower's own sessions; any other id is ``NotFound``."""
    if not isinstance(session_id, str) or not session_id or len(session_id) > 64:
        raise NotFound(N_("Сеанс не найден."))
    match = next((s for s in _live_sessions(account_id) if s.session_id == session_id), None)
    if match is None:
        raise NotFound(N_("Сеанс не найден."))
    end_session(match.token_hash)


def clear_consent_pending(account_id: str) -> None:
    """Every session of the account may use the cabinet again (consent accepted)."""
    for session in SessionModel.by_account.query(account_id):
        if session.consent_pending:
            try:
                session.update(
                    actions=[SessionModel.consent_pending.set(False)],
                    condition=SessionModel.token_hash.exists(),
                )
            except UpdateError:
                continue  # ended meanwhile
