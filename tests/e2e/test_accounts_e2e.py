"""A newcomer registers, confirms the e-mail from the outbox, logs in and out."""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, screenshot

pytestmark = pytest.mark.e2e


def links_in_outbox(var_dir: Path, pattern: str) -> list[str]:
    """Links in the e-mails the cabinet wrote to ``var/outbox/`` (the embedded
    mode's mailbox), read as a person would read the message."""
    found = []
    for path in sorted((var_dir / "outbox").rglob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))
        assert body is not None
        found += re.findall(pattern, body.get_content())
    return found


def wait_for_captcha(page: Page) -> None:
    """«Я не робот» solves itself: the ALTCHA widget does its proof of work in
    Web Workers as the page loads; wait until it says «Проверено»."""
    widget = page.locator("[data-testid=captcha]")
    expect(widget.locator("[data-state=verified]")).to_be_visible(timeout=60_000)
    expect(widget).to_contain_text("Проверено")
    payload = widget.locator("input[name=altcha]").input_value()
    assert len(payload) > 100


def test_register_confirm_login_logout(live_server: LiveServer, page: Page) -> None:
    # The widget runs under the site's strict CSP: nothing may be blocked.
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("Вход в личный кабинет")
    page.click("text=Регистрация")
    page.fill("#last_name", "Кузьмина")
    page.fill("#first_name", "Анна")
    page.fill("#middle_name", "Викторовна")
    page.fill("#email", "kuzmina@example.ru")
    page.fill("#password", "energy2026")
    page.fill("#password2", "energy2026")
    wait_for_captcha(page)
    screenshot(page, "registration-captcha")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Почти готово")
    assert problems == []

    links = links_in_outbox(
        live_server.var_dir, rf"{live_server.url}/account/confirm/\S+"
    )
    assert len(links) == 1
    page.goto(links[0])
    expect(page.locator(".flash--success")).to_contain_text("подтверждён")

    page.fill("#email", "kuzmina@example.ru")
    page.fill("#password", "energy2026")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Добрый день, Анна")
    expect(page.locator(".usermenu__name")).to_have_text("Кузьмина А.В.")
    shot = screenshot(page, "main-page")
    assert shot.stat().st_size > 10_000

    page.click("text=Выйти")
    expect(page.locator(".flash--info")).to_contain_text("Вы вышли")
    page.goto(f"{live_server.url}/account/profile")
    expect(page.locator("h1")).to_have_text("Вход в личный кабинет")
