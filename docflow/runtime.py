"""The runtime: what services need of the world outside the database.

One :class:`Runtime` is built per application (:func:`build_runtime`, the
first time anything asks for it) and passed to every service that stores a
blob, checks or time-stamps a signature, asks the registry of powers of
attorney, links to the cabinet in a message or takes the time of an event:

* ``storage`` — the blob store ``STORAGE_URL`` names (:class:`BlobStorage`);
* ``trust(session)`` — the trust store as the database holds it now;
* ``timestamper`` — the RFC 3161 authority (``TSA_URL`` or the embedded one);
* ``registry`` — the МЧД registry (``MCHD_REGISTRY_URL``), or ``None``;
* ``revocation`` — how revocation is checked (``REVOCATION_MODE``);
* ``base_url`` — where links in e-mails and SMS point (``BASE_URL``);
* ``now()`` — the clock every signature's time of receipt is read from;
* ``settings`` — everything else that was configured.

Services stay free of Flask: routes reach the runtime through
:func:`docflow.context.current_runtime`, tasks and commands through the
application they run in, tests build or :meth:`~Runtime.replace` one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session, sessionmaker

import signing
from docflow.certificates.truststore import TrustStoreCache
from docflow.certificates.tsa import open_timestamper, trust_embedded_root
from docflow.config import Settings
from docflow.db import utcnow
from docflow.powers.registry import Registry, open_registry
from signing.revocation import RevocationMode
from signing.tsa import Timestamper
from storage import BlobStorage, open_store

#: The trust store as a session's database holds it.
TrustSource = Callable[[Session], signing.TrustStore]


@dataclass(frozen=True)
class Runtime:
    """The backends and the clock services are given (see the module)."""

    settings: Settings
    storage: BlobStorage
    timestamper: Timestamper
    registry: Registry | None
    trust_source: TrustSource
    revocation: RevocationMode
    base_url: str
    clock: Callable[[], dt.datetime] = utcnow

    def trust(self, session: Session) -> signing.TrustStore:
        """The trust store, read in ``session`` (one read of its version)."""
        return self.trust_source(session)

    def now(self) -> dt.datetime:
        """The current time (UTC, aware)."""
        return self.clock()

    def replace(self, **changes: object) -> Runtime:
        """This runtime with some parts changed (a test's fixed trust store:
        ``trust_source=lambda _session: store``)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def build_runtime(settings: Settings, sessions: sessionmaker[Session]) -> Runtime:
    """Open what ``settings`` name. The embedded time-stamping authority is
    opened first: its root is trusted when it is made (through
    ``TRUST_STORE``, or the database in production), so the trust store read
    next trusts its tokens."""
    timestamper = open_timestamper(settings)
    if settings.production:
        trust_embedded_root(sessions, settings)
    trust = TrustStoreCache(
        settings.signatures.trust_store,
        allow_private_fetch=settings.signatures.allow_private_fetch,
    )
    return Runtime(
        settings=settings,
        storage=open_store(settings.storage_url),
        timestamper=timestamper,
        registry=open_registry(
            settings.signatures.mchd_registry_url, var_dir=settings.var_dir
        ),
        trust_source=trust.get,
        revocation=settings.signatures.revocation_mode,
        base_url=settings.base_url,
    )
