"""``GET /contracts/{number}/hourly/analysis`` on PostgreSQL and SQLite: the
figures of the hourly analysis page through the API — equal to what the
service computes for the same filters, and by hand for a month uploaded
through the API (a CSV of hourly values and a ППП); the filters; the access
matrix (own contract, another organisation's, a key without ``read``, the
supplier's key); malformed parameters refused with ``validation_error`` and
a Russian message naming the parameter, never a 500."""

from __future__ import annotations

import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import schemathesis
from sqlalchemy import update

from docflow.api.models import ApiKey
from docflow.api.openapi import openapi_spec
from docflow.db import transaction
from docflow.readings import hourly_analysis as ha
from docflow.readings import planned_services as ps
from tests.factories import make_api_key
from tests.functional.api_support import Api, api_for, error_code
from tests.functional.test_hourly_analysis import (
    MONDAY,
    SATURDAY,
    TUESDAY,
    analyse,
    known,
)
from tests.functional.test_readings_world import Readings, keys, readings, world

__all__ = ["keys", "known", "readings", "world"]

PATH = "/contracts/{number}/hourly/analysis"
URL = "/contracts/77-0001-ЮЛ/hourly/analysis"
FOUR = Decimal("0.0001")


def _conforms(resp: Any) -> None:
    """The answer is the one the OpenAPI description promises."""
    schema = schemathesis.openapi.from_dict(openapi_spec())
    schema[PATH]["GET"].validate_response(resp)


def _get(api: Api, **query: str) -> Any:
    resp = api.get(URL, query_string=query)
    assert resp.status_code == 200, resp.get_json()
    _conforms(resp)
    return resp.get_json()


def q(value: Decimal | None) -> Decimal | None:
    """The service's figure as the answer writes it (four decimals)."""
    return None if value is None else value.quantize(FOUR, rounding=ROUND_HALF_UP)


