"""Support for the document tests: the application's database session,
runtime and blob store, and signatures made for real with a throw-away PKI. The rows
themselves come from :mod:`tests.factories`.

Use them inside ``with db(app) as s:`` — the session commits on leaving the
block (the ``app`` fixture empties the tables after each test).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from docflow.access import Actor
from docflow.accounts.models import User
from docflow.db import transaction
from docflow.documents.models import Document, Signature
from docflow.documents.signing_flow import accept_cms_signature, countersign
from docflow.runtime import Runtime
from signing import TrustStore, pki
from signing.cms import sign_cms
from signing.signers import Pkcs12Signer
from signing.tsa import TimeStampAuthority
from tests.factories import make_certificate

# -- plumbing --------------------------------------------------------------------


@contextmanager
def db(app: Flask) -> Iterator[Session]:
    """A session of the application's database, committed on success."""
    session = app.extensions["docflow"].sessionmaker()
    try:
        with app.app_context(), transaction(session):
            yield session
    finally:
        session.close()


def app_runtime(app: Flask) -> Runtime:
    """The application's runtime (its blob store, trust store, authority)."""
    return app.extensions["docflow"].runtime  # type: ignore[no-any-return]


def blob_store(app: Flask) -> Any:
    """The application's blob store (``STORAGE_URL``), opened once per app."""
    return app_runtime(app).storage


def actor(user: User) -> Actor:
    return Actor.for_user(user)


# -- real signatures -------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """A root CA and two signers: the customer's person and the supplier's."""

    root: pki.Issued
    customer: pki.Issued
    supplier: pki.Issued
    customer_inn: str
    supplier_inn: str
    tsa: pki.Issued  # a time-stamping authority under ``root``

    def trust(self) -> TrustStore:
        return TrustStore(
            roots=[self.root.der], ocsp=False, fetch_crls=False, fetch_issuers=False
        )

    def timestamper(self) -> TimeStampAuthority:
        return TimeStampAuthority(self.signer(self.tsa), policy="2.25.4")

    def runtime(self, runtime: Runtime) -> Runtime:
        """``runtime`` trusting this PKI's root (one store) and time-stamping
        with its authority."""
        trust = self.trust()
        return runtime.replace(
            trust_source=lambda _session: trust, timestamper=self.timestamper()
        )

    def signer(self, who: pki.Issued) -> Pkcs12Signer:
        return Pkcs12Signer(who.key, who.cert, list(who.chain))


@functools.cache
def shared_pki() -> Pki:
    """Made once per process: key generation is the slow part."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    root = pki.make_root_ca(not_before=now - dt.timedelta(days=365))
    customer = pki.make_signer(
        root,
        surname="Иванов",
        given_name="Иван Иванович",
        organization="ООО «Ромашка»",
        inn_le="7701234567",
        not_before=now - dt.timedelta(days=30),
    )
    supplier = pki.make_signer(
        root,
        surname="Петрова",
        given_name="Мария Сергеевна",
        organization="АО «Энергосбыт»",
        title="Начальник отдела расчётов",
        inn_le="7705000001",
        email="petrova@energosbyt.example",
        not_before=now - dt.timedelta(days=30),
    )
    return Pki(root, customer, supplier, "7701234567", "7705000001", pki.make_tsa(root))


def sign_as_customer(
    s: Session, *, doc: Document, user: User, runtime: Runtime, pki: Pki
) -> Signature:
    """Register the customer's certificate for ``user`` and post a detached CMS
    over the original, as an integration would (``runtime`` trusting ``pki``)."""
    runtime = pki.runtime(runtime)
    registration = make_certificate(s, user=user, der=pki.customer.der, runtime=runtime)
    assert registration.accepted, registration.problems
    original = runtime.storage.read_bytes(doc.main_file.blob_key)
    return accept_cms_signature(
        s,
        actor=actor(user),
        document_id=doc.id,
        signature=sign_cms(original, pki.signer(pki.customer)),
        runtime=runtime,
    )


def countersign_as_supplier(
    s: Session, *, doc: Document, clerk: User, runtime: Runtime, pki: Pki
) -> Signature:
    """The supplier's countersignature: a CMS and, for a PDF, a PAdES revision."""
    runtime = pki.runtime(runtime)
    registration = make_certificate(
        s, user=clerk, der=pki.supplier.der, runtime=runtime
    )
    assert registration.accepted, registration.problems
    return countersign(
        s,
        actor=actor(clerk),
        document_id=doc.id,
        signer=pki.signer(pki.supplier),
        runtime=runtime,
    )
