"""The byte structure of a signed PDF: what a signature covers, and what follows it.

A PDF signature digests the bytes its ``/ByteRange`` names (ISO 32000-1
§12.8.1): ``[0 a b c]`` is the file from its start to the ``/Contents`` hex
string and from the end of that string for ``c`` bytes. Later changes are
appended as incremental updates (§7.5.6): a body of objects, a cross-reference
table or stream, a trailer whose ``/Prev`` points to the previous section's
cross-reference, ``startxref`` and ``%%EOF``. A reader builds the document from
the last section backwards, so bytes that are not such sections, or sections
that do not chain, change what is displayed without touching the signed bytes.

The published attacks on PDF signatures use exactly that:

* Incremental Saving Attack and Signature Wrapping Attack (Mladenov, Mainka,
  Meyer zu Selhausen, Grothe, Schwenk, "1 Trillion Dollar Refund: How To Spoof
  PDF Signatures", ACM CCS 2019; pdf-insecurity.org): appended objects without
  a cross-reference, trailing data, sections whose ``/Prev`` skips the signed
  revision; or a byte range whose gap holds objects besides the signature.
* Universal Signature Forgery (same paper): a ``/ByteRange`` or ``/Contents``
  that is missing, ``null`` or nonsensical.
* Shadow Attacks hide / replace / hide-and-replace (Mainka, Mladenov,
  Rohlmann, Schwenk, "Shadow Attacks: Hiding and Replacing Content in Signed
  PDFs", NDSS 2021): an update that consists of a cross-reference only and
  points objects back to shadow copies hidden in the signed bytes, or frees an
  overlay.

This module answers two questions from the bytes alone, with its own small
parser (pyHanko's reader repairs and resolves; here nothing is repaired):

* :func:`check_signed_range`: is a signature's range ``[0 a b c]`` with the gap
  holding exactly its ``/Contents`` and ending where a revision ends, and is
  everything after it a chain of well-formed incremental updates?
* :func:`find_signed_ranges`: which signature byte ranges does the file carry,
  whether or not a reader still shows them?

What the updates *change* (pages, forms, annotations) is pyHanko's difference
analysis, in :mod:`signing.pades`.
"""

from __future__ import annotations

import binascii
import enum
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Problem", "ProblemKind", "check_signed_range", "find_signed_ranges"]


class ProblemKind(enum.StrEnum):
    """What is wrong; the first three concern the signature itself."""

    #: ``/ByteRange`` is not ``[0 a b c]`` with integers, ``a < b`` and
    #: ``b + c`` within the file (USF).
    BYTE_RANGE = "byte_range"
    #: The gap ``[a, b)`` holds more (or other) than the ``/Contents`` hex
    #: string (SWA).
    GAP = "gap"
    #: The signed range does not end right after ``%%EOF`` of a revision.
    RANGE_END = "range_end"
    #: Bytes after the last complete revision (ISA).
    TRAILING_DATA = "trailing_data"
    #: An appended section that is not a well-formed incremental update: no or
    #: a broken cross-reference, entries pointing outside the update, freed or
    #: unlisted objects (ISA, shadow hide-and-replace).
    BROKEN_UPDATE = "broken_update"
    #: An update whose ``/Prev`` is not the previous section's ``startxref``:
    #: a reader would skip revisions (ISA).
    PREV_CHAIN = "prev_chain"


#: Problems with what was appended after the signed range, as opposed to
#: problems with the signature's own range.
AFTER_SIGNING = frozenset(
    {ProblemKind.TRAILING_DATA, ProblemKind.BROKEN_UPDATE, ProblemKind.PREV_CHAIN}
)


@dataclass(frozen=True)
class Problem:
    """One structural finding: a stable kind, a Russian message, the offset."""

    kind: ProblemKind
    message: str
    offset: int | None = None

    @property
    def after_signing(self) -> bool:
        """The problem lies in what was appended after the signed range."""
        return self.kind in AFTER_SIGNING


