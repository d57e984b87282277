"""Registration together with the first loan application, confirmed by an SMS code.

Step 1 (``start``) checks the whole questionnaire, prices the offer, hashes the
password, seals the personal data for the future account and stores all of it
as a *challenge*; an SMS with the code is queued. Step 2 (``confirm``) checks
the code and, in one DynamoDB transaction, consumes the challenge and creates
the account, its three uniqueness guards, the application and a session.

No enumeration: step 1 answers the same whatever is already registered. When
the phone already belongs to an account, its owner gets an SMS saying so
instead of a code, so nobody can go further with it.

Step 2 answers alike too. When the IIN or e-mail (any spelling: both are
normalised) already belongs to an account, the transaction fails on its guard;
the challenge is then consumed all the same, the answer has the very shape of a
success (fresh ids and a session token that was never stored, so it opens
nothing), and the owner of record is told by SMS and e-mail (at most once a
day each). No step answers sooner than ``registration_min_response_ms``, so the
extra work of telling the owner does not show in the timing. What remains
(README, "Residual risks"): the token opens nothing, so the applicant learns
the outcome at the next request, at the price of one code to their own number
within its budgets, and the owner hears of every attempt.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib import clock, i18n
from chalicelib.adapters import crypto
from chalicelib.adapters.passwords import hash_password
from chalicelib.config import Settings, get_settings
from chalicelib.domain import calculator
from chalicelib.domain.accounts import AccountStatus
from chalicelib.domain.email import normalize_email
from chalicelib.domain.iin import Iin, check_borrower_age, parse_iin
from chalicelib.domain.lending import LoanStatus
from chalicelib.domain.password import check_password, normalize_password
from chalicelib.domain.phone import mask_phone, normalize_kz_mobile
from chalicelib.errors import (
    CodeExpired,
    Conflict,
    InvalidValue,
    ValidationFailed,
)
from chalicelib.i18n import N_, Msg
from chalicelib.logs import logger
from chalicelib.services import codes, notices, notifications
from chalicelib.services.forms import (
    Form,
    accepted,
    integer,
    iso_date,
    person_name,
    secret,
    string,
)
from chalicelib.services.lending import open_guard
from chalicelib.services.login_hooks import device_fingerprint
from chalicelib.services.sessions import NewSession, build_session
from chalicelib.storage import tx
from chalicelib.storage.accounts import (
    AccountModel,
    IdentifierModel,
    claim_identifier,
    seal_pii,
    unseal_pii,
)
from chalicelib.storage.base import new_id, sortable_id
from chalicelib.storage.challenges import ChallengeModel
from chalicelib.storage.loans import LoanModel

PURPOSE = "registration"
#: An unfinished registration disappears after a day (TTL) and is refused after it.
CHALLENGE_LIFETIME_SECONDS = 24 * 3600
FIELDS = (
    "amount",
    "term_days",
    "surname",
    "name",
    "patronymic",
    "iin",
    "id_number",
    "id_issued_by",
    "id_issued_on",
    "id_expires_on",
    "phone",
    "email",
    "consent",
    "password",
    "password_confirm",
)


@dataclass(frozen=True)
class Started:
    """Step 1 accepted; the code is on its way."""

    registration_id: str
    phone_masked: str
    code_ttl_seconds: int
    resend_after_seconds: int

    def as_dict(self) -> dict[str, object]:
        """The API's answer."""
        return {
            "registration_id": self.registration_id,
            "code_expires_in": self.code_ttl_seconds,
            "resend_after": self.resend_after_seconds,
            "message": f"Мы отправили SMS с кодом подтверждения на номер {self.phone_masked}.",
        }


@dataclass(frozen=True)
class Registered:
    """Step 2 done: the account exists and the borrower is signed in."""

    account_id: str
    loan_id: str
    session: NewSession


def _id_card_number(raw: Any) -> str:
    text = string(20)(raw).replace(" ", "")
    if not (text.isascii() and text.isdigit() and len(text) == 9):
        raise InvalidValue(N_("Номер удостоверения личности — 9 цифр."))
    return text


def _parse_iin(raw: Any) -> Iin:
    if not isinstance(raw, str):
        raise InvalidValue(N_("ИИН — 12 цифр."))
    iin = parse_iin(raw)
    check_borrower_age(iin, clock.today_kz())
    return iin


def _phone(raw: Any) -> str:
    if not isinstance(raw, str):
        raise InvalidValue(N_("Укажите номер мобильного телефона."))
    return normalize_kz_mobile(raw)


def _email(raw: Any) -> str:
    if not isinstance(raw, str):
        raise InvalidValue(N_("Укажите адрес электронной почты."))
    return normalize_email(raw)


