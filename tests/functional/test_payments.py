"""Online payment through the fake acquirer (T-Bank's protocol), on
PostgreSQL and SQLite: the flow, duplicate and forged notifications, a wrong
amount, concurrent notifications, a double submit, access."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from docflow.access import Actor
from docflow.api.openapi import openapi_spec
from docflow.audit.models import AuditRecord
from docflow.contracts.models import Payment
from docflow.db import transaction
from docflow.errors import NotFoundError, ValidationError
from docflow.outbox.models import Notification
from docflow.payments import fake, services
from docflow.payments.demo import seed_demo
from docflow.payments.gateway import FAKE_PASSWORD, FAKE_TERMINAL_KEY, open_gateway
from docflow.payments.models import (
    FakeAcquiringPayment,
    OnlinePayment,
    OnlinePaymentStatus,
)
from docflow.payments.tbank import signed
from tests.functional.api_support import api_for, error_code
from tests.functional.contract_world import login
from tests.functional.world import World, keys, world

__all__ = ["keys", "world"]
_APP: list[Flask] = []


@pytest.fixture(autouse=True)
def fake_acquirer(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The fake acquirer on both databases (PostgreSQL counts as production:
    PAYMENT_FAKE=1 allows it there)."""
    state = app.extensions["docflow"]
    monkeypatch.setattr(
        state,
        "settings",
        state.settings.replace(
            payment_fake=True, payment_url=None, payment_provider=None
        ),
    )
    _APP[:] = [app]
    yield


def _session(app: Flask) -> Any:
    return app.extensions["docflow"].sessionmaker()


def _key(page: str) -> str:
    match = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page)
    if match is None:
        match = re.search(
            r'id="idempotency_key" name="idempotency_key"[^>]*value="([^"]+)"', page
        )
    assert match, page[:2000]
    return match.group(1)


