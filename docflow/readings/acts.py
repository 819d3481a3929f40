"""The ПРОМ10 act (акт снятия показаний расчётных приборов учёта): what it
prints (:class:`ActData`, filled in by :func:`docflow.readings.prom10.act_data`)
and its PDF, Word and Excel forms.

The PDF is the recommended form and the one sent to the document flow: A4
landscape, DejaVu Sans (Cyrillic), the table's header repeated on every page,
and free space at the bottom of the last page, where the signing library puts
the two parties' visible signature stamps (``signing.stamp.place``: slots of up
to 300 × ~90 pt along the bottom margin, left to right).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from docflow import paper
from docflow.paper import FONT, FONT_BOLD, numbered_canvas, register_fonts
from docflow.readings import calc
from docflow.readings.calc import format_kwh

# Names of our own: other modules register DejaVu under theirs.
# Free height at the bottom of the last page for the signature stamps (5 cm):
# two stamps side by side, each at most ~90 pt high, 20 pt above the edge.
STAMP_RESERVE_PT = 142.0

NOTE_ALL_METERS = (
    "В акт включены все расчётные приборы учёта по договору, в том числе "
    "приборы с нулевым расходом."
)
COLUMNS = (
    "№ п/п",
    "Объект, адрес",
    "Уровень напряжения",
    "№ прибора учёта",
    "Тип прибора учёта",
    "Значность",
    "Ктт × Ктн",
    "Предыдущие показания",
    "Текущие показания",
    "Разность показаний",
    "Расход, кВт·ч",
)
# The PDF's narrow header cells, broken by hand (reportlab breaks at spaces only).
PDF_COLUMNS = (
    "№ п/п",
    "Объект",
    "Уровень напря-\nжения",
    "№ прибора учёта",
    "Тип прибора учёта",
    "Знач-\nность",
    "Ктт × Ктн",
    "Предыдущие показания",
    "Текущие показания",
    "Разность показаний",
    "Расход, кВт·ч",
)


def _date(value: Any) -> str:
    return value.strftime("%d.%m.%Y") if value else "—"


def _heading(data: ActData) -> list[str]:
    return [
        f"АКТ № {data.act_number} от {_date(data.act_date)}",
        "снятия показаний расчётных приборов учёта электрической энергии (ПРОМ10)",
        f"за {data.period_title}",
    ]


def _parties(data: ActData) -> list[tuple[str, str]]:
    def details(p: Any) -> str:
        parts = [p.name]
        if p.inn:
            parts.append(f"ИНН {p.inn}" + (f" / КПП {p.kpp}" if p.kpp else ""))
        if p.address:
            parts.append(p.address)
        return ", ".join(parts)

    contract = f"№ {data.contract_number}"
    if data.contract_date:
        contract += f" от {_date(data.contract_date)}"
    return [
        ("Гарантирующий поставщик", details(data.supplier)),
        ("Потребитель", details(data.customer)),
        ("Договор энергоснабжения", contract),
        (
            "Расчётный период",
            f"{data.period_title} (с {_date(data.previous_date)} по {_date(data.current_date)})",
        ),
    ]


def _cells(data: ActData, row: Any) -> list[str]:
    return [
        str(row.number),
        f"{row.object_name}\n{row.address}".strip(),
        row.voltage,
        row.meter_number,
        row.meter_type,
        str(row.digits),
        str(row.ratio),
        row.previous or "—",
        row.current or row.note,
        row.difference,
        format_kwh(row.consumption),
    ]


def _object_total(obj: ActObject) -> str:
    text = f"Итого по объекту «{obj.name}»: по приборам учёта {format_kwh(obj.meters_total)}"
    if obj.transit:
        text += f", транзит − {format_kwh(obj.transit)}"
    return text + f" = {format_kwh(obj.total)} кВт·ч"


def _total_label(data: ActData) -> str:
    if data.warning:
        return "ИТОГО по договору, кВт·ч (показания за период не переданы)"
    return "ИТОГО по договору, кВт·ч"


def _notes(data: ActData) -> list[str]:
    notes = [
        NOTE_ALL_METERS,
        f"Предыдущие показания — на {_date(data.previous_date)}, текущие — на "
        f"{_date(data.current_date)}. Расход = разность показаний × Ктт × Ктн; при "
        "переходе счётного механизма через ноль разность считается с учётом его "
        "значности.",
    ]
    if not data.filled:
        notes.append("Бланк: графа «Текущие показания» заполняется потребителем.")
    if data.warning:
        notes.insert(0, "ВНИМАНИЕ: " + data.warning)
    if data.esign_note:
        notes.append(data.esign_note)
    return notes


SIGN_LINES = (
    "Должность: _________________________  ФИО: _________________________",
    "Подпись: ____________________  Дата: «____» _______________ 20____ г.",
)


def _sign_titles(data: ActData) -> tuple[str, str]:
    # The customer signs first: its place is on the left, above the first stamp.
    return (
        f"От потребителя ({data.customer.name})",
        f"От гарантирующего поставщика ({data.supplier.name})",
    )


# -- what the act prints ------------------------------------------------------------


@dataclass(frozen=True)
class PartyDetails:
    name: str
    inn: str = ""
    kpp: str = ""
    address: str = ""


@dataclass(frozen=True)
class ActRow:
    number: int
    object_name: str
    address: str
    voltage: str
    meter_number: str
    meter_type: str
    digits: int
    ratio: int
    previous: str  # padded, "" when unknown
    current: str  # padded, "" on a blank form or when not sent
    difference: str
    consumption: Decimal | None
    note: str = ""


@dataclass(frozen=True)
class ActObject:
    name: str
    address: str
    voltage: str
    rows: list[ActRow]
    meters_total: Decimal
    transit: Decimal
    total: Decimal


@dataclass(frozen=True)
class ActData:
    """Everything printed on a ПРОМ10 act."""

    supplier: PartyDetails
    customer: PartyDetails
    contract_number: str
    contract_date: dt.date | None
    period: dt.date
    act_number: str
    act_date: dt.date
    filled: bool
    objects: list[ActObject]
    total: Decimal
    esign_note: str
    readings_count: int  # values sent into the calculation (0 on a blank form)

    @property
    def period_title(self) -> str:
        return calc.period_title(self.period)

    @property
    def previous_date(self) -> dt.date:
        return self.period

    @property
    def current_date(self) -> dt.date:
        return calc.last_day(self.period)

    @property
    def rows(self) -> list[ActRow]:
        return [r for o in self.objects for r in o.rows]

    @property
    def warning(self) -> str:
        """Why the «ИТОГО» of a filled act is not the period's consumption."""
        if self.filled and self.readings_count == 0:
            return (
                f"За {self.period_title} в расчёт не передано ни одного показания: "
                "графа «Текущие показания» пуста, итог 0 кВт·ч не является расходом "
                "за период."
            )
        return ""


