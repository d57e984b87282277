"""The borrower's side of a loan's paperwork: the payout account, the agreement signed
by SMS code (a simple electronic signature: code hash, time, address, device and the
PDF's SHA-256 in the audit log; the PDF in the documents bucket under ``agreements/``,
SSE-KMS), the short-lived link to it, and the extension signed the same way."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from chalicelib import clock, i18n
from chalicelib.adapters import aws, crypto
from chalicelib.agreements import AgreementData, Lender, render_agreement_pdf
from chalicelib.config import get_settings
from chalicelib.domain import iban as iban_rules
from chalicelib.domain import lending
from chalicelib.domain.iban import parse_payout_account
from chalicelib.domain.lending import LoanStatus
from chalicelib.domain.phone import mask_phone
from chalicelib.errors import (
    CodeExpired,
    Conflict,
    HavaError,
    NotFound,
    ValidationFailed,
)
from chalicelib.formats import LongDate, Money
from chalicelib.i18n import N_, Msg
from chalicelib.services import audit, notifications
from chalicelib.services.cabinet import LANGUAGE_CHOICE
from chalicelib.services.forms import Form, integer, string
from chalicelib.services.lending import (
    _account,
    _audited_update,
    _money,
    _phone,
    balance_of,
    load,
    payment_reference,
    repayment_details,
    rules_on,
    view,
)
from chalicelib.services.sessions import Principal
from chalicelib.storage import tx
from chalicelib.storage.accounts import AccountModel, account_pii
from chalicelib.storage.audit import AuditModel
from chalicelib.storage.base import new_id
from chalicelib.storage.loans import LoanModel

# --- Payout account, signing, extension (borrower) --------------------------------------------

SIGN = "loan_sign"
EXTEND = "loan_extend"
CHALLENGE_SECONDS = 1800
SIGN_SMS = N_(
    "Hava: код {code} — подпись договора займа {amount} на {days} дн. Вводя код, "
    "вы подписываете договор. Никому не сообщайте код."
)
SIGNED_SMS = N_(
    "Hava: договор займа {amount} подписан. Деньги поступят на ваш счёт после проверки."
)
EXTEND_SMS = N_(
    "Hava: код {code} — продление займа на {days} дн. до {due}, к оплате {pay}. "
    "Никому не сообщайте код."
)


def _own_loan(principal: Principal, loan_id: str) -> LoanModel:
    return load(principal.account_id, loan_id)


def loan_context(account_id: str, loan_id: str) -> dict[str, str]:
    """Encryption context of a loan's sealed personal data."""
    return {"purpose": "loan", "account_id": account_id, "loan_id": loan_id}


