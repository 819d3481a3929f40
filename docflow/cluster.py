"""What several nodes of one cabinet check about each other.

Web and worker processes keep nothing a peer needs: the database, the blob
store and the broker hold the state. Two things cannot be left to luck:

* a filesystem blob store (``STORAGE_URL=file://…``) is shared only if every
  node sees the same directory. Each production process writes a marker file
  with its node's token into the directory and records the token in
  ``cluster_nodes``; a node that cannot read another node's marker keeps its
  blobs where the other cannot reach them, and refuses to start
  (:func:`check_blob_directory_shared`);
* beat must run once (:class:`BeatLock`): two beats would send every periodic
  task twice, none would leave the outbox unswept.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import re
import secrets
import time
import zlib
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from sqlalchemy import String, create_engine, delete, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool

from docflow.config import ConfigError
from docflow.db import Base, utcnow

if TYPE_CHECKING:
    from docflow.config import Settings

log = logging.getLogger(__name__)

#: Under the blob directory: one file per node, holding its token.
MARKERS = ".docflow-nodes"


class ClusterNode(Base):
    """A node that ran in production with a filesystem blob store, and the token
    it left in that directory."""

    __tablename__ = "cluster_nodes"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    blob_dir: Mapped[str] = mapped_column(String(1000))
    token: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[dt.datetime]


def blob_directory(storage_url: str) -> Path | None:
    """The directory of a ``file://`` blob store; ``None`` for any other."""
    parts = urlsplit(storage_url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def _marker(directory: Path, node: str) -> Path:
    return directory / MARKERS / re.sub(r"[^A-Za-z0-9._-]", "_", node)


def _own_token(directory: Path, node: str) -> str:
    """This node's token, made once and kept in its marker file. The processes
    of a node start at once: the file appears whole (a link to a finished
    temporary file) and the first one to link it wins."""
    marker = _marker(directory, node)
    if not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        draft = marker.with_name(f".{marker.name}.{secrets.token_hex(4)}")
        draft.write_text(secrets.token_hex(16))
        try:
            os.link(draft, marker)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return marker.read_text().strip()


def check_blob_directory_shared(settings: Settings) -> None:
    """Refuse to start when the ``file://`` blob directory is not the one the
    other nodes use (see the module docstring).

    Nodes are told apart by ``DOCFLOW_NODE`` (the host name by default), so the
    processes of one machine are one node. A database not migrated yet
    (``docflow db upgrade`` itself starts here) has nobody to compare with.

    :raises ConfigError: naming ``STORAGE_URL`` and the node whose blobs live
        elsewhere.
    """
    directory = blob_directory(settings.storage_url)
    if directory is None:
        return
    token = _own_token(directory, settings.node_name)
    # An engine of its own, closed at once: `gunicorn --preload` forks its
    # workers after this, and they must not inherit a pooled connection.
    engine = create_engine(settings.database_url, poolclass=NullPool)
    try:
        with Session(engine) as session, session.begin():
            peers = session.execute(
                select(ClusterNode.name, ClusterNode.blob_dir, ClusterNode.token).where(
                    ClusterNode.name != settings.node_name
                )
            ).all()
            session.merge(
                ClusterNode(
                    name=settings.node_name,
                    blob_dir=str(directory)[:1000],
                    token=token,
                    registered_at=utcnow(),
                )
            )
    except IntegrityError:
        pass  # another process of this node registered it at the same moment
    except (ProgrammingError, OperationalError) as exc:
        log.info("cluster_nodes not readable yet (%s): nothing to compare", exc)
        return
    finally:
        engine.dispose()
    for peer in peers:
        marker = _marker(directory, peer.name)
        seen = marker.read_text().strip() if marker.exists() else None
        if seen != peer.token:
            raise ConfigError(
                f"STORAGE_URL={settings.storage_url}: this blob directory is not "
                f"shared with node «{peer.name}», which keeps its blobs in "
                f"{peer.blob_dir} (its marker {marker} is "
                f"{'missing' if seen is None else 'different'} here). Every node "
                "must see the same blobs: use s3://… (MinIO) or a directory all "
                "nodes mount. If that node is gone for good: docflow cluster "
                f"forget {peer.name}"
            )


def forget_node(session: Session, name: str) -> bool:
    """Drop a node that no longer runs from the shared-directory check."""
    result = session.execute(delete(ClusterNode).where(ClusterNode.name == name))
    return bool(getattr(result, "rowcount", 0))


def list_nodes(session: Session) -> list[ClusterNode]:
    return list(session.scalars(select(ClusterNode).order_by(ClusterNode.name)))


# -- beat, once -------------------------------------------------------------------


#: The advisory lock's key: the same number in every beat of one database.
BEAT_LOCK_KEY = zlib.crc32(b"docflow.beat")
#: How often a waiting beat tries the lock again, and how often the holder
#: checks it still has it (the lock lives as long as its connection).
BEAT_LOCK_RETRY_SECONDS = 2.0


class BeatLock:
    """The one-beat lock: a PostgreSQL advisory lock held by a connection of
    its own for the life of the beat process (released by PostgreSQL when the
    process dies, so a standby beat takes over), or, on SQLite, an exclusive
    ``flock`` on ``var/beat.lock`` (one machine).

    A second beat waits, saying so in its log, and takes over when the first
    stops.
    """

    def __init__(self, database_url: str, var_dir: Path) -> None:
        self.database_url = database_url
        self.var_dir = var_dir
        self._engine: Engine | None = None
        self._conn: Connection | None = None
        self._file: IO[str] | None = None

    @property
    def description(self) -> str:
        if self.database_url.startswith("postgresql"):
            return f"PostgreSQL advisory lock {BEAT_LOCK_KEY}"
        return f"file lock {self.var_dir / 'beat.lock'}"

    def try_acquire(self) -> bool:
        if self.database_url.startswith("postgresql"):
            return self._try_advisory()
        return self._try_flock()

    def _try_advisory(self) -> bool:
        if self._engine is None:
            self._engine = create_engine(self.database_url, poolclass=NullPool)
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        taken = bool(
            conn.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": BEAT_LOCK_KEY}
            ).scalar()
        )
        if taken:
            self._conn = conn
        else:
            conn.close()
        return taken

    def _try_flock(self) -> bool:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        handle = (self.var_dir / "beat.lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def acquire(self) -> None:
        """Take the lock, waiting as long as another beat holds it."""
        if self.try_acquire():
            log.warning("beat: this beat holds the beat lock (%s)", self.description)
            return
        log.warning(
            "beat: another beat holds the beat lock (%s); this one waits and "
            "takes over when that one stops",
            self.description,
        )
        while not self.try_acquire():
            time.sleep(BEAT_LOCK_RETRY_SECONDS)
        log.warning(
            "beat: the other beat stopped; this beat now holds the beat lock (%s)",
            self.description,
        )

    def still_held(self) -> bool:
        """Whether the lock's connection is alive (a file lock always is)."""
        if self._conn is None:
            return self._file is not None
        try:
            self._conn.execute(text("SELECT 1"))
        except DBAPIError:
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()  # the session ends, and its advisory lock
            except DBAPIError:
                pass
            self._conn = None
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
