"""The questions the code asks about access, answered in one place.

One rule decides the status of a refusal: an actor that cannot **see** a
thing (another organisation's document, a deleted one, a contract without the
view right) gets *404* — its existence is not revealed; an actor that sees it
but may not **do** this (sign without the right to sign, delete someone
else's document) gets *403* with the reason.

Services enforce through :func:`require_visible` and :func:`require`; pages,
templates and the API ask :func:`may` to show or hide an action.
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from docflow.access.actor import (
    Actor,
    Right,
    Rights,
    contract_rights,
    visible_contract_ids,
)
from docflow.accounts.models import Role, User
from docflow.certificates.models import Certificate
from docflow.contracts.models import Contract, Organisation
from docflow.documents.models import DocStatus, Document, Party
from docflow.errors import NotFoundError, PermissionDeniedError
from docflow.powers.models import PowerOfAttorney


class Action(enum.StrEnum):
    """What an actor may want to do with a document."""

    REGISTER = "register"  # register a document on a contract
    SIGN = "sign"  # sign or refuse (whose turn it is is the flow's question)
    REVOKE = "revoke"  # propose or answer a revocation by agreement
    DELETE = "delete"  # delete while nobody has signed


def is_staff(user: Any) -> bool:
    """The supplier's people (clerks and administrators)."""
    return isinstance(user, User) and user.role in (Role.CLERK, Role.ADMIN)


def is_admin(user: Any) -> bool:
    return isinstance(user, User) and user.role == Role.ADMIN


def party_of(actor: Actor) -> Party:
    """The side of the flow the actor acts for."""
    return Party.SUPPLIER if actor.is_supplier else Party.CUSTOMER


def is_supplier_organisation(organisation: Organisation | None) -> bool:
    return organisation is not None and organisation.is_supplier


def customer_organisations() -> ColumnElement[bool]:
    """A filter for organisations that are customers (not the supplier)."""
    return Organisation.is_supplier.is_(False)


def acts_for_supplier(actor: Actor) -> bool:
    return actor.is_supplier


def visible_certificates(actor: Actor) -> ColumnElement[bool]:
    """Which registered certificates an actor may see: a person their own; the
    supplier's administrator every one; a customer's key its organisation's;
    the system and supplier keys the supplier's."""
    if actor.is_supplier and is_admin(actor.user):
        return Certificate.id.is_not(None)
    if actor.organisation_id is not None:
        return Certificate.organisation_id == actor.organisation_id
    if actor.user is None:
        supplier_only = select(Organisation.id).where(
            Organisation.is_supplier.is_(True)
        )
        return Certificate.organisation_id.in_(supplier_only)
    return Certificate.user_id == actor.user.id


def _organisations_with(actor: Actor, right: Right) -> Any:
    return select(Contract.organisation_id).where(
        Contract.id.in_(visible_contract_ids(actor, right))
    )


def visible_powers(actor: Actor) -> ColumnElement[bool]:
    """Which powers of attorney (МЧД) an actor may see: the supplier's people
    and keys every one; a customer's key its organisation's; a person those
    they uploaded, those bound to a certificate they registered (they are its
    representative) and those of organisations whose contracts they manage."""
    if actor.is_supplier:
        return PowerOfAttorney.id.is_not(None)
    if actor.organisation_id is not None:
        return PowerOfAttorney.organisation_id == actor.organisation_id
    if actor.user is None:
        return false()
    return or_(
        PowerOfAttorney.uploaded_by_id == actor.user.id,
        # The representative: the МЧД bound to a certificate they registered.
        PowerOfAttorney.certificate_id.in_(
            select(Certificate.id).where(Certificate.user_id == actor.user.id)
        ),
        PowerOfAttorney.organisation_id.in_(_organisations_with(actor, Right.MANAGE)),
    )


def may_revoke_power(actor: Actor, power: PowerOfAttorney) -> bool:
    """Who withdraws an МЧД here: the supplier's administrator, the person who
    uploaded it, and the principal organisation's key with the sign scope."""
    if is_admin(actor.user):
        return True
    if actor.user is not None:
        return not actor.is_supplier and power.uploaded_by_id == actor.user.id
    return (
        actor.organisation_id is not None
        and actor.organisation_id == power.organisation_id
        and "sign" in actor.scopes
    )