# --------------------------------------------------------------------------
# Lexical level (ISO 32000-1 §7.2, §7.3)
# --------------------------------------------------------------------------

_WS = b"\x00\t\n\x0c\r "
_WS_CLASS = rb"[\x00\t\n\x0c\r ]"
_SKIP_WS = re.compile(_WS_CLASS + rb"*")
_SKIP_WS_AND_COMMENTS = re.compile(rb"(?:[\x00\t\n\x0c\r ]+|%[^\r\n]*)*")
_REGULAR = re.compile(rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]+")
_NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)\Z")
_INTEGER = re.compile(rb"[+-]?\d+\Z")
_HEX_BODY = re.compile(rb"[0-9A-Fa-f\x00\t\n\x0c\r ]*")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_XREF_SUBSECTION = re.compile(rb"(\d+)[ \t]+(\d+)" + _WS_CLASS + rb"*")
_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])(?: ?\r\n| ?\n| ?\r| )")
_STRING_SPECIAL = re.compile(rb"[()\\]")
#: Three or more numbers, each followed by white space (a run in an array).
_NUMBER_RUN = re.compile(rb"(?:[+-]?(?:\d+\.?\d*|\.\d+)" + _WS_CLASS + rb"+){3,}")
_NUL_TO_SPACE = bytes.maketrans(b"\x00", b" ")
_CONSTANTS: dict[bytes, object] = {b"true": True, b"false": False, b"null": None}
_MAX_DEPTH = 64
#: A cross-reference stream decodes to a few bytes per object; more than this
#: is not a cross-reference stream but a decompression bomb.
_MAX_XREF_STREAM = 64 * 1024 * 1024


class _Broken(Exception):
    """An appended section is not what ISO 32000-1 §7.5.6 allows."""

    def __init__(
        self, message: str, offset: int, kind: ProblemKind = ProblemKind.BROKEN_UPDATE
    ) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.kind = kind


class _Name(str):
    """A PDF name (``/Type``), as opposed to a string."""

    __slots__ = ()


@dataclass(frozen=True)
class _Ref:
    num: int
    gen: int


@dataclass(frozen=True)
class _Object:
    """An indirect object of an update section."""

    num: int
    gen: int
    offset: int
    value: object
    #: ``(start, end)`` of the stream data, for streams.
    stream: tuple[int, int] | None


