"""Appeals in a real Chromium, on the demo world: the signatory files a legally
significant appeal with an attachment and signs it in the page with the demo
PKCS#12 key; the clerk takes it into work and answers (the answer signed with
the supplier's key); the signatory reads the answer and its notification."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from reportlab.pdfgen import canvas

from docflow.appeals.demo import seed_demo
from docflow.context import db_session
from docflow.db import transaction
from tests.e2e.conftest import LiveServer, demo_server, login, screenshot

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots")


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    with demo_server(tmp_path_factory, "appeals") as (server, world):
        with server.app.test_request_context():
            s = db_session()
            with transaction(s):
                seed_demo(s, world)
        yield server, world


def shot(page: Page, name: str) -> None:
    path = screenshot(page, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def attachment(tmp: Path) -> Path:
    path = tmp / "акт-сверки.pdf"
    c = canvas.Canvas(str(path))
    c.drawString(72, 760, "Act of reconciliation")
    c.showPage()
    c.save()
    return path


def test_file_sign_answer_and_read_an_appeal(
    demo: tuple[LiveServer, dict[str, Any]], page: Page, tmp_path: Path
) -> None:
    server, world = demo
    key = next(k for k in world["keys"] if k["email"] == "signer@romashka.example")
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    login(page, server, "signer@romashka.example")
    page.goto(f"{server.url}/certificates/")
    page.set_input_files("#certificate", key["cert"])
    page.click("text=Проверить и зарегистрировать")
    expect(page.locator(".flash--success")).to_contain_text(
        "Сертификат зарегистрирован"
    )

    page.click("nav.mainnav >> text=Обращения")
    expect(page.locator("h1")).to_have_text("Обращения")
    shot(page, "appeals-history")
    page.click("[data-testid=new-appeal]")
    expect(page.locator("h1")).to_have_text("Подача обращения")
    page.select_option(
        "#topic_id", label="Претензия по объёму потребления (юридически значимое)"
    )
    page.select_option("#contract_id", index=0)
    page.fill(
        "#text",
        "Объём потребления за ноябрь завышен: показания прибора "
        "№ 01234567 переданы верно, просим сделать перерасчёт.",
    )
    page.fill("#contact_phone", "+7 495 123-45-67")
    page.set_input_files("#attachments", str(attachment(tmp_path)))
    shot(page, "appeals-wizard")
    page.click("[data-testid=submit-appeal]")

    # A legally significant appeal: straight to its signing page.
    expect(page.locator(".flash--info")).to_contain_text("Номер обращения – ОБР-")
    page.set_input_files("#key_file", key["p12"])
    page.fill("#key_password", key["password"])
    page.click("form[data-docflow-sign] button[type=submit]")
    expect(page.locator("[data-testid=document-status]")).to_have_text(
        "Подписан клиентом", timeout=60000
    )

    page.goto(f"{server.url}/appeals/")
    row = page.locator("[data-testid=appeals] tr", has_text="Претензия по объёму")
    expect(row.locator("[data-testid=appeal-status]")).to_have_text("Зарегистрировано")
    row.locator("a").first.click()
    number = page.locator("[data-testid=appeal-number]").inner_text().split("№ ")[1]
    appeal_url = page.url
    expect(page.locator("[data-testid=appeal-files]")).to_contain_text("акт-сверки.pdf")
    expect(page.locator("[data-testid=appeal-history]")).to_contain_text(
        "Подписано электронной подписью заявителя"
    )
    shot(page, "appeals-card-registered")

    # The clerk: the queue, take into work, answer with a file.
    page.click("text=Выйти")
    login(page, server, "clerk@energosbyt.example")
    page.click("nav.mainnav a[href='/appeals/queue']")
    expect(page.locator("[data-testid=queue]")).to_contain_text(number)
    shot(page, "appeals-queue")
    page.click(f"[data-testid=queue] >> text={number}")
    page.click("[data-testid=take]")
    expect(page.locator("[data-testid=appeal-status]")).to_have_text("В работе")
    page.fill(
        "#text",
        "Перерасчёт выполнен: корректировка отражена в счёте за "
        "декабрь. Расчёт приложен.",
    )
    page.set_input_files("#files", str(attachment(tmp_path)))
    page.click("[data-testid=send-answer]")
    expect(page.locator(".flash--success")).to_contain_text("Ответ направлен клиенту")
    expect(page.locator("[data-testid=appeal-status]")).to_have_text("Ответ дан")
    expect(page.locator("[data-testid=answer]")).to_contain_text("Подписан поставщиком")
    shot(page, "appeals-answered-clerk")

    # The customer reads the answer and its notification.
    page.click("text=Выйти")
    login(page, server, "signer@romashka.example")
    page.goto(f"{server.url}/notifications")
    expect(page.locator("main")).to_contain_text(
        f"Получен ответ на обращение № {number}"
    )
    page.goto(appeal_url)
    expect(page.locator("[data-testid=answer-text]")).to_contain_text(
        "Перерасчёт выполнен"
    )
    link = page.locator("[data-testid=answer-files] a").first
    with page.expect_download() as info:
        link.click()
    assert info.value.suggested_filename.endswith(".pdf")
    shot(page, "appeals-answer-customer")
    assert errors == [], errors
