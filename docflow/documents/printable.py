"""The printable form of a document: its pages and a signing sheet.

For a PDF the pages come from the newest signed revision (the original when
nobody signed inside the PDF), flattened: the appearance of each signature
widget (the PAdES stamp) is painted into the page and the interactive field is
dropped, so every viewer and printer shows the same thing and none of them
complains about a form. Then comes the signing sheet («Лист подписания»): the
document's particulars and one e-signature stamp per signature, in the manner
of ГОСТ Р 7.0.97-2016 (the «отметка об электронной подписи»: certificate serial,
holder, validity, with the signing time, party and verification verdict). A
document in another format gets the sheet alone. Every page carries the footer
«Документ сформирован … — копия электронного документа» and its number.

The stored PDF is untrusted input: its pages are drawn only within the bounds
below (page count, decoded size of each stream and of all page contents); a
PDF past them, or one pypdf cannot read, gets the sheet alone with a note
saying why. Text from the records is printed as plain text: control
characters stored before the edge refused them print as white space or U+FFFD.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pypdf import PageObject, PdfReader, PdfWriter, Transformation, apply_configuration
from pypdf.errors import LimitReachedError
from pypdf.generic import (
    ArrayObject,
    ContentStream,
    DictionaryObject,
    NameObject,
    StreamObject,
)
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from sqlalchemy.orm import Session

from docflow.access import supplier_organisation
from docflow.db import utcnow
from docflow.documents.models import (
    PARTY_TITLES,
    Document,
    DocumentFile,
    Signature,
    StepStatus,
    Verdict,
)
from docflow.documents.services import status_label
from docflow.paper import FONT, FONT_BOLD, numbered_canvas, register_fonts
from storage import BlobStorage

log = logging.getLogger(__name__)

MSK = dt.timezone(dt.timedelta(hours=3), "МСК")

INK = colors.Color(0.05, 0.2, 0.55)  # the dark blue of a stamp (as signing.stamp)
GREY = colors.Color(0.4, 0.4, 0.4)
RULE = colors.Color(0.8, 0.82, 0.86)
VERDICT_INK = {
    Verdict.VALID: colors.Color(0.0, 0.45, 0.2),
    Verdict.INVALID: colors.Color(0.75, 0.05, 0.05),
    Verdict.INDETERMINATE: colors.Color(0.7, 0.4, 0.0),
}
VERDICT_WORDS = {
    Verdict.VALID: "подпись действительна",
    Verdict.INVALID: "подпись НЕДЕЙСТВИТЕЛЬНА",
    Verdict.INDETERMINATE: "действительность не установлена",
}
STEP_WORDS = {
    StepStatus.WAITING: "ожидает очереди",
    StepStatus.CURRENT: "ожидает подписи",
    StepStatus.SIGNED: "подписано",
    StepStatus.REFUSED: "отказ в подписании",
}

PAGE_W, PAGE_H = A4
MARGIN_X = 20 * mm
MARGIN_TOP = 18 * mm
MARGIN_BOTTOM = 22 * mm
STAMP_GAP = 5 * mm
STAMP_PAD = 7.0
STAMP_TITLE_SIZE = 8.5
STAMP_SIZE = 8.0
STAMP_LEADING = 10.6
FOOTER_SIZE = 7.0
CONTENT_W = PAGE_W - 2 * MARGIN_X - 12  # the frame's padding is 6 pt a side

#: Bounds on the stored PDF whose pages the form reproduces. A 1 MB file may
#: declare a content stream that inflates to 1 GiB; pypdf stops at these.
MAX_PRINT_PAGES = 500
MAX_STREAM_BYTES = 16 * 1024 * 1024  # one decoded stream
MAX_CONTENT_BYTES = 64 * 1024 * 1024  # all pages' content streams together

UNREADABLE_NOTE = (
    "Страницы документа не удалось воспроизвести: файл PDF повреждён или "
    "защищён паролем. Оригинал доступен для скачивания; его SHA-256 указан выше."
)


# -- formatting ------------------------------------------------------------------


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite returns the stored UTC moment without its zone.
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def msk_date(moment: dt.datetime) -> str:
    return _aware(moment).astimezone(MSK).strftime("%d.%m.%Y")


def msk_time(moment: dt.datetime) -> str:
    return _aware(moment).astimezone(MSK).strftime("%d.%m.%Y %H:%M")


def _size(n: int) -> str:
    return f"{n:,}".replace(",", "\u00a0") + "\u00a0байт"


# A line break inside a one-line field (a number, a name) would break the
# layout, and a control character draws as a box or not at all.
_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\x1c-\x1f\x85\u2028\u2029]+")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def plain(text: str) -> str:
    """``text`` on one line: breaks and tabs become a space, any other control
    character (or a character no font has) U+FFFD."""
    return _UNPRINTABLE.sub("\ufffd", _BREAKS.sub(" ", text))


def _esc(text: str) -> str:
    text = plain(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Lines of ``text`` no wider than ``width``; a word longer than a line (a
    certificate serial) is broken between characters."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if pdfmetrics.stringWidth(candidate, font, size) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        while pdfmetrics.stringWidth(word, font, size) > width:
            cut = len(word)
            while cut > 1 and pdfmetrics.stringWidth(word[:cut], font, size) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    return lines or [""]


# -- the stamp -------------------------------------------------------------------


@dataclass(frozen=True)
class StampText:
    """What one stamp says, line by line (the last line is the verdict)."""

    lines: tuple[str, ...]
    verdict: Verdict

    @classmethod
    def of(cls, sig: Signature) -> StampText:
        lines = [
            f"Сертификат: {sig.certificate_serial}",
            f"Владелец: {sig.signer_name}",
        ]
        if sig.signer_organisation and sig.signer_organisation != sig.signer_name:
            lines.append(sig.signer_organisation)
        power = (sig.report or {}).get("power_of_attorney")
        if power:
            lines.append(f"По доверенности {power.get('label') or power.get('number')}")
            principal = (power.get("principal") or {}).get("name")
            if principal:
                lines.append(f"Доверитель: {principal}")
        lines += [
            f"Действителен: с {msk_date(sig.certificate_not_before)} "
            f"по {msk_date(sig.certificate_not_after)}",
            f"Дата и время подписания: {msk_time(sig.signing_time)} (МСК)",
        ]
        if sig.timestamp_time is not None and sig.timestamp_serial:
            lines.append(
                f"Подтверждено штампом времени № {sig.timestamp_serial}"
                + (f" ({sig.tsa_name})" if sig.tsa_name else "")
            )
        else:
            lines.append(SOURCE_WORDS.get(sig.signing_time_source, ""))
        if sig.received_at is not None:
            lines.append(f"Получена сервисом: {msk_time(sig.received_at)} (МСК)")
        if sig.claimed_time is not None:
            lines.append(
                f"Заявлено подписантом: {msk_time(sig.claimed_time)} (МСК), "
                "не используется для проверки"
            )
        lines += [
            f"Сторона: {PARTY_TITLES[sig.party]}",
            f"Проверка при получении: {VERDICT_WORDS[sig.verdict]}",
        ]
        return cls(tuple(plain(line) for line in lines), sig.verdict)


#: What proves the moment of signing, for the stamp.
SOURCE_WORDS = {
    "timestamp": "Подтверждено штампом времени",
    "receipt": "Время получения подписи сервисом",
    "validation_time": "Время проверки подписи",
}


# Two balanced lines, as the stamp is usually drawn.
STAMP_TITLE = ("ДОКУМЕНТ ПОДПИСАН", "ЭЛЕКТРОННОЙ ПОДПИСЬЮ")


class StampRow(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """One or two stamps side by side, framed, of equal height. A row never
    splits across pages, so stamps never overlap anything."""

    def __init__(self, stamps: Sequence[StampText]) -> None:
        super().__init__()
        self.stamps = list(stamps)
        self._laid: list[tuple[list[str], list[list[str]]]] = []
        self._stamp_w = 0.0
        self._h = 0.0

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        self._stamp_w = (avail_w - STAMP_GAP) / 2
        inner = self._stamp_w - 2 * STAMP_PAD
        self._laid = []
        heights = []
        for stamp in self.stamps:
            title = [
                part
                for line in STAMP_TITLE
                for part in wrap(line, FONT_BOLD, STAMP_TITLE_SIZE, inner)
            ]
            body = [wrap(line, FONT, STAMP_SIZE, inner) for line in stamp.lines]
            self._laid.append((title, body))
            n_body = sum(len(b) for b in body)
            heights.append(
                2 * STAMP_PAD + len(title) * STAMP_LEADING + 6 + n_body * STAMP_LEADING
            )
        self._h = max(heights)
        return avail_w, self._h

    def draw(self) -> None:
        c: Canvas = self.canv
        for index, (stamp, (title, body)) in enumerate(
            zip(self.stamps, self._laid, strict=True)
        ):
            x = index * (self._stamp_w + STAMP_GAP)
            c.saveState()
            c.setStrokeColor(INK)
            c.setLineWidth(1.4)
            c.roundRect(
                x + 0.7, 0.7, self._stamp_w - 1.4, self._h - 1.4, 7, stroke=1, fill=0
            )
            y = self._h - STAMP_PAD - STAMP_TITLE_SIZE
            c.setFillColor(INK)
            c.setFont(FONT_BOLD, STAMP_TITLE_SIZE)
            for line in title:
                c.drawCentredString(x + self._stamp_w / 2, y, line)
                y -= STAMP_LEADING
            rule_y = y + STAMP_LEADING - 3.5
            c.setLineWidth(0.6)
            c.line(x + STAMP_PAD, rule_y, x + self._stamp_w - STAMP_PAD, rule_y)
            y -= 6 - (STAMP_LEADING - STAMP_SIZE) / 2
            c.setFont(FONT, STAMP_SIZE)
            for number, lines in enumerate(body):
                if number == len(body) - 1:
                    c.setFillColor(VERDICT_INK[stamp.verdict])
                for line in lines:
                    c.drawString(x + STAMP_PAD, y, line)
                    y -= STAMP_LEADING
            c.restoreState()


# -- the sheet -------------------------------------------------------------------


def footer_text(generated_at: dt.datetime) -> str:
    return (
        f"Документ сформирован {msk_time(generated_at)} (МСК) в системе docflow — "
        "копия электронного документа"
    )


def draw_footer(
    c: Canvas,
    text: str,
    page: int,
    total: int,
    *,
    width: float,
    y: float,
    size: float = FOOTER_SIZE,
) -> None:
    """The footer line: the copy notice on the left, «Стр. N из M» on the right."""
    margin = min(MARGIN_X, width * 0.06)
    c.saveState()
    c.setFont(FONT, size)
    c.setFillColor(GREY)
    c.drawRightString(width - margin, y, f"Стр. {page} из {total}")
    room = (
        width
        - 2 * margin
        - pdfmetrics.stringWidth(f"Стр. {total} из {total}", FONT, size)
        - 12
    )
    while size > 4 and pdfmetrics.stringWidth(text, FONT, size) > room:
        size -= 0.25  # a narrow page: a smaller notice rather than an overlap
    c.setFont(FONT, size)
    c.drawString(margin, y, text)
    c.restoreState()


def _numbered_canvas(footer: str, pages_before: int) -> type[Canvas]:
    """The sheet's pages follow the document's: «Стр. N из M» counts both."""

    def decorate(canvas: Canvas, number: int, total: int) -> None:
        draw_footer(
            canvas,
            footer,
            pages_before + number,
            pages_before + total,
            width=PAGE_W,
            y=10 * mm,
        )

    return numbered_canvas(decorate)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=12)
    return {
        "title": ParagraphStyle(
            "title",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=15,
            leading=19,
            alignment=TA_CENTER,
            textColor=INK,
        ),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, alignment=TA_CENTER, textColor=GREY, spaceAfter=8
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=10.5,
            leading=14,
            spaceBefore=10,
            spaceAfter=6,
            textColor=INK,
        ),
        "label": ParagraphStyle("label", parent=base, textColor=GREY),
        "value": base,
        "hash": ParagraphStyle(
            "hash", parent=base, fontSize=8, leading=10.5, splitLongWords=True
        ),
        "note": ParagraphStyle(
            "note", parent=base, textColor=colors.Color(0.6, 0.1, 0.1)
        ),
    }


def _file_line(f: DocumentFile) -> str:
    return f"{_esc(f.filename)}, {_size(f.size)}"


def _details(
    session: Session,
    doc: Document,
    printed: DocumentFile | None,
    styles: dict[str, ParagraphStyle],
) -> Table:
    contract = doc.contract
    org = doc.organisation
    contract_text = f"№ {_esc(contract.number)}"
    if contract.signed_on:
        contract_text += f" от {contract.signed_on:%d.%m.%Y}"
    org_text = f"{_esc(org.name)}, ИНН {_esc(org.inn)}" + (
        f", КПП {_esc(org.kpp)}" if org.kpp else ""
    )
    main = doc.main_file
    rows: list[tuple[str, Any]] = [
        ("Вид документа", _esc(doc.type_title)),
        ("Номер и дата", f"№ {_esc(doc.number)} от {doc.doc_date:%d.%m.%Y}"),
        ("Название", _esc(doc.title)),
        ("Договор", contract_text),
        ("Организация", org_text),
    ]
    supplier = supplier_organisation(session)
    if supplier is not None:
        rows.append(("Поставщик", f"{_esc(supplier.name)}, ИНН {_esc(supplier.inn)}"))
    rows += [
        ("Файл документа", _file_line(main)),
        ("SHA-256 файла", Paragraph(main.sha256, styles["hash"])),
    ]
    if printed is not None and printed.id != main.id:
        rows += [
            (
                "Напечатано с",
                f"{_file_line(printed)} (PDF с подписями, редакция {printed.revision})",
            ),
            ("SHA-256 редакции", Paragraph(printed.sha256, styles["hash"])),
        ]
    for number, att in enumerate(doc.attachments, start=1):
        rows.append(
            (
                f"Приложение {number}",
                Paragraph(
                    f"{_file_line(att)}, SHA-256:<br/>{att.sha256}", styles["hash"]
                ),
            )
        )
    rows += [
        ("Статус", _esc(status_label(doc))),
        ("Зарегистрирован", f"{msk_time(doc.created_at)} (МСК)"),
        ("Идентификатор", str(doc.id)),
    ]
    if doc.comment:
        rows.append(("Комментарий", _esc(doc.comment)))
    data = [
        [
            Paragraph(label, styles["label"]),
            value
            if isinstance(value, Paragraph)
            else Paragraph(value, styles["value"]),
        ]
        for label, value in rows
    ]
    table = Table(data, colWidths=[40 * mm, CONTENT_W - 40 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
            ]
        )
    )
    return table


def _route(doc: Document, styles: dict[str, ParagraphStyle]) -> Table:
    data = [
        [
            Paragraph("№", styles["label"]),
            Paragraph("Сторона", styles["label"]),
            Paragraph("Состояние", styles["label"]),
            Paragraph("Дата", styles["label"]),
        ]
    ]
    for step in doc.steps:
        when = f"{msk_time(step.completed_at)} (МСК)" if step.completed_at else "—"
        data.append(
            [
                Paragraph(str(step.position), styles["value"]),
                Paragraph(step.party_title, styles["value"]),
                Paragraph(STEP_WORDS[step.status], styles["value"]),
                Paragraph(when, styles["value"]),
            ]
        )
    table = Table(
        data, colWidths=[10 * mm, 40 * mm, CONTENT_W - 100 * mm, 50 * mm], hAlign="LEFT"
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
            ]
        )
    )
    return table


def signing_sheet(
    session: Session,
    *,
    doc: Document,
    printed: DocumentFile | None,
    generated_at: dt.datetime,
    pages_before: int = 0,
    note: str | None = None,
) -> tuple[bytes, int]:
    """The «Лист подписания» as a PDF, numbered from ``pages_before + 1``.

    :returns: the PDF and its page count.
    """
    register_fonts()
    styles = _styles()
    story: list[Flowable] = [
        Paragraph("ЛИСТ ПОДПИСАНИЯ", styles["title"]),
        Paragraph("электронного документа", styles["subtitle"]),
        _details(session, doc, printed, styles),
    ]
    if note:
        story += [Spacer(1, 6), Paragraph(_esc(note), styles["note"])]
    signatures = list(doc.signatures)
    story.append(
        Paragraph(
            f"Электронные подписи ({len(signatures)})"
            if signatures
            else "Электронные подписи",
            styles["h2"],
        )
    )
    if signatures:
        stamps = [StampText.of(sig) for sig in signatures]
        for start in range(0, len(stamps), 2):
            story += [StampRow(stamps[start : start + 2]), Spacer(1, STAMP_GAP)]
    else:
        story.append(
            Paragraph("Документ ещё не подписан ни одной из сторон.", styles["value"])
        )
    story.append(
        KeepTogether(
            [Paragraph("Маршрут подписания", styles["h2"]), _route(doc, styles)]
        )
    )
    if doc.refusal_reason:
        story += [
            Spacer(1, 6),
            Paragraph(f"Причина отказа: {_esc(doc.refusal_reason)}", styles["note"]),
        ]

    buf = io.BytesIO()
    template = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=plain(f"Лист подписания: {doc.title} № {doc.number}"),
        author="docflow",
        creator="docflow",
        subject="Копия электронного документа",
    )
    footer = footer_text(generated_at)
    counter: list[int] = []

    def count(canvas: Canvas, _doc: Any) -> None:
        counter.append(canvas.getPageNumber())

    template.build(
        story,
        onFirstPage=count,
        onLaterPages=count,
        canvasmaker=_numbered_canvas(footer, pages_before),
    )
    return buf.getvalue(), len(counter)


# -- the original's pages --------------------------------------------------------

_PRINT_FLAG = 4
_HIDDEN_FLAGS = 2 | 32  # Hidden, NoView (ISO 32000-1, 12.5.3)


def _appearance(annot: Any) -> Any | None:
    ap = annot.get("/AP")
    normal = ap.get_object().get("/N") if ap is not None else None
    normal = normal.get_object() if normal is not None else None
    if isinstance(normal, DictionaryObject) and not isinstance(normal, StreamObject):
        state = annot.get("/AS")
        chosen = normal.get(state) if state is not None else None
        normal = chosen.get_object() if chosen is not None else None
    return normal if isinstance(normal, StreamObject) else None


def flatten_widgets(page: Any) -> None:
    """Paint each printable widget's normal appearance into the page content
    (ISO 32000-1, 12.5.5: BBox through Matrix, fitted to Rect) and drop the
    widgets. Other annotations (links) stay."""
    annots = page.get("/Annots")
    if annots is None:
        return
    keep = ArrayObject()
    ops: list[bytes] = []
    xobjects = DictionaryObject()
    for ref in annots.get_object():
        annot = ref.get_object()
        if annot.get("/Subtype") != "/Widget":
            keep.append(ref)
            continue
        flags = int(annot.get("/F", 0))
        form = _appearance(annot)
        if form is None or not flags & _PRINT_FLAG or flags & _HIDDEN_FLAGS:
            continue
        x1, y1, x2, y2 = (float(v) for v in annot["/Rect"])
        bx1, by1, bx2, by2 = _transformed_bbox(form)
        if bx2 - bx1 <= 0 or by2 - by1 <= 0:
            continue
        sx, sy = (abs(x2 - x1)) / (bx2 - bx1), (abs(y2 - y1)) / (by2 - by1)
        tx, ty = min(x1, x2) - bx1 * sx, min(y1, y2) - by1 * sy
        name = f"/DocflowFlat{len(xobjects)}"
        xobjects[NameObject(name)] = form.indirect_reference or form
        ops.append(f"q {sx:.6f} 0 0 {sy:.6f} {tx:.4f} {ty:.4f} cm {name} Do Q".encode())
    if ops:
        overlay = PageObject.create_blank_page(
            width=page.mediabox.width, height=page.mediabox.height
        )
        overlay[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/XObject"): xobjects}
        )
        content = ContentStream(None, None)
        content.set_data(b"\n".join(ops))
        overlay[NameObject("/Contents")] = content
        page.merge_page(overlay)
    if keep:
        page[NameObject("/Annots")] = keep
    else:
        del page["/Annots"]


def _transformed_bbox(form: Any) -> tuple[float, float, float, float]:
    bx1, by1, bx2, by2 = (float(v) for v in form.get("/BBox", (0, 0, 0, 0)))
    a, b, c, d, e, f = (float(v) for v in form.get("/Matrix", (1, 0, 0, 1, 0, 0)))
    points = [
        (a * x + c * y + e, b * x + d * y + f) for x in (bx1, bx2) for y in (by1, by2)
    ]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _footer_pages(sizes: Sequence[tuple[float, float]], text: str, total: int) -> bytes:
    """Overlays with the footer for the original's pages. The line sits 8 pt above
    the bottom edge: below the 20 pt margin where signing.stamp places the PAdES
    stamps, and below the text of any page laid out with ordinary margins."""
    buf = io.BytesIO()
    c = Canvas(buf)
    for number, (width, height) in enumerate(sizes, start=1):
        c.setPageSize((width, height))
        draw_footer(c, text, number, total, width=width, y=8, size=6.5)
        c.showPage()
    c.save()
    return buf.getvalue()


class _Unprintable(Exception):  # noqa: N818 - a reason, not a failure
    """The stored PDF is past a bound; ``reason`` completes «файл PDF …»."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@contextmanager
