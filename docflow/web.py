"""Request-scoped access to the application's state from routes.

Routes call :func:`db_session` for the request's SQLAlchemy session and
:func:`state` for the backends built once per application.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app, g, request
from flask_login import current_user
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

import signing
from docflow.access import Actor
from docflow.audit import RequestInfo
from docflow.certificates.truststore import TrustStoreCache
from docflow.certificates.tsa import open_timestamper, trust_embedded_root
from docflow.powers.registry import Registry, open_registry
from signing.tsa import Timestamper
from storage import BlobStorage, open_store

if TYPE_CHECKING:
    from docflow.config import Settings


@dataclass
class DocflowState:
    """What ``create_app`` builds once: settings, the engine, lazy backends."""

    settings: Settings
    engine: Engine
    sessionmaker: sessionmaker[Session]
    _cache: dict[str, Any] = field(default_factory=dict)

    def backend(self, name: str, factory: Any) -> Any:
        if name not in self._cache:
            self._cache[name] = factory()
        return self._cache[name]


def state() -> DocflowState:
    return current_app.extensions["docflow"]  # type: ignore[no-any-return]


def settings() -> Settings:
    return state().settings


def db_session() -> Session:
    """The session of the current request (or CLI command, or task)."""
    if "db_session" not in g:
        g.db_session = state().sessionmaker()
    return g.db_session  # type: ignore[no-any-return]


def close_db_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def request_info() -> RequestInfo:
    """Who is asking, for the audit log: the client address and user agent."""
    return RequestInfo(
        ip=request.remote_addr,
        user_agent=request.headers.get("User-Agent"),
        via="api" if request.path.startswith("/api/") else "web",
    )


def blob_store() -> BlobStorage:
    """The blob store named by ``STORAGE_URL``, opened once per process."""
    st = state()
    store: BlobStorage = st.backend(
        "storage", lambda: open_store(st.settings.storage_url)
    )
    return store


def timestamper() -> Timestamper:
    """The RFC 3161 time-stamp source (``TSA_URL``, else the embedded one,
    whose root production trusts in the database as it opens it)."""
    st = state()

    def _open() -> Timestamper:
        source = open_timestamper(st.settings)
        if st.settings.production:
            trust_embedded_root(st.sessionmaker, st.settings)
        return source

    source: Timestamper = st.backend("timestamper", _open)
    return source


def mchd_registry() -> Registry | None:
    """The registry of powers of attorney (``MCHD_REGISTRY_URL``), or ``None``."""
    st = state()
    registry: Registry | None = st.backend(
        "mchd_registry",
        lambda: open_registry(
            st.settings.mchd_registry_url, var_dir=st.settings.var_dir
        ),
    )
    return registry


def trust_for(session: Session) -> signing.TrustStore:
    """The trust store as the database holds it now, read in ``session`` (one
    read of the trust version; the files of ``TRUST_STORE`` are imported
    first). Downloads named by certificates reach internal addresses only with
    ``ALLOW_PRIVATE_FETCH``."""
    st = state()
    # The embedded time-stamping authority's root is trusted when it is made
    # (through TRUST_STORE, or the database in production): make it first, so
    # the store read next trusts its tokens.
    timestamper()
    holder: TrustStoreCache = st.backend(
        "trust_store",
        lambda: TrustStoreCache(
            st.settings.trust_store,
            allow_private_fetch=st.settings.allow_private_fetch,
        ),
    )
    return holder.get(session)


def trust() -> signing.TrustStore:
    """The trust store, read in the request's session (:func:`trust_for`)."""
    return trust_for(db_session())


def current_actor() -> Actor:
    """The signed-in user as an :class:`docflow.access.Actor`."""
    return Actor.for_user(current_user._get_current_object(), request_info())
