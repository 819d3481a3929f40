"""Ordering a commercial service in a real Chromium, on the demo world: the
signatory picks a service, fills the wizard, signs the offer with the demo
PKCS#12 key in the page; the supplier's key countersigns it (the flow's task,
eager here), the invoice appears and the order waits for payment; when the
payments module is installed, the order is paid through the fake acquirer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from docflow.db import transaction
from docflow.service_orders.demo import seed_demo
from tests.e2e.conftest import LiveServer, demo_server, screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    with demo_server(tmp_path_factory, "services", payment_fake=True) as running:
        server, world = running

        with server.app.app_context():
            s = server.app.extensions["docflow"].sessionmaker()
            with transaction(s):
                seed_demo(s, world)  # idempotent, should the demo world seed it already
            s.close()
        yield running


def test_order_sign_the_offer_and_get_the_invoice(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, world = demo
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    key = next(k for k in world["keys"] if k["email"] == "signer@romashka.example")

    page.goto(f"{server.url}/account/login")
    page.fill("#email", "signer@romashka.example")
    page.fill("#password", "demo12345")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Добрый день")

    page.goto(f"{server.url}/services/")
    expect(page.locator("[data-testid=service-banner]")).to_have_count(4)
    screenshot(page, "service-orders-01-catalogue")
    page.locator("[data-testid=service-banner]").filter(
        has_text="Проверка схемы подключения"
    ).locator("[data-testid=order-service]").click()
    # Two contracts of ООО «Ромашка»: the wizard asks which one first.
    expect(page.locator("[data-testid=wizard-contract-step]")).to_be_visible()
    page.check("input[name=contract] >> nth=0")
    page.click("text=Продолжить")
    expect(page.locator("[data-testid=order-form]")).to_be_visible()
    page.click("[data-testid=place-order]")  # empty: the server says what is missing
    expect(page.locator(".field.has-error")).to_have_count(2)
    page.fill("#f1", "г. Москва, ул. Энергетиков, д. 7, стр. 2")
    page.fill("#f2", "01234567")
    page.fill("#f3", "2026-12-21")
    page.fill("#comment", "Пропуск на территорию заказан")
    screenshot(page, "service-orders-02-wizard")
    page.click("[data-testid=place-order]")
    expect(page.locator(".flash--success")).to_contain_text("Номер заказа – ЗУ-")
    expect(page.locator("[data-testid=order-status]").first).to_have_text("Оформлен")
    number = re.search(r"ЗУ-\d{4}-\d{6}", page.locator("h1").inner_text())
    assert number
    screenshot(page, "service-orders-03-ordered")

    page.goto(f"{server.url}/certificates/")
    page.set_input_files("#certificate", key["cert"])
    page.click("text=Проверить и зарегистрировать")
    expect(page.locator(".flash--success")).to_contain_text(
        "Сертификат зарегистрирован"
    )

    page.goto(f"{server.url}/services/orders")
    page.click(f"text={number.group(0)}")
    page.click("[data-testid=open-offer]")
    page.click("[data-testid=sign-link]")
    page.set_input_files("#key_file", key["p12"])
    page.fill("#key_password", key["password"])
    page.click("form[data-docflow-sign] button[type=submit]")
    # The supplier's key countersigns at once (eager in this mode).
    expect(page.locator("[data-testid=document-status]")).to_have_text(
        "Подписан обеими сторонами", timeout=60000
    )
    page.goto(f"{server.url}/services/orders")
    page.click(f"text={number.group(0)}")
    expect(page.locator("[data-testid=order-status]").first).to_have_text(
        "Ожидает оплаты"
    )
    expect(page.locator("[data-testid=order-document-invoice]")).to_contain_text(
        "Счёт на оплату"
    )
    screenshot(page, "service-orders-04-awaiting-payment")

    pay = page.locator("[data-testid=pay-online]")
    if pay.count():  # the payments module is installed: pay with the fake acquirer
        pay.click()
        page.click("[data-testid=pay-submit]")
        expect(page.locator("[data-testid=fake-acquiring]")).to_contain_text(
            "6\u202f500,00"
        )
        page.click("[data-testid=fake-pay]")
        page.goto(f"{server.url}/services/orders")
        page.click(f"text={number.group(0)}")
        expect(page.locator("[data-testid=order-status]").first).to_have_text("Оплачен")
        screenshot(page, "service-orders-05-paid")
    page.goto(f"{server.url}/contracts/")
    page.click("text=77-0001-ЮЛ")
    expect(page.locator("[data-testid=contract-orders]")).to_contain_text(
        number.group(0)
    )

    # The clerk: all orders, the payment mark (when not paid online), completion.
    page.click("text=Выйти")
    page.goto(f"{server.url}/account/login")
    page.fill("#email", "clerk@energosbyt.example")
    page.fill("#password", "demo12345")
    page.click("button[type=submit]")
    page.goto(f"{server.url}/services/admin/orders")
    expect(page.locator("[data-testid=orders-table]")).to_contain_text("ООО «Ромашка»")
    screenshot(page, "service-orders-06-staff-list")
    page.click(f"text={number.group(0)}")
    if page.locator("[data-testid=mark-paid-form]").count():
        page.fill("#reference", "П/П 512 от 21.12.2026")
        page.click("text=Отметить оплату")
    page.click("[data-testid=mark-done]")
    expect(page.locator("[data-testid=order-status]").first).to_have_text("Выполнен")
    screenshot(page, "service-orders-07-done")
    page.goto(f"{server.url}/services/admin/catalogue")
    expect(page.locator("[data-testid=services-table] tbody tr")).to_have_count(4)
    screenshot(page, "service-orders-08-catalogue-admin")

    # The administrator edits a service; a field list that does not read is refused.
    page.click("text=Выйти")
    page.goto(f"{server.url}/account/login")
    page.fill("#email", "admin@energosbyt.example")
    page.fill("#password", "demo12345")
    page.click("button[type=submit]")
    page.goto(f"{server.url}/services/admin/catalogue")
    page.click("text=Выдача копий документов")
    expect(page.locator("#fields")).to_contain_text("Способ получения | выбор")
    page.fill("#price", "350,00")
    screenshot(page, "service-orders-09-service-edit")
    page.click("text=Сохранить")
    expect(page.locator(".flash--success")).to_have_text("Услуга сохранена.")
    expect(page.locator("[data-testid=services-table]")).to_contain_text("350,00")
    assert errors == []
