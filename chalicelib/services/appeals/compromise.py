"""Break-in report: a borrower's appeal («обращение») to security.

Three ways in: signed in (every session ends now and the password must be
recovered by SMS code), without signing in («Не получается зайти», the same
answer whether or not the login exists) and by e-mail (a proven address is the
signed-in report, any other the anonymous one). Security staff resolve it;
locking the account is ``services.account_locks``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib import i18n
from chalicelib.adapters import crypto
from chalicelib.config import get_settings
from chalicelib.domain import appeals as rules
from chalicelib.domain.email import normalize_email
from chalicelib.domain.phone import normalize_kz_mobile
from chalicelib.errors import InvalidValue
from chalicelib.i18n import N_
from chalicelib.services import audit, notices
from chalicelib.services.appeals import by_email, common, outcome
from chalicelib.services.cabinet import get_account
from chalicelib.services.forms import Form, string
from chalicelib.services.sessions import Principal, end_all_sessions
from chalicelib.services.staff_accounts import SECURITY
from chalicelib.storage import throttles, tx
from chalicelib.storage.accounts import IdentifierModel, account_pii, update_with_login
from chalicelib.storage.appeals import AppealModel
from chalicelib.storage.audit import AuditModel

COMPROMISE_SMS = N_(
    "Hava: по вашему сообщению о взломе все сеансы кабинета завершены, прежний "
    "пароль больше не действует. Задайте новый: «Забыли пароль?» на странице входа."
)
ANONYMOUS_REPORT_FIELDS = ("login", "contact", "description")


def report(principal_account_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Signed-in report: every session ends now, the password must be recovered by SMS code
    (the old one opens nothing), security is told."""
    form = Form(data, ("description",))
    description = form.field("description", string(2000), required=False)
    form.raise_if_invalid()
    account = get_account(principal_account_id)
    with tx.write() as t:
        update_with_login(t, account, lambda m: [m.must_change_password.set(True)])
    end_all_sessions(principal_account_id)
    appeal = common.new_appeal(
        rules.COMPROMISE,
        rules.IN_REVIEW,
        principal_account_id,
        {"description": description or "", "signed_in": True},
    )
    common.save_unguarded(appeal)
    audit.record(
        principal_account_id, "compromise_reported", principal_account_id, target=appeal.request_id
    )
    notices.sms(
        account_pii(account)["phone"],
        COMPROMISE_SMS,
        language=i18n.normalise(account.language),
    )
    return common.view(appeal)


def report_anonymously(data: Mapping[str, Any], client_ip: str) -> dict[str, str]:
    """«Не получается зайти»: the same answer whether or not the login exists."""
    # lazy: services.auth, services.codes load 7 chalicelib modules (≈ 20 ms CPU at cold start);
    # only report_anonymously() needs it
    from chalicelib.services.auth import identifier_index
    from chalicelib.services.codes import address_key

    limit = get_settings().compromise_reports_per_ip_per_hour
    throttles.consume(f"compromise-ip:{address_key(client_ip)}", limit, 3600)
    form = Form(data, ANONYMOUS_REPORT_FIELDS)
    login = form.field("login", string(254))
    contact = form.field("contact", _contact)
    description = form.field("description", string(2000))
    if description is not None and len(description) < 10:
        form.fail("description", N_("Опишите, что случилось (не меньше 10 символов)."))
    form.raise_if_invalid()
    assert login is not None and contact is not None
    index = identifier_index(login)
    account_id = None
    if index is not None:
        try:
            account_id = IdentifierModel.get(index).account_id
        except DoesNotExist:
            account_id = None
    appeal = common.new_appeal(
        rules.COMPROMISE,
        rules.IN_REVIEW,
        account_id,
        {"login": login, "contact": contact, "description": description, "signed_in": False},
    )
    common.save_unguarded(appeal)
    audit.record("anonymous", "compromise_reported", account_id or "none", target=appeal.request_id)
    return {
        "message": N_(
            "Сообщение получено. Специалист службы безопасности свяжется с вами "
            "по указанному контакту. Если вы ещё можете войти — смените пароль."
        )
    }


def _contact(raw: Any) -> str:
    """A Kazakh mobile number or an e-mail address to reach the reporter."""

    text = string(254)(raw)
    try:
        return normalize_email(text) if "@" in text else normalize_kz_mobile(text)
    except InvalidValue:
        raise InvalidValue(
            N_("Укажите мобильный номер или e-mail, по которому с вами связаться.")
        ) from None


def report_by_email(account_id: str | None, address: str, text: str) -> None:
    """A proven address: the cabinet's report. Anyone else: the anonymous one (rate-limited)."""
    # The form refuses control characters; a letter has line breaks and may have more.
    flat = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} else ch
        for ch in unicodedata.normalize("NFC", text or "")
    )
    description = " ".join(flat.split())[:2000] or "Сообщение о взломе по электронной почте."
    if account_id is not None:
        report(account_id, {"description": description})
        return
    limit = get_settings().compromise_reports_per_ip_per_hour
    throttles.consume(f"compromise-mail:{crypto.blind_index('email', address)}", limit, 3600)
    appeal = common.new_appeal(
        rules.COMPROMISE,
        rules.IN_REVIEW,
        None,
        {"login": address, "contact": address, "description": description, "signed_in": False},
    )
    appeal.channel = by_email.CHANNEL_EMAIL
    common.save_unguarded(appeal)
    audit.record("anonymous", "compromise_reported", "none", target=appeal.request_id)


def review_part(
    staff: Principal, appeal: AppealModel, details: Mapping[str, Any]
) -> dict[str, Any]:
    """What security needs: the report and, when it names an account, that account masked.

    A signed-in report names its account; a report made without signing in names
    the account its login matched, if any (``account_id`` is then set too). The
    login as typed is not shown: the account it matched is what a decision needs.
    """
    found = common.live_borrower(appeal.account_id)
    return {
        "signed_in": bool(details.get("signed_in")),
        "description": details.get("description"),
        "contact": details.get("contact"),
        "borrower": common.masked_identifiers(*found) if found is not None else None,
    }


def commit_resolve(
    appeal: AppealModel, reason: str | None, staff: Principal, entry: AuditModel
) -> None:
    def body(t: tx.Write) -> None:
        closing = outcome.closing_actions(rules.RESOLVED, reason, staff)
        outcome.close(t, appeal, entry, closing, release_guard=False)

    outcome.commit(body)


KIND = outcome.AppealKind(
    type=rules.COMPROMISE,
    role=SECURITY,
    outcomes={rules.RESOLVED: (commit_resolve, outcome.nothing_after)},
    review_part=review_part,
)
