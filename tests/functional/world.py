"""A small world for document-flow tests: organisations, contracts, users with
rights, a test PKI trusted by the app, and documents made with the services."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from docflow.access import Actor
from docflow.accounts.models import Role, User
from docflow.accounts.services import register_user
from docflow.contracts.models import Contract, ContractAccess, Organisation
from docflow.db import transaction
from signing import pki

PASSWORD = "secret123"


@dataclass(frozen=True)
class Keys:
    root: pki.Issued
    signer_a: pki.Issued  # ООО «Ромашка», RSA
    signer_a_ec: pki.Issued  # ООО «Ромашка», P-256
    signer_b: pki.Issued  # АО «Василёк»
    supplier: pki.Issued
    expired_a: pki.Issued
    foreign_root: pki.Issued
    foreign_a: pki.Issued  # Ромашка's ИНН, but from an untrusted CA


@pytest.fixture(scope="session")
def keys() -> Keys:
    root = pki.make_root_ca("Тестовый УЦ документооборота")
    now = dt.datetime.now(dt.UTC)
    foreign_root = pki.make_root_ca("Чужой УЦ")
    a = {"organization": "ООО «Ромашка»", "inn_le": "7701234567"}
    return Keys(
        root=root,
        signer_a=pki.make_signer(
            root, surname="Иванов", given_name="Иван Иванович", **a
        ),
        signer_a_ec=pki.make_signer(
            root, surname="Иванов", given_name="Иван Иванович", key_type="p256", **a
        ),
        signer_b=pki.make_signer(
            root,
            surname="Петрова",
            given_name="Мария Сергеевна",
            organization="АО «Василёк»",
            inn_le="5003012345",
        ),
        supplier=pki.make_signer(
            root,
            surname="Смирнова",
            given_name="Ольга Петровна",
            organization="АО «Энергосбыт»",
            inn_le="7736520080",
        ),
        expired_a=pki.make_signer(
            root,
            surname="Иванов",
            given_name="Иван Иванович",
            not_before=now - dt.timedelta(days=400),
            not_after=now - dt.timedelta(days=35),
            **a,
        ),
        foreign_root=foreign_root,
        foreign_a=pki.make_signer(
            foreign_root, surname="Иванов", given_name="Иван Иванович", **a
        ),
    )


@dataclass
class World:
    app: Flask
    keys: Keys
    supplier: Organisation
    org_a: Organisation
    org_b: Organisation
    contract_a: Contract
    contract_b: Contract
    signer_a: User
    viewer_a: User
    signer_b: User
    clerk: User

    @property
    def storage(self) -> Any:
        from storage import open_store

        return open_store(self.app.extensions["docflow"].settings.storage_url)

    def session(self) -> Session:
        return self.app.extensions["docflow"].sessionmaker()  # type: ignore[no-any-return]

    def actor(self, user: User) -> Actor:
        return Actor.for_user(user)

    def trust(self, session: Session) -> Any:
        from docflow.certificates.services import trust_store

        self.timestamper()  # its root must be in the trust store first
        state = self.app.extensions["docflow"]
        return trust_store(session, state.settings.trust_store, state._cache)

    def timestamper(self) -> Any:
        """The embedded time-stamping authority, as the app itself uses it."""
        from docflow.certificates.tsa import open_timestamper

        state = self.app.extensions["docflow"]
        return state.backend("timestamper", lambda: open_timestamper(state.settings))


def _user(
    s: Session, email: str, last: str, first: str, role: Role = Role.CUSTOMER
) -> User:
    return register_user(
        s,
        email=email,
        password=PASSWORD,
        last_name=last,
        first_name=first,
        role=role,
        confirmed=True,
    )


@pytest.fixture()
def world(app: Flask, keys: Keys) -> World:
    trust_dir = Path(app.extensions["docflow"].settings.trust_store)
    trust_dir.mkdir(parents=True, exist_ok=True)
    (trust_dir / "test-root.crt").write_bytes(keys.root.pem)
    with app.app_context():
        s = app.extensions["docflow"].sessionmaker()
        with transaction(s):
            supplier = Organisation(
                name="АО «Энергосбыт»", inn="7736520080", is_supplier=True
            )
            org_a = Organisation(name="ООО «Ромашка»", inn="7701234567")
            org_b = Organisation(name="АО «Василёк»", inn="5003012345")
            s.add_all([supplier, org_a, org_b])
            s.flush()
            contract_a = Contract(number="77-0001-ЮЛ", organisation_id=org_a.id)
            contract_b = Contract(number="50-0100-ЮЛ", organisation_id=org_b.id)
            s.add_all([contract_a, contract_b])
            signer_a = _user(s, "signer@romashka.example", "Иванов", "Иван")
            viewer_a = _user(s, "viewer@romashka.example", "Сидоров", "Семён")
            signer_b = _user(s, "signer@vasilek.example", "Петрова", "Мария")
            clerk = _user(
                s, "clerk@energosbyt.example", "Смирнова", "Ольга", Role.CLERK
            )
            s.flush()
            s.add_all(
                [
                    ContractAccess(
                        user_id=signer_a.id,
                        contract_id=contract_a.id,
                        can_view=True,
                        can_sign=True,
                        can_submit_readings=True,
                        can_manage=True,
                    ),
                    ContractAccess(
                        user_id=viewer_a.id, contract_id=contract_a.id, can_view=True
                    ),
                    ContractAccess(
                        user_id=signer_b.id,
                        contract_id=contract_b.id,
                        can_view=True,
                        can_sign=True,
                        can_manage=True,
                    ),
                ]
            )
        s.close()
    return World(
        app,
        keys,
        supplier,
        org_a,
        org_b,
        contract_a,
        contract_b,
        signer_a,
        viewer_a,
        signer_b,
        clerk,
    )


def act_pdf(text: str = "Акт снятия показаний расчётных приборов учёта") -> bytes:
    """A one-page PDF with Cyrillic text, made with reportlab."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from docflow.pdfkit import FONT, register_fonts

    register_fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont(FONT, 14)
    c.drawString(72, 760, text)
    c.setFont(FONT, 11)
    c.drawString(72, 730, f"Документ № {uuid.uuid4().hex[:6]}")
    c.showPage()
    c.save()
    return buf.getvalue()


