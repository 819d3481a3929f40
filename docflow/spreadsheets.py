"""Tables users upload and download: the first sheet of an .xlsx, or a CSV.

Both the contracts' load and the readings' load read their files here, and name
a problem by its row (as Excel numbers them: the header is row 1) and column.

An uploaded workbook is a ZIP archive: before a byte of it is inflated, its
central directory is checked against the limits below (a «zip bomb» of 180 KB
inflating to 49 MB of sheet XML cost a worker 17 s and 265 MB); then at most
:data:`MAX_ROWS` rows of at most :data:`MAX_COLUMNS` columns are read.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from docflow.errors import ValidationError

Progress = Callable[[int, int], None]
MAX_PROBLEMS = 200  # enough to fix a file; a thousand lines of the same help nobody

# Limits on an uploaded .xlsx, checked on the declared sizes of its central
# directory. They bound the work: zipfile stops inflating a member at its declared
# size (and fails its CRC check), so a member cannot inflate past what it declares.
MAX_XLSX_UNCOMPRESSED = 20 * 1024 * 1024  # all members together
MAX_XLSX_RATIO = 100  # per member; a real sheet deflates 5 to 20 times
RATIO_GRACE_BYTES = 1024 * 1024  # a member this small may deflate as it likes
MAX_XLSX_MEMBERS = 1000  # a workbook has a dozen; a thousand is not a table
# Limits on the table itself, for .xlsx and CSV alike.
MAX_ROWS = 10_000  # rows under the header
MAX_COLUMNS = 100
# The openings of archives: a workbook that carries one is refused.
_ARCHIVE_MAGIC = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"PK\x07\x08",
    b"\x1f\x8b",
    b"7z\xbc\xaf",
)


@dataclass(frozen=True)
class ImportProblem:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        if not self.row:  # the file as a whole
            return self.message[:1].upper() + self.message[1:]
        where = f"строка {self.row}" + (
            f", столбец «{self.column}»" if self.column else ""
        )
        return f"{where}: {self.message}"


class ImportFailed(ValidationError):  # noqa: N818 - a ValidationError, named for the UI
    """The file was refused; ``problems`` say where and why."""

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        self.problems = list(problems)[:MAX_PROBLEMS]
        count = len(problems)
        super().__init__(
            f"Файл не загружен: найдено ошибок — {count}. Исправьте их и загрузите файл "
            "снова; из этого файла ничего не сохранено.",
            code="import_failed",
            details={"problems": [p.__dict__ for p in self.problems], "count": count},
        )


@dataclass(frozen=True)
class Column:
    key: str
    title: str  # as the template file names it
    aliases: tuple[str, ...] = ()
    required: bool = False


class WorkbookRefused(ValueError):  # noqa: N818 - a refusal, not a failure
    """The upload is refused before (or while) it is read; ``message`` says why,
    in Russian, as a sentence the form shows."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _megabytes(size: int) -> str:
    return f"{size // (1024 * 1024)} МБ"