def _pdf_limits() -> Iterator[None]:
    """pypdf's decoders stop at :data:`MAX_STREAM_BYTES` (LimitReachedError)."""
    with apply_configuration(
        zlib_maximum_output_length=MAX_STREAM_BYTES,
        lzw_maximum_output_length=MAX_STREAM_BYTES,
        run_length_maximum_output_length=MAX_STREAM_BYTES,
        brotli_maximum_output_length=MAX_STREAM_BYTES,
        jbig2_maximum_output_length=MAX_STREAM_BYTES,
        array_based_stream_maximum_output_length=MAX_STREAM_BYTES,
        stream_decoding_work_maximum_length=4 * MAX_STREAM_BYTES,
    ):
        yield


def _content_streams(page: Any) -> list[Any]:
    contents = page.get("/Contents")
    found = contents.get_object() if contents is not None else None
    parts = (
        [p.get_object() for p in found] if isinstance(found, ArrayObject) else [found]
    )
    return [p for p in parts if isinstance(p, StreamObject)]


def _pdf_pages(data: bytes) -> Any:
    """The pages of a PDF, readable, decrypted when it opens with an empty
    password, their content streams decoded once within the bounds before a
    page is drawn.

    :raises _Unprintable: past :data:`MAX_PRINT_PAGES` or the decoded sizes.
    :raises Exception: whatever pypdf raises for a broken file.
    """
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        reader.decrypt("")
    count = len(reader.pages)
    if count > MAX_PRINT_PAGES:
        raise _Unprintable(
            f"содержит {count} страниц, а печатная форма воспроизводит не больше "
            f"{MAX_PRINT_PAGES}"
        )
    total = 0
    try:
        for page in reader.pages:
            _ = page.mediabox  # fail here, not halfway
            for stream in _content_streams(page):
                total += len(stream.get_data())
                if total > MAX_CONTENT_BYTES:
                    raise LimitReachedError("page contents")
    except LimitReachedError:
        raise _Unprintable(
            "содержит страницы, которые распаковываются в слишком большой объём "
            f"данных (больше {MAX_CONTENT_BYTES // (1024 * 1024)} МБ)"
        ) from None
    return reader


