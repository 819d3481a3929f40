"""ППП in a real Chromium, on the demo world: the signatory of ООО «Ромашка»
fills a request for planned hourly consumption from the Excel template and on
the page, submits it; the clerk sees it in the list and accepts it."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from docflow.context import db_session
from docflow.db import transaction
from docflow.readings import planned_excel as px
from docflow.readings.planned_demo import seed_demo
from docflow.readings.planned_services import MSK, utcnow
from tests.e2e.conftest import LiveServer, demo_server, login, screenshot

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots")


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    with demo_server(tmp_path_factory, "planned") as (server, world):
        with server.app.test_request_context():
            s = db_session()
            with transaction(s):
                seed_demo(s, world)
        yield server, world


def shot(page: Page, name: str) -> None:
    path = screenshot(page, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def test_file_a_planned_request_and_accept_it(
    demo: tuple[LiveServer, dict[str, Any]], page: Page, tmp_path: Path
) -> None:
    server, _world = demo
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    day = utcnow().astimezone(MSK).date() + dt.timedelta(days=6)

    login(page, server, "signer@romashka.example")
    page.goto(f"{server.url}/readings/planned/")
    page.select_option("#planned-contract", label="№ 77-0001-ЮЛ — ООО «Ромашка»")
    page.fill("#planned-day", day.isoformat())
    page.click("[data-testid=planned-choose] button[type=submit]")
    expect(page.locator("[data-testid=planned-status]")).to_have_text("Не подана")
    # «Загрузить ППП из файла»: the template filled outside the cabinet.
    filled = tmp_path / "ППП.xlsx"
    filled.write_bytes(
        px.build_template(contract_number="77-0001-ЮЛ", day=day, hours=["250.5"] * 24)
    )
    page.set_input_files("[data-testid=planned-file]", str(filled))
    page.click("[data-testid=planned-upload]")
    expect(page.locator(".flash--success")).to_contain_text(
        "Значения из файла подставлены"
    )
    expect(page.locator("[data-testid=planned-h1]")).to_have_value("250,5")
    page.fill("[data-testid=planned-h3]", "-4")
    page.click("[data-testid=planned-submit]")
    expect(page.locator(".flash--error")).to_contain_text("не может быть отрицательным")
    page.fill("[data-testid=planned-h3]", "180")
    page.click("[data-testid=planned-submit]")
    expect(page.locator(".flash--success")).to_contain_text("передана (версия 1)")
    expect(page.locator("[data-testid=planned-status]")).to_have_text("Подана")
    expect(page.locator("[data-testid=planned-total]")).to_contain_text("5 941,5")
    shot(page, "planned-submitted")

    page.context.clear_cookies()
    login(page, server, "clerk@energosbyt.example")
    page.goto(f"{server.url}/readings/planned/all?status=submitted")
    row = page.locator(
        "[data-testid=planned-rows] tr", has_text=day.strftime("%d.%m.%Y")
    )
    expect(row).to_contain_text("77-0001-ЮЛ")
    shot(page, "planned-all")
    row.locator("[data-testid=planned-accept]").click()
    expect(page.locator(".flash--success")).to_contain_text("принята")
    assert not errors, errors
