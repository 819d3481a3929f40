"""Contracts: binding, access rights, invitations, unbinding, contacts, payments
and the schedule of consumption restrictions.

Flask-free: the routes pass the session, the acting user and the request's
:class:`~docflow.audit.RequestInfo`; the route owns the transaction. Every
lookup of a contract goes through :func:`get_contract_for`, which answers
«not found» for a contract the user has no access to, whether or not it exists.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from docflow.access import customer_organisations, is_staff
from docflow.accounts.models import TokenPurpose, User
from docflow.accounts.services import (
    TOKEN_TTL,
    create_token,
    get_user_by_email,
    normalize_email,
    peek_token,
    register_user,
)
from docflow.audit import RequestInfo, record
from docflow.contracts.models import (
    RIGHTS,
    AccessRequestStatus,
    Contract,
    ContractAccess,
    ContractAccessRequest,
    ContractContacts,
    ContractInvitation,
    InvitationStatus,
    Organisation,
    Payment,
    RestrictionEntry,
)
from docflow.db import utcnow
from docflow.errors import NotFoundError, PermissionDeniedError, ValidationError

log = logging.getLogger(__name__)

# One answer for every wrong combination: saying which field was wrong would
# let anyone find out which companies are customers and by which e-mail.
BIND_FAILED = (
    "Не удалось найти договор с такими данными. Проверьте адрес электронной почты "
    "организации, ИНН и номер договора — они должны совпадать с указанными в договоре. "
    "Если всё верно, обратитесь к поставщику."
)
CONTRACT_NOT_FOUND = "Договор не найден."
RIGHT_NAMES = tuple(name for name, _label in RIGHTS)
RIGHT_LABELS = dict(RIGHTS)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")


def right_labels(rights: Iterable[str]) -> list[str]:
    """Russian labels of rights, in the canonical order."""
    held = set(rights)
    return [label for name, label in RIGHTS if name in held]


def normalize_rights(rights: Mapping[str, bool]) -> dict[str, bool]:
    """Every right named; any right implies viewing the contract."""
    result = {name: bool(rights.get(name, False)) for name in RIGHT_NAMES}
    result["can_view"] = True
    return result


def normalize_inn(raw: str) -> str:
    return re.sub(r"\s+", "", raw or "")


def normalize_contract_number(raw: str) -> str:
    """«77-0001-юл », «77 – 0001 – ЮЛ» and «77-0001-ЮЛ» are the same contract."""
    text = _DASHES.sub("-", raw or "").upper()
    return re.sub(r"\s+", "", text)


# -- looking contracts up -------------------------------------------------------


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


def _managers(session: Session, contract_id: uuid.UUID) -> list[ContractAccess]:
    return list(
        session.scalars(
            select(ContractAccess)
            .where(ContractAccess.contract_id == contract_id, ContractAccess.can_manage)
            .options(selectinload(ContractAccess.user))
        )
    )


def _access_count(session: Session, contract_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(ContractAccess)
            .where(ContractAccess.contract_id == contract_id)
        )
        or 0
    )


# -- binding ----------------------------------------------------------------------


class BindOutcome(StrEnum):
    BOUND = "bound"  # the user is the contract's administrator now
    REQUESTED = "requested"  # administered already: a request went to the admins
    ALREADY_BOUND = "already_bound"  # the user has access already
    ALREADY_REQUESTED = "already_requested"


@dataclass(frozen=True)
class BindResult:
    outcome: BindOutcome
    contract: Contract


def _find_for_binding(
    session: Session, *, email: str, inn: str, number: str
) -> Contract | None:
    org = session.scalar(
        select(Organisation).where(
            Organisation.inn == normalize_inn(inn), customer_organisations()
        )
    )
    if (
        org is None
        or not org.email
        or normalize_email(org.email) != normalize_email(email)
    ):
        return None
    wanted = normalize_contract_number(number)
    if not wanted:
        return None
    for contract in session.scalars(
        select(Contract).where(Contract.organisation_id == org.id, Contract.is_active)
    ):
        if normalize_contract_number(contract.number) == wanted:
            return contract
    return None


def bind_contract(
    session: Session,
    *,
    user: User,
    email: str,
    inn: str,
    number: str,
    request_info: RequestInfo | None = None,
) -> BindResult:
    """Bind a contract found by the organisation's e-mail, ИНН and its number.

    The first user to bind a contract becomes its administrator (every right).
    A contract that has an administrator already is not bound: a request for
    access goes to its administrators, who approve or decline it on the
    access page.

    :raises ValidationError: no such combination (one message for any field).
    """
    if is_staff(user):
        raise PermissionDeniedError("Сотрудники поставщика не привязывают договоры.")
    contract = _find_for_binding(session, email=email, inn=inn, number=number)
    if contract is None:
        log.info("binding refused for user %s", user.id)
        raise ValidationError(BIND_FAILED, code="contract_not_found")
    existing = session.scalar(
        select(ContractAccess).where(
            ContractAccess.contract_id == contract.id, ContractAccess.user_id == user.id
        )
    )
    if existing is not None:
        return BindResult(BindOutcome.ALREADY_BOUND, contract)
    managers = _managers(session, contract.id)
    if managers:
        pending = session.scalar(
            select(ContractAccessRequest).where(
                ContractAccessRequest.contract_id == contract.id,
                ContractAccessRequest.user_id == user.id,
                ContractAccessRequest.status == AccessRequestStatus.PENDING,
            )
        )
        if pending is not None:
            return BindResult(BindOutcome.ALREADY_REQUESTED, contract)
        req = ContractAccessRequest(contract_id=contract.id, user_id=user.id)
        session.add(req)
        session.flush()
        record(
            session,
            actor=user,
            action="contract.access_requested",
            object_type="contract",
            object_id=contract.id,
            details={"contract_number": contract.number, "request_id": str(req.id)},
            request_info=request_info,
        )
        from docflow.notify.services import notify_in_app

        notify_in_app(
            session,
            users=[m.user for m in managers],
            kind="contract.access_requested",
            title=f"Запрос доступа к договору № {contract.number}",
            body=f"{user.full_name} ({user.email}) просит доступ к договору.",
            link=f"/contracts/{contract.id}/access",
        )
        return BindResult(BindOutcome.REQUESTED, contract)
    access = ContractAccess(
        user_id=user.id,
        contract_id=contract.id,
        **normalize_rights(dict.fromkeys(RIGHT_NAMES, True)),
    )
    session.add(access)
    session.flush()
    record(
        session,
        actor=user,
        action="contract.bound",
        object_type="contract",
        object_id=contract.id,
        details={
            "contract_number": contract.number,
            "user": user.email,
            "rights": list(RIGHT_NAMES),
            "administrator": True,
        },
        request_info=request_info,
    )
    return BindResult(BindOutcome.BOUND, contract)


def unbind_contract(
    session: Session,
    *,
    contract: Contract,
    user: User,
    request_info: RequestInfo | None = None,
) -> None:
    """Remove the user's own access. Documents stay with the organisation.

    :raises ValidationError: the user is the last administrator while others
        still have access — someone must be left to manage it.
    """
    access = session.scalar(
        select(ContractAccess).where(
            ContractAccess.contract_id == contract.id, ContractAccess.user_id == user.id
        )
    )
    if access is None:
        raise NotFoundError(CONTRACT_NOT_FOUND)
    others = _access_count(session, contract.id) - 1
    if access.can_manage and others and len(_managers(session, contract.id)) == 1:
        raise ValidationError(
            "Вы — единственный администратор договора, а доступ к нему есть и у других "
            "пользователей. Назначьте другого администратора или отзовите их доступ, "
            "затем отвяжите договор.",
            code="last_administrator",
        )
    session.delete(access)
    session.flush()
    if not others:
        _close_pending(session, contract.id, actor=user)
    record(
        session,
        actor=user,
        action="contract.unbound",
        object_type="contract",
        object_id=contract.id,
        details={"contract_number": contract.number, "user": user.email},
        request_info=request_info,
    )


def _close_pending(session: Session, contract_id: uuid.UUID, *, actor: User) -> None:
    """Nobody is left on the contract: its invitations and requests lapse."""
    now = utcnow()
    for inv in session.scalars(
        select(ContractInvitation).where(
            ContractInvitation.contract_id == contract_id,
            ContractInvitation.status == InvitationStatus.PENDING,
        )
    ):
        inv.status = InvitationStatus.CANCELLED
    for req in session.scalars(
        select(ContractAccessRequest).where(
            ContractAccessRequest.contract_id == contract_id,
            ContractAccessRequest.status == AccessRequestStatus.PENDING,
        )
    ):
        req.status, req.decided_at, req.decided_by_id = (
            AccessRequestStatus.DECLINED,
            now,
            actor.id,
        )
    session.flush()


# -- access management ------------------------------------------------------------


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
        if _aware(inv.expires_at) > now
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


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _contract_url(base_url: str, contract: Contract) -> str:
    return f"{base_url}/contracts/{contract.id}"


def _notify_access(
    session: Session,
    *,
    contract: Contract,
    target: User,
    actor: User,
    access: ContractAccess | None,
    base_url: str,
) -> None:
    from docflow.notify.services import publish

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
            "url": _contract_url(base_url, contract),
            "changed_by": actor.full_name,
            "user_name": target.full_name,
            "subscriptions_url": f"{base_url}/profile/subscriptions",
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
    if access.can_manage and len(_managers(session, access.contract_id)) <= 1:
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
    actor: User,
    access_id: uuid.UUID,
    rights: Mapping[str, bool],
    base_url: str,
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
        actor=actor,
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
    _notify_access(
        session,
        contract=contract,
        target=access.user,
        actor=actor,
        access=access,
        base_url=base_url,
    )
    return access


def revoke_access(
    session: Session,
    *,
    contract: Contract,
    actor: User,
    access_id: uuid.UUID,
    base_url: str,
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
        actor=actor,
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
    _notify_access(
        session,
        contract=contract,
        target=target,
        actor=actor,
        access=None,
        base_url=base_url,
    )


def _grant(
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


# -- requests for access ----------------------------------------------------------


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
    actor: User,
    request_id: uuid.UUID,
    approve: bool,
    base_url: str,
    request_info: RequestInfo | None = None,
) -> ContractAccessRequest:
    """Approve (viewing only; the administrator widens it after) or decline."""
    req = _request_of(session, contract, request_id)
    requester = session.get_one(User, req.user_id)
    req.status = (
        AccessRequestStatus.APPROVED if approve else AccessRequestStatus.DECLINED
    )
    req.decided_at, req.decided_by_id = utcnow(), actor.id
    access = None
    if approve:
        access, _before = _grant(
            session, contract=contract, user=requester, rights={"can_view": True}
        )
    session.flush()
    record(
        session,
        actor=actor,
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
    _notify_access(
        session,
        contract=contract,
        target=requester,
        actor=actor,
        access=access,
        base_url=base_url,
    )
    return req


# -- invitations --------------------------------------------------------------------


def invite(
    session: Session,
    *,
    contract: Contract,
    actor: User,
    email: str,
    rights: Mapping[str, bool],
    base_url: str,
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
        invited_by_id=actor.id,
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
    from docflow.notify.services import send_account_message

    labels = right_labels(inv.rights)
    send_account_message(
        session,
        kind="contract.invitation",
        user=invitee,
        email=email,
        context={
            "contract_number": contract.number,
            "organization_name": contract.organisation.name,
            "invited_by": f"{actor.full_name} ({actor.email})",
            "url": f"{base_url}/contracts/invitation/{raw}",
            "access": labels,
            "valid_hours": 72,
            "user_name": invitee.full_name if invitee else "",
        },
    )
    record(
        session,
        actor=actor,
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
    actor: User,
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
        actor=actor,
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
    base_url: str,
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
    from docflow.accounts.services import consume_token

    consume_token(session, raw, TokenPurpose.INVITATION)
    inv.status, inv.accepted_at, inv.accepted_by_id = (
        InvitationStatus.ACCEPTED,
        utcnow(),
        user.id,
    )
    access, before = _grant(
        session,
        contract=view.contract,
        user=user,
        rights={n: getattr(inv, n) for n in RIGHT_NAMES},
    )
    record(
        session,
        actor=user,
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
    _notify_access(
        session,
        contract=view.contract,
        target=user,
        actor=inviter,
        access=access,
        base_url=base_url,
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
    base_url: str,
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
        session, raw=raw, user=user, base_url=base_url, request_info=request_info
    )
    return user, contract


def pending_invitations_for(
    session: Session, *, user: User
) -> list[ContractInvitation]:
    """Live invitations to the user's address (shown on the contracts page)."""
    now = utcnow()
    return [
        inv
        for inv in session.scalars(
            select(ContractInvitation)
            .where(
                ContractInvitation.email == normalize_email(user.email),
                ContractInvitation.status == InvitationStatus.PENDING,
            )
            .options(
                selectinload(ContractInvitation.contract).selectinload(
                    Contract.organisation
                )
            )
            .order_by(ContractInvitation.created_at.desc())
        )
        if _aware(inv.expires_at) > now
    ]


