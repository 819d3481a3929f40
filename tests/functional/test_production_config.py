"""Production refuses to start with settings that only work on one node or
only for a demo (issue 18, item 7): no SECRET_KEY, rate limits counted in
each process's memory, a filesystem blob store the nodes do not share, the
demo world's supplier key. Each refusal names its variable. And beat's lock,
which lets one beat run at a time.

"Production" is DOCFLOW_ENV=production or, unset, a PostgreSQL DATABASE_URL;
the embedded mode (SQLite, ``make run``, the tests' own applications) keeps its
generated defaults.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from docflow.app import create_app
from docflow.cluster import BeatLock
from docflow.config import DEMO_CA_NAME, ConfigError, Settings, production_problems
from docflow.migrate import upgrade
from signing import pki
from tests.appfixtures import postgres_database, worker_database_name
from tests.services import REDIS_URL, require_postgres

#: Never reached: the refusals come before any connection.
UNREACHED_PG = "postgresql://docflow@db.invalid/docflow"

SETTINGS = (
    "DATABASE_URL",
    "DOCFLOW_ENV",
    "DOCFLOW_NODE",
    "SECRET_KEY",
    "RATELIMIT_STORAGE_URL",
    "STORAGE_URL",
    "SUPPLIER_SIGNER_P12",
    "SUPPLIER_SIGNER_PASSWORD",
    "SUPPLIER_SIGNER_KEY",
    "SUPPLIER_SIGNER_CERT",
)


@pytest.fixture()
def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A production environment with everything right; tests take one thing
    away. Returns the var/ directory."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", UNREACHED_PG)
    monkeypatch.setenv("RATELIMIT_STORAGE_URL", "redis://redis:6379/1")
    monkeypatch.setenv("SECRET_KEY", "a-long-random-secret-shared-by-every-node")
    return tmp_path


def test_postgresql_is_production_and_sqlite_is_embedded(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings.from_env(var_dir=production).production
    monkeypatch.delenv("DATABASE_URL")
    assert not Settings.from_env(var_dir=production).production
    monkeypatch.setenv("DOCFLOW_ENV", "production")
    assert Settings.from_env(var_dir=production).production


def test_production_refuses_to_start_without_secret_key(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY")
    settings = Settings.from_env(var_dir=production)
    assert settings.secret_key == ""
    with pytest.raises(ConfigError, match="SECRET_KEY: production needs one long"):
        create_app(settings)
    # Nor was a node-local key generated behind the operator's back.
    assert not (production / "secret_key").exists()


def test_docflow_env_production_checks_a_sqlite_deployment_too(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("DOCFLOW_ENV", "production")
    monkeypatch.delenv("SECRET_KEY")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(Settings.from_env(var_dir=production))
    monkeypatch.setenv("RATELIMIT_STORAGE_URL", "memory://")
    with pytest.raises(ConfigError, match="^RATELIMIT_STORAGE_URL: production"):
        Settings.from_env(var_dir=production)


def test_embedded_mode_keeps_its_generated_secret_and_memory_limits(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DATABASE_URL", "SECRET_KEY", "RATELIMIT_STORAGE_URL"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("DOCFLOW_ENV", "embedded")
    settings = Settings.from_env(var_dir=production)
    assert not settings.production
    assert settings.secret_key == (production / "secret_key").read_text()
    assert settings.web.ratelimit_storage_url == "memory://"
    monkeypatch.setenv("DATABASE_URL", UNREACHED_PG)
    with pytest.raises(ConfigError, match="DOCFLOW_ENV=embedded"):
        Settings.from_env(var_dir=production)


def test_production_refuses_rate_limits_counted_in_each_process(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATELIMIT_STORAGE_URL", "memory://")
    with pytest.raises(ConfigError, match="^RATELIMIT_STORAGE_URL: production"):
        Settings.from_env(var_dir=production)


def _demo_supplier(var_dir: Path) -> Path:
    """What `docflow demo` leaves: its CA and the supplier's key file."""
    root = pki.make_root_ca(DEMO_CA_NAME)
    key = pki.make_signer(root, organization="АО «Энергосбыт»", inn_le="7736520080")
    path = var_dir / "demo" / "supplier-signer.p12"
    path.parent.mkdir(parents=True)
    path.write_bytes(key.pkcs12("demo1234"))
    return path