class _Lexer:
    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def skip(self) -> int:
        """Skip white space and comments (§7.2.3: a comment is white space)."""
        match = _SKIP_WS_AND_COMMENTS.match(self.data, self.pos)
        assert match is not None  # the pattern matches the empty string
        self.pos = match.end()
        return self.pos

    def word(self) -> bytes:
        """The regular characters at the current position (maybe none)."""
        match = _REGULAR.match(self.data, self.pos)
        return match.group() if match else b""

    def keyword(self, expected: bytes) -> bool:
        """Consume ``expected`` if it is the next token."""
        start = self.skip()
        if self.word() == expected:
            self.pos = start + len(expected)
            return True
        return False

    def integer(self, what: str) -> int:
        start = self.skip()
        token = self.word()
        if not _INTEGER.match(token):
            raise _Broken(f"ожидалось целое число ({what})", start)
        self.pos = start + len(token)
        return int(token)

    def value(self, depth: int = 0) -> object:
        """One direct object, or an indirect reference ``n g R``."""
        if depth > _MAX_DEPTH:
            raise _Broken("слишком глубокая вложенность объектов", self.pos)
        data = self.data
        start = self.skip()
        if start >= len(data):
            raise _Broken("файл обрывается внутри объекта", start)
        head = data[start : start + 2]
        if head == b"<<":
            return self._dictionary(depth)
        first = head[:1]
        if first == b"<":
            return self._hex_string()
        if first == b"(":
            return self._literal_string()
        if first == b"[":
            self.pos += 1
            items: list[object] = []
            while not self._closing(b"]"):
                self._numbers(items)
                items.append(self.value(depth + 1))
            return items
        if first == b"/":
            self.pos += 1
            raw = self.word()
            self.pos += len(raw)
            name = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
            return _Name("/" + name.decode("latin-1"))
        token = self.word()
        if not token:
            raise _Broken(f"неожиданный символ {first!r}", start)
        self.pos = start + len(token)
        if _INTEGER.match(token):
            after = self.pos
            reference = self._reference_tail(int(token))
            if reference is not None:
                return reference
            self.pos = after
            return int(token)
        if _NUMBER.match(token):
            return float(token)
        if token in _CONSTANTS:
            return _CONSTANTS[token]
        raise _Broken(f"неожиданное слово {token.decode('latin-1')!r}", start)

    def _numbers(self, items: list[object]) -> None:
        """Take a run of plain numbers in an array (a font's widths: hundreds)
        at once, all but the last two: those are left to :meth:`value`, since
        only the last two numbers before an ``R`` form a reference, so the
        result is what reading them one by one gives."""
        run = _NUMBER_RUN.match(self.data, self.pos)
        if run is None:
            return
        text = run.group().translate(_NUL_TO_SPACE)
        tokens = text.split()
        items.extend(
            int(t) if t.isdigit() or _INTEGER.match(t) else float(t)
            for t in tokens[:-2]
        )
        # Back to the start of the second-to-last number.
        end = len(text)
        for _ in range(2):
            end = len(text[:end].rstrip(_WS))
            end = max(text.rfind(c, 0, end) for c in _WS) + 1
        self.pos = run.start() + end

    def _reference_tail(self, num: int) -> _Ref | None:
        start = self.skip()
        gen = self.word()
        if not gen.isdigit():
            return None
        self.pos = start + len(gen)
        if self.keyword(b"R"):
            return _Ref(num, int(gen))
        return None

    def _closing(self, bracket: bytes) -> bool:
        start = self.skip()
        if start >= len(self.data):
            raise _Broken("файл обрывается внутри массива или словаря", start)
        if self.data.startswith(bracket, start):
            self.pos = start + len(bracket)
            return True
        return False

    def _dictionary(self, depth: int) -> dict[str, object]:
        self.pos += 2
        result: dict[str, object] = {}
        while not self._closing(b">>"):
            at = self.pos
            key = self.value(depth + 1)
            if not isinstance(key, _Name):
                raise _Broken("ключ словаря не является именем", at)
            if key in result:
                # Readers disagree on which of two equal keys wins.
                raise _Broken(f"ключ {key} повторяется в словаре", at)
            result[key] = self.value(depth + 1)
        return result

    def _hex_string(self) -> bytes:
        data = self.data
        body = _HEX_BODY.match(data, self.pos + 1)
        assert body is not None
        end = body.end()
        if not data.startswith(b">", end):
            raise _Broken("повреждена шестнадцатеричная строка", self.pos)
        digits = body.group().translate(None, _WS)
        self.pos = end + 1
        return binascii.unhexlify(digits + b"0" * (len(digits) % 2))

    def _literal_string(self) -> bytes:
        data = self.data
        pos = self.pos + 1
        depth = 1
        while depth:
            match = _STRING_SPECIAL.search(data, pos)
            if match is None:
                raise _Broken("файл обрывается внутри строки", self.pos)
            pos = match.end()
            char = match.group()
            if char == b"\\":
                pos += 1
            elif char == b"(":
                depth += 1
            else:
                depth -= 1
        raw = data[self.pos + 1 : pos - 1]
        self.pos = pos
        return raw


# --------------------------------------------------------------------------
# Incremental update sections (ISO 32000-1 §7.5.6)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Section:
    #: Offset just after ``%%EOF`` and its end-of-line marker.
    end: int
    startxref: int


