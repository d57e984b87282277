"""What every staff decision on an appeal does, and the interface each appeal type offers.

A decision commits in one transaction (the appeal closed, its audit entry, the
type's own changes); what follows it is idempotent and may run again when the
same member repeats a decision that committed but did not finish.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from chalicelib import clock, i18n
from chalicelib.domain import requests as rules
from chalicelib.errors import Conflict, NotFound
from chalicelib.i18n import N_, Msg
from chalicelib.services import notices
from chalicelib.services.sessions import Principal
from chalicelib.storage import tx
from chalicelib.storage.accounts import AccountModel, IdentifierModel, account_pii, open_guard_key
from chalicelib.storage.audit import AuditModel
from chalicelib.storage.requests import RequestModel

CONCURRENT = "Заявку уже рассмотрел другой сотрудник. Обновите страницу."
REJECTED_SMS = N_("Hava: заявка «{type}» отклонена. Причина: {reason}")

#: Commits one outcome: ``(appeal, what the borrower reads, staff, audit entry)``.
Commit = Callable[[RequestModel, str | None, Principal, AuditModel], None]
#: What follows a committed outcome (idempotent).
After = Callable[[RequestModel], None]
#: The type's part of the desk's review view: ``(staff, appeal, opened details)``.
ReviewPart = Callable[[Principal, RequestModel, Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class AppealKind:
    """One appeal type as the desk and the decision see it."""

    type: str
    #: The staff role that reviews and decides it.
    role: str
    #: Per outcome (``approved``, ``rejected``, ``resolved``): its commit and its follow-up.
    outcomes: Mapping[str, tuple[Commit, After]]
    review_part: ReviewPart


def staff_name(staff: Principal) -> str:
    return staff.account_id


def account_of(account_id: str | None) -> AccountModel:
    """The appeal's account (strongly consistent), or ``NotFound``."""
    if not account_id:
        raise NotFound("У заявки нет учётной записи.")
    try:
        return AccountModel.get(account_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound("Учётная запись не найдена.") from None


def guard_item(appeal: RequestModel) -> IdentifierModel:
    """The appeal's one-open-appeal guard, to delete when it closes."""
    return IdentifierModel(lookup=open_guard_key(appeal.type, appeal.account_id or ""))


def closing_actions(status: str, reason: str | None, staff: Principal) -> list[Action]:
    """``reason``: what the borrower reads (rejections only); staff notes never go here."""
    moment = clock.iso(clock.now())
    return [
        RequestModel.status.set(status),
        RequestModel.queue.remove(),
        RequestModel.decision_reason.set(reason)
        if reason
        else RequestModel.decision_reason.remove(),
        RequestModel.decided_by.set(staff_name(staff)),
        RequestModel.decided_at.set(moment),
        RequestModel.updated_at.set(moment),
    ]


def commit(tx_body: Callable[[tx.Write], None]) -> None:
    """Run a decision's transaction; a failed condition means someone else decided first."""
    with tx.write(on_cancel=Conflict(CONCURRENT)) as t:
        tx_body(t)


def save_entry(t: tx.Write, entry: AuditModel) -> None:
    t.put(entry, condition=AuditModel.entry_id.does_not_exist())


def close(
    t: tx.Write,
    appeal: RequestModel,
    entry: AuditModel,
    actions: list[Action],
    *,
    release_guard: bool = True,
) -> None:
    """In a decision's transaction: the guard goes, the audit entry is written, the appeal
    closes (``actions``: its ``closing_actions`` and what the type adds)."""
    if release_guard:
        t.delete(guard_item(appeal))
    save_entry(t, entry)
    t.update(appeal, actions=actions)


def commit_reject(
    appeal: RequestModel, reason: str | None, staff: Principal, entry: AuditModel
) -> None:
    """A rejection: the appeal closes with the borrower's reason; its guard goes."""

    def body(t: tx.Write) -> None:
        close(t, appeal, entry, closing_actions(rules.REJECTED, reason, staff))

    commit(body)


def notify_rejected(appeal: RequestModel) -> None:
    """The rejection SMS with the listed reason, in the account's language."""
    account = account_of(appeal.account_id)
    notices.sms(
        account_pii(account)["phone"],
        # The reason is a listed borrower text (domain/requests.py REJECTION_REASONS): a
        # catalogue entry, so Msg renders it in the account's language.
        Msg(
            REJECTED_SMS,
            type=rules.TYPE_RU[appeal.type],
            reason=Msg(appeal.decision_reason) if appeal.decision_reason else "",
        ),
        language=i18n.normalise(account.language),
    )


def nothing_after(_: RequestModel) -> None:
    return None