def test_production_refuses_the_demo_supplier_key(
    production: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    demo = _demo_supplier(production)
    # The embedded fallback would pick it up by itself.
    settings = Settings.from_env(var_dir=production)
    assert settings.supplier.signer_p12 == str(demo)
    with pytest.raises(ConfigError, match="SUPPLIER_SIGNER_P12: production would"):
        create_app(settings)
    # Named explicitly, copied elsewhere: still the demo's.
    copy = tmp_path / "elsewhere" / "supplier.p12"
    copy.parent.mkdir()
    copy.write_bytes(demo.read_bytes())
    monkeypatch.setenv("SUPPLIER_SIGNER_P12", str(copy))
    monkeypatch.setenv("SUPPLIER_SIGNER_PASSWORD", "demo1234")
    assert any(
        p.startswith("SUPPLIER_SIGNER_P12")
        for p in production_problems(Settings.from_env(var_dir=production))
    )


def test_production_refuses_any_key_the_demo_ca_issued(
    production: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    demo_ca = pki.make_root_ca(DEMO_CA_NAME)
    issued = pki.make_signer(demo_ca, inn_le="7736520080")
    cert, key = tmp_path / "supplier.pem", tmp_path / "supplier.key"
    cert.write_bytes(issued.pem + demo_ca.pem)
    key.write_bytes(issued.key_pem)
    monkeypatch.setenv("SUPPLIER_SIGNER_KEY", str(key))
    monkeypatch.setenv("SUPPLIER_SIGNER_CERT", str(cert))
    problems = production_problems(Settings.from_env(var_dir=production))
    assert [p.split(":")[0] for p in problems] == ["SUPPLIER_SIGNER_P12"]
    # The supplier's own key, from its own CA, is what production runs with.
    own = pki.make_signer(pki.make_root_ca("УЦ поставщика"), inn_le="7736520080")
    cert.write_bytes(own.pem)
    key.write_bytes(own.key_pem)
    assert production_problems(Settings.from_env(var_dir=production)) == []


# -- a filesystem blob store on several nodes -------------------------------------


@pytest.fixture()
def nodes_database() -> Iterator[str]:
    admin = require_postgres()
    with postgres_database(admin, worker_database_name() + "_nodes") as url:
        upgrade(url)
        yield url


def _start(monkeypatch: pytest.MonkeyPatch, var: Path, node: str, blobs: Path) -> None:
    """Start a node's application (and dispose of it)."""
    monkeypatch.setenv("DOCFLOW_NODE", node)
    monkeypatch.setenv("STORAGE_URL", blobs.as_uri())
    app = create_app(Settings.from_env(var_dir=var / node))
    app.extensions["docflow"].engine.dispose()


@pytest.mark.integration
def test_nodes_that_do_not_share_the_blob_directory_refuse_to_start(
    production: Path, monkeypatch: pytest.MonkeyPatch, nodes_database: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", nodes_database)
    monkeypatch.setenv("RATELIMIT_STORAGE_URL", REDIS_URL)
    shared, local = production / "shared-blobs", production / "b-local-blobs"
    _start(monkeypatch, production, "a", shared)
    _start(monkeypatch, production, "a", shared)  # a restart of the same node
    with pytest.raises(
        ConfigError, match=r"^STORAGE_URL=file://.*not shared with node «a»"
    ):
        _start(monkeypatch, production, "b", local)
    # The same directory (a mount every node has) is what the check wants.
    _start(monkeypatch, production, "b", shared)
    # Node a is gone for good: once forgotten, it no longer holds b back.
    monkeypatch.setenv("STORAGE_URL", shared.as_uri())
    monkeypatch.setenv("DOCFLOW_NODE", "b")
    app = create_app(Settings.from_env(var_dir=production / "b"))
    runner = app.test_cli_runner()
    assert "a\t" in runner.invoke(args=["cluster", "nodes"]).output
    assert runner.invoke(args=["cluster", "forget", "a"]).exit_code == 0
    assert runner.invoke(args=["cluster", "forget", "a"]).exit_code != 0
    app.extensions["docflow"].engine.dispose()
    _start(monkeypatch, production, "b", local)


# -- beat, once ---------------------------------------------------------------------


def test_one_beat_lock_holder_at_a_time_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'beat.sqlite3'}"
    first, second = BeatLock(url, tmp_path), BeatLock(url, tmp_path)
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert first.still_held()
        first.release()
        assert second.try_acquire()
    finally:
        first.release()
        second.release()


@pytest.mark.integration
def test_one_beat_lock_holder_at_a_time_on_postgresql(nodes_database: str) -> None:
    first, second = BeatLock(nodes_database, Path()), BeatLock(nodes_database, Path())
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert first.still_held()
        first.release()  # as when the holding beat's process ends
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()
