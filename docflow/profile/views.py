"""«Подписка на оповещения»: per event kind, e-mail and SMS on or off; SMS only
to a phone number confirmed with a code."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from docflow.context import db_session, request_info
from docflow.db import transaction
from docflow.errors import ValidationError
from docflow.extensions import limiter
from docflow.profile import services as svc
from docflow.profile.forms import PhoneCodeForm, PhoneForm, SubscriptionsForm

bp = Blueprint("profile", __name__, template_folder="templates", url_prefix="/profile")


def _user() -> Any:
    return current_user._get_current_object()


def _render(
    *,
    phone_form: PhoneForm | None = None,
    code_form: PhoneCodeForm | None = None,
    status: int = 200,
) -> Any:
    s = db_session()
    return render_template(
        "profile/subscriptions.html",
        form=SubscriptionsForm(),
        rows=svc.subscriptions(s, user=current_user),
        mandatory=svc.mandatory_kinds(),
        phone_form=phone_form or PhoneForm(formdata=None, phone=current_user.phone),
        code_form=code_form or PhoneCodeForm(formdata=None),
        code_sent=svc.has_live_code(s, user=current_user),
    ), status


@bp.get("/subscriptions")
@login_required
def subscriptions() -> Any:
    return _render()


@bp.post("/subscriptions")
@login_required
def save_subscriptions() -> Any:
    if not SubscriptionsForm().validate_on_submit():
        return _render(status=400)
    email = {k.split(":", 1)[1] for k in request.form if k.startswith("email:")}
    sms = {k.split(":", 1)[1] for k in request.form if k.startswith("sms:")}
    s = db_session()
    with transaction(s):
        svc.save_subscriptions(
            s, user=_user(), email=email, sms=sms, request_info=request_info()
        )
    flash("Подписка на оповещения сохранена.", "success")
    if sms and not current_user.phone_confirmed:
        flash("SMS не включены: сначала подтвердите номер телефона.", "warning")
    return redirect(url_for("profile.subscriptions"))


@bp.post("/phone")
@login_required
@limiter.limit("5 per hour", key_func=lambda: f"phone-code:{current_user.get_id()}")
def send_code() -> Any:
    form = PhoneForm()
    if not form.validate_on_submit():
        return _render(phone_form=form, status=422)
    s = db_session()
    try:
        with transaction(s):
            user = _user()
            svc.set_phone(s, user=user, phone=form.phone.data or "")
            svc.send_phone_code(s, user=user)
    except ValidationError as exc:
        if exc.code == "phone_confirmed":
            flash(exc.message, "info")
            return redirect(url_for("profile.subscriptions"))
        form.phone.errors = [exc.message]
        return _render(phone_form=form, status=422)
    flash("Код подтверждения отправлен по SMS. Он действует 10 минут.", "info")
    return redirect(url_for("profile.subscriptions") + "#sms-phone")


@bp.post("/phone/confirm")
@login_required
@limiter.limit("30 per hour", key_func=lambda: f"phone-confirm:{current_user.get_id()}")
def confirm_code() -> Any:
    form = PhoneCodeForm()
    if not form.validate_on_submit():
        return _render(code_form=form, status=422)
    s = db_session()
    error = None
    # The attempt is counted even when the code is wrong: commit either way.
    with transaction(s):
        try:
            svc.confirm_phone(
                s, user=_user(), code=form.code.data or "", request_info=request_info()
            )
        except ValidationError as exc:
            error = exc
    if error is not None:
        form.code.errors = [error.message]
        return _render(code_form=form, status=422)
    flash(
        "Номер телефона подтверждён: теперь можно включить SMS-оповещения.", "success"
    )
    return redirect(url_for("profile.subscriptions"))
