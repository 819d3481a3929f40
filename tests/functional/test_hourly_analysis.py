"""The hourly analysis on a small known world, on PostgreSQL and SQLite: the
month's grid (newest versions only, older ignored), the filters, the daily
profile, planned (ППП) against actual with deviations, the average power in
the plan peak hours, the control measurement (the form's round trip, a
malformed file refused row by row with nothing taken, «Заполнить из
почасовых данных», the uploaded file kept, downloadable and never orphaned),
the Excel export, the supplier's pages, and the access
matrix (another organisation: 404; a customer setting peak hours: 403)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from docflow.access import Actor
from docflow.accounts.models import User
from docflow.db import transaction
from docflow.demo import create_demo_world
from docflow.readings import hourly_analysis as ha
from docflow.readings import hourly_analysis_excel as hx
from docflow.readings.hourly_analysis_demo import seed_demo
from docflow.readings.hourly_analysis_models import (
    ControlMeasurement,
    ControlValue,
    PeakHour,
)
from docflow.readings.hourly_models import HourlyPoint, HourlyValue
from docflow.readings.planned_models import PlannedRequest, PlannedVersion
from tests.functional.test_readings_world import Readings, keys, readings, world
from tests.functional.world import World

__all__ = ["keys", "readings", "world"]

MONTH = dt.date(2026, 11, 1)
MONDAY = dt.date(2026, 11, 2)  # both points, P1 loaded twice (version 2 counts)
TUESDAY = dt.date(2026, 11, 3)  # P2 only; a draft ППП (counts for nothing)
SATURDAY = dt.date(2026, 11, 7)  # P1 only; an accepted ППП
TODAY = dt.date(2026, 11, 20)
JUNE_DAY = dt.date(2026, 6, 17)  # the third Wednesday of June 2026
DECEMBER_DAY = dt.date(2026, 12, 16)  # the third Wednesday of December 2026


def _value(point_id: uuid.UUID, day: dt.date, hour: int, value: Any, **kw: Any) -> Any:
    return HourlyValue(
        point_id=point_id,
        channel=kw.get("channel", "A+"),
        day=day,
        hour=hour,
        version=kw.get("version", 1),
        value=Decimal(str(value)),
        status=0,
    )


def _plan(
    contract_id: uuid.UUID, day: dt.date, status: str, *versions: list[Any]
) -> Any:
    req = PlannedRequest(
        contract_id=contract_id,
        day=day,
        status=status,
        hours=[str(v) if v is not None else None for v in versions[-1]],
        version=len(versions) if status != "draft" else 0,
    )
    return req


def crawl_control(readings: Readings) -> dict[str, Any]:
    """For the crawl: the latest control measurement of A's contract, submitted
    as an uploaded file, so that «Скачать загруженный файл» has a file to give."""
    with readings.app.app_context():
        s = readings.w.session()
        with transaction(s):
            day = ha.latest_control_date(s, ha.today_msk()).day
            measurement = ha.submit_control(
                s,
                actor=Actor.for_user(s.merge(readings.w.signer_a)),
                contract_id=readings.contract_id,
                day=day,
                values={readings.meters["0001"]: [Decimal(1)] * 24},
                source="excel",
                filename="замер.xlsx",
                file=b"PK the crawl's control form",
                storage=readings.w.storage,
                today=day + dt.timedelta(days=1),
            )
            assert measurement.blob_key is not None
        s.close()
    return {"control_day": day}


@pytest.fixture()
def known(readings: Readings) -> Readings:
    """Two points: P1 (meter 0001, «Цех», СН-2) and P2 (meter 0004, «Склад», НН).

    =========  =====================================  ======================
    day        P1 (A+)                                P2 (A+)
    =========  =====================================  ======================
    02.11 пн   v1: 10+h, v2: 20+h (counts)            1
    03.11 вт   —                                      2
    07.11 сб   5                                      —
    =========  =====================================  ======================

    P1 also has R+ 7 on 02.11. ППП: 02.11 submitted twice (v1: 100 each hour;
    v2: 21+h but hour 10 planned 20 and hour 11 planned 0), 03.11 a draft,
    07.11 accepted (5 each hour, hour 0: 5.2). Peak hours: 10:00–11:00 of
    02.11, 03.11 and 04.11 (no data that day).
    """
    app = readings.app
    app.config["ANALYSIS_TODAY"] = TODAY
    with app.app_context():
        s = readings.w.session()
        with transaction(s):
            p1 = HourlyPoint(
                contract_id=readings.contract_id,
                meter_id=readings.meters["0001"],
                object_id=readings.objects["ОБ-1"],
                code="P1",
                name="Цех, ввод 1",
            )
            p2 = HourlyPoint(
                contract_id=readings.contract_id,
                meter_id=readings.meters["0004"],
                object_id=readings.objects["ОБ-2"],
                code="P2",
                name="Склад",
            )
            s.add_all([p1, p2])
            s.flush()
            for h in range(24):
                s.add(_value(p1.id, MONDAY, h, 10 + h))
                s.add(_value(p1.id, MONDAY, h, 20 + h, version=2))
                s.add(_value(p1.id, MONDAY, h, 7, channel="R+"))
                s.add(_value(p1.id, SATURDAY, h, 5))
                s.add(_value(p2.id, MONDAY, h, 1))
                s.add(_value(p2.id, TUESDAY, h, 2))
            v2 = [21 + h for h in range(24)]
            v2[10], v2[11] = 20, 0
            monday = _plan(readings.contract_id, MONDAY, "submitted", [100] * 24, v2)
            draft = _plan(readings.contract_id, TUESDAY, "draft", [1] * 24)
            saturday_hours = [5.2] + [5] * 23
            saturday = _plan(readings.contract_id, SATURDAY, "accepted", saturday_hours)
            s.add_all([monday, draft, saturday])
            s.flush()
            s.add_all(
                [
                    PlannedVersion(request_id=monday.id, version=1, hours=["100"] * 24),
                    PlannedVersion(
                        request_id=monday.id, version=2, hours=[str(v) for v in v2]
                    ),
                    PlannedVersion(
                        request_id=saturday.id,
                        version=1,
                        hours=[str(v) for v in saturday_hours],
                    ),
                ]
            )
            s.add_all(
                PeakHour(day=d, hour=10)
                for d in (MONDAY, TUESDAY, dt.date(2026, 11, 4))
            )
        s.close()
    readings.ids = {"p1": p1.id, "p2": p2.id}  # type: ignore[attr-defined]
    yield readings
    app.config.pop("ANALYSIS_TODAY", None)


def analyse(r: Readings, user: Any = None, **kw: Any) -> ha.Analysis:
    filters = ha.Filters(
        month=MONTH,
        channel=kw.pop("channel", "A+"),
        object_id=kw.pop("object_id", None),
        point_id=kw.pop("point_id", None),
        voltage=kw.pop("voltage", None),
    )
    with r.app.app_context():
        s = r.w.session()
        result = ha.analyse(
            s,
            actor=Actor.for_user(user or r.w.signer_a),
            contract_id=r.contract_id,
            filters=filters,
            today=TODAY,
            **kw,
        )
        s.close()
    return result


def page_text(resp: Any) -> str:
    body = re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))
    return re.sub(r"\s+", " ", body)


def url(r: Readings, suffix: str = "", **args: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/readings/hourly-analysis/{r.contract_id}{suffix}" + (
        f"?{query}" if query else ""
    )


# -- the aggregates ------------------------------------------------------------------


def test_grid_takes_the_newest_version_and_sums_the_points(known: Readings) -> None:
    a = analyse(known)
    grid = a.grid
    assert grid.get(MONDAY, 0) == Decimal(21)  # v2 20 + P2 1; v1 (10) ignored
    assert grid.get(MONDAY, 23) == Decimal(44)
    assert grid.get(TUESDAY, 5) == Decimal(2)
    assert grid.get(SATURDAY, 5) == Decimal(5)
    assert grid.get(dt.date(2026, 11, 4), 5) is None
    assert grid.total == Decimal(948)  # 780 + 48 + 120
    assert grid.maximum == (MONDAY, 23, Decimal(44))
    assert grid.days_with_data == 3
    assert grid.mean == Decimal(948) / 72


@pytest.mark.parametrize(
    ("filters", "total"),
    [
        ({"voltage": ha.VoltageLevel.SN2}, Decimal(876)),  # P1: 756 + 120
        ({"voltage": ha.VoltageLevel.NN}, Decimal(72)),  # P2
        ({"voltage": ha.VoltageLevel.VN}, Decimal(0)),  # no object of that level
        ({"object": "ОБ-2"}, Decimal(72)),
        ({"point": "p1"}, Decimal(876)),
        ({"channel": "R+"}, Decimal(168)),  # P1's R+ on Monday only
    ],
)
def test_filters_choose_the_points(
    known: Readings, filters: dict[str, Any], total: Decimal
) -> None:
    kw: dict[str, Any] = {}
    if "voltage" in filters:
        kw["voltage"] = filters["voltage"]
    if "object" in filters:
        kw["object_id"] = known.objects[filters["object"]]
    if "point" in filters:
        kw["point_id"] = known.ids[filters["point"]]  # type: ignore[attr-defined]
    if "channel" in filters:
        kw["channel"] = filters["channel"]
    a = analyse(known, **kw)
    assert a.grid.total == total
    # The plan is the contract's: its fact is every point's A+ whatever the filters.
    assert a.actual.total == Decimal(948)


def test_daily_profile_and_average_days(known: Readings) -> None:
    a = analyse(known)
    p = a.profile
    assert p.day == MONDAY  # the day of the month's largest hour, by default
    assert p.values[3] == Decimal(24)
    assert p.workday_count == 2 and p.weekend_count == 1
    assert p.workdays[3] == (Decimal(24) + Decimal(2)) / 2
    assert p.weekends[3] == Decimal(5)
    chosen = analyse(known, day=TUESDAY).profile
    assert chosen.day == TUESDAY and chosen.day_total == Decimal(48)


def test_plan_against_actual_with_deviations(known: Readings) -> None:
    plan = analyse(known).plan
    assert [d.day for d in plan.planned_days] == [MONDAY, SATURDAY]  # a draft: none
    monday = plan.day(MONDAY)
    assert monday is not None and monday.version == 2 and monday.status == "submitted"
    assert monday.plan_total == Decimal(737)  # version 2, not version 1's 2 400
    assert monday.fact_total == Decimal(780)
    assert monday.deviation == Decimal(43)
    h10, h11 = monday.hours[10], monday.hours[11]
    assert h10.deviation == Decimal(11) and h10.percent == Decimal(55) and h10.is_over
    assert h11.plan == 0 and h11.percent is None and h11.is_over
    assert monday.hours_over == 2
    saturday = plan.day(SATURDAY)
    assert saturday is not None and saturday.status == "accepted"
    assert saturday.hours[0].deviation == Decimal("-0.2")
    assert not saturday.hours[0].is_over  # −3.8 % is within ±5 %
    assert saturday.hours_over == 0
    assert plan.plan_total == Decimal("857.2") and plan.fact_total == Decimal(900)
    assert plan.deviation == Decimal("42.8") and plan.hours_over == 2
    # A tighter threshold catches Saturday's first hour too.
    tight = analyse(known, threshold=Decimal(2)).plan
    assert tight.day(SATURDAY).hours_over == 1  # type: ignore[union-attr]


def test_peak_hours_average_power(known: Readings) -> None:
    peaks = analyse(known).peaks
    assert peaks.count == 3 and peaks.with_data == 2 and peaks.missing == 1
    assert peaks.values == {(MONDAY, 10): Decimal(31), (TUESDAY, 10): Decimal(2)}
    assert peaks.average == Decimal("16.5")
    assert peaks.maximum == Decimal(31)
    only_p1 = analyse(known, point_id=known.ids["p1"]).peaks  # type: ignore[attr-defined]
    assert only_p1.values == {(MONDAY, 10): Decimal(30)}


# -- the pages ----------------------------------------------------------------------------


def test_page_shows_everything_and_exports(known: Readings, client: Any) -> None:
    known.login(client, known.w.signer_a)
    resp = client.get(url(known, month="2026-11"))
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    text = page_text(resp)
    assert 'data-testid="heatmap"' in body and "<svg" in body
    assert "style=" not in body.split("<main", 1)[-1].split("</main>")[0]
    assert body.count('data-peak="1"') == 3  # three peak cells in the heat map
    assert re.search(r'data-testid="figure-total">948<', body)
    assert re.search(r'data-testid="peak-average">16,5<', body)
    assert re.search(r'data-testid="plan-hours-over">2<', body)
    assert "+43" in text and "+55" in text  # Monday's deviation, kWh and hour 10 %
    assert f"/readings/{known.contract_id}/analysis" in body  # back to the monthly page
    monthly = client.get(f"/readings/{known.contract_id}/analysis")
    assert f"/readings/hourly-analysis/{known.contract_id}" in monthly.get_data(
        as_text=True
    )
    xlsx = client.get(url(known, "/export.xlsx", month="2026-11"))
    assert xlsx.status_code == 200 and xlsx.mimetype == hx.XLSX_TYPE
    wb = load_workbook(io.BytesIO(xlsx.data))
    assert wb.sheetnames == [
        "Сводка",
        "Профиль",
        "Тепловая карта",
        "План и факт",
        "План и факт по часам",
        "Пиковые часы",
    ]
    heat = wb["Тепловая карта"]
    assert heat["B3"].value == 21  # 02.11, hour 0
    assert heat["Z3"].value == 780  # 02.11 total
    summary = {r[0].value: r[1].value for r in wb["Сводка"].iter_rows(min_row=3)}
    assert summary["Плановых часов пиковой нагрузки в месяце"] == 3
    assert summary["Часов с отклонением больше порога"] == 2


def test_empty_month_says_so_in_russian(known: Readings, client: Any) -> None:
    known.login(client, known.w.viewer_a)
    resp = client.get(url(known, month="2026-10"))
    assert resp.status_code == 200
    text = page_text(resp)
    assert "Почасовые данные за октябрь 2026 г. не загружены" in text
    assert "/readings/hourly/?contract=" in resp.get_data(as_text=True)
    assert "Поставщик ещё не установил плановые часы" in text
    # The viewer may not open the monthly page (it needs the readings right).
    assert 'data-testid="monthly-analysis-link"' not in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("month=2026-13", 422),
        ("month=зима", 422),
        ("channel=Z", 422),
        ("voltage=kV", 422),
        ("threshold=7", 422),
        ("day=2026-12-01", 422),  # outside the month
        ("plan_day=nope", 422),
        ("object=" + str(uuid.UUID(int=5)), 404),
        ("point=not-a-uuid", 404),
    ],
)
def test_bad_choices_are_refused_never_500(
    known: Readings, client: Any, query: str, status: int
) -> None:
    known.login(client, known.w.signer_a)
    month = "" if query.startswith("month=") else "month=2026-11&"
    assert client.get(url(known) + "?" + month + query).status_code == status


# -- access ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "see", "control_upload", "set_peaks", "control_all"),
    [
        ("signer_a", 200, 422, 403, 404),
        ("viewer_a", 200, 403, 403, 404),
        ("signer_b", 404, 404, 403, 404),
        ("clerk", 200, 422, 302, 200),
    ],
)
def test_access_matrix(
    known: Readings,
    client: Any,
    who: str,
    see: int,
    control_upload: int,
    set_peaks: int,
    control_all: int,
) -> None:
    known.login(client, getattr(known.w, who))
    assert client.get(url(known, month="2026-11")).status_code == see
    assert client.get(url(known, "/export.xlsx")).status_code == see
    assert client.get(url(known, "/control")).status_code == see
    assert client.get(url(known, "/control/form.xlsx")).status_code == see
    # An upload without a file: 422 for whoever may submit, else 403/404.
    resp = client.post(url(known, "/control/upload"), data={"day": "2026-06-17"})
    assert resp.status_code == control_upload
    assert client.get("/readings/hourly-analysis/schedule").status_code == 200
    resp = client.post(
        "/readings/hourly-analysis/schedule/peak",
        data={"month": "2026-12", "cell": ["2026-12-01:10"]},
    )
    assert resp.status_code == set_peaks
    resp = client.post(
        "/readings/hourly-analysis/schedule/control-day",
        data={"month": "2026-12", "day": "2026-12-09"},
    )
    assert resp.status_code == set_peaks
    assert client.get("/readings/hourly-analysis/control").status_code == control_all
    with known.app.app_context():
        s = known.w.session()
        set_days = s.scalar(
            select(func.count())
            .select_from(PeakHour)
            .where(PeakHour.day > MONTH.replace(day=30))
        )
        s.close()
    assert set_days == (1 if who == "clerk" else 0)


def test_anonymous_goes_to_login(known: Readings, client: Any) -> None:
    resp = client.get(url(known))
    assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]


# -- the supplier's schedule -----------------------------------------------------------


def test_clerk_sets_peak_hours_by_rule_and_by_cell(
    known: Readings, client: Any
) -> None:
    known.login(client, known.w.clerk)
    resp = client.post(
        "/readings/hourly-analysis/schedule/peak",
        data={"month": "2026-11", "action": "rule", "hours": ["9", "17"]},
    )
    assert resp.status_code == 302
    a = analyse(known)
    assert a.peaks.count == 21 * 2  # 21 working days in November 2026, two hours each
    assert a.peaks.hours[MONDAY] == [9, 17] and SATURDAY not in a.peaks.hours
    page = client.get("/readings/hourly-analysis/schedule?month=2026-11")
    assert "Установлено часов: 42, дней: 21" in page_text(page)
    resp = client.post(
        "/readings/hourly-analysis/schedule/peak",
        data={"month": "2026-11", "cell": ["2026-11-02:10", "2026-11-03:10"]},
    )
    assert resp.status_code == 302
    assert analyse(known).peaks.average == Decimal("16.5")
    for bad in (["2026-12-01:10"], ["2026-11-02:24"], ["x"], ["2026-11-02:"]):
        resp = client.post(
            "/readings/hourly-analysis/schedule/peak",
            data={"month": "2026-11", "cell": bad},
        )
        assert resp.status_code == 422, bad
    rule = client.post(
        "/readings/hourly-analysis/schedule/peak",
        data={"month": "2026-11", "action": "rule"},
    )
    assert rule.status_code == 422
    assert analyse(known).peaks.count == 2  # nothing changed by the refusals
    customer = known.app.test_client()
    known.login(customer, known.w.signer_a)
    shown = customer.get("/readings/hourly-analysis/schedule?month=2026-11")
    assert shown.status_code == 200 and 'name="cell"' not in shown.get_data(
        as_text=True
    )


def test_clerk_sets_the_control_day(known: Readings, client: Any) -> None:
    known.login(client, known.w.clerk)
    page = client.get("/readings/hourly-analysis/schedule?month=2026-06")
    assert "17.06.2026" in page_text(page) and "16.12.2026" in page_text(page)
    ok = client.post(
        "/readings/hourly-analysis/schedule/control-day",
        data={"month": "2026-12", "day": "2026-12-09"},
    )
    assert ok.status_code == 302
    with known.app.app_context():
        s = known.w.session()
        assert ha.control_date(s, dt.date(2026, 12, 1)) == ha.ControlDate(
            dt.date(2026, 12, 1), dt.date(2026, 12, 9), True
        )
        s.close()
    for data in (
        {"month": "2026-11", "day": "2026-11-18"},  # not June or December
        {"month": "2026-12", "day": "2026-11-30"},  # another month
        {"month": "2026-12", "day": "09.12.2026"},
    ):
        assert (
            client.post(
                "/readings/hourly-analysis/schedule/control-day", data=data
            ).status_code
            == 422
        ), data
    back = client.post(
        "/readings/hourly-analysis/schedule/control-day",
        data={"month": "2026-12", "day": ""},
    )
    assert back.status_code == 302
    with known.app.app_context():
        s = known.w.session()
        assert ha.control_date(s, dt.date(2026, 12, 1)).day == DECEMBER_DAY  # type: ignore[union-attr]
        s.close()


# -- control measurements ------------------------------------------------------------------


def _measurements(r: Readings) -> list[tuple[ControlMeasurement, list[ControlValue]]]:
    with r.app.app_context():
        s = r.w.session()
        rows = [(m, list(m.rows)) for m in s.scalars(select(ControlMeasurement))]
        s.expunge_all()
        s.close()
    return rows


def _upload(client: Any, r: Readings, data: bytes, name: str = "замер.xlsx") -> Any:
    return client.post(
        url(r, "/control/upload"),
        data={"day": JUNE_DAY.isoformat(), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _filled_form(client: Any, r: Readings, fill: dict[str, list[Any]]) -> bytes:
    form = client.get(url(r, "/control/form.xlsx", day=JUNE_DAY.isoformat()))
    assert form.status_code == 200 and form.mimetype == hx.XLSX_TYPE
    wb = load_workbook(io.BytesIO(form.data))
    ws = wb[hx.CONTROL_SHEET]
    for row in ws.iter_rows(min_row=hx.CONTROL_HEADER_ROW + 1):
        number = row[2].value
        if number in fill:
            for h, value in enumerate(fill[number]):
                row[4 + h].value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_control_measurement_round_trip(known: Readings, client: Any) -> None:
    known.login(client, known.w.signer_a)
    page = client.get(url(known, "/control"))
    assert page.status_code == 200
    assert "Замер за 17.06.2026" in page_text(page) and "Не передан" in page_text(page)
    data = _filled_form(
        client, known, {"0001": [12.5] * 24, "0002": [str(h) for h in range(24)]}
    )
    resp = _upload(client, known, data)
    assert resp.status_code == 302, page_text(resp)[:500]
    [(m, rows)] = _measurements(known)
    assert m.day == JUNE_DAY and m.source == "excel" and m.version == 1
    by_meter = {r.meter_id: r.hours for r in rows}
    assert by_meter[known.meters["0001"]] == ["12.500"] * 24
    assert by_meter[known.meters["0002"]][23] == "23.000"
    shown = client.get(url(known, "/control", day=JUNE_DAY.isoformat()))
    assert "Передан" in page_text(shown)
    assert re.search(r'data-testid="control-total">576<', shown.get_data(as_text=True))
    # The form downloaded again carries the values; uploaded again, a version 2.
    again = client.get(url(known, "/control/form.xlsx", day=JUNE_DAY.isoformat()))
    ws = load_workbook(io.BytesIO(again.data))[hx.CONTROL_SHEET]
    assert ws.cell(row=hx.CONTROL_HEADER_ROW + 1, column=5).value == 12.5
    assert _upload(client, known, again.data).status_code == 302
    [(m, rows)] = _measurements(known)
    assert m.version == 2 and len(rows) == 2
    # The supplier's list and its export.
    clerk = known.app.test_client()
    known.login(clerk, known.w.clerk)
    listed = clerk.get(f"/readings/hourly-analysis/control?day={JUNE_DAY}")
    text = page_text(listed)
    assert "77-0001-ЮЛ" in text and "50-0100-ЮЛ" in text
    assert "передали 1 из 2" in text
    missing = clerk.get(
        f"/readings/hourly-analysis/control?day={JUNE_DAY}&status=missing"
    )
    assert "77-0001-ЮЛ" not in page_text(missing)
    export = clerk.get(f"/readings/hourly-analysis/control?day={JUNE_DAY}&format=xlsx")
    wb = load_workbook(io.BytesIO(export.data))
    summary = [[c.value for c in r] for r in wb["Сводка"].iter_rows(min_row=3)]
    assert [r[0] for r in summary] == ["50-0100-ЮЛ", "77-0001-ЮЛ"]
    assert summary[0][2] == "Не передан" and summary[1][2] == "Передан"
    values = [[c.value for c in r] for r in wb["Значения"].iter_rows(min_row=2)]
    assert [r[2] for r in values] == ["0001", "0002"]
    assert values[0][-1] == 300


def test_malformed_control_form_names_rows_and_takes_nothing(
    known: Readings, client: Any
) -> None:
    known.login(client, known.w.signer_a)
    bad = _filled_form(
        client,
        known,
        {
            "0001": [1] * 23 + ["-5"],
            "0002": ["abc"] + [1] * 23,
            "0003": [1] * 12 + [None] * 12,
        },
    )
    resp = _upload(client, known, bad)
    assert resp.status_code == 422
    text = page_text(resp)
    assert "ничего не сохранено" in text
    assert (
        "строка 7, столбец «23:00–24:00»: значение не может быть отрицательным" in text
    )
    assert "строка 8, столбец «00:00–01:00»: ожидается число" in text
    assert "строка 9, столбец «12:00–13:00»: не указано значение" in text
    assert _measurements(known) == []
    # An unknown meter and a row twice.
    wb = load_workbook(io.BytesIO(_filled_form(client, known, {"0001": [1] * 24})))
    ws = wb[hx.CONTROL_SHEET]
    ws.append(["Чужой", "НН", "9999", "", *([1] * 24)])
    ws.append(["Цех", "СН-2", "0001", "", *([2] * 24)])
    out = io.BytesIO()
    wb.save(out)
    text = page_text(_upload(client, known, out.getvalue()))
    assert "счётчик № 9999 не найден в договоре" in text
    assert "счётчик № 0001 уже есть в строке 7" in text
    for data, reason in (
        (b"not a workbook", "не является книгой Excel"),
        (b"PK\x03\x04broken", "повреждён"),
        (b"", "не является книгой Excel"),
    ):
        resp = _upload(client, known, data)
        assert resp.status_code == 422 and reason in page_text(resp), reason
    empty = _filled_form(client, known, {})
    assert "не заполнен ни один счётчик" in page_text(_upload(client, known, empty))
    assert _measurements(known) == []


def test_control_form_of_another_contract_or_day_is_refused(
    known: Readings, client: Any
) -> None:
    known.login(client, known.w.signer_a)
    wb = load_workbook(io.BytesIO(_filled_form(client, known, {"0001": [1] * 24})))
    wb[hx.CONTROL_SHEET]["B2"] = "50-0100-ЮЛ"
    out = io.BytesIO()
    wb.save(out)
    assert "заполнен для договора № 50-0100-ЮЛ" in page_text(
        _upload(client, known, out.getvalue())
    )
    wb[hx.CONTROL_SHEET]["B2"] = "77-0001-ЮЛ"
    wb[hx.CONTROL_SHEET]["B3"] = "16.12.2026"
    out = io.BytesIO()
    wb.save(out)
    assert "заполнен за 16.12.2026" in page_text(_upload(client, known, out.getvalue()))
    assert _measurements(known) == []


def test_control_filled_from_hourly_values(known: Readings, client: Any) -> None:
    known.login(client, known.w.signer_a)
    fill = url(known, "/control/fill")
    resp = client.post(fill, data={"day": JUNE_DAY.isoformat()})
    assert resp.status_code == 422
    assert "Почасовые данные за 17.06.2026 не загружены" in page_text(resp)
    with known.app.app_context():
        s = known.w.session()
        with transaction(s):
            p1 = known.ids["p1"]  # type: ignore[attr-defined]
            p2 = known.ids["p2"]  # type: ignore[attr-defined]
            for h in range(24):
                s.add(_value(p1, JUNE_DAY, h, 3))
                s.add(_value(p1, JUNE_DAY, h, 4, version=2))
            s.add(_value(p2, JUNE_DAY, 0, 9))  # a partial day: not taken
        s.close()
    resp = client.post(fill, data={"day": JUNE_DAY.isoformat()}, follow_redirects=True)
    text = page_text(resp)
    assert "заполнен из почасовых данных и передан: счётчиков — 1" in text
    assert "№ 0004" in text  # named among those without the whole day
    [(m, rows)] = _measurements(known)
    assert m.source == "hourly"
    assert [(r.meter_id, r.hours[0]) for r in rows] == [
        (known.meters["0001"], "4.0000")
    ]


def test_control_before_the_day_is_over_and_on_another_day(
    known: Readings, client: Any
) -> None:
    known.login(client, known.w.signer_a)
    early = client.post(
        url(known, "/control/fill"), data={"day": DECEMBER_DAY.isoformat()}
    )
    assert early.status_code == 422
    assert "передаётся после окончания дня замера" in page_text(early)
    page = client.get(url(known, "/control", day=DECEMBER_DAY.isoformat()))
    assert 'data-testid="control-not-open"' in page.get_data(as_text=True)
    assert client.get(url(known, "/control", day="2026-06-18")).status_code == 404
    assert client.post(url(known, "/control/fill"), data={}).status_code == 422
    assert _measurements(known) == []


def test_control_services_refuse_other_contracts_and_rights(known: Readings) -> None:
    with known.app.app_context():
        s = known.w.session()
        for user, error in (
            (known.w.signer_b, ha.NotFoundError),
            (known.w.viewer_a, ha.PermissionDeniedError),
        ):
            with pytest.raises(error):
                ha.submit_control(
                    s,
                    actor=Actor.for_user(user),
                    contract_id=known.contract_id,
                    day=JUNE_DAY,
                    values={known.meters["0001"]: [Decimal(1)] * 24},
                    source="excel",
                    today=TODAY,
                )
        with pytest.raises(ha.NotFoundError):  # a meter of no contract of A
            ha.submit_control(
                s,
                actor=Actor.for_user(known.w.signer_a),
                contract_id=known.contract_id,
                day=JUNE_DAY,
                values={uuid.uuid4(): [Decimal(1)] * 24},
                source="excel",
                today=TODAY,
            )
        s.close()
    assert _measurements(known) == []


def test_other_organisations_contract_is_not_found(
    known: Readings, client: Any
) -> None:
    world_: World = known.w
    known.login(client, world_.signer_b)
    for suffix in ("", "/export.xlsx", "/control", "/control/form.xlsx"):
        assert client.get(url(known, suffix)).status_code == 404, suffix
    assert (
        client.post(url(known, "/control/fill"), data={"day": "2026-06-17"}).status_code
        == 404
    )
    body = client.get("/readings/hourly-analysis/").get_data(as_text=True)
    assert "77-0001-ЮЛ" not in body
    own = client.get("/readings/hourly-analysis/")
    assert (
        own.status_code == 302 and str(world_.contract_b.id) in own.headers["Location"]
    )


# -- weekends and non-working days -----------------------------------------------------

NOVEMBER_WEEKENDS = {1, 7, 8, 14, 15, 21, 22, 28, 29}  # 2026
NOVEMBER_WORKDAYS = sorted(set(range(1, 31)) - NOVEMBER_WEEKENDS)


def _table(body: str, testid: str) -> str:
    return body.split(f'data-testid="{testid}"', 1)[1].split("</table>", 1)[0]


def _marked_days(table: str) -> list[int]:
    """The days (of November) of a table's rows marked as days off."""
    return [
        int(d)
        for d in re.findall(
            r'<tr[^>]*class="is-day-off"[^>]*>\s*<t[hd][^>]*>(?:<a[^>]*>)?(\d\d)\.11',
            table,
        )
    ]


