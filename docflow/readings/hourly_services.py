"""Hourly volumes: taking a file (any of the three formats) into the versioned
table, and reading a month back.

A file is taken whole or not at all: it is parsed, every row is checked
(known point, no hour twice), and only a file without a single error is
written. Each upload is recorded, refused ones too, with their errors.

Writing goes through a staging table: on PostgreSQL the rows are COPYed into
a temporary table, on SQLite inserted with ``executemany``; one
``INSERT … SELECT`` then gives every point-channel-hour the next version.

Points: a file names a point by its code (the 80020 ``measuringpoint code``).
The code is looked up among the contract's :class:`HourlyPoint` rows; a code
not there but equal to a meter number of the contract creates the point for
that meter (the Excel template uses meter numbers for points without a
code). Anything else is an error of the row: a file cannot create points.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from docflow.audit import RequestInfo, record
from docflow.contracts.models import Contract
from docflow.readings.hourly_formats import (
    FileRefused,
    HourRow,
    Parsed,
    RowError,
    parse_file,
)
from docflow.readings.hourly_models import (
    Channel,
    HourlyPoint,
    HourlyUpload,
    HourlyValue,
)
from docflow.readings.models import Meter, SupplyObject

STAGING = "hourly_staging"
COLUMNS = "point_id, channel, day, hour, value, status"


@dataclass
class Result:
    upload: HourlyUpload

    @property
    def accepted(self) -> bool:
        return self.upload.is_accepted


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def contract_points(session: Session, contract_id: uuid.UUID) -> list[HourlyPoint]:
    return list(
        session.scalars(
            select(HourlyPoint)
            .where(HourlyPoint.contract_id == contract_id)
            .order_by(HourlyPoint.code)
        )
    )


def _resolve_points(
    session: Session, contract: Contract, parsed: Parsed, filename: str
) -> dict[str, uuid.UUID]:
    codes = {r.point for r in parsed.rows}
    known: dict[str, uuid.UUID] = dict(
        session.execute(
            select(HourlyPoint.code, HourlyPoint.id).where(
                HourlyPoint.contract_id == contract.id
            )
        ).all()
    )
    missing = sorted(codes - known.keys())
    if missing:
        meters = {
            m.number: m
            for m in session.scalars(
                select(Meter).where(
                    Meter.contract_id == contract.id, Meter.number.in_(missing)
                )
            )
        }
        for code in missing:
            meter = meters.get(code)
            if meter is None:
                parsed.error(filename, 0, code, "точка измерений не найдена в договоре")
                continue
            point = HourlyPoint(
                contract_id=contract.id,
                object_id=meter.object_id,
                meter_id=meter.id,
                code=code,
                name=parsed.names.get(code) or f"Счётчик № {meter.number}",
            )
            session.add(point)
            session.flush()
            known[code] = point.id
    return known


def _check_duplicates(parsed: Parsed, filename: str) -> None:
    if parsed.unique:
        return
    seen: set[tuple[str, Channel, dt.date, int]] = set()
    for r in parsed.rows:
        key = (r.point, r.channel, r.day, r.hour)
        if key in seen:
            parsed.error(
                filename,
                0,
                r.point,
                f"канал {r.channel.value}, {r.day:%d.%m.%Y} час {r.hour:02d}: "
                "значение встречается в файле дважды",
            )
        seen.add(key)


def take_file(
    session: Session,
    contract: Contract,
    filename: str,
    data: bytes,
    *,
    user: Any = None,
    source: str = "web",
    request_info: RequestInfo | None = None,
) -> HourlyUpload:
    """Parse and, if there is no error at all, load a file of hourly values.

    The upload is recorded either way (``is_accepted`` tells which); nothing
    of a file with errors is written. The caller commits.
    """
    filename = (
        "".join(c for c in (filename or "файл") if c.isprintable())[:255] or "файл"
    )
    upload = HourlyUpload(
        contract_id=contract.id,
        user_id=getattr(user, "id", None),
        source=source,
        filename=filename,
        file_format="",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        errors=[],
    )
    try:
        parsed = parse_file(filename, data)
    except FileRefused as exc:
        upload.file_format = "?"
        upload.errors = [RowError(filename, 0, "", exc.message).as_dict()]
        return _finish(session, upload, user, request_info)
    upload.file_format = parsed.file_format
    if not parsed.rows and not parsed.errors:
        parsed.error(filename, 0, "", "в файле нет ни одного значения")
    _check_duplicates(parsed, filename)
    _lock(session, contract.id)
    # Points are resolved (and created for meters) inside a savepoint: a
    # refused file leaves no point behind either.
    nested = session.begin_nested()
    points = _resolve_points(session, contract, parsed, filename)
    if parsed.errors:
        nested.rollback()
        upload.errors = [e.as_dict() for e in parsed.errors]
        return _finish(session, upload, user, request_info)
    nested.commit()
    session.add(upload)
    session.flush()
    write_rows(session, contract.id, upload.id, parsed.rows, points)
    upload.is_accepted = True
    upload.values_taken = len(parsed.rows)
    upload.points = len({r.point for r in parsed.rows})
    upload.first_day = min(r.day for r in parsed.rows)
    upload.last_day = max(r.day for r in parsed.rows)
    return _finish(session, upload, user, request_info)


def _finish(
    session: Session, upload: HourlyUpload, user: Any, request_info: RequestInfo | None
) -> HourlyUpload:
    session.add(upload)
    session.flush()
    record(
        session,
        actor=user,
        action="hourly.upload",
        object_type="contract",
        object_id=upload.contract_id,
        details={
            "upload": str(upload.id),
            "file": upload.filename,
            "format": upload.file_format,
            "accepted": upload.is_accepted,
            "values": upload.values_taken,
            "errors": len(upload.errors),
        },
        request_info=request_info,
    )
    return upload


def _lock(session: Session, contract_id: uuid.UUID) -> None:
    """One writer per contract at a time (PostgreSQL; SQLite writes one at a
    time anyway): two loads of one period would otherwise take the same next
    version, or create the same point. Held to the end of the transaction."""
    if _is_postgres(session):
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": zlib.crc32(contract_id.bytes) - 2**31},
        )


def write_rows(
    session: Session,
    contract_id: uuid.UUID,
    upload_id: uuid.UUID | None,
    rows: Sequence[HourRow],
    points: dict[str, uuid.UUID],
) -> int:
    """Write ``rows`` as the next version of each of their hours."""
    if not rows:
        return 0
    if _is_postgres(session):
        _lock(session, contract_id)
        session.execute(
            text(
                f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} (point_id uuid, channel varchar(2),"
                " day date, hour smallint, value numeric(16,4), status smallint)"
                " ON COMMIT DELETE ROWS"
            )
        )
        session.execute(text(f"TRUNCATE {STAGING}"))
        raw = session.connection().connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {STAGING} ({COLUMNS}) FROM STDIN") as copy,
        ):
            # COPY's text format written in chunks: a row at a time through
            # the adapters costs more than the database's own work.
            ids = {code: str(pid) for code, pid in points.items()}
            days: dict[dt.date, str] = {}
            chunk: list[str] = []
            for r in rows:
                day = days.get(r.day)
                if day is None:
                    day = days[r.day] = r.day.isoformat()
                chunk.append(
                    f"{ids[r.point]}\t{r.channel.value}\t{day}\t{r.hour}\t{r.value}\t{r.status}\n"
                )
                if len(chunk) >= 10_000:
                    copy.write("".join(chunk))
                    chunk.clear()
            if chunk:
                copy.write("".join(chunk))
    else:
        session.execute(
            text(
                f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} (point_id char(32),"
                " channel varchar(2), day date, hour smallint, value numeric, status smallint)"
            )
        )
        session.execute(text(f"DELETE FROM {STAGING}"))
        session.execute(
            text(
                f"INSERT INTO {STAGING} ({COLUMNS}) VALUES "
                "(:point_id, :channel, :day, :hour, :value, :status)"
            ),
            [
                {
                    "point_id": points[r.point].hex,
                    "channel": r.channel.value,
                    "day": r.day.isoformat(),
                    "hour": r.hour,
                    "value": str(r.value),
                    "status": r.status,
                }
                for r in rows
            ],
        )
    upload = upload_id.hex if (upload_id and not _is_postgres(session)) else upload_id
    result = session.execute(
        text(
            "INSERT INTO hourly_values (point_id, channel, day, hour, version, value, status,"
            " upload_id) SELECT s.point_id, s.channel, s.day, s.hour,"
            " COALESCE((SELECT max(v.version) FROM hourly_values v WHERE"
            " v.point_id = s.point_id AND v.channel = s.channel AND v.day = s.day"
            " AND v.hour = s.hour), 0) + 1, s.value, s.status, :upload"
            f" FROM {STAGING} s"
        ),
        {"upload": upload},
    )
    if not _is_postgres(session):  # PostgreSQL empties it at the commit
        session.execute(text(f"DELETE FROM {STAGING}"))
    return result.rowcount  # type: ignore[attr-defined,no-any-return]


# -- reading back --------------------------------------------------------------------


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    first = month.replace(day=1)
    return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


@dataclass(frozen=True)
class HourValue:
    day: dt.date
    hour: int
    value: Decimal
    status: int
    version: int


def values(
    session: Session,
    point_id: uuid.UUID,
    channel: Channel,
    first: dt.date,
    last: dt.date,
) -> list[HourValue]:
    """The newest version of each hour of a point's channel in [first, last]."""
    rows = session.execute(
        select(
            HourlyValue.day,
            HourlyValue.hour,
            HourlyValue.value,
            HourlyValue.status,
            HourlyValue.version,
        )
        .where(
            HourlyValue.point_id == point_id,
            HourlyValue.channel == channel.value,
            HourlyValue.day >= first,
            HourlyValue.day <= last,
        )
        .order_by(HourlyValue.day, HourlyValue.hour, HourlyValue.version)
    )
    newest: dict[tuple[dt.date, int], HourValue] = {}
    for day, hour, value, status, version in rows:
        newest[(day, hour)] = HourValue(day, hour, Decimal(value), status, version)
    return list(newest.values())


