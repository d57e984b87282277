"""Borrower appeals («обращение»): their types, statuses and the transitions between them.

phone_change:  awaiting_documents ──(3 documents accepted + new number confirmed)──▶ in_review
               in_review ──▶ approved | rejected;   awaiting_documents ──▶ cancelled
deletion:      in_review ──▶ approved | rejected
compromise:    in_review ──▶ resolved

Only ``in_review`` appeals are in the staff queue (see ``queue_key``).
"""

from __future__ import annotations

from enum import StrEnum

from chalicelib.errors import Conflict
from chalicelib.i18n import N_


class AppealType(StrEnum):
    """What an appeal asks for (values are what storage keeps)."""

    PHONE_CHANGE = "phone_change"
    DELETION = "deletion"
    COMPROMISE = "compromise"


class AppealStatus(StrEnum):
    """Where an appeal is (values are what storage keeps)."""

    AWAITING_DOCUMENTS = "awaiting_documents"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


# The names the services use (typed ``str``: storage hands back plain strings to compare).
PHONE_CHANGE: str = AppealType.PHONE_CHANGE
DELETION: str = AppealType.DELETION
COMPROMISE: str = AppealType.COMPROMISE
TYPES: tuple[str, ...] = tuple(AppealType)

AWAITING_DOCUMENTS: str = AppealStatus.AWAITING_DOCUMENTS
IN_REVIEW: str = AppealStatus.IN_REVIEW
APPROVED: str = AppealStatus.APPROVED
REJECTED: str = AppealStatus.REJECTED
RESOLVED: str = AppealStatus.RESOLVED
CANCELLED: str = AppealStatus.CANCELLED

#: Documents of a phone change, in the order the borrower uploads them.
DOCUMENTS = ("id_front", "id_back", "selfie")
DOC_AWAITING = "awaiting_upload"
DOC_CHECKING = "checking"
DOC_ACCEPTED = "accepted"
DOC_REJECTED = "rejected"
#: A document's statuses once the uploads worker has checked it.
DOC_DECIDED = (DOC_ACCEPTED, DOC_REJECTED)

#: The state machine as data: per type, from each status, where it may go.
TRANSITIONS: dict[str, dict[str, tuple[str, ...]]] = {
    AppealType.PHONE_CHANGE: {
        AppealStatus.AWAITING_DOCUMENTS: (AppealStatus.IN_REVIEW, AppealStatus.CANCELLED),
        AppealStatus.IN_REVIEW: (AppealStatus.APPROVED, AppealStatus.REJECTED),
    },
    AppealType.DELETION: {
        AppealStatus.IN_REVIEW: (AppealStatus.APPROVED, AppealStatus.REJECTED),
    },
    AppealType.COMPROMISE: {AppealStatus.IN_REVIEW: (AppealStatus.RESOLVED,)},
}

#: Appeal type names (Russian msgids: ``chalicelib.i18n`` renders them in Kazakh).
TYPE_RU: dict[str, str] = {
    PHONE_CHANGE: N_("Изменение номера телефона"),
    DELETION: N_("Удаление учётной записи"),
    COMPROMISE: N_("Подозрение на взлом"),
}
STATUS_RU: dict[str, str] = {
    AWAITING_DOCUMENTS: N_("Ожидает документы и подтверждение нового номера"),
    IN_REVIEW: N_("На рассмотрении"),
    APPROVED: N_("Одобрена"),
    REJECTED: N_("Отклонена"),
    RESOLVED: N_("Закрыта"),
    CANCELLED: N_("Отменена"),
}
DOCUMENT_RU = {
    "id_front": N_("Удостоверение личности, лицевая сторона"),
    "id_back": N_("Удостоверение личности, оборотная сторона"),
    "selfie": N_("Селфи с удостоверением в руке"),
}


def check_transition(request_type: str, current: str, new: str) -> None:
    """Refuse a transition the state machine does not have (``Conflict``)."""
    if new not in TRANSITIONS.get(request_type, {}).get(current, ()):
        raise Conflict(
            f"Заявка в статусе «{STATUS_RU.get(current, current)}»: "
            "это действие для неё недоступно."
        )


def decisions_for(request_type: str) -> tuple[str, ...]:
    """The outcomes staff can give a request of this type under review."""
    return TRANSITIONS[request_type][IN_REVIEW]


def queue_key(request_type: str, status: str) -> str | None:
    """The staff-queue key of a request, or None when it waits for nobody on staff."""
    return f"{request_type}#{status}" if status == IN_REVIEW else None


#: Why staff may reject a request, per type: code → (what staff read, what the borrower
#: reads). The borrower's text is the only reason that leaves the desk (the notice, the
#: request's ``rejection_reason``); staff add their own words as an internal note.
#: Per type, code → (title for staff, the borrower's text: sent in the account's language).
REJECTION_REASONS: dict[str, dict[str, tuple[str, str]]] = {
    PHONE_CHANGE: {
        "photos_unreadable": (
            "Фото нечёткие или обрезаны",
            N_(
                "Фотографии нечёткие или обрезаны: на фото удостоверения должны быть видны "
                "все четыре угла и весь текст. Подайте обращение заново с новыми фото."
            ),
        ),
        "face_mismatch": (
            "Лицо на селфи не совпадает с фото в удостоверении",
            N_(
                "Мы не смогли убедиться, что на селфи владелец удостоверения. Подайте обращение "
                "заново: снимите селфи при хорошем свете, держа удостоверение рядом с лицом."
            ),
        ),
        "data_mismatch": (
            "Данные удостоверения не совпадают с анкетой",
            N_(
                "Данные удостоверения на фото не совпадают с данными вашей учётной записи. "
                "Если данные изменились, обратитесь в службу поддержки."
            ),
        ),
        "id_expired": (
            "Удостоверение просрочено",
            N_(
                "Срок действия удостоверения на фото истёк. Подайте обращение заново "
                "с действующим удостоверением."
            ),
        ),
        "contact_support": (
            "Другое: нужен звонок в поддержку",
            N_(
                "Мы не смогли проверить обращение. Позвоните в службу поддержки: "
                "мы подскажем, что сделать."
            ),
        ),
    },
    DELETION: {
        "legal_hold": (
            "Данные нужно хранить по закону",
            N_(
                "Мы обязаны хранить данные по вашим договорам займа в течение срока, "
                "установленного законом. Удалить учётную запись сейчас нельзя."
            ),
        ),
        "owner_unconfirmed": (
            "Не подтверждено, что подал владелец",
            N_(
                "Мы не смогли подтвердить, что обращение подал владелец учётной записи. "
                "Обратитесь в службу поддержки."
            ),
        ),
        "contact_support": (
            "Другое: нужен звонок в поддержку",
            N_(
                "Мы не смогли выполнить обращение. Позвоните в службу поддержки: "
                "мы подскажем, что сделать."
            ),
        ),
    },
}


def rejection_reasons(request_type: str) -> list[dict[str, str]]:
    """The reasons staff choose from when rejecting a request of this type."""
    return [
        {"code": code, "title": title, "borrower_text": text}
        for code, (title, text) in REJECTION_REASONS.get(request_type, {}).items()
    ]
