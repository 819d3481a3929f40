"""Who is acting, and what they may do with a contract.

Every service takes an :class:`Actor`: a signed-in user (web), an API key of a
customer organisation or of the supplier (API), or the system itself (tasks).
Every query for documents, certificates and contracts is scoped through
:func:`visible_contract_ids` or :func:`contract_rights`. An API key's scopes
are folded into its rights here (``read`` → view, ``write`` → register,
``sign`` → sign, ``readings`` → submit readings), so no caller reads scopes.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from docflow.accounts.models import Role, User
from docflow.audit import RequestInfo
from docflow.contracts.models import Contract, ContractAccess, Organisation


class KeyLike(Protocol):
    """What an actor needs of an API key (``docflow.api.models.ApiKey``): the
    core knows keys by their shape, not by the API's model."""

    id: uuid.UUID
    organisation_id: uuid.UUID | None
    prefix: str
    name: str
    scopes: str


class Right(enum.StrEnum):
    VIEW = "view"
    SUBMIT_READINGS = "submit_readings"
    SIGN = "sign"
    MANAGE = "manage"


# The column of ``contract_access`` that holds each right.
RIGHT_COLUMNS = {
    Right.VIEW: ContractAccess.can_view,
    Right.SUBMIT_READINGS: ContractAccess.can_submit_readings,
    Right.SIGN: ContractAccess.can_sign,
    Right.MANAGE: ContractAccess.can_manage,
}

ALL_SCOPES = frozenset({"read", "write", "sign", "readings"})


@dataclass(frozen=True)
class Rights:
    view: bool = False
    submit_readings: bool = False
    sign: bool = False
    manage: bool = False
    #: Register documents on the contract (and delete the unsigned ones the
    #: actor's party registered): who may sign or manage it; for an API key,
    #: the ``write`` scope. The view right alone is read-only.
    register: bool = False

    def has(self, right: Right) -> bool:
        return bool(getattr(self, right.value))


FULL = Rights(True, True, True, True, True)
NONE = Rights()


@dataclass(frozen=True)
class Actor:
    user: User | None
    is_supplier: bool
    label: str
    organisation_id: uuid.UUID | None = None  # an API key of a customer organisation
    api_key_id: uuid.UUID | None = None
    scopes: frozenset[str] = ALL_SCOPES
    request_info: RequestInfo = field(default_factory=RequestInfo)

    @classmethod
    def for_user(cls, user: User, request_info: RequestInfo | None = None) -> Actor:
        return cls(
            user=user,
            is_supplier=user.is_staff,
            label=f"{user.full_name} <{user.email}>",
            request_info=request_info or RequestInfo(),
        )

    @classmethod
    def for_api_key(
        cls, key: KeyLike, request_info: RequestInfo | None = None
    ) -> Actor:
        """An integration: a key of a customer organisation, or of the supplier
        (a key bound to no organisation)."""
        return cls(
            user=None,
            is_supplier=key.organisation_id is None,
            label=f"API key {key.prefix} ({key.name})",
            organisation_id=key.organisation_id,
            api_key_id=key.id,
            scopes=frozenset(s for s in key.scopes.split(",") if s),
            request_info=request_info or RequestInfo(),
        )

    @classmethod
    def system(cls, label: str = "система (поставщик)") -> Actor:
        return cls(
            user=None,
            is_supplier=True,
            label=label,
            request_info=RequestInfo(via="task"),
        )

    @property
    def party(self) -> str:
        return "supplier" if self.is_supplier else "customer"

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.user.id if self.user else None


def supplier_organisation(session: Session) -> Organisation | None:
    return session.scalar(
        select(Organisation).where(Organisation.is_supplier.is_(True))
    )


def contract_rights(session: Session, actor: Actor, contract_id: uuid.UUID) -> Rights:
    """What ``actor`` may do with the contract (nothing when it may not see it).

    The supplier's people and keys hold every right but the scopes of a key:
    a supplier key without ``sign`` does not sign.
    """
    if actor.is_supplier:
        if actor.api_key_id is not None:
            return Rights(
                view="read" in actor.scopes,
                submit_readings="readings" in actor.scopes,
                sign="sign" in actor.scopes,
                manage=False,
                register="write" in actor.scopes,
            )
        return FULL
    if actor.organisation_id is not None:
        contract = session.get(Contract, contract_id)
        if contract is None or contract.organisation_id != actor.organisation_id:
            return NONE
        return Rights(
            view="read" in actor.scopes,
            submit_readings="readings" in actor.scopes,
            sign="sign" in actor.scopes,
            manage=False,
            register="write" in actor.scopes,
        )
    if actor.user is None:
        return NONE
    access = session.scalar(
        select(ContractAccess).where(
            ContractAccess.user_id == actor.user.id,
            ContractAccess.contract_id == contract_id,
        )
    )
    if access is None or not access.can_view:
        return NONE
    return Rights(
        view=True,
        submit_readings=access.can_submit_readings,
        sign=access.can_sign,
        manage=access.can_manage,
        register=access.can_sign or access.can_manage,
    )


def visible_contract_ids(actor: Actor, right: Right = Right.VIEW) -> Select[uuid.UUID]:
    """A subquery of the contracts ``actor`` holds ``right`` on (all, for the supplier)."""
    if actor.is_supplier:
        return select(Contract.id)
    if actor.organisation_id is not None:
        return select(Contract.id).where(
            Contract.organisation_id == actor.organisation_id
        )
    user_id = actor.user.id if actor.user else uuid.UUID(int=0)
    column = RIGHT_COLUMNS[right]
    return select(ContractAccess.contract_id).where(
        ContractAccess.user_id == user_id, ContractAccess.can_view, column
    )


def registrable_contract_ids(actor: Actor) -> Select[uuid.UUID]:
    """The contracts ``actor`` may register documents on (see ``Rights.register``)."""
    if actor.is_supplier:
        return (
            select(Contract.id)
            if "write" in actor.scopes
            else select(Contract.id).where(false())
        )
    if actor.organisation_id is not None:
        stmt = select(Contract.id).where(
            Contract.organisation_id == actor.organisation_id
        )
        return stmt if "write" in actor.scopes else stmt.where(false())
    user_id = actor.user.id if actor.user else uuid.UUID(int=0)
    return select(ContractAccess.contract_id).where(
        ContractAccess.user_id == user_id,
        ContractAccess.can_view,
        ContractAccess.can_sign | ContractAccess.can_manage,
    )


def users_with_right(
    session: Session, contract_id: uuid.UUID, right: Right
) -> list[User]:
    column = RIGHT_COLUMNS[right]
    return list(
        session.scalars(
            select(User)
            .join(ContractAccess, ContractAccess.user_id == User.id)
            .where(ContractAccess.contract_id == contract_id, column)
        )
    )


def supplier_staff(session: Session) -> list[User]:
    return list(
        session.scalars(select(User).where(User.role.in_([Role.CLERK, Role.ADMIN])))
    )