def _open_form(client: FlaskClient, w: World) -> str:
    resp = client.get(f"/payments/new?contract={w.contract_a.id}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:800]
    return _key(resp.get_data(as_text=True))


def _submit(
    client: FlaskClient, w: World, amount: str = "1 000,00", **extra: str
) -> Any:
    key = extra.pop("idempotency_key", None) or _open_form(client, w)
    data = {
        "contract": str(w.contract_a.id),
        "amount": amount,
        "purpose": "",
        "idempotency_key": key,
        **extra,
    }
    return client.post("/payments/new", data=data)


def _fake_id(resp: Any) -> int:
    assert resp.status_code == 303, resp.get_data(as_text=True)[:800]
    match = re.search(r"/_fake-acquiring/pay/([\w-]+)$", resp.headers["Location"])
    assert match, resp.headers["Location"]
    with _session(_APP[0]) as s:
        row = s.scalar(
            select(FakeAcquiringPayment).where(
                FakeAcquiringPayment.page_token == match.group(1)
            )
        )
        assert row is not None
        return row.id


def _payments(app: Flask) -> list[OnlinePayment]:
    with _session(app) as s:
        return list(s.scalars(select(OnlinePayment)))


def _contract_rows(app: Flask) -> list[Payment]:
    with _session(app) as s:
        return list(s.scalars(select(Payment)))


def _notification_for(app: Flask, fake_id: int, **changes: Any) -> dict[str, Any]:
    with _session(app) as s:
        row = s.get(FakeAcquiringPayment, fake_id)
        assert row is not None
        body = fake.notification(row, FAKE_PASSWORD)
    if changes:
        body.update(changes)
        body = signed({k: v for k, v in body.items() if k != "Token"}, FAKE_PASSWORD)
    return body


def _page(fake_id: int) -> str:
    with _session(_APP[0]) as s:
        row = s.get(FakeAcquiringPayment, fake_id)
        assert row is not None
        return f"/_fake-acquiring/pay/{row.page_token}"


def _pay(client: FlaskClient, fake_id: int, decision: str = "pay") -> Any:
    page = client.get(_page(fake_id))
    assert page.status_code == 200
    assert "Оплатить" in page.get_data(as_text=True)
    return client.post(_page(fake_id), data={"decision": decision})


def _audit(app: Flask) -> list[str]:
    with _session(app) as s:
        return [
            r.action
            for r in s.scalars(
                select(AuditRecord)
                .where(AuditRecord.object_type == "online_payment")
                .order_by(AuditRecord.id)
            )
        ]


def test_customer_pays_through_the_fake_acquirer(
    app: Flask, client: FlaskClient, world: World
) -> None:
    login(client, world.signer_a.email)
    card = client.get(f"/contracts/{world.contract_a.id}/payments").get_data(
        as_text=True
    )
    assert 'data-testid="pay-online-start"' in card
    assert f"/payments/new?contract={world.contract_a.id}" in card

    fake_id = _fake_id(_submit(client, world))
    [payment] = _payments(app)
    assert payment.status == OnlinePaymentStatus.PENDING
    assert payment.amount_kopecks == 100_000
    assert payment.provider == "fake" and payment.provider_payment_id == str(fake_id)
    assert payment.purpose == "Оплата электроэнергии по договору № 77-0001-ЮЛ"

    back = _pay(client, fake_id)
    assert back.status_code == 303
    assert back.headers["Location"].endswith(f"/payments/{payment.id}?back=success")
    page = client.get(f"/payments/{payment.id}?back=success").get_data(as_text=True)
    assert "оплачен" in page and "1\u202f000,00\u00a0₽" in page

    [row] = _contract_rows(app)
    assert row.amount_kopecks == 100_000 and row.contract_id == world.contract_a.id
    assert row.purpose and row.purpose.startswith("Оплата онлайн")
    [payment] = _payments(app)
    assert payment.status == OnlinePaymentStatus.PAID
    assert payment.contract_payment_id == row.id and payment.paid_at is not None
    history = client.get(f"/contracts/{world.contract_a.id}/payments").get_data(
        as_text=True
    )
    assert "1\u202f000,00\u00a0₽" in history
    assert _audit(app) == ["payment.created", "payment.sent", "payment.paid"]
    with _session(app) as s:
        receipt = s.scalar(
            select(Notification).where(Notification.kind == "payment.receipt")
        )
        assert receipt is not None and receipt.user_id == world.signer_a.id
        assert "77-0001-ЮЛ" in receipt.title

    # A duplicate notification changes nothing, and is answered OK.
    again = client.post("/payments/notify/tbank", json=_notification_for(app, fake_id))
    assert again.status_code == 200 and again.get_data(as_text=True) == "OK"
    assert len(_contract_rows(app)) == 1
    assert _audit(app) == ["payment.created", "payment.sent", "payment.paid"]
    # The fake's page, opened again, offers no second payment.
    assert "Платёж уже обработан" in client.get(_page(fake_id)).get_data(as_text=True)
    assert (
        client.get(f"/_fake-acquiring/pay/{fake_id}").status_code == 404
    )  # not the id


def test_declined_payment_is_rejected_and_records_nothing(
    app: Flask, client: FlaskClient, world: World
) -> None:
    login(client, world.viewer_a.email)  # the view right is enough to pay
    fake_id = _fake_id(_submit(client, world, "250,50"))
    back = _pay(client, fake_id, "decline")
    assert back.headers["Location"].endswith("?back=fail")
    [payment] = _payments(app)
    assert payment.status == OnlinePaymentStatus.REJECTED
    assert payment.amount_kopecks == 25_050
    assert _contract_rows(app) == []
    page = client.get(back.headers["Location"]).get_data(as_text=True)
    assert "отклонён" in page and "Оплатить ещё раз" in page


def test_forged_notification_is_refused_and_changes_nothing(
    app: Flask, client: FlaskClient, world: World
) -> None:
    login(client, world.signer_a.email)
    fake_id = _fake_id(_submit(client, world))
    body = _notification_for(app, fake_id)
    forged = {**body, "Token": signed({"x": 1}, "guess")["Token"]}
    client.post("/account/logout")
    resp = client.post("/payments/notify/tbank", json=forged)
    assert resp.status_code == 403 and resp.get_data(as_text=True) != "OK"
    tampered = {**body, "Status": "CONFIRMED", "Amount": 1}
    assert client.post("/payments/notify/tbank", json=tampered).status_code == 403
    signed_by_someone_else = signed(
        {k: v for k, v in body.items() if k != "Token"}, "not-the-password"
    )
    assert (
        client.post("/payments/notify/tbank", json=signed_by_someone_else).status_code
        == 403
    )
    for junk in (b"", b"[]", b"{", b'{"Token": null}', b'"OK"'):
        resp = client.post(
            "/payments/notify/tbank", data=junk, content_type="application/json"
        )
        assert 400 <= resp.status_code < 500
    [payment] = _payments(app)
    assert payment.status == OnlinePaymentStatus.PENDING
    assert _contract_rows(app) == []


def test_notification_with_another_amount_is_refused_and_audited(
    app: Flask, client: FlaskClient, world: World
) -> None:
    login(client, world.signer_a.email)
    fake_id = _fake_id(_submit(client, world))
    body = _notification_for(app, fake_id, Status="CONFIRMED", Success=True, Amount=100)
    resp = client.post("/payments/notify/tbank", json=body)
    assert resp.status_code == 400
    assert resp.get_data(as_text=True) != "OK"
    [payment] = _payments(app)
    assert payment.status == OnlinePaymentStatus.PENDING
    assert _contract_rows(app) == []
    assert _audit(app)[-1] == "payment.amount_mismatch"
    # Another terminal, an unknown order: refused as well.
    other = _notification_for(app, fake_id, OrderId=str(uuid.uuid4()))
    assert client.post("/payments/notify/tbank", json=other).status_code == 400
    assert (
        client.post(
            "/payments/notify/tbank",
            json=_notification_for(app, fake_id, TerminalKey="X"),
        ).status_code
        == 403
    )


def test_concurrent_notifications_record_one_payment(
    app: Flask, client: FlaskClient, world: World
) -> None:
    login(client, world.signer_a.email)
    fake_id = _fake_id(_submit(client, world))
    with _session(app) as s:
        row = s.get(FakeAcquiringPayment, fake_id)
        assert row is not None
        row.status = "CONFIRMED"
        s.commit()
    body = _notification_for(app, fake_id)
    barrier = threading.Barrier(4)
    answers: list[int] = []

    def post() -> None:
        own = app.test_client()
        barrier.wait()
        answers.append(own.post("/payments/notify/tbank", json=body).status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 4
    assert len(_contract_rows(app)) == 1
    [payment] = _payments(app)
    assert payment.status == OnlinePaymentStatus.PAID
    assert _audit(app).count("payment.paid") == 1


def test_double_submit_with_one_key_makes_one_payment(
    app: Flask, client: FlaskClient, world: World
) -> None:
    login(client, world.signer_a.email)
    key = _open_form(client, world)
    first = _submit(client, world, idempotency_key=key)
    second = _submit(client, world, idempotency_key=key)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_payments(app)) == 1
    with _session(app) as s:
        assert s.scalar(select(func.count()).select_from(FakeAcquiringPayment)) == 1
    # At once, from two clients of the same user.
    key = _open_form(client, world)
    barrier = threading.Barrier(2)
    codes: list[int] = []
    cookie = client.get_cookie("session")
    assert cookie is not None

    def post() -> None:
        own = app.test_client()
        own.set_cookie("session", cookie.value)
        barrier.wait()
        codes.append(_submit(own, world, idempotency_key=key).status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [303, 303]
    assert len(_payments(app)) == 2
    with _session(app) as s:
        assert s.scalar(select(func.count()).select_from(FakeAcquiringPayment)) == 2


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "Укажите сумму"),
        ("abc", "Укажите сумму"),
        ("-5", "Укажите сумму"),
        ("0", "не меньше 1,00"),
        ("1,001", "Укажите сумму"),
        ("99999999999", "не больше"),
        ("1\x00", "Укажите сумму"),
        ("9" * 100_000, "Укажите сумму"),
    ],
)
def test_bad_amounts_get_a_clear_message_and_no_payment(
    app: Flask, client: FlaskClient, world: World, amount: str, message: str
) -> None:
    login(client, world.signer_a.email)
    resp = _submit(client, world, amount)
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert _payments(app) == []


