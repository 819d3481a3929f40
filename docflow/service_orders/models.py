"""The catalogue of commercial services, the orders, their status history and
the yearly counter of order numbers («ЗУ-2026-000045»).

Money is kept in kopecks (integers); the price of a service includes VAT at
its rate, as Russian price lists show it; the VAT share is computed from it.
An order keeps a copy of what was ordered (name, unit, price, rate, the
fields' labels and values), so a later change of the catalogue does not
rewrite an order or its signed offer.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docflow.contracts.models import Contract
from docflow.db import Base, TimestampMixin, created_at, uuid_pk


class OrderStatus(enum.StrEnum):
    ORDERED = "ordered"  # оформлен: the offer waits for signatures
    AWAITING_PAYMENT = "awaiting_payment"  # the offer is signed, the invoice issued
    PAID = "paid"
    DONE = "done"
    CANCELLED = "cancelled"


ORDER_STATUS_TITLES = {
    OrderStatus.ORDERED: "Оформлен",
    OrderStatus.AWAITING_PAYMENT: "Ожидает оплаты",
    OrderStatus.PAID: "Оплачен",
    OrderStatus.DONE: "Выполнен",
    OrderStatus.CANCELLED: "Отменён",
}


class Service(TimestampMixin, Base):
    """A service of the supplier's catalogue."""

    __tablename__ = "services"

    id: Mapped[uuid_pk]
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    #: The price of one unit with VAT, in kopecks.
    price_kopecks: Mapped[int] = mapped_column(BigInteger)
    #: VAT, per cent (20 by default; 0 for a service exempt from VAT).
    vat_rate: Mapped[int] = mapped_column(Integer, default=20)
    unit: Mapped[str] = mapped_column(String(50), default="услуга")
    #: The fields an order needs: ``[{"key", "label", "type", "required",
    #: "choices"}]``, type one of text / number / date / choice.
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)


class ServiceOrder(TimestampMixin, Base):
    """A customer's order of a service on a contract."""

    __tablename__ = "service_orders"
    __table_args__ = (
        UniqueConstraint("year", "seq"),
        UniqueConstraint("contract_id", "submit_token"),
    )

    id: Mapped[uuid_pk]
    number: Mapped[str] = mapped_column(String(30), unique=True)
    year: Mapped[int]
    seq: Mapped[int]
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"), index=True)
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    service_name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(50))
    price_kopecks: Mapped[int] = mapped_column(BigInteger)
    vat_rate: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    total_kopecks: Mapped[int] = mapped_column(BigInteger)
    #: ``[{"key", "label", "type", "value"}]`` in the catalogue's order.
    field_values: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(50), default="")
    status: Mapped[OrderStatus] = mapped_column(default=OrderStatus.ORDERED, index=True)
    offer_document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )
    invoice_document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )
    paid_at: Mapped[dt.datetime | None]
    paid_kopecks: Mapped[int | None] = mapped_column(BigInteger)
    #: The payment order's number (a clerk's mark) or the payment's id.
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    done_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    #: The wizard's one-time token: a second submission of the same form
    #: (a double click, a reload) returns the first order.
    submit_token: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=1)

    contract: Mapped[Contract] = relationship()
    service: Mapped[Service] = relationship()
    events: Mapped[list[ServiceOrderEvent]] = relationship(
        back_populates="order", order_by="ServiceOrderEvent.created_at"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's API

    @property
    def status_title(self) -> str:
        return ORDER_STATUS_TITLES[self.status]

    @property
    def vat_kopecks(self) -> int:
        return vat_of(self.total_kopecks, self.vat_rate)

    @property
    def net_kopecks(self) -> int:
        return self.total_kopecks - self.vat_kopecks


class ServiceOrderEvent(Base):
    """A line of an order's status history."""

    __tablename__ = "service_order_events"

    id: Mapped[uuid_pk]
    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_orders.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[OrderStatus]
    note: Mapped[str] = mapped_column(Text, default="")
    actor_label: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[created_at]

    order: Mapped[ServiceOrder] = relationship(back_populates="events")

    @property
    def status_title(self) -> str:
        return ORDER_STATUS_TITLES[self.status]


class ServiceOrderCounter(Base):
    """The last order number given in a year: incremented under the row's lock,
    so two orders at once get two numbers."""

    __tablename__ = "service_order_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


def vat_of(total_kopecks: int, rate: int) -> int:
    """The VAT share of a price that includes it: total × rate / (100 + rate),
    rounded half up to a kopeck."""
    if rate <= 0:
        return 0
    return (total_kopecks * rate * 2 + (100 + rate)) // ((100 + rate) * 2)
