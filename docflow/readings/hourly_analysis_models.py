"""The hourly analysis' own data: the month's plan peak hours the supplier
sets, the dates of the control measurements, and the control measurements
the customers submit.

*Плановые часы пиковой нагрузки* are the supplier's (after the market
operator's), one or more hours of each working day of a month, the same for
every contract: one row per day and hour. The customer's average power in
those hours is the base of the capacity charge.

*Контрольный замер* is taken twice a year, on a day of June and of December
(the third Wednesday unless the supplier sets another date): the customer
submits the 24 hourly values of that day for each meter of a contract. A
measurement is replaced whole by a new submission; ``version`` counts them.
The form a measurement was uploaded in is kept in the blob store
(``blob_key``, ``file_size``, ``file_sha256``), as every upload of the cabinet.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docflow.contracts.models import Contract
from docflow.db import Base, TimestampMixin, created_at, uuid_pk


class PeakHour(Base):
    """One plan peak hour: ``hour`` 0 is 00:00–01:00 Moscow time of ``day``."""

    __tablename__ = "hourly_peak_hours"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    set_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]


class ControlDay(Base):
    """The date the supplier set for a month's control measurement (June or
    December, given as its first day); without a row the third Wednesday."""

    __tablename__ = "hourly_control_days"

    month: Mapped[dt.date] = mapped_column(primary_key=True)
    day: Mapped[dt.date]
    set_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]


class ControlMeasurement(TimestampMixin, Base):
    """A contract's control measurement of a day, as last submitted."""

    __tablename__ = "hourly_control_measurements"
    __table_args__ = (
        UniqueConstraint("contract_id", "day"),
        Index("ix_hourly_control_measurements_day", "day"),
    )

    id: Mapped[uuid_pk]
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE")
    )
    day: Mapped[dt.date]
    source: Mapped[str] = mapped_column(String(10))  # excel / hourly / demo
    filename: Mapped[str] = mapped_column(String(255), default="")
    # The uploaded form in the blob store, as it was sent (None when the
    # measurement was not uploaded as a file, or before files were kept).
    blob_key: Mapped[str | None] = mapped_column(String(300))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=1)
    submitted_at: Mapped[dt.datetime]
    submitted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    contract: Mapped[Contract] = relationship()
    rows: Mapped[list[ControlValue]] = relationship(
        back_populates="measurement",
        cascade="all, delete-orphan",
        order_by="ControlValue.position",
    )


class ControlValue(Base):
    """The 24 values (kWh, strings of decimals) of one meter in a measurement."""

    __tablename__ = "hourly_control_values"

    control_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("hourly_control_measurements.id", ondelete="CASCADE"),
        primary_key=True,
    )
    meter_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("meters.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    hours: Mapped[list[Any]] = mapped_column(JSON, default=list)

    measurement: Mapped[ControlMeasurement] = relationship(back_populates="rows")
