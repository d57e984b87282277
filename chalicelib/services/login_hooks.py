"""What happens after a borrower signs in successfully: new-device notice, consent check.

A *device* is a keyed HMAC of the User-Agent (the ``session`` sub-key of the
index key), so the account stores no readable browser data and a stolen table
does not tell which browsers a borrower uses. The account keeps the newest
``known_devices_max`` fingerprints. A sign-in from any other one sends one SMS
to the phone of record and adds the fingerprint (one UpdateItem, only then).
The SMS names the device by browser and OS family only (``domain.devices``:
never the client's own text), goes through the number's notice budgets, and
is merged: at most one per device family per account per day.

The sign-in path stays lean: a known device costs no KMS call and no write;
the phone is decrypted only when a notice is due. A notice that cannot be
queued does not refuse the sign-in: the fingerprint is then not recorded, so
the next sign-in from that device tries again. The fingerprints are also in each
identifier guard's sign-in copy (``storage.accounts``), so checking them reads nothing.

When the configured consent version differs from the account's, sign-in creates
the session marked ``consent_pending`` (see ``auth.login``) and the cabinet answers
``consent_required`` until the borrower accepts the current text (``POST /v1/me/consent``).
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock
from chalicelib.adapters import crypto
from chalicelib.config import get_settings
from chalicelib.domain.devices import device_family
from chalicelib.i18n import N_, Msg, normalise
from chalicelib.logs import logger
from chalicelib.services import notices
from chalicelib.storage import tx
from chalicelib.storage.accounts import AccountModel, unseal_pii, update_with_login

if TYPE_CHECKING:
    from chalicelib.services.codes import NoticeOutcome
    from chalicelib.services.sessions import NewSession

#: What the hook reads from the account; the sign-in may already have loaded them.
HOOK_ATTRIBUTES = ("known_devices", "consent_version")


def device_fingerprint(user_agent: str | None) -> str:
    """The keyed fingerprint of a browser (its User-Agent as the session stores it)."""
    text = (user_agent or "")[:200]
    mac = hmac.new(crypto.derived_key("session"), b"device:" + text.encode(), "sha256")
    return mac.hexdigest()[:32]


def _hook_view(account: AccountModel) -> AccountModel:
    """``account`` if the sign-in loaded what the hook needs, else a projected read of it.

    ``consent_version`` is present on every account, so its absence means the
    sign-in's projection left these attributes out.
    """
    if "consent_version" in account.attribute_values:
        return account
    return AccountModel.get(account.account_id, attributes_to_get=list(HOOK_ATTRIBUTES))


def after_sign_in(account: AccountModel, session: NewSession, user_agent: str | None) -> None:
    """Run the post-sign-in checks for ``account`` (consent is decided when the session is made)."""
    view = _hook_view(account)
    fingerprint = device_fingerprint(user_agent)
    known = list(view.known_devices or [])
    if fingerprint in known:
        return
    try:
        outcome = _send_new_device_notice(account.account_id, user_agent)
    except Exception as exc:  # the sign-in itself succeeded: never refuse it for a notice
        logger.warning(
            "new-device notice not sent",
            extra={"account_id": account.account_id, "error": type(exc).__name__},
        )
        return
    if outcome == "over_budget":
        return  # not told: the next sign-in from it tries again
    remember_device(account.account_id, fingerprint, known)


def remember_device(account_id: str, fingerprint: str, known: list[str]) -> None:
    """Add ``fingerprint`` to the account's known devices, dropping the oldest over the cap.

    The account and its guards' sign-in copy change in one transaction; the guards'
    keys cost one read (only on this path: a sign-in from a new device).
    """

    limit = max(1, get_settings().known_devices_max)

    def actions(m: Any) -> list[Any]:
        if len(known) + 1 > limit:
            return [m.known_devices.set([*known, fingerprint][-limit:])]
        # Appends atomically: two sign-ins from two new devices both stay known.
        return [m.known_devices.set((m.known_devices | []).append([fingerprint]))]

    try:
        item = AccountModel.get(account_id, attributes_to_get=list(_INDEXES))
    except DoesNotExist:
        return  # the account is gone
    # Any non-None version makes pynamodb ADD 1 to the stored one (None would SET it
    # to 1); without the condition, concurrent versioned writers simply re-read.
    item.version = 0
    try:
        with tx.write(on_cancel=_Gone) as t:
            update_with_login(t, item, actions, condition=AccountModel.account_id.exists())
    except _Gone:
        return  # the account is gone (or an identifier moved meanwhile: tried again next time)


class _Gone(Exception):
    """The account or one of its guards changed under the update."""


_INDEXES = ("account_id", "iin_index", "phone_index", "email_index")


NEW_DEVICE_SMS = N_(
    "Hava: вход в личный кабинет с нового устройства ({device}, {moment}). "
    "Если это были не вы — срочно смените пароль или сообщите нам через "
    "«Не получается зайти» на странице входа."
)


def _send_new_device_notice(account_id: str, user_agent: str | None) -> NoticeOutcome:

    family = device_family(user_agent)
    account = AccountModel.get(account_id, attributes_to_get=["pii", "language"])
    pii = unseal_pii(account_id, account.pii)
    moment = (
        datetime.fromtimestamp(clock.epoch(), UTC)
        .astimezone(clock.KZ_TZ)
        .strftime("%d.%m.%Y %H:%M")
    )
    return notices.sms(
        pii["phone"],
        Msg(NEW_DEVICE_SMS, device=family, moment=moment),
        language=normalise(account.language),
        # Keyed hash: the throttle table does not show which browsers a borrower uses.
        merge_key=crypto.blind_index("device-notice", f"{account_id}:{family}"),
    )
