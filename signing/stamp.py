"""The visible signature stamp of a PAdES signature, in Russian.

A bordered box on the page::

    Документ подписан электронной подписью
    Сертификат: 01A2B3...
    Владелец: Иванов Иван Иванович
    ООО «Ромашка»
    Действителен: с 01.01.2026 по 01.01.2027
    Дата подписания: 22.11.2026 14:05 (МСК)

The text is set in DejaVu Sans (Cyrillic). pyHanko's ``GlyphAccumulator``
subsets the 750 KB font with fontTools on every signature, which costs
~150 ms; here the font is cut once per process to the Latin and Cyrillic
repertoire (~260 glyphs, 12 KB compressed) and embedded as it is, so a stamp
costs a few objects and no font work. The stamp is placed where it overlaps no
other annotation: by default at the bottom of the last page, a second
signature's stamp beside (or above) the first.
"""

from __future__ import annotations

import datetime as dt
import io
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from fontTools import subset, ttLib
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.content import ResourceType
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp.base import BaseStamp, BaseStampStyle

from signing.errors import SigningError

__all__ = ["MSK", "StampInfo"]

FONT_PATH = Path(__file__).with_name("fonts") / "DejaVuSans.ttf"

#: Moscow time: UTC+3 all year since 2014 (Federal law 248-FZ).
MSK = dt.timezone(dt.timedelta(hours=3), "МСК")

#: (llx, lly, urx, ury) in PDF points.
Rect = tuple[float, float, float, float]

_FONT_SIZE = 7.5
_LEADING = 10.0
_PADDING = 6.0
_MIN_WIDTH = 210.0
_MAX_WIDTH = 300.0
_PAGE_MARGIN = 20.0
_GAP = 8.0
_INK = (0.05, 0.2, 0.55)  # the dark blue of a stamp

# Latin, Cyrillic (Russian, Ukrainian, Belarusian, Kazakh...) and the
# typography of Russian documents: «» „“ – — № … and the no-break space.
_REPERTOIRE = (
    set(range(0x20, 0x7F))
    | set(range(0xA0, 0x100))
    | set(range(0x400, 0x530))
    | {0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x201E, 0x2026, 0x2116, 0x20BD}
)


@dataclass(frozen=True)
class StampInfo:
    """What the stamp says. Unset fields are taken from the signer's certificate
    and the signing time."""

    title: str = "Документ подписан электронной подписью"
    serial: str | None = None
    owner: str | None = None
    organization: str | None = None
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    signed_at: dt.datetime | None = None
    extra_lines: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        out = [self.title]
        if self.serial:
            out.append(f"Сертификат: {self.serial}")
        if self.owner:
            out.append(f"Владелец: {self.owner}")
        if self.organization and self.organization != self.owner:
            out.append(self.organization)
        if self.valid_from and self.valid_to:
            out.append(
                f"Действителен: с {_date(self.valid_from)} по {_date(self.valid_to)}"
            )
        if self.signed_at:
            moment = self.signed_at.astimezone(MSK).strftime("%d.%m.%Y %H:%M")
            out.append(f"Дата подписания: {moment} (МСК)")
        out.extend(self.extra_lines)
        return out


def _date(moment: dt.datetime) -> str:
    return moment.astimezone(MSK).strftime("%d.%m.%Y")


