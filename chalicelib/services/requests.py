"""Borrower requests: phone change, account deletion, compromise reports, "my requests"."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.models import Model

from chalicelib import clock, i18n, metrics
from chalicelib.adapters import crypto
from chalicelib.config import get_settings
from chalicelib.domain import requests as rules
from chalicelib.domain.lending import LoanStatus
from chalicelib.errors import (
    CodeExpired,
    CodeInvalid,
    Conflict,
    InvalidValue,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from chalicelib.formats import LongDate
from chalicelib.i18n import N_, Msg, plural
from chalicelib.logs import logger
from chalicelib.services import audit
from chalicelib.services.forms import Form, secret, string
from chalicelib.storage import throttles, tx
from chalicelib.storage.accounts import (
    AccountModel,
    IdentifierModel,
    account_pii,
    open_guard_key,
    update_with_login,
)
from chalicelib.storage.base import new_id
from chalicelib.storage.challenges import ChallengeModel
from chalicelib.storage.loans import loans_of
from chalicelib.storage.requests import RequestModel, load_request


class UnpaidLoan(Conflict):
    """Account deletion while a loan is not repaid."""

    code = "unpaid_loan"


def load(request_id: str) -> RequestModel:
    """A request by id (strongly consistent), or ``NotFound``."""
    return load_request(request_id)


def submit_if_ready(request_id: str) -> bool:
    """Move a phone change to review once all documents are accepted and the number confirmed.

    Called by the upload worker after each verdict and by the code confirmation;
    safe to call any number of times (the versioned update lets one caller win,
    the others re-read and find it done).
    """
    for _ in range(3):
        request = load(request_id)
        if request.type != rules.PHONE_CHANGE or request.status != rules.AWAITING_DOCUMENTS:
            return False
        documents = request.documents.as_dict() if request.documents else {}
        ready = request.phone_confirmed and all(
            documents.get(doc, {}).get("status") == rules.DOC_ACCEPTED for doc in rules.DOCUMENTS
        )
        if not ready:
            return False
        rules.check_transition(request.type, request.status, rules.IN_REVIEW)
        queue = rules.queue_key(request.type, rules.IN_REVIEW)
        assert queue is not None
        try:
            request.update(
                actions=[
                    RequestModel.status.set(rules.IN_REVIEW),
                    RequestModel.queue.set(queue),
                    RequestModel.updated_at.set(clock.iso(clock.now())),
                ]
            )
        except UpdateError:
            continue  # someone else changed it: look again
        logger.info("request submitted for review", extra={"request_id": request_id})
        _after_submit(request)
        return True
    return False


def _after_submit(request: RequestModel) -> None:
    """Hooks run once a phone change reaches review (face match, notification)."""
    from chalicelib.services import review_hooks

    review_hooks.on_phone_change_submitted(request)


def view(request: RequestModel) -> dict[str, Any]:
    """A request as its borrower sees it."""
    documents = request.documents.as_dict() if request.documents else {}
    return {
        "request_id": request.request_id,
        "type": request.type,
        "type_text": rules.TYPE_RU.get(request.type, request.type),
        "channel": request.channel or "cabinet",
        "status": request.status,
        "status_text": rules.STATUS_RU.get(request.status, request.status),
        "created_at": request.created_at,
        "updated_at": request.updated_at,
        "due_on": request.due_on,
        "decided_at": request.decided_at,
        "rejection_reason": request.decision_reason if request.status == rules.REJECTED else None,
        "phone_confirmed": request.phone_confirmed if request.type == rules.PHONE_CHANGE else None,
        "documents": [
            {
                "document": doc,
                "title": rules.DOCUMENT_RU[doc],
                "status": documents[doc].get("status"),
                "reason": documents[doc].get("reason"),
            }
            for doc in rules.DOCUMENTS
            if doc in documents
        ]
        or None,
    }


# --- filing requests ------------------------------------------------------------

UNPAID_LOAN_STATUSES = (
    LoanStatus.APPROVED,
    LoanStatus.SIGNED,
    LoanStatus.ISSUED,
    LoanStatus.OVERDUE,
)
PHONE_CODE_PURPOSE = "phone_change"
#: A phone change not completed within a week is dropped (its code and uploads expire).
PHONE_CHANGE_LIFETIME_SECONDS = 7 * 24 * 3600


def _open_guard(request_type: str, account_id: str) -> str:
    """Key of the guard item that allows one open request of a type per account."""
    return open_guard_key(request_type, account_id)


def _new_request(
    request_type: str, status: str, account_id: str | None, details: Mapping[str, Any] | None
) -> RequestModel:
    settings = get_settings()
    moment = clock.now()
    request_id = new_id("req")
    return RequestModel(
        request_id=request_id,
        account_id=account_id,
        type=request_type,
        status=status,
        queue=rules.queue_key(request_type, status),
        created_at=clock.iso(moment),
        updated_at=clock.iso(moment),
        due_on=(clock.today_kz() + timedelta(days=settings.review_days)).isoformat(),
        details=crypto.seal(details, request_context(request_id)) if details else None,
        phone_confirmed=False,
    )


def request_context(request_id: str) -> dict[str, str]:
    """Encryption context of a request's sealed details."""
    return {"purpose": "request", "request_id": request_id}


