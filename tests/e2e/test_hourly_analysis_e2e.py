"""The hourly analysis in a real Chromium, on the demo world: the signatory
of ООО «Ромашка» uploads an XML 80020 file of a day for a demo point, files
a ППП for that day (one hour planned short), goes from the monthly analysis
to the hourly one and sees planned against actual with the day's deviation
and the hour beyond ±5 % marked; the demo month shows the profile, the heat
map with the peak hours and the control measurement; the clerk sets peak
hours and sees every contract's control measurement."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from docflow.readings.hourly_formats import write_80020
from docflow.readings.hourly_models import Channel
from docflow.readings.planned_services import MSK, utcnow
from tests.e2e.conftest import LiveServer, demo_server, login, screenshot

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots")


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    with demo_server(tmp_path_factory, "hourly_analysis") as (server, world):
        yield server, world


def shot(page: Page, name: str) -> None:
    path = screenshot(page, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def test_upload_file_a_plan_and_see_the_deviation(
    demo: tuple[LiveServer, dict[str, Any]], page: Page, tmp_path: Path
) -> None:
    server, world = demo
    contract_id = world["hourly_analysis"]["contract_id"]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    day = utcnow().astimezone(MSK).date() + dt.timedelta(days=6)
    login(page, server, "signer@romashka.example")

    # The day's hourly values: 100 kWh each hour (two half-hours of 50).
    page.goto(f"{server.url}/readings/hourly/?contract={contract_id}")
    code = page.locator("#hourly-point option").first.inner_text().split(" ")[0]
    xml = tmp_path / f"80020_{day:%Y%m%d}.xml"
    xml.write_bytes(write_80020(day, [(code, "Цех", {Channel.AP: [50] * 48})]))
    page.set_input_files("#hourly-file", str(xml))
    page.get_by_test_id("hourly-submit").click()
    expect(page.get_by_test_id("hourly-result")).to_contain_text("принят")

    # The ППП of that day: 100 each hour but 80 at 10:00–11:00 and 98 at 11:00–12:00.
    page.goto(f"{server.url}/readings/planned/")
    page.select_option("#planned-contract", label="№ 77-0001-ЮЛ — ООО «Ромашка»")
    page.fill("#planned-day", day.isoformat())
    page.click("[data-testid=planned-choose] button[type=submit]")
    for hour in range(1, 25):
        value = {11: "80", 12: "98"}.get(hour, "100")
        page.fill(f"[data-testid=planned-h{hour}]", value)
    page.click("[data-testid=planned-submit]")
    expect(page.locator(".flash--success")).to_contain_text("передана (версия 1)")

    # From the monthly analysis to the hourly one, then the plan's month and day.
    page.goto(f"{server.url}/readings/{contract_id}/analysis")
    page.get_by_test_id("hourly-analysis-link").click()
    expect(page.locator("h1")).to_contain_text("Почасовой анализ потребления")
    page.fill("#an-month", day.strftime("%Y-%m"))
    page.get_by_test_id("analysis-show").click()
    row = page.locator(f"[data-testid=plan-days] tr[data-day='{day.isoformat()}']")
    expect(row).to_contain_text("Подана, версия 1")
    expect(row).to_contain_text("+22")  # 2 400 actual − 2 378 planned
    row.locator("a").click()
    expect(page.locator("#plan-day")).to_contain_text(day.strftime("%d.%m.%Y"))
    expect(page.get_by_test_id("plan-day-deviation")).to_have_text("+22")
    over = page.locator("[data-testid=plan-hours] tr[data-over]")
    expect(over).to_have_count(1)
    expect(over).to_contain_text("10:00–11:00")
    expect(over).to_contain_text("+25 %")
    expect(page.locator("#plan-chart")).to_be_visible()
    page.locator("#plan").scroll_into_view_if_needed()
    shot(page, "hourly-analysis-plan")
    assert not errors, errors


def test_demo_month_and_the_clerks_pages(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, world = demo
    contract_id = world["hourly_analysis"]["contract_id"]
    month = world["hourly_analysis"]["month"][:7]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, server, "signer@romashka.example")
    page.goto(f"{server.url}/readings/hourly-analysis/{contract_id}?month={month}")
    expect(page.get_by_test_id("figure-total")).not_to_be_empty()
    expect(page.locator("#heatmap-chart rect[data-peak]").first).to_be_attached()
    expect(page.locator("#profile-chart")).to_be_visible()
    expect(page.get_by_test_id("plan-hours-over")).not_to_have_text("0")
    expect(page.get_by_test_id("control-status")).to_contain_text("Передан")
    shot(page, "hourly-analysis")
    page.goto(f"{server.url}/readings/hourly-analysis/{contract_id}/control")
    expect(page.get_by_test_id("control-state")).to_have_text("Передан")
    shot(page, "hourly-analysis-control")

    page.context.clear_cookies()
    login(page, server, "clerk@energosbyt.example")
    page.goto(f"{server.url}/readings/hourly-analysis/schedule?month={month}")
    page.get_by_test_id("rule-hour-9").check()
    page.get_by_test_id("peak-rule-apply").click()
    expect(page.locator(".flash--success")).to_contain_text("сохранены")
    expect(page.get_by_test_id("peak-summary")).to_contain_text("Установлено часов")
    shot(page, "hourly-analysis-schedule")
    page.goto(f"{server.url}/readings/hourly-analysis/control")
    expect(page.get_by_test_id("control-rows")).to_contain_text("77-0001-ЮЛ")
    shot(page, "hourly-analysis-control-all")
    assert not errors, errors
