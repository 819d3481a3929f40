"""Commercial services and their orders.

The life of an order::

    оформлен ──(offer signed by both)──▶ ожидает оплаты ──(payment)──▶ оплачен
        │                                  (invoice issued)               │
        └──(customer cancels while the offer is unsigned)──▶ отменён      ▼
                                                                     выполнен

Placing an order registers its offer (PDF) in the document flow with the
route customer → supplier. The document core calls :func:`on_offer_signature`
after each signature of an offer (the hook this module registers with
``docflow.documents.services.on_signature``); when the offer is signed by both,
the invoice (PDF, signed by the supplier) is registered and the order waits for
payment. A payment arrives from the payments module (:func:`on_payment`,
registered for the kind ``service_order``) or is marked by a clerk with the
payment order's number. Each change is audited, recorded in the order's history
and published to the contract's users through the outbox.

Services flush, never commit: the route or the task owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from docflow.access import (
    Actor,
    Right,
    contract_rights,
    may_edit_service_catalogue,
    may_process_service_orders,
    require_service_order,
    service_order_contract_ids,
    supplier_organisation,
    supplier_staff,
    users_with_right,
)
from docflow.audit import record
from docflow.contracts.models import Contract
from docflow.db import blobs_of_transaction, utcnow
from docflow.documents.models import DocStatus, DocType, Document
from docflow.documents.services import Upload, delete_document, register_document
from docflow.errors import (
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from docflow.outbox.services import publish
from docflow.runtime import Runtime
from docflow.service_orders import fields as fieldspec
from docflow.service_orders import pdf
from docflow.service_orders.models import (
    ORDER_STATUS_TITLES,
    OrderStatus,
    Service,
    ServiceOrder,
    ServiceOrderCounter,
    ServiceOrderEvent,
    vat_of,
)
from storage import BlobStorage

log = logging.getLogger(__name__)

NUMBER_PREFIX = "ЗУ"
PAYMENT_KIND = "service_order"
MAX_QUANTITY = 1000
MAX_PRICE_KOPECKS = 100_000_000_00  # 100 million roubles
VAT_RATES = (0, 10, 20)
ORDER_NOT_FOUND = "Заказ не найден."
SERVICE_NOT_FOUND = "Услуга не найдена."
NOTIFY_KIND = "service_order.status"


def order_number(year: int, seq: int) -> str:
    return f"{NUMBER_PREFIX}-{year}-{seq:06d}"


def status_title(status: OrderStatus | str) -> str:
    return ORDER_STATUS_TITLES[OrderStatus(status)]


# -- the catalogue ---------------------------------------------------------------------


def list_services(session: Session, *, active_only: bool = True) -> list[Service]:
    stmt = select(Service).order_by(Service.position, Service.name)
    if active_only:
        stmt = stmt.where(Service.is_active.is_(True))
    return list(session.scalars(stmt))


def get_service(
    session: Session, service_id: uuid.UUID, *, active_only: bool = True
) -> Service:
    service = session.get(Service, service_id)
    if service is None or (active_only and not service.is_active):
        raise NotFoundError(SERVICE_NOT_FOUND)
    return service


def parse_price(raw: Any) -> int:
    """«12 500,00» or «12500.5» roubles → kopecks.

    :raises ValidationError: not a price.
    """
    text = fieldspec.clean_text(raw, "Цена", max_length=30, required=True)
    text = text.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    text = text.removesuffix("₽").removesuffix("руб.").replace(",", ".")
    if not re.fullmatch(r"\d{1,9}(\.\d{1,2})?", text):
        raise ValidationError(
            "Цена: сумма в рублях, например 12 500,00.", details={"field": "price"}
        )
    rub, _, kop = text.partition(".")
    kopecks = int(rub) * 100 + int((kop + "00")[:2])
    if not 0 < kopecks <= MAX_PRICE_KOPECKS:
        raise ValidationError(
            "Цена должна быть больше нуля.", details={"field": "price"}
        )
    return kopecks


@dataclass(frozen=True)
class ServiceInput:
    name: str
    description: str
    price: str
    vat_rate: str
    unit: str
    fields: str
    is_active: bool
    position: str = "0"


def _service_values(data: ServiceInput) -> dict[str, Any]:
    try:
        vat = int(data.vat_rate)
    except (TypeError, ValueError):
        vat = -1
    if vat not in VAT_RATES:
        raise ValidationError(
            "Ставка НДС: 0, 10 или 20 %.", details={"field": "vat_rate"}
        )
    try:
        position = int(data.position or 0)
    except (TypeError, ValueError):
        position = -1
    if not 0 <= position <= 10_000:
        raise ValidationError(
            "Порядок: целое число от 0 до 10000.", details={"field": "position"}
        )
    return {
        "name": fieldspec.clean_text(
            data.name, "Название", max_length=300, required=True
        ),
        "description": fieldspec.clean_text(
            data.description, "Описание", max_length=5000, multiline=True
        ),
        "price_kopecks": parse_price(data.price),
        "vat_rate": vat,
        "unit": fieldspec.clean_text(
            data.unit, "Единица", max_length=50, required=True
        ),
        "fields": fieldspec.parse_spec(data.fields),
        "is_active": bool(data.is_active),
        "position": position,
    }


def _require_catalogue_admin(actor: Actor) -> None:
    if not may_edit_service_catalogue(actor):
        raise PermissionDeniedError("Каталог услуг ведёт администратор поставщика.")


def save_service(
    session: Session,
    *,
    actor: Actor,
    data: ServiceInput,
    service_id: uuid.UUID | None = None,
) -> Service:
    """Create or change a service of the catalogue (the supplier's administrator).

    :raises PermissionDeniedError: not the administrator.
    :raises ValidationError: a field that does not read.
    """
    _require_catalogue_admin(actor)
    values = _service_values(data)
    if service_id is None:
        service = Service(code=uuid.uuid4().hex[:12], **values)
        session.add(service)
        action = "service.create"
    else:
        service = get_service(session, service_id, active_only=False)
        for key, value in values.items():
            setattr(service, key, value)
        action = "service.update"
    session.flush()
    record(
        session,
        user=actor.user,
        action=action,
        object_type="service",
        object_id=service.id,
        details={
            "name": service.name,
            "price_kopecks": service.price_kopecks,
            "vat_rate": service.vat_rate,
            "active": service.is_active,
        },
        request_info=actor.request_info,
        actor_label=actor.label,
    )
    return service


# -- ordering --------------------------------------------------------------------------


def contracts_for_ordering(session: Session, *, actor: Actor) -> list[Contract]:
    """The contracts the actor may order a service on."""
    return list(
        session.scalars(
            select(Contract)
            .where(
                Contract.id.in_(service_order_contract_ids(actor, ordering=True)),
                Contract.is_active.is_(True),
            )
            .order_by(Contract.number)
        )
    )


def visible_contracts(session: Session, *, actor: Actor) -> list[Contract]:
    """The contracts whose orders the actor sees (the history's filter)."""
    return list(
        session.scalars(
            select(Contract)
            .where(Contract.id.in_(service_order_contract_ids(actor)))
            .order_by(Contract.number)
            .limit(200)
        )
    )


@dataclass(frozen=True)
class OrderInput:
    """What the wizard (or the API) sends."""

    values: Mapping[str, Any]
    quantity: Any = 1
    comment: Any = ""
    contact_name: Any = ""
    contact_phone: Any = ""
    submit_token: str | None = None


class OrderFormError(ValidationError):
    """Field-by-field errors of an order form (``details["fields"]``)."""


def _quantity(raw: Any) -> int:
    if isinstance(raw, bool):
        raw = None
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        raw = int(raw.strip())
    if not isinstance(raw, int) or not 1 <= raw <= MAX_QUANTITY:
        raise ValidationError(
            f"Количество: целое число от 1 до {MAX_QUANTITY}.",
            details={"field": "quantity"},
        )
    return raw


def _check_order(
    service: Service, data: OrderInput
) -> tuple[list[dict[str, Any]], int, dict[str, str]]:
    values, errors = fieldspec.check_values(service.fields or [], data.values)
    texts: dict[str, str] = {}
    for key, label, raw, limit, multiline in (
        ("comment", "Комментарий", data.comment, 2000, True),
        ("contact_name", "Контактное лицо", data.contact_name, 200, False),
        ("contact_phone", "Телефон", data.contact_phone, 50, False),
    ):
        try:
            texts[key] = fieldspec.clean_text(
                raw, label, max_length=limit, multiline=multiline
            )
        except ValidationError as exc:
            errors[key] = exc.message
    quantity = 1
    try:
        quantity = _quantity(data.quantity)
    except ValidationError as exc:
        errors["quantity"] = exc.message
    if texts.get("contact_phone") and not re.fullmatch(
        r"[0-9+()\-\s]{5,50}", texts["contact_phone"]
    ):
        errors["contact_phone"] = "Телефон: цифры, пробелы, «+», «-» и скобки."
    if errors:
        first = next(iter(errors.values()))
        raise OrderFormError(
            first if len(errors) == 1 else "Проверьте поля заказа: " + first,
            details={"fields": errors},
        )
    return values, quantity, texts


def _lock_counter(session: Session, year: int) -> ServiceOrderCounter:
    """The year's counter row, locked until the transaction ends (created at
    the first order of the year)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            pg_insert(ServiceOrderCounter)
            .values(year=year, last=0)
            .on_conflict_do_nothing()
        )
        return session.execute(
            select(ServiceOrderCounter)
            .where(ServiceOrderCounter.year == year)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()

    # SQLite has no row locks: a write takes the database's write lock for
    # the transaction, so two orders at once run one after the other.
    session.execute(
        update(ServiceOrderCounter)
        .where(ServiceOrderCounter.year == year)
        .values(last=ServiceOrderCounter.last)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sqlite_insert(ServiceOrderCounter)
        .values(year=year, last=0)
        .on_conflict_do_nothing()
    )
    return session.execute(
        select(ServiceOrderCounter)
        .where(ServiceOrderCounter.year == year)
        .execution_options(populate_existing=True)
    ).scalar_one()


def _parties(
    session: Session, contract: Contract, supplier_name: str
) -> tuple[pdf.Party, pdf.Party]:
    org = supplier_organisation(session)
    supplier = (
        pdf.Party(org.name or supplier_name, org.inn, org.kpp or "", org.address or "")
        if org is not None
        else pdf.Party(supplier_name)
    )
    c = contract.organisation
    return supplier, pdf.Party(c.name, c.inn, c.kpp or "", c.address or "")


def _paper(
    session: Session, order: ServiceOrder, *, supplier_name: str, date: dt.date
) -> pdf.OrderPaper:
    supplier, customer = _parties(session, order.contract, supplier_name)
    contact = ", ".join(x for x in (order.contact_name, order.contact_phone) if x)
    return pdf.OrderPaper(
        number=order.number,
        date=date,
        supplier=supplier,
        customer=customer,
        contract_number=order.contract.number,
        contract_date=order.contract.signed_on,
        service_name=order.service_name,
        unit=order.unit,
        quantity=order.quantity,
        price_kopecks=order.price_kopecks,
        total_kopecks=order.total_kopecks,
        vat_rate=order.vat_rate,
        vat_kopecks=order.vat_kopecks,
        fields=[(f["label"], fieldspec.display_value(f)) for f in order.field_values],
        comment=order.comment,
        contact=contact,
    )


def _remember_blobs(session: Session, storage: BlobStorage, doc: Document) -> None:
    # A rollback after the document was registered must not leave its files
    # behind as orphans.
    for f in doc.files:
        blobs_of_transaction(session, storage, f.blob_key)


def place_order(
    session: Session,
    *,
    actor: Actor,
    runtime: Runtime,
    service_id: uuid.UUID,
    contract_id: uuid.UUID,
    data: OrderInput,
    supplier_name: str = "АО «Энергосбыт»",
    now: dt.datetime | None = None,
) -> tuple[ServiceOrder, bool]:
    """Order a service on a contract: the order gets its number, its offer is
    registered in the flow to be signed by the customer, then the supplier.

    A repeated submission of the same form (``submit_token``) returns the
    first order; the second value is ``False`` then.

    :raises NotFoundError: no such active service, or a contract the actor
        cannot see.
    :raises PermissionDeniedError: the actor may not order on the contract.
    :raises OrderFormError: the fields, the quantity or the contact do not read.
    """
    service = get_service(session, service_id)
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFoundError("Договор не найден.")
    require_service_order(session, actor, contract.id, ordering=True)
    token = (
        data.submit_token
        if data.submit_token and len(data.submit_token) <= 64
        else None
    )
    values, quantity, texts = _check_order(service, data)
    now = now or utcnow()
    counter = _lock_counter(session, now.year)
    if token:
        existing = session.scalar(
            select(ServiceOrder).where(
                ServiceOrder.contract_id == contract.id,
                ServiceOrder.submit_token == token,
            )
        )
        if existing is not None:
            return existing, False
    counter.last += 1
    total = service.price_kopecks * quantity
    order = ServiceOrder(
        number=order_number(now.year, counter.last),
        year=now.year,
        seq=counter.last,
        service_id=service.id,
        contract_id=contract.id,
        contract=contract,
        service_name=service.name,
        unit=service.unit,
        price_kopecks=service.price_kopecks,
        vat_rate=service.vat_rate,
        quantity=quantity,
        total_kopecks=total,
        field_values=values,
        comment=texts["comment"],
        contact_name=texts["contact_name"],
        contact_phone=texts["contact_phone"],
        status=OrderStatus.ORDERED,
        created_by_id=actor.user_id,
        submit_token=token,
    )
    session.add(order)
    session.flush()

    body = pdf.render_offer(
        _paper(session, order, supplier_name=supplier_name, date=now.date())
    )
    doc = register_document(
        session,
        actor=actor,
        runtime=runtime,
        contract_id=contract.id,
        doc_type=DocType.SERVICE_OFFER,
        number=order.number,
        doc_date=now.date(),
        title=f"Оферта на услугу «{service.name}»"[:500],
        main_file=Upload.from_bytes(
            f"Оферта {order.number}.pdf", body, "application/pdf"
        ),
        route=("customer", "supplier"),
        source="service_orders",
        comment=f"Заказ услуги № {order.number}: {quantity} × {service.unit}, "
        f"{pdf.money(total)} ₽ с НДС.",
    )
    _remember_blobs(session, runtime.storage, doc)
    order.offer_document_id = doc.id
    _change(
        session,
        actor,
        order,
        OrderStatus.ORDERED,
        "service_order.create",
        note="Заказ оформлен, оферта направлена на подпись.",
        base_url=runtime.base_url,
        notify_staff=True,
    )
    return order, True


# -- reading ---------------------------------------------------------------------------


def get_order(
    session: Session, *, actor: Actor, order_id: uuid.UUID, lock: bool = False
) -> ServiceOrder:
    """An order the actor may see; 404 otherwise."""
    if lock:
        if session.get_bind().dialect.name != "postgresql":
            session.execute(
                update(ServiceOrder)
                .where(ServiceOrder.id == order_id)
                .values(version=ServiceOrder.version)
                .execution_options(synchronize_session=False)
            )
        stmt = select(ServiceOrder).where(ServiceOrder.id == order_id)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        order = session.execute(
            stmt.execution_options(populate_existing=True)
        ).scalar_one_or_none()
    else:
        order = session.get(ServiceOrder, order_id)
    if order is None or not contract_rights(session, actor, order.contract_id).view:
        raise NotFoundError(ORDER_NOT_FOUND)
    return order


@dataclass(frozen=True)
class OrderFilter:
    contract_id: uuid.UUID | None = None
    status: OrderStatus | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def list_orders(
    session: Session,
    *,
    actor: Actor,
    flt: OrderFilter = OrderFilter(),
    limit: int = 100,
    offset: int = 0,
) -> list[ServiceOrder]:
    """The orders the actor sees, newest first, filtered."""
    stmt = select(ServiceOrder).where(
        ServiceOrder.contract_id.in_(service_order_contract_ids(actor))
    )
    if flt.contract_id is not None:
        stmt = stmt.where(ServiceOrder.contract_id == flt.contract_id)
    if flt.status is not None:
        stmt = stmt.where(ServiceOrder.status == flt.status)
    if flt.date_from is not None:
        stmt = stmt.where(
            ServiceOrder.created_at
            >= dt.datetime.combine(flt.date_from, dt.time(), tzinfo=dt.UTC)
        )
    if flt.date_to is not None:
        stmt = stmt.where(
            ServiceOrder.created_at
            < dt.datetime.combine(
                flt.date_to + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC
            )
        )
    stmt = stmt.order_by(ServiceOrder.created_at.desc(), ServiceOrder.seq.desc())
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def list_orders_for_contract(
    session: Session, *, contract_id: uuid.UUID, user: Any, limit: int = 10
) -> list[ServiceOrder]:
    """The contract card's block «Заказанные услуги» (empty without the view right)."""
    actor = Actor.for_user(user)
    if not contract_rights(session, actor, contract_id).view:
        return []
    return list_orders(
        session, actor=actor, flt=OrderFilter(contract_id=contract_id), limit=limit
    )


def order_documents(session: Session, order: ServiceOrder) -> list[Document]:
    ids = [i for i in (order.offer_document_id, order.invoice_document_id) if i]
    if not ids:
        return []
    docs = {
        d.id: d for d in session.scalars(select(Document).where(Document.id.in_(ids)))
    }
    return [docs[i] for i in ids if i in docs]


def may_cancel(session: Session, actor: Actor, order: ServiceOrder) -> bool:
    try:
        require_service_order(session, actor, order.contract_id, ordering=True)
    except (NotFoundError, PermissionDeniedError):
        return False
    return _cancel_blocker(session, order) is None


def _cancel_blocker(session: Session, order: ServiceOrder) -> str | None:
    if order.status != OrderStatus.ORDERED:
        return f"Заказ в состоянии «{order.status_title}»: отменить его нельзя."
    offer = (
        session.get(Document, order.offer_document_id)
        if order.offer_document_id
        else None
    )
    if (
        offer is not None
        and offer.status not in (DocStatus.DELETED, DocStatus.REFUSED)
        and offer.signatures
    ):
        return (
            "Оферта уже подписана: отменить заказ можно только по согласованию с "
            "поставщиком."
        )
    return None


# -- transitions -----------------------------------------------------------------------


def _recipients(session: Session, order: ServiceOrder, *, staff: bool) -> list[Any]:
    users = users_with_right(session, order.contract_id, Right.VIEW)
    return users + supplier_staff(session) if staff else users


def _change(
    session: Session,
    actor: Actor,
    order: ServiceOrder,
    status: OrderStatus,
    action: str,
    *,
    note: str = "",
    base_url: str = "",
    notify_staff: bool = False,
    **details: Any,
) -> None:
    """Set the status, add the history line, audit, publish."""
    order.status = status
    session.add(
        ServiceOrderEvent(
            order_id=order.id,
            status=status,
            note=note[:2000],
            actor_label=actor.label[:300],
        )
    )
    session.flush()
    record(
        session,
        user=actor.user,
        action=action,
        object_type="service_order",
        object_id=order.id,
        details={"number": order.number, "status": status.value, **details},
        request_info=actor.request_info,
        actor_label=actor.label,
    )
    context = {
        "order_id": str(order.id),
        "order_number": order.number,
        "service": order.service_name,
        "contract_number": order.contract.number,
        "status": status.value,
        "status_title": status_title(status),
        "url": f"{base_url}/services/orders/{order.id}",
    }
    publish(
        session,
        kind=NOTIFY_KIND,
        users=_recipients(session, order, staff=notify_staff),
        context=context,
        title=f"Заказ услуги № {order.number}: {status_title(status).lower()}",
        body=note,
        link=f"/services/orders/{order.id}",
        organisation_id=order.contract.organisation_id,
        payload=context,
    )


def cancel_order(
    session: Session, *, actor: Actor, order_id: uuid.UUID, runtime: Runtime
) -> ServiceOrder:
    """The customer cancels an order whose offer nobody has signed; the unsigned
    offer is deleted from the flow.

    :raises PermissionDeniedError: the actor may not order on the contract.
    :raises InvalidTransitionError: the offer is signed, or the order is past it.
    """
    order = get_order(session, actor=actor, order_id=order_id, lock=True)
    require_service_order(session, actor, order.contract_id, ordering=True)
    if order.status == OrderStatus.CANCELLED:
        return order
    blocker = _cancel_blocker(session, order)
    if blocker is not None:
        raise InvalidTransitionError(blocker, code="order_state_conflict")
    offer = (
        session.get(Document, order.offer_document_id)
        if order.offer_document_id
        else None
    )
    if offer is not None and offer.status not in (DocStatus.DELETED, DocStatus.REFUSED):
        delete_document(session, actor=actor, document_id=offer.id)
    order.cancelled_at = utcnow()
    _change(
        session,
        actor,
        order,
        OrderStatus.CANCELLED,
        "service_order.cancel",
        note="Заказ отменён клиентом.",
        base_url=runtime.base_url,
        notify_staff=True,
    )
    return order


def issue_invoice(
    session: Session,
    *,
    order: ServiceOrder,
    runtime: Runtime,
    supplier_name: str = "АО «Энергосбыт»",
    now: dt.datetime | None = None,
) -> Document | None:
    """Register the invoice of an order whose offer is signed by both, and set
    «ожидает оплаты». Idempotent: an order that has its invoice is left alone."""
    if order.invoice_document_id is not None or order.status != OrderStatus.ORDERED:
        return None

    system = Actor.system("система (заказ услуг)")
    now = now or utcnow()
    invoice_number = f"{order.number}-С"
    body = pdf.render_invoice(
        _paper(session, order, supplier_name=supplier_name, date=now.date()),
        invoice_number=invoice_number,
    )
    doc = register_document(
        session,
        actor=system,
        runtime=runtime,
        contract_id=order.contract_id,
        doc_type=DocType.INVOICE,
        number=invoice_number,
        doc_date=now.date(),
        title=f"Счёт на оплату услуги «{order.service_name}»"[:500],
        main_file=Upload.from_bytes(
            f"Счёт {invoice_number}.pdf", body, "application/pdf"
        ),
        route=("supplier",),
        source="service_orders",
        comment=f"Заказ услуги № {order.number}; к оплате {pdf.money(order.total_kopecks)} ₽.",
    )
    _remember_blobs(session, runtime.storage, doc)
    order.invoice_document_id = doc.id
    _change(
        session,
        system,
        order,
        OrderStatus.AWAITING_PAYMENT,
        "service_order.invoice",
        note=f"Оферта подписана обеими сторонами, выставлен счёт № {invoice_number}.",
        base_url=runtime.base_url,
        invoice=invoice_number,
    )
    return doc


def order_of_offer(session: Session, document_id: uuid.UUID) -> ServiceOrder | None:
    return session.scalar(
        select(ServiceOrder).where(ServiceOrder.offer_document_id == document_id)
    )


def on_offer_signature(
    session: Session,
    doc: Document,
    *,
    runtime: Runtime,
    supplier_name: str = "АО «Энергосбыт»",
) -> ServiceOrder | None:
    """After a signature of an offer: once the route is complete, the invoice."""
    order = order_of_offer(session, doc.id)
    if order is None or doc.status != DocStatus.SIGNED:
        return order
    issue_invoice(
        session,
        order=order,
        runtime=runtime,
        supplier_name=supplier_name,
    )
    return order


def _payment_reference(raw: Any) -> str:
    text = fieldspec.clean_text(
        raw, "Номер платёжного документа", max_length=100, required=True
    )
    return text


def mark_paid(
    session: Session,
    *,
    actor: Actor,
    order_id: uuid.UUID,
    reference: Any,
    runtime: Runtime,
) -> ServiceOrder:
    """A clerk marks the order paid, naming the payment order.

    :raises PermissionDeniedError: not the supplier.
    :raises InvalidTransitionError: the order does not wait for payment.
    """
    order = get_order(session, actor=actor, order_id=order_id, lock=True)
    if not may_process_service_orders(actor):
        raise PermissionDeniedError("Оплату отмечает сотрудник поставщика.")
    ref = _payment_reference(reference)
    if order.status == OrderStatus.PAID and order.payment_reference == ref:
        return order
    if order.status != OrderStatus.AWAITING_PAYMENT:
        raise InvalidTransitionError(
            f"Заказ в состоянии «{order.status_title}»: отметить оплату нельзя.",
            code="order_state_conflict",
        )
    order.paid_at = utcnow()
    order.paid_kopecks = order.total_kopecks
    order.payment_reference = ref
    _change(
        session,
        actor,
        order,
        OrderStatus.PAID,
        "service_order.paid",
        note=f"Оплата отмечена: платёжный документ № {ref}.",
        base_url=runtime.base_url,
        reference=ref,
    )
    return order


def on_payment(
    session: Session,
    reference: str,
    amount_kopecks: int,
    payment_id: str,
) -> None:
    """The payments module's confirmed payment of kind ``service_order``
    (``reference`` is the order's id): the order becomes «оплачен» when the
    amount covers its total. Idempotent; runs in the payment's transaction."""
    try:
        order_id = uuid.UUID(str(reference))
    except ValueError:
        log.warning("payment %s names no service order (%r)", payment_id, reference)
        return
    system = Actor.system("система (онлайн-оплата)")
    try:
        order = get_order(session, actor=system, order_id=order_id, lock=True)
    except NotFoundError:
        log.warning("payment %s: service order %s not found", payment_id, order_id)
        return
    if order.status in (OrderStatus.PAID, OrderStatus.DONE):
        return
    if order.status != OrderStatus.AWAITING_PAYMENT:
        log.warning(
            "payment %s for order %s in state %s: left as it is",
            payment_id,
            order.number,
            order.status.value,
        )
        return
    if not isinstance(amount_kopecks, int) or amount_kopecks < order.total_kopecks:
        log.warning(
            "payment %s of %s kopecks does not cover order %s (%s)",
            payment_id,
            amount_kopecks,
            order.number,
            order.total_kopecks,
        )
        return
    order.paid_at = utcnow()
    order.paid_kopecks = amount_kopecks
    order.payment_reference = str(payment_id)[:100]
    _change(
        session,
        system,
        order,
        OrderStatus.PAID,
        "service_order.paid",
        note="Оплачено онлайн.",
        payment_id=str(payment_id),
        amount_kopecks=amount_kopecks,
    )


def payment_amount(
    session: Session, actor: Actor, reference: str
) -> tuple[uuid.UUID, int, str]:
    """For the payments module's «Оплатить онлайн»: the contract, the amount
    and the purpose of an order waiting for payment (the amount comes from the
    order, never from the browser).

    :raises NotFoundError: no such order visible to the actor.
    :raises InvalidTransitionError: the order does not wait for payment.
    """
    try:
        order_id = uuid.UUID(str(reference))
    except ValueError:
        raise NotFoundError(ORDER_NOT_FOUND) from None
    order = get_order(session, actor=actor, order_id=order_id)
    if order.status != OrderStatus.AWAITING_PAYMENT:
        raise InvalidTransitionError(
            f"Заказ № {order.number} в состоянии «{order.status_title}»: оплата не "
            "ожидается.",
            code="order_state_conflict",
        )
    return (
        order.contract_id,
        order.total_kopecks,
        f"Оплата заказа услуги № {order.number} по договору № {order.contract.number}",
    )


def mark_done(
    session: Session, *, actor: Actor, order_id: uuid.UUID, runtime: Runtime
) -> ServiceOrder:
    """A clerk marks a paid order done."""
    order = get_order(session, actor=actor, order_id=order_id, lock=True)
    if not may_process_service_orders(actor):
        raise PermissionDeniedError("Выполнение отмечает сотрудник поставщика.")
    if order.status == OrderStatus.DONE:
        return order
    if order.status != OrderStatus.PAID:
        raise InvalidTransitionError(
            f"Заказ в состоянии «{order.status_title}»: отметить выполнение можно "
            "только у оплаченного заказа.",
            code="order_state_conflict",
        )
    order.done_at = utcnow()
    _change(
        session,
        actor,
        order,
        OrderStatus.DONE,
        "service_order.done",
        note="Услуга оказана.",
        base_url=runtime.base_url,
    )
    return order


def retry_invoice(
    session: Session,
    *,
    actor: Actor,
    order_id: uuid.UUID,
    runtime: Runtime,
    supplier_name: str = "АО «Энергосбыт»",
) -> ServiceOrder:
    """A clerk issues the invoice of an order whose offer is signed by both when
    the automatic issue failed (storage down, say)."""
    order = get_order(session, actor=actor, order_id=order_id, lock=True)
    if not may_process_service_orders(actor):
        raise PermissionDeniedError("Счёт выставляет сотрудник поставщика.")
    offer = (
        session.get(Document, order.offer_document_id)
        if order.offer_document_id
        else None
    )
    if offer is None or offer.status != DocStatus.SIGNED or order.invoice_document_id:
        raise InvalidTransitionError(
            "Счёт выставляется после подписания оферты обеими сторонами, один раз.",
            code="order_state_conflict",
        )
    issue_invoice(
        session,
        order=order,
        runtime=runtime,
        supplier_name=supplier_name,
    )
    return order


def as_json(order: ServiceOrder, documents: Sequence[Document] = ()) -> dict[str, Any]:
    """The API's view of an order."""
    return {
        "id": str(order.id),
        "number": order.number,
        "service_id": str(order.service_id),
        "service": order.service_name,
        "contract": order.contract.number,
        "contract_id": str(order.contract_id),
        "status": order.status.value,
        "status_title": order.status_title,
        "quantity": order.quantity,
        "unit": order.unit,
        "price_kopecks": order.price_kopecks,
        "total_kopecks": order.total_kopecks,
        "vat_rate": order.vat_rate,
        "vat_kopecks": order.vat_kopecks,
        "fields": [
            {"key": f["key"], "label": f["label"], "value": f["value"]}
            for f in order.field_values
        ],
        "comment": order.comment,
        "offer_document_id": str(order.offer_document_id)
        if order.offer_document_id
        else None,
        "invoice_document_id": (
            str(order.invoice_document_id) if order.invoice_document_id else None
        ),
        "payment_reference": order.payment_reference,
        "created_at": order.created_at.isoformat() if order.created_at else None,
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "done_at": order.done_at.isoformat() if order.done_at else None,
        "documents": [
            {
                "id": str(d.id),
                "type": d.doc_type.value,
                "number": d.number,
                "status": d.status.value,
            }
            for d in documents
        ],
    }


def service_json(service: Service) -> dict[str, Any]:
    vat = vat_of(service.price_kopecks, service.vat_rate)
    return {
        "id": str(service.id),
        "name": service.name,
        "description": service.description,
        "unit": service.unit,
        "price_kopecks": service.price_kopecks,
        "vat_rate": service.vat_rate,
        "vat_kopecks": vat,
        "price_without_vat_kopecks": service.price_kopecks - vat,
        "fields": [
            {
                "key": f["key"],
                "label": f["label"],
                "type": f["type"],
                "required": bool(f.get("required")),
                "choices": f.get("choices", []),
            }
            for f in (service.fields or [])
        ],
    }
