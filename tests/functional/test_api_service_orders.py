"""The REST API of commercial services: the catalogue, ordering (the offer is
registered in the flow), listing and reading orders, access by key and scope,
hostile bodies and repeated requests."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from docflow.service_orders.models import ServiceOrder
from tests.functional.api_support import api_for, error_code
from tests.functional.test_service_orders import GOOD, make_service
from tests.functional.world import World, keys, world

__all__ = ["keys", "world"]


def _count(w: World) -> int:
    with w.app.app_context():
        s = w.session()
        n = s.scalar(select(func.count()).select_from(ServiceOrder)) or 0
        s.close()
    return int(n)


def test_catalogue_order_list_and_card(world: World) -> None:
    service_id = make_service(world, price=650_000)
    a = api_for(world, world.org_a)
    catalogue = a.get("/services")
    assert catalogue.status_code == 200
    item = catalogue.get_json()["items"][0]
    assert item["price_kopecks"] == 650_000
    assert item["vat_kopecks"] == 108_333
    assert item["price_without_vat_kopecks"] == 541_667
    assert [f["type"] for f in item["fields"]] == ["text", "number", "date", "choice"]

    made = a.post(
        "/orders",
        json={
            "service_id": str(service_id),
            "contract_number": "77-0001-ЮЛ",
            "fields": {**GOOD, "f3": "20.12.2026"},
            "quantity": 3,
            "idempotency_key": "erp-42",
        },
    )
    assert made.status_code == 201, made.get_json()
    order = made.get_json()
    assert order["number"].startswith("ЗУ-") and order["status"] == "ordered"
    assert order["total_kopecks"] == 1_950_000
    assert order["fields"][2]["value"] == "2026-12-20"
    assert order["documents"][0]["type"] == "service_offer"
    again = a.post(
        "/orders",
        json={
            "service_id": str(service_id),
            "contract_number": "77-0001-ЮЛ",
            "fields": GOOD,
            "idempotency_key": "erp-42",
        },
    )
    assert again.status_code == 200 and again.get_json()["id"] == order["id"]
    assert _count(world) == 1
    # The offer is a document of the flow the key can read.
    doc = a.get(f"/documents/{order['offer_document_id']}")
    assert doc.status_code == 200

    listed = a.get("/orders").get_json()["items"]
    assert [o["id"] for o in listed] == [order["id"]]
    assert a.get("/orders?status=paid").get_json()["items"] == []
    assert a.get("/orders?contract=77-0001-ЮЛ&from=2000-01-01").get_json()["items"]
    card = a.get(f"/orders/{order['id']}")
    assert card.status_code == 200 and card.get_json()["number"] == order["number"]


def test_access_by_organisation_and_scope(world: World) -> None:
    service_id = make_service(world)
    a = api_for(world, world.org_a)
    order = a.post(
        "/orders",
        json={
            "service_id": str(service_id),
            "contract_id": str(world.contract_a.id),
            "fields": GOOD,
        },
    ).get_json()
    b = api_for(world, world.org_b)
    resp = b.get(f"/orders/{order['id']}")
    assert resp.status_code == 404 and error_code(resp) == "not_found"
    assert b.get("/orders").get_json()["items"] == []
    resp = b.post(
        "/orders",
        json={
            "service_id": str(service_id),
            "contract_number": "77-0001-ЮЛ",
            "fields": GOOD,
        },
    )
    assert resp.status_code == 404
    reader = api_for(world, world.org_a, "read")
    resp = reader.post(
        "/orders",
        json={
            "service_id": str(service_id),
            "contract_number": "77-0001-ЮЛ",
            "fields": GOOD,
        },
    )
    assert resp.status_code == 403 and error_code(resp) == "forbidden"
    assert reader.get(f"/orders/{order['id']}").status_code == 200
    readings_only = api_for(world, world.org_a, "readings")  # «read» is implied
    assert readings_only.get("/orders").status_code == 200
    assert readings_only.post("/orders", json={}).status_code == 403
    supplier = api_for(world, None, "read,write")
    assert supplier.get(f"/orders/{order['id']}").status_code == 200
    resp = supplier.post(
        "/orders",
        json={
            "service_id": str(service_id),
            "contract_number": "77-0001-ЮЛ",
            "fields": GOOD,
        },
    )
    assert resp.status_code == 403
    no_key = world.app.test_client().get("/api/v1/orders")
    assert no_key.status_code == 401


def test_hostile_bodies_get_stable_errors(world: World) -> None:
    service_id = make_service(world)
    a = api_for(world, world.org_a)
    cases = [
        ({"contract_number": "77-0001-ЮЛ", "fields": GOOD}, 422, "validation_error"),
        (
            {"service_id": "x", "contract_number": "77-0001-ЮЛ", "fields": GOOD},
            422,
            "validation_error",
        ),
        (
            {
                "service_id": str(uuid.uuid4()),
                "contract_number": "77-0001-ЮЛ",
                "fields": GOOD,
            },
            404,
            "not_found",
        ),
        ({"service_id": str(service_id), "fields": GOOD}, 422, "validation_error"),
        (
            {
                "service_id": str(service_id),
                "contract_number": "нет-такого",
                "fields": GOOD,
            },
            404,
            "not_found",
        ),
        (
            {"service_id": str(service_id), "contract_id": 5, "fields": GOOD},
            422,
            "validation_error",
        ),
        (
            {
                "service_id": str(service_id),
                "contract_number": "77-0001-ЮЛ",
                "fields": ["a"],
            },
            422,
            "validation_error",
        ),
        (
            {
                "service_id": str(service_id),
                "contract_number": "77-0001-ЮЛ",
                "fields": {**GOOD, "f1": "x" * 100_000},
            },
            422,
            "validation_error",
        ),
        (
            {
                "service_id": str(service_id),
                "contract_number": "77-0001-ЮЛ",
                "fields": {**GOOD, "f4": {"nested": True}},
            },
            422,
            "validation_error",
        ),
        (
            {
                "service_id": str(service_id),
                "contract_number": "77-0001-ЮЛ",
                "fields": GOOD,
                "quantity": 1.5,
            },
            422,
            "validation_error",
        ),
        (
            {
                "service_id": str(service_id),
                "contract_number": "x" * 51,
                "fields": GOOD,
            },
            422,
            "validation_error",
        ),
    ]
    for body, status, code in cases:
        resp = a.post("/orders", json=body)
        assert resp.status_code == status, (body, resp.get_json())
        assert error_code(resp) == code
    resp = a.post(
        "/orders", data='{"service_id": "\\u0000"}', content_type="application/json"
    )
    assert resp.status_code == 400
    resp = a.post("/orders", data="not json", content_type="application/json")
    assert resp.status_code == 400
    resp = a.post(
        "/orders", data="a=b", content_type="application/x-www-form-urlencoded"
    )
    assert resp.status_code == 415
    for query in ("status=unknown", "from=yesterday", "limit=0", "unknown=1"):
        resp = a.get(f"/orders?{query}")
        assert resp.status_code == 422, query
        assert error_code(resp) == "validation_error"
    assert a.get("/orders/not-a-uuid").status_code == 404
    assert _count(world) == 0
    field_errors = a.post(
        "/orders",
        json={
            "service_id": str(service_id),
            "contract_number": "77-0001-ЮЛ",
            "fields": {"f1": "", "f3": "вчера"},
        },
    ).get_json()["error"]
    assert set(field_errors["details"]["fields"]) >= {"f1", "f3", "f4"}


def b_order_id(world: World) -> str:
    """For tests/functional/test_api_access.py: an order of АО «Василёк» made
    through the API (``order_id`` of ``b_objects``)."""
    service_id = make_service(world)
    b = api_for(world, world.org_b)
    made = b.post(
        "/orders",
        json={
            "service_id": str(service_id),
            "contract_number": "50-0100-ЮЛ",
            "fields": GOOD,
        },
    )
    assert made.status_code == 201, made.get_json()
    return str(made.get_json()["id"])
