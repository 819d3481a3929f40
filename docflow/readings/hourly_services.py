"""Hourly volumes: taking a file (any of the three formats) into the versioned
table, and reading a month back.

A file is taken whole or not at all: it is parsed, every row is checked
(known point, no hour twice), and only a file without a single error is
written. Each upload is recorded, refused ones too, with their errors, and the
file itself is kept in the blob store (what the customer sent, accepted or
not); should the database write fail, the transaction's rollback deletes the
blob (:func:`docflow.db.blobs_of_transaction`).

Taking a file is two steps, so that a bulk import can do the first in other
processes: :func:`receive` parses and keeps a file (no database),
:func:`load_file` records it and writes its values (the caller's transaction).
:func:`take_file` is both, for a single upload. :func:`receive_files` runs the
first step for a batch of files in a pool of processes, handing them back in
order.

Writing: a file's values are COPYed straight into ``hourly_values`` as
version 1 (PostgreSQL; SQLite inserts) — every new day is that. Should the
file repeat a period, the primary key refuses the attempt, a savepoint forgets
it, and the values go through a staging table and one ``INSERT … SELECT`` that
gives every hour the next version. Writers of one contract take turns (an
advisory lock), so that nobody writes between the attempt and the versions.

Points: a file names a point by its code (the 80020 ``measuringpoint code``).
The code is looked up among the contract's :class:`HourlyPoint` rows; a code
not there but equal to a meter number of the contract creates the point for
that meter (the Excel template uses meter numbers for points without a code).
An unknown code of an 80020 file — the market operator's code, written by the
metering system, not typed — creates the point without a meter: it is shown
«не сопоставлена» until the supplier maps it (:mod:`hourly_points`). An
unknown code in a hand-made Excel or CSV file is an error of the row: a typo
must not become a point.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
import zlib
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from docflow.audit import RequestInfo, record
from docflow.blobrefs import register_blob_source
from docflow.contracts.models import Contract
from docflow.db import blobs_of_transaction
from docflow.errors import NotFoundError
from docflow.readings.hourly_formats import (
    CONTENT_TYPES,
    MAX_FILE_BYTES,
    FileRefused,
    Parsed,
    RowError,
    Series,
    detect_format,
    parse_file,
)
from docflow.readings.hourly_models import (
    Channel,
    HourlyPoint,
    HourlyUpload,
    HourlyValue,
)
from docflow.readings.models import Meter, SupplyObject
from docflow.runtime import Runtime
from storage import BlobStorage, open_store

STAGING = "hourly_incoming"
COLUMNS = "point_id, channel, day, hour, version, value, status, upload_id"
#: New points one file may bring (a first 80020 file of a big consumer has a
#: thousand; more is a file of something else).
MAX_NEW_POINTS = 5000
_CHUNK = 500  # ids per IN (…): SQLite's limit on parameters is far off
_COPY_LINES = 2_400  # lines per write to COPY: the server works while we render


def _upload_blob_keys(session: Session) -> Iterable[str]:
    """The kept hourly files, for ``docflow fsck`` (not orphans)."""
    return session.scalars(
        select(HourlyUpload.blob_key).where(HourlyUpload.blob_key.is_not(None))
    )


register_blob_source(_upload_blob_keys)


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


# -- receiving: parse and keep (no database) -----------------------------------------


@dataclass
class Received:
    """A file read, kept in the blob store and parsed, not yet recorded: what
    :func:`receive` returns and a worker of :func:`receive_files` hands back."""

    filename: str
    size: int
    sha256: str
    blob_key: str | None
    parsed: Parsed | None  # None: refused whole (``refusal`` says why)
    refusal: str = ""


def _clean_filename(filename: str) -> str:
    return "".join(c for c in (filename or "файл") if c.isprintable())[:255] or "файл"


def _content_type(filename: str, data: bytes, parsed: Parsed | None) -> str:
    if parsed is not None:
        return CONTENT_TYPES[parsed.file_format]
    try:
        return CONTENT_TYPES[detect_format(filename, data)]
    except FileRefused:
        return "application/octet-stream"


def receive(filename: str, data: bytes, *, runtime: Runtime) -> Received:
    """Parse a file and keep it in the runtime's blob store: an empty file, or
    one over :data:`MAX_FILE_BYTES` (read only that far), is not kept.

    The blob is written after the parse, so that a parse that fails leaves
    none; the caller hands it to :func:`load_file` in a transaction, which
    deletes it should that transaction roll back.
    """
    return _receive(filename, data, runtime.storage)


def _receive(filename: str, data: bytes, storage: BlobStorage | None) -> Received:
    """:func:`receive` into ``storage``, or keeping nothing if it is ``None``
    (a worker of :func:`receive_files` has a store, not a runtime)."""
    filename = _clean_filename(filename)
    try:
        parsed: Parsed | None = parse_file(filename, data)
        refusal = ""
    except FileRefused as exc:
        parsed, refusal = None, exc.message
    if storage is not None and 0 < len(data) <= MAX_FILE_BYTES:
        info = storage.put_bytes(
            data, content_type=_content_type(filename, data, parsed)
        )
        return Received(filename, len(data), info.sha256, info.key, parsed, refusal)
    digest = hashlib.sha256(data).hexdigest()
    return Received(filename, len(data), digest, None, parsed, refusal)


def read_upload_file(path: Path) -> bytes:
    """A file from disk as an upload reads it: at most one byte past the limit.

    :raises OSError: naming the file, whichever step failed.
    """
    try:
        with path.open("rb") as f:
            return f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None


_STORES: dict[str, BlobStorage] = {}


def _store(storage_url: str) -> BlobStorage:
    """The blob store a URL names, opened once per process (a worker's too)."""
    store = _STORES.get(storage_url)
    if store is None:
        store = _STORES[storage_url] = open_store(storage_url)
    return store


def _receive_path(path: str, storage_url: str | None) -> Received:
    """A worker's job: one file of a batch."""
    file = Path(path)
    store = _store(storage_url) if storage_url else None
    return _receive(file.name, read_upload_file(file), store)


def receive_files(
    paths: Sequence[Path], *, storage_url: str | None, workers: int
) -> Iterator[Received]:
    """Read, parse and keep a batch of files in ``workers`` processes, handing
    them back in the order given; ``workers`` ≤ 1 does it in this process.

    At most two files per worker are ahead of the consumer (parsed files wait
    in memory). Files received but never handed back — the consumer stopped —
    have their blobs deleted.
    """
    if workers <= 1:
        for path in paths:
            yield _receive_path(str(path), storage_url)
        return
    # spawn: a worker starts clean, without the parent's database connections.
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        queued: deque[Future[Received]] = deque()
        waiting = iter(paths)
        try:
            for path in waiting:
                queued.append(pool.submit(_receive_path, str(path), storage_url))
                if len(queued) >= 2 * workers:
                    break
            while queued:
                received = queued.popleft().result()
                for path in waiting:
                    queued.append(pool.submit(_receive_path, str(path), storage_url))
                    break
                yield received
        finally:
            _drop_unused(queued, storage_url)


def _drop_unused(queued: deque[Future[Received]], storage_url: str | None) -> None:
    for future in queued:
        future.cancel()
    for future in queued:
        if future.cancelled() or future.exception() is not None:
            continue
        key = future.result().blob_key
        if key and storage_url:
            _store(storage_url).delete(key)


# -- loading: record the upload, write the values ------------------------------------


def take_file(
    session: Session,
    contract: Contract,
    filename: str,
    data: bytes,
    *,
    storage: BlobStorage | None = None,
    user: Any = None,
    source: str = "web",
    request_info: RequestInfo | None = None,
) -> HourlyUpload:
    """Parse, keep and, if there is no error at all, load a file of hourly
    values (a single upload: everything in this process).

    The upload is recorded either way (``is_accepted`` tells which); nothing
    of a file with errors is written. The caller commits, inside
    :func:`docflow.db.transaction` (whose rollback deletes the kept file).
    """
    received = _receive(filename, data, storage)
    return load_file(
        session,
        contract,
        received,
        storage=storage,
        user=user,
        source=source,
        request_info=request_info,
    )


def load_file(
    session: Session,
    contract: Contract,
    received: Received,
    *,
    storage: BlobStorage | None,
    user: Any = None,
    source: str = "web",
    request_info: RequestInfo | None = None,
) -> HourlyUpload:
    """Record a received file and, if it has no error at all, write its
    values; see :func:`take_file`."""
    if received.blob_key is not None:
        blobs_of_transaction(session, storage, received.blob_key)
    filename = received.filename
    upload = HourlyUpload(
        contract_id=contract.id,
        user_id=getattr(user, "id", None),
        source=source,
        filename=filename,
        file_format="?",
        size=received.size,
        sha256=received.sha256,
        blob_key=received.blob_key,
        errors=[],
    )
    parsed = received.parsed
    if parsed is None:
        upload.errors = [RowError(filename, 0, "", received.refusal).as_dict()]
        return _finish(session, upload, user, request_info)
    upload.file_format = parsed.file_format
    if not parsed.series and not parsed.errors:
        parsed.error(filename, 0, "", "в файле нет ни одного значения")
    _check_duplicates(parsed, filename)
    _lock(session, contract.id)
    # Points are resolved (and created) inside a savepoint: a refused file
    # leaves no point behind either.
    nested = session.begin_nested()
    points = _resolve_points(session, contract, parsed, filename)
    if parsed.errors:
        nested.rollback()
        upload.errors = [e.as_dict() for e in parsed.errors]
        return _finish(session, upload, user, request_info)
    nested.commit()
    session.add(upload)
    session.flush()
    write_series(session, contract.id, upload.id, parsed.series, points)
    upload.is_accepted = True
    upload.values_taken = parsed.count
    upload.points = len(parsed.codes)
    upload.first_day = min(s.day for s in parsed.series)
    upload.last_day = max(s.day for s in parsed.series)
    return _finish(session, upload, user, request_info)


def _finish(
    session: Session, upload: HourlyUpload, user: Any, request_info: RequestInfo | None
) -> HourlyUpload:
    session.add(upload)
    session.flush()
    record(
        session,
        user=user,
        action="hourly.upload",
        object_type="contract",
        object_id=upload.contract_id,
        details={
            "upload": str(upload.id),
            "file": upload.filename,
            "format": upload.file_format,
            "sha256": upload.sha256,
            "accepted": upload.is_accepted,
            "values": upload.values_taken,
            "errors": len(upload.errors),
        },
        request_info=request_info,
    )
    return upload


def _check_duplicates(parsed: Parsed, filename: str) -> None:
    if parsed.unique:
        return
    seen: set[tuple[str, Channel, dt.date, int]] = set()
    for s in parsed.series:
        for hour in s.hours:
            key = (s.point, s.channel, s.day, hour)
            if key in seen:
                parsed.error(
                    filename,
                    0,
                    s.point,
                    f"канал {s.channel.value}, {s.day:%d.%m.%Y} час {hour:02d}: "
                    "значение встречается в файле дважды",
                )
            seen.add(key)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _resolve_points(
    session: Session, contract: Contract, parsed: Parsed, filename: str
) -> dict[str, uuid.UUID]:
    known: dict[str, uuid.UUID] = dict(
        session.execute(
            select(HourlyPoint.code, HourlyPoint.id).where(
                HourlyPoint.contract_id == contract.id
            )
        ).all()
    )
    missing = sorted(parsed.codes - known.keys())
    if not missing:
        return known
    meters: dict[str, Meter] = {}
    for chunk in _chunks(missing):
        meters.update(
            (m.number, m)
            for m in session.scalars(
                select(Meter).where(
                    Meter.contract_id == contract.id, Meter.number.in_(chunk)
                )
            )
        )
    created: list[HourlyPoint] = []
    for code in missing:
        meter = meters.get(code)
        if meter is not None:
            created.append(
                HourlyPoint(
                    contract_id=contract.id,
                    object_id=meter.object_id,
                    meter_id=meter.id,
                    code=code,
                    name=parsed.names.get(code) or f"Счётчик № {meter.number}",
                )
            )
        elif parsed.file_format == "80020":
            created.append(
                HourlyPoint(
                    contract_id=contract.id, code=code, name=parsed.names.get(code, "")
                )
            )
        else:
            parsed.error(filename, 0, code, "точка измерений не найдена в договоре")
    if len(created) > MAX_NEW_POINTS:
        parsed.error(
            filename,
            0,
            "",
            f"в файле {len(created)} новых точек измерений, а за один раз "
            f"заводится не больше {MAX_NEW_POINTS}",
        )
        return known
    session.add_all(created)
    session.flush()
    known.update((p.code, p.id) for p in created)
    return known


def _lock(session: Session, contract_id: uuid.UUID) -> None:
    """One writer per contract at a time (PostgreSQL; SQLite writes one at a
    time anyway): two loads of one period would otherwise take the same next
    version, or create the same point. Held to the end of the transaction."""
    if _is_postgres(session):
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": zlib.crc32(contract_id.bytes) - 2**31},
        )


