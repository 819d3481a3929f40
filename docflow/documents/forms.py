from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import DateField, Field, SelectField, StringField, TextAreaField
from wtforms import ValidationError as FieldError
from wtforms.validators import DataRequired, Length, Optional

from docflow.documents.models import DOC_TYPE_TITLES
from docflow.inputs import CONTROL_CHARACTERS, control_character_message

REQUIRED = "Заполните это поле."


def no_control_characters(_form: FlaskForm, field: Field) -> None:
    """Refuse C0 control characters but TAB, CR and LF: invisible in the form,
    they break the Excel export, the printed form and every log line (the API's
    ``meta`` is checked the same way, in :mod:`docflow.inputs`)."""
    found = CONTROL_CHARACTERS.search(field.data or "")
    if found:
        raise FieldError(
            control_character_message(str(field.label.text), found.group())
        )


ROUTES = [
    ("customer,supplier", "Клиент, затем поставщик"),
    ("supplier,customer", "Поставщик, затем клиент"),
    ("customer", "Только клиент"),
    ("supplier", "Только поставщик"),
]


class DocumentForm(FlaskForm):
    contract_id = SelectField("Договор", validators=[DataRequired(REQUIRED)])
    doc_type = SelectField(
        "Тип документа", choices=[(k.value, v) for k, v in DOC_TYPE_TITLES.items()]
    )
    number = StringField(
        "Номер",
        validators=[DataRequired(REQUIRED), Length(max=100), no_control_characters],
    )
    doc_date = DateField(
        "Дата документа",
        default=dt.date.today,
        validators=[DataRequired("Укажите дату.")],
    )
    title = StringField(
        "Название",
        validators=[DataRequired(REQUIRED), Length(max=500), no_control_characters],
    )
    comment = TextAreaField(
        "Комментарий",
        validators=[Optional(), Length(max=4000), no_control_characters],
    )
    route = SelectField(
        "Маршрут подписания", choices=ROUTES, default="customer,supplier"
    )
    main_file = FileField(
        "Основной файл", validators=[FileRequired("Выберите файл документа.")]
    )
    attachments = MultipleFileField("Приложения")


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        "Причина",
        validators=[DataRequired("Укажите причину."), Length(min=3, max=2000)],
    )
