"""The support desk's decision safety in Chromium, against the local stack (issue 14 §8–§9).

Two deletion requests under review; the agent signs in (a wrong code first: the
code field empties), finds both in the day's queue by name, and decides: nothing
is pre-selected, a rejection needs a reason from the server's list, an approval
asks for confirmation (and «Отмена» decides nothing), «Следующая» opens the next
request. axe-core checks the queue and the review at 360 and 1280 px when
``axe-playwright-python`` is installed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from bench.reliability import _post
from bench.scenario import registration_form
from tests.browser.conftest import DESKTOP, PHONE, PageProblems
from tests.e2e.conftest import LocalStack
from tests.helpers import PASSWORD
from tests.staffing import STAFF_PASSWORD, enrol_on_stack

pytestmark = pytest.mark.e2e


def file_deletion(stack: LocalStack, n: int, surname: str) -> tuple[dict[str, Any], str]:
    """A borrower registered over HTTP who asks to delete the account: (form, request id)."""
    data = {**registration_form(n), "surname": surname}
    started = _post(stack.base_url, "/v1/registrations", data)
    assert started.status_code == 202, started.text
    code = stack.latest_code(data["phone"])
    rid = started.json()["registration_id"]
    done = _post(stack.base_url, f"/v1/registrations/{rid}/confirm", {"code": code})
    assert done.status_code == 201, done.text
    token = done.json()["token"]
    filed = _post(stack.base_url, "/v1/deletion-requests", {"password": PASSWORD}, token)
    assert filed.status_code == 201, filed.text
    return data, str(filed.json()["request_id"])


def full_name(data: dict[str, Any]) -> str:
    return f"{data['surname']} {data['name']} {data['patronymic']}"


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations on the page as shown (skipped without the package)."""
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    results = axe_module.Axe().run(page)
    return [
        f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in results.response["violations"]
    ]


def check_axe(page: Page, where: str, found: dict[str, list[str]]) -> None:
    for width, viewport in (("1280", DESKTOP), ("360", PHONE)):
        page.set_viewport_size(viewport)
        found[f"{where}@{width}"] = axe_violations(page)
    page.set_viewport_size(DESKTOP)


def test_the_desk_decides_nothing_by_itself(
    local_stack: LocalStack, desk_page: tuple[Page, PageProblems], artifacts: Path
) -> None:
    desk, problems = desk_page
    first, first_id = file_deletion(local_stack, 8311, "Первая")
    second, second_id = file_deletion(local_stack, 8312, "Вторая")
    totp = enrol_on_stack(local_stack, "desk.browser", "support")

    # A wrong code: one answer, and the code field is emptied for the next code.
    desk.goto(local_stack.base_url + "/staff")
    desk.get_by_label("Логин", exact=True).fill("desk.browser")
    desk.get_by_label("Пароль", exact=True).fill(STAFF_PASSWORD)
    code_field = desk.get_by_label("Код из приложения-аутентификатора")
    code_field.fill(f"{(int(totp.now()) + 500_000) % 1_000_000:06d}")
    desk.get_by_role("button", name="Войти").click()
    expect(desk.locator("#login-error")).to_have_text("Неверный логин, пароль или код")
    expect(code_field).to_have_value("")
    expect(code_field).to_be_focused()
    code_field.fill(totp.now())
    desk.get_by_role("button", name="Войти").click()

    # The day's queue: counts per type, names, age and deadline, a refresh.
    expect(desk.get_by_role("heading", name="Очередь заявок")).to_be_visible()
    expect(desk.locator("#queue-counts")).to_contain_text("Удаление учётной записи:")
    desk.get_by_label("Тип заявок").select_option("deletion")
    desk.get_by_role("button", name="Показать", exact=True).click()
    expect(desk.locator("#queue tr", has_text=full_name(first))).to_be_visible()
    expect(desk.locator("#queue tr", has_text=full_name(second))).to_be_visible()
    desk.get_by_role("button", name="Обновить").click()
    expect(desk.locator("#status")).to_have_text("Очередь обновлена.")
    found: dict[str, list[str]] = {}
    check_axe(desk, "queue", found)
    desk.screenshot(path=str(artifacts / "desk-queue-desktop.png"), full_page=True)

    desk.locator("#queue tr", has_text=full_name(first)).get_by_role("button").click()
    expect(desk.locator("#review-meta")).to_contain_text(first_id)
    # Nothing is pre-selected, and deciding without a choice decides nothing.
    radios = desk.locator("#decision-options input[type=radio]")
    expect(radios).to_have_count(2)
    assert desk.locator("#decision-options input:checked").count() == 0
    desk.get_by_role("button", name="Принять решение").click()
    expect(desk.locator("#decision-apierror")).to_have_text("Выберите решение.")
    expect(desk.locator("#review-meta")).to_contain_text("На рассмотрении")

    # The IIN read from the photo: only «matches or not», never the IIN itself.
    desk.get_by_label("ИИН с фото удостоверения").fill(registration_form(8399)["iin"])
    desk.get_by_role("button", name="Сверить ИИН").click()
    expect(desk.locator("#iin-result")).to_have_text(
        "Не совпадает с ИИН в анкете. Осталось сверок: 2."
    )
    expect(desk.get_by_label("ИИН с фото удостоверения")).to_have_value("")
    assert first["iin"] not in desk.content()
    check_axe(desk, "review", found)

    # A rejection needs a reason from the server's list; the borrower's words are shown.
    desk.get_by_label("Отклонить").check()
    reason = desk.get_by_label("Причина отказа (её увидит заёмщик)")
    expect(reason).to_be_visible()
    desk.get_by_role("button", name="Принять решение").click()
    expect(desk.locator("#d-reason-code-apierror")).to_have_text(
        "Выберите причину отказа из списка."
    )
    reason.select_option(label="Не подтверждено, что подал владелец")
    expect(desk.locator("#d-reason-text")).to_contain_text("Заёмщик прочтёт: «Мы не смогли")
    desk.get_by_label(re.compile("^Внутренняя заметка")).fill("Звонок: голос не совпал")
    desk.get_by_role("button", name="Принять решение").click()
    expect(desk.locator("#review-meta")).to_contain_text("Отклонена")
    expect(desk.locator("#decision-done")).to_contain_text("Причина для заёмщика: Мы не смогли")
    expect(desk.locator("#decision-done")).not_to_contain_text("голос не совпал")

    # «Следующая»: the next request of the same type, nothing chosen on it either.
    desk.get_by_role("button", name="Следующая").click()
    expect(desk.locator("#review-meta")).to_contain_text(second_id)
    assert desk.locator("#decision-options input:checked").count() == 0
    expect(desk.locator("#reason-field")).to_be_hidden()

    # An approval asks first; «Отмена» decides nothing.
    desk.get_by_label("Одобрить").check()
    desk.get_by_role("button", name="Принять решение").click()
    expect(desk.locator("#d-note-apierror")).to_contain_text("не короче 5 символов")
    desk.get_by_label(re.compile("^Внутренняя заметка")).fill("Долгов нет, личность подтверждена")
    desk.get_by_role("button", name="Принять решение").click()
    dialog = desk.get_by_role("dialog", name="Подтвердите решение")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Удалить учётную запись {full_name(second)}?")
    expect(dialog.get_by_role("button", name="Отмена")).to_be_focused()
    desk.screenshot(path=str(artifacts / "desk-confirm-desktop.png"))
    dialog.get_by_role("button", name="Отмена").click()
    expect(dialog).to_be_hidden()
    expect(desk.locator("#review-meta")).to_contain_text("На рассмотрении")
    desk.get_by_role("button", name="Принять решение").click()
    dialog.get_by_role("button", name="Да, удалить").click()
    expect(desk.locator("#review-meta")).to_contain_text("Одобрена")

    # The audit trail in Russian words.
    desk.get_by_role("button", name="Журнал аудита этой учётной записи").click()
    expect(desk.locator("#audit")).to_contain_text("Удаление одобрено")
    expect(desk.locator("#audit")).to_contain_text("Просмотр обращения")

    assert problems.errors == []
    assert found == {key: [] for key in found}, found


