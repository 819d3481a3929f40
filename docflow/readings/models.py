"""Objects of supply, their meters, readings per period, uploaded forms, and
the link from a contract's period to its ПРОМ10 act in the document flow.

A *period* is a month, stored as the date of its first day. A reading of kind
``end`` is the register value at the end of the period (the one submitted in the
window); a reading of kind ``start`` is a value at the start of the period,
entered for a meter with no earlier reading (a new or replaced meter).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docflow.contracts.models import Contract
from docflow.db import Base, TimestampMixin, created_at, uuid_pk


class VoltageLevel(enum.StrEnum):
    VN = "vn"  # высокое напряжение, 110 кВ и выше
    SN1 = "sn1"  # среднее первое, 35 кВ
    SN2 = "sn2"  # среднее второе, 1–20 кВ
    NN = "nn"  # низкое, 0,4 кВ и ниже


VOLTAGE_TITLES = {
    VoltageLevel.VN: "ВН",
    VoltageLevel.SN1: "СН-1",
    VoltageLevel.SN2: "СН-2",
    VoltageLevel.NN: "НН",
}


class MeterStatus(enum.StrEnum):
    WORKING = "working"
    FAULTY = "faulty"
    CALIBRATION_EXPIRED = "calibration_expired"


METER_STATUS_TITLES = {
    MeterStatus.WORKING: "Исправен",
    MeterStatus.FAULTY: "Не исправен",
    MeterStatus.CALIBRATION_EXPIRED: "Истёк срок МПИ",
}


class ReadingKind(enum.StrEnum):
    END = "end"
    START = "start"


class ReadingStatus(enum.StrEnum):
    READY = "ready"  # saved by the customer, not sent yet
    SENT = "sent"  # sent into the calculation
    ACCEPTED = "accepted"  # the supplier took it into the calculation
    REJECTED = "rejected"  # the supplier did not, with a reason


READING_STATUS_TITLES = {
    ReadingStatus.READY: "Готово к передаче",
    ReadingStatus.SENT: "Передано",
    ReadingStatus.ACCEPTED: "Принято в расчёт",
    ReadingStatus.REJECTED: "Не принято",
}


class SupplyObject(TimestampMixin, Base):
    """An object of supply (объект энергоснабжения) under a contract."""

    __tablename__ = "supply_objects"
    __table_args__ = (UniqueConstraint("contract_id", "code"),)

    id: Mapped[uuid_pk]
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(50))  # the supplier's id of the object
    name: Mapped[str] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(500))
    voltage: Mapped[VoltageLevel]
    position: Mapped[int] = mapped_column(default=0)

    contract: Mapped[Contract] = relationship()
    meters: Mapped[list[Meter]] = relationship(
        back_populates="object", order_by="[Meter.position, Meter.number]"
    )
    transit: Mapped[list[TransitVolume]] = relationship(back_populates="object")

    @property
    def voltage_title(self) -> str:
        return VOLTAGE_TITLES[self.voltage]


class Meter(TimestampMixin, Base):
    """A settlement meter (расчётный прибор учёта) of an object."""

    __tablename__ = "meters"
    __table_args__ = (UniqueConstraint("contract_id", "number"),)

    id: Mapped[uuid_pk]
    # The object's contract, kept here so that a meter number is unique per
    # contract (the key of the Excel form) and queries need no join.
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    object_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("supply_objects.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(50))
    meter_type: Mapped[str] = mapped_column(String(120))
    digits: Mapped[int]
    ratio: Mapped[int] = mapped_column(default=1)  # Ктт × Ктн
    status: Mapped[MeterStatus] = mapped_column(default=MeterStatus.WORKING)
    next_calibration: Mapped[dt.date | None]
    position: Mapped[int] = mapped_column(default=0)

    object: Mapped[SupplyObject] = relationship(back_populates="meters")


class TransitVolume(Base):
    """Energy passed through an object to a transit consumer in one period,
    subtracted from the object's consumption."""

    __tablename__ = "transit_volumes"
    __table_args__ = (UniqueConstraint("object_id", "period", "consumer"),)

    id: Mapped[uuid_pk]
    object_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("supply_objects.id", ondelete="CASCADE"), index=True
    )
    period: Mapped[dt.date]
    consumer: Mapped[str] = mapped_column(String(300))
    kwh: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[created_at]

    object: Mapped[SupplyObject] = relationship(back_populates="transit")


class Reading(TimestampMixin, Base):
    __tablename__ = "readings"
    __table_args__ = (
        UniqueConstraint("meter_id", "period", "kind"),
        Index("ix_readings_contract_id_period", "contract_id", "period"),
    )

    id: Mapped[uuid_pk]
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE")
    )
    meter_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("meters.id", ondelete="CASCADE")
    )
    period: Mapped[dt.date]
    kind: Mapped[ReadingKind] = mapped_column(default=ReadingKind.END)
    value: Mapped[int] = mapped_column(BigInteger)
    # The value is lower than the previous one and was taken as the register
    # passing through zero; the user was told so.
    is_rollover: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ReadingStatus] = mapped_column(default=ReadingStatus.READY)
    source: Mapped[str] = mapped_column(String(20), default="web")
    entered_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    sent_at: Mapped[dt.datetime | None]
    sent_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    rejection_reason: Mapped[str | None] = mapped_column(Text)

    meter: Mapped[Meter] = relationship()

    @property
    def status_title(self) -> str:
        return READING_STATUS_TITLES[self.status]


class ReadingUpload(Base):
    """An Excel form a customer uploaded: the file is kept whatever the result."""

    __tablename__ = "reading_uploads"
    __table_args__ = (
        Index("ix_reading_uploads_contract_id_created_at", "contract_id", "created_at"),
    )

    id: Mapped[uuid_pk]
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE")
    )
    period: Mapped[dt.date]
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(200))
    is_accepted: Mapped[bool] = mapped_column(default=False)
    rows_taken: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    problems: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[created_at]


class ReadingAct(Base):
    """A ПРОМ10 act of a contract's period sent to the document flow; the
    newest version (highest ``version``) is the one a resend replaces."""

    __tablename__ = "reading_acts"
    __table_args__ = (UniqueConstraint("contract_id", "period", "version"),)

    id: Mapped[uuid_pk]
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE")
    )
    period: Mapped[dt.date]
    version: Mapped[int]
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]


class WindowNotice(Base):
    """«Открыт приём показаний» was announced for this contract and period
    (so the daily task announces each window once)."""

    __tablename__ = "reading_window_notices"

    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[dt.date] = mapped_column(primary_key=True)
    created_at: Mapped[created_at]
