"""Hourly volumes: metering points of a contract, their hourly values per
channel (A+, A−, R+, R−) with the history of versions, and the uploads.

A *metering point* (точка измерений, the ``measuringpoint code`` of the
wholesale market's 80020 file) is a table of its own rather than a column of
``meters``: the point's code comes from the market operator, a point may exist
before its meter is entered into the cabinet (``meter_id`` is nullable) and
the readings module's tables stay as they are.

One row of :class:`HourlyValue` is one point-channel-hour of one version. A
period loaded again is written as the next version of each of its hours; the
newest version counts, the older ones are the history. The primary key
``(point_id, channel, day, hour, version)`` is the index every query uses (a
month of a point is one range scan), so a year for 1,000 points (8.76 M rows)
needs no partitioning; on PostgreSQL the table can be partitioned by ``day``
later without changing the key.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from docflow.db import Base, created_at, uuid_pk


class Channel(enum.StrEnum):
    AP = "A+"
    AM = "A-"
    RP = "R+"
    RM = "R-"


CHANNEL_TITLES = {
    Channel.AP: "A+",
    Channel.AM: "A−",
    Channel.RP: "R+",
    Channel.RM: "R−",
}
CHANNEL_UNITS = {
    Channel.AP: "кВт·ч",
    Channel.AM: "кВт·ч",
    Channel.RP: "квар·ч",
    Channel.RM: "квар·ч",
}

#: Channel codes of the 80020 file: 01 A+, 02 A−, 03 R+, 04 R−.
CHANNEL_CODES = {"01": Channel.AP, "02": Channel.AM, "03": Channel.RP, "04": Channel.RM}


class HourlyPoint(Base):
    """A metering point of a contract, known by its 80020 code."""

    __tablename__ = "hourly_points"
    __table_args__ = (UniqueConstraint("contract_id", "code"),)

    id: Mapped[uuid_pk]
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    object_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("supply_objects.id", ondelete="SET NULL"), index=True
    )
    meter_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("meters.id", ondelete="SET NULL"), index=True
    )
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[created_at]


class HourlyUpload(Base):
    """A file of hourly values: who, when, which file, what was taken."""

    __tablename__ = "hourly_uploads"
    __table_args__ = (
        Index("ix_hourly_uploads_contract_id_created_at", "contract_id", "created_at"),
    )

    id: Mapped[uuid_pk]
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(10), default="web")  # web / api / demo
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(10))  # 80020 / xlsx / csv
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    # The uploaded file in the blob store (None for uploads made before files
    # were kept, and for a file refused before it was stored).
    blob_key: Mapped[str | None] = mapped_column(String(300))
    is_accepted: Mapped[bool] = mapped_column(default=False)
    values_taken: Mapped[int] = mapped_column(default=0)
    points: Mapped[int] = mapped_column(default=0)
    first_day: Mapped[dt.date | None]
    last_day: Mapped[dt.date | None]
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[created_at]


class HourlyValue(Base):
    """The value of one point-channel-hour in one version. ``hour`` 0 is
    00:00–01:00 local (Moscow) time of ``day``."""

    __tablename__ = "hourly_values"

    point_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("hourly_points.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(2), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    version: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[Decimal] = mapped_column(Numeric(16, 4))
    # The worst status of the hour's half-hours in the source file (0 = good).
    status: Mapped[int] = mapped_column(SmallInteger, default=0)
    # The upload that brought the value, without a foreign key: a key checked
    # on each of millions of rows halves the import rate, and an upload is
    # never deleted but with its contract (whose points take the values along).
    upload_id: Mapped[uuid.UUID | None]
