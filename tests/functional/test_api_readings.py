"""Readings through the API (scope ``readings``): meters, values with per-row
errors, the ПРОМ10 act as a file and sent to be signed."""

from __future__ import annotations

import datetime as dt

import schemathesis

from docflow.api.openapi import openapi_spec
from docflow.readings import calc
from tests.functional.api_support import api_for, error_code
from tests.functional.test_readings_world import PERIOD_KEY, Readings, readings
from tests.functional.world import keys, world

__all__ = ["keys", "readings", "world"]

CONTRACT = "/contracts/77-0001-ЮЛ"


def _conforms(path: str, method: str, resp: object) -> None:
    """The answer is the one the OpenAPI description promises."""

    schema = schemathesis.openapi.from_dict(openapi_spec())
    schema[path][method].validate_response(resp)


def test_meters_values_and_the_act_through_the_api(readings: Readings) -> None:
    w = readings.w
    api = api_for(w, w.org_a, "read,write,readings")
    sheet = api.get(f"{CONTRACT}/meters")
    assert sheet.status_code == 200, sheet.get_json()
    _conforms("/contracts/{number}/meters", "GET", sheet)
    body = sheet.get_json()
    assert body["period"] == PERIOD_KEY and body["window_open"] is True
    by_number = {m["number"]: m for m in body["meters"]}
    assert by_number["0001"]["previous"] == 123_456
    assert by_number["0001"]["ratio"] == 40
    assert by_number["0003"]["can_read"] is False

    submitted = api.post(
        f"{CONTRACT}/readings",
        json={
            "rows": [
                {"meter": "0001", "value": 123_500},
                {"meter": "0003", "value": "5"},
                {"meter": "9999", "value": 1},
                {"meter": "0005", "value": "abc"},
            ]
        },
    )
    assert submitted.status_code == 200, submitted.get_json()
    _conforms("/contracts/{number}/readings", "POST", submitted)
    result = submitted.get_json()
    assert result["saved"] == 1 and result["sent"] == 0
    assert [r["ok"] for r in result["rows"]] == [True, False, False, False]
    assert "не исправен" in result["rows"][1]["error"]
    assert readings.reading("0001").value == 123_500  # type: ignore[union-attr]

    sent = api.post(
        f"{CONTRACT}/readings",
        json={
            "period": PERIOD_KEY,
            "send": True,
            "rows": [{"meter": "0002", "value": 100}],
        },
    )
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["sent"] == 2  # 0001 saved before, 0002 now

    for fmt, mimetype in (
        ("pdf", "application/pdf"),
        (
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ):
        act = api.get(f"{CONTRACT}/prom10?period={PERIOD_KEY}&format={fmt}&filled=true")
        assert act.status_code == 200, (fmt, act.get_data()[:200])
        assert act.mimetype == mimetype
        _conforms("/contracts/{number}/prom10", "GET", act)
    blank = api.get(f"{CONTRACT}/prom10?period={PERIOD_KEY}&filled=false")
    assert blank.status_code == 200 and blank.data.startswith(b"%PDF-")

    doc = api.post(f"{CONTRACT}/prom10/send?period={PERIOD_KEY}")
    assert doc.status_code == 201, doc.get_json()
    _conforms("/contracts/{number}/prom10/send", "POST", doc)
    assert doc.get_json()["type"] == "prom10"
    assert doc.get_json()["status"] == "awaiting"
    fetched = api.get(f"/documents/{doc.get_json()['id']}")
    assert fetched.status_code == 200


def test_readings_answers_for_bad_requests(readings: Readings) -> None:
    w = readings.w
    api = api_for(w, w.org_a, "read,readings")
    for resp, status, code in (
        (api.get(f"{CONTRACT}/meters?period=2026-13"), 422, "validation_error"),
        (api.get(f"{CONTRACT}/prom10"), 422, "validation_error"),
        (
            api.get(f"{CONTRACT}/prom10?period={PERIOD_KEY}&format=odt"),
            422,
            "validation_error",
        ),
        (
            api.get(f"{CONTRACT}/prom10?period={PERIOD_KEY}&filled=maybe"),
            422,
            "validation_error",
        ),
        (api.get("/contracts/00-0000-ЮЛ/meters"), 404, "not_found"),
        (api.post(f"{CONTRACT}/readings", json={"rows": []}), 422, "validation_error"),
        (
            api.post(f"{CONTRACT}/readings", json={"rows": [{"meter": 1}]}),
            422,
            "validation_error",
        ),
        (
            api.post(
                f"{CONTRACT}/readings",
                json={"rows": [{"meter": "0001", "value": True}]},
            ),
            422,
            "validation_error",
        ),
        (
            api.post(
                f"{CONTRACT}/readings",
                json={"rows": [{"meter": "0001", "value": 1}], "send": "yes"},
            ),
            422,
            "validation_error",
        ),
        (api.post(f"{CONTRACT}/prom10/send?period={PERIOD_KEY}"), 403, "forbidden"),
    ):
        assert resp.status_code == status, resp.get_json()
        assert error_code(resp) == code
    # Outside the submission window nothing is taken.
    readings.set_now(dt.datetime(2026, 11, 28, 12, 0, tzinfo=calc.MSK))
    closed = api.post(
        f"{CONTRACT}/readings", json={"rows": [{"meter": "0001", "value": 1}]}
    )
    assert closed.status_code == 422 and error_code(closed) == "window_closed"


def test_readings_access_by_scope_and_organisation(readings: Readings) -> None:
    w = readings.w
    no_scope = api_for(w, w.org_a, "read,write,sign")
    resp = no_scope.get(f"{CONTRACT}/meters")
    assert resp.status_code == 403 and error_code(resp) == "forbidden"
    other = api_for(w, w.org_b, "read,write,readings")
    for resp in (
        other.get(f"{CONTRACT}/meters"),
        other.post(
            f"{CONTRACT}/readings", json={"rows": [{"meter": "0001", "value": 1}]}
        ),
        other.get(f"{CONTRACT}/prom10?period={PERIOD_KEY}"),
        other.post(f"{CONTRACT}/prom10/send?period={PERIOD_KEY}"),
    ):
        assert resp.status_code == 404 and error_code(resp) == "not_found"
    supplier = api_for(w, None, "read,readings")
    assert supplier.get(f"{CONTRACT}/meters").status_code == 200