# -- PDF ---------------------------------------------------------------------------


def render_pdf(data: ActData, *, numbered: bool = True) -> bytes:
    """The act as a PDF. ``numbered``: «лист N из M» at the top of each page,
    for an act printed on its own; an act sent to the document flow gets the
    act number alone there, since its printable form numbers every page, the
    signing sheet's too (one numbering, not the act's «лист 1 из 2» over the
    form's «Стр. 1 из 3»)."""
    register_fonts()
    page_w, page_h = landscape(A4)
    margin = 10 * mm
    base = ParagraphStyle("act", fontName=FONT, fontSize=8, leading=9.6)
    small = ParagraphStyle("small", parent=base, fontSize=7.5, leading=9)
    head = ParagraphStyle(
        "head",
        parent=base,
        fontName=FONT_BOLD,
        fontSize=7,
        leading=8.4,
        alignment=TA_CENTER,
    )
    title = ParagraphStyle(
        "title",
        parent=base,
        fontName=FONT_BOLD,
        fontSize=12,
        leading=15,
        alignment=TA_CENTER,
    )
    subtitle = ParagraphStyle(
        "subtitle", parent=base, fontSize=10, leading=13, alignment=TA_CENTER
    )
    num = ParagraphStyle("num", parent=base, alignment=TA_RIGHT)
    center = ParagraphStyle("center", parent=base, alignment=TA_CENTER)
    bold = ParagraphStyle("bold", parent=base, fontName=FONT_BOLD)

    def p(text: str, style: ParagraphStyle = base) -> Paragraph:
        return paper.text(text, style)

    story: list[Any] = []
    lines = _heading(data)
    story.append(p(lines[0], title))
    story.append(p(lines[1], subtitle))
    story.append(p(lines[2] + ("" if data.filled else " — бланк"), subtitle))
    story.append(Spacer(1, 3 * mm))
    parties = Table(
        [[p(k, bold), p(v)] for k, v in _parties(data)],
        colWidths=[56 * mm, page_w - 2 * margin - 56 * mm],
    )
    parties.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    story += [parties, Spacer(1, 3 * mm)]

    widths_mm = [9, 58, 15, 25, 38, 13, 15, 25, 25, 20, 27]
    scale = (page_w - 2 * margin) / (sum(widths_mm) * mm)
    widths = [w * mm * scale for w in widths_mm]
    rows: list[list[Any]] = [[p(c, head) for c in PDF_COLUMNS]]
    rows.append([p(str(i), head) for i in range(1, len(COLUMNS) + 1)])
    style: list[Any] = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#555555")),
        ("BACKGROUND", (0, 0), (-1, 1), colors.HexColor("#E8EDF3")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
    ]
    note = ParagraphStyle("note", parent=center, fontSize=6.5, leading=7.5)
    group = ParagraphStyle("group", parent=base, fontSize=7.5, leading=9)
    for obj in data.objects:
        # The object's header row carries its address; its meter rows, the name.
        index = len(rows)
        rows.append(
            [
                Paragraph(
                    f"<b>{escape(obj.name)}</b>"
                    + (f" — {escape(obj.address)}" if obj.address else "")
                    + f"; уровень напряжения {escape(obj.voltage)}",
                    group,
                )
            ]
            + [""] * (len(COLUMNS) - 1)
        )
        style += [
            ("SPAN", (0, index), (-1, index)),
            ("BACKGROUND", (0, index), (-1, index), colors.HexColor("#FAFBFC")),
        ]
        for row in obj.rows:
            cells = _cells(data, row)
            rows.append(
                [
                    p(cells[0], center),
                    p(row.object_name, small),
                    p(cells[2], center),
                    p(cells[3], center),
                    p(cells[4], small),
                    p(cells[5], center),
                    p(cells[6], center),
                    p(cells[7], center),
                    p(cells[8], center if row.current else note),
                    p(cells[9], num),
                    p(cells[10], num),
                ]
            )
        if data.filled:
            index = len(rows)
            rows.append(
                [p(_object_total(obj), bold)]
                + [""] * 9
                + [
                    p(
                        format_kwh(obj.total),
                        ParagraphStyle("objtotal", parent=num, fontName=FONT_BOLD),
                    )
                ]
            )
            style += [
                ("SPAN", (0, index), (9, index)),
                ("BACKGROUND", (0, index), (-1, index), colors.HexColor("#F4F6F9")),
            ]
    if data.filled:
        index = len(rows)
        rows.append(
            [p(_total_label(data), bold)]
            + [""] * 9
            + [
                p(
                    format_kwh(data.total),
                    ParagraphStyle("total", parent=num, fontName=FONT_BOLD),
                )
            ]
        )
        style += [
            ("SPAN", (0, index), (9, index)),
            ("BACKGROUND", (0, index), (-1, index), colors.HexColor("#E8EDF3")),
        ]
    table = Table(rows, colWidths=widths, repeatRows=2)
    table.setStyle(TableStyle(style))
    story += [table, Spacer(1, 2.5 * mm)]
    for note in _notes(data):
        story.append(p(note, small))
    story.append(Spacer(1, 4 * mm))

    left, right = _sign_titles(data)
    sign_rows = [[p(left, bold), p(right, bold)]]
    sign_rows += [[p(line), p(line)] for line in SIGN_LINES]
    signs = Table(sign_rows, colWidths=[(page_w - 2 * margin) / 2] * 2)
    signs.setStyle(
        TableStyle(
            [("TOPPADDING", (0, 0), (-1, -1), 3.5), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        )
    )
    # The signature places and the stamps' free space stay together on the
    # last page, so the stamps never cover the table or the signatures.
    story.append(KeepTogether([signs, Spacer(1, STAMP_RESERVE_PT - margin)]))

    def page_number(canvas: Canvas, number: int, total: int) -> None:
        # «Лист N из M» at the top right: the bottom is kept for the stamps.
        canvas.setFont(FONT, 7)
        canvas.setFillColor(colors.HexColor("#555555"))
        label = (
            f"{data.act_number} · лист {number} из {total}"
            if numbered
            else f"Акт № {data.act_number}"
        )
        canvas.drawRightString(page_w - margin, page_h - margin / 2 - 2, label)

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=(page_w, page_h),
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=f"Акт ПРОМ10 № {data.act_number}",
        author=data.supplier.name,
        subject=f"Показания расчётных приборов учёта за {data.period_title}",
        creator="docflow",
    )
    doc.build(story, canvasmaker=numbered_canvas(page_number))
    return out.getvalue()


