"""The borrower's personal-data rights (Law 94-V): consent and the copy of their data.

- **Consent**: the current text is public; accepting it records version and
  time on the account, clears ``consent_pending`` on the account's sessions and
  is audited (``consent_accepted``).
- **Export**: one JSON document of everything held about the borrower, personal
  data unmasked. The export is itself audited (``data_exported``, recorded
  before anything is read, so an export that cannot be audited is not made),
  rate-limited (each decrypts all the borrower's data) and never logged.
  Requests filed without signing in («Не получается зайти») are listed without
  their details: whoever filed them may be someone else, and the contact they
  left is that person's data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib import clock
from chalicelib.config import get_settings
from chalicelib.domain.consent import LAW, consent_text
from chalicelib.errors import ValidationFailed
from chalicelib.i18n import N_, Msg
from chalicelib.services import audit, cabinet
from chalicelib.services.appeals import common
from chalicelib.services.cabinet import get_account
from chalicelib.services.forms import Form, string
from chalicelib.services.sessions import Principal, active_sessions, clear_consent_pending
from chalicelib.storage import throttles, tx
from chalicelib.storage.accounts import AccountModel, unseal_pii, update_with_login
from chalicelib.storage.appeals import AppealModel

EXPORT_FORMAT = "hava-export/1"

CONSENT_VERSION = N_("Примите действующую редакцию согласия ({version}).")


def current_consent() -> dict[str, str]:
    """The consent text every borrower must have accepted: version, law and wording."""
    version = get_settings().consent_version
    text = consent_text(version)
    if text is None:
        raise RuntimeError(f"HAVA_CONSENT_VERSION={version} has no text in domain.consent.")
    return {"version": version, "law": LAW, "text": text}


def accept_consent(principal: Principal, data: Mapping[str, Any]) -> dict[str, Any]:
    """Record that the borrower accepted the current consent text (only that version)."""
    form = Form(data, ("version",))
    version = form.field("version", string(32))
    form.raise_if_invalid()
    current = current_consent()["version"]
    if version != current:
        raise ValidationFailed(
            {"version": Msg(CONSENT_VERSION, version=current)},
        )
    account = get_account(principal.account_id)
    if account.consent_version != current:
        moment = clock.iso(clock.now())
        with tx.write() as t:
            update_with_login(
                t,
                account,
                lambda m: [m.consent_version.set(current)],
                other_actions=[AccountModel.consent_at.set(moment)],
            )
        account.consent_version, account.consent_at = current, moment
        audit.record(principal.account_id, "consent_accepted", principal.account_id, target=current)
    clear_consent_pending(principal.account_id)
    return {"version": account.consent_version, "accepted_at": account.consent_at}


def _all_audit(account_id: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = audit.for_subject(account_id, cursor)
        entries.extend(page.items)
        if page.next_cursor is None:
            return entries
        cursor = page.next_cursor


def _requests(account_id: str) -> list[dict[str, Any]]:
    items = list(AppealModel.by_account.query(account_id))
    views = []
    for item in items:
        view = common.view(item)
        details = common.details_of(item) if item.details else None
        if details is not None and details.get("signed_in") is False:
            view["details"] = None
            view["details_withheld"] = "Подано без входа в кабинет: может содержать чужие данные."
        else:
            view["details"] = details
        views.append(view)
    return views


def export(principal: Principal) -> dict[str, Any]:
    """Everything held about the borrower, as one JSON-able document."""
    # lazy: services.staff_accounts loads 5 chalicelib modules (≈ 26 ms CPU at cold start);
    # only export() needs it
    from chalicelib.services.staff_accounts import for_borrowers

    account_id = principal.account_id
    account = cabinet.get_account(account_id)
    throttles.consume(f"export:{account_id}", get_settings().exports_per_hour, 3600)
    audit.record(account_id, "data_exported", account_id)
    pii = unseal_pii(account_id, account.pii)
    return {
        "format": EXPORT_FORMAT,
        "generated_at": clock.iso(clock.now()),
        "operator": "Hava",
        "law": LAW,
        "account": {
            "account_id": account.account_id,
            "status": account.status,
            "created_at": account.created_at,
            "must_change_password": bool(account.must_change_password),
            "known_devices": len(account.known_devices or []),
        },
        "personal_data": pii,
        "consent": {
            "version": account.consent_version,
            "accepted_at": account.consent_at,
            "text": consent_text(account.consent_version),
        },
        "loans": cabinet.loans(account_id),
        "requests": _requests(account_id),
        "sessions": active_sessions(account_id, principal.token_hash),
        # Staff appear by role and pseudonymous number, never by login name.
        "audit": for_borrowers(_all_audit(account_id)),
    }
