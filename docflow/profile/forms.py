"""Profile forms (Flask-WTF: CSRF on every one)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

REQUIRED = "Заполните это поле."


class SubscriptionsForm(FlaskForm):
    """The switches are plain checkboxes named ``email:<kind>`` / ``sms:<kind>``
    (one per event kind); the form carries the CSRF token."""


class PhoneForm(FlaskForm):
    phone = StringField(
        "Номер мобильного телефона", validators=[DataRequired(REQUIRED), Length(max=30)]
    )


class PhoneCodeForm(FlaskForm):
    code = StringField(
        "Код из SMS", validators=[DataRequired(REQUIRED), Length(max=12)]
    )
