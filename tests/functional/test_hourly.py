"""Hourly volumes: the three formats round-trip, a real-shaped 80020 file
(half-hours, statuses, windows-1251), refused files (DOCTYPE/ENTITY, per-row
errors: nothing taken), versions of a repeated period, the pages and the API
with their access matrix, and the demo seed."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from docflow.db import transaction
from docflow.readings import hourly_formats as fmt
from docflow.readings import hourly_services as hs
from docflow.readings.hourly_models import (
    Channel,
    HourlyPoint,
    HourlyUpload,
    HourlyValue,
)
from tests.functional.test_readings_world import Readings, keys, readings, world

__all__ = ["keys", "readings", "world"]

CODE = "770000000000000101"
DAY = dt.date(2026, 11, 3)
MONTH = dt.date(2026, 11, 1)


def real_80020(day: dt.date = DAY, code: str = CODE, status_half: str = "1") -> bytes:
    """Shaped as the market operator's files are: windows-1251, a sender and
    an area with INN, 48 half-hour periods, a non-zero status on one."""
    periods = []
    for i in range(48):
        start = f"{i // 2:02d}{30 * (i % 2):02d}"
        end = f"{((i + 1) // 2) % 24:02d}{30 * ((i + 1) % 2):02d}"
        status = status_half if i == 3 else "0"
        periods.append(
            f'      <period start="{start}" end="{end}" summer="0">\n'
            f'        <value status="{status}">{100 + i}</value>\n'
            "      </period>"
        )
    body = "\n".join(periods)
    xml = f"""<?xml version="1.0" encoding="windows-1251"?>
<message class="80020" version="2" number="17">
  <datetime>
    <timestamp>{day:%Y%m%d}235959</timestamp>
    <daylightsavingtime>0</daylightsavingtime>
    <day>{day:%Y%m%d}</day>
  </datetime>
  <sender>
    <inn>7701234567</inn>
    <name>ООО «Ромашка»</name>
  </sender>
  <area timezone="1">
    <inn>7701234567</inn>
    <name>ООО «Ромашка»</name>
    <measuringpoint code="{code}" name="Цех, ввод 1 (ТП-12)">
      <measuringchannel code="01" desc="Активная энергия, прием">
{body}
      </measuringchannel>
      <measuringchannel code="03" desc="Реактивная энергия, прием">
{body}
      </measuringchannel>
    </measuringpoint>
  </area>