def check_xlsx_archive(data: bytes) -> None:
    """Refuse a workbook whose archive could cost more than a table should:
    over :data:`MAX_XLSX_UNCOMPRESSED` inflated, a member deflated more than
    :data:`MAX_XLSX_RATIO` times, over :data:`MAX_XLSX_MEMBERS` members, an
    archive inside, encryption or a compression other than deflate.

    Only the central directory and the first bytes of each member are read.

    :raises WorkbookRefused: one of the limits is passed.
    :raises zipfile.BadZipFile: not a readable ZIP archive at all.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise zipfile.BadZipFile(str(exc)) from None
    with archive:
        if len(members) > MAX_XLSX_MEMBERS:
            raise WorkbookRefused(
                f"В файле Excel больше {MAX_XLSX_MEMBERS} частей: это не похоже на "
                "таблицу, файл не читается."
            )
        total = sum(m.file_size for m in members)
        if total > MAX_XLSX_UNCOMPRESSED:
            raise WorkbookRefused(
                f"Файл Excel после распаковки занимает больше "
                f"{_megabytes(MAX_XLSX_UNCOMPRESSED)} (объявлено "
                f"{_megabytes(total)}): разделите таблицу на несколько файлов."
            )
        for member in members:
            _check_member(archive, member)


def _check_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    if member.flag_bits & 0x1:
        raise WorkbookRefused(
            "Файл Excel зашифрован: снимите пароль и загрузите файл снова."
        )
    if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise WorkbookRefused(
            "Файл Excel сжат неподдерживаемым способом: откройте его в Excel и "
            "сохраните заново как книгу Excel (.xlsx)."
        )
    if member.file_size > RATIO_GRACE_BYTES:
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > MAX_XLSX_RATIO:
            raise WorkbookRefused(
                f"Часть «{member.filename[:100]}» файла Excel сжата в {ratio:.0f} раз "
                f"(допустимо до {MAX_XLSX_RATIO}): так сжимаются не таблицы, а "
                "«ZIP-бомбы», файл не читается."
            )
    if member.is_dir() or not member.file_size:
        return
    try:
        with archive.open(member) as stream:
            head = stream.read(4)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as exc:
        raise zipfile.BadZipFile(str(exc)) from None
    if head.startswith(_ARCHIVE_MAGIC):
        raise WorkbookRefused(
            f"Внутри файла Excel есть вложенный архив («{member.filename[:100]}»): "
            "такие файлы не принимаются. Скопируйте таблицу в новую книгу."
        )


def _too_many_rows(limit: int) -> WorkbookRefused:
    return WorkbookRefused(
        f"В файле больше {limit:,} строк".replace(",", " ")
        + ": разделите его на части поменьше и загрузите их по очереди."
    )


def _too_many_columns(limit: int) -> WorkbookRefused:
    return WorkbookRefused(
        f"В файле больше {limit} столбцов: оставьте только нужные столбцы."
    )


def sheet_rows(
    sheet: Any, *, first_rows: int = 1, max_rows: int = MAX_ROWS
) -> list[tuple[int, list[Any]]]:
    """The numbered rows of a read-only worksheet that have content, each at
    most :data:`MAX_COLUMNS` cells wide (trailing empty cells dropped).

    The table may have ``first_rows`` rows (the header, a form's heading) and
    ``max_rows`` more; a row over that refuses the file rather than being cut
    off. Whatever the sheet claims, no row past twice that many is read: blank
    rows cost nothing, and neither does a row numbered a billion.

    :raises WorkbookRefused: too many rows or columns.
    """
    limit = first_rows + max_rows
    rows: list[tuple[int, list[Any]]] = []
    values = sheet.iter_rows(
        values_only=True, max_row=2 * limit, max_col=MAX_COLUMNS + 1
    )
    for number, row in enumerate(values, start=1):
        cells = list(row)
        while cells and _blank(cells[-1]):
            cells.pop()
        if not cells:
            continue
        if len(cells) > MAX_COLUMNS:
            raise _too_many_columns(MAX_COLUMNS)
        rows.append((number, cells))
        if len(rows) > limit:
            raise _too_many_rows(max_rows)
    return rows


# -- reading a table ---------------------------------------------------------------


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, list[Any]]] = field(
        default_factory=list
    )  # (row number, cells)


def read_form_sheet(
    data: bytes,
    *,
    sheet: str,
    header_row: int,
    max_rows: int,
    max_bytes: int,
    too_big: str,
    hint: str,
) -> list[tuple[int, list[Any]]]:
    """The numbered rows of one sheet of a form the cabinet wrote and a user
    filled in (a ППП template, a control-measurement form).

    :param too_big: the refusal of a file over ``max_bytes``.
    :param hint: what to upload instead, ending the refusals («загрузите
        шаблон, скачанный по кнопке …»).
    :raises WorkbookRefused: too big, not an .xlsx, damaged, inflating, no
        such sheet, too many rows; each in a Russian sentence.
    """
    if len(data) > max_bytes:
        raise WorkbookRefused(too_big)
    if not data.startswith(b"PK"):
        raise WorkbookRefused(f"Файл не является книгой Excel (.xlsx): {hint}.")
    broken = WorkbookRefused("Файл повреждён или не является книгой Excel (.xlsx).")
    try:
        check_xlsx_archive(data)
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except WorkbookRefused:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, IndexError):
        raise broken from None
    try:
        if sheet not in wb.sheetnames:
            raise WorkbookRefused(f"В файле нет листа «{sheet}»: {hint}.")
        return sheet_rows(wb[sheet], first_rows=header_row, max_rows=max_rows)
    except WorkbookRefused:
        raise
    except Exception:  # noqa: BLE001 - a malformed sheet fails in many ways
        raise broken from None
    finally:
        wb.close()


def read_table(filename: str, data: bytes) -> Table:
    """The first sheet of an .xlsx, or a CSV (UTF-8 or Windows-1251; «;», «,» or tab).

    :raises ImportFailed: the file is not a readable table.
    """
    name = filename.lower()
    if name.endswith(".xls"):
        raise ImportFailed(
            [
                ImportProblem(
                    0,
                    "",
                    "формат .xls (Excel 97–2003) не "
                    "поддерживается: сохраните файл как .xlsx или CSV",
                )
            ]
        )
    if data.startswith(b"PK") or name.endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data)
    if name.endswith((".csv", ".txt")) or not name:
        return _read_csv(data)
    raise ImportFailed([ImportProblem(0, "", "загрузите файл Excel (.xlsx) или CSV")])


def _unreadable(exc: Exception) -> ImportFailed:
    return ImportFailed(
        [
            ImportProblem(
                0,
                "",
                f"файл не удалось прочитать как Excel (.xlsx): {type(exc).__name__}",
            )
        ]
    )


def _read_xlsx(data: bytes) -> Table:
    try:
        check_xlsx_archive(data)
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except WorkbookRefused as exc:
        raise ImportFailed([ImportProblem(0, "", exc.message)]) from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise _unreadable(exc) from None
    try:
        rows = sheet_rows(workbook.worksheets[0])
    except WorkbookRefused as exc:
        raise ImportFailed([ImportProblem(0, "", exc.message)]) from None
    except Exception as exc:  # noqa: BLE001 - a malformed sheet fails in many ways
        raise _unreadable(exc) from None
    finally:
        workbook.close()
    return _table(iter(rows))


def _read_csv(data: bytes) -> Table:
    if len(data) > MAX_XLSX_UNCOMPRESSED:  # the same text a workbook may inflate to
        raise ImportFailed(
            [
                ImportProblem(
                    0,
                    "",
                    f"файл CSV больше {_megabytes(MAX_XLSX_UNCOMPRESSED)}: разделите "
                    "таблицу на несколько файлов",
                )
            ]
        )
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # cp1251 decodes every byte but 0x98
        raise ImportFailed([ImportProblem(0, "", "неизвестная кодировка файла")])
    if "\x00" in text:
        raise ImportFailed([ImportProblem(0, "", "это не текстовый файл CSV")])
    first = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first.count) if first else ";"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _table(_csv_rows(reader))
    except csv.Error as exc:
        raise ImportFailed(
            [ImportProblem(0, "", f"ошибка формата CSV: {exc}")]
        ) from None
    except WorkbookRefused as exc:
        raise ImportFailed([ImportProblem(0, "", exc.message)]) from None


def _csv_rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[Any]]]:
    """The CSV's rows under the same limits as a sheet's (:func:`sheet_rows`)."""
    taken = 0
    for number, cells in enumerate(reader, start=1):
        if all(_blank(c) for c in cells):
            continue
        if any(not _blank(c) for c in cells[MAX_COLUMNS:]):
            raise _too_many_columns(MAX_COLUMNS)
        taken += 1
        if taken > 1 + MAX_ROWS:  # the header and MAX_ROWS rows
            raise _too_many_rows(MAX_ROWS)
        yield number, cells[:MAX_COLUMNS]


def _table(numbered: Iterator[tuple[int, list[Any]]]) -> Table:
    table: Table | None = None
    for number, cells in numbered:
        if all(_blank(c) for c in cells):
            continue
        if table is None:
            table = Table(header=[cell_text(c) for c in cells])
            continue
        table.rows.append((number, cells))
    if table is None:
        raise ImportFailed([ImportProblem(0, "", "файл пуст")])
    return table


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value).strip()


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# -- writing a table ------------------------------------------------------------------

# What XML 1.0, and so a worksheet, cannot carry (https://www.w3.org/TR/xml/#charsets):
# C0 controls but TAB, LF and CR; lone surrogates; U+FFFE and U+FFFF. openpyxl
# refuses a cell with any of them (IllegalCharacterError), its whole file with it.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` with each character a worksheet cannot carry replaced by U+FFFD:
    text stored before the edge refused such characters is still exported."""
    return _NOT_XML.sub("\ufffd", text)


# -- writing a template ---------------------------------------------------------------


def template_xlsx(columns: Sequence[Column], example: Sequence[Sequence[Any]]) -> bytes:
    """An .xlsx with the expected header and example rows, for the admin page."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([c.title for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in example:
        ws.append(list(row))
    for i, column in enumerate(columns):
        ws.column_dimensions[column_letter(i)].width = max(14, len(column.title) + 4)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
