"""Interactive hints over the interface (docflow.tours): the tour of a page is
remembered per user on the server (``POST /tours/<key>/seen``), read into
every page (``data-tours-seen`` on <body>), and re-opened from the «?» button
of the header; driver.js is served from this site under the same CSP."""

from __future__ import annotations

import html
import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

import docflow
from docflow.tours.models import TourSeen
from docflow.tours.steps import ENDPOINTS, TOURS
from tests.functional.world import PASSWORD, World, keys, world

__all__ = ["keys", "world"]

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'"
)


def login(client: FlaskClient, email: str) -> FlaskClient:
    resp = client.post("/account/login", data={"email": email, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def post_seen(
    client: FlaskClient, key: str, body: Any = None, headers: Any = None
) -> Any:
    return client.post(
        f"/tours/{key}/seen",
        data=json.dumps({"outcome": "completed"} if body is None else body),
        content_type="application/json",
        headers={"Accept": "application/json", **(headers or {})},
    )


def body_attrs(page: str) -> dict[str, str]:
    tag = re.search(r"<body[^>]*>", page)
    assert tag, "no <body>"
    return {
        k: html.unescape(v) for k, v in re.findall(r'(data-[\w-]+)="([^"]*)"', tag[0])
    }


def help_button(page: str) -> str:
    found = re.search(r"<button[^>]*data-tour-help[^>]*>", page, re.DOTALL)
    assert found, "no «?» button"
    return found[0]


def seen_rows(w: World) -> list[tuple[str, str]]:
    with w.app.app_context():
        s = w.session()
        try:
            return [
                (str(r.user_id), r.page_key)
                for r in s.scalars(select(TourSeen).order_by(TourSeen.page_key))
            ]
        finally:
            s.close()


def test_every_tour_has_steps_in_russian_and_every_page_key_a_tour() -> None:
    for key, steps in TOURS.items():
        assert steps, key
        for step in steps:
            assert re.search("[а-яё]", step.title + step.text, re.IGNORECASE)
    assert set(ENDPOINTS.values()) <= set(TOURS)
    for required in ("main", "documents", "document", "certificates", "readings"):
        assert required in TOURS
    assert "contracts" in TOURS and "sign" in TOURS


def test_the_main_page_carries_the_tour_and_nothing_seen_yet(
    world: World, client: FlaskClient
) -> None:
    login(client, world.signer_a.email)
    resp = client.get("/")
    page = resp.get_data(as_text=True)
    attrs = body_attrs(page)
    assert attrs["data-tour-page"] == "main"
    assert attrs["data-tours-seen"] == ""
    button = help_button(page)
    assert 'data-seen-url="/tours/main/seen"' in button
    steps = json.loads(
        html.unescape(re.search(r"data-tour-steps='([^']*)'", button)[1])
    )
    assert [s["title"] for s in steps] == [s.title for s in TOURS["main"]]
    assert steps[0]["selector"] is None and steps[1]["selector"] == ".mainnav"
    # Served from this site, no inline script.
    assert "/static/vendor/driverjs/driver.js.iife.js" in page
    assert "/static/js/tours.js" in page
    assert "/static/vendor/driverjs/driver.css" in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert resp.headers["Content-Security-Policy"] == CSP


def test_seen_is_remembered_per_user_and_page(world: World) -> None:
    a = login(world.app.test_client(), world.signer_a.email)
    b = login(world.app.test_client(), world.signer_b.email)
    resp = post_seen(a, "main")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "page": "main"}
    assert post_seen(a, "documents", {"outcome": "dismissed"}).status_code == 200
    # Twice is harmless (two tabs): still one row.
    assert post_seen(a, "main", {"outcome": "dismissed"}).status_code == 200

    assert body_attrs(a.get("/").get_data(as_text=True))["data-tours-seen"] == (
        "documents main"
    )
    assert body_attrs(b.get("/").get_data(as_text=True))["data-tours-seen"] == ""
    uid = str(world.signer_a.id)
    assert seen_rows(world) == [(uid, "documents"), (uid, "main")]
    # The «?» button is still there for a page whose tour was seen.
    assert "data-tour-help" in a.get("/").get_data(as_text=True)


def test_completed_and_dismissed_are_both_kept(world: World) -> None:
    a = login(world.app.test_client(), world.signer_a.email)
    post_seen(a, "main", {"outcome": "dismissed"})
    post_seen(a, "main", {"outcome": "completed"})
    post_seen(a, "main", {"outcome": "dismissed"})
    with world.app.app_context():
        s = world.session()
        row = s.get(TourSeen, (world.signer_a.id, "main"))
        assert row is not None
        assert row.completed_at is not None and row.dismissed_at is not None
        s.close()


def test_unknown_page_key_is_404_json(world: World) -> None:
    a = login(world.app.test_client(), world.signer_a.email)
    for key in ("nope", "MAIN", "main%00", "x" * 300, "%D0%AF"):
        resp = post_seen(a, key)
        assert resp.status_code == 404, key
        assert resp.get_json()["error"]["code"] in {"unknown_tour", "not_found"}
    assert seen_rows(world) == []


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "finished"},
        {"outcome": 1},
        {"outcome": None},
        {"outcome": "x" * 100_000},
        [1, 2],
        "text",
    ],
)
def test_bad_bodies_are_422_json_and_store_nothing(world: World, body: Any) -> None:
    a = login(world.app.test_client(), world.signer_a.email)
    resp = post_seen(a, "main", body)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "validation_error"
    assert seen_rows(world) == []


