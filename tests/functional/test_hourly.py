"""Hourly volumes: the three formats round-trip, a real-shaped 80020 file
(half-hours, statuses, windows-1251) stored as the old reader read it, refused
files (DOCTYPE/ENTITY, per-row errors: nothing taken), versions of a repeated
period, a new 80020 point code («не сопоставлена»), the uploaded file kept
and downloadable (no orphan blob when the write fails), the bulk import
command (parallel = sequential), the pages and the API with their access
matrix, and the demo seed."""

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
from sqlalchemy.exc import IntegrityError

from docflow.context import current_runtime
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.demo import create_demo_world
from docflow.readings import hourly_formats as fmt
from docflow.readings import hourly_services as hs
from docflow.readings.hourly_demo import seed_demo
from docflow.readings.hourly_models import (
    Channel,
    HourlyPoint,
    HourlyUpload,
    HourlyValue,
)
from tests.functional.api_support import api_for, error_code
from tests.functional.test_readings_world import Readings, keys, readings, world
from tests.unit.readings import hourly_80020_reference as old

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


def take(
    r: Readings, name: str, data: bytes, contract_id: uuid.UUID | None = None
) -> HourlyUpload:
    with r.app.app_context():
        s = r.w.session()
        with transaction(s):
            contract = s.get(Contract, contract_id or r.contract_id)
            up = hs.take_file(s, contract, name, data, storage=r.w.storage)
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
    unknown_bad = fmt.write_80020(
        DAY, [("999", "Чужая", {Channel.AP: [1] * 48})]
    ).replace(b'<value status="0">1</value>', b'<value status="0">x</value>', 1)
    csv_text = (
        "Точка;Канал;Дата;Час;Значение\n"
        f"{CODE};A+;03.11.2026;0;5\n"
        f"{CODE};A+;03.11.2026;1;-5\n"
    )
    for name, data in [
        ("bad.xml", unknown_bad),
        (
            "typo.csv",
            f"Точка;Канал;Дата;Час;Значение\nX{CODE};A+;03.11.2026;0;5\n".encode(),
        ),
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
        assert s.scalar(select(func.count()).select_from(HourlyUpload)) == 5
        # The bad 80020 file's new code made no point: its savepoint is gone.
        assert s.scalar(select(func.count()).select_from(HourlyPoint)) == 1
        s.close()


def test_new_80020_code_makes_an_unmapped_point(readings: Readings) -> None:
    """The market operator's code is taken as it comes; the supplier maps it."""
    data = real_80020(code="770000000000000999")
    up = take(readings, "80020.xml", data)
    assert up.is_accepted and up.values_taken == 48 and up.points == 1
    with readings.app.app_context():
        s = readings.w.session()
        point = s.scalar(
            select(HourlyPoint).where(HourlyPoint.code == "770000000000000999")
        )
        assert point is not None
        assert point.meter_id is None and point.object_id is None
        assert point.name == "Цех, ввод 1 (ТП-12)"
        s.close()
    assert len(stored(readings, point.id)) == 24


def test_import_stores_what_the_old_reader_read(readings: Readings) -> None:
    """A real-shaped file through the whole import (streaming reader, COPY)
    against the reader it replaced: the same hours, values and statuses."""
    pid = add_point(readings)
    data = real_80020(status_half="4")
    assert take(readings, "80020.xml", data).is_accepted
    expected = {
        (r.channel, r.hour): (r.value, r.status)
        for r in old.parse_80020("80020.xml", data).rows
    }
    got = {
        (channel, v.hour): (v.value, v.status)
        for channel in (Channel.AP, Channel.RP)
        for v in stored(readings, pid, channel)
    }
    assert got == expected and len(got) == 48


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


# -- the file kept ----------------------------------------------------------------------


def upload_rows(
    r: Readings, contract_id: uuid.UUID | None = None
) -> list[HourlyUpload]:
    with r.app.app_context():
        s = r.w.session()
        rows = list(
            s.scalars(
                select(HourlyUpload)
                .where(HourlyUpload.contract_id == (contract_id or r.contract_id))
                .order_by(HourlyUpload.created_at)
            )
        )
        s.expunge_all()
        s.close()
    return rows


def test_every_file_is_kept_and_downloaded_as_sent(
    readings: Readings, client: Any
) -> None:
    add_point(readings)
    good, evil = real_80020(), b"<!DOCTYPE a []><a/>"
    readings.login(client, readings.w.signer_a)
    post_file(client, readings, good, "80020_20261103.xml")
    post_file(client, readings, evil, "evil.xml")
    ups = upload_rows(readings)
    assert [u.is_accepted for u in ups] == [True, False]
    assert all(u.blob_key and readings.w.storage.exists(u.blob_key) for u in ups)
    page = client.get(f"/readings/hourly/?contract={readings.contract_id}")
    links = re.findall(
        r'href="(/readings/hourly/[^"]+/file)"', page.get_data(as_text=True)
    )
    base = f"/readings/hourly/{readings.contract_id}/uploads"
    assert sorted(links) == sorted(f"{base}/{u.id}/file" for u in ups)
    for upload, sent in zip(ups, (good, evil), strict=True):
        resp = client.get(f"{base}/{upload.id}/file")
        assert resp.status_code == 200 and resp.data == sent
        assert "attachment" in resp.headers["Content-Disposition"]
    assert client.get(f"{base}/{ups[0].id}/file").mimetype == "application/xml"
    # The view right downloads too, and the supplier's clerk; B does not see it.
    for who, status in (("viewer_a", 200), ("clerk", 200), ("signer_b", 404)):
        other = readings.app.test_client()
        readings.login(other, getattr(readings.w, who))
        assert other.get(f"{base}/{ups[0].id}/file").status_code == status, who


def test_another_contracts_upload_is_not_found(readings: Readings, client: Any) -> None:
    b_upload = take(
        readings, "b.xml", real_80020(), contract_id=readings.w.contract_b.id
    )
    assert b_upload.is_accepted and b_upload.blob_key
    readings.login(client, readings.w.signer_a)
    for contract in (readings.contract_id, readings.w.contract_b.id):
        url = f"/readings/hourly/{contract}/uploads/{b_upload.id}/file"
        assert client.get(url).status_code == 404
    unknown = f"/readings/hourly/{readings.contract_id}/uploads/{uuid.uuid4()}/file"
    assert client.get(unknown).status_code == 404


class Ghost:
    """A user the database does not know: the upload's row cannot be written."""

    id = uuid.uuid4()
    full_name = "Призрак"
    email = "ghost@example.invalid"


def test_no_orphan_blob_when_the_database_write_fails(readings: Readings) -> None:
    add_point(readings)
    store = readings.w.storage
    before = set(store.iter_keys())
    written: list[str] = []
    with readings.app.app_context():
        s = readings.w.session()
        with pytest.raises(IntegrityError), transaction(s):  # noqa: PT012
            contract = s.get(Contract, readings.contract_id)
            received = hs.receive(
                "80020.xml",
                real_80020(),
                runtime=current_runtime().replace(storage=store),
            )
            assert received.blob_key and store.exists(received.blob_key)
            written.append(received.blob_key)
            hs.load_file(s, contract, received, storage=store, user=Ghost())
            s.flush()
        s.close()
    assert written and not store.exists(written[0])
    assert set(store.iter_keys()) == before
    assert upload_rows(readings) == [] and count_rows(readings) == 0


# -- the bulk import command -------------------------------------------------------------


def bulk_files(folder: Any, extra: dict[str, bytes] | None = None) -> None:
    """Three days of three new points (A+ and R+), then the first day again
    with other values (a new version of it)."""
    folder.mkdir()
    points = [(f"77000000000000{n:04d}", f"Ввод {n}") for n in range(1, 4)]
    for n in range(3):
        day = DAY + dt.timedelta(days=n)
        data = fmt.write_80020(
            day,
            [
                (
                    code,
                    name,
                    {
                        Channel.AP: [n + i % 7 for i in range(48)],
                        Channel.RP: [i % 3 for i in range(48)],
                    },
                )
                for code, name in points
            ],
        )
        (folder / f"a_80020_{day:%Y%m%d}.xml").write_bytes(data)
    again = fmt.write_80020(
        DAY, [(code, name, {Channel.AP: [9] * 48}) for code, name in points]
    )
    (folder / "b_80020_again.xml").write_bytes(again)
    for name, data in (extra or {}).items():
        (folder / name).write_bytes(data)


def stored_rows(r: Readings, contract_id: uuid.UUID) -> list[tuple[Any, ...]]:
    with r.app.app_context():
        s = r.w.session()
        rows = s.execute(
            select(
                HourlyPoint.code,
                HourlyValue.channel,
                HourlyValue.day,
                HourlyValue.hour,
                HourlyValue.version,
                HourlyValue.value,
                HourlyValue.status,
            )
            .join(HourlyPoint, HourlyPoint.id == HourlyValue.point_id)
            .where(HourlyPoint.contract_id == contract_id)
        ).all()
        s.close()
    return sorted((*row[:5], Decimal(row[5]), row[6]) for row in rows)


def test_bulk_import_in_parallel_stores_what_one_process_stores(
    readings: Readings, tmp_path: Any
) -> None:
    folder = tmp_path / "files"
    bulk_files(folder)
    runner = readings.app.test_cli_runner()
    parallel = runner.invoke(
        args=[
            "readings",
            "hourly",
            "import",
            "77-0001-ЮЛ",
            str(folder),
            "--workers",
            "2",
        ]
    )
    assert parallel.exit_code == 0, parallel.output
    assert "4 files, 4 accepted (504 values), 0 refused" in parallel.output
    one = runner.invoke(
        args=[
            "readings",
            "hourly",
            "import",
            "50-0100-ЮЛ",
            *map(str, sorted(folder.iterdir())),
            "--workers",
            "0",
        ]
    )
    assert one.exit_code == 0, one.output
    rows_a = stored_rows(readings, readings.contract_id)
    rows_b = stored_rows(readings, readings.w.contract_b.id)
    assert rows_a == rows_b and len(rows_a) == 3 * 3 * 48 + 3 * 24
    assert {row[4] for row in rows_a} == {1, 2}  # the repeated day: version 2
    ups = upload_rows(readings)
    assert len(ups) == 4 and all(u.source == "cli" for u in ups)
    assert all(u.blob_key and readings.w.storage.exists(u.blob_key) for u in ups)


def test_bulk_import_reports_refused_files_and_takes_the_others(
    readings: Readings, tmp_path: Any
) -> None:
    folder = tmp_path / "files"
    bulk_files(folder, {"c_bad.xml": b"<!DOCTYPE a []><a/>", "notes.pdf": b"%PDF"})
    runner = readings.app.test_cli_runner()
    result = runner.invoke(
        args=[
            "readings",
            "hourly",
            "import",
            "77-0001-ЮЛ",
            str(folder),
            "--workers",
            "2",
        ]
    )
    assert result.exit_code == 1
    assert "5 files, 4 accepted (504 values), 1 refused" in result.output
    assert "c_bad.xml: refused" in result.output and "DOCTYPE" in result.output
    ups = upload_rows(readings)
    assert [u.is_accepted for u in ups].count(False) == 1
    assert all(u.blob_key for u in ups)  # the refused file is kept as well
    unknown = runner.invoke(
        args=["readings", "hourly", "import", "00-0000", str(folder)]
    )
    assert unknown.exit_code != 0 and "no contract" in unknown.output


def test_an_unreadable_file_stops_the_import_with_its_name(
    readings: Readings, tmp_path: Any
) -> None:
    folder = tmp_path / "files"
    bulk_files(folder)
    first = sorted(folder.iterdir())[0]
    runner = readings.app.test_cli_runner()
    # /proc/self/mem opens but cannot be read from its start (EIO).
    args = ["readings", "hourly", "import", "77-0001-ЮЛ", str(first), "/proc/self/mem"]
    result = runner.invoke(args=[*args, "--workers", "0"])
    assert result.exit_code == 1 and "cannot read /proc/self/mem" in result.output
    assert len(upload_rows(readings)) == 1  # the file before it is loaded


def test_files_parsed_but_never_loaded_leave_no_blob(
    readings: Readings, tmp_path: Any
) -> None:
    folder = tmp_path / "files"
    bulk_files(folder)
    store = readings.w.storage
    url = readings.app.extensions["docflow"].settings.storage_url
    before = set(store.iter_keys())
    files = hs.receive_files(sorted(folder.iterdir()), storage_url=url, workers=2)
    first = next(files)
    files.close()  # the consumer stops: the files queued behind are dropped
    assert set(store.iter_keys()) - before == {first.blob_key}
    store.delete(first.blob_key)


# -- API: uploads ---------------------------------------------------------------------


def test_api_lists_uploads_and_gives_their_files(readings: Readings) -> None:
    add_point(readings)
    a = api_for(readings.w, readings.w.org_a, "readings")
    number = "77-0001-ЮЛ"
    sent = real_80020()
    made = a.post(
        f"/contracts/{number}/hourly",
        data={"file": (io.BytesIO(sent), "80020.xml")},
        content_type="multipart/form-data",
    )
    assert made.status_code == 201 and made.get_json()["file_kept"] is True
    listed = a.get(f"/contracts/{number}/hourly/uploads").get_json()["items"]
    assert [u["id"] for u in listed] == [made.get_json()["id"]]
    got = a.get(f"/contracts/{number}/hourly/uploads/{listed[0]['id']}/file")
    assert got.status_code == 200 and got.data == sent
    assert got.headers["X-Content-SHA256"] == listed[0]["sha256"]
    b_upload = take(
        readings, "b.xml", real_80020(), contract_id=readings.w.contract_b.id
    )
    for path in (
        f"/contracts/{number}/hourly/uploads/{b_upload.id}/file",
        f"/contracts/50-0100-ЮЛ/hourly/uploads/{b_upload.id}/file",
        "/contracts/50-0100-ЮЛ/hourly/uploads",
    ):
        resp = a.get(path)
        assert resp.status_code == 404 and error_code(resp) == "not_found", path


# -- demo ----------------------------------------------------------------------------


def test_demo_seed_is_idempotent(app: Any) -> None:
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
