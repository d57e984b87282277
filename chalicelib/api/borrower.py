"""Borrower routes: calculator, registration, sign-in, cabinet. Handlers translate only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import i18n, metrics
from chalicelib.api.body import json_body
from chalicelib.api.caller import client_ip, signed_in_borrower, user_agent
from chalicelib.api.errors_http import as_error, json_response, route
from chalicelib.errors import RateLimited

if TYPE_CHECKING:
    from chalicelib.services.sessions import Principal

borrower_api = Blueprint(__name__)


def _request() -> Request:
    return borrower_api.current_request


def _principal(*, allow_restricted: bool = False, allow_consent_pending: bool = False) -> Principal:
    """The signed-in borrower, or 401/403 (services are imported on first use: cold start)."""
    return signed_in_borrower(
        _request(), allow_restricted=allow_restricted, allow_consent_pending=allow_consent_pending
    )


@route(borrower_api, "/v1/product", methods=["GET"])
def product() -> Response:
    """The loan product: limits for the calculator's sliders."""
    # lazy: services.calculator_view loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only product() needs it
    from chalicelib.services import calculator_view

    return json_response(calculator_view.product_view())


@route(borrower_api, "/v1/calculator", methods=["GET"])
def calculator() -> Response:
    """Price an offer: ?amount=…&term_days=…"""
    # lazy: services.calculator_view loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only calculator() needs it
    from chalicelib.services import calculator_view

    params: Mapping[str, str] = _request().query_params or {}
    amount, term = params.get("amount"), params.get("term_days")
    return json_response(calculator_view.quote_view(amount, term))


@route(borrower_api, "/v1/registrations", methods=["POST"])
def start_registration() -> Response:
    """Step 1: questionnaire + first application; an SMS code is sent."""
    # lazy: pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only start_registration() needs it
    from chalicelib.services import auth, registration

    auth.limit_address("registration", client_ip(_request()))
    started = registration.start(
        json_body(_request()),
        client_ip=client_ip(_request()),
        language=i18n.negotiate(_request().headers.get("accept-language")),
    )
    metrics.count("RegistrationStarted")
    return json_response(started.as_dict(), status=202)


@route(borrower_api, "/v1/registrations/{registration_id}/resend", methods=["POST"])
def resend_code(registration_id: str) -> Response:
    """Send a new code (cooldown and hourly cap apply)."""
    # lazy: services.registration loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only resend_code() needs it
    from chalicelib.services import registration

    started = registration.resend(registration_id, client_ip=client_ip(_request()))
    return json_response(started.as_dict(), status=202)


@route(borrower_api, "/v1/registrations/{registration_id}/confirm", methods=["POST"])
def confirm_registration(registration_id: str) -> Response:
    """Step 2: the code creates the account and the application and signs the borrower in."""
    # lazy: services.registration loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only confirm_registration() needs it
    from chalicelib.services import registration

    body = json_body(_request())
    done = registration.confirm(
        registration_id, body, user_agent(_request()), client_ip=client_ip(_request())
    )
    metrics.count("RegistrationConfirmed")
    return json_response(
        {"account_id": done.account_id, "loan_id": done.loan_id, **done.session.as_dict()},
        status=201,
    )


@route(borrower_api, "/v1/sessions", methods=["POST"])
def sign_in() -> Response:
    """Log in with IIN, e-mail or phone and password."""
    # lazy: services.auth loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only sign_in() needs it
    from chalicelib.services import auth

    body = json_body(_request())
    try:
        session = auth.login(body, user_agent(_request()), client_ip=client_ip(_request()))
    except RateLimited:
        metrics.count("SignInThrottled")
        raise
    except Exception as exc:
        if as_error(exc) is not None:  # refused, or storage/AWS failure (503); not a bug
            metrics.count("SignInFailed")
        raise
    metrics.count("SignInOk")
    return json_response(session.as_dict(), status=201)


@route(borrower_api, "/v1/sessions/current", methods=["DELETE"])
def sign_out() -> Response:
    """End this session at once."""
    # lazy: services.auth loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only sign_out() needs it
    from chalicelib.services import auth

    auth.logout(_principal(allow_restricted=True).token_hash)
    return Response(body="", status_code=204)


@route(borrower_api, "/v1/me", methods=["GET"])
def me() -> Response:
    """The borrower's profile, personal data masked."""
    # lazy: services.cabinet loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only me() needs it
    from chalicelib.services import cabinet

    return json_response(cabinet.profile(_principal(allow_consent_pending=True).account_id))


