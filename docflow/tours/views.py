"""``POST /tours/<key>/seen``, the grid account form of the contract card, and
the template helpers the shared layout includes (``tours/_help.html``,
``tours/_grid_nav.html``, ``tours/_grid_contract.html``)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Blueprint, flash, has_request_context, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy.exc import SQLAlchemyError

from docflow.access import (
    grid_account_rights,
    may_set_grid_account,
    require_grid_account_manager,
    sees_grid_cabinet,
)
from docflow.context import current_actor, db_session, settings
from docflow.db import transaction
from docflow.errors import DocflowError, ValidationError
from docflow.inputs import json_route
from docflow.tours import grid
from docflow.tours import services as svc
from docflow.tours.steps import ENDPOINTS, TOURS

log = logging.getLogger(__name__)

bp = Blueprint("tours", __name__, template_folder="templates")


class GridAccountForm(FlaskForm):
    """The account number field; the form carries CSRF."""


# -- the tours ---------------------------------------------------------------------


@bp.post("/tours/<key>/seen")
@login_required
@json_route
def seen(key: str) -> Any:
    # {"outcome": "completed" | "dismissed"}, the CSRF token in X-CSRFToken.
    payload = request.get_json(silent=True) if request.is_json else None
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise ValidationError('Ожидается объект JSON: {"outcome": "completed"}.')
    outcome = payload.get("outcome", "completed")
    if not isinstance(outcome, str):
        raise ValidationError(
            "Итог показа подсказки: completed или dismissed.",
            details={"field": "outcome"},
        )
    s = db_session()
    with transaction(s):
        svc.mark_seen(s, user_id=current_user.id, key=key, outcome=outcome[:20])
    return {"status": "ok", "page": key}


def _steps(key: str) -> list[dict[str, str | None]]:
    return [
        {
            "selector": step.selector,
            "title": gettext(step.title),
            "text": gettext(step.text),
        }
        for step in TOURS.get(key, ())
    ]


def _current_page() -> str | None:
    if not current_user.is_authenticated:
        return None
    return ENDPOINTS.get(request.endpoint or "")


def _seen() -> list[str]:
    try:
        return svc.seen_pages(db_session(), user_id=current_user.id)
    except SQLAlchemyError:  # an error page after a failed transaction
        log.warning("tours: could not read the tours seen", exc_info=True)
        return []


def _body_attrs() -> Markup:
    """`` data-tour-page="…" data-tours-seen="…"`` for <body>: the page's tour
    and the tours the user has finished or closed (not started by themselves)."""
    page = _current_page()
    if page is None:
        return Markup("")
    seen = " ".join(_seen())
    attrs = Markup(' data-tour-page="{}" data-tours-seen="{}"').format(
        escape(page), escape(seen)
    )
    if not _autostart():
        attrs += Markup(' data-tours-autostart="off"')
    return attrs


def _autostart() -> bool:
    given = settings().web.tours_autostart
    return (not settings().testing) if given is None else given


# -- the grid company's cabinet ------------------------------------------------------


@bp.post("/contracts/<uuid:contract_id>/grid-account")
@login_required
def save_grid_account(contract_id: uuid.UUID) -> Any:
    s = db_session()
    valid = GridAccountForm().validate_on_submit()
    raw = request.form.get("account", "")
    back = url_for("contracts.card", contract_id=contract_id) + "#grid-cabinet"
    try:
        if not valid:
            # Access first (404/403), then the stale form.
            require_grid_account_manager(s, current_actor(), contract_id)
            raise ValidationError(
                "Форма устарела: обновите страницу и повторите.",
                code="csrf_failed",
            )
        with transaction(s):
            value = grid.set_account(
                s, actor=current_actor(), contract_id=contract_id, raw=raw
            )
    except ValidationError as exc:
        flash(exc.message, "error")
        return redirect(back)
    if value:
        flash(f"Номер учётной записи ЛК МОЭСК сохранён: {value}.", "success")
    else:
        flash("Номер учётной записи ЛК МОЭСК удалён.", "info")
    return redirect(back)


def _grid_nav() -> dict[str, str] | None:
    """The menu item: for a customer's people, when GRID_CABINET_URL is set."""
    template = settings().web.grid_cabinet_url
    if not template or not current_user.is_authenticated:
        return None
    if not sees_grid_cabinet(current_actor()):
        return None
    return {
        "url": grid.cabinet_link(template, None),
        "title": settings().web.grid_cabinet_title,
    }


def _grid_for_contract(contract: Any) -> dict[str, Any] | None:
    """What the contract card shows: the link with the contract's account
    number, and the form when the user may change it."""
    template = settings().web.grid_cabinet_url
    if not template or not current_user.is_authenticated:
        return None
    actor = current_actor()
    if not sees_grid_cabinet(actor):
        return None
    s = db_session()
    try:
        rights = grid_account_rights(s, actor, contract.id)
        account = grid.account_of(s, contract.id)
    except (DocflowError, SQLAlchemyError):
        return None
    return {
        "url": grid.cabinet_link(template, account),
        "title": settings().web.grid_cabinet_title,
        "account": account,
        "may_edit": may_set_grid_account(actor, rights),
        "form": GridAccountForm(formdata=None),
        "max_length": grid.MAX_ACCOUNT_LENGTH,
        "action": url_for("tours.save_grid_account", contract_id=contract.id),
    }


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    if not has_request_context():  # e-mails rendered by a task
        return {}
    page = _current_page()
    return {
        "tour_page": page,
        "tour_steps": lambda: _steps(page) if page else [],
        "tour_body_attrs": _body_attrs,
        "grid_nav": _grid_nav,
        "grid_cabinet_for": _grid_for_contract,
    }