def register_cert(world: World, user: User, issued: pki.Issued) -> Any:
    from docflow.certificates.services import register_certificate

    with world.app.app_context():
        s = world.session()
        with transaction(s):
            result = register_certificate(
                s,
                actor=Actor.for_user(s.merge(user)),
                data=issued.der,
                trust=world.trust(s),
            )
        s.close()
    return result


def new_document(
    world: World,
    *,
    by: User | None = None,
    contract: Contract | None = None,
    pdf: bytes | None = None,
    filename: str = "act.pdf",
    route: tuple[str, ...] = ("customer", "supplier"),
    **meta: Any,
) -> uuid.UUID:
    from docflow.documents.services import Upload, register_document

    with world.app.app_context():
        s = world.session()
        user = s.merge(by or world.clerk)
        with transaction(s):
            doc = register_document(
                s,
                actor=Actor.for_user(user),
                storage=world.storage,
                contract_id=(contract or world.contract_a).id,
                doc_type=meta.pop("doc_type", "prom10"),
                number=meta.pop("number", "П-1"),
                doc_date=meta.pop("doc_date", dt.date(2026, 10, 31)),
                title=meta.pop("title", "Акт ПРОМ10 за октябрь 2026"),
                main_file=Upload.from_bytes(
                    filename, pdf if pdf is not None else act_pdf()
                ),
                route=route,
                **meta,
            )
            doc_id = doc.id
        s.close()
    return doc_id
