from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from docflow.appeals.services import MAX_ANSWER, MAX_TEXT, MAX_TOPIC_HOURS
from docflow.documents.forms import no_control_characters

REQUIRED = "Заполните это поле."


class AppealForm(FlaskForm):
    # The contract and topic lists are checked by the service: a contract of
    # another organisation is «не найден» (404), not a form error.
    topic_id = SelectField(
        "Тематика обращения",
        validate_choice=False,
        validators=[DataRequired("Выберите тематику.")],
    )
    contract_id = SelectField(
        "Договор", validate_choice=False, validators=[DataRequired("Выберите договор.")]
    )
    contact_name = StringField(
        "Контактное лицо",
        validators=[DataRequired(REQUIRED), Length(max=300), no_control_characters],
    )
    contact_phone = StringField(
        "Телефон",
        validators=[DataRequired(REQUIRED), Length(max=30), no_control_characters],
    )
    text = TextAreaField(
        "Текст обращения",
        validators=[
            DataRequired(REQUIRED),
            Length(min=10, max=MAX_TEXT),
            no_control_characters,
        ],
    )
    attachments = MultipleFileField("Прикрепить файлы")
    submission_key = HiddenField()


class AnswerForm(FlaskForm):
    text = TextAreaField(
        "Текст ответа",
        validators=[
            DataRequired(REQUIRED),
            Length(min=10, max=MAX_ANSWER),
            no_control_characters,
        ],
    )
    files = MultipleFileField("Файлы ответа")


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        "Причина (необязательно)",
        validators=[Optional(), Length(max=2000), no_control_characters],
    )


class TopicForm(FlaskForm):
    title = StringField(
        "Название",
        validators=[
            DataRequired(REQUIRED),
            Length(min=3, max=200),
            no_control_characters,
        ],
    )
    description = TextAreaField(
        "Описание", validators=[Optional(), Length(max=2000), no_control_characters]
    )
    is_significant = BooleanField(
        "Юридически значимое: обращение подписывается электронной подписью клиента"
    )
    answer_hours = IntegerField(
        "Срок ответа, часов",
        default=72,
        validators=[
            DataRequired("Укажите срок ответа в часах."),
            NumberRange(1, MAX_TOPIC_HOURS, f"От 1 до {MAX_TOPIC_HOURS} часов."),
        ],
    )
    position = IntegerField(
        "Порядок в списке", default=0, validators=[Optional(), NumberRange(0, 1000)]
    )
    is_active = BooleanField("Доступна для новых обращений", default=True)
