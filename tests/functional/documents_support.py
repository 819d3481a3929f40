"""Factories for document-flow tests: organisations, contracts, users and their
rights, documents registered through the services, test PDFs, and signatures
(recorded directly, or made for real with a throw-away PKI).

Everything goes through the same services the application uses; nothing writes
rows a service would not write. Use them inside ``with db(app) as s:`` — the
session commits on leaving the block (the ``app`` fixture empties the tables
after each test).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from docflow.access import Actor
from docflow.accounts.models import Role, User
from docflow.contracts.models import Contract, ContractAccess, Organisation
from docflow.db import transaction
from docflow.documents.models import (
    DocType,
    Document,
    Party,
    Signature,
    StepStatus,
    Verdict,
)
from docflow.documents.services import Upload, record_signature, register_document

FONT = Path(__file__).resolve().parents[2] / "signing" / "fonts" / "DejaVuSans.ttf"
_serial = itertools.count(1)


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


def blob_store(app: Flask) -> Any:
    """The application's blob store (``STORAGE_URL``), opened once per app."""
    from storage import open_store

    state = app.extensions["docflow"]
    return state.backend("storage", lambda: open_store(state.settings.storage_url))


# -- parties ---------------------------------------------------------------------


def make_organisation(
    s: Session, *, name: str, inn: str, is_supplier: bool = False, **extra: Any
) -> Organisation:
    org = Organisation(name=name, inn=inn, is_supplier=is_supplier, **extra)
    s.add(org)
    s.flush()
    return org


def make_contract(
    s: Session,
    *,
    organisation: Organisation,
    number: str,
    signed_on: dt.date = dt.date(2025, 1, 15),
) -> Contract:
    contract = Contract(number=number, organisation=organisation, signed_on=signed_on)
    s.add(contract)
    s.flush()
    return contract


def make_user(
    s: Session,
    *,
    email: str,
    last_name: str = "Сидоров",
    first_name: str = "Пётр",
    middle_name: str = "Ильич",
    role: Role = Role.CUSTOMER,
) -> User:
    user = User(
        email=email,
        password_hash="!unusable",
        last_name=last_name,
        first_name=first_name,
        middle_name=middle_name,
        role=role,
        email_confirmed_at=dt.datetime.now(dt.UTC),
    )
    s.add(user)
    s.flush()
    return user


def grant(
    s: Session,
    *,
    user: User,
    contract: Contract,
    sign: bool = False,
    manage: bool = False,
) -> ContractAccess:
    """Give ``user`` the view right on ``contract`` (and signing, management)."""
    access = ContractAccess(
        user_id=user.id,
        contract_id=contract.id,
        can_view=True,
        can_sign=sign,
        can_manage=manage,
    )
    s.add(access)
    s.flush()
    return access


def actor(user: User) -> Actor:
    return Actor.for_user(user)


# -- documents -------------------------------------------------------------------


