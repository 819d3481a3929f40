"""The hourly analysis at a supplier's scale, on PostgreSQL.

Makes a fresh database (migrated to head) with ``--points`` metering points
in three contracts of one customer — one point, fifty points (five objects
of every voltage level, a meter each) and the rest — and loads ``--days``
days of hourly values (channel A+) for every point straight into
``hourly_values`` with COPY, day by day as daily files would leave them
(the primary key is rebuilt afterwards, the foreign-key triggers are off
while loading: the rows are known good). One point-day in 29 is loaded
twice (version 2), so «the newest version» is really chosen. Each day of the two small contracts has a ППП (one in seven
filed twice), each working day a plan peak hour.

Then, for the contract with 1 point and the one with 50, ``--queries`` times
on random months, p50/p95 of the questions the analysis page asks (goal p95
< 150 ms): the heat map (the month's grid: SQL ``GROUP BY day, hour`` of the
newest versions), the daily profile (the grid and the day and average days
read off it), planned vs actual (the contract's A+ grid and the ППП that
count) and the peak hours (the newest values joined to the month's peak
hours); and the analysis page itself rendered by the Flask test client
(goal < 1 s).

    python benchmarks/hourly_analysis.py                        # 1,000 points × 365 days
    python benchmarks/hourly_analysis.py --points 60 --days 40  # a smoke run

Needs PostgreSQL: ``DOCFLOW_TEST_DATABASE_URL`` (default postgres@127.0.0.1);
the loading session sets ``session_replication_role`` (a superuser's right).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import docflow.models  # noqa: E402, F401 - every mapper, as the application has them
from docflow.accounts.models import Role  # noqa: E402
from docflow.accounts.services import register_user  # noqa: E402
from docflow.contracts.models import Contract, ContractAccess, Organisation  # noqa: E402
from docflow.migrate import upgrade  # noqa: E402
from docflow.readings import hourly_analysis as ha  # noqa: E402
from docflow.readings.hourly_analysis_models import PeakHour  # noqa: E402
from docflow.readings.hourly_models import HourlyPoint  # noqa: E402
from docflow.readings.models import Meter, SupplyObject, VoltageLevel  # noqa: E402
from docflow.readings.planned_models import PlannedRequest, PlannedVersion  # noqa: E402
from tests.appfixtures import build_app, make_settings, postgres_database  # noqa: E402

PG_ADMIN = os.environ.get(
    "DOCFLOW_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
START = dt.date(2026, 1, 1)
PASSWORD = "bench12345"
EMAIL = "energy@big.example"
PK_COLUMNS = "point_id, channel, day, hour, version"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _shape(day: dt.date, hour: int) -> float:
    """A working day: a night base, a day plateau; a day off: lower."""
    workday = day.weekday() < 5
    return 0.35 + (0.65 if workday else 0.2) * max(
        0.0, math.sin(math.pi * (hour - 6) / 14)
    )


def make_world(engine: Engine, points: int) -> dict[str, Any]:
    """One customer with a contract of 1 point, one of 50 and one of the rest."""

    levels = [VoltageLevel.VN, VoltageLevel.SN1, VoltageLevel.SN2, VoltageLevel.NN]
    sizes = {"77-9001-ЮЛ": 1, "77-9050-ЮЛ": 50, "77-9999-ЮЛ": max(0, points - 51)}
    out: dict[str, Any] = {"contracts": {}, "points": []}
    with Session(engine) as s, s.begin():
        org = Organisation(name="ООО «Большой потребитель»", inn="7700000001")
        s.add(org)
        s.flush()
        user = register_user(
            s,
            email=EMAIL,
            password=PASSWORD,
            last_name="Энергетик",
            first_name="Главный",
            role=Role.CUSTOMER,
            confirmed=True,
        )
        code = 0
        for number, size in sizes.items():
            if not size:
                continue
            contract = Contract(number=number, organisation_id=org.id)
            s.add(contract)
            s.flush()
            s.add(
                ContractAccess(
                    user_id=user.id,
                    contract_id=contract.id,
                    can_view=True,
                    can_submit_readings=True,
                )
            )
            with_meters = size <= 50
            objects = []
            for i in range(min(5, size) if with_meters else 1):
                obj = SupplyObject(
                    contract_id=contract.id,
                    code=f"ОБ-{i + 1}",
                    name=f"Корпус {i + 1}",
                    voltage=levels[i % len(levels)],
                    position=i,
                )
                s.add(obj)
                objects.append(obj)
            s.flush()
            ids = []
            for i in range(size):
                code += 1
                obj = objects[i % len(objects)]
                meter_id = None
                if with_meters:
                    meter = Meter(
                        contract_id=contract.id,
                        object_id=obj.id,
                        number=f"{code:06d}",
                        meter_type="СЭТ-4ТМ.03М",
                        digits=8,
                        position=i,
                    )
                    s.add(meter)
                    s.flush()
                    meter_id = meter.id
                point = HourlyPoint(
                    contract_id=contract.id,
                    object_id=obj.id,
                    meter_id=meter_id,
                    code=f"77{code:016d}",
                    name=f"Точка {code}",
                )
                s.add(point)
                s.flush()
                ids.append(point.id)
            out["contracts"][number] = (contract.id, ids)
            out["points"].extend(ids)
    return out


def _rows(point_ids: list[uuid.UUID], days: int) -> Iterator[str]:
    """COPY text lines day by day, every point in each day (so the table's
    pages hold a day of all points, as daily 80020 files leave them): version
    1 of every hour, and version 2 of every 29th point-day."""
    rng = random.Random(15)
    bases = [(str(p), 20 + 80 * rng.random()) for p in point_ids]
    for n in range(days):
        day = START + dt.timedelta(days=n)
        iso = day.isoformat()
        shape = [_shape(day, h) for h in range(24)]
        for index, (pid, base) in enumerate(bases):
            again = (index + n) % 29 == 0
            for h in range(24):
                value = base * (shape[h] + 0.1 * rng.random())
                yield f"{pid}\tA+\t{iso}\t{h}\t1\t{value:.3f}\t0\n"
                if again:
                    yield f"{pid}\tA+\t{iso}\t{h}\t2\t{value * 1.05:.3f}\t0\n"


def load_values(engine: Engine, point_ids: list[uuid.UUID], days: int) -> int:
    """COPY every value in, the primary key dropped meanwhile and rebuilt."""
    count = 0
    with engine.begin() as conn:
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text("ALTER TABLE hourly_values DROP CONSTRAINT pk_hourly_values"))
        raw = conn.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(
                f"COPY hourly_values ({PK_COLUMNS}, value, status) FROM STDIN"
            ) as copy,
        ):
            chunk: list[str] = []
            for line in _rows(point_ids, days):
                chunk.append(line)
                if len(chunk) >= 50_000:
                    copy.write("".join(chunk))
                    count += len(chunk)
                    chunk.clear()
            copy.write("".join(chunk))
            count += len(chunk)
        conn.execute(
            text(
                "ALTER TABLE hourly_values ADD CONSTRAINT pk_hourly_values "
                f"PRIMARY KEY ({PK_COLUMNS})"
            )
        )
    return count


def load_plans_and_peaks(engine: Engine, contracts: list[uuid.UUID], days: int) -> None:
    with Session(engine) as s, s.begin():
        for n in range(days):
            day = START + dt.timedelta(days=n)
            if day.weekday() < 5:
                s.add(PeakHour(day=day, hour=10 if day.month in (11, 12, 1) else 17))
            for contract_id in contracts:
                hours = [f"{30 * _shape(day, h):.3f}" for h in range(24)]
                versions = 2 if n % 7 == 0 else 1
                req = PlannedRequest(
                    contract_id=contract_id,
                    day=day,
                    status="accepted" if n % 2 else "submitted",
                    hours=hours,
                    version=versions,
                )
                s.add(req)
                s.flush()
                for v in range(1, versions + 1):
                    s.add(PlannedVersion(request_id=req.id, version=v, hours=hours))


def timed(call: Callable[[], Any], times: list[float]) -> Any:
    began = time.perf_counter()
    result = call()
    times.append((time.perf_counter() - began) * 1000)
    return result


def report(label: str, times: list[float], goal: str) -> None:
    print(
        f"  {label}: p50 {statistics.median(times):.1f} ms, "
        f"p95 {percentile(times, 0.95):.1f} ms ({goal})",
        flush=True,
    )


def measure_queries(
    engine: Engine,
    contract_id: uuid.UUID,
    ids: list[uuid.UUID],
    months: list[dt.date],
    queries: int,
) -> None:
    rng = random.Random(3)
    grid_t: list[float] = []
    profile_t: list[float] = []
    plan_t: list[float] = []
    peak_t: list[float] = []
    with Session(engine) as s:
        for _ in range(queries):
            month = rng.choice(months)
            grid = timed(
                lambda m=month: ha.month_grid(s, point_ids=ids, channel="A+", month=m),
                grid_t,
            )
            assert not grid.is_empty
            timed(
                lambda m=month: ha.daily_profile(
                    ha.month_grid(s, point_ids=ids, channel="A+", month=m), None
                ),
                profile_t,
            )
            plan = timed(
                lambda m=month: ha.plan_vs_actual(
                    s,
                    contract_id=contract_id,
                    month=m,
                    actual=ha.month_grid(s, point_ids=ids, channel="A+", month=m),
                ),
                plan_t,
            )
            assert plan.has_plan
            peaks = timed(
                lambda m=month: ha.peak_figures(
                    s, point_ids=ids, channel="A+", month=m
                ),
                peak_t,
            )
            assert peaks.with_data
    goal = "goal p95 < 150 ms"
    report("heat map (the month's grid)", grid_t, goal)
    report("daily profile (grid + day and average days)", profile_t, goal)
    report("planned vs actual (A+ grid + the ППП that count)", plan_t, goal)
    report("peak hours (newest values in the month's peak hours)", peak_t, goal)


def measure_page(
    url: str, contract_id: uuid.UUID, months: list[dt.date], renders: int
) -> None:
    var = Path(tempfile.mkdtemp(prefix="bench-analysis-"))
    app = build_app(make_settings(var, url))
    client = app.test_client()
    resp = client.post("/account/login", data={"email": EMAIL, "password": PASSWORD})
    assert resp.status_code == 302, resp.status_code
    rng = random.Random(5)
    times: list[float] = []
    for _ in range(renders):
        month = rng.choice(months)
        page = timed(
            lambda m=month: client.get(
                f"/readings/hourly-analysis/{contract_id}?month={m:%Y-%m}"
            ),
            times,
        )
        assert page.status_code == 200, page.status_code
        assert b'data-testid="heatmap"' in page.data
    report("the analysis page (Flask test client)", times, "goal < 1 s")
    app.extensions["docflow"].engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    if args.points < 51:
        parser.error("--points: at least 51 (contracts of 1 and 50 points)")

    name = f"docflow_bench_analysis_{os.getpid()}"
    database = postgres_database(PG_ADMIN, name)
    url = database.__enter__()
    try:
        upgrade(url)
        engine = create_engine(url)
        world = make_world(engine, args.points)
        began = time.perf_counter()
        count = load_values(engine, world["points"], args.days)
        busy = time.perf_counter() - began
        print(
            f"loaded {count:,} hourly values of {args.points} points × {args.days} "
            f"days with COPY in {busy:.1f} s ({count / busy:,.0f} rows/s, the primary "
            "key rebuilt)",
            flush=True,
        )
        small = [world["contracts"][n][0] for n in ("77-9001-ЮЛ", "77-9050-ЮЛ")]
        load_plans_and_peaks(engine, small, args.days)
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE")
            )
        months = sorted(
            {(START + dt.timedelta(days=n)).replace(day=1) for n in range(args.days)}
        )
        for number, label in (("77-9001-ЮЛ", "1 point"), ("77-9050-ЮЛ", "50 points")):
            contract_id, ids = world["contracts"][number]
            print(f"contract {number} ({label}), {args.queries} months each:")
            measure_queries(engine, contract_id, ids, months, args.queries)
            measure_page(url, contract_id, months, args.renders)
        engine.dispose()
    finally:
        if args.keep:
            print(f"kept: {url}")
        else:
            database.__exit__(None, None, None)


if __name__ == "__main__":
    main()