def may_sign_for(session: Session, actor: Actor, organisation: Organisation) -> bool:
    """Whether ``actor`` signs documents for ``organisation``: a person with
    the right to sign on one of its contracts, its own API key, and the
    supplier's people and keys for the supplier."""
    if actor.is_supplier:
        return organisation.is_supplier
    if actor.organisation_id is not None:
        return actor.organisation_id == organisation.id
    return (
        session.scalar(
            select(Contract.id)
            .where(
                Contract.organisation_id == organisation.id,
                Contract.id.in_(visible_contract_ids(actor, Right.SIGN)),
            )
            .limit(1)
        )
        is not None
    )


def require_scopes(actor: Actor, *names: str) -> None:
    """An API key must hold every scope of ``names`` (403 naming the first
    one missing); people and the system hold them all."""
    for name in names:
        if name not in actor.scopes:
            raise PermissionDeniedError(
                f"Ключу API не выдана область доступа «{name}».",
                details={"required_scope": name},
            )


def signs_with_own_certificate(actor: Actor) -> bool:
    """A person of a customer signs only with a certificate they registered
    themselves; the supplier's people and keys with the supplier's."""
    return actor.user is not None and not actor.is_supplier


def sees_deleted_documents(actor: Actor) -> bool:
    """The supplier keeps deleted documents in view (for the audit)."""
    return actor.is_supplier


def document_filter(actor: Actor, right: Right = Right.VIEW) -> ColumnElement[bool]:
    """The documents of contracts the actor holds ``right`` on (all, for the
    supplier), as a condition for a query."""
    if actor.is_supplier:
        return true()
    if "read" not in actor.scopes:
        return false()
    return Document.contract_id.in_(visible_contract_ids(actor, right))


def _rights(session: Session, actor: Actor, doc: Document) -> Rights:
    return contract_rights(session, actor, doc.contract_id)


def can_see(session: Session, actor: Actor, doc: Document) -> bool:
    """The supplier sees every document (deleted ones too, for the audit);
    a customer sees the documents of contracts it holds the view right on,
    except deleted ones."""
    rights = _rights(session, actor, doc)
    if actor.is_supplier:
        return rights.view
    return rights.view and doc.status != DocStatus.DELETED


def require_visible(session: Session, actor: Actor, doc: Document | None) -> Document:
    """The document, or 404 for an actor that may not see it."""
    if doc is None or not can_see(session, actor, doc):
        raise NotFoundError("Документ не найден.")
    return doc


_REASONS = {
    Action.REGISTER: "У вас нет права регистрировать документы по этому договору "
    "(нужно право подписи или управления доступом).",
    Action.SIGN: "У вас нет права подписи по этому договору.",
    Action.REVOKE: "У вас нет права подписи по этому договору: аннулирование "
    "предлагает и принимает подписант.",
}


def _why_not(
    session: Session, actor: Actor, action: Action, doc: Document
) -> str | None:
    rights = _rights(session, actor, doc)
    if action is Action.DELETE:
        if not rights.register:
            return _REASONS[Action.REGISTER]
        if doc.created_by_party != party_of(actor):
            return (
                "Удалить документ может только сторона, которая его зарегистрировала."
            )
        if doc.signatures:
            return (
                "Документ уже подписан и не может быть удалён: его можно только "
                "аннулировать по соглашению сторон."
            )
        return None
    allowed = {
        Action.REGISTER: rights.register,
        Action.SIGN: rights.sign,
        Action.REVOKE: rights.sign,
    }[action]
    return None if allowed else _REASONS[action]


def may(session: Session, actor: Actor, action: Action, doc: Document) -> bool:
    """Whether to offer the action (the flow may still refuse it for the
    document's state: a signed document cannot be signed again)."""
    return (
        can_see(session, actor, doc) and _why_not(session, actor, action, doc) is None
    )


def require(session: Session, actor: Actor, action: Action, doc: Document) -> None:
    """404 if the actor cannot see the document, 403 with the reason if it sees
    it but may not do this."""
    require_visible(session, actor, doc)
    reason = _why_not(session, actor, action, doc)
    if reason is not None:
        raise PermissionDeniedError(reason)


def require_register(session: Session, actor: Actor, contract_id: Any) -> Rights:
    """404 for a contract the actor cannot see, 403 without the right to
    register documents on it."""
    rights = contract_rights(session, actor, contract_id)
    if not rights.view:
        raise NotFoundError("Договор не найден.")
    if not rights.register:
        raise PermissionDeniedError(_REASONS[Action.REGISTER])
    return rights
