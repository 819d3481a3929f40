"""Online payment in a real Chromium, on the demo world with the fake
acquirer: a customer pays 1 000,00 ₽ on the acquirer's page, comes back to
«оплачен» and finds the payment in the contract's payment history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, demo_server, screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    # The demo server runs on PostgreSQL, which counts as production: the fake
    # acquirer needs PAYMENT_FAKE=1 there (the embedded SQLite mode needs nothing).
    with demo_server(tmp_path_factory, "payments", payment_fake=True) as running:
        yield running


def test_customer_pays_online_through_the_fake_acquirer(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, _world = demo
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{server.url}/account/login")
    page.fill("#email", "signer@romashka.example")
    page.fill("#password", "demo12345")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Добрый день")

    page.locator("[data-testid=widget-pay]").first.click()
    expect(page.locator("h1")).to_have_text("Оплатить онлайн")
    expect(page.locator("#contract")).to_contain_text("77-0001-ЮЛ")
    page.fill("#amount", "1 000,00")
    screenshot(page, "payments-01-form")
    page.click("[data-testid=pay-submit]")

    expect(page.locator("[data-testid=fake-acquiring]")).to_contain_text(
        "1\u202f000,00"
    )
    screenshot(page, "payments-02-acquirer")
    page.click("[data-testid=fake-pay]")

    expect(page.locator("h1 [data-testid=payment-status]")).to_have_text("оплачен")
    expect(page.locator("[data-testid=payment-card]")).to_contain_text(
        "Оплата получена"
    )
    screenshot(page, "payments-03-paid")

    page.click("[data-testid=payment-history]")
    row = page.locator("table.table tbody tr").filter(has_text="Оплата онлайн")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("1\u202f000,00\u00a0₽")
    screenshot(page, "payments-04-history")

    page.goto(f"{server.url}/")
    expect(page.locator("[data-testid=payment-status]").first).to_have_text("оплачен")
    assert errors == []
