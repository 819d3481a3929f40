"""The trust store lives in the database (issue 18, items 3 and 4): two
applications on one database stand for two nodes, each with its own var/
directory, its own process cache and its own TRUST_STORE directory.

What one node adds (a CA, a CRL) the other uses at its next validation, though
it had the opposite result cached; files found in a TRUST_STORE directory are
imported into the database and so trusted everywhere; CRLs downloaded from
distribution points are downloaded once for all processes (PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import http.server
import io
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

import signing
from docflow.accounts.models import Role
from docflow.accounts.services import register_user
from docflow.certificates.crls import SharedCrls, parse_crl
from docflow.certificates.models import (
    CrlDownload,
    RevocationList,
    TrustAnchor,
    TrustState,
)
from docflow.certificates.truststore import add_trust_anchor, read_stamp
from docflow.context import current_runtime
from docflow.db import transaction
from signing import Verdict, pki
from tests.appfixtures import build_app, empty_tables, make_settings
from tests.functional.test_document_access import client_for
from tests.functional.world import PASSWORD, World, keys, world
from tests.services import free_port

__all__ = ["keys", "world"]

ADMIN = "admin@energosbyt.example"


def _database_url(app: Flask) -> str:
    url = app.extensions["docflow"].engine.url
    return str(url.render_as_string(hide_password=False))


@pytest.fixture()
def node_b(world: World, tmp_path: Path) -> Iterator[Flask]:
    """A second node on the world's database: its own var/ (and TRUST_STORE,
    empty), its own process caches."""
    node_trust(world.app)  # node A's first request imports its TRUST_STORE
    app = build_app(make_settings(tmp_path / "node-b", _database_url(world.app)))
    yield app
    app.extensions["docflow"].engine.dispose()


def node_trust(app: Flask) -> signing.TrustStore:
    """What a request on this node validates with."""
    with app.app_context():
        state = app.extensions["docflow"]
        session = state.sessionmaker()
        try:
            return current_runtime().trust(session)
        finally:
            session.close()


def validate(app: Flask, cert: pki.Issued) -> signing.CertificateValidation:
    return signing.validate_certificate(cert.der, node_trust(app), revocation="soft")


def admin_client(world: World) -> FlaskClient:
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            register_user(
                s,
                email=ADMIN,
                password=PASSWORD,
                last_name="Кузнецов",
                first_name="Алексей",
                role=Role.ADMIN,
                confirmed=True,
            )
        s.close()
    client = world.app.test_client()
    resp = client.post("/account/login", data={"email": ADMIN, "password": PASSWORD})
    assert resp.status_code == 302
    return client


def upload(client: FlaskClient, path: str, field: str, data: bytes, name: str) -> str:
    resp = client.post(
        path,
        data={field: (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def uploaded_crls(app: Flask) -> list[RevocationList]:
    """The CRLs an administrator uploaded: the session's shared ``TRUST_STORE``
    may hold the demo CA's CRL, which any process imports too."""
    return [r for r in rows(app, RevocationList) if r.added_by_id is not None]


def rows(app: Flask, model: Any) -> list[Any]:
    with app.app_context():
        s = app.extensions["docflow"].sessionmaker()
        try:
            return list(s.scalars(select(model)))
        finally:
            s.close()


# -- anchors and CRLs, across nodes ------------------------------------------------


def test_a_ca_added_on_one_node_is_trusted_on_the_other_at_once(
    world: World, node_b: Flask
) -> None:
    root = pki.make_root_ca("УЦ, добавленный на узле А")
    leaf = pki.make_signer(root)
    refused = validate(node_b, leaf)
    assert refused.verdict is not Verdict.VALID
    # Node B caches that verdict: the same question again is a cache hit.
    hits = node_trust(node_b).cache_info().hits
    assert validate(node_b, leaf).verdict is refused.verdict
    assert node_trust(node_b).cache_info().hits == hits + 1

    page = upload(
        admin_client(world), "/certificates/trust", "certificate", root.pem, "ca.crt"
    )
    assert "Добавлен доверенный сертификат" in page
    assert "добавлен администратором" in page

    assert validate(node_b, leaf).verdict is Verdict.VALID


