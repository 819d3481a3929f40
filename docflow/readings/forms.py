"""Forms of the readings pages. The readings themselves come as one field per
meter (``v-<meter id>``, ``s-<meter id>`` for a start-of-period value), read by
the view; these forms carry the CSRF token and the files."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length, Optional


class CsrfForm(FlaskForm):
    """Only the CSRF token (the values, the send and print buttons)."""


class FormUploadForm(FlaskForm):
    file = FileField(
        "Заполненная форма (.xlsx)", validators=[FileRequired("Выберите файл формы.")]
    )


class ImportForm(FlaskForm):
    kind = SelectField(
        "Что загрузить",
        choices=[
            ("meters", "Объекты и приборы учёта"),
            ("transit", "Транзитные объёмы"),
        ],
    )
    file = FileField(
        "Файл Excel (.xlsx) или CSV", validators=[FileRequired("Выберите файл.")]
    )


class DecideForm(FlaskForm):
    reason = TextAreaField(
        "Причина (если не принято)", validators=[Optional(), Length(max=2000)]
    )