def test_hostile_purpose_and_key_are_refused_or_cleaned(
    app: Flask, client: FlaskClient, world: World
) -> None:
    login(client, world.signer_a.email)
    resp = _submit(client, world, "100", purpose="Я" * 50_000)
    assert resp.status_code == 422 and "не длиннее" in resp.get_data(as_text=True)
    resp = _submit(client, world, "100", idempotency_key="\x00bad")
    assert resp.status_code == 422 and "Страница устарела" in resp.get_data(
        as_text=True
    )
    assert _payments(app) == []
    fake_id = _fake_id(
        _submit(client, world, "100", purpose="Аванс\x00 за\x1b декабрь")
    )
    assert fake_id > 0
    [payment] = _payments(app)
    assert payment.purpose == "Аванс за декабрь"


def test_return_page_asks_get_state_when_the_notification_is_late(
    app: Flask, client: FlaskClient, world: World
) -> None:
    login(client, world.signer_a.email)
    fake_id = _fake_id(_submit(client, world))
    [payment] = _payments(app)
    page = client.get(f"/payments/{payment.id}").get_data(as_text=True)
    assert "ожидает оплаты" in page and 'http-equiv="refresh"' in page
    with _session(app) as s:  # the bank confirmed; its notification is lost
        row = s.get(FakeAcquiringPayment, fake_id)
        assert row is not None
        row.status = "CONFIRMED"
        s.commit()
    page = client.get(f"/payments/{payment.id}").get_data(as_text=True)
    assert "оплачен" in page
    assert len(_contract_rows(app)) == 1
    # The notification arriving after that changes nothing.
    resp = client.post("/payments/notify/tbank", json=_notification_for(app, fake_id))
    assert resp.get_data(as_text=True) == "OK" and len(_contract_rows(app)) == 1


