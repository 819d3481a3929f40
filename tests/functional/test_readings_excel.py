"""The Excel form (template, filled upload, bad forms, the kept files) and the
supplier's load of objects and meters (CLI and admin page)."""

from __future__ import annotations

import io
import re
from typing import Any

from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from docflow.blobrefs import referenced_blob_keys
from docflow.readings.models import Meter, ReadingStatus, ReadingUpload, SupplyObject
from tests.functional.test_readings_world import (
    PERIOD,
    PERIOD_KEY,
    Readings,
    keys,
    readings,
    world,
    xlsx_bytes,
)

__all__ = ["keys", "readings", "world"]


def upload(
    client: FlaskClient, r: Readings, data: bytes, name: str = "форма.xlsx"
) -> Any:
    return client.post(
        r.url("/form"),
        data={"period": PERIOD_KEY, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def page_text(resp: Any) -> str:
    body = re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))
    return re.sub(r"\s+", " ", body.replace("&#34;", '"'))


def template(client: FlaskClient, r: Readings) -> Any:
    resp = client.get(r.url(f"/form.xlsx?period={PERIOD_KEY}"))
    assert resp.status_code == 200
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    return load_workbook(io.BytesIO(resp.data))


def row_of(ws: Any, number: str) -> int:
    for row in range(6, ws.max_row + 1):
        if ws.cell(row=row, column=4).value == number:
            return row
    raise AssertionError(number)


def saved(wb: Any) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_template_round_trip(readings: Readings, client: FlaskClient) -> None:
    readings.login(client, readings.w.signer_a)
    wb = template(client, readings)
    ws = wb["Показания"]
    assert ws.protection.sheet  # meter data is protected...
    assert ws["B2"].value == "77-0001-ЮЛ" and ws["B3"].value == "11.2026"
    r1 = row_of(ws, "0001")
    assert ws.cell(row=r1, column=8).value == "00123456"
    assert ws.cell(row=r1, column=9).protection.locked is False  # ...the input is not
    assert ws.cell(row=r1, column=4).protection.locked is True
    validations = ws.data_validations.dataValidation
    assert any(dv.type == "whole" and dv.formula2 == "99999999" for dv in validations)
    r3 = row_of(ws, "0003")
    assert "Не исправен" in ws.cell(row=r3, column=10).value
    assert ws.cell(row=r3, column=9).protection.locked is True

    ws.cell(row=r1, column=9, value=124000)
    ws.cell(row=row_of(ws, "0002"), column=9, value="000150")  # through zero, as text
    data = saved(wb)
    page = page_text(upload(client, readings, data))
    assert "Файл «форма.xlsx» принят" in page and "Принято показаний: 2" in page
    values = {r.meter_id: r for r in readings.readings(period=PERIOD)}
    assert values[readings.meters["0001"]].value == 124000
    assert values[readings.meters["0002"]].is_rollover
    assert {r.status for r in values.values()} == {ReadingStatus.READY}
    assert {r.source for r in values.values()} == {"excel"}
    # «История загруженных файлов» lists it, and the very bytes are kept.
    sheet = client.get(readings.url()).get_data(as_text=True)
    link = re.search(r'href="(/readings/[^"]+/form/[0-9a-f-]+)">форма\.xlsx<', sheet)
    assert link and "Принят" in sheet
    assert client.get(link.group(1)).data == data
    # ``docflow fsck`` counts the kept form as referenced, not as an orphan.
    with readings.app.app_context():
        s = readings.w.session()
        keys_ = set(referenced_blob_keys(s))
        assert set(s.scalars(select(ReadingUpload.blob_key))) <= keys_
        s.close()
    # The next template carries the saved values.
    ws2 = template(client, readings)["Показания"]
    assert ws2.cell(row=row_of(ws2, "0001"), column=9).value == 124000


