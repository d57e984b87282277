"""The e-mail channel of appeals: which account an address is, an appeal id per message,
and staff relabelling the photos of a letter.

``workers.inbound`` decides whether a message is trusted and calls the type modules
(``phone_change.file_by_email``, ``compromise.report_by_email``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib import clock
from chalicelib.adapters import crypto
from chalicelib.domain import appeals as rules
from chalicelib.errors import Conflict, ValidationFailed
from chalicelib.services import audit
from chalicelib.services.appeals import common
from chalicelib.services.cabinet import get_account
from chalicelib.storage.accounts import IdentifierModel
from chalicelib.storage.appeals import AppealModel

CHANNEL_EMAIL = "email"


def account_for_address(address: str) -> str | None:
    """The account id whose registered e-mail is ``address`` (the login's blind index)."""
    # lazy: services.auth loads 15 chalicelib modules (≈ 44 ms CPU at cold start);
    # only account_for_address() needs it
    from chalicelib.services.auth import identifier_index

    if "@" not in address:
        return None
    index = identifier_index(address)
    if index is None or not index.startswith("email#"):
        return None
    try:
        account_id = str(IdentifierModel.get(index).account_id)
    except DoesNotExist:
        return None
    try:
        get_account(account_id)
    except Exception:  # a deleted account is no account
        return None
    return account_id


def appeal_id_for(ses_message_id: str) -> str:
    """The appeal id of a message: derived from SES's id, so a redelivery finds it."""
    return "req_" + crypto.blind_index("inbound", ses_message_id).split("#", 1)[1][:32]


def relabel_documents(
    staff_account: str, appeal_id: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Reassign the photos of an appeal: ``{"id_front": "selfie", ...}`` (a permutation).

    Each name maps to the document whose photo it should now show; only the
    ``documents`` map changes (the objects stay), in a versioned write, audited.
    """
    mapping = data.get("documents") if isinstance(data, Mapping) else None
    if not isinstance(mapping, Mapping) or not mapping:
        raise ValidationFailed({"documents": "Укажите, какой документ на каком фото."})
    appeal = common.load(appeal_id)
    if appeal.type != rules.PHONE_CHANGE:
        raise Conflict("У этой заявки нет фотографий документов.")
    current = appeal.documents.as_dict() if appeal.documents else {}
    full = {doc: str(mapping.get(doc, doc)) for doc in rules.DOCUMENTS}
    if (
        set(mapping) - set(rules.DOCUMENTS)
        or sorted(full.values()) != sorted(rules.DOCUMENTS)
        or any(source not in current for source in full.values())
    ):
        raise ValidationFailed(
            {"documents": "Каждый документ должен получить ровно одно из фото заявки."}
        )
    relabelled = {doc: current[source] for doc, source in full.items()}
    try:
        appeal.update(
            actions=[
                AppealModel.documents.set(relabelled),
                AppealModel.updated_at.set(clock.iso(clock.now())),
            ]
        )
    except UpdateError as exc:  # the version check failed: someone changed it meanwhile
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise  # a storage failure: 503 from the one mapping, not a false «changed»
        raise Conflict("Заявку только что изменили. Обновите страницу.") from exc
    audit.record(staff_account, "documents_relabelled", str(appeal.account_id), target=appeal_id)
    return {"request_id": appeal_id, "documents": full}
