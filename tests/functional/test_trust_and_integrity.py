"""The trust store in the UI and the CLI; the audit and blob integrity commands."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from docflow.accounts.models import Role
from docflow.accounts.services import register_user
from docflow.db import transaction
from signing import pki
from tests.functional.test_document_access import client_for
from tests.functional.test_document_flow import load
from tests.functional.world import PASSWORD, World, keys, new_document, world
from tests.services import free_port

__all__ = ["keys", "world"]


@pytest.fixture()
def crl_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    handler = type(
        "H",
        (http.server.SimpleHTTPRequestHandler,),
        {
            "log_message": lambda *a: None,
            "__init__": lambda self, *a, **k: (
                http.server.SimpleHTTPRequestHandler.__init__(
                    self, *a, directory=str(tmp_path), **k
                )
            ),
        },
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", tmp_path
    server.shutdown()


def test_admin_adds_an_intermediate_and_sees_its_crl_status(
    world: World, crl_server: tuple[str, Path]
) -> None:
    base, directory = crl_server
    intermediate = pki.make_intermediate_ca(
        world.keys.root,
        "Подчинённый УЦ",
        crl_url=f"{base}/sub.crl",
        ocsp_url="http://127.0.0.1:9/ocsp",
    )
    revoked = pki.make_signer(intermediate)
    (directory / "sub.crl").write_bytes(
        pki.make_crl(
            intermediate,
            [
                pki.Revoked(
                    revoked.cert.serial_number, revoked.cert.not_valid_before_utc
                )
            ],
        )
    )
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            register_user(
                s,
                email="admin@energosbyt.example",
                password=PASSWORD,
                last_name="Кузнецов",
                first_name="Алексей",
                role=Role.ADMIN,
                confirmed=True,
            )
        s.close()
    admin = world.app.test_client()
    admin.post(
        "/account/login",
        data={"email": "admin@energosbyt.example", "password": PASSWORD},
    )
    resp = admin.post(
        "/certificates/trust",
        data={"certificate": (__import__("io").BytesIO(intermediate.pem), "sub.crt")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = resp.get_data(as_text=True)
    assert "Добавлен доверенный сертификат" in page
    assert "промежуточный" in page and f"{base}/sub.crl" in page
    checked = admin.post("/certificates/trust/check").get_data(as_text=True)
    assert "1 отозванных" in checked
    assert "недоступен" in checked  # the OCSP port 9 has nobody listening
    # Said in words, not as an exception's class name.
    assert "недоступен: нет соединения" in checked and "Error" not in checked
    # A clerk may look but not change.
    clerk = client_for(world, "clerk")
    assert clerk.get("/certificates/trust").status_code == 200
    assert clerk.post("/certificates/trust", data={}).status_code == 403


def test_trust_commands_add_list_remove(world: World, tmp_path: Path) -> None:
    ca = pki.make_root_ca("Ещё один корневой УЦ")
    path = tmp_path / "ca.crt"
    path.write_bytes(ca.pem)
    runner = world.app.test_cli_runner()
    added = runner.invoke(args=["trust", "add", str(path)])
    assert added.exit_code == 0, added.output
    thumbprint = added.output.split("\t")[1]
    listed = runner.invoke(args=["trust", "list"]).output
    assert thumbprint in listed and "Ещё один корневой УЦ" in listed
    assert "Тестовый УЦ документооборота" in listed  # the TRUST_STORE file
    assert runner.invoke(args=["trust", "remove", thumbprint]).exit_code == 0
    assert thumbprint not in runner.invoke(args=["trust", "list"]).output
    leaf = tmp_path / "leaf.crt"
    leaf.write_bytes(pki.make_signer(ca).pem)
    refused = runner.invoke(args=["trust", "add", str(leaf)])
    assert (
        refused.exit_code != 0
        and "не сертификат удостоверяющего центра" in refused.output
    )


def test_fsck_finds_a_flipped_byte_and_an_orphan_and_audit_verify_passes(
    world: World,
) -> None:
    doc_id = new_document(world)
    runner = world.app.test_cli_runner()
    clean = runner.invoke(args=["fsck"])
    # Earlier tests may have left unreferenced blobs in the shared store: only
    # this test's own rows and blobs are asserted on.
    assert clean.exit_code == 0 and " 0 bad," in clean.output
    orphan = world.storage.put_bytes(b"nobody points here")
    key = load(world, doc_id).main_file.blob_key
    data_file = next(
        p
        for p in Path(world.app.extensions["docflow"].settings.storage_url[7:]).rglob(
            "data"
        )
        if key in str(p)
    )
    raw = bytearray(data_file.read_bytes())
    raw[100] ^= 0x01
    data_file.chmod(0o644)
    data_file.write_bytes(bytes(raw))
    broken = runner.invoke(args=["fsck"])
    assert broken.exit_code == 1
    assert key in broken.output and orphan.key in broken.output
    assert " 1 bad," in broken.output
    audit = runner.invoke(args=["audit", "verify"])
    assert audit.exit_code == 0 and "audit chain intact" in audit.output