def _stream_end(lexer: _Lexer, dictionary: dict[str, object], offset: int) -> int:
    """Skip a stream's data; return the offset after ``endstream``."""
    data = lexer.data
    pos = lexer.pos
    # §7.3.8.1: "stream" is followed by CRLF or LF, not by CR alone.
    if data.startswith(b"\r\n", pos):
        pos += 2
    elif data.startswith(b"\n", pos):
        pos += 1
    else:
        raise _Broken("после stream нет конца строки", pos)
    length = dictionary.get("/Length")
    if isinstance(length, int) and not isinstance(length, bool) and length >= 0:
        end = _SKIP_WS.match(data, pos + length)
        assert end is not None
        if data.startswith(b"endstream", end.end()):
            lexer.pos = end.end() + len(b"endstream")
            return pos
    # An indirect or wrong /Length: find the keyword instead. pyHanko resolves
    # objects by their cross-reference offsets, so a stray "endstream" inside
    # the data cannot make it read other objects than the ones checked here.
    found = data.find(b"endstream", pos)
    if found < 0:
        raise _Broken("поток без endstream", offset)
    lexer.pos = found + len(b"endstream")
    return pos


def _object(lexer: _Lexer) -> _Object:
    offset = lexer.skip()
    num = lexer.integer("номер объекта")
    gen = lexer.integer("поколение объекта")
    if not lexer.keyword(b"obj"):
        raise _Broken("ожидался объект «n g obj»", offset)
    value = lexer.value()
    stream: tuple[int, int] | None = None
    if lexer.keyword(b"stream"):
        if not isinstance(value, dict):
            raise _Broken("у потока нет словаря", offset)
        data_start = _stream_end(lexer, value, offset)
        stream = (data_start, lexer.pos - len(b"endstream"))
    if not lexer.keyword(b"endobj"):
        raise _Broken(f"объект {num} {gen} не закрыт endobj", offset)
    return _Object(num, gen, offset, value, stream)


def _xref_table(lexer: _Lexer) -> dict[int, tuple[int, int, bool]]:
    """Entries ``num → (offset, generation, in use)`` of a table (§7.5.4)."""
    data = lexer.data
    entries: dict[int, tuple[int, int, bool]] = {}
    end = _SKIP_WS.match(data, lexer.pos)
    assert end is not None
    lexer.pos = end.end()
    while not data.startswith(b"trailer", lexer.pos):
        header = _XREF_SUBSECTION.match(data, lexer.pos)
        if header is None:
            raise _Broken("повреждена таблица перекрёстных ссылок", lexer.pos)
        first, count = int(header.group(1)), int(header.group(2))
        lexer.pos = header.end()
        for num in range(first, first + count):
            entry = _XREF_ENTRY.match(data, lexer.pos)
            if entry is None:
                raise _Broken("повреждена строка таблицы ссылок", lexer.pos)
            if num in entries:
                raise _Broken(f"объект {num} дважды в таблице ссылок", lexer.pos)
            entries[num] = (
                int(entry.group(1)),
                int(entry.group(2)),
                entry.group(3) == b"n",
            )
            lexer.pos = entry.end()
        end = _SKIP_WS.match(data, lexer.pos)
        assert end is not None
        lexer.pos = end.end()
    return entries


def _png_up(raw: bytes, columns: int, offset: int) -> bytes:
    """Undo the PNG "Up" predictor of ISO 32000-1 §7.4.4.4, row by row.

    Only rows of type 2 (Up) are taken: what writers put in cross-reference
    streams, and the only type pyHanko 0.38 decodes as the PNG specification
    says (it reads None rows as zeros and Sub rows from the encoded bytes), so
    a row of another type would let this check and the verifier read
    different cross-references.
    """
    row = columns + 1
    if len(raw) % row:
        raise _Broken("повреждён поток перекрёстных ссылок (предиктор)", offset)
    out = bytearray()
    previous = bytes(columns)
    for start in range(0, len(raw), row):
        if raw[start] != 2:
            raise _Broken(
                f"PNG-предиктор {raw[start]} в потоке ссылок не поддерживается", offset
            )
        line = bytes(
            (value + above) & 0xFF
            for value, above in zip(raw[start + 1 : start + row], previous, strict=True)
        )
        out += line
        previous = line
    return bytes(out)