def _unsafe_note(reason: str) -> str:
    return (
        f"Страницы документа не включены в печатную форму: файл PDF {reason}, и "
        "воспроизвести его безопасно нельзя. Оригинал доступен для скачивания без "
        "изменений; его SHA-256 указан выше."
    )


def printable_pdf(session: Session, *, doc: Document, storage: BlobStorage) -> bytes:
    """The printable form of ``doc``: for a PDF its pages (the newest signed
    revision, flattened) and the signing sheet; otherwise the sheet alone. A
    PDF that cannot be drawn safely gets the sheet alone, with a note.

    :param storage: the blob store; the PDF is read with its digest checked.
    :raises storage.IntegrityError: the stored PDF does not match its digest.
    """
    generated_at = utcnow()
    printed = doc.latest_pdf
    reader = None
    note = None
    if printed is not None:
        data = storage.read_bytes(printed.blob_key)
        try:
            with _pdf_limits():
                reader = _pdf_pages(data)
        except _Unprintable as exc:
            log.warning("document %s: PDF %s not printed: %s", doc.id, printed.id, exc)
            note = _unsafe_note(exc.reason)
        except Exception:  # noqa: BLE001 - pypdf raises many kinds for a broken file
            log.warning(
                "document %s: PDF %s unreadable for printing",
                doc.id,
                printed.id,
                exc_info=True,
            )
            note = UNREADABLE_NOTE
    if reader is None:
        sheet, _ = signing_sheet(
            session, doc=doc, printed=printed, generated_at=generated_at, note=note
        )
        return sheet

    count = len(reader.pages)
    sheet, sheet_pages = signing_sheet(
        session, doc=doc, printed=printed, generated_at=generated_at, pages_before=count
    )
    try:
        with _pdf_limits():
            return _with_pages(reader, sheet, doc, generated_at, count + sheet_pages)
    except Exception:  # noqa: BLE001 - pypdf raises many kinds for a hostile file
        log.warning(
            "document %s: PDF %s failed while printing",
            doc.id,
            printed.id if printed else None,
            exc_info=True,
        )
    sheet, _ = signing_sheet(
        session,
        doc=doc,
        printed=printed,
        generated_at=generated_at,
        note=_unsafe_note("устроен так, что его страницы не удалось перенести"),
    )
    return sheet


def _with_pages(
    reader: Any, sheet: bytes, doc: Document, generated_at: dt.datetime, total: int
) -> bytes:
    """The original's pages, flattened and numbered, then the sheet."""
    writer = PdfWriter()
    sizes = []
    for source in reader.pages:
        page = writer.add_page(source)
        flatten_widgets(page)
        if page.rotation:
            page.transfer_rotation_to_content()
        box = page.cropbox
        sizes.append((float(box.width), float(box.height)))
    footers = PdfReader(
        io.BytesIO(_footer_pages(sizes, footer_text(generated_at), total))
    )
    for page, overlay in zip(writer.pages, footers.pages, strict=True):
        box = page.cropbox
        page.merge_transformed_page(
            overlay, Transformation().translate(float(box.left), float(box.bottom))
        )
    writer.append(PdfReader(io.BytesIO(sheet)))
    writer.add_metadata(
        {
            "/Title": plain(f"Печатная форма: {doc.title} № {doc.number}"),
            "/Creator": "docflow",
            "/Producer": "docflow",
        }
    )
    writer.compress_identical_objects()  # also drops the orphaned signature fields
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