def test_access_to_payments(app: Flask, client: FlaskClient, world: World) -> None:
    a = world.contract_a.id
    assert client.get(f"/payments/new?contract={a}").status_code == 302  # to the login
    login(client, world.signer_a.email)
    fake_id = _fake_id(_submit(client, world))
    [payment] = _payments(app)
    client.post("/account/logout")

    login(client, world.signer_b.email)  # another organisation
    assert client.get(f"/payments/new?contract={a}").status_code == 404
    assert _submit_as(client, a).status_code == 404
    assert client.get(f"/payments/{payment.id}").status_code == 404
    assert str(payment.id) not in client.get("/payments/").get_data(as_text=True)
    assert client.get("/payments/all").status_code == 404
    assert client.get(f"/payments/new?contract={uuid.uuid4()}").status_code == 404
    assert client.get("/payments/new?contract=not-a-uuid").status_code == 200  # B's own
    client.post("/account/logout")

    login(client, world.viewer_a.email)  # the same contract, the view right
    assert client.get(f"/payments/{payment.id}").status_code == 200
    assert "1\u202f000,00" in client.get("/payments/").get_data(as_text=True)
    client.post("/account/logout")

    login(client, world.clerk.email)  # the supplier sees all, does not pay
    assert client.get(f"/payments/new?contract={a}").status_code == 403
    assert client.get("/payments/new").status_code == 403
    assert client.get(f"/payments/{payment.id}").status_code == 200
    everything = client.get("/payments/all").get_data(as_text=True)
    assert "77-0001-ЮЛ" in everything and "ожидает оплаты" in everything
    assert "77-0001-ЮЛ" not in client.get("/payments/all?status=paid").get_data(
        as_text=True
    )
    assert "77-0001-ЮЛ" in client.get(
        "/payments/all?status=pending&contract=0001&from=2000-01-01&to=2999-12-31"
    ).get_data(as_text=True)
    assert (
        client.get("/payments/all?status=\x00&from=junk&to=2026-13-45").status_code
        == 200
    )
    assert fake_id > 0


def _submit_as(client: FlaskClient, contract_id: uuid.UUID) -> Any:
    return client.post(
        "/payments/new",
        data={
            "contract": str(contract_id),
            "amount": "100",
            "idempotency_key": services.new_idempotency_key(),
        },
    )


def test_orders_of_other_modules_pay_the_amount_they_name(
    app: Flask, client: FlaskClient, world: World
) -> None:
    paid: list[tuple[str, int, str]] = []
    contract_a = world.contract_a.id

    def resolve(_s: Any, _actor: Any, reference: str) -> tuple[uuid.UUID, int, str]:
        if reference != "42":
            raise NotFoundError("Заказ не найден.")
        return contract_a, 123_456, "Заказ № 42: поверка счётчика"

    def on_paid(_s: Any, reference: str, amount: int, payment_id: str) -> None:
        paid.append((reference, amount, payment_id))

    services.register_amount_resolver("test_order", resolve)
    services.register_paid_handler("test_order", on_paid)
    login(client, world.signer_a.email)
    page = client.get("/payments/new?kind=test_order&reference=42")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "1\u202f234,56" in text and "Заказ № 42" in text
    assert client.get("/payments/new?kind=test_order&reference=7").status_code == 404
    assert client.get("/payments/new?kind=nothing&reference=42").status_code == 404
    resp = client.post(
        "/payments/new?kind=test_order&reference=42",
        data={
            "contract": str(contract_a),
            "amount": "1",  # tampering is ignored
            "idempotency_key": _key(text),
        },
    )
    fake_id = _fake_id(resp)
    _pay(client, fake_id)
    [payment] = _payments(app)
    assert payment.amount_kopecks == 123_456 and payment.kind == "test_order"
    assert paid == [("42", 123_456, str(payment.id))]


