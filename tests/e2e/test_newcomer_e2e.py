"""Issue 17 «What a newcomer hit», in a real Chromium against the demo world
(``docflow demo``, with the supplier's demo key, as ``make run`` serves it).

What a browser sees: one verdict on the certificate pages, in Russian; the
countersignature and «Удалить все» asking first and the message saying what
happened; a notification about a deleted document leading to a page that says
so; the top menu on one line at 1366 px; the registration instructions on the
right; the binding form's check box; the password error that is not the hint;
the news preview with its list. Screenshots go to ``var/screenshots/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.e2e.conftest import LiveServer, demo_server, login, screenshot
from tests.e2e.test_accounts_e2e import wait_for_captcha

pytestmark = pytest.mark.e2e

SIGNER = "signer@romashka.example"
CLERK = "clerk@energosbyt.example"


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    with demo_server(tmp_path_factory, "newcomer") as running:
        yield running


@pytest.fixture()
def wide_page(browser: Browser) -> Iterator[Page]:
    """The commonest office screen: 1366 px wide."""
    context = browser.new_context(
        viewport={"width": 1366, "height": 900}, locale="ru-RU"
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def key_of(world: dict[str, Any], email: str) -> dict[str, str]:
    return next(k for k in world["keys"] if k["email"] == email)


def upload_certificate(page: Page, server: LiveServer, path: str) -> None:
    page.goto(f"{server.url}/certificates/")
    page.set_input_files("#certificate", path)
    page.click("text=Проверить и зарегистрировать")


def answer_next_dialog(page: Page, *, accept: bool) -> list[str]:
    """Answer the next confirm() and keep its question."""
    asked: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        asked.append(dialog.message)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    page.once("dialog", on_dialog)
    return asked


def test_certificate_pages_give_one_verdict_in_russian(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, world = demo
    login(page, server, SIGNER)

    # Someone else's certificate: refused, in red, each reason once.
    upload_certificate(page, server, key_of(world, "signer@vasilek.example")["cert"])
    expect(page.locator("h1")).to_have_text("Сертификат не зарегистрирован")
    expect(page.locator(".verdict")).to_have_count(1)
    expect(page.locator(".verdict--bad")).to_have_count(1)
    expect(page.locator(".verdict--ok")).to_have_count(0)
    expect(page.locator("[data-testid=refusal-reasons] li")).to_have_count(1)
    expect(page.locator("body")).not_to_contain_text("Сертификат действителен")
    expect(page.locator("[data-testid=key-usage]")).to_have_text(
        "цифровая подпись, неотрекаемость"
    )
    screenshot(page, "newcomer-certificate-refused")

    # The signatory's own certificate: registered, the check said in Russian.
    upload_certificate(page, server, key_of(world, SIGNER)["cert"])
    expect(page.locator(".flash--success")).to_contain_text(
        "Сертификат зарегистрирован"
    )
    expect(page.locator("[data-testid=registration-check]")).to_have_text("пройдена")
    expect(page.locator("[data-testid=key-usage]")).to_have_text(
        "цифровая подпись, неотрекаемость"
    )
    expect(page.locator("body")).not_to_contain_text("valid")
    screenshot(page, "newcomer-certificate-registered")

    # The English locale translates the module's page too.
    page.click(".footer__langs >> text=EN")
    expect(page.locator("dt >> text=Key usage")).to_be_visible()
    page.click(".footer__langs >> text=RU")
    expect(page.locator("dt >> text=Использование ключа")).to_be_visible()


def test_countersignature_asks_first_and_says_the_document_is_signed(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, world = demo
    key = key_of(world, SIGNER)
    document = next(d for d in world["documents"] if d["contract"] == "77-0001-ЮЛ")
    login(page, server, SIGNER)
    upload_certificate(page, server, key["cert"])  # again: the same registration
    page.goto(document["url"])
    expect(page.locator("dd >> text=источник: демонстрационные данные")).to_have_count(
        1
    )
    page.click("[data-testid=sign-link]")
    page.set_input_files("#key_file", key["p12"])
    page.fill("#key_password", key["password"])
    page.click("form[data-docflow-sign] button[type=submit]")
    expect(page.locator("[data-testid=document-status]")).to_have_text(
        "Подписан клиентом, ожидает подписи поставщика", timeout=60000
    )
    page.click("text=Выйти")

    login(page, server, CLERK)
    page.goto(document["url"])
    asked = answer_next_dialog(page, accept=False)
    page.click("[data-testid=countersign]")
    page.wait_for_timeout(500)
    assert asked and asked[0].startswith("Подписать документ ключом поставщика?")
    expect(page.locator("[data-testid=document-status]")).to_have_text(
        "Подписан клиентом, ожидает подписи поставщика"
    )
    answer_next_dialog(page, accept=True)
    page.click("[data-testid=countersign]")
    expect(page.locator(".flash--success")).to_have_text(
        "Документ подписан ключом поставщика.", timeout=60000
    )
    expect(page.locator("[data-testid=document-status]")).to_have_text(
        "Подписан обеими сторонами"
    )
    expect(page.locator("body")).not_to_contain_text("отправлен на подпись")
    expect(page.locator("[data-testid=signature]")).to_have_count(2)
    screenshot(page, "newcomer-document-card")


def test_notifications_ask_before_deleting_and_a_deleted_document_says_so(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, world = demo
    invoice = next(d for d in world["documents"] if d["contract"] == "50-0100-ЮЛ")
    login(page, server, CLERK)
    page.goto(invoice["url"])
    answer_next_dialog(page, accept=True)
    page.click("text=Удалить документ")
    expect(page.locator(".flash")).to_contain_text("удалён")
    page.click("text=Выйти")

    login(page, server, "signer@vasilek.example")
    page.goto(f"{server.url}/notifications")
    items = page.locator("[data-testid=notification]")
    count = items.count()
    assert count >= 1
    asked = answer_next_dialog(page, accept=False)
    page.click("[data-testid=delete-all] button")
    page.wait_for_timeout(500)
    assert asked == ["Удалить все уведомления? Вернуть их будет нельзя."]
    expect(items).to_have_count(count)

    page.click(f"[data-testid=notification] a[href='/documents/{invoice['id']}']")
    expect(page.locator("h1")).to_have_text("Документ удалён")
    expect(page.locator("[data-testid=document-gone]")).to_contain_text(
        "Подписывать его больше не нужно"
    )
    page.click("text=К уведомлениям")
    expect(page.locator("h1")).to_have_text("Уведомления")


def test_the_top_menu_fits_one_line_at_1366_px(
    demo: tuple[LiveServer, dict[str, Any]], wide_page: Page
) -> None:
    server, _world = demo
    page = wide_page
    for email in (CLERK, SIGNER):
        login(page, server, email)
        tops = page.eval_on_selector_all(
            ".mainnav > a, .navmore > summary",
            "els => els.map(e => Math.round(e.getBoundingClientRect().top))",
        )
        assert len(tops) >= 6 and len(set(tops)) == 1, (email, str(tops))
        topbar = page.locator(".topbar").bounding_box()
        assert topbar is not None and topbar["height"] < 70, (email, topbar)
        page.click("[data-testid=nav-more] summary")
        expect(page.locator(".navmore__menu a >> text=Ключи API")).to_be_visible()
        if email == CLERK:
            expect(page.locator(".navmore__menu a")).to_have_count(11)
            screenshot(page, "newcomer-clerk-menu")
        page.keyboard.press("Escape")
        expect(page.locator(".navmore__menu")).to_be_hidden()
        if email == SIGNER:
            screenshot(page, "newcomer-dashboard")
        page.click("text=Выйти")


def test_registration_shows_the_instructions_and_a_password_error_not_the_hint(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, _world = demo
    # The login page tells what the cabinet has, appeals and services included.
    page.goto(f"{server.url}/account/login")
    expect(page.locator(".auth-aside")).to_contain_text("Обращения")
    expect(page.locator(".auth-aside")).to_contain_text("заказ услуг")
    page.click("text=Регистрация")
    help_box = page.locator("[data-testid=registration-help]")
    expect(help_box).to_contain_text("Как зарегистрироваться")
    # The right-hand area, once the page has laid out (the captcha widget
    # loads after the text and may reflow the card): fails on a timeout if
    # the help never stands beside the form.
    page.wait_for_function(
        """() => {
            const card = document.querySelector('.auth-card');
            const help = document.querySelector('[data-testid=registration-help]');
            return card && help &&
                help.getBoundingClientRect().left >= card.getBoundingClientRect().right;
        }""",
        timeout=5000,
    )
    page.fill("#last_name", "Кузьмина")
    page.fill("#first_name", "Анна")
    page.fill("#email", "kuzmina@example.ru")
    page.fill("#password", "abcdefgh")
    page.fill("#password2", "abcdefgh")
    wait_for_captcha(page)
    page.click("button[type=submit]")
    field = page.locator(".field:has(#password)")
    expect(field.locator(".error")).to_have_text(
        "Пароль не подходит: нет ни одной цифры."
    )
    expect(field.locator(".hint")).to_have_text(
        "Пароль должен быть не короче 8 символов и содержать буквы и цифры."
    )
    screenshot(page, "newcomer-registration")


def test_binding_keeps_email_and_inn_with_the_check_box(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, _world = demo
    login(page, server, SIGNER)
    page.goto(f"{server.url}/contracts/bind")
    page.fill("#email", "office@romashka.example")
    page.fill("#inn", "7701234567")
    page.fill("#number", "77-0003-ЮЛ")
    page.check("#more")
    page.click("[data-testid=bind-form] button[type=submit]")
    expect(page.locator(".flash--success")).to_contain_text(
        "Договор № 77-0003-ЮЛ привязан"
    )
    expect(page.locator("#email")).to_have_value("office@romashka.example")
    expect(page.locator("#inn")).to_have_value("7701234567")
    expect(page.locator("#number")).to_have_value("")
    expect(page.locator("#more")).to_be_checked()
    # The contract card: payments, documents and the services ordered.
    page.click(".mainnav >> text=Договоры")
    page.click("[data-testid=contracts] a >> text=№ 77-0003-ЮЛ")
    expect(page.locator("[data-testid=contract-payments]")).to_be_visible()
    expect(page.locator("[data-testid=contract-documents]")).to_be_visible()
    expect(page.locator("[data-testid=contract-orders]")).to_be_visible()
    page.goto(f"{server.url}/profile/subscriptions")
    expect(page.locator("[data-testid=subscriptions-form]")).to_contain_text(
        "Получен ответ на обращение"
    )


def test_news_preview_shows_the_list_as_the_news_page_does(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, _world = demo
    login(page, server, SIGNER)
    page.goto(f"{server.url}/news")
    preview = page.locator("[data-testid=news-preview]").first
    expect(preview.locator("li")).to_have_count(3)
    expect(preview).not_to_contain_text("- привязать")
    page.click("[data-testid=news-item] h2 a")
    expect(page.locator(".richtext li")).to_have_count(3)
