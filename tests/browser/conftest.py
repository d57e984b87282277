"""Browser fixtures: Debian's Chromium driven by Playwright against the local stack.

The stack is started exactly as ``make run`` starts it (``tests.e2e.conftest``);
Playwright never downloads a browser here: it launches ``/usr/bin/chromium``
(``apt-get install -y chromium``; ``.ci/run`` does it in CI).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

from tests.e2e.conftest import REPO_ROOT, LocalStack, local_stack, start_local_stack

__all__ = ["local_stack"]  # the session's stack, shared by the browser tests

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium, headless, with nothing that reaches the network on its own."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Chromium is missing: apt-get install -y chromium")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``tests/artifacts`` (git-ignored): screenshots for people to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class PageProblems:
    """Console errors and failed requests of a page (CSP or Trusted Types violations, JS errors)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        # Failed API calls (401 before sign-in, 4xx the test provokes) are logged by Chromium.
        if message.type == "error" and "Failed to load resource" not in text:
            self.errors.append(text)


def new_page(browser: Browser, viewport: dict[str, int]) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport=viewport, locale="ru-RU", timezone_id="Asia/Almaty")
    context.set_default_timeout(15_000)
    return context, context.new_page()


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[tuple[Page, PageProblems]]:
    """A fresh 360 px wide page (its own cookies)."""
    context, page = new_page(browser, PHONE)
    problems = PageProblems()
    yield problems.watch(page), problems
    context.close()


@pytest.fixture
def desk_page(browser: Browser) -> Iterator[tuple[Page, PageProblems]]:
    """A fresh desktop page for the support desk (its own cookies)."""
    context, page = new_page(browser, DESKTOP)
    problems = PageProblems()
    yield problems.watch(page), problems
    context.close()


@pytest.fixture
def maintenance_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    """A second real stack started with ``HAVA_MAINTENANCE=true`` (≈ 6 s)."""
    monkeypatch.setenv("HAVA_MAINTENANCE", "true")
    stack = start_local_stack(tmp_path / ".local")
    yield stack
    stack.stop(timeout=5)