def _read_form(data: Mapping[str, Any], settings: Settings) -> tuple[dict[str, Any], Any]:
    form = Form(data, FIELDS)
    today = clock.today_kz()
    amount = form.field("amount", integer)
    term = form.field("term_days", integer)
    person = {
        "surname": form.field("surname", person_name),
        "name": form.field("name", person_name),
        "patronymic": form.field("patronymic", person_name, required=False),
    }
    iin = form.field("iin", _parse_iin)
    id_card = {
        "number": form.field("id_number", _id_card_number),
        "issued_by": form.field("id_issued_by", string(100)),
        "issued_on": form.field("id_issued_on", iso_date),
        "expires_on": form.field("id_expires_on", iso_date),
    }
    phone = form.field("phone", _phone)
    email = form.field("email", _email)
    form.field("consent", accepted)
    password = form.field("password", secret)
    confirm = form.field("password_confirm", secret)

    issued, expires = id_card["issued_on"], id_card["expires_on"]
    if isinstance(issued, date) and issued > today:
        form.fail("id_issued_on", N_("Дата выдачи не может быть в будущем."))
    if isinstance(issued, date) and iin is not None and issued < iin.birth_date:
        form.fail("id_issued_on", N_("Дата выдачи раньше даты рождения."))
    if isinstance(expires, date) and expires < today:
        form.fail("id_expires_on", N_("Срок действия удостоверения истёк."))
    if isinstance(expires, date) and isinstance(issued, date) and expires <= issued:
        form.fail("id_expires_on", N_("Дата окончания должна быть позже даты выдачи."))

    if password is not None and confirm is not None:
        personal = [v for v in (iin.value if iin else None, phone, email) if v]
        personal += [phone[2:]] if phone else []
        personal += [email.split("@")[0]] if email else []
        try:
            check_password(password, confirm, personal)
        except ValidationFailed as exc:
            for field, message in exc.fields.items():
                form.fail(field, message)

    offer = None
    if amount is not None and term is not None:
        try:
            offer = calculator.quote(amount, term, product(settings), today)
        except ValidationFailed as exc:
            for field, message in exc.fields.items():
                form.fail(field, message)
    form.raise_if_invalid()
    assert iin is not None and phone is not None and email is not None and password is not None
    pii = {
        **person,
        "iin": iin.value,
        "birth_date": iin.birth_date.isoformat(),
        "sex": iin.sex,
        "phone": phone,
        "email": email,
        "id_card": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in id_card.items()},
        "password": password,
    }
    return pii, offer


def product(settings: Settings) -> calculator.Product:
    """The loan product of this stage's configuration."""
    return calculator.Product(
        min_amount=settings.loan_min_amount,
        max_amount=settings.loan_max_amount,
        min_term_days=settings.loan_min_term_days,
        max_term_days=settings.loan_max_term_days,
        daily_rate=settings.loan_daily_rate,
    )


#: SMS to a number that already has a cabinet (nobody ever learns that code).
PHONE_TAKEN_SMS = N_(
    "Hava: на этот номер уже зарегистрирован личный кабинет. Войдите или "
    "восстановите пароль. Если регистрацию начинали не вы, просто удалите это SMS."
)
CODE_SMS = N_("Hava: код подтверждения регистрации {code}. {valid} Никому не сообщайте этот код.")