@dataclass
class MonthTable:
    days: list[dt.date]
    cells: dict[tuple[dt.date, int], HourValue]
    day_totals: dict[dt.date, Decimal]
    hour_totals: list[Decimal]
    total: Decimal
    versions: int


def month_table(
    session: Session, point_id: uuid.UUID, channel: Channel, month: dt.date
) -> MonthTable:
    first, last = month_bounds(month)
    found = values(session, point_id, channel, first, last)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    cells = {(v.day, v.hour): v for v in found}
    day_totals: dict[dt.date, Decimal] = defaultdict(Decimal)
    hour_totals = [Decimal(0)] * 24
    for v in found:
        day_totals[v.day] += v.value
        hour_totals[v.hour] += v.value
    return MonthTable(
        days,
        cells,
        dict(day_totals),
        hour_totals,
        sum(hour_totals, Decimal(0)),
        max((v.version for v in found), default=0),
    )


def day_profile(
    session: Session,
    point_id: uuid.UUID,
    channel: Channel,
    first: dt.date,
    last: dt.date,
) -> list[Decimal]:
    """The sum per hour of day over [first, last] (newest versions only), in SQL."""
    rows = session.execute(
        text(
            "SELECT v.hour, sum(v.value) FROM hourly_values v WHERE v.point_id = :p"
            " AND v.channel = :c AND v.day BETWEEN :a AND :b AND NOT EXISTS (SELECT 1"
            " FROM hourly_values w WHERE w.point_id = v.point_id AND w.channel = v.channel"
            " AND w.day = v.day AND w.hour = v.hour AND w.version > v.version)"
            " GROUP BY v.hour"
        ),
        {
            "p": point_id if _is_postgres(session) else point_id.hex,
            "c": channel.value,
            "a": first,
            "b": last,
        },
    )
    profile = [Decimal(0)] * 24
    for hour, total in rows:
        profile[int(hour)] = Decimal(str(total))
    return profile


def uploads(
    session: Session, contract_id: uuid.UUID, limit: int = 10
) -> list[HourlyUpload]:
    return list(
        session.scalars(
            select(HourlyUpload)
            .where(HourlyUpload.contract_id == contract_id)
            .order_by(HourlyUpload.created_at.desc())
            .limit(limit)
        )
    )


def count_values(session: Session, point_id: uuid.UUID) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(HourlyValue)
            .where(HourlyValue.point_id == point_id)
        )
        or 0
    )


def template_sheets(
    session: Session, obj: SupplyObject
) -> list[tuple[str, str, Channel]]:
    """The sheets of an object's Excel template: each meter's point (its code,
    or the meter number when it has none yet), channel A+."""
    by_meter = {
        p.meter_id: p
        for p in session.scalars(
            select(HourlyPoint).where(
                HourlyPoint.contract_id == obj.contract_id,
                HourlyPoint.meter_id.is_not(None),
            )
        )
    }
    sheets = []
    for meter in obj.meters:
        point = by_meter.get(meter.id)
        code = point.code if point else meter.number
        name = (point.name if point else "") or f"{obj.name}, счётчик № {meter.number}"
        sheets.append((code, name, Channel.AP))
    return sheets