@route(borrower_api, "/v1/me/language", methods=["PUT"])
def set_language() -> Response:
    """The borrower's language, {"language": "kk"|"ru"}: SMS and e-mail follow it."""
    # lazy: services.cabinet loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only set_language() needs it
    from chalicelib.services import cabinet

    principal = _principal(allow_consent_pending=True)
    return json_response(cabinet.set_language(principal.account_id, json_body(_request())))


@route(borrower_api, "/v1/me/password", methods=["POST"])
def change_password() -> Response:
    """A new password (the current one required); optionally end the other sessions."""
    # lazy: services.auth loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only change_password() needs it
    from chalicelib.services import auth

    principal = _principal(allow_consent_pending=True)
    return json_response(auth.change_password(principal, json_body(_request())))


@route(borrower_api, "/v1/me/loans", methods=["GET"])
def my_loans() -> Response:
    """The borrower's applications and loans."""
    # lazy: services.cabinet loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only my_loans() needs it
    from chalicelib.services import cabinet

    return json_response({"items": cabinet.loans(_principal().account_id)})


@route(borrower_api, "/v1/me/loans", methods=["POST"])
def apply_for_loan() -> Response:
    """A new application of a signed-in borrower: {amount, term_days} (one open at a time)."""
    # lazy: services.lending loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only apply_for_loan() needs it
    from chalicelib.services import lending

    loan = lending.apply(_principal(), json_body(_request()))
    return json_response(loan, status=201)


@route(borrower_api, "/v1/me/loans/{loan_id}/payout-account", methods=["PUT"])
def set_payout_account(loan_id: str) -> Response:
    """The borrower's own Kazakh IBAN for the payout: {iban, own_account: true}."""
    # lazy: services.loan_signing loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only set_payout_account() needs it
    from chalicelib.services import loan_signing

    principal = _principal()
    body = json_body(_request())
    return json_response(loan_signing.set_payout_account(principal, loan_id, body))


@route(borrower_api, "/v1/me/loans/{loan_id}/signature", methods=["POST"])
def start_signature(loan_id: str) -> Response:
    """The offer of an approved application, and an SMS code to sign it."""
    # lazy: services.loan_signing loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only start_signature() needs it
    from chalicelib.services import loan_signing

    started = loan_signing.start_signing(_principal(), loan_id, client_ip(_request()))
    return json_response(started, status=202)


@route(borrower_api, "/v1/me/loans/{loan_id}/signature/confirm", methods=["POST"])
def confirm_signature(loan_id: str) -> Response:
    """The code signs the agreement: {challenge_id, code}."""
    # lazy: services.loan_signing loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only confirm_signature() needs it
    from chalicelib.services import loan_signing

    principal = _principal()
    body = json_body(_request())
    loan = loan_signing.confirm_signing(
        principal, loan_id, body, client_ip(_request()), user_agent(_request())
    )
    return json_response(loan)


@route(borrower_api, "/v1/me/loans/{loan_id}/agreement", methods=["GET"])
def agreement_link(loan_id: str) -> Response:
    """A short-lived link to the signed agreement (PDF)."""
    # lazy: services.loan_signing loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only agreement_link() needs it
    from chalicelib.services import loan_signing

    params: Mapping[str, str] = _request().query_params or {}
    language = params.get("language")
    return json_response(loan_signing.agreement_link(_principal(), loan_id, language))


@route(borrower_api, "/v1/me/loans/{loan_id}/extension", methods=["POST"])
def start_extension(loan_id: str) -> Response:
    """Price an extension by {days} and send the code that signs it."""
    # lazy: services.loan_signing loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only start_extension() needs it
    from chalicelib.services import loan_signing

    principal = _principal()
    body = json_body(_request())
    started = loan_signing.start_extension(principal, loan_id, body, client_ip(_request()))
    return json_response(started, status=202)


@route(borrower_api, "/v1/me/loans/{loan_id}/extension/confirm", methods=["POST"])
def confirm_extension(loan_id: str) -> Response:
    """The code signs the extension: {challenge_id, code}; it takes effect once paid."""
    # lazy: services.loan_signing loads pynamodb + botocore (≈ 317 ms CPU at cold start);
    # only confirm_extension() needs it
    from chalicelib.services import loan_signing

    principal = _principal()
    body = json_body(_request())
    done = loan_signing.confirm_extension(
        principal, loan_id, body, client_ip(_request()), user_agent(_request())
    )
    return json_response(done)
