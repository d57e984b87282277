"""A first loan in headless Chromium: applied for, approved, signed, paid out, repaid.

The borrower registers with a first application on a 360 px phone; a support
agent decides, pays out and records the repayment in the loan desk. Everything
asserted is what the borrower reads. The loan screen at 360 px goes to
``tests/artifacts``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from bench.reliability import GENEROUS_LIMITS
from chalicelib import clock
from tests.browser.conftest import PageProblems
from tests.browser.test_cabinet_in_browser import fill_questionnaire
from tests.e2e.conftest import LocalStack, start_local_stack
from tests.helpers import PASSWORD, form
from tests.staffing import STAFF_PASSWORD, enrol_on_stack
from tests.unit.test_iban import kz_iban

pytestmark = pytest.mark.e2e

PAYOUT_IBAN = kz_iban("601A000000004242")  # Halyk, check digits computed
MONTHS = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)


def money(amount: str) -> re.Pattern[str]:
    """``50 000 ₸`` as the page prints it (a no-break space between thousands)."""
    whole = amount.replace(" ", r"\s?")
    return re.compile(rf"{whole} ₸")


def russian_date(day: date) -> str:
    """``17 декабря 2026`` (the page adds `` г.``)."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


@pytest.fixture(scope="module")
def loan_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A private stack without the 60-second cooldown: the signing code follows registration's."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in GENEROUS_LIMITS.items():
            patch.setenv(name, value)
        stack = start_local_stack(tmp_path_factory.mktemp("loan-browser-stack"))
    yield stack
    stack.stop()


def register_with_application(page: Page, stack: LocalStack, data: dict[str, str]) -> None:
    """The calculator (50 000 ₸ for 15 days), the questionnaire, the password, the SMS code."""
    page.goto(stack.base_url + "/")
    expect(page.get_by_role("heading", name="Микрозайм онлайн")).to_be_visible()
    expect(page.locator("#q-total")).not_to_have_text("—")
    page.get_by_label("Сумма, ₸").fill("50000")
    page.get_by_label("Сумма, ₸").dispatch_event("change")
    page.get_by_label("Срок, дней").fill("15")
    page.get_by_label("Срок, дней").dispatch_event("change")
    expect(page.locator("#q-total")).to_have_text(money("52 100"))
    page.get_by_role("button", name="Оформить заявку").click()
    expect(page.get_by_role("heading", name="Анкета")).to_be_visible()
    fill_questionnaire(page, data, iin=data["iin"])
    page.get_by_role("button", name="Далее").click()
    step = page.locator("#view-password")
    step.get_by_label("Пароль", exact=True).fill(PASSWORD)
    step.get_by_label("Пароль ещё раз").fill(PASSWORD)
    since = len(stack.outbox())
    page.get_by_role("button", name="Получить код").click()
    expect(page.get_by_role("heading", name="Код из SMS")).to_be_visible(timeout=30_000)
    code = stack.latest_code(data["phone"], since=since)
    page.locator("#view-code").get_by_label("Код подтверждения").fill(code)
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.get_by_role("heading", name="Личный кабинет")).to_be_visible()


def desk_sign_in(desk: Page, stack: LocalStack) -> None:
    totp = enrol_on_stack(stack, "browser.loans", "support")
    desk.goto(stack.base_url + "/staff")
    desk.get_by_label("Логин", exact=True).fill("browser.loans")
    desk.get_by_label("Пароль", exact=True).fill(STAFF_PASSWORD)
    desk.get_by_label("Код из приложения-аутентификатора").fill(totp.now())
    desk.get_by_role("button", name="Войти").click()
    expect(desk.get_by_role("heading", name="Очередь заявок")).to_be_visible()
    desk.get_by_role("button", name="Займы").click()
    expect(desk.get_by_role("heading", name="Кредитный отдел")).to_be_visible()


def desk_loan(desk: Page, queue: str) -> Locator:
    """The one loan of a loan-desk list (the stack is this test's own)."""
    desk.get_by_label("Список").select_option(label=queue)
    desk.get_by_role("button", name="Показать", exact=True).click()
    rows = desk.locator("#loans-list > li")
    expect(rows).to_have_count(1)
    expect(rows.first).not_to_have_class("empty")
    return rows.first


def my_loan(page: Page) -> Locator:
    """The borrower's loan, after the cabinet is reloaded (as a returning borrower would)."""
    page.reload()
    expect(page.get_by_role("heading", name="Личный кабинет")).to_be_visible()
    return page.locator("#loans > li", has_text="50 000")