def write_series(
    session: Session,
    contract_id: uuid.UUID,
    upload_id: uuid.UUID | None,
    series: Sequence[Series],
    points: dict[str, uuid.UUID],
) -> int:
    """Write ``series`` as the next version of each of their hours; the
    number of values written."""
    if not series:
        return 0
    _lock(session, contract_id)
    postgres = _is_postgres(session)
    put = _copy if postgres else _insert
    count = sum(len(s.hours) for s in series)
    # The common case first, without a question asked: hours never loaded,
    # written straight as version 1. Should any of them have been loaded
    # before, the primary key refuses the lot; the savepoint forgets the
    # attempt and the staging table numbers the versions.
    attempt = session.begin_nested()
    try:
        put(session, "hourly_values", series, points, upload_id)
    except _Repeated:
        attempt.rollback()
    else:
        attempt.commit()
        return count
    _make_staging(session, postgres)
    put(session, STAGING, series, points, upload_id)
    upload = upload_id.hex if (upload_id and not postgres) else upload_id
    session.execute(
        text(
            f"INSERT INTO hourly_values ({COLUMNS}) SELECT s.point_id, s.channel, s.day,"
            " s.hour, COALESCE((SELECT max(v.version) FROM hourly_values v WHERE"
            " v.point_id = s.point_id AND v.channel = s.channel AND v.day = s.day"
            " AND v.hour = s.hour), 0) + 1, s.value, s.status, :upload"
            f" FROM {STAGING} s"
        ),
        {"upload": upload},
    )
    if not postgres:  # PostgreSQL empties it at the commit
        session.execute(text(f"DELETE FROM {STAGING}"))
    return count


