"""Registration, confirmation, login and cabinet through the Chalice app."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest

from tests.conftest import FrozenClock
from tests.factories import test_phone, valid_iin
from tests.helpers import PASSWORD, Api, form


def test_registration_creates_account_application_and_signs_in(api: Api) -> None:
    # GIVEN a valid questionnaire
    data = form()
    # WHEN the borrower registers and confirms with the SMS code
    done = api.register(data)
    # THEN they are signed in and see their masked profile and the application
    me = api.get("/v1/me", token=done["token"])
    assert me.status == 200, me.body
    assert me.body["iin"] == data["iin"][:4] + "••••••" + data["iin"][-2:]
    assert me.body["phone"].endswith(data["phone"][-2:])
    assert "•••" in me.body["phone"]
    assert me.body["surname"] == "Тестова"
    loans = api.get("/v1/me/loans", token=done["token"])
    assert loans.status == 200
    (loan,) = loans.body["items"]
    assert loan["status"] == "submitted"
    assert loan["amount"] == 50_000
    assert loan["term_days"] == 15
    # 50 000 × 0.28 % × 15 days = 2 100 ₸ of interest
    assert loan["total_to_repay"] == "52100.00"


def test_every_invalid_field_is_named_in_russian_and_nothing_is_sent(api: Api) -> None:
    # GIVEN a questionnaire with many mistakes at once
    bad = form(
        iin="123456789012",
        phone="+7 916 123 45 67",
        email="not-an-email",
        amount=5_000,
        term_days=90,
        password="short",
        password_confirm="other",
        surname="R2-D2",
        id_expires_on=(date.today() - timedelta(days=1)).isoformat(),
        consent=False,
    )
    # WHEN step 1 is sent
    reply = api.start(bad)
    # THEN every field is reported at once, by name, and no SMS is queued
    assert reply.status == 400
    assert reply.error["code"] == "validation_failed"
    fields = reply.error["fields"]
    for name in (
        "iin",
        "phone",
        "email",
        "amount",
        "term_days",
        "password",
        "surname",
        "id_expires_on",
        "consent",
    ):
        assert name in fields, name
    assert "10 000" in fields["amount"]
    assert api.aws.queued() == []


def test_underage_borrower_is_refused(api: Api) -> None:
    reply = api.start(form(iin=valid_iin(age_years=18, serial=7)))
    assert reply.status == 400
    assert "19" in reply.error["fields"]["iin"]


def test_unknown_and_malformed_bodies_are_4xx(api: Api) -> None:
    assert api.call("POST", "/v1/registrations", raw=b"{not json").status == 400
    assert api.call("POST", "/v1/registrations", raw=b"\xff\xfe").status == 400
    assert api.call("POST", "/v1/registrations", raw=b"[1, 2]").status == 400
    assert api.call("POST", "/v1/registrations", raw=b"x" * 20_000).status == 413
    unknown = api.start({**form(), "is_admin": True})
    assert unknown.status == 400
    assert "is_admin" in unknown.error["fields"]
    wrong_types = api.start(form(amount="50000", term_days=True, surname=["x"]))
    assert wrong_types.status == 400
    assert {"amount", "term_days", "surname"} <= set(wrong_types.error["fields"])


def test_step_one_answers_the_same_for_a_registered_phone_and_its_owner_is_told(
    api: Api, frozen_clock: FrozenClock
) -> None:
    # GIVEN an existing account, registered more than a resend cooldown ago
    first = form()
    api.register(first)
    frozen_clock.advance(61)
    # WHEN a stranger starts a registration with the same phone (other IIN, e-mail)
    again = form(phone=first["phone"])
    reply = api.start(again)
    # THEN the answer looks like any other and the owner gets a notice, not a code
    fresh = api.start(form())
    assert reply.status == fresh.status == 202
    assert set(reply.body) == set(fresh.body)
    notice = api.sms_to(first["phone"])[-1]
    assert "уже зарегистрирован" in notice
    assert not any(ch.isdigit() for ch in notice.split("Hava:")[1][:60])


@pytest.mark.parametrize("clash_on", ["iin", "email", "EMAIL"])
def test_a_taken_iin_or_email_is_answered_like_fresh_data_and_its_owner_is_told(
    api: Api, clash_on: str
) -> None:
    # GIVEN a borrower of record
    owner = form()
    api.register(owner)
    # WHEN someone registers with their own phone and the owner's IIN (or e-mail, any case)
    taken = {
        "iin": {"iin": owner["iin"]},
        "email": {"email": owner["email"]},
        "EMAIL": {"email": owner["email"].upper()},
    }[clash_on]
    clash, fresh = form(**taken), form()
    replies = []
    for data in (clash, fresh):
        started = api.start(data)
        assert started.status == 202
        code = api.latest_code(data["phone"])
        replies.append(
            api.post(f"/v1/registrations/{started.body['registration_id']}/confirm", {"code": code})
        )
    # THEN both confirmations answer alike: status, keys, types
    clash_reply, fresh_reply = replies
    assert clash_reply.status == fresh_reply.status == 201, clash_reply.body
    assert set(clash_reply.body) == set(fresh_reply.body)
    assert {k: type(v) for k, v in clash_reply.body.items()} == {
        k: type(v) for k, v in fresh_reply.body.items()
    }
    # AND no account was made: the token opens nothing, the phone signs nobody in
    assert api.get("/v1/me", token=clash_reply.body["token"]).status == 401
    assert api.login(clash["phone"]).status == 401
    assert api.get("/v1/me", token=fresh_reply.body["token"]).status == 200
    # AND the owner of record was told by SMS and by e-mail, without the stranger's data
    sms = [t for t in api.sms_to(owner["phone"]) if "пытался зарегистрировать" in t]
    mails = [m for m in api.aws.outbox() if m["channel"] == "email" and m["to"] == owner["email"]]
    assert len(sms) == 1 and len(mails) == 1
    kind = "ИИН" if clash_on == "iin" else "адрес электронной почты"
    assert kind in sms[0] and kind in mails[0]["text"]
    assert clash["phone"] not in sms[0] + mails[0]["text"]


def test_owner_notices_of_registration_attempts_are_merged_per_day(api: Api) -> None:
    owner = form()
    api.register(owner)
    for n in range(3):
        clash = form(iin=owner["iin"], phone=test_phone(8100 + n), email=f"try{n}@example.kz")
        rid = api.start(clash).body["registration_id"]
        code = api.latest_code(clash["phone"])
        assert api.post(f"/v1/registrations/{rid}/confirm", {"code": code}).status == 201
    sms = [t for t in api.sms_to(owner["phone"]) if "пытался зарегистрировать" in t]
    mails = [m for m in api.aws.outbox() if m["channel"] == "email" and m["to"] == owner["email"]]
    assert len(sms) == 1 and len(mails) == 1


def test_a_registration_with_a_taken_iin_still_uses_its_code_once(api: Api) -> None:
    owner = form()
    api.register(owner)
    clash = form(iin=owner["iin"])
    rid = api.start(clash).body["registration_id"]
    code = api.latest_code(clash["phone"])
    assert api.post(f"/v1/registrations/{rid}/confirm", {"code": code}).status == 201
    again = api.post(f"/v1/registrations/{rid}/confirm", {"code": code})
    assert again.status == 422
    assert again.error["code"] == "code_expired"


def test_confirmation_is_padded_to_the_configured_floor(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from chalicelib.config import reset_settings

    monkeypatch.setenv("HAVA_REGISTRATION_MIN_RESPONSE_MS", "300")
    reset_settings()
    data = form()
    rid = api.start(data).body["registration_id"]
    code = api.latest_code(data["phone"])
    began = time.monotonic()
    assert api.post(f"/v1/registrations/{rid}/confirm", {"code": code}).status == 201
    assert time.monotonic() - began >= 0.3


def test_wrong_codes_count_and_the_sixth_try_is_refused(api: Api) -> None:
    data = form()
    rid = api.start(data).body["registration_id"]
    code = api.latest_code(data["phone"])
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        reply = api.post(f"/v1/registrations/{rid}/confirm", {"code": wrong})
        assert reply.status == 422
        assert f"Осталось попыток: {left}" in reply.error["message"]
    fifth = api.post(f"/v1/registrations/{rid}/confirm", {"code": wrong})
    assert fifth.error["code"] == "code_attempts_exhausted"
    # The right code no longer helps once the tries are used up.
    sixth = api.post(f"/v1/registrations/{rid}/confirm", {"code": code})
    assert sixth.status == 422
    assert sixth.error["code"] == "code_attempts_exhausted"


def test_a_code_works_once(api: Api) -> None:
    data = form()
    rid = api.start(data).body["registration_id"]
    code = api.latest_code(data["phone"])
    assert api.post(f"/v1/registrations/{rid}/confirm", {"code": code}).status == 201
    again = api.post(f"/v1/registrations/{rid}/confirm", {"code": code})
    assert again.status == 422
    assert again.error["code"] == "code_expired"


def test_an_expired_code_is_refused_even_before_ttl_removes_it(
    api: Api, frozen_clock: FrozenClock
) -> None:
    data = form()
    rid = api.start(data).body["registration_id"]
    code = api.latest_code(data["phone"])
    frozen_clock.advance(601)
    reply = api.post(f"/v1/registrations/{rid}/confirm", {"code": code})
    assert reply.status == 422
    assert reply.error["code"] == "code_expired"


def test_resend_has_a_cooldown_and_replaces_the_code(api: Api, frozen_clock: FrozenClock) -> None:
    data = form()
    rid = api.start(data).body["registration_id"]
    first_code = api.latest_code(data["phone"])
    # WHEN the borrower asks again at once
    early = api.post(f"/v1/registrations/{rid}/resend")
    # THEN the cooldown refuses it with Retry-After
    assert early.status == 429
    assert 0 < int(early.headers["Retry-After"]) <= 60
    # AND after the cooldown a new code replaces the old one
    frozen_clock.advance(61)
    assert api.post(f"/v1/registrations/{rid}/resend").status == 202
    new_code = api.latest_code(data["phone"])
    if new_code != first_code:
        old = api.post(f"/v1/registrations/{rid}/confirm", {"code": first_code})
        assert old.status == 422
    assert api.post(f"/v1/registrations/{rid}/confirm", {"code": new_code}).status == 201


def test_hourly_cap_on_codes_per_number(
    api: Api, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock
) -> None:
    monkeypatch.setenv("HAVA_CODE_SENDS_PER_HOUR", "2")
    monkeypatch.setenv("HAVA_CODE_RESEND_COOLDOWN_SECONDS", "1")
    from chalicelib.config import reset_settings

    reset_settings()
    phone = test_phone(4242)
    for i in range(2):
        frozen_clock.at(2 * i)
        assert api.start(form(phone=phone)).status == 202
    frozen_clock.at(10)
    capped = api.start(form(phone=phone))
    assert capped.status == 429
    assert capped.error["code"] == "rate_limited"


@pytest.mark.parametrize("spelling", ["iin", "email_upper", "phone_8", "phone_brackets"])
def test_login_with_each_identifier_and_logout(api: Api, spelling: str) -> None:
    data = form()
    api.register(data)
    digits = data["phone"][2:]
    login = {
        "iin": data["iin"],
        "email_upper": data["email"].upper(),
        "phone_8": f"8 {digits[:3]} {digits[3:6]} {digits[6:8]} {digits[8:]}",
        "phone_brackets": f"+7 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}",
    }[spelling]
    reply = api.login(login)
    assert reply.status == 201, reply.body
    token = reply.body["token"]
    assert api.get("/v1/me", token=token).status == 200
    assert api.call("DELETE", "/v1/sessions/current", token=token).status == 204
    assert api.get("/v1/me", token=token).status == 401


def test_wrong_password_and_unknown_login_get_the_same_answer(api: Api) -> None:
    data = form()
    api.register(data)
    wrong = api.login(data["email"], "совсем-не-тот-пароль")
    unknown = api.login("nobody@example.kz", PASSWORD)
    garbage = api.login("???", PASSWORD)
    assert wrong.status == unknown.status == garbage.status == 401
    assert wrong.body == unknown.body == garbage.body
    assert wrong.error["message"] == "Неверный логин или пароль"


def test_each_login_gets_a_new_session(api: Api) -> None:
    data = form()
    api.register(data)
    first = api.login(data["iin"]).body["token"]
    second = api.login(data["iin"]).body["token"]
    assert first != second
    assert api.get("/v1/me", token=first).status == 200
    assert api.get("/v1/me", token=second).status == 200


def test_cabinet_needs_a_session(api: Api) -> None:
    assert api.get("/v1/me").status == 401
    assert api.get("/v1/me", token="forged-token").status == 401
    assert api.get("/v1/me/loans", token="x" * 500).status == 401


def test_idle_session_expires(api: Api, frozen_clock: FrozenClock) -> None:
    token = api.register()["token"]
    frozen_clock.advance(31 * 60)
    assert api.get("/v1/me", token=token).status == 401


def test_maintenance_mode(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAVA_MAINTENANCE", "true")
    from chalicelib.config import reset_settings

    reset_settings()
    for reply in (api.get("/v1/product"), api.login("x", "y"), api.get("/v1/me")):
        assert reply.status == 503
        assert reply.headers["Retry-After"] == "1800"
        assert reply.error["message"] == (
            "Ведутся технические работы. Попробуйте войти через 20–30 минут."
        )
    assert api.get("/health").status == 200


def test_calculator_prices_and_refuses_out_of_range(api: Api) -> None:
    ok = api.get("/v1/calculator?amount=50000&term_days=30")
    assert ok.status == 200
    # 50 000 × 0.0028 × 30 = 4 200 ₸; ГЭСВ = (54 200 / 50 000)^(365/30) − 1 ≈ 166.8 %
    assert ok.body["interest"] == "4200.00"
    assert ok.body["total"] == "54200.00"
    assert ok.body["gesv_percent"] == "166.8"
    low = api.get("/v1/calculator?amount=500&term_days=30")
    assert low.status == 400
    assert "от 10 000" in low.error["fields"]["amount"]
    junk = api.get("/v1/calculator?amount=abc")
    assert junk.status == 400
    assert set(junk.error["fields"]) == {"amount", "term_days"}


def test_calculator_refuses_a_configured_rate_that_breaks_the_caps(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAVA_LOAN_DAILY_RATE", "0.0035")
    from chalicelib.config import reset_settings

    reset_settings()
    reply = api.get("/v1/calculator?amount=50000&term_days=10")
    assert reply.status == 422
    assert reply.error["code"] == "offer_not_allowed"


def test_concurrent_registrations_with_one_iin_make_one_account(api: Api) -> None:
    # GIVEN five confirmed-ready registrations sharing one IIN (distinct phones and e-mails)
    iin = valid_iin(serial=99)
    pending = []
    for n in range(5):
        data = form(iin=iin, phone=test_phone(9000 + n), email=f"race{n}@example.kz")
        rid = api.start(data).body["registration_id"]
        pending.append((rid, api.latest_code(data["phone"])))
    # WHEN all are confirmed at the same moment
    results: list[int] = []
    barrier = threading.Barrier(len(pending))

    def confirm(rid: str, code: str) -> None:
        barrier.wait()
        results.append(api.post(f"/v1/registrations/{rid}/confirm", {"code": code}).status)

    threads = [threading.Thread(target=confirm, args=p) for p in pending]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # THEN exactly one account exists; the others answered alike (201) or asked to retry
    # (409 "already in progress": a DynamoDB transaction conflict, which names nothing)
    assert all(s in (201, 409) for s in results), results
    assert api.login(iin).status == 201
    signed = [api.login(test_phone(9000 + n)).status for n in range(5)]
    assert signed.count(201) == 1, signed


def test_strange_bodies_on_confirm_and_login_are_clean_4xx(api: Api) -> None:
    data = form()
    rid = api.start(data).body["registration_id"]
    missing = api.post(f"/v1/registrations/{rid}/confirm", {})
    assert missing.status == 400
    assert "code" in missing.error["fields"]
    assert api.post(f"/v1/registrations/{rid}/confirm", {"code": 123456}).status == 400
    surrogate = api.call(
        "POST", "/v1/sessions", raw=b'{"login": "a@b.kz", "password": "\\ud800abcdefgh"}'
    )
    assert surrogate.status == 400
    assert api.login("", "").status == 400
    extra = api.post("/v1/sessions", {"login": "a@b.kz", "password": "12345678", "x": 1})
    assert extra.status == 400
    bad_reg = api.call(
        "POST",
        "/v1/registrations",
        raw=('{"password": "\\ud800", "phone": "' + data["phone"] + '"}').encode(),
    )
    assert bad_reg.status == 400
