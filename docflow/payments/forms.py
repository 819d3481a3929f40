"""The payment form: the contract, the amount, a note, and the hidden
idempotency key (a double submit makes one payment)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField


class PaymentForm(FlaskForm):
    contract = SelectField("Договор", choices=[], validate_choice=False)
    amount = StringField("Сумма, ₽")
    purpose = StringField("Назначение платежа")
    idempotency_key = HiddenField()
