"""Borrower requests: their types, statuses and the transitions between them.

phone_change:  awaiting_documents ──(3 documents accepted + new number confirmed)──▶ in_review
               in_review ──▶ approved | rejected;   awaiting_documents ──▶ cancelled
deletion:      in_review ──▶ approved | rejected
compromise:    in_review ──▶ resolved

Only ``in_review`` requests are in the staff queue (see ``queue_key``).
"""

from __future__ import annotations

from enum import StrEnum

from chalicelib.errors import Conflict


class RequestType(StrEnum):
    """What a borrower asks for (values are what storage keeps)."""

    PHONE_CHANGE = "phone_change"
    DELETION = "deletion"
    COMPROMISE = "compromise"


class RequestStatus(StrEnum):
    """Where a request is (values are what storage keeps)."""

    AWAITING_DOCUMENTS = "awaiting_documents"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


# The names the services use (typed ``str``: storage hands back plain strings to compare).
PHONE_CHANGE: str = RequestType.PHONE_CHANGE
DELETION: str = RequestType.DELETION
COMPROMISE: str = RequestType.COMPROMISE
TYPES: tuple[str, ...] = tuple(RequestType)

AWAITING_DOCUMENTS: str = RequestStatus.AWAITING_DOCUMENTS
IN_REVIEW: str = RequestStatus.IN_REVIEW
APPROVED: str = RequestStatus.APPROVED
REJECTED: str = RequestStatus.REJECTED
RESOLVED: str = RequestStatus.RESOLVED
CANCELLED: str = RequestStatus.CANCELLED

#: Documents of a phone change, in the order the borrower uploads them.
DOCUMENTS = ("id_front", "id_back", "selfie")
DOC_AWAITING = "awaiting_upload"
DOC_CHECKING = "checking"
DOC_ACCEPTED = "accepted"
DOC_REJECTED = "rejected"

#: The state machine as data: per type, from each status, where it may go.
TRANSITIONS: dict[str, dict[str, tuple[str, ...]]] = {
    RequestType.PHONE_CHANGE: {
        RequestStatus.AWAITING_DOCUMENTS: (RequestStatus.IN_REVIEW, RequestStatus.CANCELLED),
        RequestStatus.IN_REVIEW: (RequestStatus.APPROVED, RequestStatus.REJECTED),
    },
    RequestType.DELETION: {
        RequestStatus.IN_REVIEW: (RequestStatus.APPROVED, RequestStatus.REJECTED),
    },
    RequestType.COMPROMISE: {RequestStatus.IN_REVIEW: (RequestStatus.RESOLVED,)},
}

TYPE_RU: dict[str, str] = {
    PHONE_CHANGE: "Изменение номера телефона",
    DELETION: "Удаление учётной записи",
    COMPROMISE: "Подозрение на взлом",
}
STATUS_RU: dict[str, str] = {
    AWAITING_DOCUMENTS: "Ожидает документы и подтверждение нового номера",
    IN_REVIEW: "На рассмотрении",
    APPROVED: "Одобрена",
    REJECTED: "Отклонена",
    RESOLVED: "Закрыта",
    CANCELLED: "Отменена",
}
DOCUMENT_RU = {
    "id_front": "Удостоверение личности, лицевая сторона",
    "id_back": "Удостоверение личности, оборотная сторона",
    "selfie": "Селфи с удостоверением в руке",
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
