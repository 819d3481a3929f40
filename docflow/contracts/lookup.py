"""Looking contracts up for a user.

Every lookup of a contract goes through :func:`get_contract_for`, which answers
«not found» for a contract the user has no access to, whether or not it exists.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from docflow.accounts.models import User
from docflow.contracts.common import CONTRACT_NOT_FOUND, RIGHT_LABELS
from docflow.contracts.models import Contract, ContractAccess
from docflow.errors import NotFoundError, PermissionDeniedError


def get_contract_for(
    session: Session, *, contract_id: uuid.UUID, user: User, right: str = "can_view"
) -> tuple[Contract, ContractAccess]:
    """The contract and the user's access to it.

    :raises NotFoundError: the user has no access (or there is no such
        contract): both answer the same, so that nobody learns which exist.
    :raises PermissionDeniedError: the user sees the contract but lacks ``right``.
    """
    access = session.scalar(
        select(ContractAccess)
        .where(
            ContractAccess.contract_id == contract_id, ContractAccess.user_id == user.id
        )
        .options(
            selectinload(ContractAccess.contract).selectinload(Contract.organisation)
        )
    )
    if access is None or not access.can_view:
        raise NotFoundError(CONTRACT_NOT_FOUND)
    if not getattr(access, right):
        raise PermissionDeniedError(
            "Для этого действия нужно право «" + RIGHT_LABELS[right] + "» по договору."
        )
    return access.contract, access


def list_user_contracts(session: Session, *, user: User) -> list[ContractAccess]:
    """The user's accesses, with their contracts and organisations, by number."""
    return list(
        session.scalars(
            select(ContractAccess)
            .join(Contract, Contract.id == ContractAccess.contract_id)
            .where(ContractAccess.user_id == user.id, ContractAccess.can_view)
            .options(
                selectinload(ContractAccess.contract).selectinload(
                    Contract.organisation
                )
            )
            .order_by(Contract.number)
        )
    )


def contract_managers(session: Session, contract_id: uuid.UUID) -> list[ContractAccess]:
    """The accesses of the contract's administrators (with their users)."""
    return list(
        session.scalars(
            select(ContractAccess)
            .where(ContractAccess.contract_id == contract_id, ContractAccess.can_manage)
            .options(selectinload(ContractAccess.user))
        )
    )
