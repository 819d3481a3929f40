"""Hostile input at the edges, each answered with a clear 4xx or a safe fallback,
never a 500 and never a half-written record: spreadsheet bombs and oversized
tables, control characters in stored text (the Excel export, the printable
form, the package), a PDF that inflates to a gigabyte, the registration page,
and JSON bodies that are too deep, too large or not valid Unicode — on
PostgreSQL and on SQLite."""

from __future__ import annotations

import functools
import io
import json
import re
import time
import uuid
import zipfile
import zlib
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select, update

from docflow import spreadsheets as sheets
from docflow.accounts.models import Role
from docflow.contracts.models import Contract, Organisation, Payment
from docflow.db import transaction
from docflow.documents.models import Document, DocumentFile, FileRole
from docflow.documents.package import write_package
from docflow.documents.printable import MAX_PRINT_PAGES, printable_pdf
from docflow.inputs import MAX_JSON_BYTES
from docflow.readings.models import Meter, SupplyObject, TransitVolume
from tests.factories import make_pdf
from tests.functional.api_support import api_for, error_code
from tests.functional.contract_world import make_user
from tests.functional.test_document_access import client_for
from tests.functional.test_readings_world import (
    NOW,
    PERIOD,
    PERIOD_KEY,
    Readings,
    readings,
    xlsx_bytes,
)
from tests.functional.world import (
    PASSWORD,
    World,
    act_pdf,
    keys,
    new_document,
    world,
)

__all__ = ["keys", "readings", "world"]

FAST = 5.0  # seconds: the unbounded parse took 17 s; the checks take milliseconds


# -- helpers --------------------------------------------------------------------


def login(client: FlaskClient, email: str) -> FlaskClient:
    resp = client.post("/account/login", data={"email": email, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def page_text(resp: Any) -> str:
    body = re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))
    return re.sub(r"\s+", " ", body.replace("&#34;", '"').replace("&#39;", "'"))


def count(w: World, model: type) -> int:
    with w.app.app_context():
        s = w.session()
        n = int(s.scalar(select(func.count()).select_from(model)) or 0)
        s.close()
    return n


@functools.cache
def xlsx_bomb(header: tuple[str, ...], sheet: str = "Лист1") -> bytes:
    """A real workbook whose sheet XML is ~49 MB of one repeated row, deflated
    to ~180 KB: a 270:1 «zip bomb» that openpyxl would parse row by row."""
    base = zipfile.ZipFile(io.BytesIO(xlsx_bytes([list(header)], sheet=sheet)))
    cells = "".join(
        f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in ("77-0001-ЮЛ", "0001", 1)
    )
    row = f"<row>{cells}</row>"
    head_cells = "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in header)
    sheet_xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData><row>{head_cells}</row>"
        + row * (49 * 1024 * 1024 // len(row.encode()))
        + "</sheetData></worksheet>"
    ).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for info in base.infolist():
            data = (
                sheet_xml if info.filename.endswith("sheet1.xml") else base.read(info)
            )
            z.writestr(info.filename, data)
    return out.getvalue()


