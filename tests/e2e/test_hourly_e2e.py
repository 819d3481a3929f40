"""Hourly volumes in a real Chromium, on the demo world: the signatory of
ООО «Ромашка» opens the hourly page (the demo month is there), uploads an XML
80020 file of one day for a demo point, sees it accepted and the values in
the days × hours table, downloads the file back from the history and sees the
points' mapping (one «не сопоставлена»); a file with a DOCTYPE is refused with
its reason. The supplier's clerk maps that point on «Точки измерений»."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from docflow.context import db_session
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.readings.hourly_demo import UNMAPPED_CODE, seed_demo
from docflow.readings.hourly_formats import write_80020
from docflow.readings.hourly_models import Channel
from tests.e2e.conftest import LiveServer, demo_server, login, screenshot

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots")


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    with demo_server(tmp_path_factory, "hourly") as (server, world):
        with server.app.test_request_context():
            s = db_session()
            with transaction(s):
                seed_demo(s, world)
        yield server, world


def shot(page: Page, name: str) -> None:
    path = screenshot(page, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def test_upload_80020_and_see_the_month(
    demo: tuple[LiveServer, dict[str, Any]], page: Page, tmp_path: Path
) -> None:
    server, _world = demo
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/account/login")
    page.fill("#email", "signer@romashka.example")
    page.fill("#password", "demo12345")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Добрый день")

    page.goto(f"{server.url}/readings/hourly/")
    expect(page.locator("h1")).to_contain_text("Почасовые объёмы")
    if page.locator("#hourly-contract").count():  # more than one contract: choose
        option = page.locator("#hourly-contract option", has_text="77-0001-ЮЛ")
        contract_id = option.get_attribute("value")
        page.goto(f"{server.url}/readings/hourly/?contract={contract_id}")
    expect(page.locator(".subtitle")).to_contain_text("77-0001-ЮЛ")
    # The demo's last full month is shown for the first point.
    last_month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    page.fill("#hourly-month", last_month.strftime("%Y-%m"))
    page.get_by_role("button", name="Показать").click()
    expect(page.get_by_test_id("hourly-grid")).to_be_visible()

    day = dt.date.today().replace(day=1)
    code = page.locator("#hourly-point option").first.inner_text().split(" ")[0]
    xml = write_80020(day, [(code, "Цех", {Channel.AP: [5] * 48})])
    path = tmp_path / f"80020_{day:%Y%m%d}.xml"
    path.write_bytes(xml)
    page.set_input_files("#hourly-file", str(path))
    page.get_by_test_id("hourly-submit").click()
    expect(page.get_by_test_id("hourly-result")).to_contain_text("принят")
    page.fill("#hourly-month", day.strftime("%Y-%m"))
    page.get_by_role("button", name="Показать").click()
    expect(page.get_by_test_id("hourly-total")).to_have_text("240")
    shot(page, "hourly-month")
    with page.expect_download() as download:
        page.get_by_test_id("hourly-upload-file").first.click()
    assert Path(download.value.path()).read_bytes() == xml
    mapping = page.get_by_test_id("hourly-mapping")
    expect(mapping).to_contain_text("не сопоставлена")
    expect(page.get_by_test_id("hourly-unmapped")).to_contain_text("1")
    expect(page.get_by_test_id("hourly-map-link")).to_have_count(0)

    bad = tmp_path / "evil.xml"
    bad.write_bytes(b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>')
    page.set_input_files("#hourly-file", str(bad))
    page.get_by_test_id("hourly-submit").click()
    expect(page.get_by_test_id("hourly-result")).to_contain_text("DOCTYPE")
    shot(page, "hourly-refused")
    assert not errors


def test_the_clerk_maps_the_new_point(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, _world = demo
    with server.app.test_request_context():
        contract_id = db_session().scalar(
            select(Contract.id).where(Contract.number == "77-0001-ЮЛ")
        )
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, server, "clerk@energosbyt.example")
    page.goto(f"{server.url}/readings/hourly/?contract={contract_id}")
    page.get_by_test_id("hourly-map-link").click()
    expect(page.locator("h1")).to_contain_text("Точки измерений")
    expect(page.get_by_test_id("hourly-points-unmapped")).to_contain_text("1")
    shot(page, "hourly-points")
    row = page.locator("tr", has_text=UNMAPPED_CODE)
    expect(row.get_by_test_id("hourly-point-state")).to_have_text("не сопоставлена")
    meter = row.locator("select[name=meter] option").nth(1)
    row.locator("select[name=meter]").select_option(meter.get_attribute("value"))
    row.locator("input[name=name]").fill("Новый ввод (ТП-14), щит 2")
    row.get_by_test_id("hourly-point-save").click()
    expect(page.locator(".flash").first).to_contain_text("сохранена")
    row = page.locator("tr", has_text=UNMAPPED_CODE)
    expect(row.get_by_test_id("hourly-point-state")).to_have_text("сопоставлена")
    expect(page.get_by_test_id("hourly-points-unmapped")).to_have_count(0)
    shot(page, "hourly-points-mapped")
    assert not errors