def _is_day_off_fill(cell: Any) -> bool:
    return cell.fill.fill_type == "solid" and str(cell.fill.fgColor.rgb).endswith(
        "ECE8F6"
    )


def _set_peak_cells(client: Any, days: list[int]) -> None:
    resp = client.post(
        "/readings/hourly-analysis/schedule/peak",
        data={"month": "2026-11", "cell": [f"2026-11-{d:02d}:10" for d in days]},
    )
    assert resp.status_code == 302


def test_days_off_are_weekends_and_the_weekdays_left_without_peak_hours() -> None:
    assert ha.days_off(MONTH, {}) == {dt.date(2026, 11, d) for d in NOVEMBER_WEEKENDS}
    every = {dt.date(2026, 11, d): [10] for d in NOVEMBER_WORKDAYS}
    assert ha.days_off(MONTH, every) == ha.days_off(MONTH, {})
    del every[dt.date(2026, 11, 4)]  # the staff unticked a holiday
    assert ha.days_off(MONTH, every) == {
        dt.date(2026, 11, d) for d in NOVEMBER_WEEKENDS | {4}
    }


def test_page_shades_exactly_the_weekend_rows(known: Readings, client: Any) -> None:
    clerk = known.app.test_client()
    known.login(clerk, known.w.clerk)
    _set_peak_cells(clerk, NOVEMBER_WORKDAYS)  # every working day has its hour
    known.login(client, known.w.signer_a)
    body = client.get(url(known, month="2026-11")).get_data(as_text=True)
    heat = _table(body, "heatmap-table")
    assert len(re.findall(r"<tr[^>]*>\s*<th scope=\"row\"", heat)) == 30
    assert _marked_days(heat) == sorted(NOVEMBER_WEEKENDS)
    assert heat.count('class="is-day-off"') == 9
    # Planned days: Monday 02.11 is a working day, Saturday 07.11 is not.
    assert _marked_days(_table(body, "plan-days")) == [7]
    assert _marked_days(_table(body, "plan-matrix")) == [7]
    # The legend by the tables with days off: the heat map, the plan (07.11);
    # not the peak hours, all of working days.
    assert body.count("Выходные и нерабочие дни выделены") == 2
    assert "style=" not in body.split("<main", 1)[-1].split("</main>")[0]
    # The supplier unticks 04.11 (a public holiday): it is shaded as well.
    _set_peak_cells(clerk, [d for d in NOVEMBER_WORKDAYS if d != 4])
    body = client.get(url(known, month="2026-11")).get_data(as_text=True)
    assert _marked_days(_table(body, "heatmap-table")) == sorted(
        NOVEMBER_WEEKENDS | {4}
    )
    assert "выходной или нерабочий день" in _table(body, "heatmap-table")
    schedule = client.get("/readings/hourly-analysis/schedule?month=2026-11")
    grid = schedule.get_data(as_text=True).split('data-testid="peak-grid"', 1)[1]
    assert _marked_days(grid.split("</table>", 1)[0]) == sorted(NOVEMBER_WEEKENDS | {4})
    assert "Выходные и нерабочие дни выделены" in page_text(schedule)


