"""Managing access to a contract: who has which rights, changing and revoking
them; the user is told of every change (``contract.access_changed``).

The administrator (the right «управление доступом») manages the others; the
contract is never left without one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from docflow.accounts.models import User
from docflow.audit import RequestInfo, record
from docflow.contracts.common import (
    RIGHT_NAMES,
    aware,
    normalize_rights,
    right_labels,
)
from docflow.contracts.lookup import contract_managers
from docflow.contracts.models import (
    AccessRequestStatus,
    Contract,
    ContractAccess,
    ContractAccessRequest,
    ContractInvitation,
    InvitationStatus,
)
from docflow.db import utcnow
from docflow.errors import NotFoundError, ValidationError
from docflow.outbox.services import publish
from docflow.runtime import Runtime


@dataclass(frozen=True)
class AccessOverview:
    accesses: list[ContractAccess]
    invitations: list[ContractInvitation]
    requests: list[ContractAccessRequest]
    requesters: dict[uuid.UUID, User]


def access_overview(session: Session, *, contract: Contract) -> AccessOverview:
    accesses = list(
        session.scalars(
            select(ContractAccess)
            .join(User, User.id == ContractAccess.user_id)
            .where(ContractAccess.contract_id == contract.id)
            .options(selectinload(ContractAccess.user))
            .order_by(ContractAccess.can_manage.desc(), User.last_name, User.first_name)
        )
    )
    now = utcnow()
    invitations = [
        inv
        for inv in session.scalars(
            select(ContractInvitation)
            .where(
                ContractInvitation.contract_id == contract.id,
                ContractInvitation.status == InvitationStatus.PENDING,
            )
            .order_by(ContractInvitation.created_at.desc())
        )
        if aware(inv.expires_at) > now
    ]
    requests = list(
        session.scalars(
            select(ContractAccessRequest)
            .where(
                ContractAccessRequest.contract_id == contract.id,
                ContractAccessRequest.status == AccessRequestStatus.PENDING,
            )
            .order_by(ContractAccessRequest.created_at)
        )
    )
    users = (
        {
            u.id: u
            for u in session.scalars(
                select(User).where(User.id.in_([r.user_id for r in requests]))
            )
        }
        if requests
        else {}
    )
    return AccessOverview(accesses, invitations, requests, users)


def _contract_url(base_url: str, contract: Contract) -> str:
    return f"{base_url}/contracts/{contract.id}"


def notify_access_changed(
    session: Session,
    *,
    contract: Contract,
    target: User,
    user: User,
    access: ContractAccess | None,
    runtime: Runtime,
) -> None:
    """Tell ``target`` their rights on the contract changed (``access``, or
    ``None`` when access is closed): in the cabinet, by e-mail or SMS as they
    subscribed, and to the organisation's webhooks."""
    labels = right_labels(access.rights) if access is not None else []
    title = (
        f"Изменены права доступа к договору № {contract.number}"
        if labels
        else f"Закрыт доступ к договору № {contract.number}"
    )
    publish(
        session,
        kind="contract.access_changed",
        users=[target],
        context={
            "contract_number": contract.number,
            "organization_name": contract.organisation.name,
            "access": labels,
            "url": _contract_url(runtime.base_url, contract),
            "changed_by": user.full_name,
            "user_name": target.full_name,
            "subscriptions_url": f"{runtime.base_url}/profile/subscriptions",
        },
        title=title,
        body=("Теперь вам доступно: " + ", ".join(labels) + ".")
        if labels
        else "Доступ к договору закрыт.",
        link=f"/contracts/{contract.id}" if labels else None,
        organisation_id=contract.organisation_id,
        payload={
            "contract_id": str(contract.id),
            "contract_number": contract.number,
            "user_id": str(target.id),
            "access": list(access.rights) if access else [],
        },
    )


def _guard_last_manager(session: Session, access: ContractAccess) -> None:
    if access.can_manage and len(contract_managers(session, access.contract_id)) <= 1:
        raise ValidationError(
            "Нельзя лишить права управления доступом последнего администратора договора. "
            "Сначала назначьте другого администратора.",
            code="last_administrator",
        )


def _access_of(
    session: Session, contract: Contract, access_id: uuid.UUID
) -> ContractAccess:
    access = session.scalar(
        select(ContractAccess)
        .where(
            ContractAccess.id == access_id, ContractAccess.contract_id == contract.id
        )
        .options(selectinload(ContractAccess.user))
    )
    if access is None:
        raise NotFoundError("Пользователь договора не найден.")
    return access


def set_rights(
    session: Session,
    *,
    contract: Contract,
    user: User,
    access_id: uuid.UUID,
    rights: Mapping[str, bool],
    runtime: Runtime,
    request_info: RequestInfo | None = None,
) -> ContractAccess:
    """Change one user's rights on the contract (the actor manages it).

    :raises ValidationError: it would leave the contract without an administrator.
    """
    access = _access_of(session, contract, access_id)
    new = normalize_rights(rights)
    before = list(access.rights)
    if not new["can_manage"]:
        _guard_last_manager(session, access)
    for name, value in new.items():
        setattr(access, name, value)
    session.flush()
    if list(access.rights) == before:
        return access
    record(
        session,
        user=user,
        action="contract.access_changed",
        object_type="contract",
        object_id=contract.id,
        details={
            "contract_number": contract.number,
            "user": access.user.email,
            "before": before,
            "after": list(access.rights),
        },
        request_info=request_info,
    )
    notify_access_changed(
        session,
        contract=contract,
        target=access.user,
        user=user,
        access=access,
        runtime=runtime,
    )
    return access


def revoke_access(
    session: Session,
    *,
    contract: Contract,
    user: User,
    access_id: uuid.UUID,
    runtime: Runtime,
    request_info: RequestInfo | None = None,
) -> None:
    """Take all of a user's rights on the contract away.

    :raises ValidationError: the user is the last administrator.
    """
    access = _access_of(session, contract, access_id)
    _guard_last_manager(session, access)
    target, before = access.user, list(access.rights)
    session.delete(access)
    session.flush()
    record(
        session,
        user=user,
        action="contract.access_revoked",
        object_type="contract",
        object_id=contract.id,
        details={
            "contract_number": contract.number,
            "user": target.email,
            "before": before,
        },
        request_info=request_info,
    )
    notify_access_changed(
        session,
        contract=contract,
        target=target,
        user=user,
        access=None,
        runtime=runtime,
    )


def grant_rights(
    session: Session, *, contract: Contract, user: User, rights: Mapping[str, bool]
) -> tuple[ContractAccess, list[str]]:
    """Add rights (never remove any); returns the access and the rights before."""
    access = session.scalar(
        select(ContractAccess).where(
            ContractAccess.contract_id == contract.id, ContractAccess.user_id == user.id
        )
    )
    before: list[str] = []
    if access is None:
        access = ContractAccess(
            user_id=user.id,
            contract_id=contract.id,
            **dict.fromkeys(RIGHT_NAMES, False),
        )
        session.add(access)
    else:
        before = list(access.rights)
    for name, value in normalize_rights(rights).items():
        if value:
            setattr(access, name, True)
    session.flush()
    return access, before
