"""The grid company's cabinet (ЛК МОЭСК, docflow.tours.grid): the menu item
and the contract card's link made from GRID_CABINET_URL, hidden without it; the
account number the contract's administrator stores, URL-encoded into the link;
who may store it (manage only: 403 for others, 404 for another organisation)
and what is refused."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from docflow.audit.models import AuditRecord
from docflow.config import ConfigError, Settings
from docflow.context import db_session
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.demo import create_demo_world
from docflow.tours.demo import ACCOUNT, CONTRACT, seed_demo
from docflow.tours.grid import cabinet_link, clean_account
from docflow.tours.models import GridAccount
from tests.functional.world import PASSWORD, World, keys, world

__all__ = ["keys", "world"]

TEMPLATE = "https://lk.example.test/connect?account={account}&from=docflow"
TITLE = "Личный кабинет ПАО «Россети Московский регион» (МОЭСК)"


def login(client: FlaskClient, email: str) -> FlaskClient:
    resp = client.post("/account/login", data={"email": email, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def configure(app: Flask, monkeypatch: pytest.MonkeyPatch, url: str | None) -> None:
    state = app.extensions["docflow"]
    monkeypatch.setattr(
        state,
        "settings",
        state.settings.replace(grid_cabinet_url=url, grid_cabinet_title=TITLE),
    )


@pytest.fixture()
def grid(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    configure(world.app, monkeypatch, TEMPLATE)
    yield world


def card(c: FlaskClient, w: World) -> str:
    resp = c.get(f"/contracts/{w.contract_a.id}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def links(page: str, testid: str) -> list[str]:
    return re.findall(rf'<a [^>]*data-testid="{testid}"[^>]*>', page)


def href(tag: str) -> str:
    return html.unescape(re.search(r'href="([^"]*)"', tag)[1])


def save(c: FlaskClient, w: World, account: str, contract: Any = None) -> Any:
    contract_id = contract or w.contract_a.id
    return c.post(f"/contracts/{contract_id}/grid-account", data={"account": account})


def stored(w: World) -> dict[str, str]:
    with w.app.app_context():
        s = w.session()
        try:
            return {
                str(r.contract_id): r.account for r in s.scalars(select(GridAccount))
            }
        finally:
            s.close()


# -- the link ---------------------------------------------------------------------


def test_cabinet_link_url_encodes_the_account() -> None:
    assert cabinet_link(TEMPLATE, "12-34") == (
        "https://lk.example.test/connect?account=12-34&from=docflow"
    )
    assert cabinet_link(TEMPLATE, "ЮЛ-1") == (
        "https://lk.example.test/connect?account=%D0%AE%D0%9B-1&from=docflow"
    )
    assert cabinet_link(TEMPLATE, None) == (
        "https://lk.example.test/connect?account=&from=docflow"
    )
    assert cabinet_link("https://lk.example.test/", "1") == "https://lk.example.test/"


def test_menu_item_opens_the_cabinet_in_a_new_tab(
    grid: World, client: FlaskClient
) -> None:
    login(client, grid.signer_a.email)
    page = client.get("/").get_data(as_text=True)
    [tag] = links(page, "grid-cabinet-nav")
    assert href(tag) == cabinet_link(TEMPLATE, None)
    assert 'target="_blank"' in tag and "noopener" in tag
    assert html.unescape(re.search(r'title="([^"]*)"', tag)[1]) == TITLE
    assert "ЛК МОЭСК" in page


def test_contract_card_links_with_the_stored_account(
    grid: World, client: FlaskClient
) -> None:
    login(client, grid.signer_a.email)
    page = card(client, grid)
    [tag] = links(page, "grid-cabinet-link")
    assert href(tag) == cabinet_link(TEMPLATE, None)
    assert 'target="_blank"' in tag and "noopener" in tag
    assert "Подключить учётную запись" in page
    assert 'data-testid="grid-account-form"' in page

    resp = save(client, grid, "ЮЛ-0012 345".replace(" ", ""))
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(
        f"/contracts/{grid.contract_a.id}#grid-cabinet"
    )
    page = card(client, grid)
    [tag] = links(page, "grid-cabinet-link")
    assert href(tag) == (
        "https://lk.example.test/connect?account=%D0%AE%D0%9B-0012345&from=docflow"
    )
    assert "Номер учётной записи ЛК МОЭСК сохранён" in page
    assert re.search(r'value="ЮЛ-0012345"[^>]*data-testid="grid-account"', page)


def test_the_viewer_sees_the_link_but_no_form(grid: World) -> None:
    owner = login(grid.app.test_client(), grid.signer_a.email)
    save(owner, grid, "5100-77")
    viewer = login(grid.app.test_client(), grid.viewer_a.email)
    page = card(viewer, grid)
    [tag] = links(page, "grid-cabinet-link")
    assert href(tag).startswith("https://lk.example.test/connect?account=5100-77&")
    assert "grid-account-form" not in page
    assert re.search(r'data-testid="grid-account">5100-77<', page)


def test_hidden_without_the_setting(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(world.app, monkeypatch, None)
    c = login(world.app.test_client(), world.signer_a.email)
    for page in (c.get("/").get_data(as_text=True), card(c, world)):
        assert 'data-testid="grid-cabinet' not in page
        assert ">ЛК МОЭСК" not in page and "grid-account" not in page


def test_hidden_from_the_suppliers_people(grid: World) -> None:
    c = login(grid.app.test_client(), grid.clerk.email)
    assert "grid-cabinet-nav" not in c.get("/").get_data(as_text=True)
    assert save(c, grid, "123").status_code == 403
    assert stored(grid) == {}


# -- storing the account: rights -----------------------------------------------------


def test_only_the_administrator_stores_the_account(grid: World) -> None:
    viewer = login(grid.app.test_client(), grid.viewer_a.email)
    resp = save(viewer, grid, "123")
    assert resp.status_code == 403
    assert "администратор договора" in resp.get_data(as_text=True)
    assert stored(grid) == {}


def test_another_organisations_contract_is_404(grid: World) -> None:
    b = login(grid.app.test_client(), grid.signer_b.email)
    assert save(b, grid, "123").status_code == 404
    assert (
        save(
            b, grid, "123", contract="00000000-0000-4000-8000-000000000000"
        ).status_code
        == 404
    )
    assert (
        b.post("/contracts/not-a-uuid/grid-account", data={"account": "1"}).status_code
        == 404
    )
    assert stored(grid) == {}
    # B stores on its own contract.
    assert save(b, grid, "777", contract=grid.contract_b.id).status_code == 302
    assert stored(grid) == {str(grid.contract_b.id): "777"}


def test_anonymous_is_sent_to_login(grid: World, client: FlaskClient) -> None:
    resp = save(client, grid, "123")
    assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]
    assert stored(grid) == {}


def test_clearing_the_account_and_the_audit(grid: World) -> None:
    c = login(grid.app.test_client(), grid.signer_a.email)
    save(c, grid, "123")
    save(c, grid, "123")  # unchanged: no second record
    resp = save(c, grid, "  ")
    assert resp.status_code == 302
    assert stored(grid) == {}
    assert "Номер учётной записи ЛК МОЭСК удалён" in card(c, grid)
    with grid.app.app_context():
        s = grid.session()
        actions = list(
            s.scalars(
                select(AuditRecord.action)
                .where(AuditRecord.action.like("contract.grid_account%"))
                .order_by(AuditRecord.id)
            )
        )
        s.close()
    assert actions == ["contract.grid_account_set", "contract.grid_account_cleared"]


# -- storing the account: hostile input ------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "1" * 31,
        "x" * 100_000,
        "Я" * 50_000,
        "12\x0034",
        "12\x1b34",
        "<script>alert(1)</script>",
        "1234 5678",
        "12/34",
        "12&x=1",
        "../../etc",
        "12\u202e34",
        "-123",
        "123-",
    ],
)
def test_hostile_accounts_are_refused_with_a_message(grid: World, value: str) -> None:
    c = login(grid.app.test_client(), grid.signer_a.email)
    save(c, grid, "1")
    resp = save(c, grid, value)
    assert resp.status_code == 302
    page = card(c, grid)
    assert "Номер учётной записи ЛК МОЭСК" in page
    assert re.search(r"только цифры, буквы и\s+дефисы|не длиннее 30", page)
    assert stored(grid) == {str(grid.contract_a.id): "1"}
    assert "<script>alert(1)</script>" not in page


def test_a_lone_surrogate_in_the_form_is_refused(grid: World) -> None:
    c = login(grid.app.test_client(), grid.signer_a.email)
    resp = c.post(
        f"/contracts/{grid.contract_a.id}/grid-account",
        data=b"account=%ED%A0%80",  # U+D800 in UTF-8, as a client may send it
        content_type="application/x-www-form-urlencoded",
    )
    assert resp.status_code == 302
    assert stored(grid) == {}


def test_clean_account_accepts_digits_letters_and_dashes() -> None:
    assert clean_account(" 12-34 ") == "12-34"
    assert clean_account("AbЁ-9") == "AbЁ-9"
    assert clean_account("1" * 30) == "1" * 30
    assert clean_account("") is None


def test_two_identical_saves_at_once_store_one_row(grid: World) -> None:
    clients = [login(grid.app.test_client(), grid.signer_a.email) for _ in range(2)]
    results: list[int] = []

    def go(c: FlaskClient) -> None:
        results.append(save(c, grid, "4242").status_code)

    threads = [threading.Thread(target=go, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [302, 302]
    assert stored(grid) == {str(grid.contract_a.id): "4242"}
    with grid.app.app_context():
        s = grid.session()
        assert s.scalar(select(func.count()).select_from(GridAccount)) == 1
        s.close()


# -- the setting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "ftp://lk.example/{account}",
        "javascript:alert(1)//{account}",
        "https://{account}.example/",
        "https:///path",
        "https://lk.example/?a={b}",
        "https://lk.example/ x",
        "https://lk.example/\x01",
        "https://[::1",
        "lk.example/{account}",
    ],
)
def test_a_malformed_setting_fails_fast(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, value: str
) -> None:
    monkeypatch.setenv("GRID_CABINET_URL", value)
    with pytest.raises(ConfigError, match="GRID_CABINET_URL"):
        Settings.from_env(var_dir=tmp_path, secret_key="x" * 32)


def test_the_setting_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.delenv("GRID_CABINET_URL", raising=False)
    monkeypatch.delenv("GRID_CABINET_TITLE", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    embedded = Settings.from_env(var_dir=tmp_path, secret_key="x" * 32)
    assert embedded.web.grid_cabinet_url == "https://lk.rossetimr.ru/?account={account}"
    assert embedded.web.grid_cabinet_title == TITLE
    monkeypatch.setenv("GRID_CABINET_URL", "off")
    assert (
        Settings.from_env(var_dir=tmp_path, secret_key="x" * 32).web.grid_cabinet_url
        is None
    )
    monkeypatch.setenv("GRID_CABINET_URL", TEMPLATE)
    monkeypatch.setenv("GRID_CABINET_TITLE", "ЛК сетевой компании")
    given = Settings.from_env(var_dir=tmp_path, secret_key="x" * 32)
    assert given.web.grid_cabinet_url == TEMPLATE
    assert given.web.grid_cabinet_title == "ЛК сетевой компании"
    monkeypatch.delenv("GRID_CABINET_URL")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@localhost/db")
    monkeypatch.setenv("RATELIMIT_STORAGE_URL", "redis://localhost:6379/0")
    production = Settings.from_env(var_dir=tmp_path, secret_key="x" * 32)
    assert production.web.grid_cabinet_url is None


# -- the demo ---------------------------------------------------------------------------


def test_demo_seed_stores_one_account_and_is_idempotent(app: Flask) -> None:
    with app.test_request_context():
        world = create_demo_world()
        s = db_session()
        for _ in range(2):
            with transaction(s):
                seed_demo(s, world)
        rows = list(s.scalars(select(GridAccount)))
        assert [r.account for r in rows] == [ACCOUNT]

        assert s.get(Contract, rows[0].contract_id).number == CONTRACT


def test_a_form_without_its_csrf_token_stores_nothing(
    grid: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = login(grid.app.test_client(), grid.signer_a.email)
    viewer = login(grid.app.test_client(), grid.viewer_a.email)
    monkeypatch.setitem(grid.app.config, "WTF_CSRF_ENABLED", True)
    # The app's CSRF protection refuses both before the route runs.
    assert save(viewer, grid, "123").status_code == 400
    assert save(owner, grid, "123").status_code == 400
    assert stored(grid) == {}
