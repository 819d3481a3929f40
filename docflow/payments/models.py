"""Online payments and the embedded fake acquirer's own records."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docflow.contracts.models import Contract
from docflow.db import Base, TimestampMixin, created_at, uuid_pk


class OnlinePaymentStatus(enum.StrEnum):
    CREATED = "created"  # our row exists; the acquirer has not been asked yet
    PENDING = "pending"  # the acquirer's payment page is issued
    PAID = "paid"  # CONFIRMED: recorded in the contract's payments
    REJECTED = "rejected"  # REJECTED / CANCELED / expired
    ERROR = "error"  # the acquirer refused Init or could not be reached


STATUS_TITLES = {
    OnlinePaymentStatus.CREATED: "создан",
    OnlinePaymentStatus.PENDING: "ожидает оплаты",
    OnlinePaymentStatus.PAID: "оплачен",
    OnlinePaymentStatus.REJECTED: "отклонён",
    OnlinePaymentStatus.ERROR: "ошибка",
}


class OnlinePayment(TimestampMixin, Base):
    """One attempt to pay online. ``id`` is the ``OrderId`` sent to the acquirer."""

    __tablename__ = "online_payments"
    __table_args__ = (
        Index("ix_online_payments_contract_id_created_at", "contract_id", "created_at"),
    )

    id: Mapped[uuid_pk]
    # The hidden token of the form that asked for it: a double submit finds
    # the row the first submit made.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    payer_email: Mapped[str | None] = mapped_column(String(254))
    amount_kopecks: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(500))
    # Another module's thing being paid for (kind "service_order" and its id).
    kind: Mapped[str | None] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(100))
    return_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[OnlinePaymentStatus] = mapped_column(
        default=OnlinePaymentStatus.CREATED
    )
    provider: Mapped[str] = mapped_column(String(20))
    provider_payment_id: Mapped[str | None] = mapped_column(String(50), index=True)
    provider_status: Mapped[str | None] = mapped_column(String(40))
    payment_url: Mapped[str | None] = mapped_column(String(1000))
    error_message: Mapped[str | None] = mapped_column(String(500))
    paid_at: Mapped[dt.datetime | None]
    # The row of the contract's payment history this payment made: unique, so
    # two notifications at once cannot record it twice.
    contract_payment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payments.id", ondelete="SET NULL"), unique=True
    )

    contract: Mapped[Contract] = relationship()

    @property
    def amount(self) -> Decimal:
        return Decimal(self.amount_kopecks) / 100

    @property
    def status_title(self) -> str:
        return STATUS_TITLES[self.status]

    @property
    def is_final(self) -> bool:
        return self.status in (OnlinePaymentStatus.PAID, OnlinePaymentStatus.REJECTED)


class FakeAcquiringPayment(Base):
    """The embedded fake acquirer's view of a payment (what the bank keeps)."""

    __tablename__ = "fake_acquiring_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The payment page's address is unguessable, as a bank's is: the id is
    # a counter (PaymentId), the page carries a random token.
    page_token: Mapped[str] = mapped_column(String(40), unique=True)
    terminal_key: Mapped[str] = mapped_column(String(50))
    order_id: Mapped[str] = mapped_column(String(50), index=True)
    amount_kopecks: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(250))
    success_url: Mapped[str] = mapped_column(String(1000))
    fail_url: Mapped[str] = mapped_column(String(1000))
    notification_url: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(40), default="NEW")
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime | None]
