"""A survey's results as an Excel workbook: «Ответы» (one row per responding
organisation, one column per question) and «Сводка» (per question, each
option or scale value with its count and share; the average of a scale).

Text is written as text even when it starts with «=» (a customer's answer
must never become a formula in the clerk's Excel), and a character a worksheet
cannot carry is written as U+FFFD, as the documents' export does.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from docflow.spreadsheets import xml_safe
from docflow.surveys.models import QuestionKind
from docflow.surveys.services import Results, answer_text, response_answers

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def results_xlsx(res: Results) -> bytes:
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DCE6F1")
    wrap = Alignment(vertical="top", wrap_text=True)

    def cell(
        ws: Any, value: Any, *, header: bool = False, fmt: str | None = None
    ) -> Any:
        if isinstance(value, str):
            value = xml_safe(value)
        c = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            c.data_type = "s"  # never a formula
        if header:
            c.font, c.fill, c.alignment = bold, fill, wrap
        else:
            c.alignment = wrap
        if fmt:
            c.number_format = fmt
        return c

    survey = res.survey
    questions = survey.questions

    raw = wb.create_sheet("Ответы")
    widths = [34, 14, 30, 18] + [40] * len(questions)
    for i, w in enumerate(widths, start=1):
        raw.column_dimensions[get_column_letter(i)].width = w
    raw.freeze_panes = "E2"
    raw.append(
        [
            cell(raw, v, header=True)
            for v in (
                "Организация",
                "ИНН",
                "Ответил",
                "Дата ответа",
                *(f"{q.position}. {q.text}" for q in questions),
            )
        ]
    )
    for r in res.responses:
        org = res.organisations.get(r.organisation_id)
        user = res.users.get(r.user_id) if r.user_id else None
        answers = response_answers(r)
        at = r.created_at.replace(tzinfo=None) if r.created_at else None
        raw.append(
            [
                cell(raw, org.name if org else ""),
                cell(raw, org.inn if org else ""),
                cell(raw, f"{user.full_name} <{user.email}>" if user else ""),
                cell(raw, at, fmt="DD.MM.YYYY HH:MM"),
                *(
                    cell(raw, _raw_value(q.kind, answer_text(q, answers.get(q.id))))
                    for q in questions
                ),
            ]
        )

    summary = wb.create_sheet("Сводка")
    for i, w in enumerate((60, 40, 12, 12), start=1):
        summary.column_dimensions[get_column_letter(i)].width = w
    summary.append([cell(summary, f"Анкета «{survey.title}»", header=True)])
    summary.append(
        [
            cell(summary, "Ответили организаций"),
            cell(summary, f"{res.respondents} из {res.targeted}"),
        ]
    )
    summary.append([])
    summary.append(
        [
            cell(summary, v, header=True)
            for v in ("Вопрос", "Вариант ответа", "Ответов", "Доля, %")
        ]
    )
    for qr in res.questions:
        q = qr.question
        head = f"{q.position}. {q.text}"
        if q.kind == QuestionKind.TEXT:
            summary.append(
                [
                    cell(summary, head),
                    cell(summary, "Свободный ответ"),
                    cell(summary, qr.answered),
                    cell(summary, None),
                ]
            )
            continue
        for bar in qr.bars:
            summary.append(
                [
                    cell(summary, head),
                    cell(summary, bar.label),
                    cell(summary, bar.count),
                    cell(summary, bar.percent, fmt="0.0"),
                ]
            )
        if q.kind == QuestionKind.SCALE:
            summary.append(
                [
                    cell(summary, head),
                    cell(summary, "Средняя оценка"),
                    cell(summary, qr.average, fmt="0.00"),
                    cell(summary, None),
                ]
            )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _raw_value(kind: QuestionKind, text: str) -> Any:
    if kind == QuestionKind.SCALE and text.isdigit():
        return int(text)
    return text