def _file(request: RequestModel, *extra: Model) -> None:
    """Save a request with its one-open-request guard (and extra items) in one transaction."""
    guard = IdentifierModel(
        lookup=_open_guard(request.type, request.account_id), account_id=request.request_id
    )
    with tx.write() as t:
        t.put(
            guard,
            IdentifierModel.lookup.does_not_exist(),
            on_fail=lambda: _open_conflict(request.type),
        )
        t.put(request, RequestModel.request_id.does_not_exist())
        for item in extra:
            t.put(item)
    metrics.count("RequestFiled", Type=request.type)


def _account_pii(account: AccountModel) -> dict[str, Any]:
    return account_pii(account)


def start_phone_change(
    account_id: str, data: Mapping[str, Any], client_ip: str | None = None
) -> dict[str, Any]:
    """File a phone change: re-check the password, code to the new number, upload forms.

    Against SMS pumping and number probing, in this order: the account's daily
    cap of attempts and the address's SMS budgets are charged before anything
    is looked up; then the open-request lock; then the new number's own cooldown
    and budgets; the global budget only for the message actually queued (given
    back if the request cannot be filed). A number that is already some
    account's answers exactly like a free one: the request is filed alike, but
    its owner gets a notice instead of the code (``phone_taken`` on the
    challenge), so nobody can ever confirm it and the borrower is not told why.
    """
    from chalicelib.services import codes, documents, notifications
    from chalicelib.services.auth import check_current_password
    from chalicelib.services.cabinet import get_account

    form = Form(data, ("password", "new_phone"))
    password = form.field("password", secret)
    new_phone = form.field("new_phone", _kz_mobile)
    form.raise_if_invalid()
    assert password is not None and new_phone is not None
    account = get_account(account_id)
    # Same brute-force counter as sign-in: a stolen session cannot guess the password.
    check_current_password(account, password, "password")
    new_index = crypto.blind_index("phone", new_phone)
    if new_index == account.phone_index:
        raise ValidationFailed({"new_phone": N_("Это ваш текущий номер.")})
    _charge_attempt(account_id, client_ip)
    _check_no_open_request(rules.PHONE_CHANGE, account_id)
    codes.limit_recipient(new_index)
    taken = IdentifierModel.count(new_index, limit=1) > 0
    request = _new_request(rules.PHONE_CHANGE, rules.AWAITING_DOCUMENTS, account_id, None)
    request.details = crypto.seal({"new_phone": new_phone}, request_context(request.request_id))
    request.new_phone_index = new_index
    # One fresh object key per document and form: no form overwrites another's object.
    slots = documents.new_slots(request.request_id)
    request.documents = slots
    challenge, code = codes.new_challenge(
        new_id("pcc"), PHONE_CODE_PURPOSE, new_index, PHONE_CHANGE_LIFETIME_SECONDS
    )
    challenge.request_id = request.request_id
    challenge.account_id = account_id
    challenge.phone_taken = taken
    request.challenge_id = challenge.challenge_id
    entry = audit.new_entry(
        account_id, "phone_change_requested", account_id, target=request.request_id
    )
    charged = codes.charge_global()
    try:
        _file(request, challenge, entry)
    except Exception:
        codes.refund(charged)
        raise
    notifications.enqueue(
        "sms",
        new_phone,
        _phone_code_text(None if taken else code),
        kind="phone_change_code",
        language=i18n.normalise(account.language),
    )
    return {**view(request), "uploads": documents.upload_forms(request.request_id, slots)}


