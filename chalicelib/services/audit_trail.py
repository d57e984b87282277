"""The audit trail as staff read it; every read is audited before anything is returned.

Staff read each entry's action in Russian words (``action_text``) and staff's
internal notes on decisions (``note``); a borrower's own reads (the export)
get neither note nor login names (``services.privacy``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain import appeals as rules
from chalicelib.errors import BadRequest, Forbidden, NotFound, ValidationFailed
from chalicelib.services import audit
from chalicelib.services.pagination import MSG_CURSOR
from chalicelib.services.sessions import Principal
from chalicelib.services.staff_accounts import (
    ADMIN,
    MSG_USERNAME,
    SECURITY,
    SUPPORT,
    USERNAME,
    require_role,
)

#: What each recorded action means, as the desk shows it.
ACTION_RU = {
    "account_locked": "Учётная запись заблокирована",
    "account_unlocked": "Учётная запись разблокирована",
    "audit_viewed": "Просмотр журнала аудита",
    "compromise_reported": "Сообщение о взломе",
    "compromise_resolved": "Сообщение о взломе закрыто",
    "consent_accepted": "Принято согласие на обработку данных",
    "data_exported": "Выгрузка данных заёмщиком",
    "deletion_requested": "Обращение об удалении учётной записи",
    "deletion_approved": "Удаление одобрено",
    "deletion_rejected": "Удаление отклонено",
    "documents_relabelled": "Фото из письма размечены",
    "documents_viewed": "Просмотр фото документов",
    "email_change_requested": "Запрошена смена e-mail",
    "email_changed": "E-mail изменён",
    "iin_checked": "Сверка ИИН с фото",
    "loan_agreement_signed": "Договор займа подписан",
    "loan_applied": "Заявка на займ",
    "loan_approved": "Займ одобрен",
    "loan_extension_signed": "Подписано продление займа",
    "loan_issued": "Займ выдан",
    "loan_overdue": "Займ просрочен",
    "loan_payment_extension": "Оплата продления учтена",
    "loan_payment_repayment": "Платёж по займу учтён",
    "loan_payout_account_set": "Указан счёт для перечисления",
    "loan_payout_account_viewed": "Просмотр счёта для перечисления",
    "loan_rejected": "Займ отклонён",
    "loan_repaid": "Займ погашен",
    "loan_signed": "Займ подписан",
    "new_phone_confirmed": "Новый номер подтверждён кодом",
    "password_changed": "Пароль изменён",
    "password_recovered": "Пароль восстановлен по SMS",
    "phone_change_approved": "Смена номера одобрена",
    "phone_change_expired": "Обращение о смене номера истекло",
    "phone_change_rejected": "Смена номера отклонена",
    "phone_change_requested": "Обращение о смене номера",
    "queue_viewed": "Просмотр очереди обращений",
    "request_viewed": "Просмотр обращения",
    "staff_created": "Сотрудник создан",
    "staff_disabled": "Сотрудник отключён",
    "staff_enrolled": "Сотрудник завершил регистрацию",
    "staff_enrolment_reissued": "Выдана новая ссылка для регистрации",
    "staff_enrolment_started": "Сотрудник задал пароль",
    "staff_login": "Вход сотрудника",
    "staff_login_failed": "Неудачный вход сотрудника",
    "staff_logout": "Выход сотрудника",
}


def action_text(action: str) -> str:
    """The action in Russian words (its code when it has none yet)."""
    return ACTION_RU.get(action) or rules.TYPE_RU.get(action) or action


def audit_trail(staff: Principal, params: Mapping[str, str]) -> dict[str, Any]:
    """Entries about one account (support, security), about or by a staff member (admin).

    Audited before anything is read.
    """
    account_id, actor, cursor = params.get("account_id"), params.get("actor"), params.get("cursor")
    if bool(account_id) == bool(actor):
        raise ValidationFailed({"account_id": "Укажите либо account_id, либо actor."})
    if cursor is not None and (len(cursor) > 64 or not cursor.isascii()):
        raise BadRequest(MSG_CURSOR)
    if account_id:
        if account_id.startswith("staff#"):
            # A staff member's own trail (sign-ins, enrolment): admin only.
            require_role(staff, ADMIN)
        elif not staff.roles & {SUPPORT, SECURITY}:
            raise Forbidden()
        if len(account_id) > 64:
            raise NotFound()
        audit.record(staff.account_id, "audit_viewed", account_id)
        page = audit.for_subject(account_id, cursor, internal=True)
    else:
        assert actor is not None
        require_role(staff, ADMIN)
        username = actor.removeprefix("staff#")
        if username == audit.SYSTEM:
            who = audit.SYSTEM
        elif USERNAME.fullmatch(username):
            who = audit.staff_subject(username)
        else:
            raise ValidationFailed({"actor": MSG_USERNAME})
        audit.record(staff.account_id, "audit_viewed", who)
        page = audit.for_actor(who, cursor, internal=True)
    items = [{**item, "action_text": action_text(item["action"])} for item in page.items]
    return {"items": items, "next_cursor": page.next_cursor}