def _int_list(value: object, what: str, offset: int) -> list[int]:
    if not isinstance(value, list):
        raise _Broken(f"{what}: ожидался массив целых чисел", offset)
    result = []
    for item in value:
        if not isinstance(item, int) or isinstance(item, bool) or item < 0:
            raise _Broken(f"{what}: ожидался массив целых чисел", offset)
        result.append(item)
    return result


def _xref_stream(
    data: bytes, xref: _Object
) -> tuple[dict[int, tuple[int, int, bool]], dict[int, tuple[int, int]]]:
    """Entries of a cross-reference stream (§7.5.8): ``num → (offset, gen,
    in use)`` for types 0 and 1, ``num → (object stream, index)`` for type 2."""
    offset = xref.offset
    dictionary = xref.value
    assert isinstance(dictionary, dict) and xref.stream is not None
    widths = _int_list(dictionary.get("/W"), "/W", offset)
    size = dictionary.get("/Size")
    if len(widths) != 3 or not isinstance(size, int) or isinstance(size, bool):
        raise _Broken("поток ссылок без /W или /Size", offset)
    index = _int_list(dictionary.get("/Index", [0, size]), "/Index", offset)
    if len(index) % 2:
        raise _Broken("нечётная длина /Index", offset)
    raw = data[xref.stream[0] : xref.stream[1]]
    filters = dictionary.get("/Filter")
    params = dictionary.get("/DecodeParms")
    if isinstance(filters, list) and len(filters) == 1:
        filters = filters[0]
        params = params[0] if isinstance(params, list) and len(params) == 1 else params
    if filters == "/FlateDecode":
        inflater = zlib.decompressobj()
        try:
            raw = inflater.decompress(raw, _MAX_XREF_STREAM)
        except zlib.error:
            raise _Broken("поток ссылок не распаковывается", offset) from None
    elif filters is not None:
        raise _Broken(f"фильтр {filters} в потоке ссылок", offset)
    if isinstance(params, dict) and params.get("/Predictor", 1) != 1:
        predictor = params.get("/Predictor")
        columns = params.get("/Columns", 1)
        if not isinstance(predictor, int) or predictor < 10:
            raise _Broken("неподдерживаемый предиктор потока ссылок", offset)
        if not isinstance(columns, int) or columns != sum(widths):
            raise _Broken("/Columns не совпадает с /W", offset)
        raw = _png_up(raw, columns, offset)
    row = sum(widths)
    count = sum(index[1::2])
    if row == 0 or len(raw) < row * count:
        raise _Broken("поток ссылок короче, чем объявлено", offset)
    direct: dict[int, tuple[int, int, bool]] = {}
    compressed: dict[int, tuple[int, int]] = {}
    position = 0
    for first, n in zip(index[::2], index[1::2], strict=True):
        for num in range(first, first + n):
            fields = []
            for width in widths:
                fields.append(int.from_bytes(raw[position : position + width], "big"))
                position += width
            kind = fields[0] if widths[0] else 1
            if num in direct or num in compressed:
                raise _Broken(f"объект {num} дважды в потоке ссылок", offset)
            if kind == 2:
                compressed[num] = (fields[1], fields[2])
            elif kind in (0, 1):
                direct[num] = (fields[1], fields[2], kind == 1)
            # Other types are to be ignored (§7.5.8.3, Table 18).
    return direct, compressed


