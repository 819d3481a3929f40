"""News, FAQ and contacts: public pages, and their editing by the supplier's
administrator (Role.ADMIN)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from docflow.access.web import current_is_admin, current_is_staff
from docflow.content import services as svc
from docflow.content.forms import (
    MARKUP_HINT,
    DeleteForm,
    FaqForm,
    GeneralContactsForm,
    NewsForm,
)
from docflow.content.markup import preview, render_text
from docflow.context import db_session, request_info, settings
from docflow.contracts.details import contacts_of
from docflow.contracts.lookup import list_user_contracts
from docflow.dashboard.widgets import register_widget
from docflow.db import transaction
from docflow.errors import ValidationError
from docflow.extensions import N_

bp = Blueprint("content", __name__, template_folder="templates")


@bp.app_template_filter("richtext")
def _richtext(value: str | None) -> Any:
    return render_text(value)


@bp.app_template_filter("preview")
def _preview(value: str | None, length: int = 320) -> Any:
    return preview(value, length)


def _admin() -> Any:
    """News and FAQ are edited by the supplier's administrators: everyone reads
    them, so anyone else gets 403 (401 without a session)."""
    if not current_user.is_authenticated:
        abort(401)
    if not current_is_admin():
        abort(403)
    return current_user._get_current_object()


def _is_admin() -> bool:
    return current_is_admin()


def _field_error(form: Any, exc: ValidationError) -> None:
    field = getattr(form, str(exc.details.get("field", "")), None)
    if field is not None:
        field.errors = [exc.message]
    else:
        flash(exc.message, "error")


# -- news ---------------------------------------------------------------------------


@bp.get("/news")
def news() -> Any:
    items = svc.list_news(db_session(), include_hidden=_is_admin())
    return render_template("content/news.html", items=items, can_edit=_is_admin())


@bp.get("/news/<uuid:news_id>")
def news_item(news_id: uuid.UUID) -> Any:
    item = svc.get_news(db_session(), news_id, include_hidden=_is_admin())
    return render_template(
        "content/news_item.html",
        item=item,
        can_edit=_is_admin(),
        delete_form=DeleteForm(),
    )


@bp.route("/news/new", methods=["GET", "POST"], defaults={"news_id": None})
@bp.route("/news/<uuid:news_id>/edit", methods=["GET", "POST"])
@login_required
def edit_news(news_id: uuid.UUID | None) -> Any:
    user = _admin()
    s = db_session()
    item = svc.get_news(s, news_id, include_hidden=True) if news_id else None
    form = NewsForm(obj=item)
    if form.validate_on_submit():
        try:
            with transaction(s):
                saved = svc.save_news(
                    s,
                    user=user,
                    news_id=news_id,
                    title=form.title.data or "",
                    body=form.body.data or "",
                    published_on=form.published_on.data,
                    is_published=bool(form.is_published.data),
                    request_info=request_info(),
                )
        except ValidationError as exc:
            _field_error(form, exc)
        else:
            flash("Новость сохранена.", "success")
            return redirect(url_for("content.news_item", news_id=saved.id))
    return render_template(
        "content/news_edit.html", form=form, item=item, hint=MARKUP_HINT
    )


@bp.post("/news/<uuid:news_id>/delete")
@login_required
def delete_news(news_id: uuid.UUID) -> Any:
    user = _admin()
    if not DeleteForm().validate_on_submit():
        abort(400)
    s = db_session()
    with transaction(s):
        svc.delete_news(s, user=user, news_id=news_id, request_info=request_info())
    flash("Новость удалена.", "info")
    return redirect(url_for("content.news"))


# -- FAQ ------------------------------------------------------------------------------


@bp.get("/faq")
def faq() -> Any:
    entries = svc.list_faq(db_session(), include_hidden=_is_admin())
    return render_template(
        "content/faq.html",
        entries=entries,
        can_edit=_is_admin(),
        delete_form=DeleteForm(),
    )


@bp.route("/faq/new", methods=["GET", "POST"], defaults={"entry_id": None})
@bp.route("/faq/<uuid:entry_id>/edit", methods=["GET", "POST"])
@login_required
def edit_faq(entry_id: uuid.UUID | None) -> Any:
    user = _admin()
    s = db_session()
    entry = svc.get_faq(s, entry_id) if entry_id else None
    form = FaqForm(obj=entry)
    if form.validate_on_submit():
        try:
            with transaction(s):
                svc.save_faq(
                    s,
                    user=user,
                    entry_id=entry_id,
                    question=form.question.data or "",
                    answer=form.answer.data or "",
                    position=form.position.data,
                    is_published=bool(form.is_published.data),
                    request_info=request_info(),
                )
        except ValidationError as exc:
            _field_error(form, exc)
        else:
            flash("Вопрос сохранён.", "success")
            return redirect(url_for("content.faq"))
    return render_template(
        "content/faq_edit.html", form=form, entry=entry, hint=MARKUP_HINT
    )


@bp.post("/faq/<uuid:entry_id>/delete")
@login_required
def delete_faq(entry_id: uuid.UUID) -> Any:
    user = _admin()
    if not DeleteForm().validate_on_submit():
        abort(400)
    s = db_session()
    with transaction(s):
        svc.delete_faq(s, user=user, entry_id=entry_id, request_info=request_info())
    flash("Вопрос удалён.", "info")
    return redirect(url_for("content.faq"))


# -- contacts ---------------------------------------------------------------------------


@bp.get("/contacts")
def contacts() -> Any:
    s = db_session()
    general = svc.general_contacts(s, supplier_name=settings().supplier.name)
    per_contract: list[tuple[Any, Any]] = []
    if current_user.is_authenticated and not current_is_staff():
        per_contract = [
            (a.contract, contacts_of(s, a.contract_id))
            for a in list_user_contracts(s, user=current_user)
        ]
    return render_template(
        "content/contacts.html",
        general=general,
        per_contract=per_contract,
        can_edit=_is_admin(),
    )


@bp.route("/contacts/edit", methods=["GET", "POST"])
@login_required
def edit_contacts() -> Any:
    user = _admin()
    s = db_session()
    form = GeneralContactsForm(
        data=svc.general_contacts(s, supplier_name=settings().supplier.name)
    )
    if form.validate_on_submit():
        with transaction(s):
            svc.save_general_contacts(
                s, user=user, values=form.data, request_info=request_info()
            )
        flash("Общие контакты сохранены.", "success")
        return redirect(url_for("content.contacts"))
    return render_template("content/contacts_edit.html", form=form, hint=MARKUP_HINT)


def register_widgets() -> None:
    """The main page's «Новости» widget."""
    register_widget(
        "news",
        N_("Новости"),
        "content/_news_widget.html",
        lambda s, user: {"news": svc.list_news(s, limit=3)},
        order=80,
    )


@bp.record_once
def _on_register(_state: object) -> None:
    register_widgets()
