"""The whole document flow in a real Chromium: a signatory registers the demo
certificate, signs a PDF with the demo PKCS#12 key in the page, the clerk
countersigns with the supplier's key; the result verifies with poppler's pdfsig
and OpenSSL."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, demo_server, login, screenshot
from tests.services import require_command

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    with demo_server(tmp_path_factory, "flow") as running:
        yield running


def test_sign_in_the_browser_countersign_and_verify_with_independent_tools(
    demo: tuple[LiveServer, dict[str, Any]], page: Page, tmp_path: Path
) -> None:
    server, world = demo
    signer_key = next(
        k for k in world["keys"] if k["email"] == "signer@romashka.example"
    )
    document = next(d for d in world["documents"] if d["contract"] == "77-0001-ЮЛ")

    login(page, server, "signer@romashka.example")
    page.goto(f"{server.url}/certificates/")
    page.set_input_files("#certificate", signer_key["cert"])
    page.click("text=Проверить и зарегистрировать")
    expect(page.locator(".flash--success")).to_contain_text(
        "Сертификат зарегистрирован"
    )
    expect(page.locator("[data-testid=certificate-status]")).to_have_text(
        "действителен"
    )

    page.goto(f"{server.url}/documents/")
    page.click(f"text={document['title']}")
    expect(page.locator("[data-testid=document-status]")).to_have_text(
        "Ожидает подписи клиента"
    )
    page.click("[data-testid=sign-link]")
    page.set_input_files("#key_file", signer_key["p12"])
    page.fill("#key_password", signer_key["password"])
    page.click("form[data-docflow-sign] button[type=submit]")
    expect(page.locator("[data-testid=document-status]")).to_have_text(
        "Подписан клиентом, ожидает подписи поставщика", timeout=60000
    )
    expect(page.locator("[data-testid=signature]")).to_have_count(1)
    screenshot(page, "document-signed-by-customer")

    page.click("text=Выйти")
    login(page, server, "clerk@energosbyt.example")
    page.goto(document["url"])
    page.once(
        "dialog", lambda dialog: dialog.accept()
    )  # «Подписать … ключом поставщика?»
    page.click("[data-testid=countersign]")
    expect(page.locator("[data-testid=document-status]")).to_have_text(
        "Подписан обеими сторонами", timeout=60000
    )
    expect(page.locator(".flash--success")).to_have_text(
        "Документ подписан ключом поставщика."
    )
    expect(page.locator("[data-testid=signature]")).to_have_count(2)
    screenshot(page, "document-signed-by-both")

    files = {}
    for link in page.locator("[data-testid=files] a").all():
        name = link.inner_text()
        with page.expect_download() as info:
            link.click()
        target = tmp_path / name
        info.value.save_as(target)
        files[name] = target
    signed = [p for n, p in files.items() if re.search(r"signed-2\.pdf$", n)]
    assert signed, files
    pdfsig = subprocess.run(
        [require_command("pdfsig"), str(signed[0])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert pdfsig.stdout.count("Signature Validation: Signature is Valid.") == 2, (
        pdfsig.stdout
    )
    assert "Иванов Иван Иванович" in pdfsig.stdout or "Ромашка" in pdfsig.stdout

    original = next(
        p for n, p in files.items() if n.endswith(".pdf") and "signed" not in n
    )
    sigs = [p for n, p in files.items() if n.endswith(".sig")]
    # Per party: the CAdES-LTA the service keeps, and the bytes as received.
    assert len(sigs) == 4
    assert sum(".received." in p.name for p in sigs) == 2
    for sig in sigs:
        result = subprocess.run(
            [
                require_command("openssl"),
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                str(sig),
                "-content",
                str(original),
                "-CAfile",
                world["trust"]["root"],
                "-purpose",
                "any",
                "-out",
                "/dev/null",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert "Verification successful" in result.stderr, result.stderr

    with page.expect_download() as info:
        page.evaluate(
            "url => { const a = document.createElement('a'); a.href = url; "
            "a.download = 'print.pdf'; document.body.appendChild(a); a.click(); }",
            f"{server.url}/documents/{document['id']}/printable.pdf",
        )
    printable = tmp_path / "printable.pdf"
    info.value.save_as(printable)
    text = subprocess.run(
        [require_command("pdftotext"), str(printable), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert text.upper().count("ПОДПИСАН ЭЛЕКТРОННОЙ ПОДПИСЬЮ") >= 2
    subprocess.run(
        [
            require_command("pdftoppm"),
            "-png",
            "-r",
            "60",
            str(printable),
            str(screenshot.__globals__["SCREENSHOTS"] / "printable"),
        ],
        check=True,
    )
