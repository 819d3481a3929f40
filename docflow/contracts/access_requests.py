"""Requests for access: a user who tried to bind a contract that has an
administrator asks for access; an administrator approves (viewing only, widened
afterwards on the access page) or declines.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.accounts.models import User
from docflow.audit import RequestInfo, record
from docflow.contracts.models import (
    AccessRequestStatus,
    Contract,
    ContractAccessRequest,
)
from docflow.contracts.rights import grant_rights, notify_access_changed
from docflow.db import utcnow
from docflow.errors import NotFoundError
from docflow.runtime import Runtime


def _request_of(
    session: Session, contract: Contract, request_id: uuid.UUID
) -> ContractAccessRequest:
    req = session.scalar(
        select(ContractAccessRequest).where(
            ContractAccessRequest.id == request_id,
            ContractAccessRequest.contract_id == contract.id,
            ContractAccessRequest.status == AccessRequestStatus.PENDING,
        )
    )
    if req is None:
        raise NotFoundError("Запрос доступа не найден или уже рассмотрен.")
    return req


def decide_request(
    session: Session,
    *,
    contract: Contract,
    user: User,
    request_id: uuid.UUID,
    approve: bool,
    runtime: Runtime,
    request_info: RequestInfo | None = None,
) -> ContractAccessRequest:
    """Approve (viewing only; the administrator widens it after) or decline."""
    req = _request_of(session, contract, request_id)
    requester = session.get_one(User, req.user_id)
    req.status = (
        AccessRequestStatus.APPROVED if approve else AccessRequestStatus.DECLINED
    )
    req.decided_at, req.decided_by_id = utcnow(), user.id
    access = None
    if approve:
        access, _before = grant_rights(
            session, contract=contract, user=requester, rights={"can_view": True}
        )
    session.flush()
    record(
        session,
        user=user,
        action="contract.access_request_approved"
        if approve
        else "contract.access_request_declined",
        object_type="contract",
        object_id=contract.id,
        details={
            "contract_number": contract.number,
            "user": requester.email,
            "rights": list(access.rights) if access else [],
        },
        request_info=request_info,
    )
    notify_access_changed(
        session,
        contract=contract,
        target=requester,
        user=user,
        access=access,
        runtime=runtime,
    )
    return req
