"""Online payments (scope ``read``): the payments of visible contracts and one
payment. Paying is done by a person in the cabinet, not by an API key."""

from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify, request

from docflow.api.blueprint import api_actor, bp, scope
from docflow.api.errors import date_value, int_arg
from docflow.api.serialize import iso
from docflow.errors import ValidationError
from docflow.web import db_session


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


@bp.get("/payments")
@scope("read")
def list_online_payments() -> Any:
    from docflow.payments import services as svc
    from docflow.payments.models import OnlinePaymentStatus

    status = request.args.get("status")
    if status is not None and status not in OnlinePaymentStatus._value2member_map_:
        raise ValidationError(
            "Параметр «status»: "
            + ", ".join(s.value for s in OnlinePaymentStatus)
            + ".",
            details={"field": "status"},
        )
    contract = request.args.get("contract")
    if contract is not None and not 0 < len(contract) <= 50:
        raise ValidationError(
            "Параметр «contract»: номер договора до 50 символов.",
            details={"field": "contract"},
        )
    items = svc.list_payments(
        db_session(),
        actor=api_actor(),
        status=OnlinePaymentStatus(status) if status else None,
        contract_number=contract,
        date_from=date_value(request.args["from"], "from")
        if "from" in request.args
        else None,
        date_to=date_value(request.args["to"], "to") if "to" in request.args else None,
        limit=int_arg("limit", 50, 1, 200),
    )
    return jsonify({"items": [_as_json(p) for p in items]})


@bp.get("/payments/<uuid:payment_id>")
@scope("read")
def get_online_payment(payment_id: uuid.UUID) -> Any:
    from docflow.payments import services as svc

    payment = svc.get_payment(db_session(), actor=api_actor(), payment_id=payment_id)
    return jsonify(_as_json(payment))
