"""The main page's widgets: the registry, and each user's layout kept on the
server (collapse, the bottom panel, order), applied on the next login."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from docflow.accounts.models import Role
from docflow.dashboard import widgets
from docflow.dashboard.widgets import register_widget, registered_widgets
from tests.functional.contract_world import build_world, grant, login, make_user


def _on_page(html: str) -> list[str]:
    block = html.split('id="widgets"', 1)[1].split('data-testid="dock-panel"', 1)[0]
    return re.findall(r'<section class="card widget[^"]*" id="widget-(\w+)"', block)


def _docked(html: str) -> list[str]:
    return re.findall(r'data-testid="docked-(\w+)"', html)


def _collapsed(html: str) -> list[str]:
    return re.findall(
        r'<section class="card widget is-collapsed" id="widget-(\w+)"', html
    )


def test_layout_is_kept_per_user_and_applied_at_the_next_login(
    app: Flask, client: FlaskClient
) -> None:
    world = build_world(app)
    uid = make_user(app, "boss@romashka.example")
    grant(app, uid, world.c1, can_manage=True)
    login(client, "boss@romashka.example")
    page = client.get("/").get_data(as_text=True)
    start = _on_page(page)
    assert start[:1] == ["contracts"] and {"notifications", "news"} <= set(start)
    assert "№ 77-0001-ЮЛ" in page
    # Without JavaScript: plain forms, each answered with a redirect.
    assert (
        client.post("/widgets/notifications", data={"op": "collapse"}).status_code
        == 302
    )
    assert client.post("/widgets/contracts", data={"op": "dock"}).status_code == 302
    assert client.post("/widgets/news", data={"op": "up"}).status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert _docked(page) == ["contracts"]
    assert _collapsed(page) == ["notifications"]
    # A docked widget is not even computed: its section is not on the page
    # (other widgets, such as «Оплата», name contracts too).
    assert 'id="widget-contracts"' not in page
    on_page = _on_page(page)
    assert on_page.index("news") < on_page.index("notifications")
    # Another session of the same user (the next login) sees the same layout.
    client.post("/account/logout")
    login(client, "boss@romashka.example")
    again = client.get("/").get_data(as_text=True)
    assert _on_page(again) == on_page and _docked(again) == ["contracts"]
    # Another user is unaffected.
    other = app.test_client()
    make_user(app, "other@example.ru")
    login(other, "other@example.ru")
    assert _docked(other.get("/").get_data(as_text=True)) == []
    # «Раскрыть» puts it back at its place; «Развернуть» opens the collapsed one.
    assert client.post(
        "/widgets/contracts",
        data={"op": "undock"},
        headers={"Accept": "application/json"},
    ).get_json() == {"status": "ok"}
    client.post("/widgets/notifications", data={"op": "expand"})
    page = client.get("/").get_data(as_text=True)
    assert (
        _on_page(page)[0] == "contracts"
        and _docked(page) == []
        and not _collapsed(page)
    )
    # Drag and drop sends the whole order as JSON.
    wanted = list(reversed(_on_page(page)))
    resp = client.post("/widgets/order", json={"order": wanted})
    assert resp.status_code == 200
    assert _on_page(client.get("/").get_data(as_text=True)) == wanted
    assert client.post("/widgets/order", json={"order": "x"}).status_code == 400
    assert client.post("/widgets/nope", data={"op": "dock"}).status_code == 404
    assert client.post("/widgets/news", data={"op": "explode"}).status_code == 422
    assert client.post("/widgets/reset").status_code == 302
    assert _on_page(client.get("/").get_data(as_text=True)) == start


def test_registered_widgets_render_and_a_failing_one_does_not_break_the_page(
    app: Flask, client: FlaskClient
) -> None:
    def boom(_s: object, _u: object) -> dict[str, object]:
        raise RuntimeError("the module is broken")

    before = {w.key: w for w in registered_widgets()}
    register_widget(
        "readings_test",
        "Показания",
        "dashboard/_notifications_widget.html",
        lambda s, u: {"notifications": []},
        order=30,
    )
    register_widget(
        "broken_test",
        "Сломанный",
        "dashboard/_notifications_widget.html",
        boom,
        order=40,
        visible_for=lambda user: user.email.endswith(".ru"),
    )
    try:
        make_user(app, "user@example.ru")
        login(client, "user@example.ru")
        page = client.get("/").get_data(as_text=True)
        keys = _on_page(page)
        assert keys.index("readings_test") < keys.index("broken_test")
        assert "Не удалось загрузить виджет" in page
        other = app.test_client()
        make_user(app, "user@example.com")
        login(other, "user@example.com")
        assert "broken_test" not in _on_page(other.get("/").get_data(as_text=True))
    finally:
        widgets._REGISTRY.clear()
        widgets._REGISTRY.update(before)


def test_staff_see_no_contracts_widget(app: Flask, client: FlaskClient) -> None:
    make_user(app, "clerk@energosbyt.example", role=Role.CLERK)
    login(client, "clerk@energosbyt.example")
    assert "contracts" not in _on_page(client.get("/").get_data(as_text=True))
