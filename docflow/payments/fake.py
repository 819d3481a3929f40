"""The fake acquirer of the embedded mode and the tests: T-Bank's protocol
with no bank behind it.

* ``POST /_fake-acquiring/v2/Init`` and ``/v2/GetState`` answer as T-Bank's
  do (``Success``, ``ErrorCode``, ``PaymentId``, ``PaymentURL``, ``Status``),
  after checking the request's ``Token`` with the terminal's password;
* ``/_fake-acquiring/pay/<PaymentId>`` is the bank's payment page with
  «Оплатить» and «Отказаться». Either sends the signed notification to the
  payment's ``NotificationURL`` and then sends the payer to ``SuccessURL``
  or ``FailURL``.

Server to server, in-process: the cabinet's Init/GetState calls go to
:func:`~docflow.payments.fake_acquirer.init` /
:func:`~docflow.payments.fake_acquirer.get_state` through
:func:`~docflow.payments.fake_acquirer.in_process_transport` (the same request
bodies as over HTTP), and the notification is handed to
:func:`docflow.payments.services.handle_notification` — the function the
``/payments/notify/tbank`` endpoint calls — in a transaction of its own.
That works under the test client and under ``make run`` alike (one gunicorn
worker: an HTTP call to itself would hold one of its threads waiting for
another). The fake keeps its records in ``fake_acquiring_payments``, as a
bank would, apart from the cabinet's rows.

It answers 404 unless it is the active provider (see
:func:`docflow.payments.gateway.active_provider`): never in production
without ``PAYMENT_FAKE=1``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    redirect,
    render_template,
    request,
)
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.context import db_session, settings
from docflow.db import transaction, utcnow
from docflow.errors import NotFoundError
from docflow.extensions import csrf
from docflow.inputs import json_route
from docflow.payments.fake_acquirer import FINAL, get_state, init, notification
from docflow.payments.gateway import active_provider, credentials
from docflow.payments.models import FakeAcquiringPayment
from docflow.payments.views import accept_notification

log = logging.getLogger(__name__)

bp = Blueprint(
    "fake_acquiring",
    __name__,
    url_prefix="/_fake-acquiring",
    template_folder="templates",
)

# -- the fake's HTTP face ----------------------------------------------------------------


def _require_active() -> tuple[str, str]:
    st = settings()
    if active_provider(st) != "fake":
        raise NotFoundError("Страница не найдена.")
    return credentials(st, "fake")


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.post("/v2/Init")
@json_route
def api_init() -> Any:
    key, password = _require_active()
    s = db_session()
    with transaction(s):
        answer = init(
            s, _json_body(), key=key, password=password, base_url=settings().base_url
        )
    return answer


@bp.post("/v2/GetState")
@json_route
def api_get_state() -> Any:
    key, password = _require_active()
    return get_state(db_session(), _json_body(), key=key, password=password)


# The bank's API is called by the cabinet's server, with no session cookie.
# Exempted by calls rather than as decorators: Flask-WTF ships no annotations,
# and its decorator would leave the views untyped.
csrf.exempt(api_init)
csrf.exempt(api_get_state)


class DecisionForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no annotations
    """Only the CSRF token; the button pressed comes as ``decision``."""


def _by_page(session: Session, form_id: str) -> FakeAcquiringPayment | None:
    if not 0 < len(form_id) <= 40:
        return None
    return session.scalar(
        select(FakeAcquiringPayment).where(FakeAcquiringPayment.page_token == form_id)
    )


@bp.get("/pay/<form_id>")
def pay_page(form_id: str) -> Any:
    _require_active()
    row = _by_page(db_session(), form_id)
    if row is None:
        raise NotFoundError("Платёж не найден.")
    return render_template("payments/fake_pay.html", row=row, form=DecisionForm())


@bp.post("/pay/<form_id>")
def decide(form_id: str) -> Any:
    """«Оплатить» / «Отказаться»: the status, the notification, the return."""
    key, password = _require_active()
    s = db_session()
    if not DecisionForm().validate_on_submit():
        raise NotFoundError("Страница устарела: откройте страницу оплаты заново.")
    decision = request.form.get("decision")
    if decision not in ("pay", "decline"):
        raise NotFoundError("Неизвестное действие.")
    found = _by_page(s, form_id)
    if found is None:
        raise NotFoundError("Платёж не найден.")
    payment_id = found.id
    with transaction(s):
        stmt = select(FakeAcquiringPayment).where(FakeAcquiringPayment.id == payment_id)
        if s.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = s.scalar(stmt)
        if row is None:
            raise NotFoundError("Платёж не найден.")
        if row.status not in FINAL:
            row.status = "CONFIRMED" if decision == "pay" else "REJECTED"
            row.updated_at = utcnow()
        body = notification(row, password)
        target = row.success_url if row.status == "CONFIRMED" else row.fail_url
    deliver_notification(body)
    return redirect(target, code=303)


def deliver_notification(body: dict[str, Any]) -> bool:
    """Hand the notification to the cabinet's handler, as the endpoint would;
    whether it was accepted ("OK")."""
    try:
        accept_notification(body)
    except Exception:  # noqa: BLE001 - a bank logs a refused notification and retries
        log.warning("the fake acquirer's notification was refused", exc_info=True)
        db_session().rollback()
        return False
    return True