def make_pdf(pages: int = 1, *, heading: str = "Тестовый документ") -> bytes:
    """An A4 PDF with Cyrillic text: «<heading>, страница N из M» on each page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONT)))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=True)
    for n in range(1, pages + 1):
        c.setFont("DejaVuSans", 16)
        c.drawString(72, 760, f"{heading}, страница {n} из {pages}")
        c.setFont("DejaVuSans", 11)
        for i, line in enumerate(
            ("Поставщик: АО «Энергосбыт»", "Потребитель: ООО «Ромашка»")
        ):
            c.drawString(72, 720 - 18 * i, line)
        c.showPage()
    c.save()
    return buf.getvalue()


def register(
    s: Session,
    *,
    by: Actor,
    storage: Any,
    contract: Contract,
    number: str,
    title: str,
    doc_type: DocType = DocType.OTHER,
    doc_date: dt.date = dt.date(2026, 10, 31),
    comment: str = "",
    filename: str = "document.pdf",
    data: bytes | None = None,
    attachments: Sequence[tuple[str, bytes]] = (),
    route: Sequence[Party] = (Party.CUSTOMER, Party.SUPPLIER),
) -> Document:
    """Register a document with ``register_document`` (a one-page PDF by default)."""
    return register_document(
        s,
        actor=by,
        storage=storage,
        contract_id=contract.id,
        doc_type=doc_type,
        number=number,
        doc_date=doc_date,
        title=title,
        comment=comment,
        main_file=Upload.from_bytes(filename, make_pdf() if data is None else data),
        attachments=[Upload.from_bytes(name, body) for name, body in attachments],
        route=route,
    )


def add_signature_record(
    s: Session,
    *,
    doc: Document,
    by: Actor,
    signer_name: str,
    organisation: str | None = None,
    serial: str | None = None,
    signed_at: dt.datetime | None = None,
    verdict: Verdict = Verdict.VALID,
) -> Signature:
    """Record the current step's signature without cryptography (for search and
    listing tests): the route advances exactly as after a verified signature."""
    step = next(st for st in doc.steps if st.status == StepStatus.CURRENT)
    signed_at = signed_at or dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    signature = Signature(
        document=doc,
        step_id=step.id,
        party=step.party,
        user_id=by.user_id,
        signer_name=signer_name,
        signer_organisation=organisation,
        certificate_serial=serial or f"{next(_serial):040X}",
        certificate_not_before=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        certificate_not_after=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        signing_time=signed_at,
        verdict=verdict,
        report={"cms": {"verdict": verdict.value, "summary": "recorded by a test"}},
    )
    record_signature(s, actor=by, doc=doc, step=step, signature=signature)
    return signature


# -- real signatures -------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """A root CA and two signers: the customer's person and the supplier's."""

    root: Any
    customer: Any  # signing.pki.Issued
    supplier: Any
    customer_inn: str
    supplier_inn: str
    tsa: Any  # a time-stamping authority under ``root``

    def trust(self) -> Any:
        from signing import TrustStore

        return TrustStore(
            roots=[self.root.der], ocsp=False, fetch_crls=False, fetch_issuers=False
        )

    def timestamper(self) -> Any:
        from signing.tsa import TimeStampAuthority

        return TimeStampAuthority(self.signer(self.tsa), policy="2.25.4")

    def signer(self, who: Any) -> Any:
        from signing.signers import Pkcs12Signer

        return Pkcs12Signer(who.key, who.cert, list(who.chain))


@functools.cache
def shared_pki() -> Pki:
    """Made once per process: key generation is the slow part."""
    from signing import pki

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
    return Pki(
        root, customer, supplier, "7701234567", "7705000001", pki.make_tsa(root)
    )


def sign_as_customer(
    s: Session, *, doc: Document, user: User, storage: Any, pki: Pki
) -> Signature:
    """Register the customer's certificate for ``user`` and post a detached CMS
    over the original, as an integration would."""
    from docflow.certificates.services import register_certificate
    from docflow.documents.signing_flow import accept_cms_signature
    from signing import sign_cms

    trust = pki.trust()
    who = actor(user)
    registration = register_certificate(
        s, actor=who, data=pki.customer.der, trust=trust
    )
    assert registration.accepted, registration.problems
    original = storage.read_bytes(doc.main_file.blob_key)
    return accept_cms_signature(
        s,
        actor=who,
        document_id=doc.id,
        signature=sign_cms(original, pki.signer(pki.customer)),
        storage=storage,
        trust=trust,
        timestamper=pki.timestamper(),
    )


def countersign_as_supplier(
    s: Session, *, doc: Document, clerk: User, storage: Any, pki: Pki
) -> Signature:
    """The supplier's countersignature: a CMS and, for a PDF, a PAdES revision."""
    from docflow.certificates.services import register_certificate
    from docflow.documents.signing_flow import countersign

    trust = pki.trust()
    who = actor(clerk)
    registration = register_certificate(
        s, actor=who, data=pki.supplier.der, trust=trust
    )
    assert registration.accepted, registration.problems
    return countersign(
        s,
        actor=who,
        document_id=doc.id,
        signer=pki.signer(pki.supplier),
        storage=storage,
        trust=trust,
        timestamper=pki.timestamper(),
    )
