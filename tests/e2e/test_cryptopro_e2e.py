"""Signing with a GOST key held by the CryptoPro ЭЦП Browser plug-in.

The plug-in is a test double (tests/e2e/doubles/cadesplugin.js, injected with
``page.add_init_script``): its object model answers like CryptoPro's, and its
hash and signature operations go to a key holder run by this test (a small
``http.server`` on loopback) that hashes with Streebog and signs with a test
GOST R 34.10-2012 key through :class:`signing.signers.GostSigner`, returning the
value in CryptoAPI byte order as CryptoPro does. The cabinet is the real one
(the demo world), its trust store holding the test GOST root.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, Route, expect

from docflow.demo import create_demo_world
from docflow.extensions import limiter
from signing import gost
from signing.signers import GostSigner
from tests.appfixtures import (
    build_app,
    make_settings,
    postgres_database,
    worker_database_name,
)
from tests.e2e.conftest import LiveServer, screenshot
from tests.services import free_port, require_postgres
from tests.unit.signing import gost_pki

pytestmark = pytest.mark.e2e

DOUBLE = Path(__file__).parent / "doubles" / "cadesplugin.js"
DOUBLE_PATH = "/__cadesplugin_double__"
PLUGIN_LABEL = "КриптоПро ЭЦП Browser plug-in"
#: CADESPLUGIN_API_URL of the cabinet under test. docflow does not ship CryptoPro's
#: cadesplugin_api.js (no licence to redistribute it): give a copy in
#: DOCFLOW_TEST_CADESPLUGIN_API to run these tests with it, else an empty script
#: stands in (frontend/README.md).
API_PATH = "/__cadesplugin_api__.js"
REAL_API = os.environ.get("DOCFLOW_TEST_CADESPLUGIN_API")
SIGNER_EMAIL = "signer@romashka.example"
#: CADESCOM_HASH_ALGORITHM_CP_GOST_3411_2012_256 / _512
HASHES = {101: gost.streebog256, 102: gost.streebog512}


@dataclass
class KeyHolder:
    """What CryptoPro holds: a GOST key with its certificate, and a log of use."""

    signer: GostSigner
    thumbprint: str
    calls: list[tuple[str, int]] = field(default_factory=list)

    def answer(self, path: str, payload: dict[str, Any]) -> dict[str, str]:
        algorithm = int(payload["algorithm"])
        self.calls.append((path, algorithm))
        if path == "/hash":
            data = base64.b64decode(payload["data"], validate=True)
            return {"hash": HASHES[algorithm](data).hex().upper()}
        if path == "/sign":
            if payload["thumbprint"] != self.thumbprint:
                raise ValueError("no key for this certificate")
            value = self.signer.sign_digest(bytes.fromhex(payload["hash"]))
            # CryptoAPI order: the octets of s || r reversed.
            return {"signature": value[::-1].hex().upper()}
        raise ValueError(f"unknown operation {path}")


def serve(holder: KeyHolder) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict[str, str]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_OPTIONS(self) -> None:  # noqa: N802 - http.server's naming
            self._send(204, {})

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            size = int(self.headers.get("Content-Length", "0"))
            try:
                body = holder.answer(self.path, json.loads(self.rfile.read(size)))
            except (ValueError, KeyError) as exc:
                self._send(400, {"error": str(exc)})
                return
            self._send(200, body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@dataclass(frozen=True)
class World:
    server: LiveServer
    data: dict[str, Any]
    issued: gost_pki.GostIssued
    holder: KeyHolder
    holder_url: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    admin = require_postgres()
    var = tmp_path_factory.mktemp("var-e2e-cryptopro")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    day = dt.timedelta(days=1)
    root = gost_pki.issue(
        gost.GostPrivateKey.generate(gost_pki.TC26_512_A),
        issuer=None,
        common_name="Тестовый УЦ ГОСТ docflow",
        organization="АО «Тестовый УЦ»",
        not_before=now - 365 * day,
        not_after=now + 3650 * day,
        serial=1,
        ca=True,
    )
    # The demo signatory of ООО «Ромашка», as a qualified certificate names him.
    issued = gost_pki.issue(
        gost.GostPrivateKey.generate(gost_pki.TC26_256_A),
        issuer=root,
        common_name="ООО «Ромашка»",
        organization="ООО «Ромашка»",
        surname="Иванов",
        given_name="Иван Иванович",
        title="Генеральный директор",
        email=SIGNER_EMAIL,
        inn="500100732259",
        inn_le="7701234567",
        ogrn="1027700132195",
        snils="11223344595",
        not_before=now - 30 * day,
        not_after=now + 335 * day,
        serial=0x3001,
    )
    # Into the cabinet's trust store, as the demo puts its own root there.
    trust = var / "trust"
    trust.mkdir(parents=True)
    (trust / "gost-root.crt").write_bytes(root.pem)
    (trust / "gost-root.crl").write_bytes(
        gost_pki.make_crl(root, this_update=now - day, next_update=now + 30 * day)
    )
    holder = KeyHolder(
        GostSigner(issued.key, issued.cert, issued.chain_certs),
        hashlib.sha1(issued.der, usedforsecurity=False).hexdigest().upper(),
    )
    key_server, holder_url = serve(holder)
    with postgres_database(admin, worker_database_name() + "_e2e_cryptopro") as url:
        port = free_port()
        app: Flask = build_app(
            make_settings(
                var,
                url,
                base_url=f"http://127.0.0.1:{port}",
                cadesplugin_api_url=API_PATH,
            )
        )
        app.config["WTF_CSRF_ENABLED"] = True
        with app.app_context():
            data = create_demo_world()
        limiter.reset()
        server = LiveServer(app, port)
        server.start()
        yield World(server, data, issued, holder, holder_url)
        server.stop()
        app.extensions["docflow"].engine.dispose()
    key_server.shutdown()


def login_and_register(page: Page, w: World, tmp_path: Path) -> None:
    page.goto(f"{w.server.url}/account/login")
    page.fill("#email", SIGNER_EMAIL)
    page.fill("#password", "demo12345")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Добрый день")
    page.goto(f"{w.server.url}/certificates/")
    cert = tmp_path / "ivanov-gost.crt"
    cert.write_bytes(w.issued.pem)
    page.set_input_files("#certificate", str(cert))
    page.click("text=Проверить и зарегистрировать")
    expect(page.locator("[data-testid=certificate-status]").first).to_have_text(
        "действителен"
    )


@pytest.fixture(autouse=True)
def cadesplugin_api(page: Page) -> str | None:
    """Serve CryptoPro's API at API_PATH: the real file if given, else nothing."""
    body = Path(REAL_API).read_bytes() if REAL_API else b""
    page.route(
        f"**{API_PATH}",
        lambda route: route.fulfill(
            status=200, body=body, content_type="text/javascript"
        ),
    )
    return REAL_API