def test_excel_export_shades_the_weekend_rows(known: Readings, client: Any) -> None:
    clerk = known.app.test_client()
    known.login(clerk, known.w.clerk)
    _set_peak_cells(clerk, NOVEMBER_WORKDAYS)
    known.login(client, known.w.signer_a)
    # At ±2 % Saturday's hour 0 (plan 5,2, fact 5) is over the threshold too.
    xlsx = client.get(url(known, "/export.xlsx", month="2026-11", threshold="2"))
    assert xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx.data))
    heat = wb["Тепловая карта"]
    for row in range(2, 32):
        day = int(str(heat.cell(row=row, column=1).value)[:2])
        is_off = day in NOVEMBER_WEEKENDS
        for col in (1, 5, 26):  # the date, an hour, the total
            assert _is_day_off_fill(heat.cell(row=row, column=col)) == is_off, (
                day,
                col,
            )
    shaded = [
        int(str(heat.cell(row=r, column=1).value)[:2])
        for r in range(2, 32)
        if _is_day_off_fill(heat.cell(row=r, column=1))
    ]
    assert shaded == sorted(NOVEMBER_WEEKENDS)
    plan = wb["План и факт"]
    dates = {int(str(plan.cell(row=r, column=1).value)[:2]): r for r in range(3, 33)}
    assert len(dates) == 30
    for day, row in dates.items():
        assert _is_day_off_fill(plan.cell(row=row, column=1)) == (
            day in NOVEMBER_WEEKENDS
        ), day
    # Over the threshold: a weekday's row is red whole; Saturday's date is
    # shaded as a day off, the rest of its row keeps the red of the deviation.
    assert plan.cell(row=dates[2], column=1).fill.fgColor.rgb.endswith("F8D7D3")
    assert plan.cell(row=dates[7], column=2).fill.fgColor.rgb.endswith("F8D7D3")
    legends = [
        c.value
        for ws in (heat, plan)
        for r in ws.iter_rows()
        for c in r
        if c.value == hx.DAY_OFF_LEGEND
    ]
    assert len(legends) == 2