def _sms_text(code: str | None, settings: Settings, language: str = i18n.DEFAULT) -> str:
    """The registration SMS in the language of the registering request."""
    if code is None:
        return i18n.gettext(language, PHONE_TAKEN_SMS)
    valid = i18n.valid_for_minutes(settings.code_ttl_seconds // 60)
    return i18n.render(language, CODE_SMS, code=code, valid=valid)


def start(
    data: Mapping[str, Any], *, client_ip: str | None = None, language: str = i18n.DEFAULT
) -> Started:
    """Step 1: check the questionnaire and send the code (SMS in ``language``, the
    request's ``Accept-Language``, which also becomes the new account's language)."""
    settings = get_settings()
    pii, offer = _read_form(data, settings)
    password = normalize_password(pii.pop("password"))
    phone_index = crypto.blind_index("phone", pii["phone"])
    codes.limit_sends(phone_index, client_ip)

    try:
        IdentifierModel.get(phone_index)
        phone_taken = True
    except DoesNotExist:
        phone_taken = False

    challenge_id = new_id("reg")
    account_id = new_id("acc")
    challenge, code = codes.new_challenge(
        challenge_id, PURPOSE, phone_index, CHALLENGE_LIFETIME_SECONDS
    )
    # A taken phone gets a notice, not the code: nobody ever learns that code.
    challenge.account_id = account_id
    challenge.pii = seal_pii(account_id, pii)
    challenge.iin_index = crypto.blind_index("iin", pii["iin"])
    challenge.email_index = crypto.blind_index("email", pii["email"])
    challenge.password_hash = hash_password(password)
    challenge.amount = offer.amount
    challenge.term_days = offer.term_days
    challenge.consent_version = settings.consent_version
    challenge.consent_at = clock.iso(clock.now())
    challenge.phone_taken = phone_taken
    challenge.language = i18n.normalise(language)
    challenge.save(condition=ChallengeModel.challenge_id.does_not_exist())
    notifications.enqueue(
        "sms",
        pii["phone"],
        _sms_text(None if phone_taken else code, settings, challenge.language),
        kind="registration_code",
    )
    logger.info("registration started", extra={"registration_id": challenge_id})
    return Started(
        registration_id=challenge_id,
        phone_masked=mask_phone(pii["phone"]),
        code_ttl_seconds=settings.code_ttl_seconds,
        resend_after_seconds=settings.code_resend_cooldown_seconds,
    )


def _open_challenge(registration_id: str) -> ChallengeModel:
    return codes.open_challenge(
        registration_id, PURPOSE, N_("Регистрация не найдена или устарела. Начните заново.")
    )


def resend(registration_id: str, *, client_ip: str | None = None) -> Started:
    """Send a new code for an unfinished registration (60-second cooldown, hourly cap)."""
    settings = get_settings()
    challenge = _open_challenge(registration_id)
    code = codes.reissue(challenge, client_ip)
    pii = unseal_pii(challenge.account_id, challenge.pii)
    language = i18n.normalise(challenge.language)
    text = _sms_text(None if challenge.phone_taken else code, settings, language)
    notifications.enqueue("sms", pii["phone"], text, kind="registration_code")
    return Started(
        registration_id=registration_id,
        phone_masked=mask_phone(pii["phone"]),
        code_ttl_seconds=settings.code_ttl_seconds,
        resend_after_seconds=settings.code_resend_cooldown_seconds,
    )


def read_code(data: Mapping[str, Any]) -> str:
    """The ``code`` field of a confirmation body (400 when absent or not a string)."""
    form = Form(data, ("code",))
    code = form.field("code", string(32))
    form.raise_if_invalid()
    assert code is not None
    return code


@contextmanager
def _no_sooner_than_the_floor() -> Iterator[None]:
    began = time.monotonic()
    try:
        yield
    finally:
        floor = get_settings().registration_min_response_ms / 1000
        time.sleep(max(0.0, floor - (time.monotonic() - began)))


def confirm(
    registration_id: str,
    data: Mapping[str, Any],
    user_agent: str | None,
    *,
    client_ip: str | None = None,
) -> Registered:
    """Step 2: check the code; create account, guards, application and session at once."""
    with _no_sooner_than_the_floor():
        return _confirm(registration_id, data, user_agent, client_ip)


def _confirm(
    registration_id: str, data: Mapping[str, Any], user_agent: str | None, client_ip: str | None
) -> Registered:
    settings = get_settings()
    code = read_code(data)
    challenge = _open_challenge(registration_id)
    codes.verify(challenge, code)

    created = clock.iso(clock.now())
    account = AccountModel(
        account_id=challenge.account_id,
        pii=challenge.pii,
        iin_index=challenge.iin_index,
        phone_index=challenge.phone_index,
        email_index=challenge.email_index,
        password_hash=challenge.password_hash,
        status=AccountStatus.ACTIVE,
        must_change_password=False,
        consent_version=challenge.consent_version,
        consent_at=challenge.consent_at,
        created_at=created,
        # The device that registers is the borrower's: no "new device" notice for it.
        known_devices=[device_fingerprint(user_agent)],
        language=i18n.normalise(challenge.language),
    )
    offer = calculator.quote(
        int(challenge.amount), int(challenge.term_days), product(settings), clock.today_kz()
    )
    loan = LoanModel(
        account_id=account.account_id,
        loan_id=sortable_id(created),
        status=LoanStatus.SUBMITTED,
        amount=offer.amount,
        term_days=offer.term_days,
        daily_rate=str(offer.daily_rate),
        interest=str(offer.interest),
        total=str(offer.total),
        gesv_percent=str(offer.gesv_percent),
        created_at=created,
    )
    session = build_session(account.account_id, user_agent, client_ip=client_ip)
    used = CodeExpired(N_("Этот код уже использован. Войдите в кабинет."))
    try:
        with tx.write(
            on_cancel=Conflict(N_("Подтверждение уже выполняется. Повторите попытку."))
        ) as t:
            codes.consume(t, challenge, used)
            t.put(account, AccountModel.account_id.does_not_exist(), on_fail=used)
            # Each guard carries the sign-in copy of the account (``storage.accounts``).
            for index in (challenge.iin_index, challenge.phone_index, challenge.email_index):
                claim_identifier(t, index, account, _IdentifierTaken(index))
            t.put(loan, LoanModel.loan_id.does_not_exist())
            t.put(session.model, type(session.model).token_hash.does_not_exist())
            # One open loan per account (services.lending): the first one takes the guard.
            t.put(open_guard(account.account_id), IdentifierModel.lookup.does_not_exist())
    except _IdentifierTaken:
        taken = [e.index for e in t.failures if isinstance(e, _IdentifierTaken)]
        return _taken_identifiers(challenge, taken, account, loan, session)
    logger.info("registration confirmed", extra={"account_id": account.account_id})
    return Registered(account_id=account.account_id, loan_id=loan.loan_id, session=session)


class _IdentifierTaken(Exception):
    """A guard of the new account already exists: that identifier is some account's."""

    def __init__(self, index: str) -> None:
        super().__init__(index)
        self.index = index


#: What the owner of record is told, by the kind of identifier found taken.
_KIND_RU = {
    "iin": N_("ваш ИИН"),
    "phone": N_("ваш номер телефона"),
    "email": N_("ваш адрес электронной почты"),
}
_BOTH = N_("{first} и {second}")
ATTEMPT_TEXT = N_(
    "Кто-то пытался зарегистрировать новый личный кабинет Hava, указав {what}. "
    "Новый кабинет не создан, ваш кабинет не изменён. Если это были вы — войдите "
    "в свой кабинет или восстановите пароль. Если нет — сообщите нам через "
    "«Не получается зайти» на странице входа."
)
ATTEMPT_SMS = N_(
    "Hava: кто-то пытался зарегистрировать новый личный кабинет Hava, указав {what}. "
    "Новый кабинет не создан, ваш кабинет не изменён. Если это были вы — войдите "
    "в свой кабинет или восстановите пароль. Если нет — сообщите нам через "
    "«Не получается зайти» на странице входа."
)
ATTEMPT_SUBJECT = N_("Hava: попытка регистрации с вашими данными")


def _taken_identifiers(
    challenge: ChallengeModel,
    taken: list[str],
    account: AccountModel,
    loan: LoanModel,
    session: NewSession,
) -> Registered:
    """A registration whose IIN, phone or e-mail is some account's: answered like a success.

    The challenge is consumed (the code works once, as always), nothing else is
    written, the owner of record is told, and the caller gets the ids and the
    token it would have got: the token was never stored, so it opens nothing.
    """
    try:
        challenge.update(
            actions=[
                ChallengeModel.consumed.set(True),
                ChallengeModel.lost_to_taken_identifier.set(True),
            ],
            condition=codes.consume_condition(challenge),
        )
    except UpdateError as exc:
        raise CodeExpired(N_("Этот код уже использован. Войдите в кабинет.")) from exc
    logger.warning("security_event", extra={"event": "registration_with_taken_identifier"})
    owners: dict[str, list[str]] = {}
    for index in taken:
        try:
            owner = IdentifierModel.get(index).account_id
        except DoesNotExist:
            continue  # freed meanwhile (deletion): nobody to tell
        owners.setdefault(owner, []).append(index.split("#", 1)[0])
    for owner, kinds in owners.items():
        try:
            _tell_owner(owner, kinds)
        except Exception as exc:  # the answer must not change because a notice failed
            logger.warning(
                "registration attempt notice not sent", extra={"error": type(exc).__name__}
            )
    return Registered(account_id=account.account_id, loan_id=loan.loan_id, session=session)


def _tell_owner(account_id: str, kinds: list[str]) -> None:
    """SMS and e-mail to the owner of record: someone tried to register with their data."""

    owner = AccountModel.get(account_id, attributes_to_get=["pii", "language"])
    pii = unseal_pii(account_id, owner.pii)
    language = i18n.normalise(owner.language)
    what: str = ""
    for kind in kinds:
        name = _KIND_RU.get(kind, _KIND_RU["iin"])
        what = Msg(_BOTH, first=what, second=name) if what else name
    merge = crypto.blind_index("registration-attempt", account_id)
    sms, text = Msg(ATTEMPT_SMS, what=what), Msg(ATTEMPT_TEXT, what=what)
    notices.sms(pii["phone"], sms, merge_key=merge, language=language)
    notices.email(pii["email"], ATTEMPT_SUBJECT, text, merge_key=merge, language=language)