@pytest.mark.parametrize(
    "raw",
    [b'{"outcome": "\\u0000"}', b'{"outcome": "\\ud800"}', b"[" * 2000 + b"]" * 2000],
)
def test_hostile_json_is_refused_at_the_edge(world: World, raw: bytes) -> None:
    a = login(world.app.test_client(), world.signer_a.email)
    resp = a.post(
        "/tours/main/seen",
        data=raw,
        content_type="application/json",
        headers={"Accept": "application/json"},
    )
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] in {"invalid_json", "json_too_deep"}
    assert seen_rows(world) == []


def test_an_empty_body_counts_as_completed(world: World) -> None:
    a = login(world.app.test_client(), world.signer_a.email)
    resp = a.post("/tours/documents/seen", headers={"Accept": "application/json"})
    assert resp.status_code == 200
    assert a.post("/tours/documents/seen", data={"x": "y"}).status_code == 200
    assert seen_rows(world) == [(str(world.signer_a.id), "documents")]


def test_anonymous_is_sent_to_login(world: World, client: FlaskClient) -> None:
    resp = post_seen(client, "main")
    assert resp.status_code == 302
    assert "/account/login" in resp.headers["Location"]
    assert seen_rows(world) == []


@pytest.mark.parametrize(
    ("who", "url", "key"),
    [
        ("signer_a", "/documents/", "documents"),
        ("signer_a", "/certificates/", "certificates"),
        ("signer_a", "/contracts/", "contracts"),
        ("clerk", "/readings/", "readings"),
    ],
)
def test_pages_with_a_tour_carry_the_button_and_the_attribute(
    world: World, who: str, url: str, key: str
) -> None:
    user = getattr(world, who)
    c = login(world.app.test_client(), user.email)
    post_seen(c, "main")
    resp = c.get(url)
    assert resp.status_code == 200, url
    page = resp.get_data(as_text=True)
    attrs = body_attrs(page)
    assert attrs["data-tour-page"] == key
    assert attrs["data-tours-seen"] == "main"
    assert f'data-seen-url="/tours/{key}/seen"' in help_button(page)
    assert resp.headers["Content-Security-Policy"] == CSP


def test_the_contract_card_and_the_document_card_have_tours(world: World) -> None:
    c = login(world.app.test_client(), world.signer_a.email)
    page = c.get(f"/contracts/{world.contract_a.id}").get_data(as_text=True)
    assert body_attrs(page)["data-tour-page"] == "contract"


def test_pages_without_a_tour_and_anonymous_pages_have_no_button(
    world: World, client: FlaskClient
) -> None:
    page = client.get("/account/login").get_data(as_text=True)
    assert "data-tour-help" not in page and "data-tour-page" not in page
    login(client, world.signer_a.email)
    page = client.get("/notifications").get_data(as_text=True)
    assert "data-tour-help" not in page
    assert "data-tour-page" not in body_attrs(page)


@pytest.mark.parametrize(
    ("path", "mimetype"),
    [
        ("/static/vendor/driverjs/driver.js.iife.js", "text/javascript"),
        ("/static/vendor/driverjs/driver.css", "text/css"),
        ("/static/js/tours.js", "text/javascript"),
        ("/static/css/tours.css", "text/css"),
    ],
)
def test_vendored_files_are_served_with_their_type(
    client: FlaskClient, path: str, mimetype: str
) -> None:
    resp = client.get(path)
    assert resp.status_code == 200
    assert resp.mimetype == mimetype
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert len(resp.get_data()) > 500
    resp.close()


def test_driverjs_is_vendored_with_its_licence_and_source() -> None:
    folder = Path(docflow.__file__).parent / "static" / "vendor" / "driverjs"
    assert "MIT License" in (folder / "LICENSE").read_text()
    note = (folder / "README.md").read_text()
    assert "1.8.0" in note and "npm" in note


def test_autostart_is_off_in_the_test_harness_unless_asked(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = login(world.app.test_client(), world.signer_a.email)
    assert body_attrs(c.get("/").get_data(as_text=True))["data-tours-autostart"] == (
        "off"
    )
    state = world.app.extensions["docflow"]
    monkeypatch.setattr(state, "settings", state.settings.replace(tours_autostart=True))
    assert "data-tours-autostart" not in body_attrs(c.get("/").get_data(as_text=True))


def test_the_route_is_csrf_protected_as_the_pages_json_routes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = login(world.app.test_client(), world.signer_a.email)
    monkeypatch.setitem(world.app.config, "WTF_CSRF_ENABLED", True)
    resp = post_seen(c, "main")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"]
    assert seen_rows(world) == []
    meta = re.search(
        r'<meta name="csrf-token" content="([^"]+)"', c.get("/").get_data(as_text=True)
    )[1]
    resp = post_seen(c, "main", headers={"X-CSRFToken": meta})
    assert resp.status_code == 200
    assert seen_rows(world) == [(str(world.signer_a.id), "main")]


def test_two_identical_posts_at_once_keep_one_row(world: World) -> None:
    clients = [login(world.app.test_client(), world.signer_a.email) for _ in range(2)]
    results: list[int] = []

    def go(c: FlaskClient) -> None:
        results.append(post_seen(c, "readings").status_code)

    threads = [threading.Thread(target=go, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200, 200]
    assert seen_rows(world) == [(str(world.signer_a.id), "readings")]