# -- the uploaded control-measurement file ------------------------------------------------


def test_uploaded_control_file_is_kept_and_downloadable(
    known: Readings, client: Any
) -> None:
    store = known.w.storage
    before = set(store.iter_keys())
    known.login(client, known.w.signer_a)
    data = _filled_form(client, known, {"0001": [1.5] * 24})
    assert _upload(client, known, data, "замер июнь.xlsx").status_code == 302
    [(m, _rows)] = _measurements(known)
    assert m.blob_key and set(store.iter_keys()) - before == {m.blob_key}
    assert store.read_bytes(m.blob_key) == data
    assert m.filename == "замер июнь.xlsx" and m.file_size == len(data)
    assert m.file_sha256 == hashlib.sha256(data).hexdigest()
    page = client.get(url(known, "/control", day=JUNE_DAY.isoformat()))
    assert "Скачать загруженный файл" in page_text(page)
    assert m.file_sha256 in page.get_data(as_text=True)
    download = url(known, "/control/file", day=JUNE_DAY.isoformat())
    resp = client.get(download)
    assert resp.status_code == 200 and resp.data == data
    assert (
        resp.mimetype == hx.XLSX_TYPE
        and "attachment" in resp.headers["Content-Disposition"]
    )
    # Whoever sees the contract's control data: the viewer and the supplier.
    for who in (known.w.viewer_a, known.w.clerk):
        other = known.app.test_client()
        known.login(other, who)
        assert other.get(download).data == data
    # Another organisation's user: not found, and no link to follow.
    stranger = known.app.test_client()
    known.login(stranger, known.w.signer_b)
    assert stranger.get(download).status_code == 404
    assert (
        stranger.get(download, headers={"Accept": "application/json"}).get_json()[
            "error"
        ]["code"]
        == "not_found"
    )
    # Uploaded again: the new file is kept, the replaced one deleted.
    second = _filled_form(client, known, {"0001": [2] * 24})
    assert _upload(client, known, second).status_code == 302
    [(m2, _rows)] = _measurements(known)
    assert m2.version == 2 and m2.blob_key != m.blob_key
    assert not store.exists(m.blob_key) and store.read_bytes(m2.blob_key) == second
    assert client.get(download).data == second
    # Filled from the hourly data: no file any more, none left behind.
    with known.app.app_context():
        s = known.w.session()
        with transaction(s):
            for h in range(24):
                s.add(_value(known.ids["p1"], JUNE_DAY, h, 3))  # type: ignore[attr-defined]
        s.close()
    fill = client.post(url(known, "/control/fill"), data={"day": JUNE_DAY.isoformat()})
    assert fill.status_code == 302
    [(m3, _rows)] = _measurements(known)
    assert m3.source == "hourly" and m3.blob_key is None and m3.file_sha256 is None
    assert set(store.iter_keys()) == before
    assert client.get(download).status_code == 404
    page = client.get(url(known, "/control", day=JUNE_DAY.isoformat()))
    assert "Скачать загруженный файл" not in page_text(page)