def _check_entries(
    direct: dict[int, tuple[int, int, bool]],
    compressed: dict[int, tuple[int, int]],
    objects: dict[int, _Object],
    xref: _Object | None,
    offset: int,
) -> None:
    """An update's cross-reference lists exactly its own objects."""
    by_offset = {obj.offset: obj for obj in objects.values()}
    listed: set[int] = set()
    for num, (where, gen, in_use) in direct.items():
        if not in_use:
            if num != 0:
                raise _Broken(
                    f"обновление освобождает объект {num} (удаляет его из документа)",
                    offset,
                )
            continue
        target = by_offset.get(where)
        if target is None or (target.num, target.gen) != (num, gen):
            # Shadow attacks (hide-and-replace): the entry points back into the
            # signed bytes, at a copy of the object that was hidden there.
            raise _Broken(
                f"ссылка на объект {num} {gen} указывает за пределы обновления "
                f"(смещение {where})",
                offset,
            )
        listed.add(num)
    for num, (container, index) in compressed.items():
        stream = objects.get(container)
        header = stream.value if stream is not None else None
        count = header.get("/N") if isinstance(header, dict) else None
        if (
            not isinstance(header, dict)
            or header.get("/Type") != "/ObjStm"
            or not isinstance(count, int)
            or not 0 <= index < count
        ):
            raise _Broken(
                f"объект {num} указан в потоке объектов вне обновления", offset
            )
    unlisted = sorted(
        num
        for num, obj in objects.items()
        if num not in listed and (xref is None or obj is not xref)
    )
    if unlisted:
        # An object in the body that no cross-reference names is invisible to
        # readers, and ready for a later section to point at.
        raise _Broken(
            f"объекты {', '.join(map(str, unlisted))} есть в обновлении, но не "
            "указаны в его таблице ссылок",
            offset,
        )


def _check_trailer(
    trailer: object, prev: int, objects: dict[int, _Object], offset: int
) -> None:
    if not isinstance(trailer, dict):
        raise _Broken("нет словаря trailer", offset)
    if "/XRefStm" in trailer:
        # A hybrid-reference update: older and newer readers see different
        # documents (§7.5.8.4).
        raise _Broken("обновление с гибридными ссылками (/XRefStm)", offset)
    if not isinstance(trailer.get("/Root"), _Ref):
        raise _Broken("в trailer нет ссылки /Root", offset)
    size = trailer.get("/Size")
    if (
        not isinstance(size, int)
        or isinstance(size, bool)
        or size <= max(objects, default=0)
    ):
        raise _Broken("в trailer нет верного /Size", offset)
    actual = trailer.get("/Prev")
    if actual != prev or isinstance(actual, bool):
        found = "нет /Prev" if actual is None else f"/Prev {actual}"
        raise _Broken(f"{found} вместо {prev}", offset, ProblemKind.PREV_CHAIN)


def _eof(lexer: _Lexer, offset: int) -> int:
    """``startxref``, its offset and ``%%EOF`` with an optional EOL (§7.5.5)."""
    if not lexer.keyword(b"startxref"):
        raise _Broken("нет startxref", offset)
    startxref = lexer.integer("startxref")
    data = lexer.data
    end = _SKIP_WS.match(data, lexer.pos)
    assert end is not None
    pos = end.end()
    if not data.startswith(b"%%EOF", pos):
        raise _Broken("нет маркера %%EOF", pos)
    pos += len(b"%%EOF")
    if data.startswith(b"\r\n", pos):
        pos += 2
    elif data.startswith((b"\r", b"\n"), pos):
        pos += 1
    lexer.pos = pos
    return startxref