def test_a_crl_uploaded_on_one_node_revokes_on_the_other_at_once(
    world: World, node_b: Flask
) -> None:
    leaf = pki.make_signer(world.keys.root, surname="Отозванный")
    assert validate(node_b, leaf).verdict is Verdict.VALID  # cached on B
    crl = pki.make_crl(
        world.keys.root, [pki.Revoked(leaf.cert.serial_number, dt.datetime.now(dt.UTC))]
    )
    admin = admin_client(world)
    page = upload(admin, "/certificates/trust/crl", "crl", crl, "root.crl")
    assert "Добавлен список отзыва" in page
    assert "загружен администратором" in page

    after = validate(node_b, leaf)
    assert after.verdict is Verdict.INVALID
    assert "revoked" in {r.code.value for r in after.reasons}
    # The same CRL again changes nothing.
    again = upload(admin, "/certificates/trust/crl", "crl", crl, "root.crl")
    assert "уже загружен" in again
    assert len(uploaded_crls(world.app)) == 1


def test_a_newer_crl_replaces_the_older_and_an_older_one_is_ignored(
    world: World,
) -> None:
    leaf = pki.make_signer(world.keys.root, surname="Восстановленный")
    now = dt.datetime.now(dt.UTC)
    listed = pki.make_crl(
        world.keys.root,
        [pki.Revoked(leaf.cert.serial_number, now - dt.timedelta(hours=2))],
        this_update=now - dt.timedelta(hours=1),
        number=1,
    )
    newer = pki.make_crl(
        world.keys.root, this_update=now - dt.timedelta(minutes=5), number=2
    )
    admin = admin_client(world)
    upload(admin, "/certificates/trust/crl", "crl", listed, "1.crl")
    upload(admin, "/certificates/trust/crl", "crl", newer, "2.crl")
    (kept,) = uploaded_crls(world.app)
    assert kept.number == "2"
    page = upload(admin, "/certificates/trust/crl", "crl", listed, "1.crl")
    assert "Такой или более новый список отзыва уже загружен" in page
    assert [r.number for r in uploaded_crls(world.app)] == ["2"]


def test_a_malformed_crl_is_refused_in_russian_and_stores_nothing(
    world: World,
) -> None:
    admin = admin_client(world)
    node_trust(world.app)  # the directory imported: nothing else changes below
    stamp_before = _stamp(world.app)
    crls_before = rows(world.app, RevocationList)
    page = upload(admin, "/certificates/trust/crl", "crl", b"not a CRL", "x.crl")
    assert "Файл не является списком отзыва сертификатов" in page
    assert len(rows(world.app, RevocationList)) == len(crls_before)
    assert _stamp(world.app) == stamp_before
    # Only an administrator adds CRLs or refreshes them.
    clerk = client_for(world, "clerk")
    assert clerk.post("/certificates/trust/crl", data={}).status_code == 403
    assert clerk.post("/certificates/trust/crl/refresh").status_code == 403
    signer = client_for(world, "signer_a")
    assert signer.post("/certificates/trust/crl/refresh").status_code == 404


def _stamp(app: Flask) -> Any:
    with app.app_context():
        s = app.extensions["docflow"].sessionmaker()
        try:
            return read_stamp(s)
        finally:
            s.close()


# -- the TRUST_STORE directory: an import source -----------------------------------


def test_files_in_one_nodes_trust_store_are_imported_for_every_node(
    world: World, node_b: Flask
) -> None:
    # The world put the test root into node A's TRUST_STORE only.
    assert validate(world.app, world.keys.signer_a).verdict is Verdict.VALID
    (anchor,) = [
        a
        for a in rows(world.app, TrustAnchor)
        if "Тестовый УЦ документооборота" in a.subject
    ]
    assert anchor.source == "file:test-root.crt"
    assert not list(
        Path(node_b.extensions["docflow"].settings.signatures.trust_store).glob("*")
    )
    assert validate(node_b, world.keys.signer_a).verdict is Verdict.VALID
    listed = world.app.test_cli_runner().invoke(args=["trust", "list"]).output
    assert "Тестовый УЦ документооборота" in listed and "\tfile\t" in listed


