"""Surveys in a real Chromium, on the demo world: the signatory of ООО
«Ромашка» opens the demo survey «Оценка качества обслуживания» from the main
page's «Анкеты» widget, answers one question of each kind, and the widget then
says the survey is answered; the administrator sees the answer in the results."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from docflow.db import transaction
from docflow.surveys.demo import seed_demo
from tests.e2e.conftest import LiveServer, demo_server, login, screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    with demo_server(tmp_path_factory, "surveys", supplier_key=False) as running:
        server, world = running
        # The integrator wires seed_demo into create_demo_world; until then
        # (and harmlessly after: it is idempotent) the survey is seeded here.
        with server.app.app_context():
            s = server.app.extensions["docflow"].sessionmaker()
            with transaction(s):
                seed_demo(s, world)
            s.close()
        yield running


def test_customer_answers_the_demo_survey_from_the_widget(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, _ = demo
    login(page, server, "signer@romashka.example")
    widget = page.locator("[data-testid=widget-surveys]")
    expect(widget).to_contain_text("Оценка качества обслуживания")
    expect(widget.locator("[data-testid=survey-item]")).to_have_attribute(
        "data-state", "open"
    )
    screenshot(page, "surveys-widget-open")
    widget.get_by_role("link", name="Оценка качества обслуживания").click()
    expect(page.locator("h1")).to_have_text("Оценка качества обслуживания")

    # Sending without the required answers: a clear message, nothing lost.
    page.locator("[data-testid=survey-submit]").click()
    expect(page.locator("[data-testid=survey-error]")).to_contain_text(
        "Ответьте на обязательные вопросы"
    )
    questions = page.locator("[data-testid=question]")
    questions.nth(0).get_by_label("9").check()
    questions.nth(1).get_by_label("Личный кабинет").check()
    questions.nth(2).get_by_label("Документооборот").check()
    questions.nth(2).get_by_label("Показания").check()
    questions.nth(3).locator("textarea").fill("Добавьте напоминания о сроках оплаты")
    screenshot(page, "surveys-answer-form")
    page.locator("[data-testid=survey-submit]").click()
    expect(page.locator("[data-testid=answered]")).to_contain_text(
        "Ваша организация уже ответила на эту анкету"
    )
    expect(page.locator("[data-testid=answered]")).to_contain_text(
        "Документооборот; Показания"
    )
    screenshot(page, "surveys-answered")

    page.goto(f"{server.url}/")
    widget = page.locator("[data-testid=widget-surveys]")
    expect(widget.locator("[data-testid=survey-answered]")).to_have_text("Ответ дан")
    screenshot(page, "surveys-widget-answered")


def test_administrator_reads_the_results(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, _ = demo
    login(page, server, "admin@energosbyt.example")
    page.goto(f"{server.url}/surveys/manage")
    screenshot(page, "surveys-manage")
    page.get_by_role("link", name="Оценка качества обслуживания").click()
    expect(page.locator("[data-testid=survey-status]")).to_have_text("Опубликована")
    screenshot(page, "surveys-card")
    page.locator("[data-testid=results-link]").click()
    expect(page.locator("h1")).to_have_text("Итоги анкеты")
    expect(page.locator("svg.survey-chart").first).to_be_visible()
    screenshot(page, "surveys-results")


def test_administrator_builds_and_publishes_a_survey(
    demo: tuple[LiveServer, dict[str, Any]], page: Page
) -> None:
    server, _ = demo
    login(page, server, "admin@energosbyt.example")
    page.goto(f"{server.url}/surveys/manage/new")
    page.fill("#title", "Удобство оплаты")
    page.check("input[name=target][value=contracts]")
    page.fill("#contract_numbers", "77-0001-ЮЛ")
    page.get_by_role("button", name="Создать черновик").click()
    expect(page.locator("[data-testid=survey-status]")).to_have_text("Черновик")
    form = page.locator("[data-testid=add-question]")
    form.locator("#q-text").fill("Удобно ли платить онлайн?")
    form.locator("#q-kind").select_option("scale")
    form.locator("#q-min").fill("Неудобно")
    form.locator("#q-max").fill("Очень удобно")
    form.get_by_label("Обязательный вопрос").check()
    form.get_by_role("button", name="Добавить вопрос").click()
    expect(
        page.locator("[data-testid=questions] [data-testid=question]")
    ).to_have_count(1)
    screenshot(page, "surveys-draft")
    page.locator("[data-testid=publish]").click()
    expect(page.locator("[data-testid=survey-status]")).to_have_text("Опубликована")
    expect(page.locator(".flash")).to_contain_text("клиенты получили уведомление")
