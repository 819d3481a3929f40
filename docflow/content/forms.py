"""Forms of the supplier's texts (Flask-WTF: CSRF on every one)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

REQUIRED = "Заполните это поле."
MARKUP_HINT = (
    "Пустая строка начинает новый абзац; строки, начинающиеся с «- », — список; "
    "**так** — полужирный; адреса https://… становятся ссылками. HTML не "
    "поддерживается."
)


class NewsForm(FlaskForm):
    title = StringField(
        "Заголовок", validators=[DataRequired(REQUIRED), Length(max=300)]
    )
    published_on = DateField("Дата публикации", validators=[Optional()])
    body = TextAreaField(
        "Текст", validators=[DataRequired(REQUIRED), Length(max=20000)]
    )
    is_published = BooleanField("Опубликовано", default=True)


class FaqForm(FlaskForm):
    question = StringField(
        "Вопрос", validators=[DataRequired(REQUIRED), Length(max=500)]
    )
    answer = TextAreaField(
        "Ответ", validators=[DataRequired(REQUIRED), Length(max=20000)]
    )
    position = IntegerField(
        "Порядок (меньше — выше)",
        validators=[Optional(), NumberRange(min=0, max=100000)],
    )
    is_published = BooleanField("Опубликовано", default=True)


class GeneralContactsForm(FlaskForm):
    organisation = StringField("Организация", validators=[Optional(), Length(max=300)])
    address = StringField("Адрес", validators=[Optional(), Length(max=500)])
    phone = StringField("Телефон", validators=[Optional(), Length(max=100)])
    email = StringField("Электронная почта", validators=[Optional(), Length(max=254)])
    hours = StringField("Часы работы", validators=[Optional(), Length(max=300)])
    note = TextAreaField("Дополнительно", validators=[Optional(), Length(max=2000)])


class DeleteForm(FlaskForm):
    """A delete button: only the CSRF token."""
