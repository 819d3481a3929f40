"""The offer (оферта) of an ordered service and its invoice (счёт на оплату) as
PDF: A4 portrait, DejaVu Sans (Cyrillic), and free space at the bottom of the
last page for the parties' visible signature stamps, as the ПРОМ10 act leaves
(``docflow.readings.acts``).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
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

STAMP_RESERVE_PT = 142.0


@dataclass(frozen=True)
class Party:
    name: str
    inn: str = ""
    kpp: str = ""
    address: str = ""

    def details(self) -> str:
        parts = [self.name]
        if self.inn:
            parts.append(f"ИНН {self.inn}" + (f" / КПП {self.kpp}" if self.kpp else ""))
        if self.address:
            parts.append(self.address)
        return ", ".join(parts)


@dataclass(frozen=True)
class OrderPaper:
    """What the offer and the invoice say."""

    number: str
    date: dt.date
    supplier: Party
    customer: Party
    contract_number: str
    contract_date: dt.date | None
    service_name: str
    unit: str
    quantity: int
    price_kopecks: int
    total_kopecks: int
    vat_rate: int
    vat_kopecks: int
    fields: list[tuple[str, str]] = field(default_factory=list)
    comment: str = ""
    contact: str = ""


def money(kopecks: int) -> str:
    rub, kop = divmod(abs(int(kopecks)), 100)
    return (
        ("−" if kopecks < 0 else "") + f"{rub:,}".replace(",", "\u00a0") + f",{kop:02d}"
    )


def _date(value: dt.date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else "—"


def _contract(p: OrderPaper) -> str:
    text = f"№ {p.contract_number}"
    return text + (f" от {_date(p.contract_date)}" if p.contract_date else "")


def _vat_title(p: OrderPaper) -> str:
    return f"НДС {p.vat_rate} %" if p.vat_rate else "Без НДС"


def _build(
    p: OrderPaper,
    *,
    title: str,
    subtitle: str,
    lines: list[tuple[str, str]],
    after: list[str],
    signs: tuple[str, str] | None,
    pdf_title: str,
) -> bytes:

    register_fonts()
    page_w, page_h = A4
    margin = 15 * mm
    width = page_w - 2 * margin
    base = ParagraphStyle("o", fontName=FONT, fontSize=9, leading=11.5)
    small = ParagraphStyle("os", parent=base, fontSize=8, leading=10)
    bold = ParagraphStyle("ob", parent=base, fontName=FONT_BOLD)
    head = ParagraphStyle(
        "oh",
        parent=base,
        fontName=FONT_BOLD,
        fontSize=8,
        leading=10,
        alignment=TA_CENTER,
    )
    num = ParagraphStyle("on", parent=base, alignment=TA_RIGHT)
    heading = ParagraphStyle(
        "ot",
        parent=base,
        fontName=FONT_BOLD,
        fontSize=13,
        leading=16,
        alignment=TA_CENTER,
    )
    sub = ParagraphStyle(
        "ou", parent=base, fontSize=10, leading=13, alignment=TA_CENTER
    )

    def para(text: str, style: ParagraphStyle = base) -> Paragraph:
        return paper.text(text, style)

    story: list[Any] = [para(title, heading), para(subtitle, sub), Spacer(1, 4 * mm)]
    table = paper.facts_table(
        lines, label=bold, value=base, label_width=48 * mm, width=width, padding=1.5
    )
    story += [table, Spacer(1, 4 * mm)]

    cols = [
        "№",
        "Наименование услуги",
        "Ед.",
        "Кол-во",
        "Цена с НДС, ₽",
        "Сумма без НДС, ₽",
        _vat_title(p) + ", ₽",
        "Всего, ₽",
    ]
    net = p.total_kopecks - p.vat_kopecks
    rows = [
        [para(c, head) for c in cols],
        [
            para("1"),
            para(p.service_name),
            para(p.unit),
            para(str(p.quantity), num),
            para(money(p.price_kopecks), num),
            para(money(net), num),
            para(money(p.vat_kopecks) if p.vat_rate else "—", num),
            para(money(p.total_kopecks), num),
        ],
        [
            para("Итого к оплате", bold),
            "",
            "",
            "",
            "",
            para(money(net), num),
            para(money(p.vat_kopecks) if p.vat_rate else "—", num),
            para(
                money(p.total_kopecks),
                ParagraphStyle("ont", parent=num, fontName=FONT_BOLD),
            ),
        ],
    ]
    widths_mm = [8, 60, 14, 14, 22, 24, 22, 22]
    scale = width / (sum(widths_mm) * mm)
    items = Table(rows, colWidths=[w * mm * scale for w in widths_mm], repeatRows=1)
    items.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#555555")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8EDF3")),
                ("BACKGROUND", (0, 2), (-1, 2), colors.HexColor("#F4F6F9")),
                ("SPAN", (0, 2), (4, 2)),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story += [items, Spacer(1, 3 * mm)]
    for text in after:
        story += [para(text, small), Spacer(1, 1.5 * mm)]
    if signs is not None:
        story.append(Spacer(1, 4 * mm))
        line = "Подпись: ____________________  Дата: «____» ____________ 20____ г."
        sign_table = Table(
            [
                [para(signs[0], bold), para(signs[1], bold)],
                [para(line, small), para(line, small)],
            ],
            colWidths=[width / 2] * 2,
        )
        sign_table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        story.append(KeepTogether([sign_table, Spacer(1, STAMP_RESERVE_PT - margin)]))
    else:
        story.append(Spacer(1, STAMP_RESERVE_PT - margin))  # the supplier's stamp

    def page_number(canvas: Canvas, number: int, total: int) -> None:
        canvas.setFont(FONT, 7)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawRightString(
            page_w - margin,
            page_h - margin / 2 - 2,
            f"{p.number} · лист {number} из {total}",
        )

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=pdf_title,
        author=p.supplier.name,
        creator="docflow",
    )
    doc.build(story, canvasmaker=numbered_canvas(page_number))
    return out.getvalue()


def _field_lines(p: OrderPaper) -> list[tuple[str, str]]:
    lines = list(p.fields)
    if p.comment:
        lines.append(("Комментарий заказчика", p.comment))
    if p.contact:
        lines.append(("Контактное лицо", p.contact))
    return lines


def render_offer(p: OrderPaper) -> bytes:
    """The offer: signed by the customer (acceptance), then by the supplier."""
    lines = [
        ("Исполнитель", p.supplier.details()),
        ("Заказчик", p.customer.details()),
        ("Договор энергоснабжения", _contract(p)),
        ("Заказ", f"№ {p.number}"),
        *_field_lines(p),
    ]
    after = [
        f"Стоимость услуги: {money(p.total_kopecks)} ₽, в том числе "
        + (
            f"НДС {p.vat_rate} % — {money(p.vat_kopecks)} ₽."
            if p.vat_rate
            else "без НДС."
        ),
        "Подписание настоящей оферты электронной подписью Заказчика означает её акцепт. "
        "После подписания оферты обеими сторонами Исполнитель выставляет счёт на оплату; "
        "услуга оказывается после оплаты в сроки, согласованные с Заказчиком.",
        "Документ подписывается усиленными квалифицированными электронными подписями "
        "сторон в соответствии с соглашением об электронном документообороте.",
    ]
    return _build(
        p,
        title=f"ОФЕРТА № {p.number} от {_date(p.date)}",
        subtitle="на оказание коммерческой услуги",
        lines=lines,
        after=after,
        signs=(f"Заказчик ({p.customer.name})", f"Исполнитель ({p.supplier.name})"),
        pdf_title=f"Оферта № {p.number}",
    )


def render_invoice(p: OrderPaper, *, invoice_number: str) -> bytes:
    """The invoice for the order, issued once the offer is signed by both."""
    lines = [
        ("Поставщик (получатель)", p.supplier.details()),
        ("Плательщик", p.customer.details()),
        ("Договор энергоснабжения", _contract(p)),
        ("Основание", f"Оферта № {p.number} от {_date(p.date)}"),
    ]
    purpose = (
        f"Оплата услуги по заказу № {p.number}, договор № {p.contract_number}; "
        + (
            f"в т.ч. НДС {p.vat_rate} % — {money(p.vat_kopecks)} ₽"
            if p.vat_rate
            else "без НДС"
        )
    )
    after = [
        f"Всего к оплате: {money(p.total_kopecks)} ₽.",
        f"Назначение платежа: {purpose}.",
        "Оплатить счёт можно в личном кабинете или платёжным поручением по реквизитам "
        "договора энергоснабжения. В назначении платежа укажите номер заказа.",
    ]
    return _build(
        p,
        title=f"СЧЁТ НА ОПЛАТУ № {invoice_number} от {_date(p.date)}",
        subtitle=f"по заказу услуги № {p.number}",
        lines=lines,
        after=after,
        signs=None,
        pdf_title=f"Счёт № {invoice_number}",
    )