# --------------------------------------------------------------------------
# The font, cut once per process
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _StampFont:
    ps_name: str
    glyph_of: dict[int, int]  # code point -> glyph id
    widths: tuple[int, ...]  # glyph id -> advance, in 1/1000 em
    font_file: bytes  # zlib-compressed TrueType program
    font_file_length: int
    to_unicode: bytes  # zlib-compressed ToUnicode CMap
    ascent: int
    descent: int
    cap_height: int
    bbox: tuple[int, int, int, int]
    fallback: int
    # Built once and shared by every document: a writer only serialises them.
    widths_array: generic.ArrayObject = field(repr=False, compare=False)
    bbox_array: generic.ArrayObject = field(repr=False, compare=False)

    def encode(self, text: str) -> bytes:
        """Two-byte CIDs (= glyph ids, Identity-H) for ``text``."""
        fallback = self.fallback
        return b"".join(
            self.glyph_of.get(ord(ch), fallback).to_bytes(2, "big") for ch in text
        )

    def width(self, text: str, size: float) -> float:
        fallback = self.fallback
        total = sum(self.widths[self.glyph_of.get(ord(ch), fallback)] for ch in text)
        return total * size / 1000.0

    def embed(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        """Write the Type0/CIDFontType2 font into ``writer``; return its reference."""
        font_file = generic.StreamObject(
            {
                pdf_name("/Length1"): generic.NumberObject(self.font_file_length),
                pdf_name("/Filter"): pdf_name("/FlateDecode"),
            },
            encoded_data=self.font_file,
        )
        descriptor = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/FontDescriptor"),
                pdf_name("/FontName"): pdf_name("/" + self.ps_name),
                pdf_name("/Flags"): generic.NumberObject(32),  # nonsymbolic
                pdf_name("/FontBBox"): self.bbox_array,
                pdf_name("/ItalicAngle"): generic.NumberObject(0),
                pdf_name("/Ascent"): generic.NumberObject(self.ascent),
                pdf_name("/Descent"): generic.NumberObject(self.descent),
                pdf_name("/CapHeight"): generic.NumberObject(self.cap_height),
                pdf_name("/StemV"): generic.NumberObject(80),
                pdf_name("/FontFile2"): writer.add_object(font_file),
            }
        )
        cid_font = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/CIDFontType2"),
                pdf_name("/BaseFont"): pdf_name("/" + self.ps_name),
                pdf_name("/CIDSystemInfo"): generic.DictionaryObject(
                    {
                        pdf_name("/Registry"): generic.TextStringObject("Adobe"),
                        pdf_name("/Ordering"): generic.TextStringObject("Identity"),
                        pdf_name("/Supplement"): generic.NumberObject(0),
                    }
                ),
                pdf_name("/FontDescriptor"): writer.add_object(descriptor),
                pdf_name("/CIDToGIDMap"): pdf_name("/Identity"),
                pdf_name("/DW"): generic.NumberObject(1000),
                pdf_name("/W"): self.widths_array,
            }
        )
        to_unicode = generic.StreamObject(
            {pdf_name("/Filter"): pdf_name("/FlateDecode")},
            encoded_data=self.to_unicode,
        )
        type0 = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type0"),
                pdf_name("/BaseFont"): pdf_name("/" + self.ps_name),
                pdf_name("/Encoding"): pdf_name("/Identity-H"),
                pdf_name("/DescendantFonts"): generic.ArrayObject(
                    [writer.add_object(cid_font)]
                ),
                pdf_name("/ToUnicode"): writer.add_object(to_unicode),
            }
        )
        return writer.add_object(type0)


def _to_unicode_cmap(pairs: Iterable[tuple[int, int]]) -> bytes:
    entries = [f"<{gid:04X}> <{cp:04X}>" for gid, cp in sorted(pairs)]
    body = []
    for start in range(0, len(entries), 100):  # at most 100 per block
        chunk = entries[start : start + 100]
        body.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(body)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
    ).encode("ascii")


@lru_cache(maxsize=4)
def stamp_font(path: str = str(FONT_PATH)) -> _StampFont:
    """Cut ``path`` to the stamp repertoire (once per process)."""
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.notdef_outline = True
    options.name_IDs = [1, 2, 3, 4, 6]
    # Only what a CIDFontType2 program needs (ISO 32000-1 §9.9); the layout
    # and hinting tables would triple the size.
    options.drop_tables += [
        "GSUB", "GPOS", "GDEF", "kern", "FFTM", "hdmx", "LTSH", "VDMX",
        "fpgm", "prep", "cvt ", "gasp", "MATH",
    ]  # fmt: skip
    try:
        font = ttLib.TTFont(path, lazy=False)
    except (OSError, ttLib.TTLibError) as exc:
        raise SigningError(f"cannot read the stamp font {path}: {exc}") from exc
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=_REPERTOIRE)
    subsetter.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    program = buf.getvalue()

    order = font.getGlyphOrder()
    gid_of_name = {name: gid for gid, name in enumerate(order)}
    cmap = font.getBestCmap()
    glyph_of = {cp: gid_of_name[name] for cp, name in cmap.items()}
    scale = 1000.0 / font["head"].unitsPerEm
    hmtx = font["hmtx"]
    widths = tuple(round(hmtx[name][0] * scale) for name in order)
    first_cp: dict[int, int] = {}
    for cp, gid in sorted(glyph_of.items()):
        first_cp.setdefault(gid, cp)
    head, hhea, os2 = font["head"], font["hhea"], font["OS/2"]
    bbox = (
        round(head.xMin * scale),
        round(head.yMin * scale),
        round(head.xMax * scale),
        round(head.yMax * scale),
    )
    ps_name = "DOCFLW+" + (font["name"].getDebugName(6) or "DejaVuSans")
    return _StampFont(
        ps_name=ps_name,
        glyph_of=glyph_of,
        widths=widths,
        font_file=zlib.compress(program, 9),
        font_file_length=len(program),
        to_unicode=zlib.compress(_to_unicode_cmap(first_cp.items()), 9),
        ascent=round(hhea.ascent * scale),
        descent=round(hhea.descent * scale),
        cap_height=round(getattr(os2, "sCapHeight", hhea.ascent) * scale),
        bbox=bbox,
        fallback=glyph_of.get(ord("?"), 0),
        widths_array=generic.ArrayObject(
            [
                generic.NumberObject(0),
                generic.ArrayObject(generic.NumberObject(w) for w in widths),
            ]
        ),
        bbox_array=generic.ArrayObject(generic.NumberObject(v) for v in bbox),
    )


# --------------------------------------------------------------------------
# Layout and rendering
# --------------------------------------------------------------------------