def test_a_first_loan_from_application_to_repayment(
    loan_stack: LocalStack,
    phone_page: tuple[Page, PageProblems],
    desk_page: tuple[Page, PageProblems],
    artifacts: Path,
) -> None:
    stack = loan_stack
    page, problems = phone_page
    desk, desk_problems = desk_page
    data = form()

    # The borrower registers with a first application: it waits for a decision.
    register_with_application(page, stack, data)
    loan = page.locator("#loans > li", has_text="50 000")
    expect(loan).to_contain_text("Заявка на рассмотрении")
    expect(loan).to_contain_text(money("52 100"))

    # The agent approves it in the loan desk.
    desk_sign_in(desk, stack)
    row = desk_loan(desk, "Заявки на решение")
    expect(row).to_contain_text("50000")
    row.get_by_role("combobox", name="Решение").select_option(label="Одобрить")
    row.get_by_role("button", name="Принять решение").click()
    expect(desk.locator("#loans-list")).to_contain_text("Список пуст.")

    # The borrower sees the offer, names the payout account and signs by SMS code.
    loan = my_loan(page)
    expect(loan).to_contain_text("Одобрена, ожидает подписания договора")
    loan.get_by_label("IBAN вашего счёта (KZ…)").fill(PAYOUT_IBAN)
    loan.get_by_label("Счёт открыт на моё имя").check()
    loan.get_by_role("button", name="Сохранить счёт").click()
    sign = loan.get_by_role("button", name="Подписать договор по SMS")
    expect(sign).to_be_visible()
    since = len(stack.outbox())
    sign.click()
    offer = loan.get_by_label("Условия договора")
    expect(offer).to_contain_text(f"{data['surname']} {data['name']}")
    expect(offer).to_contain_text(money("52 100"))
    expect(offer).to_contain_text("15 дн.")
    code = stack.latest_code(data["phone"], since=since)
    loan.get_by_label("Код из SMS").fill(code)
    loan.get_by_role("button", name="Подписать", exact=True).click()
    expect(loan).to_contain_text("Договор подписан, ожидает перечисления", timeout=30_000)
    expect(loan.get_by_role("button", name="Скачать договор (PDF)")).to_be_visible()

    # The agent sees the payout account and records the transfer.
    row = desk_loan(desk, "Подписаны, ждут перечисления")
    grouped = " ".join(PAYOUT_IBAN[i : i + 4] for i in range(0, len(PAYOUT_IBAN), 4))
    expect(row).to_contain_text(grouped)
    row.get_by_label("Номер платёжного поручения").fill("PP-BROWSER-1")
    row.get_by_role("button", name="Займ перечислен").click()
    expect(desk.locator("#loans-list")).to_contain_text("Список пуст.")

    # The borrower's loan screen: issued, owed today, the due date 15 days on.
    due = russian_date(clock.today_kz() + timedelta(days=15))
    loan = my_loan(page)
    expect(loan).to_contain_text("Выдан")
    figures = loan.locator("dl.loan-figures")
    expect(figures).to_contain_text(re.compile(r"К оплате сегодня\s*50\s?000 ₸"))
    expect(figures).to_contain_text(re.compile(rf"Дата погашения\s*{due}"))
    expect(loan).to_contain_text("Реквизиты для оплаты")
    page.screenshot(path=str(artifacts / "loan-360.png"), full_page=True)

    # The agent records the full repayment from the bank statement; the loan is closed.
    row = desk_loan(desk, "Выданные: учёт платежей")
    row.get_by_label("Сумма, ₸").fill("50000.00")
    row.get_by_label("Дата платежа").fill(clock.today_kz().isoformat())
    row.get_by_label("Номер банковского документа").fill("BANK-BROWSER-1")
    row.get_by_role("button", name="Учесть платёж").click()
    expect(desk.locator("#loans-list")).to_contain_text("Список пуст.")

    loan = my_loan(page)
    expect(loan).to_contain_text("Погашен")
    expect(loan.get_by_role("list", name="Платежи")).to_contain_text(money("50 000"))
    expect(loan.get_by_role("button", name="Скачать договор (PDF)")).to_be_visible()
    # Closed: nothing is owed any more and a new application is offered.
    expect(loan).not_to_contain_text("К оплате сегодня")
    expect(page.get_by_role("heading", name="Новая заявка на займ")).to_be_visible()

    assert problems.errors == []
    assert desk_problems.errors == []
