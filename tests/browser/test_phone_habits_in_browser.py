"""The borrower pages as a phone is used: Back, Forward and reload on every step (issue 14 §1–§4).

Every view is its own history entry; the questionnaire draft (never the password)
survives a reload; a reload on the SMS-code screen reopens the pending
registration without sending another code; mistakes are shown where they are made.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageProblems
from tests.browser.test_cabinet_in_browser import fill_questionnaire
from tests.e2e.conftest import LocalStack
from tests.helpers import PASSWORD, form

pytestmark = pytest.mark.e2e

HEADINGS = {
    "calculator": "Микрозайм онлайн",
    "questionnaire": "Анкета",
    "password": "Придумайте пароль",
    "code": "Код из SMS",
    "cabinet": "Личный кабинет",
}


def on_view(page: Page, base: str, view: str, timeout: float = 15_000) -> None:
    """The view is shown, alone, under its own address inside the site."""
    expect(page.get_by_role("heading", name=HEADINGS[view], exact=True)).to_be_visible(
        timeout=timeout
    )
    expect(page).to_have_url(f"{base}/#{view}")
    assert page.locator(".view:not([hidden])").count() == 1


def no_password_stored(page: Page) -> None:
    stored = page.evaluate("JSON.stringify(sessionStorage) + JSON.stringify(localStorage)")
    assert PASSWORD not in stored


def test_back_forward_and_reload_on_every_registration_step(
    local_stack: LocalStack, phone_page: tuple[Page, PageProblems]
) -> None:
    page, problems = phone_page
    base = local_stack.base_url
    data = form()

    # GIVEN the calculator, then the questionnaire half filled in
    page.goto(base + "/")
    on_view(page, base, "calculator")
    expect(page.locator("#q-total")).not_to_have_text("—")
    expect(page.locator(".stepper:visible")).to_have_text("Шаг 1 из 4")
    page.get_by_role("button", name="Оформить заявку").click()
    on_view(page, base, "questionnaire")
    expect(page.locator(".stepper:visible")).to_have_text("Шаг 2 из 4")
    page.get_by_label("Фамилия").fill(data["surname"])

    # WHEN Back, Forward, reload: THEN the same views, the typed surname kept
    page.go_back()
    on_view(page, base, "calculator")
    page.go_forward()
    on_view(page, base, "questionnaire")
    page.reload()
    on_view(page, base, "questionnaire")
    expect(page.get_by_label("Фамилия")).to_have_value(data["surname"])

    # The whole questionnaire, the password step, Back/Forward/reload there too
    fill_questionnaire(page, data, iin=data["iin"])
    page.get_by_role("button", name="Далее").click()
    on_view(page, base, "password")
    expect(page.locator(".stepper:visible")).to_have_text("Шаг 3 из 4")
    page.go_back()
    on_view(page, base, "questionnaire")
    expect(page.get_by_label("Электронная почта")).to_have_value(data["email"])
    page.go_forward()
    on_view(page, base, "password")
    page.reload()
    on_view(page, base, "password")
    step = page.locator("#view-password")
    step.get_by_label("Пароль", exact=True).fill(PASSWORD)
    step.get_by_label("Пароль ещё раз").fill(PASSWORD)
    no_password_stored(page)
    since = len(local_stack.outbox())
    page.get_by_role("button", name="Получить код").click()
    on_view(page, base, "code", timeout=30_000)
    expect(page.locator(".stepper:visible")).to_have_text("Шаг 4 из 4")
    expect(page.locator("#f-code")).to_be_focused()
    expect(page.locator("#f-code")).to_have_attribute("autocomplete", "one-time-code")
    expect(page.locator("#code-message .nowrap")).to_have_text(re.compile(r"^\+7 700 •••"))
    code = local_stack.latest_code(data["phone"], since=since)
    sent = len(local_stack.outbox())
    no_password_stored(page)

    # The code screen survives a reload without a new SMS (no «Слишком много попыток»)
    page.reload()
    on_view(page, base, "code")
    expect(page.locator("#code-message")).to_contain_text("+7 700")
    expect(
        page.get_by_role("button", name=re.compile(r"^Отправить повторно через 0:\d\d$"))
    ).to_be_disabled()
    page.go_back()
    on_view(page, base, "password")
    page.go_forward()
    on_view(page, base, "code")
    page.wait_for_timeout(500)
    assert len(local_stack.outbox()) == sent

    # A wrong code: the error beside the code field, not in the green status line
    page.get_by_label("Код подтверждения").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.locator("#f-code-apierror")).not_to_be_empty(timeout=30_000)
    expect(page.locator("#status")).to_be_empty()
    page.get_by_label("Код подтверждения").fill(code)
    page.get_by_role("button", name="Подтвердить").click()
    on_view(page, base, "cabinet", timeout=30_000)
    assert page.evaluate("sessionStorage.length") == 0  # the draft is gone with the registration

    # Back from the cabinet never leaves the site nor reopens a registration step
    page.go_back()
    expect(page.get_by_role("heading", name="Личный кабинет")).to_be_visible()
    assert page.url.startswith(base)
    assert problems.errors == []


def test_mistakes_are_shown_where_they_are_made(
    local_stack: LocalStack, phone_page: tuple[Page, PageProblems]
) -> None:
    page, problems = phone_page
    page.goto(local_stack.base_url + "/#questionnaire")
    expect(page.get_by_role("heading", name="Анкета")).to_be_visible()
    view = page.locator("#view-questionnaire")

    # The e-mail without its domain ending: says what is missing
    email = view.get_by_label("Электронная почта")
    email.fill("name@gmail")
    email.blur()
    expect(page.locator("#f-email-apierror")).to_contain_text("не хватает окончания")
    expect(page.locator("#f-email-apierror")).to_contain_text("name@gmail.com")
    expect(email).to_have_attribute("aria-invalid", "true")
    email.fill("name@gmail.com")
    email.blur()
    expect(page.locator("#f-email-apierror")).to_have_count(0)

    # The IIN: a wrong check digit, then a valid one with its birth date read back
    iin = view.get_by_label("ИИН", exact=True)
    iin.fill("900101300123")
    iin.blur()
    expect(page.locator("#f-iin-apierror")).to_contain_text("ИИН")
    iin.fill("9001-0130 0126")  # masked: digits only
    expect(iin).to_have_value("900101300126")
    iin.blur()
    expect(page.locator("#f-iin-apierror")).to_have_count(0)
    expect(page.locator("#f-iin-birth")).to_have_text("Дата рождения: 1 января 1990 г.")

    # The phone mask, whichever way it is typed
    phone = view.get_by_label("Мобильный телефон")
    phone.press_sequentially("87011234567")
    expect(phone).to_have_value("+7 701 123 45 67")
    phone.fill("+7 912 000 00 00")
    phone.blur()
    expect(page.locator("#f-phone-apierror")).to_contain_text("казахстанский")

    # ДД.ММ.ГГГГ whatever the phone's locale; an expired card is refused at once
    expires = view.get_by_label("Действительно до")
    expires.press_sequentially("01012020")
    expect(expires).to_have_value("01.01.2020")
    expires.blur()
    expect(page.locator("#f-id_expires_on-apierror")).to_contain_text("истёк")
    expect(page.locator("#status")).to_be_empty()
    assert problems.errors == []
