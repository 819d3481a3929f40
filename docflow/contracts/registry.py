"""The supplier's registry of contracts (staff): searching it, one contract
with its users, and the contracts nobody has bound yet.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from docflow.contracts.common import CONTRACT_NOT_FOUND
from docflow.contracts.models import Contract, ContractAccess, Organisation
from docflow.errors import NotFoundError


def search_registry(
    session: Session, *, query: str = "", limit: int = 200
) -> list[tuple[Contract, int]]:
    """Contracts in the supplier's records with the number of their users."""
    users = (
        select(ContractAccess.contract_id, func.count().label("n"))
        .group_by(ContractAccess.contract_id)
        .subquery()
    )
    stmt = (
        select(Contract, func.coalesce(users.c.n, 0))
        .join(Organisation, Organisation.id == Contract.organisation_id)
        .outerjoin(users, users.c.contract_id == Contract.id)
        .options(selectinload(Contract.organisation))
        .order_by(Organisation.name, Contract.number)
        .limit(limit)
    )
    q = query.strip()
    if q:
        # SQLite folds the case of ASCII letters only: try the usual spellings.
        variants = {q, q.lower(), q.upper(), q.capitalize(), q.title()}
        stmt = stmt.where(
            or_(
                Organisation.inn.like(f"%{q}%"),
                *[Contract.number.like(f"%{v}%") for v in variants],
                *[Organisation.name.like(f"%{v}%") for v in variants],
            )
        )
    return [(c, int(n)) for c, n in session.execute(stmt)]


def get_registry_contract(session: Session, contract_id: uuid.UUID) -> Contract:
    contract = session.scalar(
        select(Contract)
        .where(Contract.id == contract_id)
        .options(selectinload(Contract.organisation))
    )
    if contract is None:
        raise NotFoundError(CONTRACT_NOT_FOUND)
    return contract


def registry_users(session: Session, contract_id: uuid.UUID) -> list[ContractAccess]:
    return list(
        session.scalars(
            select(ContractAccess)
            .where(ContractAccess.contract_id == contract_id)
            .options(selectinload(ContractAccess.user))
            .order_by(ContractAccess.can_manage.desc())
        )
    )


def bindable_contracts(session: Session) -> list[Contract]:
    """Contracts of the supplier's records that nobody has bound yet."""
    bound = select(ContractAccess.contract_id)
    return list(
        session.scalars(
            select(Contract)
            .where(Contract.id.not_in(bound), Contract.is_active)
            .options(selectinload(Contract.organisation))
            .order_by(Contract.number)
        )
    )
