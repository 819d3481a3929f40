"""Signing «по доверенности» in a real Chromium, on the demo world as
``make run`` serves it: ООО «Ромашка»'s employee, whose personal certificate
carries no ИНН ЮЛ, logs in, opens the ПРОМ10 act awaiting the customer's
signature and signs it with her PKCS#12 file in the page; the act is signed by
the customer, and its card names the МЧД the signature relies on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from docflow.powers.registry import FileRegistry
from tests.e2e.conftest import LiveServer, demo_server, login, screenshot

pytestmark = pytest.mark.e2e

EMPLOYEE = "employee@romashka.example"


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    with demo_server(tmp_path_factory, "mchd") as running:
        yield running


def test_the_employee_signs_a_prom10_act_under_her_power_of_attorney(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, world = demo
    key = next(k for k in world["keys"] if k["email"] == EMPLOYEE)
    act = next(d for d in world["documents"] if d["type"] == "prom10")
    power = world["powers_of_attorney"][0]
    assert power["internal_number"] == "МЧД-1/2026"

    login(page, server, EMPLOYEE)
    page.goto(f"{server.url}/documents/")
    page.click(f"text={act['title']}")
    expect(page.locator("[data-testid=document-status]")).to_have_text(
        "Ожидает подписи клиента"
    )
    page.click("[data-testid=sign-link]")
    page.set_input_files("#key_file", key["p12"])
    page.fill("#key_password", key["password"])
    page.click("form[data-docflow-sign] button[type=submit]")
    expect(page.locator("[data-testid=document-status]")).to_have_text(
        "Подписан клиентом, ожидает подписи поставщика", timeout=60000
    )
    signature = page.locator("[data-testid=signature]")
    expect(signature).to_have_count(1)
    expect(signature).to_contain_text("Сидорова")
    screenshot(page, "mchd-act-signed-by-employee")

    # The card names the power of attorney the signature relies on.
    stamp = page.locator("[data-testid=power-of-attorney]")
    expect(stamp).to_have_count(1)
    expect(stamp).to_contain_text("По доверенности")
    expect(stamp).to_contain_text("МЧД-1/2026")
    expect(stamp).to_contain_text(power["number"])
    screenshot(page, "mchd-document-card")


def test_after_a_revocation_in_the_registry_double_the_page_says_why(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    """``docflow mchd registry revoke …`` (the principal revoking it in the ФНС
    registry): her next signature is refused, and the page says why."""

    server, world = demo
    key = next(k for k in world["keys"] if k["email"] == EMPLOYEE)
    power = world["powers_of_attorney"][0]
    # The МЧД grants «Подписание дополнительных соглашений» too.
    agreement = next(d for d in world["documents"] if d["type"] == "agreement")
    assert FileRegistry(server.var_dir / "mchd-registry.json").revoke(power["number"])

    login(page, server, EMPLOYEE)
    page.goto(agreement["url"])
    page.click("[data-testid=sign-link]")
    page.set_input_files("#key_file", key["p12"])
    page.fill("#key_password", key["password"])
    page.click("form[data-docflow-sign] button[type=submit]")
    message = page.locator("[data-sign-status] [data-sign-message=error]")
    expect(message).to_contain_text("отозвана", timeout=60000)
    expect(message).to_contain_text(power["number"])
    screenshot(page, "mchd-refused-after-revocation")
    page.goto(agreement["url"])
    expect(page.locator("[data-testid=document-status]")).to_have_text(
        "Ожидает подписи клиента"
    )
