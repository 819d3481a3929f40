"""Commercial services (scopes ``read`` / ``write``): the catalogue, ordering a
service on a contract (the offer is registered in the flow to be signed), the
orders and one order with its documents."""

from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify
from sqlalchemy import select

from docflow.api.base import (
    BODY_ERRORS,
    api_actor,
    json_answer,
    json_request,
    operation,
)
from docflow.api.errors import read_json, read_query
from docflow.api.schemas import service_orders as out
from docflow.context import current_runtime, db_session, settings
from docflow.contracts.common import normalize_contract_number
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.errors import NotFoundError
from docflow.service_orders import services as svc
from docflow.service_orders.models import OrderStatus

SERVICES = "Услуги"


def _contract_id(number: str) -> uuid.UUID:
    found = db_session().scalar(
        select(Contract.id).where(Contract.number == normalize_contract_number(number))
    )
    if found is None:
        raise NotFoundError("Договор не найден.")
    return found


@operation(
    "GET",
    "/services",
    id="listServices",
    summary="Каталог коммерческих услуг (цены с НДС, поля заказа)",
    tag=SERVICES,
    scopes=("read",),
    answers={200: json_answer(out.ServiceList, "Опубликованные услуги.")},
)
def list_services() -> Any:
    return jsonify(
        {"items": [svc.service_json(s) for s in svc.list_services(db_session())]}
    )


@operation(
    "GET",
    "/orders",
    id="listOrders",
    summary="Заказы услуг по видимым договорам (новые первыми)",
    tag=SERVICES,
    scopes=("read",),
    answers={200: json_answer(out.OrderList, "Заказы.")},
    errors=("NotFound", "Unprocessable"),
    query=out.OrderFilters,
)
def list_orders() -> Any:
    query = read_query(out.OrderFilters)
    flt = svc.OrderFilter(
        contract_id=_contract_id(query.contract) if query.contract else None,
        status=OrderStatus(query.status) if query.status else None,
        date_from=query.from_,
        date_to=query.to,
    )
    orders = svc.list_orders(
        db_session(),
        actor=api_actor(),
        flt=flt,
        limit=query.limit,
        offset=query.offset,
    )
    return jsonify({"items": [svc.as_json(o) for o in orders]})


@operation(
    "POST",
    "/orders",
    id="createOrder",
    summary="Заказать услугу: номер заказа и оферта на подпись",
    tag=SERVICES,
    scopes=("write",),
    answers={
        201: json_answer(out.Order, "Заказ оформлен."),
        200: json_answer(out.Order, "Заказ с тем же idempotency_key уже оформлен."),
    },
    errors=("NotFound", *BODY_ERRORS),
    body=json_request(out.OrderRequest),
    description="Оферта регистрируется в документообороте с маршрутом "
    "клиент → поставщик; после подписания обеими сторонами выставляется "
    "счёт.",
)
def create_order() -> Any:
    body = read_json(out.OrderRequest)
    contract_id = (
        body.contract_id
        if isinstance(body.contract_id, uuid.UUID)
        else _contract_id(body.contract_number)
    )
    s = db_session()
    with transaction(s):
        order, created = svc.place_order(
            s,
            actor=api_actor(),
            runtime=current_runtime(),
            service_id=body.service_id,
            contract_id=contract_id,
            data=svc.OrderInput(
                values=body.fields,
                quantity=body.quantity,
                comment=body.comment,
                contact_name=body.contact_name,
                contact_phone=body.contact_phone,
                submit_token=body.idempotency_key or None,
            ),
            supplier_name=settings().supplier.name,
        )
        response = jsonify(svc.as_json(order, svc.order_documents(s, order)))
    response.status_code = 201 if created else 200
    return response


@operation(
    "GET",
    "/orders/<uuid:order_id>",
    id="getOrder",
    summary="Заказ услуги с документами",
    tag=SERVICES,
    scopes=("read",),
    answers={200: json_answer(out.Order, "Заказ.")},
    errors=("NotFound",),
)
def get_order(order_id: uuid.UUID) -> Any:
    s = db_session()
    order = svc.get_order(s, actor=api_actor(), order_id=order_id)
    return jsonify(svc.as_json(order, svc.order_documents(s, order)))