def d(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _equals_the_service(body: dict[str, Any], a: ha.Analysis) -> None:
    """Every figure of the answer against ``a``, the service's analysis."""
    assert body["month"] == f"{a.month:%Y-%m}"
    assert body["channel"] == a.scope.filters.channel
    assert body["points"] == len(a.scope.chosen)
    totals = body["totals"]
    assert d(totals["total"]) == q(a.grid.total)
    assert totals["days_with_data"] == a.grid.days_with_data
    assert d(totals["mean"]) == q(a.grid.mean)
    top = a.grid.maximum
    if top is None:
        assert totals["maximum"] is None
    else:
        assert totals["maximum"] == {
            "day": top[0].isoformat(),
            "hour": top[1],
            "value": totals["maximum"]["value"],
        }
        assert d(totals["maximum"]["value"]) == q(top[2])
    assert [d(v) for v in body["hour_totals"]] == [q(v) for v in a.grid.hour_totals()]
    day_totals = a.grid.day_totals()
    assert [x["day"] for x in body["days"]] == [x.isoformat() for x in a.grid.days]
    for row, day in zip(body["days"], a.grid.days, strict=True):
        assert row["workday"] is not a.is_day_off(day)
        assert d(row["total"]) == q(day_totals.get(day))
        assert [d(v) for v in row["hours"]] == [
            q(a.grid.get(day, h)) for h in range(24)
        ]
        assert row["peak_hours"] == a.peaks.hours.get(day, [])
    p = body["profile"]
    assert p["day"] == (a.profile.day.isoformat() if a.profile.day else None)
    for name in ("values", "workdays", "weekends"):
        assert [d(v) for v in p[name]] == [q(v) for v in getattr(a.profile, name)]
    assert d(p["day_total"]) == q(a.profile.day_total)
    assert (p["workday_count"], p["weekend_count"]) == (
        a.profile.workday_count,
        a.profile.weekend_count,
    )
    peaks = body["peaks"]
    assert (peaks["is_set"], peaks["count"], peaks["with_data"], peaks["missing"]) == (
        a.peaks.is_set,
        a.peaks.count,
        a.peaks.with_data,
        a.peaks.missing,
    )
    for name in ("total", "average", "maximum"):
        assert d(peaks[name]) == q(getattr(a.peaks, name)), name
    plan = body["plan"]
    assert d(plan["threshold"]) == a.plan.threshold
    assert plan["has_plan"] is a.plan.has_plan
    assert plan["compared_hours"] == a.plan.compared_hours
    assert plan["hours_over"] == a.plan.hours_over
    for name in ("plan_total", "fact_total", "deviation", "percent"):
        assert d(plan[name]) == q(getattr(a.plan, name)), name
    assert [x["day"] for x in plan["days"]] == [
        x.day.isoformat() for x in a.plan.planned_days
    ]
    for row, day in zip(plan["days"], a.plan.planned_days, strict=True):
        assert (row["status"], row["version"], row["hours_over"]) == (
            day.status,
            day.version,
            day.hours_over,
        )
        assert row["over_threshold"] is (day.hours_over > 0)
        assert row["workday"] is not a.is_day_off(day.day)
        assert row["hours_with_fact"] == day.hours_with_fact
        for name in ("plan_total", "fact_total", "deviation", "percent"):
            assert d(row[name]) == q(getattr(day, name)), name
        for hour, h in zip(row["hours"], day.hours, strict=True):
            assert hour["hour"] == h.hour
            assert hour["over_threshold"] is h.is_over
            for name in ("plan", "fact", "deviation", "percent"):
                assert d(hour[name]) == q(getattr(h, name)), name


# -- the figures -----------------------------------------------------------------------


def test_the_answer_is_the_services_analysis(known: Readings) -> None:
    body = _get(api_for(known.w, known.w.org_a, "read"), month="2026-11")
    _equals_the_service(body, analyse(known))
    # By hand (test_hourly_analysis' world): P1 v2 20+h on Monday (v1 ignored)
    # + P2 1 on Monday, P2 2 on Tuesday, P1 5 on Saturday.
    assert body["contract"] == "77-0001-ЮЛ" and body["units"] == "кВт·ч"
    assert body["point"] is None and body["points"] == 2
    assert body["totals"]["total"] == "948"  # 780 + 48 + 120
    assert body["totals"]["maximum"] == {
        "day": MONDAY.isoformat(),
        "hour": 23,
        "value": "44",
    }
    assert body["totals"]["mean"] == "13.1667"  # 948 / 72 hours
    by_day = {x["day"]: x for x in body["days"]}
    assert by_day[TUESDAY.isoformat()]["total"] == "48"
    assert by_day["2026-11-04"]["total"] is None
    # Working days as the page marks them: the month has peak hours (02–04.11),
    # so a weekday the supplier left without them is a day off too.
    workdays = [x["day"] for x in body["days"] if x["workday"]]
    assert workdays == ["2026-11-02", "2026-11-03", "2026-11-04"]
    assert by_day[MONDAY.isoformat()]["peak_hours"] == [10]
    assert body["profile"]["day"] == MONDAY.isoformat()
    assert body["profile"]["values"][3] == "24"
    assert body["profile"]["workdays"][3] == "13"  # (24 + 2) / 2
    assert body["profile"]["weekends"][3] == "5"
    assert body["peaks"]["average"] == "16.5"  # (31 + 2) / 2; 04.11 has no data
    assert body["peaks"]["missing"] == 1
    plan = body["plan"]
    assert [x["day"] for x in plan["days"]] == [
        MONDAY.isoformat(),
        SATURDAY.isoformat(),
    ]  # the draft of Tuesday counts for nothing
    monday, saturday = plan["days"]
    assert (monday["plan_total"], monday["fact_total"], monday["deviation"]) == (
        "737",
        "780",
        "43",
    )
    assert monday["status"] == "submitted" and monday["status_title"] == "Подана"
    assert monday["hours_over"] == 2 and monday["over_threshold"] is True
    assert monday["hours"][10] == {
        "hour": 10,
        "plan": "20",
        "fact": "31",
        "deviation": "11",
        "percent": "55",
        "over_threshold": True,
    }
    assert monday["hours"][11]["percent"] is None  # planned at zero: still over
    assert monday["hours"][11]["over_threshold"] is True
    assert saturday["hours"][0]["deviation"] == "-0.2"
    assert saturday["over_threshold"] is False
    assert (plan["plan_total"], plan["fact_total"]) == ("857.2", "900")


@pytest.mark.parametrize(
    ("query", "service", "total"),
    [
        ({"point": "P1"}, {"point": "p1"}, "876"),
        ({"point": " P2 "}, {"point": "p2"}, "72"),
        ({"channel": "R+"}, {"channel": "R+"}, "168"),
        ({"threshold": "20"}, {"threshold": Decimal(20)}, "948"),
        ({"threshold": "2", "day": "2026-11-03"}, {"threshold": Decimal(2)}, "948"),
    ],
)
def test_filters_are_the_pages(
    known: Readings, query: dict[str, str], service: dict[str, Any], total: str
) -> None:
    body = _get(api_for(known.w, known.w.org_a, "read"), month="2026-11", **query)
    kw = dict(service)
    if "point" in kw:
        kw["point_id"] = known.ids[kw.pop("point")]  # type: ignore[attr-defined]
    if "day" in query:
        kw["day"] = dt.date.fromisoformat(query["day"])
    a = analyse(known, **kw)
    _equals_the_service(body, a)
    assert body["totals"]["total"] == total
    assert body["point"] == (query["point"].strip() if "point" in query else None)
    # The plan is the contract's A+ whatever the filters.
    assert body["plan"]["fact_total"] == "900"


def test_threshold_changes_the_flags(known: Readings) -> None:
    api = api_for(known.w, known.w.org_a, "read")
    loose = _get(api, month="2026-11", threshold="20")["plan"]["days"][1]
    strict = _get(api, month="2026-11", threshold="2")["plan"]["days"][1]
    # Saturday hour 0: planned 5.2, fact 5: −3.85 %, over ±2 %, within ±20 %.
    assert strict["hours"][0]["percent"] == "-3.8462"
    assert strict["hours"][0]["over_threshold"] is True
    assert strict["over_threshold"] is True and strict["hours_over"] == 1
    assert loose["hours"][0]["over_threshold"] is False
    assert loose["over_threshold"] is False


def test_default_month_is_the_last_one_and_may_be_empty(known: Readings) -> None:
    body = _get(api_for(known.w, known.w.org_a, "read"))  # today: 20.11.2026
    assert body["month"] == "2026-10"
    assert body["totals"] == {
        "total": "0",
        "days_with_data": 0,
        "maximum": None,
        "mean": None,
    }
    assert len(body["days"]) == 31 and body["days"][0]["hours"] == [None] * 24
    assert body["profile"]["day"] is None
    assert body["plan"]["has_plan"] is False and body["plan"]["days"] == []
    assert body["peaks"]["is_set"] is False and body["peaks"]["average"] is None


def test_a_month_uploaded_through_the_api_adds_up(readings: Readings) -> None:
    """Hand-checkable: a CSV of hourly values (meter 0001: its point is made)
    and a ППП, both filed through the API."""
    w = readings.w
    api = api_for(w, w.org_a, "read,readings")
    csv = "Точка;Канал;Дата;Час;Значение\n" + "".join(
        f"0001;A+;{day};{h};{value}\n"
        for day, value in (("05.10.2026", "1,25"), ("10.10.2026", "2,5"))
        for h in range(24)
    )
    sent = api.post(
        "/contracts/77-0001-ЮЛ/hourly",
        data={"file": (io.BytesIO(csv.encode()), "october.csv")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 201, sent.get_json()
    w.app.config["PLANNED_NOW"] = dt.datetime(2026, 10, 1, 9, tzinfo=ps.MSK)
    try:
        filed = api.client.put(
            "/api/v1/contracts/77-0001-ЮЛ/planned/2026-10-05",
            json={"hours": ["1.2"] * 24},
            headers={"Authorization": f"Bearer {api.key}"},
        )
    finally:
        w.app.config.pop("PLANNED_NOW", None)
    assert filed.status_code == 201, filed.get_json()

    body = _get(api, month="2026-10", point="0001")
    assert body["totals"]["total"] == "90"  # 24 × 1.25 + 24 × 2.5
    assert body["totals"]["days_with_data"] == 2
    assert body["totals"]["mean"] == "1.875"  # 90 / 48
    by_day = {x["day"]: x for x in body["days"]}
    assert by_day["2026-10-05"]["total"] == "30" and by_day["2026-10-05"]["workday"]
    assert by_day["2026-10-10"]["total"] == "60"
    assert by_day["2026-10-10"]["workday"] is False  # a Saturday
    assert body["hour_totals"] == ["3.75"] * 24
    assert body["profile"]["workdays"] == ["1.25"] * 24
    assert body["profile"]["weekends"] == ["2.5"] * 24
    (day,) = body["plan"]["days"]
    assert (day["day"], day["plan_total"], day["fact_total"]) == (
        "2026-10-05",
        "28.8",
        "30",
    )
    assert (day["deviation"], day["percent"]) == ("1.2", "4.1667")  # 1.2 / 28.8
    assert day["over_threshold"] is False and day["hours_over"] == 0  # ±5 %
    strict = _get(api, month="2026-10", threshold="2")["plan"]["days"][0]
    assert strict["hours_over"] == 24 and strict["over_threshold"] is True


# -- access ----------------------------------------------------------------------------


def test_access_matrix(known: Readings) -> None:
    w = known.w
    assert _get(api_for(w, w.org_a, "read"), month="2026-11")["points"] == 2
    assert _get(api_for(w, None, "read"), month="2026-11")["points"] == 2  # supplier
    other = api_for(w, w.org_b, "read,readings")
    for query in ({}, {"month": "2026-11"}, {"point": "P1"}):
        resp = other.get(URL, query_string=query)
        assert resp.status_code == 404, resp.get_json()
        assert error_code(resp) == "not_found"
        # Not a word of the point: B learns nothing of A's contract.
        assert resp.get_json()["error"]["message"] == "Договор не найден."
    own_b = other.get("/contracts/50-0100-ЮЛ/hourly/analysis")
    assert own_b.status_code == 200, own_b.get_json()
    unknown = api_for(w, w.org_a, "read").get("/contracts/00-0000/hourly/analysis")
    assert unknown.status_code == 404 and error_code(unknown) == "not_found"
    point = api_for(w, w.org_a, "read").get(URL, query_string={"point": "P9"})
    assert point.status_code == 404 and error_code(point) == "not_found"


def test_a_key_without_read_is_forbidden(known: Readings) -> None:
    """Every key is given ``read`` (parse_scopes); one stored without it — an
    old row — is refused before anything is read."""
    app = known.app
    with app.app_context():
        s = known.w.session()
        with transaction(s):
            made = make_api_key(s, organisation=s.merge(known.w.org_a))
            s.execute(
                update(ApiKey).where(ApiKey.id == made.key.id).values(scopes="readings")
            )
        s.close()
    resp = Api(app.test_client(), made.secret).get(URL)
    assert resp.status_code == 403, resp.get_json()
    assert error_code(resp) == "forbidden"
    assert resp.get_json()["error"]["details"] == {"required_scope": "read"}


# -- malformed parameters ------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"month": "2026-13"}, "month", "Параметр «month»: ожидается месяц ГГГГ-ММ."),
        ({"month": "11.2026"}, "month", "Параметр «month»: ожидается месяц ГГГГ-ММ."),
        (
            {"month": "2026-11-01"},
            "month",
            "Параметр «month»: ожидается месяц ГГГГ-ММ.",
        ),
        (
            {"month": "1999-12"},
            "month",
            "Параметр «month»: месяц вне допустимого диапазона.",
        ),
        ({"month": ""}, "month", "Параметр «month»: ожидается месяц ГГГГ-ММ."),
        ({"channel": "B+"}, "channel", "Параметр «channel»: A+, A-, R+ или R-."),
        ({"channel": "r+"}, "channel", "Параметр «channel»: A+, A-, R+ или R-."),
        ({"channel": ""}, "channel", "Параметр «channel»: A+, A-, R+ или R-."),
        # «+» unencoded in a query is a space: a clear refusal, not A+.
        ({"channel": "A "}, "channel", "Параметр «channel»: A+, A-, R+ или R-."),
        (
            {"threshold": "7"},
            "threshold",
            "Параметр «threshold»: одно из 2, 5, 10, 20.",
        ),
        (
            {"threshold": "5.0"},
            "threshold",
            "Параметр «threshold»: одно из 2, 5, 10, 20.",
        ),
        ({"day": "2026-11-31"}, "day", "Параметр «day»: ожидается дата ГГГГ-ММ-ДД."),
        ({"day": "tomorrow"}, "day", "Параметр «day»: ожидается дата ГГГГ-ММ-ДД."),
        ({"day": ""}, "day", "Параметр «day»: ожидается дата ГГГГ-ММ-ДД."),
        ({"threshold": ""}, "threshold", "Параметр «threshold»: одно из 2, 5, 10, 20."),
        (
            {"month": "2026-11", "day": "2026-12-01"},
            "day",
            "Параметр «day»: день должен быть в месяце «ноябрь 2026 г.».",
        ),
        ({"point": "P" * 31}, "point", "Параметр «point» длиннее 30 символов."),
    ],
)
def test_malformed_parameters_are_refused_by_name(
    known: Readings, query: dict[str, str], field: str, message: str
) -> None:
    resp = api_for(known.w, known.w.org_a, "read").get(URL, query_string=query)
    assert resp.status_code == 422, resp.get_json()
    assert error_code(resp) == "validation_error"
    error = resp.get_json()["error"]
    assert error["message"] == message
    assert error["details"]["field"] == field


def test_an_unknown_parameter_is_refused(known: Readings) -> None:
    resp = api_for(known.w, known.w.org_a, "read").get(
        URL, query_string={"from": "2026-11-01", "to": "2026-11-30"}
    )
    assert resp.status_code == 422 and error_code(resp) == "validation_error"
    details = resp.get_json()["error"]["details"]
    assert details["unknown"] == ["from", "to"]
    assert details["allowed"] == ["channel", "day", "month", "point", "threshold"]
