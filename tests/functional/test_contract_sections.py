"""The contract card's sections that other modules register
(:mod:`docflow.contracts.sections`): shown in order, and one that fails does
not take the card down."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from docflow.accounts.models import User
from docflow.contracts.sections import (
    ContractSection,
    register_section,
    registered_sections,
)
from tests.functional.contract_world import build_world, grant, login, make_user


def _viewer_of_c1(app: Flask, client: FlaskClient) -> uuid.UUID:
    world = build_world(app)
    grant(app, make_user(app, "viewer@romashka.example"), world.c1)
    login(client, "viewer@romashka.example")
    return world.c1


def test_modules_sections_are_shown_in_their_order(
    app: Flask, client: FlaskClient
) -> None:
    c1 = _viewer_of_c1(app, client)
    assert [s.key for s in registered_sections()][:3] == [
        "documents",
        "orders",
        "objects",
    ]
    page = client.get(f"/contracts/{c1}").get_data(as_text=True)
    places = [
        page.index(f'data-testid="contract-{key}"')
        for key in ("payments", "documents", "orders", "objects", "schedule")
    ]
    assert places == sorted(places)
    assert "Документы по договору" in page and "Заказанные услуги" in page
    assert "Объекты и приборы учёта" in page


def test_a_failing_section_is_logged_and_the_card_still_shows(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    c1 = _viewer_of_c1(app, client)
    orders = next(s for s in registered_sections() if s.key == "orders")

    def broken(session: Session, *, contract_id: uuid.UUID, user: User) -> object:
        raise RuntimeError("the orders' database is away")

    register_section(replace(orders, rows=broken))
    try:
        resp = client.get(f"/contracts/{c1}")
    finally:
        register_section(orders)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    orders_part = page.split('data-testid="contract-orders"', 1)[1]
    orders_part = orders_part.split("</section>", 1)[0]
    assert "Раздел временно недоступен" in orders_part
    # The rest of the card is there.
    assert 'data-testid="contract-documents"' in page
    assert 'data-testid="contract-objects"' in page
    assert 'data-testid="contract-schedule"' in page
    assert "contract card section orders failed" in caplog.text


@pytest.mark.parametrize("key", ["contract", "payments", "not a name"])
def test_a_section_may_not_hide_the_cards_own_variables(key: str) -> None:
    section = ContractSection(
        key=key,
        title="Раздел",
        template="contracts/_documents.html",
        rows=lambda session, *, contract_id, user: [],
    )
    with pytest.raises(ValueError, match="not usable"):
        register_section(section)
    assert key not in [s.key for s in registered_sections()]
