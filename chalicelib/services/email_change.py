"""Changing the e-mail address: password, then a code sent to the new address.

Step 1 (``start``) checks the password (same failure counter as sign-in) and
the new address (valid, not the current one), charges the send budgets and
e-mails a code to the new address. An address that is already some account's
answers exactly alike, but that address's owner gets a notice instead of the
code, so the change can never be confirmed and the asker is not told why. One pending change per
account: asking again replaces it. Step 2 (``confirm``) checks the code and, in
one transaction, moves the ``email#`` guard (the old one deleted on condition it
is this account's, the new one put with ``attribute_not_exists``), re-seals the
account's personal data with the new address and updates ``email_index``.
The old address is told.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib import i18n
from chalicelib.adapters import crypto
from chalicelib.config import get_settings
from chalicelib.domain.email import mask_email, normalize_email
from chalicelib.errors import CodeExpired, CodeInvalid, Conflict, InvalidValue, ValidationFailed
from chalicelib.i18n import N_, Msg
from chalicelib.logs import logger
from chalicelib.services import audit, codes, notices, notifications
from chalicelib.services.auth import check_current_password
from chalicelib.services.cabinet import get_account
from chalicelib.services.forms import Form, secret, string
from chalicelib.services.sessions import Principal
from chalicelib.storage import tx
from chalicelib.storage.accounts import (
    AccountModel,
    IdentifierModel,
    account_pii,
    claim_identifier,
    seal_pii,
)

PURPOSE = "email_change"
CHALLENGE_LIFETIME_SECONDS = 3600
TAKEN = N_("Этот адрес нельзя указать. Если он принадлежит вам, обратитесь в службу поддержки.")
NOT_FOUND = N_("Запрос на смену адреса не найден или устарел. Начните заново.")


def _challenge_id(account_id: str) -> str:
    # One pending change per account: a new request replaces the old one.
    return f"eml_{account_id}"


def _context(challenge_id: str) -> dict[str, str]:
    return {"purpose": PURPOSE, "challenge_id": challenge_id}


def _new_email(raw: Any) -> str:
    if not isinstance(raw, str):
        raise InvalidValue(N_("Укажите адрес электронной почты."))
    return normalize_email(raw)


def _account_pii(account: AccountModel) -> dict[str, Any]:
    return account_pii(account)


TAKEN_EMAIL = N_(
    "Кто-то пытался указать этот адрес электронной почты в другом личном кабинете "
    "Hava. Адрес остаётся за вашим кабинетом, ничего не изменено. Если это были не "
    "вы, просто удалите это письмо; если кто-то входил в ваш кабинет — сообщите нам "
    "через «Не получается зайти» на странице входа."
)
TAKEN_SUBJECT = N_("Hava: попытка указать ваш адрес в другом кабинете")
CODE_EMAIL = N_(
    "Код подтверждения нового адреса электронной почты: {code}. {valid} Никому не "
    "сообщайте этот код. Если вы не меняли адрес в личном кабинете Hava, просто удалите "
    "это письмо."
)
CODE_SUBJECT = N_("Hava: подтверждение адреса электронной почты")
CHANGED_EMAIL = N_(
    "Адрес электронной почты вашего личного кабинета Hava изменён на {address}. Если это "
    "были не вы, срочно сообщите нам через «Не получается зайти» на странице входа."
)
CHANGED_SUBJECT = N_("Hava: адрес электронной почты изменён")


def start(
    principal: Principal, data: Mapping[str, Any], client_ip: str | None = None
) -> dict[str, Any]:
    """Step 1: password and new address; a code goes to the new address."""
    form = Form(data, ("password", "new_email"))
    password = form.field("password", secret)
    new_email = form.field("new_email", _new_email)
    form.raise_if_invalid()
    assert password is not None and new_email is not None
    account = get_account(principal.account_id)
    check_current_password(account, password, "password")
    new_index = crypto.blind_index("email", new_email)
    if new_index == account.email_index:
        raise ValidationFailed({"new_email": N_("Это ваш текущий адрес.")})
    # Charged before the lookup, so probing addresses spends the send budgets.
    codes.limit_sends(new_index, client_ip)
    owners = list(IdentifierModel.query(new_index, limit=1))
    taken = bool(owners)
    # The owner's language for the notice; a free address pays for the same read (timing).
    owner_language = notices.language_of(owners[0].account_id if owners else "acc_none")
    challenge_id = _challenge_id(account.account_id)
    challenge, code = codes.new_challenge(
        challenge_id, PURPOSE, new_index, CHALLENGE_LIFETIME_SECONDS
    )
    challenge.account_id = account.account_id
    challenge.email_index = new_index
    challenge.pii = crypto.seal({"email": new_email}, _context(challenge_id))
    challenge.phone_taken = taken  # here: the address is taken (the code is never sent)
    challenge.save()
    if taken:
        notifications.enqueue(
            "email", new_email, TAKEN_EMAIL, subject=TAKEN_SUBJECT, language=owner_language
        )
    else:
        valid = i18n.valid_for_minutes(get_settings().code_ttl_seconds // 60)
        notifications.enqueue(
            "email",
            new_email,
            Msg(CODE_EMAIL, code=code, valid=valid),
            subject=CODE_SUBJECT,
            language=i18n.normalise(account.language),
        )
    audit.record(account.account_id, "email_change_requested", account.account_id)
    return {
        "code_expires_in": get_settings().code_ttl_seconds,
        "message": f"Мы отправили код подтверждения на адрес {mask_email(new_email)}.",
    }


def confirm(principal: Principal, data: Mapping[str, Any]) -> dict[str, Any]:
    """Step 2: the code moves the e-mail guard and re-seals the account, at once."""
    form = Form(data, ("code",))
    code = form.field("code", string(32))
    form.raise_if_invalid()
    assert code is not None
    challenge = codes.open_challenge(_challenge_id(principal.account_id), PURPOSE, NOT_FOUND)
    codes.verify(challenge, code)
    if challenge.phone_taken:
        # Nobody was ever sent this code; should one still be guessed, it counts as wrong.
        raise CodeInvalid(N_("Неверный код подтверждения."))
    account = get_account(principal.account_id)
    new_email: str = crypto.unseal(challenge.pii, _context(challenge.challenge_id))["email"]
    pii = _account_pii(account)
    old_email, old_index = pii["email"], account.email_index
    sealed = seal_pii(account.account_id, {**pii, "email": new_email})
    with tx.write(on_cancel=Conflict()) as t:
        codes.consume(t, challenge, CodeExpired(N_("Этот код уже использован.")))
        claim_identifier(t, challenge.email_index, account, ValidationFailed({"new_email": TAKEN}))
        t.delete(
            IdentifierModel(lookup=old_index),
            condition=IdentifierModel.account_id == account.account_id,
        )
        t.update(
            account,
            actions=[
                AccountModel.pii.set(sealed),
                AccountModel.email_index.set(challenge.email_index),
            ],
            condition=AccountModel.email_index == old_index,
            # The new guard's sign-in copy is this account's as read: nothing changed since.
            add_version_condition=True,
        )
    audit.record(account.account_id, "email_changed", account.account_id)
    notifications.enqueue(
        "email",
        old_email,
        Msg(CHANGED_EMAIL, address=mask_email(new_email)),
        subject=CHANGED_SUBJECT,
        language=i18n.normalise(account.language),
    )
    logger.info("email changed", extra={"account_id": account.account_id})
    return {"email": mask_email(new_email), "message": N_("Адрес электронной почты изменён.")}
