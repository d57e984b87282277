"""The cabinet and the support desk in headless Chromium, against the local stack.

One journey from the calculator to signing in with the new phone number, plus
the wrong-password message and the maintenance page. Screenshots at 360 px go
to ``tests/artifacts`` for people to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageProblems
from tests.e2e.conftest import LocalStack
from tests.e2e.test_phone_change_journey import jpeg
from tests.factories import test_phone, valid_iin
from tests.helpers import PASSWORD, form
from tests.staffing import STAFF_PASSWORD, invite_on_stack

pytestmark = pytest.mark.e2e

DOCUMENTS = ("id_front", "id_back", "selfie")


def fill_questionnaire(page: Page, data: dict[str, str], iin: str) -> None:
    view = page.locator("#view-questionnaire")
    view.get_by_label("Фамилия").fill(data["surname"])
    view.get_by_label("Имя", exact=True).fill(data["name"])
    view.get_by_label("Отчество (если есть)").fill(data["patronymic"])
    view.get_by_label("ИИН", exact=True).fill(iin)
    view.get_by_label("Номер удостоверения").fill(data["id_number"])
    view.get_by_label("Кем выдано").fill(data["id_issued_by"])
    view.get_by_label("Дата выдачи").fill(data["id_issued_on"])
    view.get_by_label("Действительно до").fill(data["id_expires_on"])
    view.get_by_label("Мобильный телефон").fill(data["phone"])
    view.get_by_label("Электронная почта").fill(data["email"])
    view.get_by_label("Я даю согласие").check()


def sign_in(page: Page, login: str, password: str) -> None:
    view = page.locator("#view-login")
    view.get_by_label("ИИН, e-mail или телефон").fill(login)
    view.get_by_label("Пароль", exact=True).fill(password)
    view.get_by_role("button", name="Войти", exact=True).click()


def test_borrower_journey_from_calculator_to_new_phone(
    local_stack: LocalStack,
    phone_page: tuple[Page, PageProblems],
    desk_page: tuple[Page, PageProblems],
    artifacts: Path,
) -> None:
    page, problems = phone_page
    base = local_stack.base_url
    data = form()

    # The calculator: limits from /v1/product, the quote follows the sliders and inputs.
    page.goto(base + "/")
    expect(page.get_by_role("heading", name="Микрозайм онлайн")).to_be_visible()
    total = page.locator("#q-total")
    expect(total).not_to_have_text("—")
    page.get_by_label("Сумма, ₸").fill("50000")
    page.get_by_label("Сумма, ₸").dispatch_event("change")
    expect(page.locator("#calc-amount-range")).to_have_value("50000")
    page.get_by_label("Срок, дней").fill("15")
    page.get_by_label("Срок, дней").dispatch_event("change")
    expect(total).to_have_text(re.compile(r"^52\s?100 ₸$"))  # 50 000 + 0.28 % × 15 days
    before = page.locator("#q-date").inner_text()
    page.get_by_label("Срок, ползунок").focus()
    page.keyboard.press("ArrowRight")  # the keyboard moves the slider
    expect(page.get_by_label("Срок, дней")).to_have_value("16")
    expect(page.locator("#q-date")).not_to_have_text(before)
    expect(page.locator("#q-gesv")).to_have_text(re.compile(r"^\d+(,\d+)?\s%$"))  # «171,0 %»
    page.get_by_label("Срок, дней").fill("15")
    page.get_by_label("Срок, дней").dispatch_event("change")
    expect(total).to_have_text(re.compile(r"^52\s?100 ₸$"))
    page.screenshot(path=str(artifacts / "calculator-360.png"), full_page=True)
    page.get_by_role("button", name="Оформить заявку").click()

    # The questionnaire; a wrong IIN is caught on the spot, before the password step.
    expect(page.get_by_role("heading", name="Анкета")).to_be_visible()
    fill_questionnaire(page, data, iin="123456789012")
    page.get_by_role("button", name="Далее").click()
    expect(page.get_by_role("heading", name="Анкета")).to_be_visible()
    iin = page.locator("#view-questionnaire").get_by_label("ИИН", exact=True)
    expect(iin).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-iin-apierror")).not_to_be_empty()
    expect(page.get_by_role("alert").first).to_be_visible()
    iin.fill(data["iin"])
    iin.blur()
    expect(page.locator("#f-iin-apierror")).to_have_count(0)
    expect(page.locator("#f-iin-birth")).to_contain_text("Дата рождения")
    page.get_by_role("button", name="Далее").click()
    step = page.locator("#view-password")
    step.get_by_label("Пароль", exact=True).fill(PASSWORD)
    step.get_by_label("Пароль ещё раз").fill(PASSWORD)
    outbox_before = len(local_stack.outbox())
    page.get_by_role("button", name="Получить код").click()

    # The SMS code screen with its resend countdown (the first registration of a run is slow).
    expect(page.get_by_role("heading", name="Код из SMS")).to_be_visible(timeout=30_000)
    resend = page.get_by_role("button", name=re.compile("^Отправить повторно через 0:5"))
    expect(resend).to_be_disabled()
    expect(page.locator("#f-code")).to_be_focused()
    code = local_stack.latest_code(data["phone"], since=outbox_before)
    page.locator("#view-code").get_by_label("Код подтверждения").fill(code)
    page.get_by_role("button", name="Подтвердить").click()

    # The cabinet: masked profile, the application, no requests yet.
    expect(page.get_by_role("heading", name="Личный кабинет")).to_be_visible()
    profile = page.locator("#profile")
    expect(profile).to_contain_text("Тестова")
    expect(profile).not_to_contain_text(data["iin"])  # masked
    expect(page.locator("#loans li")).to_have_count(1)
    expect(page.locator("#loans")).to_contain_text("50 000")
    page.screenshot(path=str(artifacts / "cabinet-360.png"), full_page=True)

    # The token is out of script's reach: an HttpOnly cookie, never in document.cookie.
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["__Host-hava_session"]["httpOnly"] is True
    assert cookies["__Host-hava_session"]["sameSite"] == "Strict"
    assert "__Host-hava_session" not in page.evaluate("document.cookie")
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0

    # Phone change: the new number's code, three real photos straight to the bucket.
    new_phone = test_phone(9700 + int(data["id_number"]) % 100)
    page.get_by_role("button", name="Изменить номер телефона").click()
    change = page.locator("#view-phone")
    change.get_by_label("Новый номер").fill(new_phone)
    change.get_by_label("Пароль от кабинета").fill(PASSWORD)
    outbox_before = len(local_stack.outbox())
    page.get_by_role("button", name="Продолжить").click()
    expect(page.locator("#uploads li")).to_have_count(3)
    new_code = local_stack.latest_code(new_phone, since=outbox_before)
    change.get_by_label("Код из SMS").fill(new_code)
    page.get_by_role("button", name="Подтвердить номер").click()
    expect(page.locator("#phone-code-form")).to_be_hidden()
    for n, doc in enumerate(DOCUMENTS):
        page.locator(f"#file-{doc}").set_input_files(
            {"name": f"{doc}.jpg", "mimeType": "image/jpeg", "buffer": jpeg(n)}
        )
        expect(page.locator(f"#progress-{doc}")).to_have_attribute("value", "100")
    for doc in DOCUMENTS:
        expect(page.locator(f"#verdict-{doc}")).to_have_text(
            "Фото подходит — его проверит сотрудник", timeout=30_000
        )
    expect(page.locator("#phone-status")).to_contain_text("На рассмотрении", timeout=20_000)
    page.get_by_role("button", name="Вернуться в кабинет").click()
    expect(page.locator("#requests")).to_contain_text("Изменение номера телефона")

    # The support desk: the member enrols through the one-time link (own password,
    # the TOTP key shown once), then password + TOTP, the queue, photos, approval.
    desk, desk_problems = desk_page
    token = invite_on_stack(local_stack, "browser.support", "support")
    desk.goto(base + "/staff#enrol=" + token)
    expect(desk.get_by_role("heading", name="Регистрация сотрудника")).to_be_visible()
    assert "enrol" not in desk.url  # the token leaves the address bar at once
    desk.get_by_label("Новый пароль", exact=True).fill(STAFF_PASSWORD)
    desk.get_by_label("Новый пароль ещё раз").fill(STAFF_PASSWORD)
    desk.get_by_role("button", name="Задать пароль").click()
    expect(desk.locator("#e-secret")).not_to_have_value("")
    totp = pyotp.TOTP(desk.locator("#e-secret").input_value())
    desk.get_by_role("button", name="Перейти ко входу").click()
    expect(desk.get_by_label("Логин", exact=True)).to_have_value("browser.support")
    desk.get_by_label("Пароль", exact=True).fill(STAFF_PASSWORD)
    desk.get_by_label("Код из приложения-аутентификатора").fill(totp.now())
    desk.get_by_role("button", name="Войти").click()
    expect(desk.get_by_role("heading", name="Очередь заявок")).to_be_visible()
    row = desk.locator("#queue tr", has_text="Изменение номера телефона").first
    expect(row).to_be_visible()
    row.get_by_role("button", name=re.compile("^Открыть")).click()
    expect(desk.locator("#review-borrower")).to_contain_text(new_phone)
    photos = desk.locator("#review-documents img")
    expect(photos).to_have_count(3)
    for i in range(3):
        expect(photos.nth(i)).to_have_js_property("complete", True)
        assert photos.nth(i).evaluate("img => img.naturalWidth") == 800
    desk.screenshot(path=str(artifacts / "staff-review-desktop.png"), full_page=True)
    # The photo viewer: zoom and rotate the ID card.
    desk.get_by_role("button", name=re.compile("^Открыть фото: Удостоверение")).first.click()
    viewer = desk.get_by_role("dialog", name=re.compile("^Удостоверение"))
    expect(viewer).to_be_visible()
    viewer.get_by_role("button", name="Повернуть").click()
    viewer.get_by_role("button", name="Увеличить").click()
    expect(desk.locator("#photo-image")).to_have_attribute(
        "style", re.compile(r"rotate\(90deg\) scale\(1\.25\)")
    )
    viewer.get_by_role("button", name="Закрыть").click()
    expect(viewer).to_be_hidden()
    desk.get_by_label("Одобрить").check()
    desk.get_by_label(re.compile("^Внутренняя заметка")).fill("Документы и селфи совпадают")
    desk.get_by_role("button", name="Принять решение").click()
    confirm = desk.get_by_role("dialog", name="Подтвердите решение")
    expect(confirm).to_contain_text(new_phone)
    confirm.get_by_role("button", name="Да, сменить номер").click()
    expect(desk.locator("#review-meta")).to_contain_text("Одобрена")
    desk.get_by_role("button", name="Журнал аудита этой учётной записи").click()
    expect(desk.locator("#audit")).to_contain_text("browser.support")
    assert desk_problems.errors == []

    # The borrower's sessions ended with the approval; the new number signs in.
    page.reload()
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    sign_in(page, data["phone"], PASSWORD)
    expect(page.locator("#login-error")).to_have_text("Неверный логин или пароль")
    sign_in(page, new_phone, PASSWORD)
    expect(page.get_by_role("heading", name="Личный кабинет")).to_be_visible()
    expect(page.locator("#requests")).to_contain_text("Одобрена")
    assert problems.errors == []


def test_wrong_password_gets_the_apis_one_answer(
    local_stack: LocalStack, phone_page: tuple[Page, PageProblems]
) -> None:
    page, problems = phone_page
    page.goto(local_stack.base_url + "/")
    page.get_by_role("button", name="Войти").first.click()
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    sign_in(page, valid_iin(age_years=40, sex="M", serial=4242), "не-тот-пароль-совсем")
    message = page.locator("#login-error")
    expect(message).to_have_text("Неверный логин или пароль")
    expect(message).to_have_attribute("role", "alert")
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    # Reachable without signing in: the report of a break-in.
    page.get_by_role("button", name=re.compile("^Не получается зайти")).click()
    page.get_by_label("ИИН, e-mail или телефон кабинета").fill("someone@example.kz")
    page.get_by_label("Как с вами связаться").fill("+77011234567")
    page.get_by_label("Что случилось").fill("Не могу войти, пароль не подходит")
    page.get_by_role("button", name="Отправить").click()
    expect(page.locator("#report-done-message")).not_to_be_empty()
    page.get_by_role("button", name="Отправить ещё одно сообщение").click()
    expect(page.get_by_label("Что случилось")).to_be_visible()
    assert problems.errors == []


def test_maintenance_page_shows_the_apis_message(
    maintenance_stack: LocalStack, phone_page: tuple[Page, PageProblems], artifacts: Path
) -> None:
    page, problems = phone_page
    page.goto(maintenance_stack.base_url + "/")
    expect(page.get_by_role("heading", name="Технические работы")).to_be_visible()
    message = maintenance_stack.get("/v1/product").json()["error"]["message"]
    expect(page.locator("#maintenance-message")).to_have_text(message)
    expect(page.get_by_role("heading", name="Микрозайм онлайн")).to_be_hidden()
    page.screenshot(path=str(artifacts / "maintenance-360.png"))
    assert problems.errors == []


def test_an_old_password_after_a_break_in_report_leads_straight_to_recovery(
    local_stack: LocalStack, phone_page: tuple[Page, PageProblems]
) -> None:
    from tests.security.conftest import register

    # GIVEN a borrower who reported a break-in (over HTTP)
    data, borrower = register(local_stack)
    reported = borrower.call("POST", "/v1/me/compromise", {"description": "Чужой вход"})
    assert reported.status_code == 201, reported.text
    # WHEN the old password is typed into the cabinet
    page, problems = phone_page
    page.goto(local_stack.base_url + "/")
    page.get_by_role("button", name="Войти").first.click()
    sign_in(page, data["email"], PASSWORD)
    # THEN the recovery screen opens with the login filled in and the API's reason
    expect(page.get_by_role("heading", name="Восстановление пароля")).to_be_visible()
    expect(page.locator("#r-login")).to_have_value(data["email"])
    expect(page.locator("#recovery-reason")).to_contain_text("SMS")
    expect(page.locator("#view-cabinet")).to_be_hidden()
    assert problems.errors == []


def test_an_admin_enrols_by_link_and_hands_out_links_without_passwords(
    local_stack: LocalStack, desk_page: tuple[Page, PageProblems]
) -> None:
    desk, _problems = desk_page
    # GIVEN the first admin, bootstrapped with `make staff ROLES=admin`, opening the link
    token = invite_on_stack(local_stack, "browser.admin", "admin")
    desk.goto(local_stack.base_url + "/staff#enrol=" + token)
    expect(desk.get_by_role("heading", name="Регистрация сотрудника")).to_be_visible()
    assert "enrol" not in desk.url
    desk.get_by_label("Новый пароль", exact=True).fill(STAFF_PASSWORD)
    desk.get_by_label("Новый пароль ещё раз").fill(STAFF_PASSWORD)
    desk.get_by_role("button", name="Задать пароль").click()
    expect(desk.locator("#e-secret")).not_to_have_value("", timeout=30_000)
    totp = pyotp.TOTP(desk.locator("#e-secret").input_value())
    desk.get_by_role("button", name="Перейти ко входу").click()
    expect(desk.get_by_label("Логин", exact=True)).to_have_value("browser.admin")
    desk.get_by_label("Пароль", exact=True).fill(STAFF_PASSWORD)
    desk.get_by_label("Код из приложения-аутентификатора").fill(totp.now())
    desk.get_by_role("button", name="Войти").click()
    # WHEN the admin adds a support member
    expect(desk.get_by_role("heading", name="Сотрудники")).to_be_visible(timeout=30_000)
    desk.get_by_label("Логин нового сотрудника").fill("browser.agent")
    desk.get_by_role("checkbox", name=re.compile("support —")).check()
    desk.get_by_role("button", name="Создать и получить ссылку").click()
    # THEN a one-time link is all the admin gets
    expect(desk.locator("#staff-link-url")).to_have_value(
        re.compile(r"/staff#enrol=browser\.agent\."), timeout=30_000
    )
    expect(desk.locator("#staff")).to_contain_text("ждёт регистрации", timeout=30_000)
    # AND admin is never combined with a review role
    desk.get_by_label("Логин нового сотрудника").fill("browser.boss")
    desk.get_by_role("checkbox", name=re.compile("admin —")).check()
    desk.get_by_role("checkbox", name=re.compile("security —")).check()
    desk.get_by_role("button", name="Создать и получить ссылку").click()
    expect(desk.get_by_role("alert").first).to_contain_text("не совмещается", timeout=30_000)
