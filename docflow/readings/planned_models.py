"""ППП — заявка на плановое почасовое потребление: the customer's planned
consumption of a contract for one day, 24 hourly values in kWh.

Granularity: one request per *contract and day*. The cabinet's manual
(«Работа с заявкой на плановое почасовое потребление») has the customer choose
only a date in the window of the contract — no object or metering point — so
the plan is the contract's total per hour.

The request row holds the current values and status; every submission («Передать
данные») also writes a :class:`PlannedVersion`, so a re-submission before the
deadline replaces the values and keeps what was filed before. «Просрочена» is
not stored: it is a request never submitted whose deadline has passed (see
:mod:`docflow.readings.planned_services`).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docflow.contracts.models import Contract
from docflow.db import Base, TimestampMixin, created_at, uuid_pk


class PlannedStatus(enum.StrEnum):
    DRAFT = "draft"  # черновик
    SUBMITTED = "submitted"  # подана
    ACCEPTED = "accepted"  # принята поставщиком


class PlannedRequest(TimestampMixin, Base):
    """The request of a contract for a day: the current 24 values (strings
    of decimals, kWh, hour 0 is 00:00–01:00 Moscow time)."""

    __tablename__ = "planned_requests"
    __table_args__ = (
        UniqueConstraint("contract_id", "day"),
        Index("ix_planned_requests_day_status", "day", "status"),
    )

    id: Mapped[uuid_pk]
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE")
    )
    day: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(20), default=PlannedStatus.DRAFT.value)
    hours: Mapped[list[Any]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(default=0)  # the newest submitted version
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    submitted_at: Mapped[dt.datetime | None]
    submitted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    accepted_at: Mapped[dt.datetime | None]
    accepted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    contract: Mapped[Contract] = relationship()
    versions: Mapped[list[PlannedVersion]] = relationship(
        back_populates="request", order_by="PlannedVersion.version.desc()"
    )


class PlannedVersion(Base):
    """One submission of a request: its values, who and when."""

    __tablename__ = "planned_versions"
    __table_args__ = (UniqueConstraint("request_id", "version"),)

    id: Mapped[uuid_pk]
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("planned_requests.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    hours: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(10), default="web")  # web / api / demo
    submitted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]

    request: Mapped[PlannedRequest] = relationship(back_populates="versions")


class PlannedReminder(Base):
    """A reminder sent for a contract's day: each is sent once."""

    __tablename__ = "planned_reminders"

    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    created_at: Mapped[created_at]