# -- Word ----------------------------------------------------------------------------


def render_docx(data: ActData) -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.2))
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(9)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "Arial")
    normal.paragraph_format.space_after = Pt(2)

    lines = _heading(data)
    for i, text in enumerate(lines):
        para = doc.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = para.add_run(text + ("" if data.filled or i < 2 else " — бланк"))
        run.bold = i == 0
        run.font.size = Pt(13 if i == 0 else 10.5)

    parties = doc.add_table(rows=0, cols=2)
    for key, value in _parties(data):
        cells = parties.add_row().cells
        cells[0].text, cells[1].text = key, value
        cells[0].paragraphs[0].runs[0].bold = True
        cells[0].width, cells[1].width = Cm(5), Cm(22)
    doc.add_paragraph()

    table = doc.add_table(rows=1, cols=len(COLUMNS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = [0.9, 5.6, 1.5, 2.3, 3.2, 1.3, 1.4, 2.4, 2.4, 2.0, 2.3]
    for cell, text, width in zip(table.rows[0].cells, COLUMNS, widths, strict=True):
        cell.text = text
        cell.width = Cm(width)
        for run in cell.paragraphs[0].runs:
            run.bold = True
            run.font.size = Pt(8)
    header = table.rows[0]._tr
    tr_pr = header.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)
    for obj in data.objects:
        for row in obj.rows:
            cells = table.add_row().cells
            for cell, text, width in zip(cells, _cells(data, row), widths, strict=True):
                cell.text = text
                cell.width = Cm(width)
                for run in cell.paragraphs[0].runs:
                    run.font.size = Pt(8)
        if data.filled:
            _docx_total(table, _object_total(obj), format_kwh(obj.total))
    if data.filled:
        _docx_total(table, _total_label(data), format_kwh(data.total))

    doc.add_paragraph()
    for note in _notes(data):
        para = doc.add_paragraph(note)
        para.runs[0].font.size = Pt(8)
    doc.add_paragraph()
    signs = doc.add_table(rows=1, cols=2)
    left, right = _sign_titles(data)
    signs.rows[0].cells[0].text, signs.rows[0].cells[1].text = left, right
    for cell in signs.rows[0].cells:
        cell.paragraphs[0].runs[0].bold = True
    for line in SIGN_LINES:
        cells = signs.add_row().cells
        cells[0].text = cells[1].text = line
    core = doc.core_properties
    core.title = f"Акт ПРОМ10 № {data.act_number}"
    core.author = data.supplier.name
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _docx_total(table: Any, label: str, value: str) -> None:
    cells = table.add_row().cells
    merged = cells[0].merge(cells[-2])
    merged.text = label
    merged.paragraphs[0].runs[0].bold = True
    cells[-1].text = value
    cells[-1].paragraphs[0].runs[0].bold = True


# -- Excel ---------------------------------------------------------------------------


def render_xlsx(data: ActData) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "ПРОМ10"
    last = get_column_letter(len(COLUMNS))
    lines = _heading(data)
    for i, text in enumerate(lines, start=1):
        ws.merge_cells(f"A{i}:{last}{i}")
        cell = ws.cell(
            row=i, column=1, value=text + ("" if data.filled or i < 3 else " — бланк")
        )
        cell.font = Font(bold=i == 1, size=13 if i == 1 else 11)
        cell.alignment = Alignment(horizontal="center")
    r = len(lines) + 2
    for key, value in _parties(data):
        ws.cell(row=r, column=1, value=key).font = Font(bold=True)
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=2)
        ws.cell(row=r, column=3, value=value)
        ws.merge_cells(start_row=r, start_column=3, end_row=r, end_column=len(COLUMNS))
        r += 1
    r += 1
    thin = Side(style="thin", color="555555")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    fill = PatternFill("solid", fgColor="E8EDF3")
    header_row = r
    for col, text in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=r, column=col, value=text)
        cell.font = Font(bold=True, size=9)
        cell.alignment = Alignment(
            horizontal="center", vertical="center", wrap_text=True
        )
        cell.border, cell.fill = border, fill
    ws.row_dimensions[r].height = 42
    r += 1
    for obj in data.objects:
        for row in obj.rows:
            values: list[Any] = [
                row.number,
                f"{row.object_name}, {row.address}".strip(", "),
                row.voltage,
                row.meter_number,
                row.meter_type,
                row.digits,
                row.ratio,
                row.previous,
                row.current or row.note,
                int(row.difference) if row.difference else None,
                row.consumption,
            ]
            for col, value in enumerate(values, start=1):
                cell = ws.cell(row=r, column=col, value=value)
                cell.border = border
                cell.alignment = Alignment(vertical="center", wrap_text=col in (2, 5))
                if col in (8, 9):
                    cell.number_format = "@"
                    cell.alignment = Alignment(horizontal="center", vertical="center")
                if col == 11:
                    cell.number_format = "#,##0.###"
            r += 1
        if data.filled:
            _xlsx_total(ws, r, _object_total(obj), obj.total, border)
            r += 1
    if data.filled:
        _xlsx_total(ws, r, _total_label(data), data.total, border, fill)
        r += 1
    r += 1
    for note in _notes(data):
        ws.cell(row=r, column=1, value=note).font = Font(size=9)
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(COLUMNS))
        r += 1
    r += 1
    left, right = _sign_titles(data)
    ws.cell(row=r, column=1, value=left).font = Font(bold=True)
    ws.cell(row=r, column=7, value=right).font = Font(bold=True)
    for line in SIGN_LINES:
        r += 1
        ws.cell(row=r, column=1, value=line)
        ws.cell(row=r, column=7, value=line)
    for col, width in enumerate((6, 40, 10, 16, 24, 8, 9, 14, 14, 12, 16), start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    wb.properties.title = f"Акт ПРОМ10 № {data.act_number}"
    wb.properties.creator = "docflow"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _xlsx_total(
    ws: Any, r: int, label: str, value: Decimal, border: Any, fill: Any = None
) -> None:
    for col in range(1, 12):
        ws.cell(row=r, column=col).border = border
        if fill is not None:
            ws.cell(row=r, column=col).fill = fill
    ws.cell(row=r, column=1, value=label).font = Font(bold=True)
    cell = ws.cell(row=r, column=11, value=value)
    cell.font = Font(bold=True)
    cell.number_format = "#,##0.###"
    ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=10)
