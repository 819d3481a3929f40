"""A live cabinet in a background thread and a real headless Chromium."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from docflow.demo import create_demo_world
from docflow.extensions import limiter
from tests.appfixtures import (
    build_app,
    empty_tables,
    make_settings,
    postgres_database,
    worker_database_name,
)
from tests.services import free_port, require_command, require_postgres

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


class LiveServer:
    def __init__(self, app: Flask, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)

    @property
    def var_dir(self) -> Path:
        return Path(self.app.extensions["docflow"].settings.var_dir)


@pytest.fixture(scope="session")
def e2e_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    admin = require_postgres()
    var = tmp_path_factory.mktemp("var-e2e")
    with postgres_database(admin, worker_database_name() + "_e2e") as url:
        port = free_port()
        app = build_app(make_settings(var, url, base_url=f"http://127.0.0.1:{port}"))
        app.config["WTF_CSRF_ENABLED"] = True
        app.config["E2E_PORT"] = port
        yield app
        app.extensions["docflow"].engine.dispose()


@pytest.fixture()
def live_server(e2e_app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(e2e_app, e2e_app.config["E2E_PORT"])
    limiter.reset()
    server.start()
    yield server
    server.stop()
    empty_tables(e2e_app)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One xdist worker runs every browser test: Playwright's sync API keeps an
    # asyncio loop running in its thread, which would break the asyncio.run()
    # of pyHanko's validators in tests that happen to share the worker.
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = require_command("chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1360, "height": 900}, locale="ru-RU", accept_downloads=True
    )
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextmanager
def demo_server(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    *,
    supplier_key: bool = True,
    configure: Callable[[Flask], None] | None = None,
    **settings: Any,
) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    """A live server on its own PostgreSQL database with the demo world (the
    newcomer's `make run`), CSRF on; ``supplier_key`` countersigns with the
    demo supplier's key; ``configure`` adjusts the app before it starts."""

    admin = require_postgres()
    var = tmp_path_factory.mktemp(f"var-e2e-{name}")
    with postgres_database(admin, f"{worker_database_name()}_e2e_{name}") as url:
        port = free_port()
        app = build_app(
            make_settings(var, url, base_url=f"http://127.0.0.1:{port}", **settings)
        )
        app.config["WTF_CSRF_ENABLED"] = True
        if configure is not None:
            configure(app)
        with app.app_context():
            world = create_demo_world()
        state = app.extensions["docflow"]
        if supplier_key:
            state.settings = state.settings.replace(
                supplier_signer_p12=str(var / "demo" / "supplier-signer.p12"),
                supplier_signer_password="demo1234",
            )
        limiter.reset()
        server = LiveServer(app, port)
        server.start()
        try:
            yield server, world
        finally:
            server.stop()
            state.engine.dispose()


def login(page: Page, server: LiveServer, email: str) -> None:
    """Sign in with the demo password; the main page greets the user."""
    page.goto(f"{server.url}/account/login")
    page.fill("#email", email)
    page.fill("#password", "demo12345")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Добрый день")