def open_sign_page(page: Page, w: World, document: dict[str, Any]) -> None:
    page.goto(document["url"])
    page.click("[data-testid=sign-link]")
    expect(page.locator("form[data-docflow-sign-ready]")).to_have_count(1)


def install_double(
    page: Page, w: World, plugin_certificates: list[dict[str, str]]
) -> None:
    # The page runs under ``connect-src 'self'``: the double calls a same-origin
    # path, routed here to the key holder (a real plug-in talks to its browser
    # extension, not over fetch).
    config = {"url": w.server.url + DOUBLE_PATH, "certificates": plugin_certificates}
    page.add_init_script(
        f"window.__CADES_DOUBLE__ = {json.dumps(config)};\n" + DOUBLE.read_text()
    )

    def forward(route: Route) -> None:
        request = route.request
        path = request.url.split(DOUBLE_PATH, 1)[1]
        call = urllib.request.Request(  # noqa: S310 - loopback, http on purpose
            w.holder_url + path,
            data=request.post_data_buffer,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(call, timeout=30) as response:  # noqa: S310
                route.fulfill(status=response.status, body=response.read(),
                              content_type="application/json")  # fmt: skip
        except urllib.error.HTTPError as exc:
            route.fulfill(status=exc.code, body=exc.read(),
                          content_type="application/json")  # fmt: skip

    page.route(f"{w.server.url}{DOUBLE_PATH}/**", forward)


def romashka_documents(w: World) -> list[dict[str, Any]]:
    return [d for d in w.data["documents"] if d["contract"].startswith("77-")]


def test_without_the_plugin_the_page_offers_only_the_key_file(
    world: World, page: Page, tmp_path: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"{msg.location.get('url')}: {msg.text}")
            if msg.type == "error"
            else None
        ),
    )
    login_and_register(page, world, tmp_path)
    open_sign_page(page, world, romashka_documents(world)[-1])

    expect(page.locator("#key_file")).to_be_visible()
    expect(page.locator("[data-cryptopro]")).to_be_hidden()
    expect(page.get_by_text(PLUGIN_LABEL)).to_be_hidden()
    # cadesplugin_api.js looks for CryptoPro's extension by loading its script from
    # chrome-extension://…; with none installed those loads fail, and that is all.
    assert [e for e in errors if "chrome-extension://" not in e] == [], errors


