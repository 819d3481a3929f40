"""The appeal and the answer as PDF documents for the flow (reportlab, A4,
DejaVu Sans for Cyrillic), with free space at the bottom of the last page for
the visible e-signature stamp, as the ПРОМ10 act leaves it."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
)

from docflow import paper
from docflow.paper import FONT, FONT_BOLD, numbered_canvas, register_fonts

# The signature stamp's place at the bottom of the last page (5 cm).
STAMP_RESERVE_PT = 142.0
MOSCOW = dt.timezone(dt.timedelta(hours=3))


@dataclass(frozen=True)
class AppealSheet:
    """What the appeal's PDF says."""

    number: str
    registered: dt.datetime
    supplier: str
    organisation: str
    inn: str
    contract: str
    topic: str
    significant: bool
    answer_hours: int
    contact_name: str
    contact_phone: str
    author: str
    text: str
    attachments: Sequence[str]


@dataclass(frozen=True)
class AnswerSheet:
    """What the answer's PDF says."""

    appeal_number: str
    appeal_date: dt.datetime
    answered: dt.datetime
    supplier: str
    organisation: str
    inn: str
    contract: str
    topic: str
    clerk: str
    text: str
    attachments: Sequence[str]


def _moscow(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M (МСК)")


def _render(
    *,
    title: str,
    subtitle: str,
    rows: list[tuple[str, str]],
    heading: str,
    text: str,
    attachments: Sequence[str],
    signer: str,
    pdf_title: str,
    author: str,
) -> bytes:

    register_fonts()
    page_w, page_h = A4
    margin = 18 * mm
    base = ParagraphStyle("appeal", fontName=FONT, fontSize=10, leading=13.5)
    bold = ParagraphStyle("appeal-bold", parent=base, fontName=FONT_BOLD)
    head = ParagraphStyle(
        "appeal-title",
        parent=base,
        fontName=FONT_BOLD,
        fontSize=14,
        leading=18,
        alignment=TA_CENTER,
    )
    sub = ParagraphStyle(
        "appeal-sub", parent=base, fontSize=10.5, leading=14, alignment=TA_CENTER
    )

    def p(value: str, style: ParagraphStyle = base) -> Paragraph:
        return paper.text(value, style)

    story: list[Any] = [p(title, head), p(subtitle, sub), Spacer(1, 5 * mm)]
    table = paper.facts_table(
        rows,
        label=bold,
        value=base,
        label_width=52 * mm,
        width=page_w - 2 * margin,
        grid=True,
    )
    story += [table, Spacer(1, 6 * mm), p(heading, bold), Spacer(1, 2 * mm)]
    # One paragraph per line of the text: a long text breaks across pages.
    for line in text.splitlines() or [""]:
        story.append(p(line or " "))
    story.append(Spacer(1, 5 * mm))
    story.append(p("Приложения:", bold))
    if attachments:
        for i, name in enumerate(attachments, start=1):
            story.append(p(f"{i}. {name}"))
    else:
        story.append(p("нет"))
    story.append(Spacer(1, 8 * mm))
    story.append(KeepTogether([p(signer), Spacer(1, STAMP_RESERVE_PT - margin)]))

    def decorate(canvas: Canvas, number: int, total: int) -> None:
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawRightString(
            page_w - margin,
            page_h - margin / 2,
            f"{pdf_title} · стр. {number} из {total}",
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
        author=author,
        creator="docflow",
    )
    doc.build(story, canvasmaker=numbered_canvas(decorate))
    return out.getvalue()


def render_appeal(sheet: AppealSheet) -> bytes:
    """The customer's appeal as filed."""
    rows = [
        ("Регистрационный номер", sheet.number),
        ("Дата подачи", _moscow(sheet.registered)),
        ("Адресат", sheet.supplier),
        ("Заявитель", f"{sheet.organisation}, ИНН {sheet.inn}"),
        ("Договор энергоснабжения", f"№ {sheet.contract}"),
        ("Тематика", sheet.topic),
        ("Срок ответа", f"{sheet.answer_hours} ч с момента регистрации"),
        ("Контактное лицо", f"{sheet.contact_name}, тел. {sheet.contact_phone}"),
        ("Подал", sheet.author),
    ]
    if sheet.significant:
        rows.append(
            (
                "Юридическая значимость",
                "Обращение подписывается квалифицированной электронной "
                "подписью заявителя",
            )
        )
    return _render(
        title=f"ОБРАЩЕНИЕ № {sheet.number}",
        subtitle=f"в адрес {sheet.supplier}",
        rows=rows,
        heading="Текст обращения",
        text=sheet.text,
        attachments=sheet.attachments,
        signer=(
            f"От заявителя ({sheet.organisation}): {sheet.author}"
            if sheet.significant
            else f"Подано через личный кабинет клиента: {sheet.author}"
        ),
        pdf_title=f"Обращение № {sheet.number}",
        author=sheet.organisation,
    )


def render_answer(sheet: AnswerSheet) -> bytes:
    """The supplier's answer to an appeal."""
    rows = [
        ("На обращение", f"№ {sheet.appeal_number} от {_moscow(sheet.appeal_date)}"),
        ("Дата ответа", _moscow(sheet.answered)),
        ("Заявитель", f"{sheet.organisation}, ИНН {sheet.inn}"),
        ("Договор энергоснабжения", f"№ {sheet.contract}"),
        ("Тематика", sheet.topic),
        ("Исполнитель", sheet.clerk),
    ]
    return _render(
        title=f"ОТВЕТ НА ОБРАЩЕНИЕ № {sheet.appeal_number}",
        subtitle=f"от {sheet.supplier}",
        rows=rows,
        heading="Текст ответа",
        text=sheet.text,
        attachments=sheet.attachments,
        signer=f"От {sheet.supplier}: {sheet.clerk}",
        pdf_title=f"Ответ на обращение № {sheet.appeal_number}",
        author=sheet.supplier,
    )