def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_taken(
    readings: Readings, client: FlaskClient
) -> None:
    readings.login(client, readings.w.signer_a)
    wb = template(client, readings)
    ws = wb["Показания"]
    ws.cell(row=row_of(ws, "0001"), column=9, value=124000)  # a good row
    ws.cell(row=row_of(ws, "0002"), column=9, value="abc")
    ws.cell(row=row_of(ws, "0005"), column=9, value=1234567)  # five digits only
    ws.cell(row=ws.max_row + 1, column=4, value="9999")
    ws.cell(row=ws.max_row, column=9, value=5)
    ws.cell(row=row_of(ws, "0003"), column=9, value=77)  # faulty: no reading taken
    page = page_text(upload(client, readings, saved(wb), "плохая.xlsx"))
    assert "Файл «плохая.xlsx» не принят: из него ничего не сохранено." in page
    r2, r5, r3 = row_of(ws, "0002"), row_of(ws, "0005"), row_of(ws, "0003")
    assert f"Строка {r2}, столбец «Показание»: не число" in page
    assert (
        f"Строка {r5}, столбец «Показание»: больше знаков, чем у счётчика: 7 при "
        "значности 5"
    ) in page
    assert (
        f"Строка {ws.max_row}, столбец «№ счётчика»: счётчика с таким номером нет в "
        "договоре" in page
    )
    assert f"Строка {r3}, столбец «Показание»: счётчик не исправен" in page
    assert readings.readings(period=PERIOD) == []
    sheet = page_text(client.get(readings.url()))
    assert "плохая.xlsx" in sheet and "Не принят" in sheet and "Ошибки: 4" in sheet


def test_malformed_files_get_a_clear_message_never_a_500(
    readings: Readings, client: FlaskClient
) -> None:
    readings.login(client, readings.w.signer_a)
    cases = [
        (b"%PDF-1.7 not a workbook", "акт.pdf", "не является книгой Excel (.xlsx)"),
        (
            b"\xd0\xcf\x11\xe0old excel",
            "старый.xls",
            "Формат .xls (Excel 97–2003) не поддерживается",
        ),
        (
            b"PK\x03\x04broken zip",
            "битый.xlsx",
            "повреждён или не является книгой Excel",
        ),
        (
            xlsx_bytes([["№ счётчика", "Показание"], ["0001", 1]], sheet="Лист1"),
            "лист.xlsx",
            "В файле нет листа «Показания»",
        ),
        (
            xlsx_bytes([["Счётчик", "Значение"], ["0001", 1]]),
            "заголовки.xlsx",
            "не найдены заголовки столбцов «№ счётчика» и «Показание»",
        ),
        (
            xlsx_bytes(
                [["Договор", "50-0100-ЮЛ"], ["№ счётчика", "Показание"], ["0001", 1]]
            ),
            "чужой.xlsx",
            "Файл составлен для договора № 50-0100-ЮЛ",
        ),
        (
            xlsx_bytes(
                [["Период", "10.2026"], ["№ счётчика", "Показание"], ["0001", 1]]
            ),
            "октябрь.xlsx",
            "Файл составлен за октябрь 2026 г.",
        ),
        (
            xlsx_bytes([["№ счётчика", "Показание"]]),
            "пустая.xlsx",
            "В файле не заполнено ни одного показания",
        ),
    ]
    for data, name, message in cases:
        resp = upload(client, readings, data, name)
        assert resp.status_code == 200, name
        assert message in page_text(resp), name
    assert readings.readings(period=PERIOD) == []
    sheet = page_text(client.get(readings.url()))
    assert sheet.count("Не принят") == len(cases)  # each file is kept and listed
    resp = upload(client, readings, b"", "пусто.xlsx")
    assert "Выберите заполненный файл" in page_text(
        resp
    ) or "Выберите файл" in page_text(resp)


METERS_CSV = """Номер договора;Код объекта;Объект;Адрес объекта;Уровень напряжения;№ счётчика;\
Тип счётчика;Значность;Коэффициент трансформации;Статус;Дата следующей поверки
77-0001-ЮЛ;ОБ-7;Котельная;г. Москва, ул. Энергетиков, д. 7, стр. 7;СН-2;7001;Меркурий 234;8;\
40;Исправен;01.03.2031
77-0001-ЮЛ;ОБ-7;Котельная;г. Москва, ул. Энергетиков, д. 7, стр. 7;СН-2;7002;Меркурий 234;8;\
40;Не исправен;
50-0100-ЮЛ;Б-1;Насосная;Видное;ВН;8001;Альфа A1800;7;13200;Истёк срок МПИ;01.01.2026
"""


