"""PAdES: signing with the Russian stamp, several signatures, tampering."""

from __future__ import annotations

import datetime as dt
import io
import json
from functools import lru_cache
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject
from pypdf import PdfReader
from pypdf.generic import ContentStream
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from signing import pki
from signing.errors import DocumentFormatError, SigningError
from signing.pades import StampInfo, sign_pdf, verify_pdf
from signing.reports import Verdict
from signing.signers import Pkcs12Signer
from signing.trust import TrustStore

FONTS = Path(__file__).resolve().parents[3] / "signing" / "fonts"

ACT_LINES = [
    "АКТ приёма-передачи электрической энергии № 42",
    "г. Москва                                        31 октября 2026 г.",
    "",
    "Поставщик: АО «Энергосбыт», ИНН 7701234567",
    "Потребитель: ООО «Ромашка», ИНН 7707654321",
    "Договор энергоснабжения № 1234-Э от 01.01.2026",
    "",
    "Объём электроэнергии за октябрь 2026 г.: 12 345 кВт·ч",
    "Стоимость: 98 765,43 руб., в т. ч. НДС 20 %",
]


@lru_cache(maxsize=2)
def build_act_pdf(pages: int = 1) -> bytes:
    """A one-page A4 act in Russian (reportlab, DejaVu Sans); the bottom third
    of the page is left free, as the cabinet's templates do for stamps."""

    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONTS / "DejaVuSans.ttf")))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=True)
    for page in range(pages):
        c.setFont("DejaVuSans", 12)
        y = 780.0
        for line in ACT_LINES:
            c.drawString(60, y, line)
            y -= 22
        c.drawString(60, 420, f"Страница {page + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


def _signer(issued: pki.Issued) -> Pkcs12Signer:
    return Pkcs12Signer(issued.key, issued.cert, issued.chain)


@pytest.fixture(scope="module")
def signed_once(signer_rsa: pki.Issued) -> bytes:
    return sign_pdf(build_act_pdf(), _signer(signer_rsa), reason="Согласовано")


@pytest.fixture(scope="module")
def signed_twice(signed_once: bytes, signer_ec: pki.Issued) -> bytes:
    return sign_pdf(signed_once, _signer(signer_ec), location="Москва")


def _widget_rects(pdf: bytes) -> list[tuple[float, float, float, float]]:
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    return [
        tuple(float(v) for v in annot.get_object()["/Rect"])  # type: ignore[misc]
        for annot in page.get("/Annots", [])
    ]


def _appearance_text(pdf: bytes) -> list[str]:
    """The stamps' text, decoded through their ToUnicode maps (pypdf)."""

    reader = PdfReader(io.BytesIO(pdf))
    out = []
    for annot in reader.pages[0].get("/Annots", []):
        ap = annot.get_object()["/AP"]["/N"].get_object()
        font = ap["/Resources"]["/Font"]["/DF1"].get_object()
        cmap = font["/ToUnicode"].get_object().get_data().decode("ascii")
        mapping = {}
        for line in cmap.splitlines():
            if line.startswith("<") and line.count("<") == 2:
                src, dst = line.split()
                mapping[int(src[1:-1], 16)] = chr(int(dst[1:-1], 16))
        text = []
        for operands, op in ContentStream(ap, reader).operations:
            if op == b"Tj":
                raw = operands[0]
                data = raw if isinstance(raw, bytes) else raw.original_bytes
                text.append(
                    "".join(
                        mapping.get(int.from_bytes(data[i : i + 2], "big"), "?")
                        for i in range(0, len(data), 2)
                    )
                )
        out.append("\n".join(text))
    return out


def test_signed_pdf_is_valid(signed_once: bytes, trust_store: TrustStore) -> None:
    report = verify_pdf(signed_once, trust_store)

    assert report.verdict is Verdict.VALID, report.summary_ru()
    (sig,) = report.signatures
    assert sig.field_name == "Signature1"
    assert sig.intact
    assert sig.valid
    assert sig.coverage == "entire_file"
    assert sig.modification_level == "none"
    assert sig.chain_verdict is Verdict.VALID
    assert sig.certificate is not None
    assert sig.certificate.owner == "Иванов Иван Иванович"
    assert sig.signing_time is not None
    assert abs(sig.signing_time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert report.revisions == 2


def test_signature_is_pades_with_the_russian_stamp(
    signed_once: bytes, signer_rsa: pki.Issued
) -> None:
    reader = PdfFileReader(io.BytesIO(signed_once), strict=False)
    (sig,) = reader.embedded_regular_signatures
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig.sig_object["/Reason"] == "Согласовано"
    attrs = {a["type"].native for a in sig.signer_info["signed_attrs"]}
    # EN 319 142-1 §5.2: no signing-time attribute (the time is /M).
    assert attrs == {"content_type", "message_digest", "signing_certificate_v2"}

    (stamp,) = _appearance_text(signed_once)
    serial = format(signer_rsa.cert.serial_number, "X")
    assert stamp.startswith("Документ подписан электронной подписью\n")
    assert f"Сертификат: {serial.zfill(len(serial) + len(serial) % 2)}" in stamp
    assert "Владелец: Иванов Иван Иванович" in stamp
    assert "ООО «Ромашка»" in stamp
    valid_from = signer_rsa.cert.not_valid_before_utc.astimezone(
        dt.timezone(dt.timedelta(hours=3))
    )
    assert f"Действителен: с {valid_from:%d.%m.%Y} по " in stamp
    assert "Дата подписания: " in stamp
    assert stamp.rstrip().endswith("(МСК)")


def test_second_signature_keeps_the_first_valid(
    signed_twice: bytes, trust_store: TrustStore
) -> None:
    report = verify_pdf(signed_twice, trust_store)

    assert report.verdict is Verdict.VALID, report.summary_ru()
    first, second = report.signatures
    assert (first.field_name, second.field_name) == ("Signature1", "Signature2")
    assert first.coverage == "entire_revision"
    assert first.modification_level == "form_filling"  # a new signature and its stamp
    assert second.coverage == "entire_file"
    assert second.certificate is not None
    assert second.certificate.public_key_algorithm == "ec"
    assert "действительных 2 из 2" in report.summary_ru()


def test_stamps_do_not_overlap(signed_twice: bytes) -> None:
    first, second = _widget_rects(signed_twice)

    assert first[2] <= second[0] or first[3] <= second[1]  # beside or above
    for x1, y1, x2, y2 in (first, second):
        assert 0 <= x1 < x2 <= 595.3
        assert 0 <= y1 < y2 < 200  # the bottom of the page


def test_stamps_stack_upwards_when_a_row_is_full(
    signed_twice: bytes, signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    third = sign_pdf(signed_twice, _signer(signer_rsa))

    rects = _widget_rects(third)
    assert len(rects) == 3
    assert rects[2][1] >= max(r[3] for r in rects[:2])  # a new row above the first
    assert verify_pdf(third, trust_store).verdict is Verdict.VALID


def test_invisible_signature_and_custom_stamp(
    signer_ec: pki.Issued, trust_store: TrustStore
) -> None:
    pdf = build_act_pdf()
    invisible = sign_pdf(
        pdf, _signer(signer_ec), stamp=False, field_name="Подпись клиента"
    )
    custom = sign_pdf(
        pdf,
        _signer(signer_ec),
        stamp=StampInfo(owner="Петрова М. С.", extra_lines=("Доверенность № 7",)),
        box=(300, 300, 560, 400),
        signing_time=dt.datetime(2026, 10, 31, 9, 30, tzinfo=dt.UTC),
    )

    assert _widget_rects(invisible) == [(0.0, 0.0, 0.0, 0.0)]
    report = verify_pdf(invisible, trust_store)
    assert report.signatures[0].field_name == "Подпись клиента"
    assert _widget_rects(custom) == [(300.0, 300.0, 560.0, 400.0)]
    (stamp,) = _appearance_text(custom)
    assert "Владелец: Петрова М. С." in stamp
    assert "Доверенность № 7" in stamp
    assert "Дата подписания: 31.10.2026 12:30 (МСК)" in stamp


# --------------------------------------------------------------------------
# Changes after signing
# --------------------------------------------------------------------------


def _update(pdf: bytes, change: str) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    if change == "text":
        # Replace what the page says: a new content stream.
        forged = generic.StreamObject(
            stream_data=b"BT /F1 12 Tf 60 780 Td (AKT No 43: 1 kWh, 0.01 RUB) Tj ET"
        )
        page["/Contents"] = writer.add_object(forged)
        writer.update_container(page)
    elif change == "page":
        writer.insert_page(
            PageObject(
                contents=writer.add_object(generic.StreamObject(stream_data=b"")),
                media_box=(0, 0, 595, 842),
            )
        )
    else:
        # An opaque white box over the act's figures (or a FreeText note on top).
        subtype = "/Square" if change == "square" else "/FreeText"
        annot = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name(subtype),
                pdf_name("/Rect"): generic.ArrayObject(
                    generic.FloatObject(v) for v in (55, 590, 560, 640)
                ),
                pdf_name("/IC"): generic.ArrayObject(
                    generic.FloatObject(1) for _ in range(3)
                ),
                pdf_name("/Contents"): generic.TextStringObject("1 кВт·ч"),
                pdf_name("/DA"): generic.TextStringObject("/Helv 12 Tf 0 g"),
                pdf_name("/P"): page_ref,
            }
        )
        annots = page.get("/Annots")
        if annots is None:
            page["/Annots"] = annots = generic.ArrayObject()
        annots.append(writer.add_object(annot))
        writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("change", ["text", "page", "square", "freetext"])
def test_changes_after_signing_are_flagged(
    change: str, signed_once: bytes, trust_store: TrustStore
) -> None:
    report = verify_pdf(_update(signed_once, change), trust_store)

    (sig,) = report.signatures
    assert sig.intact  # the signed revision itself is untouched
    assert sig.coverage == "entire_revision"
    # pyHanko's default policy whitelists no annotations: a covering one is
    # OTHER, like any content change (policy in signing/pades.py).
    assert sig.modification_level == "other"
    assert "modified_after_signing" in sig.codes
    assert report.verdict is Verdict.INVALID
    assert "изменён после подписания" in report.summary_ru()


def test_a_changed_byte_in_the_signed_range_is_invalid(
    signed_once: bytes, trust_store: TrustStore
) -> None:
    tampered = signed_once.replace(b"/Reason", b"/Reasom", 1)  # inside the signed range
    assert tampered != signed_once

    report = verify_pdf(tampered, trust_store)

    (sig,) = report.signatures
    assert not sig.intact
    assert "digest_mismatch" in sig.codes
    assert report.verdict is Verdict.INVALID


@pytest.mark.parametrize(
    ("fixture", "code"),
    [
        ("signer_expired", "expired"),
        ("signer_revoked", "revoked"),
        ("signer_no_usage", "key_usage"),
    ],
)
def test_bad_certificates_in_pdf(
    fixture: str, code: str, request: pytest.FixtureRequest, trust_store: TrustStore
) -> None:
    issued: pki.Issued = request.getfixturevalue(fixture)

    report = verify_pdf(
        sign_pdf(build_act_pdf(), _signer(issued), stamp=False), trust_store
    )

    assert report.verdict is Verdict.INVALID
    assert code in report.signatures[0].codes


def test_pdf_without_signatures(trust_store: TrustStore) -> None:
    report = verify_pdf(build_act_pdf(), trust_store)

    assert report.signatures == ()
    assert report.verdict is Verdict.INVALID
    assert report.summary_ru() == "Документ не содержит электронных подписей"
    assert (
        json.loads(json.dumps(report.to_json()))["reasons"][0]["code"]
        == "no_signatures"
    )


@pytest.mark.parametrize(
    "garbage", [b"", b"%PDF-1.7\n garbage", b"GIF89a", bytes(1000)]
)
def test_garbage_pdf_is_a_document_format_error(
    garbage: bytes, trust_store: TrustStore
) -> None:
    with pytest.raises(DocumentFormatError):
        verify_pdf(garbage, trust_store)


def test_signing_garbage_is_a_document_format_error(signer_rsa: pki.Issued) -> None:
    with pytest.raises(DocumentFormatError):
        sign_pdf(b"not a pdf", _signer(signer_rsa))
    with pytest.raises(SigningError, match="page"):
        sign_pdf(build_act_pdf(), _signer(signer_rsa), page=5)


def test_several_pages_stamp_goes_to_the_last(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    signed = sign_pdf(build_act_pdf(pages=2), _signer(signer_rsa))

    reader = PdfFileReader(io.BytesIO(signed), strict=False)
    kids = reader.root["/Pages"]["/Kids"]
    assert "/Annots" not in kids[0].get_object()
    assert len(kids[1].get_object()["/Annots"]) == 1
    assert verify_pdf(signed, trust_store).verdict is Verdict.VALID


def test_report_json(signed_twice: bytes, trust_store: TrustStore) -> None:
    data = json.loads(json.dumps(verify_pdf(signed_twice, trust_store).to_json()))

    assert data["verdict"] == "valid"
    assert [s["field_name"] for s in data["signatures"]] == ["Signature1", "Signature2"]
    assert set(data["signatures"][0]) >= {
        "verdict", "intact", "valid", "certificate", "signing_time", "coverage",
        "modification_level", "chain_verdict", "signer", "summary",
    }  # fmt: skip


def test_a_damaged_signature_is_reported_beside_the_others(
    signed_twice: bytes, trust_store: TrustStore
) -> None:
    # Overwrite the start of the second signature's CMS (in its /Contents).
    reader = PdfFileReader(io.BytesIO(signed_twice), strict=False)
    second = reader.embedded_regular_signatures[1]
    start = int(second.byte_range[1]) + 1  # after "<"
    damaged = bytearray(signed_twice)
    damaged[start : start + 16] = b"0" * 16

    report = verify_pdf(bytes(damaged), trust_store)

    first, broken = report.signatures
    assert first.verdict is Verdict.VALID  # the first one is still checked
    assert broken.field_name == "Signature2"
    assert broken.verdict is Verdict.INVALID
    assert "format" in broken.codes
    assert report.verdict is Verdict.INVALID
