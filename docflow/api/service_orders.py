"""Commercial services (scopes ``read`` / ``write``): the catalogue, ordering a
service on a contract (the offer is registered in the flow to be signed), the
orders and one order with its documents."""

from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify, request
from sqlalchemy import select

from docflow.api.blueprint import api_actor, bp, scope
from docflow.api.errors import date_value, int_arg, json_body, string_field
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.errors import NotFoundError, ValidationError
from docflow.web import blob_store, db_session, settings


def _contract_id(payload: dict[str, Any]) -> uuid.UUID:
    raw_id = payload.get("contract_id")
    if raw_id is not None:
        if not isinstance(raw_id, str):
            raise ValidationError(
                "Поле «contract_id» должно быть идентификатором (UUID).",
                details={"field": "contract_id"},
            )
        try:
            return uuid.UUID(raw_id)
        except ValueError:
            raise ValidationError(
                "Поле «contract_id» должно быть идентификатором (UUID).",
                details={"field": "contract_id"},
            ) from None
    number = string_field(payload, "contract_number", required=False, max_length=50)
    if not number:
        raise ValidationError(
            "Укажите договор: «contract_number» или «contract_id».",
            details={"field": "contract_number"},
        )
    from docflow.contracts.services import normalize_contract_number

    found = db_session().scalar(
        select(Contract.id).where(Contract.number == normalize_contract_number(number))
    )
    if found is None:
        raise NotFoundError("Договор не найден.")
    return found


@bp.get("/services")
@scope("read")
def list_services() -> Any:
    from docflow.service_orders import services as svc

    return jsonify(
        {"items": [svc.service_json(s) for s in svc.list_services(db_session())]}
    )


@bp.post("/orders")
@scope("write")
def create_order() -> Any:
    from docflow.service_orders import services as svc

    payload = json_body()
    raw_service = payload.get("service_id")
    try:
        service_id = uuid.UUID(raw_service) if isinstance(raw_service, str) else None
    except ValueError:
        service_id = None
    if service_id is None:
        raise ValidationError(
            "Поле «service_id» должно быть идентификатором услуги (UUID).",
            details={"field": "service_id"},
        )
    values = payload.get("fields", {})
    if not isinstance(values, dict):
        raise ValidationError(
            "Поле «fields» должно быть объектом {поле: значение}.",
            details={"field": "fields"},
        )
    key = string_field(payload, "idempotency_key", required=False, max_length=64)
    contract_id = _contract_id(payload)
    s = db_session()
    with transaction(s):
        order, created = svc.place_order(
            s,
            actor=api_actor(),
            storage=blob_store(),
            service_id=service_id,
            contract_id=contract_id,
            data=svc.OrderInput(
                values=values,
                quantity=payload.get("quantity", 1),
                comment=payload.get("comment", ""),
                contact_name=payload.get("contact_name", ""),
                contact_phone=payload.get("contact_phone", ""),
                submit_token=key or None,
            ),
            base_url=settings().base_url,
            supplier_name=settings().supplier_name,
        )
        response = jsonify(svc.as_json(order, svc.order_documents(s, order)))
    response.status_code = 201 if created else 200
    return response


@bp.get("/orders")
@scope("read")
def list_orders() -> Any:
    from docflow.service_orders import services as svc
    from docflow.service_orders.models import OrderStatus

    status = request.args.get("status")
    if status is not None and status not in OrderStatus._value2member_map_:
        raise ValidationError(
            "Параметр «status»: " + ", ".join(s.value for s in OrderStatus) + ".",
            details={"field": "status"},
        )
    contract_id = None
    if request.args.get("contract"):
        contract_id = _contract_id({"contract_number": request.args["contract"]})
    flt = svc.OrderFilter(
        contract_id=contract_id,
        status=OrderStatus(status) if status else None,
        date_from=date_value(request.args["from"], "from")
        if "from" in request.args
        else None,
        date_to=date_value(request.args["to"], "to") if "to" in request.args else None,
    )
    s = db_session()
    orders = svc.list_orders(
        s,
        actor=api_actor(),
        flt=flt,
        limit=int_arg("limit", 50, 1, 200),
        offset=int_arg("offset", 0, 0, 100_000),
    )
    return jsonify({"items": [svc.as_json(o) for o in orders]})


@bp.get("/orders/<uuid:order_id>")
@scope("read")
def get_order(order_id: uuid.UUID) -> Any:
    from docflow.service_orders import services as svc

    s = db_session()
    order = svc.get_order(s, actor=api_actor(), order_id=order_id)
    return jsonify(svc.as_json(order, svc.order_documents(s, order)))