def _fit(lines: Sequence[str], font: _StampFont) -> tuple[float, float, float]:
    """(width, height, font size) of the stamp box for ``lines``."""
    size = _FONT_SIZE
    natural = max(font.width(line, size) for line in lines) + 2 * _PADDING
    if natural > _MAX_WIDTH:
        size = size * (_MAX_WIDTH - 2 * _PADDING) / (natural - 2 * _PADDING)
        natural = _MAX_WIDTH
    width = max(_MIN_WIDTH, natural)
    height = len(lines) * _LEADING * size / _FONT_SIZE + 2 * _PADDING
    return round(width, 1), round(height, 1), size


def stamp_size(info: StampInfo) -> tuple[float, float]:
    width, height, _ = _fit(info.lines(), stamp_font())
    return width, height


@dataclass(frozen=True)
class RussianStampStyle(BaseStampStyle):
    """A pyHanko stamp style drawing :class:`StampInfo` (used by pades.py)."""

    info: StampInfo = StampInfo()

    def create_stamp(
        self,
        writer: BasePdfFileWriter,
        box: layout.BoxConstraints,
        text_params: dict,  # type: ignore[type-arg]
    ) -> BaseStamp:
        return _RussianStamp(writer, self, box)


class _RussianStamp(BaseStamp):
    def _render_inner_content(self) -> list[bytes]:
        style: RussianStampStyle = self.style
        font = stamp_font()
        lines = style.info.lines()
        _, _, size = _fit(lines, font)
        self.set_resource(
            category=ResourceType.FONT,
            name=pdf_name("/DF1"),
            value=font.embed(_writer_of(self)),
        )
        leading = _LEADING * size / _FONT_SIZE
        top = self.box.height - _PADDING - size * 0.95
        ops = [b"BT", b"%g %g %g rg" % _INK, b"/DF1 %g Tf" % size, b"%g TL" % leading]
        ops.append(b"%g %g Td" % (_PADDING, top))
        for index, line in enumerate(lines):
            if index == 0:
                # Bold by stroking the outline as well (text render mode 2),
                # so one embedded font serves both weights.
                ops.append(b"%g %g %g RG 0.35 w 2 Tr" % _INK)
            ops.append(
                b"<" + font.encode(line).hex().upper().encode("ascii") + b"> Tj T*"
            )
            if index == 0:
                ops.append(b"0 Tr")
        ops.append(b"ET")
        return ops


def _writer_of(stamp: BaseStamp) -> BasePdfFileWriter:
    if stamp.writer is None:  # pyHanko always sets it for an appearance
        raise SigningError("the stamp has no PDF writer")
    return stamp.writer


def style_for(info: StampInfo) -> RussianStampStyle:
    return RussianStampStyle(border_width=1, border_color=_INK, info=info)


# --------------------------------------------------------------------------
# Placement
# --------------------------------------------------------------------------


def _inherited(page: generic.DictionaryObject, key: str) -> generic.PdfObject | None:
    node: generic.PdfObject | None = page
    for _ in range(64):  # a page tree is never that deep; a loop might be
        if not isinstance(node, generic.DictionaryObject):
            return None
        if key in node:
            value: generic.PdfObject = node[key]
            return value
        node = node.get("/Parent")
    return None


def _rect(value: object) -> Rect | None:
    try:
        x1, y1, x2, y2 = (float(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return None
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def occupied_rects(page: generic.DictionaryObject) -> list[Rect]:
    """The rectangles of the page's annotations (stamps of earlier signatures)."""
    rects = []
    for annot in page.get("/Annots", ()) or ():
        annot_dict = annot.get_object()
        if isinstance(annot_dict, generic.DictionaryObject) and "/Rect" in annot_dict:
            rect = _rect(annot_dict["/Rect"])
            if rect is not None:
                rects.append(rect)
    return rects


def page_box(page: generic.DictionaryObject) -> Rect:
    box = _rect(_inherited(page, "/CropBox")) or _rect(_inherited(page, "/MediaBox"))
    return box or (0.0, 0.0, 595.0, 842.0)  # A4 when the page does not say


def place(page: generic.DictionaryObject, width: float, height: float) -> Rect:
    """The first free slot for a ``width`` x ``height`` stamp on the page.

    Slots run left to right along the bottom margin, then row by row upwards;
    a slot is free when it overlaps no annotation (earlier stamps included).
    """
    llx, lly, urx, ury = page_box(page)
    taken = occupied_rects(page)
    y = lly + _PAGE_MARGIN
    while y + height <= ury - _PAGE_MARGIN:
        x = llx + _PAGE_MARGIN
        while x + width <= urx - _PAGE_MARGIN:
            slot = (x, y, x + width, y + height)
            if not any(_overlaps(slot, t) for t in taken):
                return tuple(round(v, 2) for v in slot)  # type: ignore[return-value]
            x += width + _GAP
        y += height + _GAP
    raise SigningError(
        "no free place for the signature stamp on the page; pass box=(x1, y1, x2, y2)"
    )
