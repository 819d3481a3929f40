"""Hourly volumes at a supplier's scale, on PostgreSQL.

Makes a fresh database (migrated to head), one contract with ``--points``
metering points, writes ``--days`` days of hourly values (channel A+) as 80020
files — one file per day with every point, 48 half-hours each — into a
temporary directory, and imports them through the same code as
``docflow readings hourly import``: ``--workers`` processes read, keep (a
filesystem blob store in a temporary directory) and parse the files, this
process records each upload and writes its values (COPY) in a transaction of
its own. Prints the import rate in values per second (goal ≥ 100,000/s), then
p50/p95 of the two questions the pages ask: a month of one point (the days ×
hours table) and a month's day profile (a SQL aggregate), each ``--queries``
times on random points (goal p95 < 150 ms).

    python benchmarks/hourly.py                       # 1,000 points × 365 days
    python benchmarks/hourly.py --points 20 --days 10 # a smoke run

Needs PostgreSQL: ``DOCFLOW_TEST_DATABASE_URL`` (default postgres@127.0.0.1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import docflow.models  # noqa: E402, F401 - every mapper, as the application has them
from docflow.contracts.models import Contract, Organisation  # noqa: E402
from docflow.db import transaction  # noqa: E402
from docflow.migrate import upgrade  # noqa: E402
from docflow.readings import hourly_formats as fmt  # noqa: E402
from docflow.readings import hourly_services as hs  # noqa: E402
from docflow.readings.hourly_models import Channel, HourlyPoint  # noqa: E402
from storage import open_store  # noqa: E402
from tests.appfixtures import postgres_database  # noqa: E402

PG_ADMIN = os.environ.get(
    "DOCFLOW_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds a (local) PostgreSQL backend has used, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (the workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _import(
    engine: Engine,
    contract_id: uuid.UUID,
    paths: list[Path],
    store_url: str,
    workers: int,
) -> None:
    """The files through the bulk import; the rate printed as it goes, then
    the CPU the import took per value (this process, its workers and the
    database backend that wrote): what the rate is made of on a busy machine."""

    store = open_store(store_url)
    values = 0
    with Session(engine) as s:
        backend = int(s.execute(text("SELECT pg_backend_pid()")).scalar_one())
        s.commit()
        cpu_before, backend_before = _cpu(), _backend_cpu(backend)
        began = time.perf_counter()
        contract = s.get(Contract, contract_id)
        received_files = hs.receive_files(paths, storage_url=store_url, workers=workers)
        for n, received in enumerate(received_files, 1):
            with transaction(s):
                up = hs.load_file(s, contract, received, storage=store, source="cli")
                assert up.is_accepted, up.errors[:3]
                values += up.values_taken
            if n % 30 == 0 or n == len(paths):
                rate = values / (time.perf_counter() - began)
                print(
                    f"  {n} days: {values:,} values, {rate:,.0f} values/s", flush=True
                )
        busy = time.perf_counter() - began
        cpu, backend_after = _cpu() - cpu_before, _backend_cpu(backend)
    print(
        f"import ({workers} parsing processes, one writer, files kept): "
        f"{values:,} values in {busy:.1f} s = {values / busy:,.0f} values/s "
        "(goal ≥ 100,000/s)"
    )
    if backend_before is not None and backend_after is not None:
        database = backend_after - backend_before
        per_value = (cpu + database) / values * 1e6
        print(
            f"CPU per value: {per_value:.1f} µs ({cpu / values * 1e6:.1f} parsing, "
            f"keeping and sending; {database / values * 1e6:.1f} in the database); "
            f"{os.cpu_count()} free cores would take "
            f"{(os.cpu_count() or 1) / per_value * 1e6:,.0f} values/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    name = f"docflow_bench_hourly_{os.getpid()}"
    database = postgres_database(PG_ADMIN, name)
    url = database.__enter__()
    try:
        upgrade(url)
        engine = create_engine(url)
        with Session(engine) as s, s.begin():
            org = Organisation(name="ООО «Большой потребитель»", inn="7700000001")
            s.add(org)
            s.flush()
            contract = Contract(number="77-9999-ЮЛ", organisation_id=org.id)
            s.add(contract)
            s.flush()
            contract_id = contract.id
            codes = [f"77{i:016d}" for i in range(1, args.points + 1)]
            s.add_all(
                HourlyPoint(contract_id=contract_id, code=c, name=f"Точка {i}")
                for i, c in enumerate(codes, 1)
            )
        rng = random.Random(15)
        profile = [round(20 + 15 * rng.random(), 1) for _ in range(48)]
        start = dt.date(2026, 1, 1)
        # One file is made; each day's is that file with its date replaced.
        template = fmt.write_80020(
            start, ((c, "", {Channel.AP: profile}) for c in codes)
        )
        with tempfile.TemporaryDirectory(prefix="hourly-bench-") as tmp:
            files = Path(tmp, "files")
            files.mkdir()
            paths = []
            for n in range(args.days):
                day = start + dt.timedelta(days=n)
                path = files / f"80020_{day:%Y%m%d}.xml"
                path.write_bytes(
                    template.replace(b"20260101", day.strftime("%Y%m%d").encode())
                )
                paths.append(path)
            store_url = Path(tmp, "blobs").as_uri()
            _import(engine, contract_id, paths, store_url, args.workers)
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE hourly_values")
            )
        with Session(engine) as s:
            ids = [
                uuid.UUID(str(r[0]))
                for r in s.execute(text("SELECT id FROM hourly_points"))
            ]
        rng = random.Random(15)
        months = sorted(
            {(start + dt.timedelta(days=n)).replace(day=1) for n in range(args.days)}
        )
        month_times: list[float] = []
        profile_times: list[float] = []
        with Session(engine) as s:
            for _ in range(args.queries):
                point = rng.choice(ids)
                month = rng.choice(months)
                began = time.perf_counter()
                table = hs.month_table(s, point, Channel.AP, month)
                month_times.append((time.perf_counter() - began) * 1000)
                assert table.cells
                first, last = hs.month_bounds(month)
                began = time.perf_counter()
                hs.day_profile(s, point, Channel.AP, first, last)
                profile_times.append((time.perf_counter() - began) * 1000)
        for label, times in (
            ("month of a point", month_times),
            ("day profile of a month", profile_times),
        ):
            print(
                f"{label}: p50 {statistics.median(times):.1f} ms, "
                f"p95 {percentile(times, 0.95):.1f} ms (goal p95 < 150 ms)"
            )
        engine.dispose()
    finally:
        if not args.keep:
            database.__exit__(None, None, None)


if __name__ == "__main__":
    main()
