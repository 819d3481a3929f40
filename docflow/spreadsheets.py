"""Tables users upload and download: the first sheet of an .xlsx, or a CSV.

Both the contracts' load and the readings' load read their files here, and name
a problem by its row (as Excel numbers them: the header is row 1) and column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from docflow.errors import ValidationError

Progress = Callable[[int, int], None]
MAX_PROBLEMS = 200  # enough to fix a file; a thousand lines of the same help nobody


@dataclass(frozen=True)
class ImportProblem:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
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


# -- reading a table ---------------------------------------------------------------


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, list[Any]]] = field(
        default_factory=list
    )  # (row number, cells)


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


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise ImportFailed(
            [
                ImportProblem(
                    0,
                    "",
                    "файл не удалось прочитать как Excel "
                    f"(.xlsx): {type(exc).__name__}",
                )
            ]
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        table = _table(enumerate((list(r) for r in rows), start=1))
    finally:
        workbook.close()
    return table


def _read_csv(data: bytes) -> Table:
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
        return _table(enumerate(reader, start=1))
    except csv.Error as exc:
        raise ImportFailed(
            [ImportProblem(0, "", f"ошибка формата CSV: {exc}")]
        ) from None


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


# -- writing a template ---------------------------------------------------------------


def template_xlsx(columns: Sequence[Column], example: Sequence[Sequence[Any]]) -> bytes:
    """An .xlsx with the expected header and example rows, for the admin page."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

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
