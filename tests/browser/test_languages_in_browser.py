"""The borrower pages in Kazakh and Russian, checked by axe-core, photographed at 360 px.

Issue 14 §10 and "Done when": the whole journey in Kazakh (the switch on every
page, the choice remembered and sent as Accept-Language, numbers and dates per
locale, the API's errors in Kazakh); axe-core finds 0 violations on every main
borrower view at 360 px and 1280 px; 360 px screenshots of every view in both
languages go to ``tests/artifacts`` (git-ignored: for people to look at).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Request, expect

from tests.browser.conftest import DESKTOP, PHONE, PageProblems, new_page
from tests.e2e.conftest import LocalStack
from tests.helpers import PASSWORD, form

pytestmark = pytest.mark.e2e

KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
GUEST_VIEWS = ("calculator", "questionnaire", "login", "recovery", "report", "compromise-done")
#: A pending registration as the page keeps it (a reload reopens the code screen from it).
PENDING = """sessionStorage.setItem("hava.registration", JSON.stringify({
  id: "reg_axe", message: "Мы отправили SMS с кодом подтверждения на номер +7 700 ••• •• 01.",
  resend_at: Date.now() + 45000, expires_at: Date.now() + 600000}))"""
USER_VIEWS = (
    "cabinet",
    "phone",
    "sessions",
    "deletion",
    "compromise",
    "password-change",
    "email-change",
    "export",
)


def kazakh(text: str) -> bool:
    return bool(KAZAKH_LETTERS & set(text))


def fill_questionnaire_kk(page: Page, data: dict[str, str]) -> None:
    view = page.locator("#view-questionnaire")
    view.get_by_label("Тегі").fill(data["surname"])
    view.get_by_label("Аты", exact=True).fill(data["name"])
    view.get_by_label("Әкесінің аты (бар болса)").fill(data["patronymic"])
    view.get_by_label("ЖСН", exact=True).fill(data["iin"])
    view.get_by_label("Куәлік нөмірі").fill(data["id_number"])
    view.get_by_label("Кім берген").fill(data["id_issued_by"])
    view.get_by_label("Берілген күні").fill(data["id_issued_on"])
    view.get_by_label("Жарамдылық мерзімі").fill(data["id_expires_on"])
    view.get_by_label("Ұялы телефон").fill(data["phone"])
    view.get_by_label("Электрондық пошта").fill(data["email"])
    view.get_by_label("Дербес деректерімді").check()


def test_the_whole_journey_in_kazakh(
    local_stack: LocalStack, phone_page: tuple[Page, PageProblems], artifacts: Path
) -> None:
    page, problems = phone_page
    base = local_stack.base_url
    data = form()
    languages: list[str] = []
    page.on(
        "request",
        lambda request: (
            languages.append(request.headers.get("accept-language", ""))
            if "/v1/" in request.url
            else None
        ),
    )

    # GIVEN the calculator in Russian, WHEN «Қазақша» is chosen
    page.goto(base + "/")
    expect(page.get_by_role("heading", name="Микрозайм онлайн")).to_be_visible()
    expect(page.locator("#q-total")).not_to_have_text("—")
    page.get_by_role("button", name="Қазақша").click()

    # THEN the page is Kazakh, numbers and dates per the Kazakh locale
    expect(page.get_by_role("heading", name="Онлайн микрокредит")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.get_by_role("button", name="Русский")).to_be_visible()
    expect(page.locator(".stepper:visible")).to_have_text("1-қадам, барлығы 4")
    expect(page.locator("#q-total")).to_have_text(re.compile(r"^\d{2}\s\d{3}(,\d+)? ₸$"))
    expect(page.locator("#q-gesv")).to_have_text(re.compile(r"^\d+,\d\s%$"))
    kazakh_date = re.compile(r"^\d{4} жылғы \d{1,2} [а-яәғқңөұүһі]+$")  # «2026 жылғы 17 желтоқсан»
    expect(page.locator("#q-date")).to_have_text(kazakh_date)
    # The footer: the lender, its licence and support contacts from the stage's configuration
    expect(page.locator("#foot-lender")).to_contain_text("МҚҰ")
    expect(page.locator("#foot-lender")).to_contain_text("Лицензия")
    expect(page.locator("#foot-support")).to_contain_text("Қолдау қызметі")
    expect(page.locator("#foot-support a[href^='mailto:']")).to_have_count(1)
    expect(page.locator("#foot-support a[href^='tel:']")).to_have_count(1)
    page.screenshot(path=str(artifacts / "kk-calculator-360.png"), full_page=True)

    # The choice survives a reload and is sent with every API call
    page.reload()
    expect(page.get_by_role("heading", name="Онлайн микрокредит")).to_be_visible()
    page.get_by_role("button", name="Өтінім беру").click()
    expect(page.get_by_role("heading", name="Сауалнама")).to_be_visible()
    expect(page.locator(".stepper:visible")).to_have_text("2-қадам, барлығы 4")

    # Mistakes explained in Kazakh beside the field
    iin = page.locator("#view-questionnaire").get_by_label("ЖСН", exact=True)
    iin.fill("123456789012")
    iin.blur()
    expect(page.locator("#f-iin-apierror")).to_contain_text("ЖСН")
    assert kazakh(page.locator("#f-iin-apierror").inner_text())
    fill_questionnaire_kk(page, data)
    iin.blur()
    expect(page.locator("#f-iin-birth")).to_contain_text("Туған күні")
    page.screenshot(path=str(artifacts / "kk-questionnaire-360.png"), full_page=True)
    page.get_by_role("button", name="Әрі қарай").click()

    expect(page.get_by_role("heading", name="Құпиясөз ойлап табыңыз")).to_be_visible()
    step = page.locator("#view-password")
    step.get_by_label("Құпиясөз", exact=True).fill(PASSWORD)
    step.get_by_label("Құпиясөзді қайталаңыз").fill(PASSWORD)
    page.screenshot(path=str(artifacts / "kk-password-360.png"), full_page=True)
    since = len(local_stack.outbox())
    page.get_by_role("button", name="Код алу").click()

    expect(page.get_by_role("heading", name="SMS-тегі код")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name=re.compile("кейін қайта жіберу$"))).to_be_disabled()
    page.screenshot(path=str(artifacts / "kk-code-360.png"), full_page=True)
    code = local_stack.latest_code(data["phone"], since=since)
    # A wrong code: the API's own message, in Kazakh, beside the field
    page.get_by_label("Растау коды").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Растау", exact=True).click()
    expect(page.locator("#f-code-apierror")).not_to_be_empty(timeout=30_000)
    assert kazakh(page.locator("#f-code-apierror").inner_text())
    page.get_by_label("Растау коды").fill(code)
    page.get_by_role("button", name="Растау", exact=True).click()

    # The cabinet in Kazakh; the account registered in Kazakh
    expect(page.get_by_role("heading", name="Жеке кабинет")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name="Менің қарызым")).to_be_visible()
    expect(page.locator("#loans")).to_contain_text(re.compile(r"80\s000 ₸, 18 күнге"))
    page.screenshot(path=str(artifacts / "kk-cabinet-360.png"), full_page=True)
    assert languages[0] == "ru"  # before the switch
    assert languages[-1] == "kk"
    me = page.evaluate("fetch('v1/me', {headers: {'X-Hava-Client': 'web'}}).then((r) => r.json())")
    assert me["language"] == "kk"

    # Back to Russian: the account follows (PUT /v1/me/language)
    with page.expect_request(lambda r: r.url.endswith("/v1/me/language")) as put:
        page.get_by_role("button", name="Русский").click()
    request: Request = put.value
    assert request.method == "PUT"
    assert request.post_data_json == {"language": "ru"}
    expect(page.get_by_role("heading", name="Личный кабинет")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    assert problems.errors == []


def test_wrong_password_in_kazakh_gets_the_apis_kazakh_answer(
    local_stack: LocalStack, phone_page: tuple[Page, PageProblems]
) -> None:
    page, problems = phone_page
    page.goto(local_stack.base_url + "/#login")
    page.get_by_role("button", name="Қазақша").click()
    expect(page.get_by_role("heading", name="Жеке кабинетке кіру")).to_be_visible()
    view = page.locator("#view-login")
    view.get_by_label("ЖСН, e-mail немесе телефон").fill("nobody@example.kz")
    view.get_by_label("Құпиясөз", exact=True).fill("не-тот-пароль-совсем")
    view.get_by_role("button", name="Кіру", exact=True).click()
    expect(page.locator("#login-error")).to_have_text("Логин немесе құпиясөз қате")
    assert problems.errors == []


def check_view(page: Page, name: str, width: str, artifacts: Path, lang: str) -> None:
    """axe-core: no violation on the view; a 360 px screenshot of it."""
    results = Axe().run(page)
    assert results.violations_count == 0, f"{name} @ {width}:\n{results.generate_report()}"
    if width == "360":
        page.screenshot(path=str(artifacts / f"{lang}-{name}-360.png"), full_page=True)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_every_main_view_passes_axe_in_both_languages(
    local_stack: LocalStack, browser: Browser, artifacts: Path, viewport: dict[str, int]
) -> None:
    from tests.security.conftest import register

    base = local_stack.base_url
    width = str(viewport["width"])
    data, _borrower = register(local_stack)
    for lang in ("ru", "kk"):
        context, page = new_page(browser, viewport)
        problems = PageProblems()
        problems.watch(page)
        page.goto(base + "/")
        expect(page.locator("#q-total")).not_to_have_text("—")
        if lang == "kk":
            page.get_by_role("button", name="Қазақша").click()
            expect(page.locator("html")).to_have_attribute("lang", "kk")
        for view in GUEST_VIEWS:
            page.goto(f"{base}/#{view}")
            page.reload()
            expect(page.locator(f"#view-{view}")).to_be_visible()
            check_view(page, view, width, artifacts, lang)
        page.evaluate(PENDING)
        page.goto(f"{base}/#code")
        page.reload()
        expect(page.locator("#view-code")).to_be_visible()
        check_view(page, "code", width, artifacts, lang)
        page.evaluate("sessionStorage.clear()")
        # A field error shown beside its field
        page.goto(f"{base}/#questionnaire")
        page.reload()
        email = page.locator("#f-email")
        email.fill("name@gmail")
        email.blur()
        expect(page.locator("#f-email-apierror")).to_be_visible()
        check_view(page, "questionnaire-error", width, artifacts, lang)
        page.goto(f"{base}/#login")
        page.reload()
        login = page.locator("#view-login")
        login.locator("#l-login").fill(data["email"])
        login.locator("#l-password").fill(PASSWORD)
        login.locator("button[type=submit]").click()
        expect(page.locator("#view-cabinet")).to_be_visible(timeout=30_000)
        for view in USER_VIEWS:
            page.goto(f"{base}/#{view}")
            page.reload()
            expect(page.locator(f"#view-{view}")).to_be_visible(timeout=30_000)
            if view == "export":  # the readable export, section by section
                expect(page.locator(".export-section").first).to_be_visible(timeout=30_000)
            check_view(page, view, width, artifacts, lang)
        assert problems.errors == []
        context.close()
