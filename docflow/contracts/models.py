"""Organisations, their contracts with the supplier, and users' rights on them."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docflow.db import Base, TimestampMixin, created_at, utcnow, uuid_pk

if TYPE_CHECKING:
    from docflow.accounts.models import User


class Organisation(TimestampMixin, Base):
    __tablename__ = "organisations"

    id: Mapped[uuid_pk]
    name: Mapped[str] = mapped_column(String(300))
    inn: Mapped[str] = mapped_column(String(12), unique=True)
    kpp: Mapped[str | None] = mapped_column(String(9))
    ogrn: Mapped[str | None] = mapped_column(String(15))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(500))
    is_supplier: Mapped[bool] = mapped_column(default=False)

    contracts: Mapped[list[Contract]] = relationship(back_populates="organisation")


class Contract(TimestampMixin, Base):
    """A supply contract as the supplier's records hold it."""

    __tablename__ = "contracts"

    id: Mapped[uuid_pk]
    number: Mapped[str] = mapped_column(String(50), unique=True)
    signed_on: Mapped[dt.date | None]
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    # An agreement on electronic document flow (соглашение об ЭДО) lets acts be
    # signed with e-signatures only; printed acts then say so.
    esign_agreement: Mapped[bool] = mapped_column(default=True)
    esign_agreement_ref: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)

    organisation: Mapped[Organisation] = relationship(back_populates="contracts")


class ContractAccess(TimestampMixin, Base):
    """What one user may do with one contract."""

    __tablename__ = "contract_access"
    __table_args__ = (UniqueConstraint("user_id", "contract_id"),)

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE")
    )
    can_view: Mapped[bool] = mapped_column(default=True)
    can_submit_readings: Mapped[bool] = mapped_column(default=False)
    can_sign: Mapped[bool] = mapped_column(default=False)
    can_manage: Mapped[bool] = mapped_column(default=False)

    contract: Mapped[Contract] = relationship()
    user: Mapped[User] = relationship()

    @property
    def rights(self) -> tuple[str, ...]:
        """The names of the rights held, in the order of :data:`RIGHTS`."""
        return tuple(name for name, _label in RIGHTS if getattr(self, name))


# Every right a user may hold on a contract, with its Russian label.
RIGHTS: tuple[tuple[str, str], ...] = (
    ("can_view", "просмотр"),
    ("can_submit_readings", "передача показаний"),
    ("can_sign", "подписание документов"),
    ("can_manage", "управление доступом"),
)


class ContractContacts(Base):
    """Who to call about one contract: the supplier loads and edits them."""

    __tablename__ = "contract_contacts"

    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True
    )
    head_name: Mapped[str | None] = mapped_column(String(200))
    branch_address: Mapped[str | None] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(50))
    fax: Mapped[str | None] = mapped_column(String(50))
    curator_name: Mapped[str | None] = mapped_column(String(200))
    curator_phone: Mapped[str | None] = mapped_column(String(50))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True),
        default=utcnow,
        onupdate=utcnow,
        server_default=func.now(),
    )

    @property
    def is_empty(self) -> bool:
        return not any(
            (
                self.head_name,
                self.branch_address,
                self.phone,
                self.fax,
                self.curator_name,
                self.curator_phone,
            )
        )


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"


class ContractInvitation(Base):
    """An administrator's invitation of a person (by e-mail) to a contract.

    The link in the e-mail carries a one-time token (``AccountToken``, purpose
    ``invitation``) whose payload names this row.
    """

    __tablename__ = "contract_invitations"
    __table_args__ = (Index("ix_contract_invitations_email", "email"),)

    id: Mapped[uuid_pk]
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    can_view: Mapped[bool] = mapped_column(default=True)
    can_submit_readings: Mapped[bool] = mapped_column(default=False)
    can_sign: Mapped[bool] = mapped_column(default=False)
    can_manage: Mapped[bool] = mapped_column(default=False)
    status: Mapped[InvitationStatus] = mapped_column(default=InvitationStatus.PENDING)
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime]
    accepted_at: Mapped[dt.datetime | None]
    accepted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    contract: Mapped[Contract] = relationship()

    @property
    def rights(self) -> tuple[str, ...]:
        return tuple(name for name, _label in RIGHTS if getattr(self, name))


class AccessRequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class ContractAccessRequest(Base):
    """A user who proved the contract's details (e-mail, ИНН, number) asks its
    administrator for access, because the contract is administered already."""

    __tablename__ = "contract_access_requests"

    id: Mapped[uuid_pk]
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[AccessRequestStatus] = mapped_column(
        default=AccessRequestStatus.PENDING
    )
    created_at: Mapped[created_at]
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    contract: Mapped[Contract] = relationship()


class Payment(Base):
    """A payment received on a contract, as the supplier's billing reports it."""

    __tablename__ = "payments"
    __table_args__ = (
        Index("ix_payments_contract_id_paid_on", "contract_id", "paid_on"),
    )

    id: Mapped[uuid_pk]
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE")
    )
    paid_on: Mapped[dt.date]
    # Kopecks: exact on every database (SQLite has no decimal type).
    amount_kopecks: Mapped[int] = mapped_column(BigInteger)
    document_number: Mapped[str | None] = mapped_column(String(50))
    purpose: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[created_at]

    @property
    def amount(self) -> Decimal:
        return Decimal(self.amount_kopecks) / 100


class RestrictionEntry(Base):
    """One line of a contract's schedule of consumption restrictions
    (график ограничения режима потребления электрической энергии)."""

    __tablename__ = "restriction_entries"
    __table_args__ = (
        Index(
            "ix_restriction_entries_contract_id_date_from", "contract_id", "date_from"
        ),
    )

    id: Mapped[uuid_pk]
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE")
    )
    date_from: Mapped[dt.date]
    date_to: Mapped[dt.date]
    time_from: Mapped[str | None] = mapped_column(String(5))
    time_to: Mapped[str | None] = mapped_column(String(5))
    # The power the consumer must reduce to (kW); None when fully disconnected.
    limit_kw: Mapped[int | None]
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[created_at]
