"""«Ключи API»: a contract administrator makes and revokes the keys of their
organisation, an administrator those of the supplier. A new key is shown once,
in the answer to the form that made it, and never again."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from docflow.access import is_supplier_organisation
from docflow.access.web import login_required
from docflow.api.services import (
    SCOPE_NAMES,
    SCOPE_TITLES,
    create_api_key,
    list_api_keys,
    manageable_organisations,
    revoke_api_key,
)
from docflow.context import db_session, request_info
from docflow.db import transaction
from docflow.errors import DocflowError

bp = Blueprint(
    "api_keys", __name__, url_prefix="/api-keys", template_folder="templates"
)


class KeyForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no annotations
    organisation = SelectField("Организация", validators=[DataRequired()])
    name = StringField(
        "Название (для кого ключ)",
        validators=[DataRequired("Укажите название."), Length(max=200)],
    )
    scopes = SelectMultipleField(
        "Области доступа",
        choices=list(SCOPE_TITLES.items()),
        default=["read"],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )


class RevokeForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no annotations
    pass


def _form(orgs: list[Any]) -> KeyForm:
    form = KeyForm()
    form.organisation.choices = [
        (
            str(o.id),
            f"{o.name} (ИНН {o.inn})"
            + (" — поставщик" if is_supplier_organisation(o) else ""),
        )
        for o in orgs
    ]
    return form


def _page(
    form: KeyForm, orgs: list[Any], new_key: str | None = None, status: int = 200
) -> Any:
    keys = list_api_keys(db_session(), user=current_user)
    return (
        render_template(
            "api/keys.html",
            form=form,
            orgs=orgs,
            keys=keys,
            new_key=new_key,
            revoke_form=RevokeForm(),
            scope_names=SCOPE_NAMES,
        ),
        status,
    )


@bp.get("/")
@login_required
def index() -> Any:
    orgs = manageable_organisations(db_session(), current_user)
    return _page(_form(orgs), orgs)


@bp.post("/")
@login_required
def create() -> Any:
    s = db_session()
    orgs = manageable_organisations(s, current_user)
    form = _form(orgs)
    if not form.validate_on_submit():
        return _page(form, orgs, status=422)
    organisation = next(o for o in orgs if str(o.id) == form.organisation.data)
    try:
        with transaction(s):
            made = create_api_key(
                s,
                user=current_user._get_current_object(),
                organisation=organisation,
                name=form.name.data or "",
                scopes=list(form.scopes.data or []),
                request_info=request_info(),
            )
    except DocflowError as exc:
        form.scopes.errors = [exc.message]
        return _page(form, orgs, status=exc.status)
    g.no_store = True  # the page holds the key: no cache may keep it
    flash("Ключ создан. Скопируйте его сейчас: больше он показан не будет.", "success")
    return _page(_form(orgs), orgs, new_key=made.secret, status=201)


@bp.post("/<uuid:key_id>/revoke")
@login_required
def revoke(key_id: uuid.UUID) -> Any:
    if not RevokeForm().validate_on_submit():
        flash("Не удалось отозвать ключ: обновите страницу и повторите.", "error")
        return redirect(url_for(".index"))
    s = db_session()
    with transaction(s):
        key = revoke_api_key(
            s,
            user=current_user._get_current_object(),
            key_id=key_id,
            request_info=request_info(),
        )
    flash(
        f"Ключ {key.display} отозван: запросы с ним больше не принимаются.", "success"
    )
    return redirect(url_for(".index"))
