"""The one exception tree of the application.

Every layer raises these; ``chalicelib.api.errors_http`` is the only place that turns
them into HTTP responses. Messages are Russian and meant for the borrower;
``code`` is stable and meant for programs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.i18n import N_, Msg, plural


class HavaError(Exception):
    """Base of every error the application raises on purpose."""

    code = "error"
    message = N_("Что-то пошло не так. Попробуйте ещё раз.")

    def __init__(self, message: str | None = None, **params: Any) -> None:
        """``message``: a Russian text, or a template (``N_``-marked) filled with ``params``
        (then kept as an ``i18n.Msg``, so the API can render it again in Kazakh)."""
        if message and params:
            message = Msg(message, **params)
        super().__init__(message or self.message)
        if message:
            self.message = message


class ValidationFailed(HavaError):
    """One or more fields are invalid; ``fields`` maps field name to message."""

    code = "validation_failed"
    message = N_("Проверьте правильность заполнения полей.")

    def __init__(self, fields: Mapping[str, str], message: str | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields)


class InvalidValue(HavaError):
    """One value is invalid; services collect these into ``ValidationFailed``."""

    code = "invalid_value"
    message = N_("Неверное значение.")


class BadRequest(HavaError):
    """The request itself is malformed (not JSON, wrong shape)."""

    code = "bad_request"
    message = N_("Некорректный запрос.")


class PayloadTooLarge(HavaError):
    """The request body is larger than allowed."""

    code = "payload_too_large"
    message = N_("Слишком большой запрос.")


class InvalidCredentials(HavaError):
    """Unknown login or wrong password: always the same answer."""

    code = "invalid_credentials"
    message = N_("Неверный логин или пароль")


class Unauthenticated(HavaError):
    """No valid session."""

    code = "unauthenticated"
    message = N_("Сессия истекла или недействительна. Войдите снова.")


class Forbidden(HavaError):
    """Signed in, but not allowed to do this."""

    code = "forbidden"
    message = N_("Недостаточно прав для этого действия.")


class PasswordRecoveryRequired(Forbidden):
    """The password is suspect: only recovery by SMS code opens the account again."""

    code = "password_recovery_required"
    message = N_(
        "Прежний пароль больше не действует: служба безопасности требует задать новый. "
        "Восстановите пароль по коду из SMS на номер телефона кабинета («Забыли пароль?»)."
    )


class NotFound(HavaError):
    """The object does not exist or is not the caller's."""

    code = "not_found"
    message = N_("Не найдено.")


class EnrolmentLinkInvalid(NotFound):
    """A staff enrolment token that is unknown, already used or expired (one answer)."""

    code = "enrolment_link_invalid"
    message = N_(
        "Ссылка для регистрации недействительна: она уже использована или устарела. "
        "Попросите администратора выдать новую."
    )


class Conflict(HavaError):
    """The state changed meanwhile or the action clashes with existing data."""

    code = "conflict"
    message = N_("Действие уже выполнено или данные изменились. Обновите страницу.")


class CodeInvalid(HavaError):
    """Wrong, expired, used or exhausted confirmation code."""

    code = "code_invalid"
    message = N_("Неверный код подтверждения.")


class CodeExpired(CodeInvalid):
    """The code is older than its lifetime or was already used."""

    code = "code_expired"
    message = N_("Срок действия кода истёк. Запросите новый код.")


class CodeAttemptsExhausted(CodeInvalid):
    """Too many wrong tries for this code."""

    code = "code_attempts_exhausted"
    message = N_("Превышено число попыток ввода кода. Запросите новый код.")


RATE_LIMITED = N_("Слишком много попыток. Повторите через {wait}.")


def wait_text(seconds: int) -> Msg:
    """«5 секунд» under a minute, else whole minutes rounded up: «2 минуты»."""
    seconds = max(1, int(seconds))
    if seconds < 60:
        return plural("{n} секунду", "{n} секунд", seconds)
    return plural("{n} минуту", "{n} минут", -(-seconds // 60))


class RateLimited(HavaError):
    """Too many attempts; ``retry_after`` is in seconds."""

    code = "rate_limited"
    message = N_("Слишком много попыток. Повторите позже.")

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        if message is None:
            message = Msg(RATE_LIMITED, wait=wait_text(self.retry_after))
        super().__init__(message)


class OfferNotAllowed(HavaError):
    """The loan offer would break the regulator's rate caps."""

    code = "offer_not_allowed"
    message = N_("Такие условия займа недоступны.")


class ExtensionNotAllowed(OfferNotAllowed):
    """The extension (продление) would break the regulator's limits."""

    code = "extension_not_allowed"
    message = N_("Продление займа на таких условиях недоступно.")


class InvalidIban(InvalidValue):
    """The payout account is not a valid Kazakh IBAN."""

    code = "invalid_iban"
    message = N_(
        "Проверьте номер счёта (IBAN): казахстанский IBAN начинается с KZ и содержит 20 знаков."
    )


class Maintenance(HavaError):
    """Technical work is on."""

    code = "maintenance"
    message = N_("Ведутся технические работы. Попробуйте войти через 20–30 минут.")


class ServiceUnavailable(HavaError):
    """A dependency failed; the client may retry."""

    code = "service_unavailable"
    message = N_("Сервис временно недоступен. Повторите попытку через минуту.")


class Misconfigured(ServiceUnavailable):
    """A deployed stage still holds a placeholder setting (operators: see the log line)."""

    code = "misconfigured"
    message = N_("Сервис временно недоступен. Мы уже разбираемся.")

    def __init__(self, problems: list[str]) -> None:
        super().__init__()
        #: What the operator must fix, in English, for the log (no personal data).
        self.problems = list(problems)

    def __str__(self) -> str:
        return "placeholder settings on a deployed stage: " + "; ".join(self.problems)
