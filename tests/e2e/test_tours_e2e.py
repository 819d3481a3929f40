"""In a real Chromium, the demo world: a customer's first visit to the main page
starts its guided tour (driver.js, served from this site under the pages'
CSP); closed, it does not start again after a reload; the «?» button of the
header shows it again. The contract card shows the link to the grid company's
cabinet (ЛК МОЭСК) with the demo account number."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from docflow.context import db_session
from docflow.db import transaction
from docflow.tours.demo import seed_demo
from tests.e2e.conftest import SCREENSHOTS, LiveServer, demo_server, login, screenshot

pytestmark = pytest.mark.e2e

SIGNER = "signer@romashka.example"
GRID = "https://lk.example.test/connect?account={account}"


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    with demo_server(
        tmp_path_factory, "tours", tours_autostart=True, grid_cabinet_url=GRID
    ) as (server, world):
        with server.app.app_context():
            s = db_session()
            with transaction(s):
                seed_demo(s, world)
            s.close()
        yield server, world


def shot(page: Page, name: str) -> None:
    """The viewport as the user sees it, once the popover has faded in (a
    full-page screenshot resizes the window and moves the popover)."""
    page.wait_for_timeout(700)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def close_tour_if_any(page: Page) -> None:
    page.wait_for_timeout(800)  # it starts 300 ms after the page is ready
    if page.locator("[data-testid=tour-popover]").count():
        page.keyboard.press("Escape")
        expect(page.locator("[data-testid=tour-popover]")).to_have_count(0)


def test_first_visit_shows_the_tour_once_and_the_button_again(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, _world = demo
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: problems.append(str(e)))

    login(page, server, SIGNER)
    popover = page.locator("[data-testid=tour-popover]")
    expect(popover).to_be_visible()
    expect(popover).to_contain_text("Добро пожаловать в личный кабинет")
    expect(popover.locator(".driver-popover-next-btn")).to_have_text("Далее")
    shot(page, "tours-main-welcome")
    popover.locator(".driver-popover-next-btn").click()
    expect(popover).to_contain_text("Разделы кабинета")
    expect(popover).to_contain_text("2 из")
    shot(page, "tours-main-nav")

    with page.expect_response(lambda r: r.url.endswith("/tours/main/seen")) as seen:
        popover.locator(".driver-popover-close-btn").click()
    assert seen.value.status == 200
    expect(popover).to_have_count(0)
    expect(page.locator("body")).to_have_attribute("data-tours-seen", "main")

    page.reload()
    expect(page.locator("h1")).to_contain_text("Добрый день")
    expect(page.locator("body")).to_have_attribute("data-tours-seen", "main")
    page.wait_for_timeout(1000)  # the tour would have started by now
    expect(page.locator("[data-testid=tour-popover]")).to_have_count(0)
    # The page works as usual: nothing catches the clicks.
    page.click(".mainnav >> text=Документы")
    expect(page.locator("[data-testid=tour-popover]")).to_be_visible()  # first visit
    expect(page.locator("[data-testid=tour-popover]")).to_contain_text("Поиск")
    shot(page, "tours-documents")
    page.keyboard.press("Escape")
    expect(page.locator("[data-testid=tour-popover]")).to_have_count(0)

    page.goto(f"{server.url}/")
    page.wait_for_timeout(600)
    expect(page.locator("[data-testid=tour-popover]")).to_have_count(0)
    page.click("[data-testid=tour-help]")
    expect(page.locator("[data-testid=tour-popover]")).to_be_visible()
    expect(page.locator("[data-testid=tour-popover]")).to_contain_text(
        "Добро пожаловать"
    )
    # Through to the end: «Готово» on the last step.
    progress = page.locator("[data-testid=tour-popover] .driver-popover-progress-text")
    expect(progress).to_have_text(re.compile(r"1 из \d+"))
    total = int(progress.inner_text().split()[-1])
    for number in range(2, total + 1):
        page.locator("[data-testid=tour-popover] .driver-popover-next-btn").click()
        expect(progress).to_have_text(f"{number} из {total}")
    expect(
        page.locator("[data-testid=tour-popover] .driver-popover-next-btn")
    ).to_have_text("Готово")
    with page.expect_response(lambda r: r.url.endswith("/tours/main/seen")) as done:
        page.locator("[data-testid=tour-popover] .driver-popover-next-btn").click()
    assert done.value.status == 200
    expect(page.locator("[data-testid=tour-popover]")).to_have_count(0)
    csp = [p for p in problems if "Content Security Policy" in p or "Refused" in p]
    assert not csp, csp
    assert not [p for p in problems if "Uncaught" in p], problems


def test_contract_card_tour_and_the_grid_cabinet_link(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, world = demo
    login(page, server, SIGNER)
    close_tour_if_any(page)  # the main page's, unless the other test saw it
    page.goto(f"{server.url}/contracts/")
    expect(page.locator("[data-testid=tour-popover]")).to_contain_text("Привязать")
    page.keyboard.press("Escape")
    expect(page.locator("[data-testid=tour-popover]")).to_have_count(0)
    page.click("[data-testid=contracts] a >> text=№ 77-0001-ЮЛ")
    popover = page.locator("[data-testid=tour-popover]")
    expect(popover).to_be_visible()
    popover.locator(".driver-popover-next-btn").click()
    expect(popover).to_contain_text("Личный кабинет сетевой компании")
    shot(page, "tours-contract-grid-step")
    page.keyboard.press("Escape")
    link = page.locator("[data-testid=grid-cabinet-link]")
    expect(link).to_have_attribute(
        "href", "https://lk.example.test/connect?account=7700-012-345"
    )
    expect(link).to_have_attribute("target", "_blank")
    page.fill("#grid-account-input", "ЮЛ-77")
    page.click("[data-testid=grid-account-form] button[type=submit]")
    expect(page.locator(".flash--success")).to_contain_text("ЮЛ-77")
    expect(page.locator("[data-testid=grid-cabinet-link]")).to_have_attribute(
        "href", "https://lk.example.test/connect?account=%D0%AE%D0%9B-77"
    )
    screenshot(page, "tours-contract-grid")
    page.click("[data-testid=nav-more] summary")
    nav = page.locator("[data-testid=grid-cabinet-nav]")
    expect(nav).to_be_visible()
    expect(nav).to_have_attribute("href", "https://lk.example.test/connect?account=")
    shot(page, "tours-nav-more")
    expect(nav).to_have_attribute("rel", "noopener noreferrer")
