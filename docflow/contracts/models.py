"""Organisations, their contracts with the supplier, and users' rights on them."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docflow.db import Base, TimestampMixin, uuid_pk


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
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    can_view: Mapped[bool] = mapped_column(default=True)
    can_submit_readings: Mapped[bool] = mapped_column(default=False)
    can_sign: Mapped[bool] = mapped_column(default=False)
    can_manage: Mapped[bool] = mapped_column(default=False)

    contract: Mapped[Contract] = relationship()
