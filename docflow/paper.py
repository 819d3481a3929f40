"""The cabinet's printed paper: what every PDF it draws with reportlab needs —
a Cyrillic font, page numbers that know the page count («Стр. N из M»), plain
text as paragraphs and the two-column table of facts that heads an appeal, an
order and an act."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.fonts import addMapping
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, Table, TableStyle

import signing

FONT_DIR = Path(signing.__file__).resolve().parent / "fonts"
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"


@lru_cache(maxsize=1)
def register_fonts() -> None:
    """DejaVu Sans and its bold face for reportlab, once per process; ``<b>`` in a
    paragraph finds the bold face through the family mapping."""
    registered = pdfmetrics.getRegisteredFontNames()
    if FONT not in registered:
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    if FONT_BOLD not in registered:
        pdfmetrics.registerFont(
            TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        )
    addMapping(FONT, 0, 0, FONT)
    addMapping(FONT, 1, 0, FONT_BOLD)


def numbered_canvas(decorate: Callable[[Canvas, int, int], None]) -> type[Canvas]:
    """A canvas class that keeps each page until the document ends, then calls
    ``decorate(canvas, page_number, page_count)`` on every page before it is
    written: a page number "N of M" needs M."""

    class NumberedCanvas(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                decorate(self, number, total)
                super().showPage()
            super().save()

    return NumberedCanvas


def text(value: str, style: ParagraphStyle) -> Paragraph:
    """Plain text as a paragraph: escaped (a user's «<b>» stays text), its line
    breaks kept."""
    return Paragraph(escape(value).replace("\n", "<br/>"), style)


def facts_table(
    rows: Sequence[tuple[str, str]],
    *,
    label: ParagraphStyle,
    value: ParagraphStyle,
    label_width: float,
    width: float,
    padding: float = 3,
    grid: bool = False,
) -> Table:
    """Label | value rows, the labels in ``label`` style in a column of
    ``label_width``; with ``grid``, ruled, the labels shaded."""
    table = Table(
        [[text(k, label), text(v, value)] for k, v in rows],
        colWidths=[label_width, width - label_width],
    )
    style: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), padding),
        ("BOTTOMPADDING", (0, 0), (-1, -1), padding),
    ]
    if grid:
        style += [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa3ad")),
            ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef1f5")),
        ]
    table.setStyle(TableStyle(style))
    return table
