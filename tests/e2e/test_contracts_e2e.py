"""In a real Chromium: a user binds a contract, invites a colleague who registers
through the link from the e-mail, then rearranges the main page; the layout
survives logging out and in again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, screenshot
from tests.e2e.test_accounts_e2e import links_in_outbox
from tests.functional.contract_world import PASSWORD, build_world, make_user

pytestmark = pytest.mark.e2e


def _login(
    page: Page, server: LiveServer, email: str, password: str = PASSWORD
) -> None:
    page.goto(f"{server.url}/account/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Добрый день")


def _logout(page: Page) -> None:
    page.click("text=Выйти")
    expect(page.locator(".flash--info")).to_contain_text("Вы вышли")


def test_bind_invite_and_rearrange_the_main_page(
    live_server: LiveServer, page: Page
) -> None:
    app = live_server.app
    build_world(app)
    make_user(app, "boss@romashka.example", last_name="Иванов", first_name="Иван")

    # Bind a contract; «Привязать ещё один договор» keeps e-mail and ИНН.
    _login(page, live_server, "boss@romashka.example")
    page.click(".mainnav >> text=Договоры")
    expect(page.locator("h2")).to_contain_text("Договоры ещё не привязаны")
    page.click("[data-testid=bind-contract]")
    page.fill("#email", "office@romashka.example")
    page.fill("#inn", "7701234567")
    page.fill("#number", "77-0002-ЮЛ")
    page.check("#more")  # the manual's check box «Привязать ещё один договор»
    page.click("[data-testid=bind-form] button[type=submit]")
    expect(page.locator(".flash--success")).to_contain_text(
        "Договор № 77-0002-ЮЛ привязан"
    )
    expect(page.locator("#email")).to_have_value("office@romashka.example")
    expect(page.locator("#inn")).to_have_value("7701234567")
    expect(page.locator("#number")).to_have_value("")
    expect(page.locator("#more")).to_be_checked()
    page.fill("#number", "77-0009-ЮЛ")
    page.click("[data-testid=bind-form] button[type=submit]")
    expect(page.locator(".flash--error")).to_contain_text("Не удалось найти договор")
    screenshot(page, "contracts-bind")
    page.fill("#number", "77-0001-ЮЛ")
    page.uncheck("#more")
    page.click("[data-testid=bind-form] button[type=submit]")
    expect(page.locator("[data-testid=contracts] tbody tr")).to_have_count(2)
    screenshot(page, "contracts-list")

    # Invite a colleague to 77-0001-ЮЛ with the right to sign.
    page.click("[data-testid=contracts] a >> text=№ 77-0001-ЮЛ")
    expect(page.locator("h1")).to_contain_text("Договор № 77-0001-ЮЛ")
    screenshot(page, "contract-card")
    page.click(".tabs >> text=Управление доступом")
    page.fill("[data-testid=invite-form] #email", "colleague@romashka.example")
    page.check("#can_sign")
    page.click("text=Отправить приглашение")
    expect(page.locator(".flash--success")).to_contain_text(
        "colleague@romashka.example"
    )
    expect(page.locator("[data-testid=invitations]")).to_contain_text(
        "colleague@romashka.example"
    )
    screenshot(page, "contract-access")
    _logout(page)

    # The colleague follows the link from the e-mail and registers.
    links = links_in_outbox(
        live_server.var_dir, rf"{live_server.url}/contracts/invitation/\S+"
    )
    assert len(links) == 1
    page.goto(links[0])
    expect(page.locator("h1")).to_have_text("Приглашение к договору")
    screenshot(page, "contract-invitation")
    page.click("[data-testid=register-invited]")
    page.fill("#last_name", "Петрова")
    page.fill("#first_name", "Анна")
    page.fill("#password", "energy2026")
    page.fill("#password2", "energy2026")
    page.click("button[type=submit]")
    expect(page.locator(".flash--success")).to_contain_text("Добро пожаловать")
    expect(page.locator("[data-testid=contract-details]")).to_contain_text(
        "подписание документов"
    )
    _logout(page)

    # Rearrange the main page: collapse one widget, move one to the bottom panel.
    _login(page, live_server, "boss@romashka.example")
    widgets = page.locator("[data-testid=widgets] > .widget")
    expect(page.locator("[data-testid=widget-notifications]")).to_be_visible()
    page.locator("[data-testid=widget-notifications] [data-testid=collapse]").click()
    expect(page.locator("[data-testid=widget-notifications]")).to_have_class(
        "card widget is-collapsed"
    )
    page.locator("[data-testid=widget-news] [data-testid=dock]").click()
    expect(page.locator("[data-testid=docked-news]")).to_be_visible()
    expect(page.locator("[data-testid=widget-news]")).to_have_count(0)
    before = widgets.evaluate_all("els => els.map(e => e.dataset.widget)")
    position = before.index("notifications")
    assert position > 0
    page.locator("[data-testid=widget-notifications] button[value=up]").click()
    expect(widgets.nth(position - 1)).to_have_attribute("data-widget", "notifications")
    # Drag the last widget by its grip onto the first one.
    before = widgets.evaluate_all("els => els.map(e => e.dataset.widget)")
    grip = widgets.last.locator(".widget__grip").bounding_box()
    target = widgets.first.bounding_box()
    assert grip and target
    page.mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2)
    page.mouse.down()
    page.mouse.move(target["x"] + 20, target["y"] + 10, steps=8)
    page.mouse.up()
    expect(widgets.first).to_have_attribute("data-widget", before[-1])
    page.wait_for_load_state("networkidle")
    order = widgets.evaluate_all("els => els.map(e => e.dataset.widget)")
    assert order == [before[-1], *before[:-1]]
    screenshot(page, "main-page-arranged")
    _logout(page)

    _login(page, live_server, "boss@romashka.example")
    expect(page.locator("[data-testid=docked-news]")).to_be_visible()
    expect(page.locator("[data-testid=widget-notifications]")).to_have_class(
        "card widget is-collapsed"
    )
    assert widgets.evaluate_all("els => els.map(e => e.dataset.widget)") == order
    screenshot(page, "main-page-after-login")
    # «Раскрыть» brings the widget back.
    page.locator("[data-testid=docked-news] [data-testid=undock]").click()
    expect(page.locator("[data-testid=widget-news]")).to_be_visible()
    expect(page.locator("[data-testid=dock-panel]")).to_have_count(0)


def test_profile_subscriptions_page(live_server: LiveServer, page: Page) -> None:
    app = live_server.app
    make_user(app, "boss@romashka.example", last_name="Иванов", first_name="Иван")
    _login(page, live_server, "boss@romashka.example")
    page.click(".usermenu__name")
    expect(page.locator("[data-testid=profile-contracts]")).to_contain_text(
        "Договоры ещё не привязаны"
    )
    page.click("text=Настроить оповещения")
    expect(page.locator("[data-testid=sms-switch]").first).to_be_disabled()
    page.fill("#phone", "+7 916 123-45-67")
    page.click("text=Получить код")
    expect(page.locator(".flash--info")).to_contain_text("Код подтверждения отправлен")
    sms = sorted((live_server.var_dir / "outbox" / "sms").rglob("*"))
    text = "".join(
        p.read_text(encoding="utf-8", errors="replace") for p in sms if p.is_file()
    )

    code = re.search(r"Код подтверждения: (\d{6})", text)
    assert code, text
    page.fill("#code", code.group(1))
    page.click("text=Подтвердить")
    expect(page.locator(".flash--success")).to_contain_text(
        "Номер телефона подтверждён"
    )
    expect(page.locator("[data-testid=sms-switch]").first).to_be_enabled()
    screenshot(page, "profile-subscriptions")
