"""Contract forms (Flask-WTF: CSRF on every one)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    StringField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    Length,
    NumberRange,
    Optional,
)

REQUIRED = "Заполните это поле."
EMAIL = "Укажите корректный адрес электронной почты."


class BindForm(FlaskForm):
    email = StringField(
        "Электронная почта организации",
        validators=[DataRequired(REQUIRED), Email(EMAIL), Length(max=254)],
    )
    inn = StringField(
        "ИНН организации", validators=[DataRequired(REQUIRED), Length(max=20)]
    )
    number = StringField(
        "Номер договора", validators=[DataRequired(REQUIRED), Length(max=60)]
    )
    # The manual's check box: after a binding the form stays, with the e-mail
    # and the ИНН kept, for the next number of the same organisation.
    more = BooleanField("Привязать ещё один договор")


class RightsForm(FlaskForm):
    can_submit_readings = BooleanField("Передача показаний")
    can_sign = BooleanField("Подписание документов")
    can_manage = BooleanField("Управление доступом")

    def rights(self) -> dict[str, bool]:
        return {
            "can_view": True,
            "can_submit_readings": bool(self.can_submit_readings.data),
            "can_sign": bool(self.can_sign.data),
            "can_manage": bool(self.can_manage.data),
        }


class InviteForm(RightsForm):
    email = StringField(
        "Электронная почта пользователя",
        validators=[DataRequired(REQUIRED), Email(EMAIL), Length(max=254)],
    )


class ConfirmForm(FlaskForm):
    """A button that changes something: the form carries only the CSRF token."""


class InvitationRegisterForm(FlaskForm):
    last_name = StringField(
        "Фамилия", validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    first_name = StringField(
        "Имя", validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    middle_name = StringField("Отчество", validators=[Optional(), Length(max=100)])
    password = PasswordField("Пароль", validators=[DataRequired(REQUIRED)])
    password2 = PasswordField(
        "Повтор пароля",
        validators=[
            DataRequired(REQUIRED),
            EqualTo("password", "Пароли не совпадают."),
        ],
    )


class ContactsForm(FlaskForm):
    head_name = StringField(
        "Руководитель (ФИО)", validators=[Optional(), Length(max=200)]
    )
    branch_address = StringField(
        "Адрес филиала", validators=[Optional(), Length(max=500)]
    )
    phone = StringField("Телефон", validators=[Optional(), Length(max=50)])
    fax = StringField("Факс", validators=[Optional(), Length(max=50)])
    curator_name = StringField(
        "Куратор договора (ФИО)", validators=[Optional(), Length(max=200)]
    )
    curator_phone = StringField(
        "Телефон куратора", validators=[Optional(), Length(max=50)]
    )


class RestrictionForm(FlaskForm):
    date_from = DateField("Дата начала", validators=[DataRequired("Укажите дату.")])
    date_to = DateField("Дата окончания", validators=[DataRequired("Укажите дату.")])
    time_from = TimeField("С", validators=[Optional()])
    time_to = TimeField("По", validators=[Optional()])
    limit_kw = IntegerField(
        "Допустимая мощность, кВт",
        validators=[Optional(), NumberRange(min=0, max=10_000_000)],
    )
    reason = StringField(
        "Основание", validators=[DataRequired(REQUIRED), Length(max=500)]
    )


class ImportForm(FlaskForm):
    file = FileField(
        "Файл Excel (.xlsx) или CSV", validators=[FileRequired("Выберите файл.")]
    )