def test_sign_a_pdf_with_a_gost_key_in_the_cryptopro_plugin(
    world: World, page: Page, tmp_path: Path
) -> None:
    login_and_register(page, world, tmp_path)
    not_after = world.issued.cert.not_valid_after_utc
    install_double(
        page,
        world,
        [
            {
                "thumbprint": world.holder.thumbprint,
                "subject": "CN=ООО «Ромашка», SN=Иванов, G=Иван Иванович",
                "validTo": not_after.isoformat(),
            },
            {  # a certificate the cabinet does not know: listed, not selectable
                "thumbprint": "AB" * 20,
                "subject": "CN=Посторонний сертификат",
                "validTo": not_after.isoformat(),
            },
        ],
    )
    document = romashka_documents(world)[0]
    world.holder.calls.clear()
    open_sign_page(page, world, document)

    expect(page.get_by_text(PLUGIN_LABEL)).to_be_visible()
    page.check("input[name=key_source][value=cryptopro]")
    expect(page.locator("#key_file")).to_be_hidden()
    options = page.locator("#cryptopro_certificate option")
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_contain_text("Иванов")
    expect(options.nth(0)).to_be_enabled()
    expect(options.nth(1)).to_contain_text("не зарегистрирован в кабинете")
    expect(options.nth(1)).to_be_disabled()
    expect(page.locator("#cryptopro_certificate")).to_have_value(
        world.holder.thumbprint
    )
    screenshot(page, "cryptopro-sign-page")

    page.click("form[data-docflow-sign] button[type=submit]")
    expect(page.locator("[data-testid=document-status]")).to_have_text(
        "Подписан клиентом, ожидает подписи поставщика", timeout=90000
    )
    signature = page.locator("[data-testid=signature]")
    expect(signature).to_have_count(1)
    expect(signature).to_contain_text("Подпись действительна")
    expect(signature.locator("[data-testid=signature-algorithm]")).to_have_text(
        "ГОСТ Р 34.10-2012 (256 бит), ГОСТ Р 34.11-2012 (256 бит)"
    )
    screenshot(page, "cryptopro-document-signed")
    # Both items (the CAdES-BES and the PAdES signed attributes) were hashed
    # with Streebog-256 and signed by the plug-in's key.
    assert world.holder.calls == [
        ("/hash", 101),
        ("/sign", 101),
        ("/hash", 101),
        ("/sign", 101),
    ]
