"""The fake acquirer's bank side: T-Bank's ``Init`` and ``GetState`` answered
from ``fake_acquiring_payments``, the signed notification of a payment's
status, and the in-process transport the cabinet's client speaks to it
through (see :mod:`docflow.payments.fake` for its HTTP face, the payment page).

Flask-free: the terminal's key and password come from the caller
(:func:`docflow.payments.gateway.credentials`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from docflow.payments.models import FakeAcquiringPayment
from docflow.payments.tbank import Transport, signed, verify_token

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


def in_process_transport(
    session: Session, *, key: str, password: str, base_url: str
) -> Transport:
    """The cabinet's calls to the fake, without HTTP, in the caller's session,
    to the terminal ``key`` with its ``password``."""

    def send(path: str, body: dict[str, Any]) -> Mapping[str, Any]:
        if path == "/v2/Init":
            return init(session, body, key=key, password=password, base_url=base_url)
        if path == "/v2/GetState":
            return get_state(session, body, key=key, password=password)
        return _error("9999", "Неизвестный метод")

    return send
