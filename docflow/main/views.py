from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from docflow.contracts.models import Contract, ContractAccess
from docflow.db import transaction
from docflow.extensions import LOCALES
from docflow.notify import services as notify
from docflow.web import db_session

bp = Blueprint("main", __name__)


@bp.get("/")
def index() -> Any:
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    s = db_session()
    contracts = list(
        s.scalars(
            select(Contract)
            .join(ContractAccess, ContractAccess.contract_id == Contract.id)
            .where(ContractAccess.user_id == current_user.id, ContractAccess.can_view)
            .order_by(Contract.number)
        )
    )
    notifications = notify.list_notifications(s, user=current_user, limit=5)
    return render_template("main/index.html", contracts=contracts, notifications=notifications)


@bp.get("/notifications")
@login_required
def notifications() -> Any:
    items = notify.list_notifications(db_session(), user=current_user, limit=500)
    return render_template("main/notifications.html", items=items)


@bp.post("/notifications/read")
@login_required
def mark_read() -> Any:
    s = db_session()
    raw = request.form.get("id")
    with transaction(s):
        notify.mark_read(s, user=current_user, notification_id=_uuid(raw))
    return redirect(request.form.get("next") or url_for("main.notifications"))


@bp.post("/notifications/delete")
@login_required
def delete_notifications() -> Any:
    s = db_session()
    raw = request.form.get("id")
    with transaction(s):
        count = notify.delete_notifications(s, user=current_user, notification_id=_uuid(raw))
    flash("Уведомления удалены." if count != 1 else "Уведомление удалено.", "info")
    return redirect(url_for("main.notifications"))


def _uuid(raw: str | None) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return uuid.UUID(int=0)  # matches nothing


@bp.get("/lang/<code>")
def set_language(code: str) -> Any:
    target = request.referrer or url_for("main.index")
    if not target.startswith(request.host_url):
        target = url_for("main.index")
    resp = redirect(target)
    if code in LOCALES:
        resp.set_cookie("lang", code, max_age=365 * 86400, httponly=True, samesite="Lax")
    return resp


@bp.get("/healthz")
def healthz() -> Any:
    db_session().execute(select(1))
    return {"status": "ok"}