@functools.cache
def inflating_pdf(inflated: int = 1 << 30) -> bytes:
    """A one-page PDF whose content stream is ``inflated`` bytes of zeros
    (whitespace to a PDF parser), FlateDecode-compressed to about 1 MB."""
    packer = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    parts = [packer.compress(chunk) for _ in range(inflated // len(chunk))]
    stream = b"".join(parts) + packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
        + stream
        + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def set_text(w: World, doc_id: uuid.UUID, **values: str) -> None:
    """Text already stored, as a hostile tester left it (bypassing the edge)."""
    with w.app.app_context():
        s = w.session()
        with transaction(s):
            s.execute(update(Document).where(Document.id == doc_id).values(**values))
        s.close()


def hostile_text(w: World) -> str:
    """Control characters openpyxl and XML refuse; NUL where the database keeps
    it (PostgreSQL refuses NUL in text, SQLite stores it)."""
    nul = "\x00" if w.app.extensions["docflow"].engine.dialect.name == "sqlite" else ""
    return f"П-1{nul}\x01\x07\x1b[31m\x0b\x0c\ufffe"


# -- spreadsheet bombs and oversized tables -------------------------------------


def test_xlsx_bomb_is_refused_fast_on_every_upload(readings: Readings) -> None:
    w = readings.w
    make_user(w.app, "admin@energosbyt.example", role=Role.ADMIN)
    admin = login(w.app.test_client(), "admin@energosbyt.example")
    clerk = login(w.app.test_client(), w.clerk.email)
    customer = login(w.app.test_client(), w.signer_a.email)
    before = {
        m: count(w, m)
        for m in (Organisation, Contract, Payment, Meter, SupplyObject, TransitVolume)
    }
    imports = [
        (admin, "/supplier/contracts/import", "contracts", ("ИНН", "Наименование")),
        (admin, "/supplier/contracts/import", "payments", ("Номер договора", "Сумма")),
        (clerk, "/readings/admin/import", "meters", ("Номер договора", "Код объекта")),
        (clerk, "/readings/admin/import", "transit", ("Номер договора", "Период")),
    ]
    for client, url, kind, header in imports:
        field = f"{kind}-file" if "contracts" in url else "file"
        started = time.monotonic()
        resp = client.post(
            url,
            data={"kind": kind, field: (io.BytesIO(xlsx_bomb(header)), "bomb.xlsx")},
            content_type="multipart/form-data",
        )
        elapsed = time.monotonic() - started
        assert resp.status_code == 422, (kind, resp.status_code)
        assert elapsed < FAST, (kind, elapsed)
        assert "после распаковки" in page_text(resp), kind
    # The customer's form, with the readings window closed.
    readings.set_now(NOW.replace(day=5))
    bomb = xlsx_bomb(("№ счётчика", "Показание"), sheet="Показания")
    started = time.monotonic()
    resp = customer.post(
        readings.url("/form"),
        data={"period": PERIOD_KEY, "file": (io.BytesIO(bomb), "форма.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert time.monotonic() - started < FAST
    assert resp.status_code == 200
    # The window is checked first: the file is neither read nor kept.
    assert "Следующее окно откроется" in page_text(resp)
    assert readings.readings(period=PERIOD) == []
    after = {m: count(w, m) for m in before}
    assert after == before


def test_a_table_longer_than_the_cap_is_refused_with_a_clear_message(
    readings: Readings,
) -> None:
    w = readings.w
    max_rows, max_columns = sheets.MAX_ROWS, sheets.MAX_COLUMNS
    clerk = login(w.app.test_client(), w.clerk.email)
    header = "Номер договора;Код объекта;Период;Транзитный потребитель;Объём, кВт·ч"
    line = "77-0001-ЮЛ;ОБ-1;11.2026;ИП Петров;1"
    csv_data = "\n".join([header] + [line] * (max_rows + 1)).encode()
    resp = clerk.post(
        "/readings/admin/import",
        data={"kind": "transit", "file": (io.BytesIO(csv_data), "транзит.csv")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    assert f"В файле больше {max_rows:,} строк".replace(",", " ") in page_text(resp)
    wide = ";".join(f"Столбец {i}" for i in range(max_columns + 1)) + "\n1\n"
    resp = clerk.post(
        "/readings/admin/import",
        data={"kind": "meters", "file": (io.BytesIO(wide.encode()), "широкий.csv")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    assert f"В файле больше {max_columns} столбцов" in page_text(resp)
    assert count(w, TransitVolume) == 1  # the fixture's own

    # The customer's form: a sheet with more rows than any contract has meters
    # (the form's heading takes its first rows; these count past it).
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Показания")
    ws.append(["№ счётчика", "Показание"])
    for i in range(max_rows + 10):
        ws.append([f"{i:04d}", 1])
    out = io.BytesIO()
    wb.save(out)
    customer = login(w.app.test_client(), w.signer_a.email)
    resp = customer.post(
        readings.url("/form"),
        data={"period": PERIOD_KEY, "file": (io.BytesIO(out.getvalue()), "f.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert f"В файле больше {max_rows:,} строк".replace(",", " ") in page_text(resp)
    assert readings.readings(period=PERIOD) == []


def _zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in members:
            z.writestr(name, data)
    return out.getvalue()


def test_suspicious_archives_are_refused_before_they_are_inflated() -> None:
    check, members = sheets.check_xlsx_archive, sheets.MAX_XLSX_MEMBERS
    good = xlsx_bytes([["№ счётчика", "Показание"], ["0001", 1]])
    check(good)
    nested = _zip([("xl/workbook.xml", b"<x/>"), ("xl/embeddings/a.bin", good)])
    many = _zip([(f"xl/m{i}.xml", b"<x/>") for i in range(members + 1)])
    dense = _zip([("xl/worksheets/sheet1.xml", bytes(4 * 1024 * 1024))])
    bzip = _zip([("xl/workbook.xml", b"<x/>" * 100)], zipfile.ZIP_BZIP2)
    encrypted = bytearray(_zip([("xl/workbook.xml", b"<x/>")]))
    for offset in (6, encrypted.rindex(b"PK\x01\x02") + 8):
        encrypted[offset] |= 1  # the «encrypted» flag, local and central
    cases = [
        (xlsx_bomb(("ИНН",)), "после распаковки"),
        (nested, "вложенный архив"),
        (many, f"больше {members} частей"),
        (dense, "сжата в"),
        (bzip, "неподдерживаемым способом"),
        (bytes(encrypted), "зашифрован"),
    ]
    for data, message in cases:
        with pytest.raises(sheets.WorkbookRefused) as refused:
            check(data)
        assert message in refused.value.message, refused.value.message
    with pytest.raises(zipfile.BadZipFile):
        check(b"PK\x03\x04 not really a zip")


def test_a_csv_over_the_size_cap_is_refused_unread() -> None:
    limit = sheets.MAX_XLSX_UNCOMPRESSED
    data = b"\xd0\x98\xd0\x9d\xd0\x9d\n" + b"7705123456\n" * (limit // 11 + 1)
    with pytest.raises(sheets.ImportFailed) as failed:
        sheets.read_table("реестр.csv", data)
    assert f"больше {limit // (1024 * 1024)} МБ" in str(failed.value.problems[0])


# -- control characters stored earlier: the Excel export ------------------------


def test_export_survives_control_characters_in_stored_text(world: World) -> None:
    doc_id = new_document(world, by=world.signer_a)
    text = hostile_text(world)
    set_text(world, doc_id, number=text, title=f"Акт{text}", comment=text)
    for user in (world.signer_a, world.clerk):
        client = login(world.app.test_client(), user.email)
        resp = client.get("/documents/export.xlsx")
        assert resp.status_code == 200, (user.email, resp.status_code)
        ws = load_workbook(io.BytesIO(resp.data)).active
        assert ws is not None
        number = ws.cell(row=2, column=3).value
        assert number.startswith("П-1") and "[31m" in number
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe]", number)
        assert ws.cell(row=2, column=5).value.startswith("Акт")


# -- the printable form and the package: line breaks, a PDF that inflates -------


def test_printable_and_package_survive_line_breaks_in_the_number(
    world: World,
) -> None:
    # The routes' download name (Content-Disposition) is documents/views.py's:
    # here the PDF and the archive themselves, as the routes build them.
    doc_id = new_document(world, by=world.signer_a)
    number = "П-1\r\nX-Injected: 1\r\n\t" + hostile_text(world)
    set_text(world, doc_id, number=number, title="Акт\r\nвторая строка")
    with world.app.app_context():
        s = world.session()
        doc = s.get(Document, doc_id)
        assert doc is not None and doc.number == number
        pdf = printable_pdf(s, doc=doc, storage=world.storage)
        out = io.BytesIO()
        write_package(s, docs=[doc], storage=world.storage, out=out)
        s.close()
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    sheet = reader.pages[-1].extract_text()
    assert "X-Injected: 1" in sheet and "[31m" in sheet
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe]", sheet)
    title = str(reader.metadata.title if reader.metadata else "")
    assert "X-Injected: 1" in title and not re.search(r"[\x00-\x1f]", title)
    package = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    names = package.namelist()
    assert names and not [n for n in names if re.search(r"[\x00-\x1f\x7f]", n)]
    folder = names[0].split("/")[0]
    assert folder.startswith("П-1 X-Injected_ 1") and "[31m" in folder
    report = json.loads(package.read(f"{folder}/report.json"))
    assert report["document"]["number"] == number  # the record, unchanged
    printed = PdfReader(io.BytesIO(package.read(f"{folder}/printable.pdf")))
    assert "X-Injected: 1" in printed.pages[-1].extract_text()


def test_the_routes_answer_a_number_with_line_breaks(world: World) -> None:
    # The download name (Content-Disposition) of the printable form and the
    # package: a number with CR/LF answered 500 («Header values must not
    # contain newline characters»).
    doc_id = new_document(world, by=world.signer_a)
    set_text(world, doc_id, number="П-1\r\nX-Injected: 1")
    client = client_for(world, "signer_a")

    printable = client.get(f"/documents/{doc_id}/printable.pdf")
    package = client.get(f"/documents/{doc_id}/package.zip")

    assert printable.status_code == 200 and printable.data.startswith(b"%PDF-")
    assert package.status_code == 200 and package.mimetype == "application/zip"
    for resp in (printable, package):
        disposition = resp.headers.get("Content-Disposition", "")
        assert "\r" not in disposition and "\n" not in disposition
        assert "X-Injected" not in resp.headers


def test_printable_and_package_survive_a_pdf_that_inflates(world: World) -> None:
    pdf = inflating_pdf()
    assert len(pdf) < 2 * 1024 * 1024
    doc_id = new_document(world, by=world.signer_a, pdf=pdf, filename="bomb.pdf")
    client = login(world.app.test_client(), world.signer_a.email)
    started = time.monotonic()
    resp = client.get(f"/documents/{doc_id}/printable.pdf")
    assert resp.status_code == 200, resp.status_code
    assert time.monotonic() - started < FAST

    reader = PdfReader(io.BytesIO(resp.data))
    text = " ".join(p.extract_text() for p in reader.pages)
    text = re.sub(r"\s+", " ", text)
    assert "не включены в печатную форму" in text
    started = time.monotonic()
    resp = client.get(f"/documents/{doc_id}/package.zip")
    assert resp.status_code == 200, resp.status_code
    assert time.monotonic() - started < FAST
    package = zipfile.ZipFile(io.BytesIO(resp.data))
    original = [n for n in package.namelist() if "/original/" in n]
    assert [package.read(n) for n in original] == [pdf]  # byte for byte
    assert any(n.endswith("/printable.pdf") for n in package.namelist())


def test_printable_of_a_broken_stored_pdf_is_the_sheet_with_a_note(
    world: World,
) -> None:
    # Registration refuses such a file now; one stored before it did is printed.
    doc_id = new_document(world, by=world.signer_a)
    info = world.storage.put_bytes(
        b"%PDF-1.7\nnot really a pdf\n", content_type="application/pdf"
    )
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            s.execute(
                update(DocumentFile)
                .where(
                    DocumentFile.document_id == doc_id,
                    DocumentFile.role == FileRole.MAIN,
                )
                .values(blob_key=info.key, sha256=info.sha256, size=info.size)
            )
        s.close()
    client = login(world.app.test_client(), world.signer_a.email)
    resp = client.get(f"/documents/{doc_id}/printable.pdf")
    assert resp.status_code == 200, resp.status_code
    reader = PdfReader(io.BytesIO(resp.data))
    assert len(reader.pages) == 1
    assert "не удалось воспроизвести" in re.sub(
        r"\s+", " ", reader.pages[0].extract_text()
    )


def test_printable_of_a_pdf_over_the_page_cap_is_the_sheet_with_a_note(
    world: World,
) -> None:
    pdf = make_pdf(MAX_PRINT_PAGES + 1)
    doc_id = new_document(world, by=world.signer_a, pdf=pdf)
    client = login(world.app.test_client(), world.signer_a.email)
    resp = client.get(f"/documents/{doc_id}/printable.pdf")
    assert resp.status_code == 200, resp.status_code
    reader = PdfReader(io.BytesIO(resp.data))
    assert len(reader.pages) == 1  # the sheet alone
    text = re.sub(r"\s+", " ", reader.pages[0].extract_text())
    assert f"содержит {MAX_PRINT_PAGES + 1} страниц" in text
    assert "не включены в печатную форму" in text


# -- the registration page ------------------------------------------------------


def test_the_registration_page_renders_for_a_signatory_and_a_clerk(
    world: World,
) -> None:
    limit = world.app.config["MAX_CONTENT_LENGTH"] // 1048576 - 1
    for user in (world.signer_a, world.clerk):
        client = login(world.app.test_client(), user.email)
        resp = client.get("/documents/new")
        assert resp.status_code == 200, (user.email, resp.status_code)
        text = page_text(resp)
        assert "Регистрация нового документа" in text
        assert f"до {limit} МБ" in text


# -- control characters in the registration input -------------------------------


@pytest.mark.parametrize("field", ["number", "title", "comment"])
def test_control_characters_in_the_registration_form_are_refused(
    world: World, field: str
) -> None:
    client = login(world.app.test_client(), world.signer_a.email)
    data: dict[str, Any] = {
        "contract_id": str(world.contract_a.id),
        "doc_type": "other",
        "number": "П-1",
        "doc_date": "2026-10-31",
        "title": "Акт",
        "comment": "строка 1\r\nстрока 2\tс табуляцией",
        "route": "customer,supplier",
        "main_file": (io.BytesIO(act_pdf()), "act.pdf"),
    }
    data[field] = data[field] + "\x00\x1b"
    resp = client.post("/documents/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 422, resp.status_code
    assert "управляющие символы" in page_text(resp)
    assert count(world, Document) == 0
    data[field] = data[field].rstrip("\x00\x1b")
    data["main_file"] = (io.BytesIO(act_pdf()), "act.pdf")
    resp = client.post("/documents/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 302, page_text(resp)[:500]  # TAB, CR, LF are fine


@pytest.mark.parametrize("field", ["number", "title", "comment"])
def test_control_characters_in_the_api_meta_are_refused(
    world: World, field: str
) -> None:
    api = api_for(world, world.org_a)
    resp = api.post_document(**{field: "Акт\u0000 \u001b[31m"})
    assert resp.status_code == 422, resp.get_json()
    assert error_code(resp) == "validation_error"
    assert resp.get_json()["error"]["details"]["field"] == field
    assert "управляющие символы" in resp.get_json()["error"]["message"]
    assert api.get("/documents").get_json()["items"] == []
    ok = api.post_document(**{field: "Акт\tс табуляцией\r\nи переводом строки"})
    assert ok.status_code == 201, ok.get_json()


# -- JSON at the edge -----------------------------------------------------------

DEEP = "[" * 2000 + "]" * 2000
HOSTILE_BODIES: list[tuple[str, bytes, int, str]] = [
    ("deep", DEEP.encode(), 400, "json_too_deep"),
    ("deep_in_a_field", b'{"reason": ' + DEEP.encode() + b"}", 400, "json_too_deep"),
    ("lone_surrogate", b'{"reason": "\\ud800 \\u0434"}', 400, "invalid_json"),
    ("lone_surrogate_key", b'{"\\udfff": 1}', 400, "invalid_json"),
    ("invalid_utf8", b'{"reason": "\xed\xa0\x80"}', 400, "invalid_json"),
    ("nul_escaped", b'{"reason": "a\\u0000b"}', 400, "invalid_json"),
    ("escape_escaped", b'{"reason": "a\\u001b[31m"}', 400, "invalid_json"),
    ("raw_control", b'{"reason": "a\x01b"}', 400, "invalid_json"),
    ("nan", b'{"reason": NaN}', 400, "invalid_json"),
    ("huge_number", b'{"reason": 1e999}', 400, "invalid_json"),
    ("long_integer", b'{"reason": ' + b"9" * 5000 + b"}", 400, "invalid_json"),
    (
        "too_large",
        b'{"reason": "' + b"a" * (4 * 1024 * 1024) + b'"}',  # over every route's cap
        413,
        "json_too_large",
    ),
]


def _json_routes(w: World, doc_id: uuid.UUID) -> list[tuple[str, str]]:
    """(who, url): the routes that read a JSON body (``json_body`` in the API,
    ``request.get_json`` on the web pages)."""
    return [
        ("api", f"/api/v1/documents/{doc_id}/refuse"),
        ("api", f"/api/v1/documents/{doc_id}/revocation"),
        ("api", f"/api/v1/documents/{doc_id}/signatures"),
        ("api", f"/api/v1/documents/{doc_id}/pades/prepare"),
        ("api", f"/api/v1/documents/{doc_id}/pades/complete"),
        ("api", "/api/v1/contracts/77-0001-ЮЛ/readings"),
        ("api", "/api/v1/webhooks"),
        ("web", f"/documents/{doc_id}/sign/prepare"),
        ("web", f"/documents/{doc_id}/sign/complete"),
        ("web", f"/readings/{w.contract_a.id}/value"),
        ("web", "/widgets/order"),
    ]


@pytest.mark.parametrize(
    ("case", "body", "status", "code"),
    HOSTILE_BODIES,
    ids=[case for case, *_ in HOSTILE_BODIES],
)
def test_hostile_json_is_refused_at_the_edge_on_every_json_route(
    world: World, case: str, body: bytes, status: int, code: str
) -> None:
    doc_id = new_document(world, by=world.signer_a)
    api = api_for(world, world.org_a, scopes="read,write,sign,readings")
    web = login(world.app.test_client(), world.signer_a.email)
    for who, url in _json_routes(world, doc_id):
        headers = {"Content-Type": "application/json"}
        if who == "api":
            headers["Authorization"] = f"Bearer {api.key}"
            resp = api.client.post(url, data=body, headers=headers)
        else:
            resp = web.post(url, data=body, headers=headers)
        assert resp.status_code == status, (url, resp.status_code, resp.data[:200])
        assert error_code(resp) == code, (url, resp.get_json())
        assert resp.get_json()["error"]["message"], url
    assert api.get(f"/documents/{doc_id}").get_json()["status"] == "awaiting"


def test_the_json_size_cap_is_a_megabyte_but_for_signatures(world: World) -> None:
    doc_id = new_document(world, by=world.signer_a)
    api = api_for(world, world.org_a)
    refused = api.post(
        f"/documents/{doc_id}/refuse", json={"reason": "!" * MAX_JSON_BYTES}
    )
    assert refused.status_code == 413 and error_code(refused) == "json_too_large"
    assert refused.get_json()["error"]["details"] == {"max_bytes": MAX_JSON_BYTES}
    # A CMS signature in base64 may take two megabytes: the route judges it.
    signature = api.post(
        f"/documents/{doc_id}/signatures", json={"signature": "!" * MAX_JSON_BYTES}
    )
    assert signature.status_code == 422 and error_code(signature) == "validation_error"
    assert api.get(f"/documents/{doc_id}").get_json()["status"] == "awaiting"


def test_hostile_json_in_the_api_meta_is_refused(world: World) -> None:
    api = api_for(world, world.org_a)
    cases = [
        ('{"number": ' + DEEP + "}", 400, "json_too_deep"),
        ('{"number": "\\ud800", "title": "Акт"}', 400, "invalid_json"),
        ('{"number": NaN}', 400, "invalid_json"),
        ('{"number": "1", "type": "a\\u0000"}', 400, "invalid_json"),
        ('{"number": "' + "1" * (64 * 1024) + '"}', 413, "json_too_large"),
    ]
    for meta, status, code in cases:
        resp = api.post(
            "/documents",
            data={"meta": meta, "file": (io.BytesIO(act_pdf()), "a.pdf")},
            content_type="multipart/form-data",
        )
        assert resp.status_code == status, (meta[:40], resp.get_json())
        assert error_code(resp) == code, (meta[:40], resp.get_json())
        as_file = api.post(
            "/documents",
            data={
                "meta": (io.BytesIO(meta.encode()), "meta.json"),
                "file": (io.BytesIO(act_pdf()), "a.pdf"),
            },
            content_type="multipart/form-data",
        )
        assert as_file.status_code == status, (meta[:40], as_file.get_json())
    assert api.get("/documents").get_json()["items"] == []
    # A good meta sent as a file part is still read after the edge looked at it.
    good = {
        "type": "prom10",
        "number": "П-10/2026",
        "date": "2026-10-31",
        "contract_number": "77-0001-ЮЛ",
        "title": "Акт",
    }
    resp = api.post(
        "/documents",
        data={
            "meta": (io.BytesIO(json.dumps(good).encode()), "meta.json"),
            "file": (io.BytesIO(act_pdf()), "a.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 201, resp.get_json()
