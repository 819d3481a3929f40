"""Online payments (scope ``read``): the payments of visible contracts and one
payment. Paying is done by a person in the cabinet, not by an API key."""

from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify

from docflow.api.base import api_actor, json_answer, operation
from docflow.api.errors import read_query
from docflow.api.schemas import payments as out
from docflow.api.serialize import iso
from docflow.context import db_session
from docflow.payments import services as svc
from docflow.payments.models import OnlinePaymentStatus

PAYMENTS = "Оплата онлайн"


def _as_json(payment: Any) -> dict[str, Any]:
    return {
        "id": str(payment.id),
        "contract_id": str(payment.contract_id),
        "contract_number": payment.contract.number,
        "amount_kopecks": payment.amount_kopecks,
        "purpose": payment.purpose,
        "status": payment.status.value,
        "status_title": payment.status_title,
        "provider": payment.provider,
        "provider_payment_id": payment.provider_payment_id,
        "kind": payment.kind,
        "reference": payment.reference,
        "created_at": iso(payment.created_at),
        "paid_at": iso(payment.paid_at),
    }


@operation(
    "GET",
    "/payments",
    id="listOnlinePayments",
    summary="Онлайн-платежи по видимым договорам (новые первыми)",
    tag=PAYMENTS,
    scopes=("read",),
    answers={200: json_answer(out.OnlinePaymentList, "Платежи.")},
    errors=("Unprocessable",),
    query=out.PaymentFilters,
    description="Платежи, которые представители потребителя внесли "
    "через эквайера; оплаченные (`paid`) добавлены в историю платежей "
    "договора. Оплата вносится в кабинете, не через API.",
)
def list_online_payments() -> Any:
    query = read_query(out.PaymentFilters)
    items = svc.list_payments(
        db_session(),
        actor=api_actor(),
        status=OnlinePaymentStatus(query.status) if query.status else None,
        contract_number=query.contract or None,
        date_from=query.from_,
        date_to=query.to,
        limit=query.limit,
    )
    return jsonify({"items": [_as_json(p) for p in items]})


@operation(
    "GET",
    "/payments/<uuid:payment_id>",
    id="getOnlinePayment",
    summary="Онлайн-платёж",
    tag=PAYMENTS,
    scopes=("read",),
    answers={200: json_answer(out.OnlinePayment, "Платёж.")},
    errors=("NotFound",),
)
def get_online_payment(payment_id: uuid.UUID) -> Any:
    payment = svc.get_payment(db_session(), actor=api_actor(), payment_id=payment_id)
    return jsonify(_as_json(payment))
