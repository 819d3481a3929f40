from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from docflow.accounts.redirects import safe_redirect_target
from docflow.context import db_session
from docflow.dashboard.widgets import (
    WidgetState,
    arrange,
    change_layout,
    register_widget,
    reorder,
    reset_layout,
    widget_data,
)
from docflow.db import transaction
from docflow.extensions import LOCALES, N_
from docflow.inputs import json_route
from docflow.outbox import services as outbox

bp = Blueprint("dashboard", __name__, template_folder="templates")


class LayoutForm(FlaskForm):
    """The widget buttons: the action comes in ``op``; the form carries CSRF."""


def _register_own_widgets() -> None:
    register_widget(
        "notifications",
        N_("Уведомления"),
        "dashboard/_notifications_widget.html",
        lambda s, user: {
            "notifications": outbox.list_notifications(s, user=user, limit=5)
        },
        order=60,
    )


@bp.record_once
def _on_register(_state: object) -> None:
    _register_own_widgets()


def _dashboard_context() -> dict[str, Any]:
    s = db_session()
    arrangement = arrange(s, user=current_user)
    data = {
        placed.widget.key: widget_data(s, placed.widget, current_user)
        for placed in arrangement.on_page
        if placed.state == WidgetState.OPEN
    }
    return {
        "arrangement": arrangement,
        "widget_data": data,
        "layout_form": LayoutForm(),
    }


@bp.get("/")
def index() -> Any:
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    return render_template("dashboard/index.html", **_dashboard_context())


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/widgets/<key>")
@login_required
def change_widget(key: str) -> Any:
    if not LayoutForm().validate_on_submit():
        abort(400)
    s = db_session()
    with transaction(s):
        change_layout(s, user=current_user, key=key, action=request.form.get("op", ""))
    if _wants_json():
        return {"status": "ok"}
    return redirect(url_for("dashboard.index") + "#widgets")


@bp.post("/widgets/order")
@login_required
@json_route
def reorder_widgets() -> Any:
    # Drag and drop: a JSON list of keys, with the CSRF token in X-CSRFToken.
    payload = request.get_json(silent=True) or {}
    keys = payload.get("order") if isinstance(payload, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        abort(400)
    s = db_session()
    with transaction(s):
        reorder(s, user=current_user, keys=keys[:50])
    return {"status": "ok"}


@bp.post("/widgets/reset")
@login_required
def reset_widgets() -> Any:
    if not LayoutForm().validate_on_submit():
        abort(400)
    s = db_session()
    with transaction(s):
        reset_layout(s, user=current_user)
    flash("Расположение виджетов сброшено.", "info")
    return redirect(url_for("dashboard.index"))


@bp.get("/notifications")
@login_required
def notifications() -> Any:
    items = outbox.list_notifications(db_session(), user=current_user, limit=500)
    return render_template("dashboard/notifications.html", items=items)


@bp.post("/notifications/read")
@login_required
def mark_read() -> Any:
    s = db_session()
    raw = request.form.get("id")
    with transaction(s):
        outbox.mark_read(s, user=current_user, notification_id=_uuid(raw))
    # Only a path on this site: an open redirect would serve phishing.
    return redirect(
        safe_redirect_target(
            request.form.get("next"), default=url_for("dashboard.notifications")
        )
    )


@bp.post("/notifications/delete")
@login_required
def delete_notifications() -> Any:
    s = db_session()
    raw = request.form.get("id")
    with transaction(s):
        count = outbox.delete_notifications(
            s, user=current_user, notification_id=_uuid(raw)
        )
    flash("Уведомления удалены." if count != 1 else "Уведомление удалено.", "info")
    return redirect(url_for("dashboard.notifications"))


def _uuid(raw: str | None) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return uuid.UUID(int=0)  # matches nothing


@bp.get("/lang/<code>")
def set_language(code: str) -> Any:
    target = request.referrer or url_for("dashboard.index")
    if not target.startswith(request.host_url):
        target = url_for("dashboard.index")
    resp = redirect(target)
    if code in LOCALES:
        resp.set_cookie(
            "lang", code, max_age=365 * 86400, httponly=True, samesite="Lax"
        )
    return resp


@bp.get("/healthz")
def healthz() -> Any:
    db_session().execute(select(1))
    return {"status": "ok"}