def _section(data: bytes, start: int, prev: int) -> _Section:
    """Parse one incremental update from ``start``: body, cross-reference,
    trailer, ``startxref``, ``%%EOF``."""
    lexer = _Lexer(data, start)
    first = lexer.skip()
    if first >= len(data) or not (
        lexer.word() == b"xref" or _INTEGER.match(lexer.word())
    ):
        raise _Broken("данные после %%EOF", first, ProblemKind.TRAILING_DATA)
    objects: dict[int, _Object] = {}
    last: _Object | None = None
    while True:
        at = lexer.skip()
        if at >= len(data):
            raise _Broken(
                "обновление не завершено таблицей ссылок, trailer и %%EOF", first
            )
        word = lexer.word()
        if word in (b"xref", b"startxref"):
            break
        last = _object(lexer)
        if last.num in objects:
            raise _Broken(f"объект {last.num} дважды в одном обновлении", at)
        objects[last.num] = last
    if word == b"xref":
        lexer.pos = at + len(b"xref")
        direct = _xref_table(lexer)
        lexer.pos += len(b"trailer")
        trailer = lexer.value()
        _check_entries(direct, {}, objects, None, at)
        _check_trailer(trailer, prev, objects, at)
        startxref = _eof(lexer, at)
    else:
        # A cross-reference stream: the last object of the body (§7.5.8).
        if last is None or not isinstance(last.value, dict) or last.stream is None:
            raise _Broken("обновление без таблицы или потока ссылок", at)
        if last.value.get("/Type") != "/XRef":
            raise _Broken("обновление без таблицы или потока ссылок", at)
        direct, compressed = _xref_stream(data, last)
        _check_entries(direct, compressed, objects, last, last.offset)
        _check_trailer(last.value, prev, objects, last.offset)
        startxref = _eof(lexer, at)
        at = last.offset
    if startxref != at:
        raise _Broken(
            f"startxref ({startxref}) не указывает на ссылки этого обновления ({at})",
            at,
        )
    return _Section(lexer.pos, startxref)


def _end_of_white_space(data: bytes, pos: int) -> int:
    match = _SKIP_WS.match(data, pos)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _sections_after(data: bytes, start: int, prev: int) -> Iterator[_Section]:
    """The update sections from ``start`` to the end of the file.

    White space alone after the last ``%%EOF`` is tolerated: it changes
    nothing a reader shows, and transfers sometimes add a line break.
    """
    while _end_of_white_space(data, start) < len(data):
        section = _section(data, start, prev)
        yield section
        start, prev = section.end, section.startxref


# --------------------------------------------------------------------------
# Signatures
# --------------------------------------------------------------------------

#: The end of a revision: ``startxref``, the offset, ``%%EOF``, an optional
#: EOL (ISO 32000-1 §7.5.5), anchored at the end of the searched window.
_REVISION_END = re.compile(
    rb"startxref" + _WS_CLASS + rb"+(\d+)" + _WS_CLASS + rb"+%%EOF(?:\r\n|\r|\n)?\Z"
)
_REVISION_END_WINDOW = 256
_BYTE_RANGE = re.compile(
    rb"/ByteRange%(w)s*\[%(w)s*0%(w)s+(\d+)%(w)s+(\d+)%(w)s+(\d+)%(w)s*\]"
    % {b"w": _WS_CLASS}
)
_GAP = re.compile(rb"<([0-9A-Fa-f\x00\t\n\x0c\r ]*)>\Z")


def _byte_range(value: object, size: int) -> tuple[int, int, int] | None:
    """``(a, b, c)`` of a well-formed ``[0 a b c]`` within ``size`` bytes."""
    if not isinstance(value, list | tuple) or len(value) != 4:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return None
    zero, a, b, c = (int(v) for v in value)
    if zero != 0 or not 0 < a < b or c < 0 or b + c > size:
        return None
    return a, b, c


def _revision_end(pdf: bytes, end: int) -> int | None:
    """The ``startxref`` value of the revision that ends exactly at ``end``."""
    match = _REVISION_END.search(pdf, max(0, end - _REVISION_END_WINDOW), end)
    return int(match.group(1)) if match else None


