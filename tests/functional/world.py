"""A small world for document-flow tests: organisations, contracts, users with
rights, a test PKI trusted by the app, and documents made with the services."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from docflow.access import Actor
from docflow.accounts.models import Role, User
from docflow.context import current_runtime
from docflow.contracts.models import Contract, Organisation
from docflow.db import transaction
from docflow.runtime import Runtime
from signing import pki
from storage import open_store
from tests.factories import PASSWORD as PASSWORD
from tests.factories import act_pdf as act_pdf
from tests.factories import (
    grant,
    make_certificate,
    make_contract,
    make_document,
    make_organisation,
    make_user,
)


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
        return open_store(self.app.extensions["docflow"].settings.storage_url)

    @property
    def runtime(self) -> Runtime:
        """The app's runtime: its blob store, trust store (with the test PKI's
        root), time-stamping authority and registry."""
        return self.app.extensions["docflow"].runtime  # type: ignore[no-any-return]

    def session(self) -> Session:
        return self.app.extensions["docflow"].sessionmaker()  # type: ignore[no-any-return]

    def actor(self, user: User) -> Actor:
        return Actor.for_user(user)

    def trust(self, session: Session) -> Any:
        # The runtime opens the timestamper first: its root must be in the store.
        with self.app.app_context():
            return current_runtime().trust(session)

    def timestamper(self) -> Any:
        """The embedded time-stamping authority, as the app itself uses it."""
        return self.app.extensions["docflow"].runtime.timestamper


@pytest.fixture()
def world(app: Flask, keys: Keys) -> World:
    trust_dir = Path(app.extensions["docflow"].settings.signatures.trust_store)
    trust_dir.mkdir(parents=True, exist_ok=True)
    (trust_dir / "test-root.crt").write_bytes(keys.root.pem)
    with app.app_context():
        s = app.extensions["docflow"].sessionmaker()
        with transaction(s):
            supplier = make_organisation(
                s, name="АО «Энергосбыт»", inn="7736520080", is_supplier=True
            )
            org_a = make_organisation(s, name="ООО «Ромашка»", inn="7701234567")
            org_b = make_organisation(s, name="АО «Василёк»", inn="5003012345")
            contract_a = make_contract(
                s, organisation=org_a, number="77-0001-ЮЛ", signed_on=None
            )
            contract_b = make_contract(
                s, organisation=org_b, number="50-0100-ЮЛ", signed_on=None
            )
            signer_a = make_user(
                s,
                email="signer@romashka.example",
                last_name="Иванов",
                first_name="Иван",
            )
            viewer_a = make_user(
                s,
                email="viewer@romashka.example",
                last_name="Сидоров",
                first_name="Семён",
            )
            signer_b = make_user(
                s,
                email="signer@vasilek.example",
                last_name="Петрова",
                first_name="Мария",
            )
            clerk = make_user(
                s,
                email="clerk@energosbyt.example",
                last_name="Смирнова",
                first_name="Ольга",
                role=Role.CLERK,
            )
            grant(
                s,
                user=signer_a,
                contract=contract_a,
                can_sign=True,
                can_submit_readings=True,
                can_manage=True,
            )
            grant(s, user=viewer_a, contract=contract_a)
            grant(s, user=signer_b, contract=contract_b, can_sign=True, can_manage=True)
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


def register_cert(world: World, user: User, issued: pki.Issued) -> Any:
    """``user`` registers ``issued``'s certificate, trusted by the world's PKI."""
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            result = make_certificate(
                s, user=s.merge(user), der=issued.der, runtime=world.runtime
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
    """A ПРОМ10 act registered by ``by`` (the clerk) on ``contract`` (Ромашка's)."""
    with world.app.app_context():
        s = world.session()
        user = s.merge(by or world.clerk)
        with transaction(s):
            doc = make_document(
                s,
                actor=Actor.for_user(user),
                runtime=world.runtime,
                contract=contract or world.contract_a,
                doc_type=meta.pop("doc_type", "prom10"),
                number=meta.pop("number", "П-1"),
                doc_date=meta.pop("doc_date", dt.date(2026, 10, 31)),
                title=meta.pop("title", "Акт ПРОМ10 за октябрь 2026"),
                filename=filename,
                data=pdf if pdf is not None else act_pdf(),
                route=route,
                **meta,
            )
            doc_id = doc.id
        s.close()
    return doc_id
