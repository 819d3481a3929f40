"""A small supplier's world for the contract tests: two customer organisations
with contracts, nobody bound yet, users of each, a clerk and an administrator."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.accounts.models import Role, User
from docflow.audit.models import AuditRecord
from docflow.contracts.models import Contract, ContractAccess
from tests import factories
from tests.factories import PASSWORD as PASSWORD


@dataclass(frozen=True)
class World:
    romashka: uuid.UUID  # organisation ids
    vasilek: uuid.UUID
    c1: uuid.UUID  # Ромашка 77-0001-ЮЛ
    c2: uuid.UUID  # Ромашка 77-0002-ЮЛ
    c3: uuid.UUID  # Василёк 50-0100-ЮЛ


def session(app: Flask) -> Session:
    return app.extensions["docflow"].sessionmaker()  # type: ignore[no-any-return]


def make_user(
    app: Flask,
    email: str,
    *,
    role: Role = Role.CUSTOMER,
    last_name: str = "Сидоров",
    first_name: str = "Пётр",
) -> uuid.UUID:
    """A confirmed user (password :data:`PASSWORD`), committed; their id."""
    with session(app) as s:
        user = factories.make_user(
            s, email=email, role=role, last_name=last_name, first_name=first_name
        )
        s.commit()
        return user.id


def build_world(app: Flask) -> World:
    with session(app) as s:
        rom = factories.make_organisation(
            s,
            name="ООО «Ромашка»",
            inn="7701234567",
            kpp="770101001",
            email="office@romashka.example",
            address="г. Москва",
        )
        vas = factories.make_organisation(
            s, name="АО «Василёк»", inn="5003012345", email="office@vasilek.example"
        )
        c1 = factories.make_contract(
            s, organisation=rom, number="77-0001-ЮЛ", signed_on=dt.date(2024, 1, 15)
        )
        c2 = factories.make_contract(
            s, organisation=rom, number="77-0002-ЮЛ", signed_on=None
        )
        c3 = factories.make_contract(
            s, organisation=vas, number="50-0100-ЮЛ", signed_on=None
        )
        s.commit()
        return World(rom.id, vas.id, c1.id, c2.id, c3.id)


def grant(
    app: Flask, user_id: uuid.UUID, contract_id: uuid.UUID, **rights: bool
) -> None:
    """The view right on the contract, and ``rights`` (``can_manage=True``…)."""
    with session(app) as s:
        factories.grant(
            s,
            user=s.get_one(User, user_id),
            contract=s.get_one(Contract, contract_id),
            **rights,
        )
        s.commit()


def access_of(app: Flask, email: str, contract_id: uuid.UUID) -> ContractAccess | None:
    with session(app) as s:
        return s.scalar(
            select(ContractAccess)
            .join(User, User.id == ContractAccess.user_id)
            .where(User.email == email, ContractAccess.contract_id == contract_id)
        )


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    resp = client.post("/account/login", data={"email": email, "password": password})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]


def audit_actions(app: Flask) -> list[tuple[str, dict[str, Any]]]:
    with session(app) as s:
        return [
            (r.action, r.details)
            for r in s.scalars(select(AuditRecord).order_by(AuditRecord.id))
        ]
