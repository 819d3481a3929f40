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
:func:`init` / :func:`get_state` through :func:`in_process_transport` (the
same request bodies as over HTTP), and the notification is handed to
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
import secrets
from collections.abc import Mapping
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

from docflow.db import transaction, utcnow
from docflow.errors import NotFoundError
from docflow.extensions import csrf
from docflow.inputs import json_route
from docflow.payments.gateway import active_provider, credentials
from docflow.payments.models import FakeAcquiringPayment
from docflow.payments.tbank import Transport, signed, verify_token
from docflow.web import db_session, settings

log = logging.getLogger(__name__)

bp = Blueprint(
    "fake_acquiring",
    __name__,
    url_prefix="/_fake-acquiring",
    template_folder="templates",
)

FINAL = {"CONFIRMED", "REJECTED", "CANCELED"}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"Success": False, "ErrorCode": code, "Message": message, "Details": ""}


def _terminal(
    body: Mapping[str, Any], key: str, password: str
) -> dict[str, Any] | None:
    if body.get("TerminalKey") != key:
        return _error("202", "Терминал не найден")
    if not verify_token(body, password):
        return _error("204", "Неверный токен. Проверьте пару TerminalKey/SecretKey.")
    return None


def init(
    session: Session, body: Mapping[str, Any], *, key: str, password: str, base_url: str
) -> dict[str, Any]:
    """The fake's ``Init``."""
    refused = _terminal(body, key, password)
    if refused:
        return refused
    amount = body.get("Amount")
    order_id = body.get("OrderId")
    urls = [body.get(n) for n in ("SuccessURL", "FailURL", "NotificationURL")]
    if (
        not isinstance(amount, int)
        or isinstance(amount, bool)
        or amount <= 0
        or amount > 10**12
    ):
        return _error("9999", "Неверная сумма")
    if not isinstance(order_id, str) or not order_id or len(order_id) > 36:
        return _error("9999", "Неверный OrderId")
    if not all(isinstance(u, str) and 0 < len(u) <= 1000 for u in urls):
        return _error("9999", "Неверные адреса возврата")
    description = body.get("Description")
    row = FakeAcquiringPayment(
        page_token=secrets.token_urlsafe(18),
        terminal_key=key,
        order_id=order_id,
        amount_kopecks=amount,
        description=str(description or "")[:250],
        success_url=str(urls[0]),
        fail_url=str(urls[1]),
        notification_url=str(urls[2]),
        status="NEW",
    )
    session.add(row)
    session.flush()
    return {
        "Success": True,
        "ErrorCode": "0",
        "TerminalKey": key,
        "Status": "NEW",
        "PaymentId": str(row.id),
        "OrderId": order_id,
        "Amount": amount,
        "PaymentURL": f"{base_url}/_fake-acquiring/pay/{row.page_token}",
    }


def _find(session: Session, payment_id: Any) -> FakeAcquiringPayment | None:
    try:
        number = int(str(payment_id))
    except ValueError:
        return None
    if not 0 < number < 2**31:
        return None
    return session.get(FakeAcquiringPayment, number)


def get_state(
    session: Session, body: Mapping[str, Any], *, key: str, password: str
) -> dict[str, Any]:
    """The fake's ``GetState``."""
    refused = _terminal(body, key, password)
    if refused:
        return refused
    row = _find(session, body.get("PaymentId"))
    if row is None:
        return _error("7", "Платёж не найден")
    return {
        "Success": True,
        "ErrorCode": "0",
        "TerminalKey": key,
        "Status": row.status,
        "PaymentId": str(row.id),
        "OrderId": row.order_id,
        "Amount": row.amount_kopecks,
    }


def notification(row: FakeAcquiringPayment, password: str) -> dict[str, Any]:
    """The signed notification T-Bank sends for ``row``'s status."""
    confirmed = row.status == "CONFIRMED"
    return signed(
        {
            "TerminalKey": row.terminal_key,
            "OrderId": row.order_id,
            "Success": confirmed,
            "Status": row.status,
            "PaymentId": row.id,
            "ErrorCode": "0" if confirmed else "1051",
            "Amount": row.amount_kopecks,
            "CardId": 1_000_000 + row.id,
            "Pan": "430000******0777",
            "ExpDate": "1230",
        },
        password,
    )


def in_process_transport(session: Session, base_url: str) -> Transport:
    """The cabinet's calls to the fake, without HTTP, in the caller's session."""
    st = settings()
    key, password = credentials(st, "fake")

    def send(path: str, body: dict[str, Any]) -> Mapping[str, Any]:
        if path == "/v2/Init":
            return init(session, body, key=key, password=password, base_url=base_url)
        if path == "/v2/GetState":
            return get_state(session, body, key=key, password=password)
        return _error("9999", "Неизвестный метод")

    return send


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
@csrf.exempt
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
@csrf.exempt
@json_route
def api_get_state() -> Any:
    key, password = _require_active()
    return get_state(db_session(), _json_body(), key=key, password=password)


class DecisionForm(FlaskForm):
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
    from docflow.payments.views import accept_notification

    try:
        accept_notification(body)
    except Exception:  # noqa: BLE001 - a bank logs a refused notification and retries
        log.warning("the fake acquirer's notification was refused", exc_info=True)
        db_session().rollback()
        return False
    return True