def test_security_locks_and_unlocks_from_a_break_in_report(
    local_stack: LocalStack, desk_page: tuple[Page, PageProblems]
) -> None:
    desk, problems = desk_page
    data = {**registration_form(8313), "surname": "Взломова"}
    started = _post(local_stack.base_url, "/v1/registrations", data)
    assert started.status_code == 202, started.text
    code = local_stack.latest_code(data["phone"])
    rid = started.json()["registration_id"]
    done = _post(local_stack.base_url, f"/v1/registrations/{rid}/confirm", {"code": code})
    assert done.status_code == 201, done.text
    body = {"description": "Ночью кто-то вошёл в кабинет"}
    reported = _post(local_stack.base_url, "/v1/me/compromise", body, done.json()["token"])
    assert reported.status_code == 201, reported.text
    totp = enrol_on_stack(local_stack, "desk.guard", "security")

    desk.goto(local_stack.base_url + "/staff")
    desk.get_by_label("Логин", exact=True).fill("desk.guard")
    desk.get_by_label("Пароль", exact=True).fill(STAFF_PASSWORD)
    desk.get_by_label("Код из приложения-аутентификатора").fill(totp.now())
    desk.get_by_role("button", name="Войти").click()
    # Security reviews break-in reports only: the queue opens on them.
    expect(desk.get_by_label("Тип заявок")).to_have_value("compromise")
    expect(desk.locator("#queue-counts")).to_contain_text("Подозрение на взлом:")
    desk.locator("#queue tr", has_text=full_name(data)).get_by_role("button").click()
    expect(desk.locator("#review-borrower")).to_contain_text("Ночью кто-то вошёл в кабинет")

    desk.get_by_label("Причина блокировки или разблокировки").fill("Вход с чужого устройства")
    desk.get_by_role("button", name="Заблокировать учётную запись").click()
    expect(desk.locator("#review-borrower")).to_contain_text("заблокирована")
    desk.get_by_label("Причина блокировки или разблокировки").fill("Клиент сменил пароль")
    desk.get_by_role("button", name="Разблокировать учётную запись").click()
    expect(desk.get_by_role("button", name="Заблокировать учётную запись")).to_be_visible()
    expect(desk.locator("#review-borrower")).to_contain_text("активна")
    assert problems.errors == []
