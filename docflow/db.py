"""SQLAlchemy 2.0: the declarative base, engines, sessions and transactions.

Services ``flush()``; the route or the task that called them owns the
transaction (:func:`transaction`). Work that must happen only if the
transaction commits (a Celery task, say) is queued with
:func:`enqueue_after_commit`.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    Integer,
    MetaData,
    create_engine,
    event,
    func,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    sessionmaker,
)

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Enums are stored by value (the stable strings the API shows), not by
    # member name, and as plain strings so that adding a state needs no
    # ALTER TYPE on PostgreSQL.
    type_annotation_map = {
        enum.StrEnum: Enum(
            enum.StrEnum,
            native_enum=False,
            values_callable=lambda e: [m.value for m in e],
            length=40,
            validate_strings=True,
        ),
        dict[str, Any]: JSON,
        dt.datetime: DateTime(timezone=True),
    }


uuid_pk = Annotated[uuid.UUID, mapped_column(primary_key=True, default=uuid.uuid4)]
created_at = Annotated[
    dt.datetime,
    mapped_column(DateTime(timezone=True), default=utcnow, server_default=func.now()),
]
#: An auto-incrementing 64-bit key (events, the audit log): BIGINT on
#: PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer, "sqlite")


class TimestampMixin:
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True),
        default=utcnow,
        onupdate=utcnow,
        server_default=func.now(),
    )


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Foreign keys are off by default in SQLite; WAL lets the web
            # server's threads read while one writes.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


_AFTER_COMMIT = "docflow_after_commit"


def enqueue_after_commit(
    session: Session, fn: Callable[[], Any], *, once: str | None = None
) -> None:
    """Run ``fn`` after the session's transaction commits; drop it on rollback.

    :param once: a name for work that one commit needs at most once (the
        outbox relay, however many events the transaction wrote): a second
        ``fn`` queued under the same name before the commit is dropped.
    """
    pending: dict[str, Callable[[], Any]] = session.info.setdefault(_AFTER_COMMIT, {})
    pending.setdefault(once or f"#{len(pending)}", fn)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    pending = session.info.pop(_AFTER_COMMIT, {})
    for fn in pending.values():
        fn()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Commit on success, roll back on any exception.

    Blobs written for rows of this transaction (:func:`blobs_of_transaction`)
    are deleted when it rolls back, so a refused or conflicting write (two
    identical requests at once) leaves no orphan behind.
    """
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        _forget_pending_blobs(session)
        raise
    else:
        session.info.pop(_PENDING_BLOBS, None)


_PENDING_BLOBS = "docflow.pending_blobs"


def blobs_of_transaction(session: Session, storage: Any, key: str) -> None:
    """Remember a blob written for a row of the current transaction: it is
    deleted if the transaction rolls back."""
    session.info.setdefault(_PENDING_BLOBS, []).append((storage, key))


def _forget_pending_blobs(session: Session) -> None:
    for storage, key in session.info.pop(_PENDING_BLOBS, []):
        try:
            storage.delete(key)
        except Exception:  # noqa: BLE001 - fsck lists whatever is left as an orphan
            log.warning("could not remove blob %s of a rolled back transaction", key)


@contextmanager
def count_statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements ``engine`` sends while the block runs, one entry per
    cursor execution (an ``executemany`` is one round trip, one entry): the
    measure of the write path's statement budgets (``benchmarks/api.py`` and
    ``tests/functional/test_write_path.py``)."""
    seen: list[str] = []

    def note(
        _conn: Any,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def is_postgres(session: Session) -> bool:
    bind = session.get_bind()
    return bind.dialect.name == "postgresql"
