"""Account forms (Flask-WTF: CSRF on every one)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

REQUIRED = "Заполните это поле."


class RegistrationForm(FlaskForm):
    last_name = StringField(
        "Фамилия", validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    first_name = StringField(
        "Имя", validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    middle_name = StringField("Отчество", validators=[Optional(), Length(max=100)])
    email = StringField(
        "Электронная почта",
        validators=[
            DataRequired(REQUIRED),
            Email("Укажите корректный адрес электронной почты."),
        ],
    )
    password = PasswordField("Пароль", validators=[DataRequired(REQUIRED)])
    password2 = PasswordField(
        "Повтор пароля",
        validators=[
            DataRequired(REQUIRED),
            EqualTo("password", "Пароли не совпадают."),
        ],
    )
    # «Я не робот» is the ALTCHA widget's own ``altcha`` field, checked in the
    # view (docflow.accounts.captcha), not a form field.


class LoginForm(FlaskForm):
    email = StringField("Электронная почта", validators=[DataRequired(REQUIRED)])
    password = PasswordField("Пароль", validators=[DataRequired(REQUIRED)])
    remember = BooleanField("Запомнить меня")


class ForgotPasswordForm(FlaskForm):
    email = StringField(
        "Электронная почта",
        validators=[
            DataRequired(REQUIRED),
            Email("Укажите корректный адрес электронной почты."),
        ],
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField("Новый пароль", validators=[DataRequired(REQUIRED)])
    password2 = PasswordField(
        "Повтор нового пароля",
        validators=[
            DataRequired(REQUIRED),
            EqualTo("password", "Пароли не совпадают."),
        ],
    )


class ProfileForm(FlaskForm):
    last_name = StringField(
        "Фамилия", validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    first_name = StringField(
        "Имя", validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    middle_name = StringField("Отчество", validators=[Optional(), Length(max=100)])
    phone = StringField("Телефон", validators=[Optional(), Length(max=20)])
    email = StringField(
        "Электронная почта",
        validators=[
            DataRequired(REQUIRED),
            Email("Укажите корректный адрес электронной почты."),
        ],
    )


class ChangePasswordForm(FlaskForm):
    old_password = PasswordField("Текущий пароль", validators=[DataRequired(REQUIRED)])
    password = PasswordField("Новый пароль", validators=[DataRequired(REQUIRED)])
    password2 = PasswordField(
        "Повтор нового пароля",
        validators=[
            DataRequired(REQUIRED),
            EqualTo("password", "Пароли не совпадают."),
        ],
    )