def check_signed_range(
    pdf: bytes, byte_range: object, contents: bytes | None
) -> tuple[Problem, ...]:
    """Check one signature's range and everything appended after it.

    The signature's own range (ISO 32000-1 §12.8.1): ``/ByteRange`` is
    ``[0 a b c]`` with integers, ``a < b`` and ``b + c`` within the file; the
    gap ``[a, b)`` is exactly the ``/Contents`` hex string ``<...>`` and holds
    ``contents``; the range ends right after ``%%EOF`` (and an optional EOL)
    of a revision.

    What follows it (§7.5.6): a chain of incremental updates to the end of
    the file, each a body of objects all listed in its own cross-reference
    table or stream (no entry pointing outside the update, no freed objects),
    a trailer whose ``/Prev`` is the previous section's ``startxref``,
    ``startxref`` pointing at its own cross-reference, and ``%%EOF``.

    :param pdf: the whole file.
    :param byte_range: the ``/ByteRange`` value as the verifier read it.
    :param contents: the ``/Contents`` bytes the verifier took as the
        signature, or ``None`` to skip that comparison.
    :return: the problems, the first one found in each part; empty if none.
    """
    checked = _byte_range(byte_range, len(pdf))
    if checked is None:
        return (
            Problem(
                ProblemKind.BYTE_RANGE,
                "Диапазон подписи /ByteRange задан неверно: нужен [0 a b c] из целых "
                "чисел, a < b, в пределах файла",
            ),
        )
    a, b, c = checked
    problems = []
    gap = _GAP.match(pdf, a, b)
    digits = gap.group(1).translate(None, _WS) if gap else b""
    if gap is None or (
        contents is not None
        and binascii.unhexlify(digits + b"0" * (len(digits) % 2)) != contents
    ):
        # Signature wrapping: the excluded bytes must be the signature value
        # and nothing else, or they can carry objects a reader will use.
        problems.append(
            Problem(
                ProblemKind.GAP,
                "Неподписанный промежуток файла содержит не только значение подписи "
                "/Contents",
                a,
            )
        )
    end = b + c
    prev = _revision_end(pdf, end)
    if prev is None:
        problems.append(
            Problem(
                ProblemKind.RANGE_END,
                "Подписанная часть файла не заканчивается концом редакции (%%EOF)",
                end,
            )
        )
        return tuple(problems)
    try:
        for _ in _sections_after(pdf, end, prev):
            pass
    except _Broken as exc:
        problems.append(Problem(exc.kind, _after_signing_message(exc), exc.offset))
    return tuple(problems)


def _after_signing_message(exc: _Broken) -> str:
    if exc.kind is ProblemKind.TRAILING_DATA:
        return (
            "После подписания в конец файла дописаны данные, которые не являются "
            "добавочным обновлением документа"
        )
    if exc.kind is ProblemKind.PREV_CHAIN:
        return (
            "После подписания добавлено обновление, не связанное с подписанной "
            f"редакцией ({exc.message}): программа просмотра покажет другой документ"
        )
    return f"После подписания к файлу добавлено неверное обновление: {exc.message}"


def find_signed_ranges(pdf: bytes) -> tuple[tuple[int, int, int, int], ...]:
    """The byte ranges of the signatures written in the file, shown or not.

    A plain scan for ``/ByteRange [0 a b c]`` whose gap starts with ``<`` and
    ends with ``>`` within the file: what a signature of *this* file looks like
    (its dictionary is never compressed, since ``/Contents`` is patched in
    place). A range found here that a reader does not show belongs to a
    signature that a later section hid or removed.

    :param pdf: the whole file.
    :return: ``(0, a, b, c)`` tuples in file order, without duplicates.
    """
    found: dict[tuple[int, int, int, int], None] = {}
    for match in _BYTE_RANGE.finditer(pdf):
        a, b, c = (int(g) for g in match.groups())
        if (
            0 < a < b <= b + c <= len(pdf)
            and pdf[a : a + 1] == b"<"
            and pdf[b - 1 : b] == b">"
        ):
            found[(0, a, b, c)] = None
    return tuple(found)