def test_refused_control_file_leaves_no_blob_and_no_row(
    known: Readings, client: Any
) -> None:
    store = known.w.storage
    before = set(store.iter_keys())
    known.login(client, known.w.signer_a)
    bad = _filled_form(client, known, {"0001": [1] * 23 + ["-5"]})
    resp = _upload(client, known, bad)
    assert resp.status_code == 422
    assert "ничего не сохранено" in page_text(resp)
    assert "значение не может быть отрицательным" in page_text(resp)
    resp = _upload(client, known, b"not a workbook")
    assert resp.status_code == 422 and "не является книгой Excel" in page_text(resp)
    # A good form of a day not over yet: refused by the service, nothing kept.
    december = client.get(
        url(known, "/control/form.xlsx", day=DECEMBER_DAY.isoformat())
    )
    wb = load_workbook(io.BytesIO(december.data))
    for cell in next(wb[hx.CONTROL_SHEET].iter_rows(min_row=hx.CONTROL_HEADER_ROW + 1))[
        4:28
    ]:
        cell.value = 1
    out = io.BytesIO()
    wb.save(out)
    early = client.post(
        url(known, "/control/upload"),
        data={"day": DECEMBER_DAY.isoformat(), "file": (out, "декабрь.xlsx")},
        content_type="multipart/form-data",
    )
    assert early.status_code == 422
    assert "передаётся после окончания дня замера" in page_text(early)
    assert set(store.iter_keys()) == before
    assert _measurements(known) == []
    download = url(known, "/control/file", day=JUNE_DAY.isoformat())
    assert client.get(download).status_code == 404
    assert client.get(url(known, "/control/file", day="2026-06-18")).status_code == 404
    assert client.get(url(known, "/control/file", day="июнь")).status_code == 422