def _charge_attempt(account_id: str, client_ip: str | None) -> None:
    """The account's daily cap of phone-change attempts, then the address's SMS budgets."""
    from chalicelib.services import codes

    limit = get_settings().phone_change_attempts_per_day
    try:
        throttles.consume(f"phone-change:{account_id}", limit, codes.DAY)
    except RateLimited as exc:
        logger.warning(
            "security_event", extra={"event": "phone_change_attempts_exceeded", "scope": "account"}
        )
        hours = -(-exc.retry_after // 3600)
        raise RateLimited(
            exc.retry_after,
            plural(
                "Слишком много попыток смены номера за сутки. Повторите через {n} час.",
                "Слишком много попыток смены номера за сутки. Повторите через {n} часов.",
                hours,
            ),
        ) from exc
    if client_ip is not None:
        codes.limit_address(client_ip)


def _check_no_open_request(request_type: str, account_id: str) -> None:
    """``Conflict`` at once when the account already has an open request of this type."""
    try:
        IdentifierModel.get(_open_guard(request_type, account_id), consistent_read=True)
    except DoesNotExist:
        return
    raise _open_conflict(request_type)


def _open_conflict(request_type: str) -> Conflict:
    return Conflict(
        N_("У вас уже есть открытая заявка «{type}». Дождитесь решения по ней."),
        type=rules.TYPE_RU[request_type],
    )


PHONE_TAKEN_SMS = N_(
    "Hava: этот номер уже указан в личном кабинете Hava, поэтому его нельзя "
    "привязать к другому кабинету. Ваш кабинет не изменён. Если номер указывали "
    "не вы, просто удалите это SMS."
)
PHONE_CODE_SMS = N_(
    "Hava: код подтверждения нового номера {code}. {valid} Никому не сообщайте этот код."
)


def _phone_code_text(code: str | None) -> str:
    """A msgid or template: ``notifications.enqueue`` renders it in the account's language."""
    if code is None:
        return PHONE_TAKEN_SMS
    valid = i18n.valid_for_minutes(get_settings().code_ttl_seconds // 60)
    return Msg(PHONE_CODE_SMS, code=code, valid=valid)


def _kz_mobile(raw: Any) -> str:
    from chalicelib.domain.phone import normalize_kz_mobile

    return normalize_kz_mobile(string(32)(raw))


def own_request(account_id: str, request_id: str) -> RequestModel:
    """The borrower's own request; any other id is ``NotFound`` (no hint that it exists)."""
    request = load(request_id)
    if request.account_id != account_id:
        raise NotFound(N_("Заявка не найдена."))
    return request


def confirm_new_phone(account_id: str, request_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Confirm the new number with the code sent to it; submit for review if documents are in."""
    from chalicelib.services import codes
    from chalicelib.services.registration import read_code

    code = read_code(data)
    request = own_request(account_id, request_id)
    if request.type != rules.PHONE_CHANGE or request.status != rules.AWAITING_DOCUMENTS:
        raise Conflict(N_("Эта заявка уже не ждёт подтверждения номера."))
    challenge = codes.open_challenge(
        request.challenge_id or "", PHONE_CODE_PURPOSE, N_("Заявка не найдена.")
    )
    codes.verify(challenge, code)
    if challenge.phone_taken:
        # Nobody was ever sent this code; should one still be guessed, it counts as wrong.
        raise CodeInvalid(N_("Неверный код подтверждения."))
    used = CodeExpired(N_("Этот код уже использован."))
    with tx.write() as t:
        t.update(
            challenge,
            actions=[ChallengeModel.consumed.set(True)],
            condition=codes.consume_condition(challenge),
            on_fail=used,
        )
        t.update(
            request,
            actions=[
                RequestModel.phone_confirmed.set(True),
                RequestModel.updated_at.set(clock.iso(clock.now())),
            ],
            condition=RequestModel.status == rules.AWAITING_DOCUMENTS,
            add_version_condition=False,
            on_fail=used,
        )
    audit.record(account_id, "new_phone_confirmed", account_id, target=request_id)
    submit_if_ready(request_id)
    return view(load(request_id))


def resend_phone_code(
    account_id: str, request_id: str, client_ip: str | None = None
) -> dict[str, Any]:
    """A new code to the new number (cooldown and hourly cap apply)."""
    from chalicelib.services import codes, notices, notifications

    request = own_request(account_id, request_id)
    if request.type != rules.PHONE_CHANGE or request.status != rules.AWAITING_DOCUMENTS:
        raise Conflict(N_("Эта заявка уже не ждёт подтверждения номера."))
    if request.phone_confirmed:
        raise Conflict(N_("Новый номер уже подтверждён."))
    challenge = codes.open_challenge(
        request.challenge_id or "", PHONE_CODE_PURPOSE, N_("Заявка не найдена.")
    )
    code = codes.reissue(challenge, client_ip)
    new_phone = crypto.unseal(request.details or "", request_context(request_id))["new_phone"]
    text = _phone_code_text(None if challenge.phone_taken else code)
    language = notices.language_of(request.account_id)
    notifications.enqueue("sms", new_phone, text, kind="phone_change_code", language=language)
    return {"resend_after": get_settings().code_resend_cooldown_seconds}


def fresh_upload_forms(account_id: str, request_id: str) -> dict[str, Any]:
    """New presigned forms (a used key is replaced by a new one; see ``documents.renew_forms``)."""
    from chalicelib.services import documents

    request = own_request(account_id, request_id)
    if request.type != rules.PHONE_CHANGE or request.status != rules.AWAITING_DOCUMENTS:
        raise Conflict(N_("По этой заявке документы больше не принимаются."))
    return {"uploads": documents.renew_forms(request)}


def request_deletion(account_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """File an account deletion (password re-checked), refused while any loan is unpaid."""
    from chalicelib.services import notices
    from chalicelib.services.auth import check_current_password
    from chalicelib.services.cabinet import get_account

    form = Form(data, ("password",))
    password = form.field("password", secret)
    form.raise_if_invalid()
    assert password is not None
    account = get_account(account_id)
    # As for a phone change: a stolen session alone cannot ask to erase the account, and
    # wrong guesses count on the sign-in counter (429 with the same growing waits).
    check_current_password(account, password, "password")
    check_no_unpaid_loans(account_id)
    request = _new_request(rules.DELETION, rules.IN_REVIEW, account_id, None)
    _file(
        request,
        audit.new_entry(account_id, "deletion_requested", account_id, target=request.request_id),
    )
    pii = _account_pii(account)
    notices.sms(
        pii["phone"],
        Msg(DELETION_FILED_SMS, due=LongDate(date.fromisoformat(request.due_on))),
        language=i18n.normalise(account.language),
    )
    return view(request)


DELETION_FILED_SMS = N_(
    "Hava: заявка на удаление учётной записи принята. Кабинет работает до решения "
    "службы поддержки (срок — до {due})."
)
COMPROMISE_SMS = N_(
    "Hava: по вашему сообщению о взломе все сеансы кабинета завершены, прежний "
    "пароль больше не действует. Задайте новый: «Забыли пароль?» на странице входа."
)


UNPAID = N_(
    "Удалить учётную запись нельзя, пока не погашен займ на {amount}. "
    "Погасите задолженность и подайте заявку снова."
)
UNPAID_DUE = N_(
    "Удалить учётную запись нельзя, пока не погашен займ на {amount}, срок возврата {due}. "
    "Погасите задолженность и подайте заявку снова."
)


def regulation_amount(amount: int) -> str:
    from chalicelib.domain.regulation import format_tenge

    return format_tenge(amount)


def check_no_unpaid_loans(account_id: str) -> None:
    """``Conflict`` naming the unpaid loan, if there is one."""
    unpaid = [loan for loan in loans_of(account_id) if loan.status in UNPAID_LOAN_STATUSES]
    if unpaid:
        loan = unpaid[0]
        amount = regulation_amount(int(loan.amount))
        if loan.due_date:
            raise UnpaidLoan(UNPAID_DUE, amount=amount, due=loan.due_date)
        raise UnpaidLoan(UNPAID, amount=amount)


def report_compromise(principal_account_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Signed-in report: every session ends now, the password must be recovered by SMS code
    (the old one opens nothing), security is told."""
    from chalicelib.services import notices
    from chalicelib.services.cabinet import get_account
    from chalicelib.services.sessions import end_all_sessions

    form = Form(data, ("description",))
    description = form.field("description", string(2000), required=False)
    form.raise_if_invalid()
    account = get_account(principal_account_id)
    with tx.write() as t:
        update_with_login(t, account, lambda m: [m.must_change_password.set(True)])
    end_all_sessions(principal_account_id)
    request = _new_request(
        rules.COMPROMISE,
        rules.IN_REVIEW,
        principal_account_id,
        {"description": description or "", "signed_in": True},
    )
    request.save(condition=RequestModel.request_id.does_not_exist())
    audit.record(
        principal_account_id, "compromise_reported", principal_account_id, target=request.request_id
    )
    pii = _account_pii(account)
    notices.sms(
        pii["phone"],
        COMPROMISE_SMS,
        language=i18n.normalise(account.language),
    )
    return view(request)


ANONYMOUS_REPORT_FIELDS = ("login", "contact", "description")


def report_compromise_anonymously(data: Mapping[str, Any], client_ip: str) -> dict[str, str]:
    """«Не получается зайти»: the same answer whether or not the login exists."""
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
    request = _new_request(
        rules.COMPROMISE,
        rules.IN_REVIEW,
        account_id,
        {"login": login, "contact": contact, "description": description, "signed_in": False},
    )
    request.save(condition=RequestModel.request_id.does_not_exist())
    audit.record(
        "anonymous", "compromise_reported", account_id or "none", target=request.request_id
    )
    return {
        "message": N_(
            "Сообщение получено. Специалист службы безопасности свяжется с вами "
            "по указанному контакту. Если вы ещё можете войти — смените пароль."
        )
    }


def _contact(raw: Any) -> str:
    """A Kazakh mobile number or an e-mail address to reach the reporter."""
    from chalicelib.domain.email import normalize_email
    from chalicelib.domain.phone import normalize_kz_mobile

    text = string(254)(raw)
    try:
        return normalize_email(text) if "@" in text else normalize_kz_mobile(text)
    except InvalidValue:
        raise InvalidValue(
            N_("Укажите мобильный номер или e-mail, по которому с вами связаться.")
        ) from None


def my_requests(account_id: str) -> list[dict[str, Any]]:
    """The borrower's requests, newest first (one Query on ``by_account``)."""
    items = list(RequestModel.by_account.query(account_id, scan_index_forward=False))
    return [view(r) for r in items]
