"""A newcomer registers, confirms the e-mail from the outbox, logs in and out."""

from __future__ import annotations

import base64
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


def solve_captcha_picture(page: Page) -> str:
    src = page.get_attribute("[data-testid=captcha]", "src")
    assert src and src.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(src.split(",", 1)[1]).decode()
    expr = "".join(re.findall(r">([^<])</text>", svg)).split("=")[0].replace(" ", "")
    a, op, b = re.fullmatch(r"(\d+)([+×])(\d+)", expr).groups()  # type: ignore[union-attr]
    return str(int(a) + int(b) if op == "+" else int(a) * int(b))


def test_register_confirm_login_logout(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("Вход в личный кабинет")
    page.click("text=Регистрация")
    page.fill("#last_name", "Кузьмина")
    page.fill("#first_name", "Анна")
    page.fill("#middle_name", "Викторовна")
    page.fill("#email", "kuzmina@example.ru")
    page.fill("#password", "energy2026")
    page.fill("#password2", "energy2026")
    page.fill("#captcha", solve_captcha_picture(page))
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Почти готово")

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