class _Repeated(Exception):  # noqa: N818 - not an error: the other path
    """An hour written is there already (the primary key refused it)."""


def _make_staging(session: Session, postgres: bool) -> None:
    if postgres:
        session.execute(
            text(
                f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} (point_id uuid,"
                " channel varchar(2), day date, hour smallint, version smallint,"
                " value numeric(16,4), status smallint, upload_id uuid)"
                " ON COMMIT DELETE ROWS"
            )
        )
        session.execute(text(f"TRUNCATE {STAGING}"))
    else:
        session.execute(
            text(
                f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} (point_id char(32),"
                " channel varchar(2), day date, hour smallint, version smallint,"
                " value numeric, status smallint, upload_id char(32))"
            )
        )
        session.execute(text(f"DELETE FROM {STAGING}"))


def _copy(
    session: Session,
    target: str,
    series: Sequence[Series],
    points: dict[str, uuid.UUID],
    upload_id: uuid.UUID | None,
) -> None:
    """COPY in its text format, rendered a chunk at a time while the server
    takes the previous one: a row at a time through the adapters costs more
    than the database's own work."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    ids = {code: str(pid) for code, pid in points.items()}
    upload = str(upload_id) if upload_id else "\\N"
    days: dict[dt.date, str] = {}
    try:
        _copy_lines(raw, target, series, ids, upload, days)
    except psycopg.errors.UniqueViolation:
        raise _Repeated from None


def _copy_lines(
    raw: Any,
    target: str,
    series: Sequence[Series],
    ids: dict[str, str],
    upload: str,
    days: dict[dt.date, str],
) -> None:
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {target} ({COLUMNS}) FROM STDIN") as copy,
    ):
        chunk: list[str] = []
        for s in series:
            day = days.get(s.day)
            if day is None:
                day = days[s.day] = s.day.isoformat()
            head = f"{ids[s.point]}\t{s.channel.value}\t{day}\t"
            chunk += [
                f"{head}{hour}\t1\t{value}\t{status}\t{upload}\n"
                for hour, value, status in zip(
                    s.hours, s.values, s.statuses, strict=True
                )
            ]
            if len(chunk) >= _COPY_LINES:
                copy.write("".join(chunk))
                chunk.clear()
        if chunk:
            copy.write("".join(chunk))


def _insert(
    session: Session,
    target: str,
    series: Sequence[Series],
    points: dict[str, uuid.UUID],
    upload_id: uuid.UUID | None,
) -> None:
    """SQLite: the same rows by ``executemany`` (ids as the 32 hex digits
    SQLAlchemy stores there)."""
    upload = upload_id.hex if upload_id else None
    statement = text(
        f"INSERT INTO {target} ({COLUMNS}) VALUES (:point_id, :channel, :day,"
        " :hour, 1, :value, :status, :upload)"
    )
    try:
        session.execute(statement, _rows(series, points, upload))
    except IntegrityError:
        raise _Repeated from None


def _rows(
    series: Sequence[Series], points: dict[str, uuid.UUID], upload: str | None
) -> list[dict[str, Any]]:
    return [
        {
            "point_id": points[s.point].hex,
            "channel": s.channel.value,
            "day": s.day.isoformat(),
            "hour": hour,
            "value": value,
            "status": status,
            "upload": upload,
        }
        for s in series
        for hour, value, status in zip(s.hours, s.values, s.statuses, strict=True)
    ]


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


def get_upload(
    session: Session, contract_id: uuid.UUID, upload_id: uuid.UUID
) -> HourlyUpload:
    """An upload of the contract whose file was kept; 404 for any other (one
    of another contract, or made before files were kept)."""
    upload = session.get(HourlyUpload, upload_id)
    if upload is None or upload.contract_id != contract_id or not upload.blob_key:
        raise NotFoundError("Файл загрузки не найден.")
    return upload


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
