"""Commercial services and their orders: the catalogue, the order wizard with
its field checks, the state machine through the document flow (the offer
signed by the customer, countersigned by the supplier, then the invoice),
payment and completion, access, hostile input and repeated submissions."""

from __future__ import annotations

import io
import threading
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from docflow.access import Actor
from docflow.accounts.models import Role
from docflow.audit.models import AuditRecord
from docflow.context import current_runtime
from docflow.db import transaction
from docflow.documents.models import DocStatus, DocType, Document
from docflow.errors import (
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from docflow.outbox.models import Notification
from docflow.service_orders import services as svc
from docflow.service_orders.demo import SERVICES, seed_demo
from docflow.service_orders.fields import parse_spec, spec_text
from docflow.service_orders.models import (
    OrderStatus,
    Service,
    ServiceOrder,
    ServiceOrderEvent,
    vat_of,
)
from tests.functional.contract_world import login
from tests.functional.test_document_flow import countersign, sign_in_browser
from tests.functional.world import PASSWORD, World, keys, register_cert, world

__all__ = ["keys", "world"]

FIELDS = [
    {
        "key": "f1",
        "label": "Адрес объекта",
        "type": "text",
        "required": True,
        "choices": [],
    },
    {
        "key": "f2",
        "label": "Количество приборов",
        "type": "number",
        "required": False,
        "choices": [],
    },
    {
        "key": "f3",
        "label": "Желаемая дата",
        "type": "date",
        "required": True,
        "choices": [],
    },
    {
        "key": "f4",
        "label": "Тип прибора",
        "type": "choice",
        "required": True,
        "choices": ["однофазный", "трёхфазный"],
    },
]
GOOD = {
    "f1": "г. Москва, ул. Энергетиков, д. 7",
    "f2": "2",
    "f3": "2026-12-20",
    "f4": "трёхфазный",
}


def make_service(
    w: World,
    *,
    price: int = 1_850_000,
    active: bool = True,
    name: str = "Замена прибора учёта",
) -> uuid.UUID:
    with w.app.app_context():
        s = w.session()
        with transaction(s):
            service = Service(
                code=uuid.uuid4().hex[:12],
                name=name,
                description="Описание",
                price_kopecks=price,
                vat_rate=20,
                unit="прибор",
                fields=FIELDS,
                is_active=active,
            )
            s.add(service)
            s.flush()
            service_id = service.id
        s.close()
    return service_id


def client_for(w: World, user: Any) -> FlaskClient:
    client = w.app.test_client()
    login(client, user.email, PASSWORD)
    return client


def place(
    w: World,
    service_id: uuid.UUID,
    *,
    user: Any = None,
    values: Any = None,
    quantity: Any = 1,
    token: str | None = None,
    contract: Any = None,
) -> ServiceOrder:
    with w.app.app_context():
        s = w.session()
        with transaction(s):
            order, _ = svc.place_order(
                s,
                actor=Actor.for_user(s.merge(user or w.signer_a)),
                runtime=current_runtime(),
                service_id=service_id,
                contract_id=(contract or w.contract_a).id,
                data=svc.OrderInput(
                    values=values if values is not None else GOOD,
                    quantity=quantity,
                    submit_token=token,
                ),
            )
            s.flush()
            _ = order.contract, order.events
        s.expunge_all()
        s.close()
    return order


def load(w: World, order_id: uuid.UUID) -> ServiceOrder:
    with w.app.app_context():
        s = w.session()
        order = s.get(ServiceOrder, order_id)
        assert order is not None
        _ = order.events, order.contract
        s.expunge_all()
        s.close()
    return order


def doc_of(w: World, doc_id: uuid.UUID | None) -> Document:
    assert doc_id is not None
    with w.app.app_context():
        s = w.session()
        doc = s.get(Document, doc_id)
        assert doc is not None
        _ = doc.steps, doc.files
        s.expunge_all()
        s.close()
    return doc


def sign_offer(w: World, order: ServiceOrder) -> None:
    cert = register_cert(w, w.signer_a, w.keys.signer_a)
    assert order.offer_document_id is not None
    sign_in_browser(
        w, w.signer_a, order.offer_document_id, w.keys.signer_a, cert.certificate.id
    )


def supplier_signs(w: World, doc_id: uuid.UUID | None) -> None:
    """The supplier's countersignature, as its Celery task does it (eagerly)."""
    assert doc_id is not None
    register_cert(w, w.clerk, w.keys.supplier)
    countersign(w, doc_id)


def to_awaiting_payment(w: World, service_id: uuid.UUID) -> ServiceOrder:
    order = place(w, service_id)
    sign_offer(w, order)
    supplier_signs(w, order.offer_document_id)
    return load(w, order.id)


def run(w: World, fn: Any, **kw: Any) -> Any:
    with w.app.app_context():
        s = w.session()
        with transaction(s):
            result = fn(s, **kw)
        s.close()
    return result


# -- the catalogue and prices ---------------------------------------------------------------


def test_vat_is_the_share_of_a_price_that_includes_it() -> None:
    assert vat_of(1_200_00, 20) == 200_00
    assert vat_of(100, 20) == 17  # 16.67 → 17
    assert vat_of(1_000_00, 0) == 0
    assert svc.order_number(2026, 45) == "ЗУ-2026-000045"


def test_catalogue_page_shows_active_services_with_vat(world: World) -> None:
    make_service(world, price=1_200_000)
    make_service(world, name="Скрытая услуга", active=False)
    page = client_for(world, world.signer_a).get("/services/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Замена прибора учёта" in html and "Скрытая услуга" not in html
    assert "10\u202f000,00" in html  # without VAT
    assert "2\u202f000,00" in html  # VAT 20 %
    assert "12\u202f000,00" in html


def test_admin_edits_catalogue_clerk_only_reads(world: World) -> None:
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            s.merge(world.clerk).role = Role.ADMIN
        s.close()
    admin = client_for(world, world.clerk)
    resp = admin.post(
        "/services/admin/catalogue/new",
        data={
            "name": "Выдача копий документов",
            "description": "Копии счетов",
            "price": "300,00",
            "vat_rate": "20",
            "unit": "лист",
            "position": "5",
            "fields": "Какие документы | текст | обязательное\n"
            "Способ | выбор | обязательное | почтой / в офисе",
            "is_active": "on",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with world.app.app_context():
        s = world.session()
        service = s.scalar(
            select(Service).where(Service.name == "Выдача копий документов")
        )
        assert service is not None
        assert service.price_kopecks == 30000
        assert [f["type"] for f in service.fields] == ["text", "choice"]
        assert service.fields[1]["choices"] == ["почтой", "в офисе"]
        s.close()
    bad = admin.post(
        "/services/admin/catalogue/new",
        data={
            "name": "X",
            "price": "бесплатно",
            "vat_rate": "20",
            "unit": "шт",
            "fields": "",
        },
    )
    assert bad.status_code == 422
    assert "Цена" in bad.get_data(as_text=True)
    bad = admin.post(
        "/services/admin/catalogue/new",
        data={
            "name": "X",
            "price": "1",
            "vat_rate": "20",
            "unit": "шт",
            "fields": "Поле | картинка",
        },
    )
    assert bad.status_code == 422
    # A customer does not learn the pages exist; a clerk reads but may not edit.
    assert (
        client_for(world, world.signer_a).get("/services/admin/catalogue").status_code
        == 404
    )
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            s.merge(world.clerk).role = Role.CLERK
        s.close()
    clerk = client_for(world, world.clerk)
    assert clerk.get("/services/admin/catalogue").status_code == 200
    assert clerk.get("/services/admin/catalogue/new").status_code == 403


# -- field validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({**GOOD, "f1": ""}, "f1"),
        ({**GOOD, "f2": "два"}, "f2"),
        ({**GOOD, "f3": "31.02.2026"}, "f3"),
        ({**GOOD, "f3": "1900-01-01"}, "f3"),
        ({**GOOD, "f4": "четырёхфазный"}, "f4"),
        ({**GOOD, "f1": "адрес\x00"}, "f1"),
        ({**GOOD, "f1": "x" * 100_000}, "f1"),
        ({**GOOD, "f1": ["список"]}, "f1"),
    ],
)
def test_order_fields_are_checked_on_the_server(
    world: World, values: dict[str, Any], field: str
) -> None:
    service_id = make_service(world)
    with pytest.raises(svc.OrderFormError) as err:
        place(world, service_id, values=values)
    assert field in err.value.details["fields"]
    with world.app.app_context():
        s = world.session()
        assert s.scalar(select(func.count()).select_from(ServiceOrder)) == 0
        assert s.scalar(select(func.count()).select_from(Document)) == 0
        s.close()


@pytest.mark.parametrize("quantity", [0, -1, 1001, "1e3", True, None, "１"])
def test_quantity_is_a_small_positive_integer(world: World, quantity: Any) -> None:
    service_id = make_service(world)
    with pytest.raises(svc.OrderFormError) as err:
        place(world, service_id, quantity=quantity)
    assert "quantity" in err.value.details["fields"]


def test_the_wizard_shows_field_errors_in_russian(world: World) -> None:
    service_id = make_service(world)
    client = client_for(world, world.signer_a)
    page = client.get(f"/services/{service_id}/order")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Оформить заказ" in html and "77-0001-ЮЛ" in html
    resp = client.post(
        f"/services/{service_id}/order",
        data={
            "contract": str(world.contract_a.id),
            "f1": "",
            "f3": "вчера",
            "f4": "",
            "quantity": "1",
            "comment": "a\x07b",
            "token": uuid.uuid4().hex,
        },
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Заполните поле «Адрес объекта»" in html
    assert "ДД.ММ.ГГГГ" in html
    assert "управляющие символы" in html


# -- the whole state machine ------------------------------------------------------------------


def test_order_offer_signatures_invoice_payment_done(world: World) -> None:
    service_id = make_service(world, price=1_850_000)
    client = client_for(world, world.signer_a)
    resp = client.post(
        f"/services/{service_id}/order",
        data={
            "contract": str(world.contract_a.id),
            **GOOD,
            "quantity": "2",
            "comment": "Доступ с 9 до 18",
            "contact_name": "Иванов И. И.",
            "contact_phone": "+7 (495) 123-45-67",
            "token": uuid.uuid4().hex,
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    card = client.get(resp.headers["Location"])
    html = card.get_data(as_text=True)
    assert "Номер заказа – ЗУ-" in html and "С Вами свяжутся" in html
    assert "Оформлен" in html and "37\u202f000,00" in html
    with world.app.app_context():
        s = world.session()
        order = s.scalar(select(ServiceOrder))
        assert order is not None
        assert order.number.startswith("ЗУ-") and len(order.number) == len(
            "ЗУ-2026-000001"
        )
        assert order.status == OrderStatus.ORDERED
        assert order.total_kopecks == 3_700_000 and order.vat_kopecks == 616_667
        offer = s.get(Document, order.offer_document_id)
        assert offer is not None and offer.doc_type == DocType.SERVICE_OFFER
        assert [st.party.value for st in offer.steps] == ["customer", "supplier"]
        _ = offer.files
        s.expunge_all()
        s.close()
    assert f"/documents/{offer.id}" in html
    # The offer PDF names the parties, the contract, the fields and the price.
    pdf = world.storage.read_bytes(offer.files[0].blob_key)
    assert pdf.startswith(b"%PDF-")

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    for needle in (
        "ОФЕРТА",
        "ООО «Ромашка»",
        "77-0001-ЮЛ",
        "Адрес объекта",
        "трёхфазный",
        "37 000,00",
        "НДС 20 %",
    ):
        assert needle in text, needle

    sign_offer(world, order)
    assert load(world, order.id).status == OrderStatus.ORDERED
    assert doc_of(world, order.offer_document_id).status == DocStatus.PARTLY_SIGNED
    supplier_signs(world, order.offer_document_id)
    order = load(world, order.id)
    assert order.status == OrderStatus.AWAITING_PAYMENT
    invoice = doc_of(world, order.invoice_document_id)
    assert invoice.doc_type == DocType.INVOICE
    assert invoice.number == f"{order.number}-С"
    assert [st.party.value for st in invoice.steps] == ["supplier"]
    card = client.get(f"/services/orders/{order.id}").get_data(as_text=True)
    assert "Ожидает оплаты" in card and f"/documents/{invoice.id}" in card
    # No online payment without the payments module's page.
    if "payments.new" not in world.app.view_functions:
        assert "Оплатить онлайн" not in card

    # The customer cannot cancel now; nor mark anything paid.
    with pytest.raises(InvalidTransitionError):
        run(
            world,
            svc.cancel_order,
            actor=Actor.for_user(world.signer_a),
            order_id=order.id,
            runtime=world.app.extensions["docflow"].runtime,
        )
    assert (
        client.post(
            f"/services/orders/{order.id}/paid", data={"reference": "1"}
        ).status_code
        == 404
    )
    clerk = client_for(world, world.clerk)
    empty = clerk.post(
        f"/services/orders/{order.id}/paid",
        data={"reference": " "},
        follow_redirects=True,
    )
    assert "Заполните поле «Номер платёжного документа»" in empty.get_data(as_text=True)
    assert (
        clerk.post(
            f"/services/orders/{order.id}/paid", data={"reference": "П/П 512"}
        ).status_code
        == 302
    )
    order = load(world, order.id)
    assert order.status == OrderStatus.PAID and order.payment_reference == "П/П 512"
    assert clerk.post(f"/services/orders/{order.id}/done").status_code == 302
    order = load(world, order.id)
    assert order.status == OrderStatus.DONE
    assert [e.status for e in order.events] == [
        OrderStatus.ORDERED,
        OrderStatus.AWAITING_PAYMENT,
        OrderStatus.PAID,
        OrderStatus.DONE,
    ]
    with world.app.app_context():
        s = world.session()
        actions = set(
            s.scalars(
                select(AuditRecord.action).where(
                    AuditRecord.object_type == "service_order"
                )
            )
        )
        assert {
            "service_order.create",
            "service_order.invoice",
            "service_order.paid",
            "service_order.done",
        } <= actions
        titles = list(
            s.scalars(
                select(Notification.title).where(
                    Notification.user_id == world.signer_a.id,
                    Notification.kind == svc.NOTIFY_KIND,
                )
            )
        )
        assert any("ожидает оплаты" in t for t in titles)
        assert any("выполнен" in t for t in titles)
        s.close()
    history = client.get("/services/orders?status=done").get_data(as_text=True)
    assert order.number in history
    assert order.number not in client.get("/services/orders?status=paid").get_data(
        as_text=True
    )
    contract_card = client.get(f"/contracts/{world.contract_a.id}").get_data(
        as_text=True
    )
    assert order.number in contract_card


def test_customer_cancels_before_the_offer_is_signed(world: World) -> None:
    service_id = make_service(world)
    order = place(world, service_id)
    client = client_for(world, world.signer_a)
    assert client.post(f"/services/orders/{order.id}/cancel").status_code == 302
    order = load(world, order.id)
    assert order.status == OrderStatus.CANCELLED
    assert doc_of(world, order.offer_document_id).status == DocStatus.DELETED
    # Twice is harmless; a cancelled order is not paid.
    assert client.post(f"/services/orders/{order.id}/cancel").status_code == 302
    run(world, lambda s: svc.on_payment(s, str(order.id), 10**9, "pay-1"))
    assert load(world, order.id).status == OrderStatus.CANCELLED


def test_cancel_is_refused_once_the_customer_signed(world: World) -> None:
    service_id = make_service(world)
    order = place(world, service_id)
    sign_offer(world, order)
    resp = client_for(world, world.signer_a).post(
        f"/services/orders/{order.id}/cancel", follow_redirects=True
    )
    assert "Оферта уже подписана" in resp.get_data(as_text=True)
    assert load(world, order.id).status == OrderStatus.ORDERED


# -- the payment hook ---------------------------------------------------------------------------


def test_payment_handler_marks_paid_when_the_amount_covers_it(world: World) -> None:
    service_id = make_service(world, price=500_000)
    order = to_awaiting_payment(world, service_id)
    run(world, lambda s: svc.on_payment(s, str(order.id), 499_999, "pay-short"))
    assert load(world, order.id).status == OrderStatus.AWAITING_PAYMENT
    run(world, lambda s: svc.on_payment(s, "не-uuid", 500_000, "pay-x"))
    run(world, lambda s: svc.on_payment(s, str(uuid.uuid4()), 500_000, "pay-y"))
    run(world, lambda s: svc.on_payment(s, str(order.id), 500_000, "pay-ok"))
    paid = load(world, order.id)
    assert paid.status == OrderStatus.PAID and paid.payment_reference == "pay-ok"
    run(world, lambda s: svc.on_payment(s, str(order.id), 500_000, "pay-again"))
    again = load(world, order.id)
    assert again.payment_reference == "pay-ok"
    assert [e.status for e in again.events].count(OrderStatus.PAID) == 1


def test_amount_for_online_payment_comes_from_the_order(world: World) -> None:
    service_id = make_service(world, price=500_000)
    order = place(world, service_id)
    with pytest.raises(InvalidTransitionError):
        run(
            world,
            lambda s: svc.payment_amount(
                s, Actor.for_user(s.merge(world.signer_a)), str(order.id)
            ),
        )
    with pytest.raises(NotFoundError):
        run(
            world,
            lambda s: svc.payment_amount(
                s, Actor.for_user(s.merge(world.signer_b)), str(order.id)
            ),
        )
    order = to_awaiting_payment(world, service_id)
    contract_id, amount, purpose = run(
        world,
        lambda s: svc.payment_amount(
            s, Actor.for_user(s.merge(world.signer_a)), str(order.id)
        ),
    )
    assert contract_id == world.contract_a.id and amount == 500_000
    assert order.number in purpose


# -- access -------------------------------------------------------------------------------------


def test_access_matrix(world: World) -> None:
    service_id = make_service(world)
    order = place(world, service_id)
    anonymous = world.app.test_client()
    for path in (
        "/services/",
        f"/services/{service_id}/order",
        "/services/orders",
        f"/services/orders/{order.id}",
    ):
        resp = anonymous.get(path)
        assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]
    other = client_for(world, world.signer_b)
    assert other.get(f"/services/orders/{order.id}").status_code == 404
    assert other.post(f"/services/orders/{order.id}/cancel").status_code == 404
    assert order.number not in other.get("/services/orders").get_data(as_text=True)
    # Another organisation's contract in the wizard: as if it did not exist.
    assert (
        other.get(
            f"/services/{service_id}/order?contract={world.contract_a.id}"
        ).status_code
        == 404
    )
    assert (
        other.post(
            f"/services/{service_id}/order",
            data={"contract": str(world.contract_a.id), **GOOD, "quantity": "1"},
        ).status_code
        == 404
    )
    viewer = client_for(world, world.viewer_a)
    assert viewer.get(f"/services/orders/{order.id}").status_code == 200
    assert viewer.post(f"/services/orders/{order.id}/cancel").status_code == 403
    assert (
        viewer.get(
            f"/services/{service_id}/order?contract={world.contract_a.id}"
        ).status_code
        == 403
    )
    with pytest.raises(PermissionDeniedError):
        place(world, service_id, user=world.viewer_a)
    with pytest.raises(NotFoundError):
        place(world, service_id, user=world.signer_b)
    with pytest.raises(PermissionDeniedError):
        place(world, service_id, user=world.clerk)
    # Staff pages: 404 for customers, open to clerks.
    signer = client_for(world, world.signer_a)
    assert signer.get("/services/admin/orders").status_code == 404
    assert signer.post(f"/services/orders/{order.id}/done").status_code == 404
    clerk = client_for(world, world.clerk)
    assert order.number in clerk.get("/services/admin/orders").get_data(as_text=True)
    assert clerk.post(f"/services/orders/{order.id}/cancel").status_code == 403
    # Unknown ids.
    assert signer.get(f"/services/orders/{uuid.uuid4()}").status_code == 404
    assert signer.get(f"/services/{uuid.uuid4()}/order").status_code == 404
    assert signer.get("/services/orders/not-a-uuid").status_code == 404


def test_inactive_service_cannot_be_ordered(world: World) -> None:
    service_id = make_service(world, active=False)
    with pytest.raises(NotFoundError):
        place(world, service_id)


# -- hostile input and repetition ---------------------------------------------------------------


def test_hostile_filters_and_texts_never_fail(world: World) -> None:
    service_id = make_service(world)
    client = client_for(world, world.signer_a)
    for query in (
        "status=<script>",
        "from=9999-99-99&to=x",
        "contract=../../etc",
        "status=%00",
        "from=" + "9" * 5000,
    ):
        assert client.get(f"/services/orders?{query}").status_code == 200
    resp = client.post(
        f"/services/{service_id}/order",
        data={
            "contract": str(world.contract_a.id),
            **GOOD,
            "quantity": "1",
            "comment": "к" * 100_000,
            "contact_name": "<b>x</b>",
            "token": uuid.uuid4().hex,
        },
    )
    assert resp.status_code == 422
    assert "длиннее 2000 символов" in resp.get_data(as_text=True)
    resp = client.post(
        f"/services/{service_id}/order", data={"contract": "не-договор", **GOOD}
    )
    assert resp.status_code == 404
    with world.app.app_context():
        s = world.session()
        assert s.scalar(select(func.count()).select_from(ServiceOrder)) == 0
        s.close()


def test_the_same_form_submitted_twice_gives_one_order(world: World) -> None:
    service_id = make_service(world)
    client = client_for(world, world.signer_a)
    data = {
        "contract": str(world.contract_a.id),
        **GOOD,
        "quantity": "1",
        "token": uuid.uuid4().hex,
    }
    first = client.post(f"/services/{service_id}/order", data=data)
    second = client.post(f"/services/{service_id}/order", data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    with world.app.app_context():
        s = world.session()
        assert s.scalar(select(func.count()).select_from(ServiceOrder)) == 1
        assert s.scalar(select(func.count()).select_from(Document)) == 1
        s.close()


def test_two_identical_submissions_at_once_give_one_order(world: World) -> None:
    service_id = make_service(world)
    token = uuid.uuid4().hex
    results: list[Any] = []

    def submit() -> None:
        try:
            results.append(place(world, service_id, token=token).id)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            results.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, uuid.UUID) for r in results), results
    assert results[0] == results[1]
    with world.app.app_context():
        s = world.session()
        assert s.scalar(select(func.count()).select_from(ServiceOrder)) == 1
        s.close()


def test_numbers_are_sequential_and_unique_under_concurrency(world: World) -> None:
    service_id = make_service(world)
    results: list[Any] = []

    def submit() -> None:
        try:
            results.append(place(world, service_id).number)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            results.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 3
    assert sorted(int(r.rsplit("-", 1)[1]) for r in results) == [1, 2, 3]


def test_history_events_and_audit_for_a_cancel(world: World) -> None:
    service_id = make_service(world)
    order = place(world, service_id)
    run(
        world,
        svc.cancel_order,
        actor=Actor.for_user(world.signer_a),
        order_id=order.id,
        runtime=world.app.extensions["docflow"].runtime,
    )
    with world.app.app_context():
        s = world.session()
        statuses = list(
            s.scalars(
                select(ServiceOrderEvent.status)
                .where(ServiceOrderEvent.order_id == order.id)
                .order_by(ServiceOrderEvent.created_at)
            )
        )
        assert statuses == [OrderStatus.ORDERED, OrderStatus.CANCELLED]
        s.close()


def test_demo_catalogue_is_idempotent(world: World) -> None:
    for _ in range(2):
        with world.app.app_context():
            s = world.session()
            with transaction(s):
                seed_demo(s, {})
            s.close()
    with world.app.app_context():
        s = world.session()
        services = list(s.scalars(select(Service)))
        assert len(services) == len(SERVICES)
        for service in services:  # every demo field list reads as the admin writes it
            assert [f["type"] for f in parse_spec(spec_text(service.fields))] == [
                f["type"] for f in service.fields
            ]
        s.close()


def test_validation_error_type_is_reported(world: World) -> None:
    with pytest.raises(ValidationError):
        svc.parse_price("0")
    assert svc.parse_price("12 500,5") == 1_250_050


def crawl_service_orders(w: World) -> dict[str, Any]:
    """For the crawl (tests/functional/test_crawl.py): a service and an order of
    A's signatory, waiting for the offer's signatures."""
    service_id = make_service(w)
    order = place(w, service_id)
    return {"service_id": service_id, "order_id": order.id}
