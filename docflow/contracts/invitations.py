"""Invitations: an administrator invites a person by e-mail with a set of
rights; the link is valid 72 hours. A registered user accepts it after logging
in, a newcomer registers through it (the link came to their mailbox, so the
address counts as confirmed).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from docflow.access import is_staff
from docflow.accounts.models import TokenPurpose, User
from docflow.accounts.services import (
    TOKEN_TTL,
    consume_token,
    create_token,
    get_user_by_email,
    normalize_email,
    peek_token,
    register_user,
)
from docflow.audit import RequestInfo, record
from docflow.contracts.common import (
    RIGHT_NAMES,
    normalize_rights,
    right_labels,
)
from docflow.contracts.models import (
    Contract,
    ContractAccess,
    ContractInvitation,
    InvitationStatus,
)
from docflow.contracts.rights import grant_rights, notify_access_changed
from docflow.db import utcnow
from docflow.errors import NotFoundError, ValidationError
from docflow.outbox.services import send_account_message
from docflow.runtime import Runtime

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def invite(
    session: Session,
    *,
    contract: Contract,
    user: User,
    email: str,
    rights: Mapping[str, bool],
    runtime: Runtime,
    request_info: RequestInfo | None = None,
) -> ContractInvitation:
    """Invite a person by e-mail: a link valid 72 hours. A registered user
    accepts after logging in; a newcomer registers through the link."""
    email = normalize_email(email)
    if not _EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationError(
            "Укажите корректный адрес электронной почты.", details={"field": "email"}
        )
    invitee = get_user_by_email(session, email)
    if invitee is not None and is_staff(invitee):
        raise ValidationError(
            "Этот адрес принадлежит сотруднику поставщика.", details={"field": "email"}
        )
    if invitee is not None and session.scalar(
        select(ContractAccess.id).where(
            ContractAccess.contract_id == contract.id,
            ContractAccess.user_id == invitee.id,
        )
    ):
        raise ValidationError(
            "У этого пользователя уже есть доступ к договору: измените его права в списке.",
            details={"field": "email"},
        )
    for old in session.scalars(
        select(ContractInvitation).where(
            ContractInvitation.contract_id == contract.id,
            ContractInvitation.email == email,
            ContractInvitation.status == InvitationStatus.PENDING,
        )
    ):
        old.status = InvitationStatus.CANCELLED  # the newest link is the one that works
    granted = normalize_rights(rights)
    inv = ContractInvitation(
        contract_id=contract.id,
        email=email,
        invited_by_id=user.id,
        expires_at=utcnow() + TOKEN_TTL,
        **granted,
    )
    session.add(inv)
    session.flush()
    raw = create_token(
        session,
        purpose=TokenPurpose.INVITATION,
        user=invitee,
        payload={"invitation_id": str(inv.id)},
    )
    labels = right_labels(inv.rights)
    send_account_message(
        session,
        kind="contract.invitation",
        user=invitee,
        email=email,
        context={
            "contract_number": contract.number,
            "organization_name": contract.organisation.name,
            "invited_by": f"{user.full_name} ({user.email})",
            "url": f"{runtime.base_url}/contracts/invitation/{raw}",
            "access": labels,
            "valid_hours": 72,
            "user_name": invitee.full_name if invitee else "",
        },
    )
    record(
        session,
        user=user,
        action="contract.invitation_sent",
        object_type="contract",
        object_id=contract.id,
        details={
            "contract_number": contract.number,
            "email": email,
            "rights": list(inv.rights),
            "invitation_id": str(inv.id),
        },
        request_info=request_info,
    )
    return inv


def cancel_invitation(
    session: Session,
    *,
    contract: Contract,
    user: User,
    invitation_id: uuid.UUID,
    request_info: RequestInfo | None = None,
) -> None:
    inv = session.scalar(
        select(ContractInvitation).where(
            ContractInvitation.id == invitation_id,
            ContractInvitation.contract_id == contract.id,
            ContractInvitation.status == InvitationStatus.PENDING,
        )
    )
    if inv is None:
        raise NotFoundError("Приглашение не найдено или уже использовано.")
    inv.status = InvitationStatus.CANCELLED
    session.flush()
    record(
        session,
        user=user,
        action="contract.invitation_cancelled",
        object_type="contract",
        object_id=contract.id,
        details={
            "contract_number": contract.number,
            "email": inv.email,
            "invitation_id": str(inv.id),
        },
        request_info=request_info,
    )


@dataclass(frozen=True)
class InvitationView:
    invitation: ContractInvitation
    contract: Contract
    invited_by: User | None
    has_account: bool


def open_invitation(session: Session, raw: str) -> InvitationView:
    """The live invitation behind a link, without using it up.

    :raises ValidationError: the link is unknown, used, expired or cancelled.
    """
    token = peek_token(session, raw, TokenPurpose.INVITATION)
    inv = session.get(
        ContractInvitation, uuid.UUID(str(token.payload.get("invitation_id")))
    )
    if inv is None or inv.status == InvitationStatus.CANCELLED:
        raise ValidationError(
            "Приглашение отменено администратором договора.", code="token_invalid"
        )
    if inv.status == InvitationStatus.ACCEPTED:
        raise ValidationError("Ссылка уже была использована.", code="token_used")
    contract = session.scalar(
        select(Contract)
        .where(Contract.id == inv.contract_id)
        .options(selectinload(Contract.organisation))
    )
    assert contract is not None  # the FK cascades
    invited_by = session.get(User, inv.invited_by_id) if inv.invited_by_id else None
    return InvitationView(
        inv, contract, invited_by, get_user_by_email(session, inv.email) is not None
    )


def accept_invitation(
    session: Session,
    *,
    raw: str,
    user: User,
    runtime: Runtime,
    request_info: RequestInfo | None = None,
) -> Contract:
    """Grant the invitation's rights to ``user`` (whose address it was sent to).

    :raises ValidationError: a bad link, or the user is not the invitee.
    """
    view = open_invitation(session, raw)
    inv = view.invitation
    if normalize_email(user.email) != inv.email:
        raise ValidationError(
            f"Приглашение адресовано {inv.email}. Войдите под этим адресом, чтобы принять "
            "его.",
            code="wrong_invitee",
        )
    consume_token(session, raw, TokenPurpose.INVITATION)
    inv.status, inv.accepted_at, inv.accepted_by_id = (
        InvitationStatus.ACCEPTED,
        utcnow(),
        user.id,
    )
    access, before = grant_rights(
        session,
        contract=view.contract,
        user=user,
        rights={n: getattr(inv, n) for n in RIGHT_NAMES},
    )
    record(
        session,
        user=user,
        action="contract.invitation_accepted",
        object_type="contract",
        object_id=view.contract.id,
        details={
            "contract_number": view.contract.number,
            "user": user.email,
            "invitation_id": str(inv.id),
            "before": before,
            "after": list(access.rights),
        },
        request_info=request_info,
    )
    inviter = view.invited_by or user
    notify_access_changed(
        session,
        contract=view.contract,
        target=user,
        user=inviter,
        access=access,
        runtime=runtime,
    )
    return view.contract


def register_through_invitation(
    session: Session,
    *,
    raw: str,
    password: str,
    last_name: str,
    first_name: str,
    middle_name: str,
    runtime: Runtime,
    request_info: RequestInfo | None = None,
) -> tuple[User, Contract]:
    """Create the invitee's account and grant the rights in one step.

    The link came to the invitee's mailbox, so the address counts as confirmed.
    """
    view = open_invitation(session, raw)
    if view.has_account:
        raise ValidationError(
            "Пользователь с этим адресом уже зарегистрирован: войдите и примите приглашение.",
            code="email_taken",
        )
    user = register_user(
        session,
        email=view.invitation.email,
        password=password,
        last_name=last_name,
        first_name=first_name,
        middle_name=middle_name,
        confirmed=True,
    )
    contract = accept_invitation(
        session, raw=raw, user=user, runtime=runtime, request_info=request_info
    )
    return user, contract