def set_payout_account(
    principal: Principal, loan_id: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The borrower's own Kazakh IBAN, confirmed as theirs, before the agreement is signed."""

    form = Form(data, ("iban", "own_account"))
    raw = form.field("iban", string(64))
    own = form.field("own_account", lambda v: v)
    account = None
    if raw is not None:
        try:
            account = iban_rules.parse_payout_account(raw)
        except HavaError as exc:
            form.fail("iban", exc.message)
    if own is not True:
        form.fail("own_account", N_("Подтвердите, что счёт открыт на ваше имя."))
    form.raise_if_invalid()
    assert account is not None
    loan = _own_loan(principal, loan_id)
    if loan.status not in (LoanStatus.SUBMITTED, LoanStatus.APPROVED):
        raise Conflict(N_("Счёт для перечисления можно указать только до подписания договора."))
    bank = account.bank.name_ru
    sealed = crypto.seal(
        {
            "iban": account.iban,
            "bank": bank,
            "bic": account.bank.bic,
            "confirmed_at": clock.iso(clock.now()),
        },
        loan_context(loan.account_id, loan.loan_id),
    )
    entry = audit.new_entry(principal.account_id, "loan_payout_account_set", principal.account_id)
    entry.target = loan_id
    _audited_update(
        loan, [LoanModel.payout_account.set(sealed), LoanModel.payout_bank.set(bank)], entry
    )
    return view(load(principal.account_id, loan_id), [], clock.today_kz())


def offer(loan: LoanModel, account: AccountModel) -> dict[str, Any]:
    """What the borrower signs: the terms, the penalty rules, the lender, the borrower."""
    settings = get_settings()
    today = clock.today_kz()
    rules = rules_on(today)
    pii = _pii(account)
    penalty = format((rules.penalty_daily_rate * 100).normalize(), "f")
    cap = rules.overpayment_cap
    parts = [f"За каждый день просрочки — неустойка {penalty} % от просроченного основного долга"]
    if rules.penalty_max_days:
        parts.append(f"начисления прекращаются после {rules.penalty_max_days} дней просрочки")
    if cap is not None:
        share = format((cap * 100).normalize(), "f")
        parts.append(f"все начисления сверх суммы займа — не более {share} % от неё")
    return {
        "amount": int(loan.amount),
        "term_days": int(loan.term_days),
        "daily_rate_percent": format((Decimal(loan.daily_rate) * 100).normalize(), "f"),
        "gesv_percent": loan.gesv_percent,
        "interest": loan.interest,
        "total_to_repay": loan.total,
        "due_date_if_issued_today": lending.due_date(today, int(loan.term_days)).isoformat(),
        "penalty_rules": "; ".join(parts) + ".",
        "lender": {"name": settings.lender_name_ru, "bin": settings.lender_bin},
        "borrower_name": _full_name(pii),
        "payout_bank": loan.payout_bank,
        "agreement_version": settings.agreement_version,
    }


def _pii(account: AccountModel) -> dict[str, Any]:
    return account_pii(account)


def _full_name(pii: Mapping[str, Any]) -> str:
    return " ".join(p for p in (pii.get("surname"), pii.get("name"), pii.get("patronymic")) if p)


def _send_code(
    account: AccountModel,
    *,
    purpose: str,
    loan: LoanModel,
    text: str,
    client_ip: str | None,
    extra: Mapping[str, Any],
    **params: Any,
) -> dict[str, Any]:
    """Send ``text`` (a template with ``{code}`` and ``params``) in the account's language."""
    # lazy: services.codes loads 5 chalicelib modules (≈ 19 ms CPU at cold start);
    # only _send_code() needs it
    from chalicelib.services import codes

    codes.limit_sends(account.phone_index, client_ip)
    challenge, code = codes.new_challenge(
        new_challenge_id(purpose), purpose, account.phone_index, CHALLENGE_SECONDS
    )
    challenge.account_id = account.account_id
    challenge.request_id = loan.loan_id
    if "days" in extra:
        challenge.term_days = int(extra["days"])
    challenge.save()
    phone = _phone(account)
    notifications.enqueue(
        "sms", phone, Msg(text, code=code, **params), language=i18n.normalise(account.language)
    )
    settings = get_settings()
    return {
        "challenge_id": challenge.challenge_id,
        "phone": mask_phone(phone),
        "code_ttl_seconds": settings.code_ttl_seconds,
        "resend_after_seconds": settings.code_resend_cooldown_seconds,
    }


def new_challenge_id(purpose: str) -> str:

    return new_id("sig" if purpose == SIGN else "ext")


def start_signing(principal: Principal, loan_id: str, client_ip: str | None) -> dict[str, Any]:
    """The offer, and a code to the phone of record to sign it."""
    loan = _own_loan(principal, loan_id)
    if loan.status != LoanStatus.APPROVED:
        raise Conflict(N_("Договор можно подписать только по одобренной заявке."))
    if loan.payout_account is None:
        raise Conflict(N_("Сначала укажите счёт для перечисления займа."))
    account = _account(principal.account_id)
    params = {"amount": Money(int(loan.amount)), "days": int(loan.term_days)}
    sent = _send_code(
        account, purpose=SIGN, loan=loan, text=SIGN_SMS, client_ip=client_ip, extra={}, **params
    )
    return {**sent, "offer": offer(loan, account)}


def _open_code(
    principal: Principal, loan: LoanModel, purpose: str, data: Mapping[str, Any]
) -> tuple[Any, str]:
    # lazy: services.codes loads 5 chalicelib modules (≈ 19 ms CPU at cold start);
    # only _open_code() needs it
    from chalicelib.services import codes

    form = Form(data, ("challenge_id", "code"))
    challenge_id = form.field("challenge_id", string(64))
    code = form.field("code", string(32))
    form.raise_if_invalid()
    assert challenge_id is not None and code is not None
    challenge = codes.open_challenge(
        challenge_id, purpose, N_("Код не найден или устарел. Запросите новый.")
    )
    if challenge.account_id != principal.account_id or challenge.request_id != loan.loan_id:
        raise NotFound(N_("Код не найден или устарел. Запросите новый."))
    codes.verify(challenge, code)
    return challenge, code


def _consume_with(challenge: Any, loan: LoanModel, actions: list[Any], entry: AuditModel) -> None:
    # lazy: services.codes loads 5 chalicelib modules (≈ 19 ms CPU at cold start);
    # only _consume_with() needs it
    from chalicelib.services import codes

    changed = Conflict(N_("Займ изменился. Обновите страницу."))
    with tx.write() as t:
        codes.consume(t, challenge, CodeExpired(N_("Этот код уже использован.")))
        t.put(entry, condition=AuditModel.entry_id.does_not_exist(), on_fail=changed)
        t.update(loan, actions=actions, on_fail=changed)


def _signature_record(
    challenge: Any, client_ip: str | None, device: str | None, sha256: str | dict[str, str]
) -> str:
    """The simple electronic signature as the audit entry keeps it."""
    return json.dumps(
        {
            "code_hash": challenge.code_digest,
            "signed_at": clock.iso(clock.now()),
            "address": client_ip,
            "device": (device or "")[:200],
            "document_sha256": sha256,
        },
        ensure_ascii=False,
    )


def confirm_signing(
    principal: Principal,
    loan_id: str,
    data: Mapping[str, Any],
    client_ip: str | None,
    device: str | None,
) -> dict[str, Any]:
    """The code signs the agreement: PDF stored, loan signed, signature audited — at once."""
    loan = _own_loan(principal, loan_id)
    if loan.status != LoanStatus.APPROVED:
        raise Conflict(N_("Договор уже подписан или заявка закрыта."))
    challenge, _ = _open_code(principal, loan, SIGN, data)
    account = _account(principal.account_id)

    reference = loan.payment_reference or payment_reference(loan)
    agreement = agreement_data(loan, account, reference)
    pdfs = {language: render_agreement_pdf(agreement, language) for language in ("ru", "kk")}
    hashes = {language: hashlib.sha256(pdf).hexdigest() for language, pdf in pdfs.items()}
    keys = {language: agreement_key(loan, hashes[language], language) for language in pdfs}
    for language, pdf in pdfs.items():
        store_document(keys[language], pdf)
    moment = clock.iso(clock.now())
    entry = audit.new_entry(
        principal.account_id,
        "loan_agreement_signed",
        principal.account_id,
        reason=_signature_record(challenge, client_ip, device, hashes),
    )
    entry.target = loan_id
    actions = [
        LoanModel.status.set(LoanStatus.SIGNED.value),
        LoanModel.signed_at.set(moment),
        LoanModel.agreement_key.set(keys["ru"]),
        LoanModel.agreement_sha256.set(hashes["ru"]),
        LoanModel.agreement_key_kk.set(keys["kk"]),
        LoanModel.agreement_sha256_kk.set(hashes["kk"]),
        LoanModel.agreement_version.set(agreement.version),
        LoanModel.payment_reference.set(reference),
    ]
    _consume_with(challenge, loan, actions, entry)
    notifications.enqueue(
        "sms",
        _phone(account),
        Msg(SIGNED_SMS, amount=Money(int(loan.amount))),
        language=i18n.normalise(account.language),
    )
    return view(load(principal.account_id, loan_id), [], clock.today_kz())


AGREEMENTS_PREFIX = "agreements/"


def agreement_key(loan: LoanModel, sha256: str, language: str) -> str:
    """Where a signed PDF lives in the documents bucket (ids only, loggable)."""
    return f"{AGREEMENTS_PREFIX}{loan.account_id}/{loan.loan_id}/{language}-{sha256[:16]}.pdf"


def store_document(key: str, pdf: bytes) -> None:

    settings = get_settings()
    aws.client("s3").put_object(
        Bucket=settings.documents_bucket,
        Key=key,
        Body=pdf,
        ContentType="application/pdf",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=settings.kms_key_id,
    )


def agreement_data(loan: LoanModel, account: AccountModel, reference: str) -> Any:
    """The agreement's data (``chalicelib.agreements``) for this loan, signed now."""

    settings = get_settings()
    today = clock.today_kz()
    pii = _pii(account)
    payout = crypto.unseal(loan.payout_account or "", loan_context(loan.account_id, loan.loan_id))
    return AgreementData(
        number=f"HV-{loan.loan_id[:15]}",
        version=settings.agreement_version,
        document_date=today,
        lender=Lender.from_settings(settings),
        borrower_name=_full_name(pii),
        borrower_iin=str(pii["iin"]),
        payout=parse_payout_account(payout["iban"]),
        amount=int(loan.amount),
        term_days=int(loan.term_days),
        daily_rate=Decimal(loan.daily_rate),
        gesv_percent=Decimal(loan.gesv_percent),
        interest=Decimal(loan.interest),
        total=Decimal(loan.total),
        due_date=lending.due_date(today, int(loan.term_days)),
        penalty_daily_rate=settings.loan_penalty_daily_rate,
        signed_at=clock.now(),
        payment_reference=reference,
    )


def agreement_link(
    principal: Principal, loan_id: str, language: str | None = None
) -> dict[str, Any]:
    """A short-lived link to the signed PDF, in ``language`` (``?language=ru|kk``) or else in
    the account's language; a loan signed before the Kazakh copy was kept gets the Russian."""

    loan = _own_loan(principal, loan_id)
    if not loan.agreement_key:
        raise NotFound(N_("Договор ещё не подписан."))
    if language is None:
        language = i18n.normalise(_account(principal.account_id).language)
    elif language not in i18n.LANGUAGES:
        raise ValidationFailed({"language": LANGUAGE_CHOICE})
    key, sha256 = loan.agreement_key, loan.agreement_sha256
    if language == i18n.KK and loan.agreement_key_kk:
        key, sha256 = loan.agreement_key_kk, loan.agreement_sha256_kk
    else:
        language = i18n.RU
    settings = get_settings()
    url = aws.client("s3").generate_presigned_url(
        "get_object",
        Params={"Bucket": settings.documents_bucket, "Key": key},
        ExpiresIn=settings.agreement_link_seconds,
    )
    return {
        "url": url,
        "expires_in": settings.agreement_link_seconds,
        "sha256": sha256,
        "language": language,
    }


def start_extension(
    principal: Principal, loan_id: str, data: Mapping[str, Any], client_ip: str | None
) -> dict[str, Any]:
    """Price an extension and send the code that signs it."""

    form = Form(data, ("days",))
    days = form.field("days", integer)
    form.raise_if_invalid()
    assert days is not None
    loan = _own_loan(principal, loan_id)
    quote = _extension_quote(loan, days)
    account = _account(principal.account_id)
    sent = _send_code(
        account,
        purpose=EXTEND,
        loan=loan,
        text=EXTEND_SMS,
        client_ip=client_ip,
        extra={"days": days},
        days=days,
        due=LongDate(quote.new_due),
        pay=Money(quote.pay_now),
    )
    return {**sent, "extension": _quote_view(quote)}


def _extension_quote(loan: LoanModel, days: int) -> lending.ExtensionQuote:
    if LoanStatus(loan.status) not in lending.OUTSTANDING:
        raise Conflict(N_("Продлить можно только выданный и не погашенный займ."))
    balance = balance_of(loan)
    assert balance is not None
    today = clock.today_kz()
    return lending.extension_quote(
        balance,
        today,
        days,
        int(loan.extensions or 0),
        rules_on(today),
        max_days_config=get_settings().loan_max_extension_days,
    )


def _quote_view(quote: lending.ExtensionQuote) -> dict[str, Any]:
    return {
        "days": quote.days,
        "pay_now": _money(quote.pay_now),
        "new_due_date": quote.new_due.isoformat(),
        "daily_rate_percent": format((quote.daily_rate * 100).normalize(), "f"),
        "extension_number": quote.extensions_after,
    }


def confirm_extension(
    principal: Principal,
    loan_id: str,
    data: Mapping[str, Any],
    client_ip: str | None,
    device: str | None,
) -> dict[str, Any]:
    """The code signs the extension; it takes effect when its payment is recorded."""
    loan = _own_loan(principal, loan_id)
    challenge, _ = _open_code(principal, loan, EXTEND, data)
    quote = _extension_quote(loan, int(challenge.term_days))
    pending = {
        "days": quote.days,
        "new_due": quote.new_due.isoformat(),
        "pay_now": _money(quote.pay_now),
        "rate": str(quote.daily_rate),
        "signed": True,
        "signed_at": clock.iso(clock.now()),
    }
    text_sha = hashlib.sha256(json.dumps(pending, sort_keys=True).encode()).hexdigest()
    entry = audit.new_entry(
        principal.account_id,
        "loan_extension_signed",
        principal.account_id,
        reason=_signature_record(challenge, client_ip, device, text_sha),
    )
    entry.target = loan_id
    _consume_with(challenge, loan, [LoanModel.pending_extension.set(json.dumps(pending))], entry)
    return {
        "extension": _quote_view(quote),
        "pay_to": repayment_details(loan),
        "loan": view(load(principal.account_id, loan_id), [], clock.today_kz()),
    }