def test_control_file_is_removed_when_the_transaction_rolls_back(
    known: Readings,
) -> None:
    store = known.w.storage
    before = set(store.iter_keys())
    kept: list[str] = []
    with known.app.app_context():
        s = known.w.session()
        with pytest.raises(RuntimeError), transaction(s):
            m = ha.submit_control(
                s,
                actor=Actor.for_user(known.w.signer_a),
                contract_id=known.contract_id,
                day=JUNE_DAY,
                values={known.meters["0001"]: [Decimal(1)] * 24},
                source="excel",
                filename="замер.xlsx",
                file=b"PK the form",
                storage=store,
                today=TODAY,
            )
            assert m.blob_key and store.exists(m.blob_key)
            kept.append(m.blob_key)
            raise RuntimeError("the commit failed")
        s.close()
    assert kept and not store.exists(kept[0])
    assert set(store.iter_keys()) == before
    assert _measurements(known) == []


# -- demo ----------------------------------------------------------------------------------


def test_demo_seed_is_idempotent(app: Any) -> None:
    with app.app_context():
        world_ = create_demo_world()  # runs every module's seed, this one too
        s = app.extensions["docflow"].sessionmaker()
        counts = [
            s.scalar(select(func.count()).select_from(m))
            for m in (PeakHour, ControlMeasurement, PlannedRequest)
        ]
        with transaction(s):
            seed_demo(s, world_)
        again = [
            s.scalar(select(func.count()).select_from(m))
            for m in (PeakHour, ControlMeasurement, PlannedRequest)
        ]
        contract = world_["hourly_analysis"]["contract_id"]
        month = dt.date.fromisoformat(world_["hourly_analysis"]["month"])
        signer = s.scalar(select(User).where(User.email == "signer@romashka.example"))
        a = ha.analyse(
            s,
            actor=Actor.for_user(signer),
            contract_id=uuid.UUID(contract),
            filters=ha.Filters(month=month),
        )
        s.close()
    assert counts == again and counts[0] and counts[1]
    assert not a.grid.is_empty and a.peaks.with_data and a.plan.hours_over
    assert a.control_measurement is not None