def test_start_payment_for_other_modules_returns_the_payment_page(
    app: Flask, world: World
) -> None:
    with app.test_request_context():
        s = _session(app)
        gateway = open_gateway(app.extensions["docflow"].settings, s)
        assert gateway is not None and gateway.terminal_key == FAKE_TERMINAL_KEY
        with transaction(s):
            url = services.start_payment(
                s,
                actor=Actor.for_user(s.merge(world.signer_a)),
                contract_id=world.contract_a.id,
                amount_kopecks=5_000,
                purpose="Заказ № 1",
                gateway=gateway,
                kind="x",
                reference="1",
            )
        s.close()
    assert "/_fake-acquiring/pay/" in url
    with app.test_request_context():
        s = _session(app)
        with pytest.raises(ValidationError, match="путём на этом сайте"):
            services.start_payment(
                s,
                actor=Actor.for_user(s.merge(world.signer_a)),
                contract_id=world.contract_a.id,
                amount_kopecks=5_000,
                purpose="Заказ № 2",
                return_url="//evil.example/",
            )
        s.rollback()
        s.close()


def test_fake_acquirer_is_off_in_production_and_with_a_real_provider(
    app: Flask, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = app.extensions["docflow"]
    monkeypatch.setattr(
        state,
        "settings",
        state.settings.replace(
            database_url="postgresql+psycopg://x/y", payment_fake=False
        ),
    )
    login(client, world.signer_a.email)
    assert (
        client.get(f"/payments/new?contract={world.contract_a.id}").status_code == 404
    )
    assert client.get("/_fake-acquiring/pay/1").status_code == 404
    assert client.post("/_fake-acquiring/v2/Init", json={}).status_code == 404
    card = client.get(f"/contracts/{world.contract_a.id}").get_data(as_text=True)
    assert "pay-online-start" not in card


def test_fake_acquirer_api_speaks_the_protocol(app: Flask, client: FlaskClient) -> None:
    body = signed(
        {
            "TerminalKey": FAKE_TERMINAL_KEY,
            "Amount": 1000,
            "OrderId": "o-1",
            "Description": "d",
            "SuccessURL": "http://localhost/s",
            "FailURL": "http://localhost/f",
            "NotificationURL": "http://localhost/n",
        },
        FAKE_PASSWORD,
    )
    answer = client.post("/_fake-acquiring/v2/Init", json=body).get_json()
    assert answer["Success"] is True and answer["PaymentURL"].startswith(
        "http://localhost/"
    )
    state = client.post(
        "/_fake-acquiring/v2/GetState",
        json=signed(
            {"TerminalKey": FAKE_TERMINAL_KEY, "PaymentId": answer["PaymentId"]},
            FAKE_PASSWORD,
        ),
    ).get_json()
    assert state["Status"] == "NEW" and state["Amount"] == 1000
    bad = client.post("/_fake-acquiring/v2/Init", json={**body, "Amount": 5}).get_json()
    assert bad["Success"] is False and bad["ErrorCode"] == "204"


def test_api_lists_the_payments_of_visible_contracts(
    app: Flask, client: FlaskClient, world: World
) -> None:
    login(client, world.signer_a.email)
    _pay(client, _fake_id(_submit(client, world)))
    [payment] = _payments(app)
    own = api_for(world, world.org_a, "read")

    schema = schemathesis.openapi.from_dict(openapi_spec())
    listed = own.get("/payments")
    schema["/payments"]["GET"].validate_response(listed)
    one = own.get(f"/payments/{payment.id}")
    schema["/payments/{payment_id}"]["GET"].validate_response(one)
    items = listed.get_json()["items"]
    assert [i["id"] for i in items] == [str(payment.id)]
    assert items[0]["status"] == "paid" and items[0]["amount_kopecks"] == 100_000
    assert items[0]["contract_number"] == "77-0001-ЮЛ"
    assert own.get(f"/payments/{payment.id}").get_json()["status_title"] == "оплачен"
    assert own.get("/payments?status=rejected").get_json()["items"] == []
    assert len(own.get("/payments?status=paid&contract=0001").get_json()["items"]) == 1
    bad = own.get("/payments?status=nonsense")
    assert bad.status_code == 422 and error_code(bad) == "validation_error"
    assert own.get("/payments?stauts=paid").status_code == 422
    other = api_for(world, world.org_b, "read")
    assert other.get("/payments").get_json()["items"] == []
    assert other.get(f"/payments/{payment.id}").status_code == 404
    supplier = api_for(world, None, "read")
    assert len(supplier.get("/payments").get_json()["items"]) == 1


def test_demo_seed_adds_nothing_and_may_run_twice(app: Flask, world: World) -> None:
    with _session(app) as s:
        seed_demo(s, {"contracts": []})
        seed_demo(s, {"contracts": []})
        s.commit()
    assert _payments(app) == []