def test_a_removed_anchor_stays_removed_though_its_file_remains(
    world: World, node_b: Flask
) -> None:
    runner = world.app.test_cli_runner()
    assert validate(node_b, world.keys.signer_a).verdict is Verdict.VALID
    thumbprint = signing.inspect_certificate(world.keys.root.der).sha1
    assert runner.invoke(args=["trust", "remove", thumbprint]).exit_code == 0
    assert validate(node_b, world.keys.signer_a).verdict is not Verdict.VALID
    # A new process of node A finds the file again, and leaves it alone.
    world.app.extensions["docflow"].runtime = None
    assert validate(world.app, world.keys.signer_a).verdict is not Verdict.VALID
    # The operator's own import trusts it again, on every node.
    trust_dir = world.app.extensions["docflow"].settings.signatures.trust_store
    imported = runner.invoke(args=["trust", "import", trust_dir])
    assert imported.exit_code == 0, imported.output
    assert "новых сертификатов УЦ: 1" in imported.output
    assert validate(node_b, world.keys.signer_a).verdict is Verdict.VALID


def test_trust_import_reads_a_directory_and_says_what_it_left(
    world: World, tmp_path: Path
) -> None:
    root = pki.make_root_ca("Импортируемый корневой УЦ")
    lone = pki.make_intermediate_ca(pki.make_root_ca("Неизвестный корень"), "Сирота")
    directory = tmp_path / "import"
    directory.mkdir()
    (directory / "root.pem").write_bytes(root.pem)
    (directory / "orphan.crt").write_bytes(lone.der)
    (directory / "root.crl").write_bytes(pki.make_crl(root))
    (directory / "leaf.cer").write_bytes(pki.make_signer(root).pem)
    (directory / "readme.txt").write_text("не сертификат")
    (directory / ".hidden").write_bytes(b"x")
    runner = world.app.test_cli_runner()
    result = runner.invoke(args=["trust", "import", str(directory)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Файлов: 5; новых сертификатов УЦ: 2, новых списков отзыва: 1" in out
    assert "Промежуточный УЦ" in out and "Сирота" in out
    assert "leaf.cer: Это не сертификат удостоверяющего центра" in out
    assert "readme.txt: не сертификат УЦ и не список отзыва (CRL)" in out
    again = runner.invoke(args=["trust", "import", str(directory)])
    assert (
        "новых сертификатов УЦ: 0, новых списков отзыва: 0, уже было: 3" in again.output
    )
    sources = {a.source for a in rows(world.app, TrustAnchor)}
    assert {"file:root.pem", "file:orphan.crt"} <= sources
    (crl,) = [r for r in rows(world.app, RevocationList) if r.source == "file:root.crl"]
    assert crl.scope


def test_every_change_bumps_the_version_stamp(world: World, tmp_path: Path) -> None:
    node_trust(world.app)  # imports the world's TRUST_STORE
    first = _stamp(world.app)
    ca = tmp_path / "ca.crt"
    ca.write_bytes(pki.make_root_ca("Ещё один УЦ").pem)
    runner = world.app.test_cli_runner()
    added = runner.invoke(args=["trust", "add", str(ca)])
    assert added.exit_code == 0
    second = _stamp(world.app)
    assert second[0] == first[0] + 1
    runner.invoke(args=["trust", "remove", added.output.split("\t")[1]])
    assert _stamp(world.app)[0] == second[0] + 1
    (state,) = rows(world.app, TrustState)
    assert state.id == 1


# -- CRLs downloaded once for the cluster (PostgreSQL) ------------------------------


@dataclass
class CrlServer:
    """A CA's distribution point on loopback, counting downloads."""

    port: int
    body: bytes = b""
    gets: int = 0

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ca.crl"


@pytest.fixture()
def crl_server() -> Iterator[CrlServer]:
    server_state = CrlServer(free_port())
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            with lock:
                server_state.gets += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/pkix-crl")
            self.send_header("Content-Length", str(len(server_state.body)))
            self.end_headers()
            self.wfile.write(server_state.body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", server_state.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server_state
    server.shutdown()
    server.server_close()


@pytest.fixture()
def pg_nodes(pg_url: str, tmp_path: Path) -> Iterator[tuple[Flask, Flask]]:
    """Two nodes on PostgreSQL that may download from loopback (the CRL
    server of these tests)."""
    nodes = tuple(
        build_app(make_settings(tmp_path / name, pg_url, allow_private_fetch=True))
        for name in ("a", "b")
    )
    yield nodes  # type: ignore[misc]
    empty_tables(nodes[0])
    for node in nodes:
        node.extensions["docflow"].engine.dispose()


@pytest.mark.integration
def test_a_crl_is_downloaded_once_for_all_nodes_and_a_refresh_on_one_counts_on_all(
    pg_nodes: tuple[Flask, Flask], crl_server: CrlServer
) -> None:
    node_a, node_b = pg_nodes
    root = pki.make_root_ca("УЦ с точкой распространения")
    leaf = pki.make_signer(root, crl_url=crl_server.url())
    crl_server.body = pki.make_crl(root, number=1)
    with node_a.app_context():
        s = node_a.extensions["docflow"].sessionmaker()
        with transaction(s):
            add_trust_anchor(s, actor=None, data=root.der)
        s.close()

    assert validate(node_a, leaf).verdict is Verdict.VALID
    assert validate(node_b, leaf).verdict is Verdict.VALID
    assert crl_server.gets == 1  # node B read what node A downloaded
    (row,) = rows(node_a, CrlDownload)
    assert row.url == crl_server.url() and row.der and row.error is None

    # The CA revokes the certificate and publishes a new CRL; the stored one
    # is still current, so nobody asks before the administrator says so.
    crl_server.body = pki.make_crl(
        root, [pki.Revoked(leaf.cert.serial_number, dt.datetime.now(dt.UTC))], number=2
    )
    assert validate(node_b, leaf).verdict is Verdict.VALID
    assert crl_server.gets == 1
    refreshed = node_a.test_cli_runner().invoke(args=["trust", "refresh-crls"])
    assert refreshed.exit_code == 0, refreshed.output
    assert "1 отозванных" in refreshed.output
    assert crl_server.gets == 2

    after = validate(node_b, leaf)
    assert after.verdict is Verdict.INVALID
    assert "revoked" in {r.code.value for r in after.reasons}
    assert crl_server.gets == 2


class Downloads:
    """A CA that answers only when told to: a download that takes its time."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.calls = 0
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, _url: str) -> bytes:
        self.calls += 1
        self.started.set()
        assert self.release.wait(30), "the test never released the download"
        return self.body


def _in_thread(fn: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    return thread, out


@pytest.mark.integration
def test_while_one_process_downloads_a_missing_crl_the_others_wait_for_it(
    pg_app: Flask,
) -> None:
    url = f"http://crl.example.test/{uuid.uuid4().hex}.crl"
    root = pki.make_root_ca("УЦ ожидания")
    sessions = sessionmaker(bind=pg_app.extensions["docflow"].engine)
    first, second = SharedCrls(sessions), SharedCrls(sessions)
    download = Downloads(pki.make_crl(root))
    try:
        thread_a, got_a = _in_thread(lambda: first.get(url, download))
        assert download.started.wait(30)
        thread_b, got_b = _in_thread(lambda: second.get(url, download))
        _wait_for_lock_waiter(sessions)  # B is queued behind A's row lock
        download.release.set()
        thread_a.join(30)
        thread_b.join(30)
        assert got_a and got_b
        assert download.calls == 1
        assert got_b[0].dump() == got_a[0].dump()
    finally:
        download.release.set()
        _forget(sessions, url)


@pytest.mark.integration
def test_a_crl_due_for_refresh_is_refreshed_by_one_while_the_others_use_it(
    pg_app: Flask,
) -> None:
    url = f"http://crl.example.test/{uuid.uuid4().hex}.crl"
    root = pki.make_root_ca("УЦ обновления")
    now = dt.datetime.now(dt.UTC)
    stored = pki.make_crl(
        root, this_update=now - dt.timedelta(minutes=5),
        next_update=now + dt.timedelta(minutes=10), number=1,
    )  # fmt: skip
    sessions = sessionmaker(bind=pg_app.extensions["docflow"].engine)
    seed = Downloads(stored)
    seed.release.set()
    SharedCrls(sessions).get(url, seed)
    # Eight minutes on: past 80 % of the CRL's period, still before nextUpdate.
    later = lambda: now + dt.timedelta(minutes=8)  # noqa: E731
    first, second = SharedCrls(sessions, clock=later), SharedCrls(sessions, clock=later)
    download = Downloads(pki.make_crl(root, number=2))
    try:
        thread_a, got_a = _in_thread(lambda: first.get(url, download))
        assert download.started.wait(30)
        # A holds the row and downloads; B skips the locked row and goes on
        # with the stored CRL, without waiting and without downloading.
        thread_b, got_b = _in_thread(lambda: second.get(url, download))
        thread_b.join(30)
        assert got_b and got_b[0].dump() == parse_crl(stored).dump()
        assert download.calls == 1
        download.release.set()
        thread_a.join(30)
        assert got_a and got_a[0].dump() == parse_crl(download.body).dump()
    finally:
        download.release.set()
        _forget(sessions, url)


def _wait_for_lock_waiter(sessions: sessionmaker[Session]) -> None:
    """Until another connection of this database waits for a row lock."""
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    with sessions() as s:
        while dt.datetime.now(dt.UTC) < deadline:
            waiting = s.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            s.rollback()
            if waiting:
                return
            time.sleep(0.05)  # polling a state, bounded by the deadline
    raise AssertionError("nobody waited for the CRL row's lock")


def _forget(sessions: sessionmaker[Session], url: str) -> None:
    with sessions() as s, s.begin():
        s.execute(text("DELETE FROM crl_downloads WHERE url = :url"), {"url": url})


def test_a_file_found_mid_transaction_on_sqlite_joins_it_and_survives_its_rollback(
    sqlite_app: Flask, tmp_path: Path
) -> None:
    """SQLite has one writer: a file found while the caller's transaction writes
    is imported inside that transaction (a second connection would wait for it
    for ever), and imported again if that transaction is rolled back."""
    root = pki.make_root_ca("УЦ посреди транзакции")
    leaf = pki.make_signer(root)
    state = sqlite_app.extensions["docflow"]
    trust_dir = Path(state.settings.signatures.trust_store)
    try:
        with sqlite_app.app_context():
            session = state.sessionmaker()
            register_user(
                session, email="writer@example.ru", password=PASSWORD,
                last_name="Писатель", first_name="Пётр", confirmed=True,
            )  # fmt: skip
            session.flush()  # the caller now holds SQLite's write lock
            trust_dir.mkdir(parents=True, exist_ok=True)
            (trust_dir / "mid.crt").write_bytes(root.pem)
            store = current_runtime().trust(session)
            assert (
                signing.validate_certificate(leaf.der, store).verdict is Verdict.VALID
            )
            session.rollback()
            session.close()
        assert validate(sqlite_app, leaf).verdict is Verdict.VALID
        assert "file:mid.crt" in {a.source for a in rows(sqlite_app, TrustAnchor)}
    finally:
        (trust_dir / "mid.crt").unlink(missing_ok=True)
        empty_tables(sqlite_app)