def test_supplier_loads_meters_from_csv_with_the_cli(
    readings: Readings, tmp_path: Any
) -> None:
    good = tmp_path / "meters.csv"
    good.write_text(METERS_CSV, encoding="utf-8")
    runner = readings.app.test_cli_runner()
    result = runner.invoke(args=["readings", "import-meters", str(good)])
    assert result.exit_code == 0, result.output
    assert (
        "объектов добавлено: 2" in result.output
        and "счётчиков добавлено: 3" in result.output
    )
    with readings.app.app_context():
        s = readings.w.session()
        meter = s.scalar(select(Meter).where(Meter.number == "8001"))
        assert meter is not None and meter.ratio == 13200 and meter.digits == 7
        assert meter.status.value == "calibration_expired"
        count = s.scalar(select(func.count()).select_from(SupplyObject))
        s.close()
    assert count == 4
    # Again: nothing new, nothing changed.
    result = runner.invoke(args=["readings", "import-meters", str(good)])
    assert "счётчиков добавлено: 0, обновлено: 0" in result.output

    bad = tmp_path / "bad.csv"
    bad.write_text(
        METERS_CSV.replace(";СН-2;7002;", ";СН-3;7003;")
        .replace(";8;\\\n", ";8;")
        .replace("Альфа A1800;7;", "Альфа A1800;семь;")
        + "99-9999;X;Y;;НН;1;Т;6;1;;\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["readings", "import-meters", str(bad)])
    assert result.exit_code != 0
    assert (
        "строка 3, столбец «Уровень напряжения»: ожидается ВН, СН-1, СН-2 или НН"
        in result.output
    )
    assert (
        "строка 4, столбец «Значность»: ожидается целое число от 3 до 12"
        in result.output
    )
    assert (
        "строка 5, столбец «Номер договора»: договора «99-9999» нет в базе"
        in result.output
    )
    with readings.app.app_context():
        s = readings.w.session()
        assert s.scalar(select(Meter).where(Meter.number == "7003")) is None
        s.close()


def test_supplier_loads_meters_on_the_admin_page(readings: Readings) -> None:
    clerk = readings.app.test_client()
    readings.login(clerk, readings.w.clerk)
    assert "Загрузка из Excel или CSV" in page_text(clerk.get("/readings/admin"))
    tpl = clerk.get("/readings/admin/template/meters.xlsx")
    assert tpl.status_code == 200
    header = [c.value for c in load_workbook(io.BytesIO(tpl.data)).active[1]]
    assert header[:3] == ["Номер договора", "Код объекта", "Объект"]
    resp = clerk.post(
        "/readings/admin/import",
        data={"kind": "meters", "file": (io.BytesIO(tpl.data), "приборы.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "Файл загружен" in page_text(resp)
    transit = xlsx_bytes(
        [
            [
                "Номер договора",
                "Код объекта",
                "Период",
                "Транзитный потребитель",
                "Объём, кВт·ч",
            ],
            ["77-0001-ЮЛ", "ОБ-1", "11.2026", "ИП Петров", 250],
            ["77-0001-ЮЛ", "НЕТ", "11.2026", "ИП Петров", 250],
        ]
    )
    resp = clerk.post(
        "/readings/admin/import",
        data={"kind": "transit", "file": (io.BytesIO(transit), "транзит.xlsx")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    assert "строка 3, столбец «Код объекта»: объекта «НЕТ» нет в договоре" in page_text(
        resp
    )
    # A customer may not load anything: the supplier's pages do not exist for them.
    customer = readings.app.test_client()
    readings.login(customer, readings.w.signer_a)
    assert customer.post("/readings/admin/import", data={}).status_code == 404
