"""The printable form and the ZIP package of signed documents, with signatures
made for real (a throw-away PKI, the signing flow's own services), on
PostgreSQL and on SQLite."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from pypdf import PdfReader

from docflow.accounts.models import Role, User
from docflow.contracts.models import Contract
from docflow.documents.models import DocType, Document, Party
from docflow.documents.package import PackageIntegrityError, safe_name, write_package
from docflow.documents.printable import printable_pdf
from docflow.errors import ValidationError
from tests.appfixtures import empty_tables
from tests.factories import (
    grant,
    make_contract,
    make_document,
    make_organisation,
    make_pdf,
    make_user,
)
from tests.functional.documents_support import (
    actor,
    app_runtime,
    blob_store,
    countersign_as_supplier,
    db,
    shared_pki,
    sign_as_customer,
)

MSK = dt.timezone(dt.timedelta(hours=3))


@dataclass
class Signed:
    app: Flask
    act_id: uuid.UUID  # a 2-page PDF: customer's CMS, supplier's CMS + PAdES
    letter_id: uuid.UUID  # a text file, unsigned
    clerk_id: uuid.UUID
    contract_id: uuid.UUID

    def doc(self, s: object, ident: uuid.UUID) -> Document:
        found = s.get(Document, ident)  # type: ignore[attr-defined]
        assert found is not None
        return found  # type: ignore[no-any-return]


@pytest.fixture(
    scope="module",
    params=[pytest.param("postgresql", marks=pytest.mark.integration), "sqlite"],
)
def signed(request: pytest.FixtureRequest) -> Iterator[Signed]:
    app: Flask = request.getfixturevalue(
        "pg_app" if request.param == "postgresql" else "sqlite_app"
    )
    empty_tables(app)
    pki = shared_pki()
    runtime = app_runtime(app)
    with db(app) as s:
        make_organisation(
            s, name="АО «Энергосбыт»", inn=pki.supplier_inn, is_supplier=True
        )
        org = make_organisation(s, name="ООО «Ромашка»", inn=pki.customer_inn)
        contract = make_contract(s, organisation=org, number="77-000101")
        clerk = make_user(
            s,
            email="clerk@energosbyt.example",
            last_name="Кузнецова",
            first_name="Анна",
            middle_name="Ильич",
            role=Role.CLERK,
        )
        alice = make_user(
            s,
            email="alice@romashka.example",
            last_name="Иванов",
            first_name="Иван",
            middle_name="Иванович",
        )
        grant(s, user=alice, contract=contract, can_sign=True)
        act = make_document(
            s,
            actor=actor(clerk),
            runtime=runtime,
            contract=contract,
            number="77-0001/2026",
            title="Акт снятия показаний за октябрь",
            doc_type=DocType.PROM10,
            data=make_pdf(2, heading="Акт ПРОМ10"),
            attachments=[("расчёт.csv", "№;кВт·ч\n1;1500\n".encode())],
        )
        sign_as_customer(s, doc=act, user=alice, runtime=runtime, pki=pki)
        countersign_as_supplier(s, doc=act, clerk=clerk, runtime=runtime, pki=pki)
        letter = make_document(
            s,
            actor=actor(clerk),
            runtime=runtime,
            contract=contract,
            number="П/9",
            title="Письмо о смене реквизитов",
            doc_type=DocType.LETTER,
            filename="письмо.txt",
            data="Просим учесть новые реквизиты.".encode(),
            route=[Party.CUSTOMER],
        )
        ids = Signed(app, act.id, letter.id, clerk.id, contract.id)
    try:
        yield ids
    finally:
        empty_tables(app)


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"],  # noqa: S607 - poppler-utils
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def page_count(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def msk(moment: dt.datetime, fmt: str) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(MSK).strftime(fmt)


def test_printable_pdf_has_the_pages_then_a_stamp_per_signature(
    signed: Signed, tmp_path: Path
) -> None:
    with db(signed.app) as s:
        doc = signed.doc(s, signed.act_id)
        data = printable_pdf(s, doc=doc, storage=blob_store(signed.app))
        signatures = list(doc.signatures)
    assert page_count(data) == 2 + 1
    text = pdf_text(data, tmp_path)
    pages = text.split("\f")
    assert "Акт ПРОМ10, страница 1 из 2" in pages[0]
    assert "Акт ПРОМ10, страница 2 из 2" in pages[1]
    # The supplier's PAdES stamp is painted into the last original page.
    assert "Документ подписан электронной подписью" in pages[1]
    sheet = pages[2]
    assert "ЛИСТ ПОДПИСАНИЯ" in sheet
    assert "копия электронного документа" in sheet and "Стр. 3 из 3" in sheet
    assert "Стр. 1 из 3" in pages[0]
    assert sheet.count("ДОКУМЕНТ ПОДПИСАН") == 2
    assert sheet.count("ЭЛЕКТРОННОЙ ПОДПИСЬЮ") == 2
    assert {sig.party for sig in signatures} == {Party.CUSTOMER, Party.SUPPLIER}
    for sig in signatures:
        # A 40-digit serial may wrap inside a stamp; the digits must all be there.
        assert sig.certificate_serial in "".join(sheet.split())
        assert f"Владелец: {sig.signer_name}" in sheet
        valid = (
            f"Действителен: с {msk(sig.certificate_not_before, '%d.%m.%Y')} "
            f"по {msk(sig.certificate_not_after, '%d.%m.%Y')}"
        )
        assert valid in sheet
        assert (
            f"Дата и время подписания: {msk(sig.signing_time, '%d.%m.%Y %H:%M')} (МСК)"
        ) in sheet
    assert "Владелец: Иванов Иван Иванович" in sheet
    assert "Владелец: Петрова Мария Сергеевна" in sheet
    assert "Сторона: Клиент" in sheet and "Сторона: Поставщик" in sheet
    # The proven time, what proves it, and the claim kept apart.
    assert sheet.count("Подтверждено штампом времени №") == 2
    assert sheet.count("Получена сервисом:") == 2
    assert "Заявлено подписантом:" in sheet
    assert sheet.count("Проверка при получении: подпись действительна") == 2


def test_printable_of_another_format_is_the_sheet_alone(
    signed: Signed, tmp_path: Path
) -> None:
    with db(signed.app) as s:
        doc = signed.doc(s, signed.letter_id)
        data = printable_pdf(s, doc=doc, storage=blob_store(signed.app))
        sha = doc.main_file.sha256
    assert page_count(data) == 1
    text = pdf_text(data, tmp_path)
    for expected in (
        "ЛИСТ ПОДПИСАНИЯ",
        "Письмо",
        "№ П/9 от 31.10.2026",
        "Письмо о смене реквизитов",
        "№ 77-000101 от 15.01.2025",
        "ООО «Ромашка», ИНН 7701234567",
        "письмо.txt",
        sha,
        "Документ ещё не подписан",
        "Стр. 1 из 1",
    ):
        assert expected in text, expected


def test_a_broken_pdf_is_refused_before_it_can_be_printed(
    signed: Signed, tmp_path: Path
) -> None:
    # A «PDF» that does not parse no longer reaches the store (it could never
    # be signed); the printable form of a stored PDF that cannot be rendered
    # is covered by test_input_limits (the signing sheet with a note).
    runtime = app_runtime(signed.app)
    with db(signed.app) as s:
        clerk = s.get(Document, signed.act_id).created_by_id  # type: ignore[union-attr]

        with pytest.raises(ValidationError) as refused:
            make_document(
                s,
                actor=actor(s.get(User, clerk)),
                runtime=runtime,
                contract=s.get(Contract, signed.contract_id),
                number="Б-1",
                title="Битый файл",
                data=b"%PDF-1.7\nnot really a pdf\n",
            )
        s.rollback()
    assert refused.value.code == "document_format"


def test_package_holds_files_signatures_printable_report_and_manifest(
    signed: Signed,
) -> None:
    out = io.BytesIO()
    with db(signed.app) as s:
        act, letter = signed.doc(s, signed.act_id), signed.doc(s, signed.letter_id)
        write_package(
            s, docs=[act, letter, act], storage=blob_store(signed.app), out=out
        )
        act_folder = f"77-0001_2026_{act.id.hex[:8]}"
        letter_folder = f"П_9_{letter.id.hex[:8]}"
        original_sha = act.main_file.sha256
    zf = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    assert zf.testzip() is None
    names = set(zf.namelist())
    assert names == {
        "manifest.json",
        f"{act_folder}/original/document.pdf",
        f"{act_folder}/attachments/расчёт.csv",
        f"{act_folder}/signatures/document.pdf.customer.sig",
        f"{act_folder}/signatures/document.pdf.supplier.sig",
        f"{act_folder}/signatures/as-received/document.pdf.customer.received.sig",
        f"{act_folder}/signatures/as-received/document.pdf.supplier.received.sig",
        f"{act_folder}/signed/document.signed-1.pdf",
        f"{act_folder}/printable.pdf",
        f"{act_folder}/report.json",
        f"{act_folder}/reports/customer.validation-report.xml",
        f"{act_folder}/reports/supplier.validation-report.xml",
        f"{letter_folder}/original/письмо.txt",
        f"{letter_folder}/printable.pdf",
        f"{letter_folder}/report.json",
    }
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["generator"] == "docflow"
    assert dt.datetime.fromisoformat(manifest["created_at"]).tzinfo is not None
    assert [d["folder"] for d in manifest["documents"]] == [act_folder, letter_folder]
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == names - {"manifest.json"}
    for path, entry in listed.items():
        body = zf.read(path)
        assert entry["size"] == len(body), path
        assert entry["sha256"] == hashlib.sha256(body).hexdigest(), path
    assert listed[f"{act_folder}/original/document.pdf"]["sha256"] == original_sha

    report = json.loads(zf.read(f"{act_folder}/report.json"))
    assert report["document"]["number"] == "77-0001/2026"
    assert report["document"]["status"] == "signed"
    assert report["document"]["organisation"]["inn"] == "7701234567"
    assert [(r["party"], r["status"]) for r in report["route"]] == [
        ("customer", "signed"),
        ("supplier", "signed"),
    ]
    assert report["summary"] == {"signatures": 2, "valid": 2, "all_valid": True}
    customer, supplier = report["signatures"]
    assert customer["signer_name"] == "Иванов Иван Иванович"
    assert customer["report"]["cms"]["verdict"] == "valid"
    assert (
        customer["signature_file"]
        == f"{act_folder}/signatures/document.pdf.customer.sig"
    )
    assert customer["signed_pdf"] is None
    assert (
        customer["received_file"]
        == f"{act_folder}/signatures/as-received/document.pdf.customer.received.sig"
    )
    # The proof of existence, and what the signer claimed, kept apart.
    assert customer["signing_time_source"] == "timestamp"
    assert customer["timestamp"]["serial"] and customer["timestamp"]["tsa"]
    assert customer["signing_time"] == customer["timestamp"]["time"]
    assert customer["received_at"] and customer["claimed_time"]
    assert customer["evidence_level"] == "CAdES-LTA"
    assert supplier["evidence_level"] == "CAdES-LTA + PAdES B-LTA"
    assert customer["report"]["cms"]["signers"][0]["poe_source"] == "timestamp"
    assert supplier["signed_pdf"] == f"{act_folder}/signed/document.signed-1.pdf"
    xml = zf.read(f"{act_folder}/reports/supplier.validation-report.xml").decode()
    assert "http://uri.etsi.org/19102/v1.2.1#" in xml
    assert "urn:etsi:019102:mainindication:total-passed" in xml
    assert "urn:etsi:019102:validationprocess:LTA" in xml
    assert supplier["report"]["pdf"]["verdict"] == "valid"
    assert zf.read(f"{act_folder}/printable.pdf").startswith(b"%PDF-")
    letter_report = json.loads(zf.read(f"{letter_folder}/report.json"))
    assert letter_report["signatures"] == [] and letter_report["summary"]["valid"] == 0


def _blob_path(app: Flask, key: str) -> Path:
    root = Path(urlsplit(app.extensions["docflow"].settings.storage_url).path)
    (found,) = root.glob(f"objects/**/{key}/data")
    return found


def test_package_refuses_a_blob_changed_in_storage(signed: Signed) -> None:
    store = blob_store(signed.app)
    with db(signed.app) as s:
        clerk = s.get(Document, signed.act_id).created_by_id  # type: ignore[union-attr]

        doc = make_document(
            s,
            actor=actor(s.get(User, clerk)),
            runtime=app_runtime(signed.app),
            contract=s.get(Contract, signed.contract_id),
            number="Т-1",
            title="Подменённый файл",
            filename="акт.txt",
            data=b"1500 kWh",
        )
        key = doc.main_file.blob_key
    path = _blob_path(signed.app, key)
    os.chmod(path, 0o644)
    path.write_bytes(b"9500 kWh")  # same size, other bytes
    with db(signed.app) as s, pytest.raises(PackageIntegrityError) as caught:
        write_package(
            s, docs=[s.get(Document, doc.id)], storage=store, out=io.BytesIO()
        )
    assert "«акт.txt»" in caught.value.message and "Т-1" in caught.value.message
    assert caught.value.details["filename"] == "акт.txt"


def test_package_refuses_a_digest_that_differs_from_the_database(
    signed: Signed,
) -> None:
    session = signed.app.extensions["docflow"].sessionmaker()
    try:
        doc = signed.doc(session, signed.act_id)
        sig_file = next(f for f in doc.files if f.filename.endswith(".supplier.sig"))
        sig_file.sha256 = "0" * 64
        session.flush()
        with pytest.raises(PackageIntegrityError) as caught:
            write_package(
                session, docs=[doc], storage=blob_store(signed.app), out=io.BytesIO()
            )
        assert "document.pdf.supplier.sig" in caught.value.message
    finally:
        session.rollback()
        session.close()


def test_safe_name_keeps_archives_portable() -> None:
    assert safe_name("77-0001/2026") == "77-0001_2026"
    assert safe_name("..") == "file"
    assert safe_name('a<b>:"c|?*.pdf') == "a_b_c_.pdf"
    assert safe_name("CON.txt") == "_CON.txt"
    assert safe_name("../../etc/passwd") == "_.._etc_passwd"
    long = safe_name("я" * 300 + ".pdf")
    assert len(long) <= 120 and long.endswith(".pdf")