</message>
"""
    return xml.encode("cp1251")


def add_point(r: Readings, code: str = CODE, meter: str = "0001") -> uuid.UUID:
    with r.app.app_context():
        s = r.w.session()
        with transaction(s):
            p = HourlyPoint(
                contract_id=r.contract_id,
                meter_id=r.meters[meter],
                object_id=r.objects["ОБ-1"],
                code=code,
                name="Цех, ввод 1",
            )
            s.add(p)
            s.flush()
            pid = p.id
        s.close()
    return pid


def take(r: Readings, name: str, data: bytes) -> HourlyUpload:
    from docflow.contracts.models import Contract

    with r.app.app_context():
        s = r.w.session()
        with transaction(s):
            up = hs.take_file(s, s.get(Contract, r.contract_id), name, data)
            s.flush()
        s.refresh(up)
        s.expunge(up)
        s.close()
    return up


def stored(
    r: Readings,
    point_id: uuid.UUID,
    channel: Channel = Channel.AP,
    first: dt.date = MONTH,
    last: dt.date = dt.date(2026, 11, 30),
) -> list[hs.HourValue]:
    with r.app.app_context():
        s = r.w.session()
        out = hs.values(s, point_id, channel, first, last)
        s.close()
    return out


def count_rows(r: Readings) -> int:
    with r.app.app_context():
        s = r.w.session()
        n = s.scalar(select(func.count()).select_from(HourlyValue))
        s.close()
    return int(n or 0)


# -- formats -------------------------------------------------------------------------


def test_real_80020_half_hours_summed_with_status() -> None:
    parsed = fmt.parse_80020("80020.xml", real_80020())
    assert not parsed.errors
    assert len(parsed.rows) == 48  # 24 hours × 2 channels
    first = [x for x in parsed.rows if x.channel == Channel.AP]
    assert first[0].value == Decimal(100 + 101)
    assert first[1].value == Decimal(102 + 103) and first[1].status == 1
    assert first[2].status == 0
    assert first[23].hour == 23 and first[23].value == Decimal(146 + 147)
    assert parsed.names[CODE] == "Цех, ввод 1 (ТП-12)"


def test_three_formats_round_trip() -> None:
    rows = fmt.parse_80020("a.xml", real_80020()).rows
    plain = [(x.point, x.channel, x.day, x.hour, x.value) for x in rows]
    back_csv = fmt.parse_csv("a.csv", fmt.write_csv(rows))
    assert not back_csv.errors
    assert [
        (x.point, x.channel, x.day, x.hour, x.value) for x in back_csv.rows
    ] == plain
    values = {(x.point, x.channel, x.day, x.hour): x.value for x in rows}
    book = fmt.write_xlsx(
        MONTH, [(CODE, "Цех", Channel.AP), (CODE, "Цех", Channel.RP)], values
    )
    back_xlsx = fmt.parse_xlsx("a.xlsx", book)
    assert not back_xlsx.errors
    assert sorted(
        (x.point, x.channel.value, x.day, x.hour, x.value) for x in back_xlsx.rows
    ) == sorted((p, c.value, d, h, v) for p, c, d, h, v in plain)
    written = fmt.write_80020(DAY, [(CODE, "Цех", {Channel.AP: [1] * 48})])
    assert all(x.value == 2 for x in fmt.parse_80020("b.xml", written).rows)


@pytest.mark.parametrize(
    "payload",
    [
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x "y">]><message class="80020"/>',
        b'<?xml version="1.0"?><!DOCTYPE m SYSTEM "http://evil.example/x.dtd">'
        b'<message class="80020"/>',
        b'<?xml version="1.0"?><!doctype m [<!entity a "aaaa"><!entity b "&a;&a;&a;">]>'
        b'<message class="80020">&b;</message>',
        '<?xml version="1.0" encoding="utf-16"?><message class="80020"/>'.encode(
            "utf-16"
        ),
    ],
)
def test_entity_attacks_refused(payload: bytes) -> None:
    with pytest.raises(fmt.FileRefused):
        fmt.parse_file("evil.xml", payload)


def test_bad_rows_named() -> None:
    xml = real_80020().replace(
        b'<value status="0">110</value>', b'<value status="0">abc</value>'
    )
    parsed = fmt.parse_80020("f.xml", xml)
    assert parsed.errors
    assert parsed.errors[0].point == CODE and parsed.errors[0].row > 0
    assert "не число" in str(parsed.errors[0])
    bad_csv = (
        "Точка;Канал;Дата;Час;Значение\nX1;A+;03.11.2026;24;5\nX1;Q;03.11.2026;1;5\n"
    )
    errors = fmt.parse_csv("f.csv", bad_csv.encode()).errors
    assert [e.row for e in errors] == [2, 3]


# -- loading -------------------------------------------------------------------------


def test_load_80020_and_new_version(readings: Readings) -> None:
    pid = add_point(readings)
    up = take(readings, "80020_20261103.xml", real_80020())
    assert up.is_accepted and up.values_taken == 48 and up.file_format == "80020"
    got = stored(readings, pid)
    assert len(got) == 24 and got[1].value == Decimal(205) and got[1].status == 1
    again = real_80020().replace(
        b'<value status="0">100</value>', b'<value status="0">900</value>'
    )
    up2 = take(readings, "80020_20261103.xml", again)
    assert up2.is_accepted
    got = stored(readings, pid)
    assert len(got) == 24  # not duplicated: the newest version counts
    assert got[0].value == Decimal(900 + 101) and got[0].version == 2
    assert count_rows(readings) == 96  # the history of versions is kept
    with readings.app.app_context():
        s = readings.w.session()
        profile = hs.day_profile(s, pid, Channel.AP, MONTH, dt.date(2026, 11, 30))
        table = hs.month_table(s, pid, Channel.AP, MONTH)
        s.close()
    assert profile[0] == Decimal(1001) and table.total == sum(profile)


def test_bad_file_takes_nothing(readings: Readings) -> None:
    add_point(readings)
    unknown = fmt.write_80020(DAY, [("999", "Чужая", {Channel.AP: [1] * 48})])
    csv_text = (
        "Точка;Канал;Дата;Час;Значение\n"
        f"{CODE};A+;03.11.2026;0;5\n"
        f"{CODE};A+;03.11.2026;1;-5\n"
    )
    for name, data in [
        ("bad.xml", unknown),
        ("bad.csv", csv_text.encode()),
        ("evil.xml", b'<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>'),
        (
            "dup.csv",
            (csv_text.rsplit("\n", 2)[0] + f"\n{CODE};A+;03.11.2026;0;6\n").encode(),
        ),
    ]:
        up = take(readings, name, data)
        assert not up.is_accepted and up.errors, name
        assert up.values_taken == 0
    assert count_rows(readings) == 0
    with readings.app.app_context():
        s = readings.w.session()
        assert s.scalar(select(func.count()).select_from(HourlyUpload)) == 4
        assert s.scalar(select(func.count()).select_from(HourlyPoint)) == 1
        s.close()


def test_meter_number_makes_a_point_and_excel_template(readings: Readings) -> None:
    book = fmt.write_xlsx(
        MONTH,
        [("0002", "Цех", Channel.AP)],
        {("0002", Channel.AP, DAY, 5): Decimal("12.5")},
    )
    up = take(readings, "форма.xlsx", book)
    assert up.is_accepted and up.values_taken == 1
    with readings.app.app_context():
        s = readings.w.session()
        point = s.scalar(select(HourlyPoint).where(HourlyPoint.code == "0002"))
        assert point is not None and point.meter_id == readings.meters["0002"]
        s.close()


def test_cp1251_and_utf8_csv(readings: Readings) -> None:
    pid = add_point(readings)
    text = f"Точка;Канал;Дата;Час;Значение;Статус\n{CODE};А+;03.11.2026;7;1,5;0\n"
    for enc in ("cp1251", "utf-8-sig"):
        assert take(readings, "ч.csv", text.encode(enc)).is_accepted
    got = stored(readings, pid)
    assert got[0].value == Decimal("1.5") and got[0].version == 2


def test_two_loads_at_once(readings: Readings) -> None:
    add_point(readings)
    data = real_80020()
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(take(readings, "a.xml", data).is_accepted)
        except Exception as exc:  # noqa: BLE001 - reported below
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(x is True or "locked" in str(x) for x in results), results
    assert count_rows(readings) in (48, 96)


def page_text(resp: Any) -> str:
    body = re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))
    return re.sub(r"\s+", " ", body)


# -- pages ---------------------------------------------------------------------------


def post_file(client: Any, r: Readings, data: bytes, name: str) -> Any:
    return client.post(
        f"/readings/hourly/{r.contract_id}/upload",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_page_upload_table_and_template(readings: Readings, client: Any) -> None:
    pid = add_point(readings)
    readings.login(client, readings.w.signer_a)
    page = client.get("/readings/hourly/")
    assert page.status_code == 200 and "Почасовые объёмы" in page_text(page)
    resp = post_file(client, readings, real_80020(), "80020.xml")
    text = page_text(resp)
    assert "принят" in text and "Значений: 48" in text
    month = client.get(
        f"/readings/hourly/?contract={readings.contract_id}&point={pid}"
        "&channel=A%2B&month=2026-11"
    )
    body = month.get_data(as_text=True)
    assert 'data-testid="hourly-grid"' in body
    assert re.search(r'data-testid="hourly-total">5\u00a0928', body)  # 100+…+147
    bad = post_file(client, readings, b"<!DOCTYPE a []><a/>", "evil.xml")
    assert "ничего не сохранено" in page_text(bad) and "DOCTYPE" in page_text(bad)
    xlsx = client.get(
        f"/readings/hourly/{readings.contract_id}/template.xlsx?month=2026-11"
    )
    assert xlsx.status_code == 200 and xlsx.mimetype == fmt.XLSX_TYPE
    parsed = fmt.parse_xlsx("t.xlsx", xlsx.data)
    assert parsed.rows == [] and any(CODE in str(e) or e for e in parsed.errors)
    one = client.get(
        f"/readings/hourly/{readings.contract_id}/template.xlsx"
        f"?object={readings.objects['ОБ-2']}"
    )
    assert one.status_code == 200


@pytest.mark.parametrize(
    ("who", "see", "upload"),
    [
        ("signer_a", 200, 200),
        ("viewer_a", 200, 403),
        ("signer_b", 404, 404),
        ("clerk", 200, 200),
    ],
)
def test_page_access(
    readings: Readings, client: Any, who: str, see: int, upload: int
) -> None:
    readings.login(client, getattr(readings.w, who))
    url = f"/readings/hourly/?contract={readings.contract_id}"
    assert client.get(url).status_code == see
    assert (
        client.get(f"/readings/hourly/{readings.contract_id}/template.xlsx").status_code
        == see
    )
    resp = post_file(client, readings, real_80020(), "a.xml")
    assert resp.status_code == upload
    if who == "viewer_a":
        assert 'data-testid="hourly-no-upload"' in client.get(url).get_data(
            as_text=True
        )


def test_anonymous_goes_to_login(readings: Readings, client: Any) -> None:
    resp = client.get("/readings/hourly/")
    assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]


def test_hostile_inputs_never_500(readings: Readings, client: Any) -> None:
    readings.login(client, readings.w.signer_a)
    for data, name in [
        (b"\x00" * 1000, "a.csv"),
        ("Точка;Канал;Дата;Час;Значение\n" + "\x00" * 10 + ";A+;x;1;1\n", "b.csv"),
        (("Точка;Канал;Дата;Час;Значение\n" + "я" * 100_000 + ";A+;1;1;1\n"), "c.csv"),
        (b"PK\x03\x04garbage", "d.xlsx"),
        (
            b"<message class='80020'><datetime><day>20261301</day></datetime></message>",
            "e.xml",
        ),
        (b"<a>" * 10000, "deep.xml"),
        (b"", "empty.csv"),
    ]:
        raw = data.encode() if isinstance(data, str) else data
        resp = post_file(client, readings, raw, name + "\x00\x01" * 3)
        assert resp.status_code == 200, name
        assert "ничего не сохранено" in page_text(resp), name
    assert client.get("/readings/hourly/?contract=zzz").status_code == 404
    assert (
        client.get(
            f"/readings/hourly/?contract={readings.contract_id}&month=2026-99"
        ).status_code
        == 422
    )
    assert count_rows(readings) == 0


# -- API -----------------------------------------------------------------------------


def test_api_upload_and_read_back(readings: Readings) -> None:
    from tests.functional.api_support import api_for, error_code

    add_point(readings)
    a = api_for(readings.w, readings.w.org_a, "readings")
    number = "77-0001-ЮЛ"
    resp = a.post(
        f"/contracts/{number}/hourly",
        data={"file": (io.BytesIO(real_80020()), "80020.xml")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["values"] == 48
    got = a.get(
        f"/contracts/{number}/hourly?point={CODE}&channel=A%2B"
        "&from=2026-11-03&to=2026-11-03"
    )
    assert got.status_code == 200
    values = got.get_json()["values"]
    assert len(values) == 24 and values[0] == {
        "day": "2026-11-03",
        "hour": 0,
        "value": "201",
        "status": 0,
        "version": 1,
    }
    points = a.get(f"/contracts/{number}/hourly").get_json()["points"]
    assert [p["code"] for p in points] == [CODE]
    bad = a.post(
        f"/contracts/{number}/hourly",
        data={"file": (io.BytesIO(b"<!DOCTYPE x><x/>"), "x.xml")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and error_code(bad) == "hourly_file_refused"
    assert bad.get_json()["error"]["details"]["errors"]
    assert a.post(f"/contracts/{number}/hourly", json={}).status_code == 415
    assert (
        a.get(
            f"/contracts/{number}/hourly?point={CODE}&from=2026-01-01&to=2026-12-31"
        ).status_code
        == 422
    )
    assert (
        a.get(
            f"/contracts/{number}/hourly?point=nope&from=2026-11-01&to=2026-11-02"
        ).status_code
        == 404
    )
    # B's contract: not found; a key without the readings scope: forbidden.
    assert a.get("/contracts/50-0100-ЮЛ/hourly").status_code == 404
    reader = api_for(readings.w, readings.w.org_a, "read")
    assert reader.get(f"/contracts/{number}/hourly").status_code == 403


# -- demo ----------------------------------------------------------------------------


def test_demo_seed_is_idempotent(app: Any) -> None:
    from docflow.demo import create_demo_world
    from docflow.readings.hourly_demo import seed_demo

    with app.app_context():
        world_ = create_demo_world()
        s = app.extensions["docflow"].sessionmaker()
        with transaction(s):
            seed_demo(s, world_)
        first = s.scalar(select(func.count()).select_from(HourlyValue))
        with transaction(s):
            seed_demo(s, world_)
        second = s.scalar(select(func.count()).select_from(HourlyValue))
        s.close()
    assert first and first == second