# -- contacts, payments, restrictions ------------------------------------------------

CONTACT_FIELDS = (
    "head_name",
    "branch_address",
    "phone",
    "fax",
    "curator_name",
    "curator_phone",
)


def contacts_of(session: Session, contract_id: uuid.UUID) -> ContractContacts | None:
    return session.get(ContractContacts, contract_id)


def save_contacts(
    session: Session,
    *,
    contract: Contract,
    actor: User | None,
    values: Mapping[str, Any],
    request_info: RequestInfo | None = None,
) -> ContractContacts:
    contacts = session.get(ContractContacts, contract.id)
    if contacts is None:
        contacts = ContractContacts(contract_id=contract.id)
        session.add(contacts)
    for name in CONTACT_FIELDS:
        value = (str(values.get(name) or "")).strip() or None
        setattr(contacts, name, value)
    session.flush()
    record(
        session,
        actor=actor,
        action="contract.contacts_changed",
        object_type="contract",
        object_id=contract.id,
        details={
            "contract_number": contract.number,
            **{n: getattr(contacts, n) for n in CONTACT_FIELDS},
        },
        request_info=request_info,
    )
    return contacts


def list_payments(
    session: Session, *, contract_id: uuid.UUID, limit: int | None = None
) -> list[Payment]:
    stmt = (
        select(Payment)
        .where(Payment.contract_id == contract_id)
        .order_by(Payment.paid_on.desc(), Payment.created_at.desc())
    )
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def payments_total(session: Session, *, contract_id: uuid.UUID, year: int) -> int:
    """Kopecks paid in ``year``."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Payment.amount_kopecks), 0)).where(
                Payment.contract_id == contract_id,
                Payment.paid_on >= dt.date(year, 1, 1),
                Payment.paid_on <= dt.date(year, 12, 31),
            )
        )
        or 0
    )


def list_restrictions(
    session: Session, *, contract_id: uuid.UUID, from_date: dt.date | None = None
) -> list[RestrictionEntry]:
    stmt = select(RestrictionEntry).where(RestrictionEntry.contract_id == contract_id)
    if from_date is not None:
        stmt = stmt.where(RestrictionEntry.date_to >= from_date)
    return list(
        session.scalars(
            stmt.order_by(RestrictionEntry.date_from, RestrictionEntry.time_from)
        )
    )


_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def add_restriction(
    session: Session,
    *,
    contract: Contract,
    actor: User,
    date_from: dt.date,
    date_to: dt.date,
    time_from: str | None,
    time_to: str | None,
    limit_kw: int | None,
    reason: str,
    request_info: RequestInfo | None = None,
) -> RestrictionEntry:
    if date_to < date_from:
        raise ValidationError(
            "Дата окончания раньше даты начала.", details={"field": "date_to"}
        )
    for field, value in (("time_from", time_from), ("time_to", time_to)):
        if value and not _TIME_RE.match(value):
            raise ValidationError(
                "Время указывается как ЧЧ:ММ, например 09:00.", details={"field": field}
            )
    if limit_kw is not None and limit_kw < 0:
        raise ValidationError(
            "Мощность не может быть отрицательной.", details={"field": "limit_kw"}
        )
    if not reason.strip():
        raise ValidationError(
            "Укажите основание ограничения.", details={"field": "reason"}
        )
    entry = RestrictionEntry(
        contract_id=contract.id,
        date_from=date_from,
        date_to=date_to,
        time_from=time_from or None,
        time_to=time_to or None,
        limit_kw=limit_kw,
        reason=reason.strip()[:500],
    )
    session.add(entry)
    session.flush()
    record(
        session,
        actor=actor,
        action="contract.restriction_added",
        object_type="contract",
        object_id=contract.id,
        details={
            "contract_number": contract.number,
            "entry_id": str(entry.id),
            "date_from": date_from.isoformat(),
            "date_to": date_to.isoformat(),
            "time_from": time_from,
            "time_to": time_to,
            "limit_kw": limit_kw,
            "reason": entry.reason,
        },
        request_info=request_info,
    )
    return entry


def delete_restriction(
    session: Session,
    *,
    contract: Contract,
    actor: User,
    entry_id: uuid.UUID,
    request_info: RequestInfo | None = None,
) -> None:
    entry = session.scalar(
        select(RestrictionEntry).where(
            RestrictionEntry.id == entry_id, RestrictionEntry.contract_id == contract.id
        )
    )
    if entry is None:
        raise NotFoundError("Запись графика не найдена.")
    session.delete(entry)
    session.flush()
    record(
        session,
        actor=actor,
        action="contract.restriction_deleted",
        object_type="contract",
        object_id=contract.id,
        details={"contract_number": contract.number, "entry_id": str(entry_id)},
        request_info=request_info,
    )


# -- the supplier's registry (staff) --------------------------------------------------


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
