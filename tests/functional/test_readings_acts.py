"""The ПРОМ10 act in PDF, Word and Excel, blank and filled, read back; and
«Передать в ЮЗДО»: a prom10 document, a new version replacing an unsigned one,
a refusal once the act is signed."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from typing import Any

import pytest
from docx import Document as Docx
from flask.testing import FlaskClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from docflow.documents.models import DocStatus, DocType, Document
from docflow.outbox.models import Notification
from docflow.readings.models import ReadingAct
from tests.functional.test_document_flow import sign_in_browser
from tests.functional.test_readings_world import (
    PERIOD,
    PERIOD_KEY,
    Readings,
    keys,
    readings,
    world,
)
from tests.functional.world import register_cert

__all__ = ["keys", "readings", "world"]


def normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " "))


def pdf_text(data: bytes) -> str:
    if shutil.which("pdftotext"):
        out = subprocess.run(
            ["pdftotext", "-layout", "-", "-"],
            input=data,  # noqa: S607
            capture_output=True,
            check=True,
        )
        return normal(out.stdout.decode())

    return normal(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


def docx_text(data: bytes) -> str:
    doc = Docx(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts += [c.text for c in row.cells]
    return normal(" ".join(parts))


def xlsx_text(data: bytes) -> str:
    ws = load_workbook(io.BytesIO(data))["ПРОМ10"]
    return normal(
        " ".join(
            str(c)
            for row in ws.iter_rows(values_only=True)
            for c in row
            if c is not None
        )
    )


READERS = {"pdf": pdf_text, "docx": docx_text, "xlsx": xlsx_text}


def send_two(readings: Readings, client: FlaskClient) -> None:
    readings.login(client, readings.w.signer_a)
    assert readings.save(client, "0001", "124000").status_code == 200
    assert readings.save(client, "0002", "150").status_code == 200
    client.post(readings.url("/send"), data={"period": PERIOD_KEY})


def act(client: FlaskClient, r: Readings, fmt: str, filled: bool) -> Any:
    resp = client.get(
        r.url(f"/act?period={PERIOD_KEY}&format={fmt}&filled={int(filled)}")
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return resp


@pytest.mark.parametrize("fmt", ["pdf", "docx", "xlsx"])
def test_filled_and_blank_acts_read_back_with_cyrillic_and_numbers(
    readings: Readings, client: FlaskClient, fmt: str
) -> None:
    send_two(readings, client)
    resp = act(client, readings, fmt, filled=True)
    assert (
        "ПРОМ10-77-0001-ЮЛ-2026-11" in resp.headers["Content-Disposition"]
        or "filename*=" in resp.headers["Content-Disposition"]
    )
    text = READERS[fmt](resp.data)
    for expected in (
        "АКТ № ПРОМ10-77-0001-ЮЛ-2026-11 от 20.11.2026",
        "снятия показаний расчётных приборов учёта",
        "за ноябрь 2026 г.",
        "АО «Энергосбыт»",
        "ООО «Ромашка»",
        "7701234567",
        "№ 77-0001-ЮЛ",
        "Цех",
        "Склад",
        "СН-2",
        "НН",
        "Меркурий 230 ART-03",
        "00123456",
        "00124000",
        "999900",
        "000150",
        "все расчётные приборы учёта по договору",
        "Должность",
        "Подпись",
        "От потребителя",
        "От гарантирующего поставщика",
        "в соответствии с соглашением об электронном документообороте",
    ):
        assert expected in text, (fmt, expected)
    # 0001: 544 × 40 = 21 760; 0002: 250 through zero; «Цех» − 1 000 transit = 21 010.
    assert "544" in text and "250" in text
    if fmt == "xlsx":
        assert "21760" in text and "21010" in text  # numbers, formatted by Excel
    else:
        assert "21 760" in text and "21 010" in text
        assert "транзит − 1 000" in text
    assert "Истёк срок МПИ" in text and "Не исправен" in text

    blank = READERS[fmt](act(client, readings, fmt, filled=False).data)
    assert "бланк" in blank and "00123456" in blank
    assert "00124000" not in blank and "21 760" not in blank and "21760" not in blank
    assert "соглашением об электронном документообороте" not in blank


def test_pdf_act_is_landscape_with_room_for_the_signature_stamps(
    readings: Readings, client: FlaskClient
) -> None:
    send_two(readings, client)
    reader = PdfReader(io.BytesIO(act(client, readings, "pdf", filled=True).data))
    page = reader.pages[-1]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert width > height  # A4 landscape
    lowest: list[float] = []

    def visit(text: str, cm: Any, tm: Any, *_rest: Any) -> None:
        if text.strip():  # the baseline on the page: the text matrix times the CTM
            lowest.append(float(tm[4] * cm[1] + tm[5] * cm[3] + cm[5]))

    page.extract_text(visitor_text=visit)
    # Nothing is printed in the bottom 5 cm, where the two stamps go.
    assert min(lowest) > 142 - 1


def test_unknown_format_is_a_clear_error(
    readings: Readings, client: FlaskClient
) -> None:
    readings.login(client, readings.w.signer_a)
    resp = client.get(readings.url(f"/act?period={PERIOD_KEY}&format=odt"))
    assert resp.status_code == 422
    assert "Выберите формат: PDF, Word или Excel." in resp.get_data(as_text=True)


def documents(readings: Readings) -> list[Document]:
    with readings.app.app_context():
        s = readings.w.session()
        docs = list(
            s.scalars(
                select(Document)
                .where(Document.contract_id == readings.contract_id)
                .order_by(Document.created_at)
            )
        )
        for d in docs:
            _ = d.files, d.steps
        s.expunge_all()
        s.close()
    return docs


def test_act_goes_to_the_document_flow_and_is_replaced_until_signed(
    readings: Readings, client: FlaskClient
) -> None:
    readings.login(client, readings.w.signer_a)
    # Nothing sent yet: a clear refusal, no document.
    resp = client.post(
        readings.url("/act/send"), data={"period": PERIOD_KEY}, follow_redirects=True
    )
    assert "нет показаний, переданных в расчёт" in resp.get_data(as_text=True)
    assert documents(readings) == []

    send_two(readings, client)
    resp = client.post(readings.url("/act/send"), data={"period": PERIOD_KEY})
    assert resp.status_code == 302 and "/documents/" in resp.headers["Location"]
    [doc] = documents(readings)
    assert doc.doc_type == DocType.PROM10 and doc.status == DocStatus.AWAITING
    assert doc.number == "ПРОМ10-77-0001-ЮЛ-2026-11"
    assert doc.title == "Акт снятия показаний (ПРОМ10) за ноябрь 2026 г."
    assert doc.source == "readings"
    assert [s.party.value for s in doc.steps] == ["customer", "supplier"]
    assert doc.main_file.content_type == "application/pdf"
    card = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Ожидает подписи клиента" in card and "передан в ЮЗДО" in card
    with readings.app.app_context():
        s = readings.w.session()
        to_sign = list(
            s.scalars(
                select(Notification).where(Notification.kind == "document.to_sign")
            )
        )
        s.close()
    assert [n.user_id for n in to_sign] == [readings.w.signer_a.id]  # the signatory

    # Sent again before anybody signed: a new version replaces the first.
    resp = client.post(
        readings.url("/act/send"), data={"period": PERIOD_KEY}, follow_redirects=True
    )
    assert "Предыдущая неподписанная версия заменена" in resp.get_data(as_text=True)
    first, second = documents(readings)
    assert first.status == DocStatus.DELETED and second.supersedes_id == first.id
    with readings.app.app_context():
        s = readings.w.session()
        acts = [
            (a.version, a.document_id)
            for a in s.scalars(
                select(ReadingAct)
                .where(ReadingAct.period == PERIOD)
                .order_by(ReadingAct.version)
            )
        ]
        s.close()
    assert acts == [(1, first.id), (2, second.id)]
    sheet = client.get(readings.url()).get_data(as_text=True)
    assert f"/documents/{second.id}" in sheet

    # The customer signs it; now a resend is refused, clearly.
    cert = register_cert(readings.w, readings.w.signer_a, readings.w.keys.signer_a)
    sign_in_browser(
        readings.w,
        readings.w.signer_a,
        second.id,
        readings.w.keys.signer_a,
        cert.certificate.id,
    )
    resp = client.post(
        readings.url("/act/send"), data={"period": PERIOD_KEY}, follow_redirects=True
    )
    page = normal(resp.get_data(as_text=True))
    assert (
        "Акт ПРОМ10 за ноябрь 2026 г. (№ ПРОМ10-77-0001-ЮЛ-2026-11) уже подписан"
        in page
    )
    assert len(documents(readings)) == 2
