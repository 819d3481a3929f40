"""Unit tests of docflow's services: an in-memory SQLite database (one per test
module, every table of the models), each test in a transaction rolled back
after it, a blob store in the test's temporary directory, and the rows from
:mod:`tests.factories`. No application, no HTTP: the services are called as
the routes and tasks call them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from docflow.access import Actor
from docflow.accounts.models import Role, User
from docflow.contracts.models import Contract, Organisation
from docflow.db import make_engine
from docflow.models import Base
from docflow.runtime import Runtime, build_runtime
from storage import FilesystemBlobStorage
from tests import factories
from tests.appfixtures import make_settings


def memory_engine() -> Engine:
    """An in-memory SQLite database with every table of the models.

    One connection for all (the database lives as long as it does), and
    transactions as written: pysqlite's own ``BEGIN`` handling is switched off,
    else it would not begin a transaction before a ``SAVEPOINT``.
    """
    engine = make_engine("sqlite://", poolclass=StaticPool)

    @event.listens_for(engine, "connect")
    def _no_pysqlite_transactions(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    Base.metadata.create_all(engine)
    return engine


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    engine = memory_engine()
    yield engine
    engine.dispose()


@pytest.fixture()
def session(engine: Engine) -> Iterator[Session]:
    """A session in a transaction rolled back after the test; its own
    ``commit()`` releases a savepoint inside it (so the audit chain and the
    other commit hooks run) and leaves nothing behind."""
    with engine.connect() as conn:
        outer = conn.begin()
        s = Session(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield s
        finally:
            s.close()
            outer.rollback()


@pytest.fixture()
def store(tmp_path: Path) -> FilesystemBlobStorage:
    return FilesystemBlobStorage(tmp_path / "blobs")


@pytest.fixture()
def runtime(tmp_path: Path, engine: Engine, store: FilesystemBlobStorage) -> Runtime:
    """The runtime of the embedded mode under the test's directory (its own
    time-stamping authority, the trust store read from the database), storing
    blobs in :func:`store`; links point to ``http://docflow.test``."""
    settings = make_settings(tmp_path / "var", "sqlite://").replace(
        base_url="http://docflow.test"
    )
    return build_runtime(settings, sessionmaker(engine)).replace(storage=store)


@dataclass(frozen=True)
class Cast:
    """The supplier and one customer with a contract, and one person per role:
    the customer's signer (who also manages the contract), its viewer, a user
    of nobody's contract, a clerk and an administrator of the supplier."""

    supplier: Organisation
    customer: Organisation
    contract: Contract
    signer: User
    viewer: User
    stranger: User
    clerk: User
    admin: User

    def actor(self, user: User) -> Actor:
        return Actor.for_user(user)


@pytest.fixture()
def cast(session: Session) -> Cast:
    supplier = factories.make_organisation(
        session, name="АО «Энергосбыт»", is_supplier=True
    )
    customer = factories.make_organisation(session, name="ООО «Ромашка»")
    contract = factories.make_contract(session, organisation=customer)
    signer = factories.make_user(session, last_name="Иванов", first_name="Иван")
    viewer = factories.make_user(session, last_name="Сидоров", first_name="Семён")
    stranger = factories.make_user(session, last_name="Орлов", first_name="Олег")
    clerk = factories.make_user(session, role=Role.CLERK, last_name="Смирнова")
    admin = factories.make_user(session, role=Role.ADMIN, last_name="Кузнецов")
    factories.grant(
        session, user=signer, contract=contract, can_sign=True, can_manage=True
    )
    factories.grant(session, user=viewer, contract=contract)
    return Cast(supplier, customer, contract, signer, viewer, stranger, clerk, admin)
