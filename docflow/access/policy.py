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
import uuid
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import QueryableAttribute, Session

from docflow.access.actor import (
    Actor,
    Right,
    Rights,
    contract_rights,
    registrable_contract_ids,
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


# -- appeals (docflow.appeals) ------------------------------------------------


def appeal_contract_filter(
    actor: Actor, contract_column: QueryableAttribute[uuid.UUID | None]
) -> ColumnElement[bool]:
    """Which appeals an actor sees, as a condition on the appeal's contract
    column: the supplier's people and keys every one; a customer those of the
    contracts it holds the view right on (a key: with the ``read`` scope)."""
    if actor.is_supplier:
        return true() if "read" in actor.scopes else false()
    if "read" not in actor.scopes:
        return false()
    return contract_column.in_(visible_contract_ids(actor, Right.VIEW))


def may_see_appeal(session: Session, actor: Actor, contract_id: Any) -> bool:
    """The single-appeal form of :func:`appeal_contract_filter`."""
    if actor.is_supplier:
        return "read" in actor.scopes
    return contract_rights(session, actor, contract_id).view


def require_appeal_filing(
    session: Session, actor: Actor, contract_id: Any, *, significant: bool
) -> Rights:
    """Who files an appeal on a contract: a customer holding the view right
    (a key: the ``write`` scope); on a legally significant topic the appeal is
    signed, so the right to sign too. 404 for a contract the actor cannot see,
    403 for the supplier's side and a missing right."""
    if actor.is_supplier:
        raise PermissionDeniedError(
            "Обращения подают клиенты; сотрудники поставщика отвечают на них."
        )
    rights = contract_rights(session, actor, contract_id)
    if not rights.view:
        raise NotFoundError("Договор не найден.")
    if actor.api_key_id is not None and not rights.register:
        raise PermissionDeniedError(
            "Ключу API не выдана область доступа «write».",
            details={"required_scope": "write"},
        )
    if significant and not rights.sign:
        raise PermissionDeniedError(
            "Обращение по этой тематике юридически значимое и подписывается "
            "электронной подписью: нужно право подписи по договору."
        )
    return rights


def handles_appeals(actor: Actor) -> bool:
    """The supplier's clerks (and keys) take appeals into work, answer and
    close them."""
    return actor.is_supplier


def manages_appeal_topics(actor: Actor) -> bool:
    """The catalogue of topics is kept by the supplier's administrator."""
    return actor.is_supplier and is_admin(actor.user)


# -- surveys (docflow.surveys) --------------------------------------------------


def manages_surveys(actor: Actor) -> bool:
    """Writing, publishing and closing surveys: the supplier's administrator."""
    return actor.is_supplier and is_admin(actor.user)


def reads_survey_results(actor: Actor) -> bool:
    """The supplier's people (clerks and administrators) read every survey and
    its results."""
    return actor.is_supplier and is_staff(actor.user)


def answers_surveys(actor: Actor) -> bool:
    """A person of a customer (not an API key, not the supplier) answers."""
    return actor.user is not None and not actor.is_supplier


def survey_contract_ids(actor: Actor) -> Any:
    """The contracts through which a customer sees surveys addressed to its
    organisation: those it holds the view right on."""
    return visible_contract_ids(actor, Right.VIEW)


def survey_answer_contract_ids(actor: Actor) -> Any:
    """The contracts through which a customer answers for its organisation:
    those it may speak for the organisation on (the right to sign or to manage
    access — as for registering documents); the view right only reads."""
    return registrable_contract_ids(actor)


# -- tours and the grid cabinet (docflow.tours) -----------------------------------


def grid_account_rights(session: Session, actor: Actor, contract_id: Any) -> Rights:
    """404 for a contract the actor cannot see; else its rights on it."""
    rights = contract_rights(session, actor, contract_id)
    if not rights.view:
        raise NotFoundError("Договор не найден.")
    return rights


def may_set_grid_account(actor: Actor, rights: Rights) -> bool:
    """The account in the grid company's cabinet (ЛК МОЭСК) is the customer's
    own: its contract administrator (the manage right) sets it, not the
    supplier's people."""
    return actor.user is not None and not actor.is_supplier and rights.manage


def require_grid_account_manager(
    session: Session, actor: Actor, contract_id: Any
) -> Rights:
    """404 for a contract the actor cannot see, 403 unless
    :func:`may_set_grid_account`."""
    rights = grid_account_rights(session, actor, contract_id)
    if not may_set_grid_account(actor, rights):
        raise PermissionDeniedError(
            "Номер учётной записи ЛК МОЭСК указывает администратор договора "
            "(право управления доступом)."
        )
    return rights


def sees_grid_cabinet(actor: Actor) -> bool:
    """The link to the grid company's cabinet is for the customers' people."""
    return actor.user is not None and not actor.is_supplier


# -- service orders (docflow/service_orders) ------------------------------------------
# Who orders: a person of the customer with the right to register documents on
# the contract (the right to sign or to manage it), since an order registers
# its offer in the flow; the signing of the offer then needs the right to sign.
# The supplier's people process orders; its administrator keeps the catalogue.

ORDER_REFUSED = (
    "Оформить заказ может пользователь с правом подписи или управления доступом "
    "по договору."
)


def may_edit_service_catalogue(actor: Actor) -> bool:
    """The supplier's administrator edits the catalogue of services."""
    return actor.is_supplier and is_admin(actor.user)


def may_process_service_orders(actor: Actor) -> bool:
    """The supplier's people (and its keys) see every order, mark payments and
    completion; the catalogue's administration pages are open to them to read."""
    return actor.is_supplier


def service_order_contract_ids(actor: Actor, *, ordering: bool = False) -> Any:
    """A subquery of the contracts whose orders the actor sees (``ordering``:
    on which it may order). An API key reads with ``read``, orders with
    ``write``; the supplier orders nothing for a customer."""
    if ordering:
        if actor.is_supplier:
            return select(Contract.id).where(false())
        return registrable_contract_ids(actor)
    if actor.api_key_id is not None and "read" not in actor.scopes:
        return select(Contract.id).where(false())
    return visible_contract_ids(actor, Right.VIEW)


def require_service_order(
    session: Session, actor: Actor, contract_id: Any, *, ordering: bool = False
) -> Rights:
    """404 for a contract (or its order) the actor cannot see; 403 with the
    reason when it sees it but may not order (or cancel) on it."""
    rights = contract_rights(session, actor, contract_id)
    if not rights.view:
        raise NotFoundError("Заказ или договор не найден.")
    if ordering and (actor.is_supplier or not rights.register):
        raise PermissionDeniedError(ORDER_REFUSED)
    return rights


# -- online payments (docflow.payments) -------------------------------------------------

PAY_REFUSED = (
    "Оплату онлайн вносит представитель потребителя: сотрудникам поставщика и "
    "ключам API она недоступна."
)


def may_pay_online(session: Session, actor: Actor, contract_id: Any) -> bool:
    """Who pays for a contract online: a person of the customer holding the
    view right on it (paying harms nobody, so the view right is enough — as
    anyone may pay an invoice at a bank); not the supplier, not an API key."""
    if actor.user is None or actor.is_supplier:
        return False
    return contract_rights(session, actor, contract_id).view


def require_pay_online(session: Session, actor: Actor, contract_id: Any) -> Rights:
    """404 for a contract the actor cannot see, 403 for the supplier's people
    and API keys (they see every contract but do not pay)."""
    rights = contract_rights(session, actor, contract_id)
    if not rights.view:
        raise NotFoundError("Договор не найден.")
    if actor.user is None or actor.is_supplier:
        raise PermissionDeniedError(PAY_REFUSED)
    return rights


def online_payment_filter(
    actor: Actor, contract_column: QueryableAttribute[uuid.UUID | None]
) -> ColumnElement[bool]:
    """Which online payments an actor sees, as a condition on the payment's
    contract column: the supplier all; a customer those of contracts it holds
    the view right on (whoever of its people paid); an API key needs ``read``."""
    if actor.is_supplier:
        return true() if "read" in actor.scopes else false()
    if "read" not in actor.scopes:
        return false()
    return contract_column.in_(visible_contract_ids(actor, Right.VIEW))


def sees_all_online_payments(actor: Actor) -> bool:
    """The registry of every online payment with filters: the supplier's people."""
    return actor.is_supplier and actor.user is not None


# -- hourly volumes (docflow.readings.hourly_*) -----------------------------------------

HOURLY_UPLOAD_REFUSED = "Почасовые объёмы загружает тот, у кого есть право передавать показания по договору."


def hourly_rights(session: Session, actor: Actor, contract_id: Any) -> Rights:
    """The hourly volumes of a contract are seen with the view right (or, for
    an API key, the ``readings`` scope alone) and loaded with the right to
    submit readings; 404 for a contract the actor cannot see at all."""
    if session.get(Contract, contract_id) is None:
        raise NotFoundError("Договор не найден.")
    rights = contract_rights(session, actor, contract_id)
    if not (rights.view or rights.submit_readings):
        raise NotFoundError("Договор не найден.")
    return rights


def require_hourly_upload(session: Session, actor: Actor, contract_id: Any) -> Rights:
    """404 for an invisible contract, 403 without the right to submit readings."""
    rights = hourly_rights(session, actor, contract_id)
    if not rights.submit_readings:
        raise PermissionDeniedError(HOURLY_UPLOAD_REFUSED)
    return rights


def hourly_contract_ids(actor: Actor) -> Any:
    """The contracts whose hourly volumes the actor may open (for the choice)."""
    return visible_contract_ids(actor, Right.VIEW)


HOURLY_MAPPING_REFUSED = (
    "Точки измерений сопоставляют с объектами и счётчиками сотрудники поставщика."
)


def maps_hourly_points(actor: Actor) -> bool:
    """The supplier's people map metering points to objects and meters: the
    right that accepts ППП requests (:func:`accepts_planned`)."""
    return accepts_planned(actor)


def require_hourly_mapping(session: Session, actor: Actor, contract_id: Any) -> Rights:
    """404 for a contract whose hourly volumes the actor cannot see, 403 for a
    customer (it sees the mapping read-only on the hourly page)."""
    rights = hourly_rights(session, actor, contract_id)
    if not maps_hourly_points(actor):
        raise PermissionDeniedError(HOURLY_MAPPING_REFUSED)
    return rights


# -- ППП, planned hourly consumption (docflow.readings.planned_*) -------------------------

PLANNED_FILING_REFUSED = (
    "Заявку на плановое почасовое потребление подаёт представитель потребителя с правом "
    "передавать показания по договору."
)


def planned_rights(session: Session, actor: Actor, contract_id: Any) -> Rights:
    """The requests of a contract are seen with the view right (or, for an API
    key, the ``readings`` scope alone); 404 for a contract not seen at all."""
    rights = contract_rights(session, actor, contract_id)
    if not (rights.view or rights.submit_readings):
        raise NotFoundError("Договор не найден.")
    return rights


def require_planned_filing(session: Session, actor: Actor, contract_id: Any) -> Rights:
    """404 for an invisible contract; 403 without the right to submit readings
    and for the supplier (it receives requests, it does not file them)."""
    rights = planned_rights(session, actor, contract_id)
    if actor.is_supplier or not rights.submit_readings:
        raise PermissionDeniedError(PLANNED_FILING_REFUSED)
    return rights


def may_file_planned(session: Session, actor: Actor, contract_id: Any) -> bool:
    if actor.is_supplier:
        return False
    return contract_rights(session, actor, contract_id).submit_readings


def planned_contract_ids(actor: Actor) -> Any:
    """The contracts whose requests the actor may open (for the choice)."""
    return visible_contract_ids(actor, Right.VIEW)


def accepts_planned(actor: Actor) -> bool:
    """The supplier's people see every request and mark them «принята»."""
    return actor.is_supplier and actor.user is not None
