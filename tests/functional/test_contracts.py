"""Contracts through the web pages: binding, access rights, invitations,
unbinding and the contract card; on PostgreSQL and on SQLite."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from docflow.accounts.models import AccountToken, Role, TokenPurpose
from docflow.contracts.binding import BIND_FAILED
from docflow.contracts.models import (
    Contract,
    ContractAccess,
    ContractAccessRequest,
    Payment,
    RestrictionEntry,
)
from docflow.outbox.models import Notification, OutboxMessage
from tests.functional.conftest import outbox_links
from tests.functional.contract_world import (
    access_of,
    audit_actions,
    build_world,
    grant,
    login,
    make_user,
    session,
)

ROMASHKA = {"email": "office@romashka.example", "inn": "7701234567"}


def _bind(
    client: FlaskClient, number: str, *, more: bool = False, **over: str
) -> object:
    # «Привязать ещё один договор» is the form's check box (the manual's).
    data = {**ROMASHKA, "number": number, **({"more": "y"} if more else {}), **over}
    return client.post("/contracts/bind", data=data)


def _admin_of_c1(app: Flask, client: FlaskClient) -> tuple[object, uuid.UUID]:
    world = build_world(app)
    make_user(app, "boss@romashka.example", last_name="Иванов", first_name="Иван")
    login(client, "boss@romashka.example")
    assert _bind(client, "77-0001-ЮЛ").status_code == 302  # type: ignore[attr-defined]
    return world, world.c1


# -- binding --------------------------------------------------------------------------


def test_first_binder_becomes_the_contracts_administrator(
    app: Flask, client: FlaskClient
) -> None:
    world = build_world(app)
    make_user(app, "boss@romashka.example")
    login(client, "boss@romashka.example")
    # Case, spaces and a typographic dash in the number do not matter.
    resp = _bind(client, " 77 – 0001 – юл ", email="Office@Romashka.example")
    assert resp.status_code == 302  # type: ignore[attr-defined]
    page = client.get("/contracts/").get_data(as_text=True)
    assert "привязан. Вы — его администратор" in page
    assert "№ 77-0001-ЮЛ" in page and "Управление доступом" in page
    access = access_of(app, "boss@romashka.example", world.c1)
    assert access is not None
    assert access.rights == (
        "can_view",
        "can_submit_readings",
        "can_sign",
        "can_manage",
    )
    assert ("contract.bound",) == tuple(
        a for a, _ in audit_actions(app) if a == "contract.bound"
    )


WRONG = [
    {"email": "ceo@romashka.example"},
    {"inn": "7701234568"},
    {"number": "77-0009-ЮЛ"},
    {"number": "50-0100-ЮЛ"},  # a real contract, but another organisation's
]


def test_wrong_combination_gets_one_message_that_names_no_field(
    app: Flask, client: FlaskClient
) -> None:
    build_world(app)
    make_user(app, "boss@romashka.example")
    login(client, "boss@romashka.example")
    for case in WRONG:
        wrong = dict(case)
        resp = _bind(client, wrong.pop("number", "77-0001-ЮЛ"), **wrong)
        assert resp.status_code == 422, case  # type: ignore[attr-defined]
        page = resp.get_data(as_text=True)  # type: ignore[attr-defined]
        assert BIND_FAILED in page, case
        assert "has-error" not in page, case  # no field is marked
    with session(app) as s:
        assert s.scalar(select(ContractAccess)) is None


def test_repeated_failures_are_rate_limited_per_user(
    app: Flask, client: FlaskClient
) -> None:
    build_world(app)
    make_user(app, "guess@example.ru")
    login(client, "guess@example.ru")
    codes = [
        _bind(client, f"77-00{i:02d}-ЮЛ").status_code  # type: ignore[attr-defined]
        for i in range(10, 16)
    ]
    assert codes == [422] * 5 + [429]
    # Even the right combination waits now.
    assert _bind(client, "77-0001-ЮЛ").status_code == 429  # type: ignore[attr-defined]


def test_bind_another_keeps_the_form_open_with_email_and_inn(
    app: Flask, client: FlaskClient
) -> None:
    world = build_world(app)
    make_user(app, "boss@romashka.example")
    login(client, "boss@romashka.example")
    resp = _bind(client, "77-0001-ЮЛ", more=True)
    assert resp.status_code == 200  # type: ignore[attr-defined]
    page = resp.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Договор № 77-0001-ЮЛ привязан" in page
    assert 'value="office@romashka.example"' in page and 'value="7701234567"' in page
    assert re.search(r'<input[^>]*id="number"[^>]*value=""', page)
    # The box stays ticked for the next number.
    assert re.search(
        r'<input[^>]*checked[^>]*id="more"|<input[^>]*id="more"[^>]*checked', page
    )
    assert _bind(client, "77-0002-ЮЛ", more=True).status_code == 200  # type: ignore[attr-defined]
    # Without the box the form ends on the list of contracts.
    done = _bind(client, "77-0002-ЮЛ")
    assert done.status_code == 302  # type: ignore[attr-defined]
    assert access_of(app, "boss@romashka.example", world.c2) is not None


def test_binding_an_administered_contract_sends_a_request_the_admin_approves(
    app: Flask, client: FlaskClient
) -> None:
    world, c1 = _admin_of_c1(app, client)
    colleague = app.test_client()
    make_user(app, "acc@romashka.example", last_name="Петров")
    login(colleague, "acc@romashka.example")
    resp = _bind(colleague, "77-0001-ЮЛ")
    page = colleague.get("/contracts/").get_data(as_text=True)
    assert "уже привязан администратором" in page and "запрос на доступ" in page
    assert access_of(app, "acc@romashka.example", c1) is None
    with session(app) as s:
        req = s.scalar(select(ContractAccessRequest))
        assert req is not None
        note = s.scalar(
            select(Notification).where(Notification.kind == "contract.access_requested")
        )
        assert note is not None and "Петров" in note.body
    # A second try does not make a second request.
    _bind(colleague, "77-0001-ЮЛ")
    with session(app) as s:
        assert len(list(s.scalars(select(ContractAccessRequest)))) == 1
    access_page = client.get(f"/contracts/{c1}/access").get_data(as_text=True)
    assert "Запросы доступа" in access_page and "acc@romashka.example" in access_page
    resp = client.post(f"/contracts/{c1}/requests/{req.id}/approve")
    assert resp.status_code == 302
    access = access_of(app, "acc@romashka.example", c1)
    assert access is not None and access.rights == ("can_view",)
    assert "contract.access_request_approved" in [a for a, _ in audit_actions(app)]
    assert colleague.get(f"/contracts/{c1}").status_code == 200


def test_staff_do_not_bind_contracts(app: Flask, client: FlaskClient) -> None:
    build_world(app)
    make_user(app, "clerk@energosbyt.example", role=Role.CLERK)
    login(client, "clerk@energosbyt.example")
    assert client.get("/contracts/bind").status_code == 403


# -- invitations ------------------------------------------------------------------------


def _invite(
    client: FlaskClient, contract_id: uuid.UUID, email: str, **rights: str
) -> object:
    return client.post(
        f"/contracts/{contract_id}/access/invite", data={"email": email, **rights}
    )


def test_newcomer_registers_through_the_invitation_and_lands_with_the_rights(
    app: Flask, client: FlaskClient
) -> None:
    _world, c1 = _admin_of_c1(app, client)
    resp = _invite(client, c1, "New.Person@Example.ru", can_sign="y")
    assert resp.status_code == 302  # type: ignore[attr-defined]
    link = outbox_links(app, "contract.invitation")[-1]
    assert "/contracts/invitation/" in link
    with session(app) as s:
        msg = s.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "contract.invitation")
        )
        assert msg is not None and msg.recipient == "new.person@example.ru"
        assert msg.context["access"] == ["просмотр", "подписание документов"]
        token = s.scalar(
            select(AccountToken).where(AccountToken.purpose == TokenPurpose.INVITATION)
        )
        assert token is not None and raw_not_stored(token, link)
    path = link.replace("http://localhost", "")
    newcomer = app.test_client()
    page = newcomer.get(path).get_data(as_text=True)
    assert "Зарегистрироваться и принять" in page and "№ 77-0001-ЮЛ" in page
    form = newcomer.get(path + "/register").get_data(as_text=True)
    assert "new.person@example.ru" in form
    weak = newcomer.post(
        path + "/register",
        data={
            "last_name": "Новикова",
            "first_name": "Анна",
            "password": "short",
            "password2": "short",
        },
    )
    assert weak.status_code == 200 and "не короче 8 символов" in weak.get_data(
        as_text=True
    )
    resp = newcomer.post(
        path + "/register",
        data={
            "last_name": "Новикова",
            "first_name": "Анна",
            "middle_name": "",
            "password": "energy2026",
            "password2": "energy2026",
        },
    )
    assert resp.status_code == 302 and resp.headers["Location"] == f"/contracts/{c1}"
    card = newcomer.get(f"/contracts/{c1}").get_data(as_text=True)
    assert "Добро пожаловать" in card and "подписание документов" in card
    access = access_of(app, "new.person@example.ru", c1)
    assert access is not None and access.rights == ("can_view", "can_sign")
    actions = [a for a, _ in audit_actions(app)]
    assert (
        "contract.invitation_sent" in actions
        and "contract.invitation_accepted" in actions
    )
    # The link is single use.
    again = app.test_client().get(path)
    assert again.status_code == 400 and "уже была использована" in again.get_data(
        as_text=True
    )


def raw_not_stored(token: AccountToken, link: str) -> bool:
    raw = link.rsplit("/", 1)[1]
    return raw not in token.token_hash and len(token.token_hash) == 64


def test_registered_user_accepts_after_login_and_nobody_else_can(
    app: Flask, client: FlaskClient
) -> None:
    _world, c1 = _admin_of_c1(app, client)
    make_user(app, "acc@romashka.example", last_name="Петров")
    make_user(app, "other@example.ru", last_name="Чужой")
    _invite(client, c1, "acc@romashka.example", can_submit_readings="y")
    path = outbox_links(app, "contract.invitation")[-1].replace("http://localhost", "")
    anonymous = app.test_client()
    assert "Войти и принять приглашение" in anonymous.get(path).get_data(as_text=True)
    assert anonymous.post(path + "/accept").status_code == 302  # to the login page
    assert anonymous.get(path + "/register").status_code == 302  # has an account
    other = app.test_client()
    login(other, "other@example.ru")
    assert "выйдите и войдите под адресом" in other.get(path).get_data(as_text=True)
    refused = other.post(path + "/accept")
    assert (
        refused.status_code == 400
        and "адресовано acc@romashka.example" in refused.get_data(as_text=True)
    )
    assert access_of(app, "other@example.ru", c1) is None
    invitee = app.test_client()
    login(invitee, "acc@romashka.example")
    resp = invitee.post(path + "/accept")
    assert resp.status_code == 302
    access = access_of(app, "acc@romashka.example", c1)
    assert access is not None and access.rights == ("can_view", "can_submit_readings")
    with session(app) as s:
        note = s.scalar(
            select(Notification).where(Notification.kind == "contract.access_changed")
        )
        assert note is not None and "передача показаний" in note.body


def test_expired_and_cancelled_invitations_do_not_work(
    app: Flask, client: FlaskClient
) -> None:
    _world, c1 = _admin_of_c1(app, client)
    _invite(client, c1, "late@example.ru")
    path = outbox_links(app, "contract.invitation")[-1].replace("http://localhost", "")
    with session(app) as s:
        s.execute(
            update(AccountToken).values(
                expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
        s.commit()
    resp = app.test_client().get(path)
    assert resp.status_code == 400 and "Срок действия ссылки истёк" in resp.get_data(
        as_text=True
    )
    # A new invitation; the administrator cancels it.
    _invite(client, c1, "late@example.ru")
    path = outbox_links(app, "contract.invitation")[-1].replace("http://localhost", "")
    page = client.get(f"/contracts/{c1}/access").get_data(as_text=True)
    inv_id = re.search(r"/invitations/([0-9a-f-]{36})/cancel", page).group(1)  # type: ignore[union-attr]
    assert (
        client.post(f"/contracts/{c1}/invitations/{inv_id}/cancel").status_code == 302
    )
    resp = app.test_client().get(path)
    assert resp.status_code == 400 and "отменено" in resp.get_data(as_text=True)
    assert app.test_client().get("/contracts/invitation/not-a-token").status_code == 400


def test_inviting_someone_who_has_access_or_a_bad_address_is_refused(
    app: Flask, client: FlaskClient
) -> None:
    _world, c1 = _admin_of_c1(app, client)
    resp = _invite(client, c1, "boss@romashka.example")
    assert resp.status_code == 422  # type: ignore[attr-defined]
    assert "уже есть доступ" in resp.get_data(as_text=True)  # type: ignore[attr-defined]
    assert _invite(client, c1, "not-an-address").status_code == 422  # type: ignore[attr-defined]


# -- rights -------------------------------------------------------------------------------


def _access_id(app: Flask, email: str, contract_id: uuid.UUID) -> uuid.UUID:
    access = access_of(app, email, contract_id)
    assert access is not None
    return access.id


def test_rights_changes_are_audited_and_the_user_is_notified(
    app: Flask, client: FlaskClient
) -> None:
    _world, c1 = _admin_of_c1(app, client)
    uid = make_user(app, "acc@romashka.example", last_name="Петров")
    grant(app, uid, c1)
    aid = _access_id(app, "acc@romashka.example", c1)
    resp = client.post(
        f"/contracts/{c1}/access/{aid}",
        data={"prefix": "x", "x-can_sign": "y", "x-can_submit_readings": "y"},
    )
    assert resp.status_code == 302
    access = access_of(app, "acc@romashka.example", c1)
    assert access is not None and access.rights == (
        "can_view",
        "can_submit_readings",
        "can_sign",
    )
    changed = [d for a, d in audit_actions(app) if a == "contract.access_changed"]
    assert changed[-1]["before"] == ["can_view"]
    assert changed[-1]["after"] == ["can_view", "can_submit_readings", "can_sign"]
    assert changed[-1]["user"] == "acc@romashka.example"
    assert client.post(f"/contracts/{c1}/access/{aid}/revoke").status_code == 302
    assert access_of(app, "acc@romashka.example", c1) is None
    assert "contract.access_revoked" in [a for a, _ in audit_actions(app)]
    with session(app) as s:
        notes = list(
            s.scalars(
                select(Notification)
                .where(Notification.user_id == uid)
                .order_by(Notification.created_at)
            )
        )
        assert [n.title for n in notes] == [
            "Изменены права доступа к договору № 77-0001-ЮЛ",
            "Закрыт доступ к договору № 77-0001-ЮЛ",
        ]
        mails = list(
            s.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.kind == "contract.access_changed"
                )
            )
        )
        assert {m.recipient for m in mails} == {"acc@romashka.example"}
        assert mails[-1].context["access"] == []


def test_the_last_administrator_cannot_remove_or_demote_themselves(
    app: Flask, client: FlaskClient
) -> None:
    _world, c1 = _admin_of_c1(app, client)
    aid = _access_id(app, "boss@romashka.example", c1)
    resp = client.post(
        f"/contracts/{c1}/access/{aid}", data={"prefix": "x"}, follow_redirects=True
    )
    assert "последнего администратора" in resp.get_data(as_text=True)
    resp = client.post(f"/contracts/{c1}/access/{aid}/revoke", follow_redirects=True)
    assert "последнего администратора" in resp.get_data(as_text=True)
    access = access_of(app, "boss@romashka.example", c1)
    assert access is not None and access.can_manage
    # With a second administrator, the first may step down.
    uid = make_user(app, "deputy@romashka.example")
    grant(app, uid, c1, can_manage=True)
    resp = client.post(f"/contracts/{c1}/access/{aid}", data={"prefix": "x"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/contracts/"
    access = access_of(app, "boss@romashka.example", c1)
    assert access is not None and access.rights == ("can_view",)
    assert client.get(f"/contracts/{c1}/access").status_code == 403


def test_unbinding_asks_first_and_keeps_the_contract_with_the_organisation(
    app: Flask, client: FlaskClient
) -> None:
    _world, c1 = _admin_of_c1(app, client)
    uid = make_user(app, "acc@romashka.example")
    grant(app, uid, c1)
    page = client.get(f"/contracts/{c1}/unbind").get_data(as_text=True)
    assert "Документы по договору останутся у организации" in page
    refused = client.post(f"/contracts/{c1}/unbind")
    assert refused.status_code == 422
    assert "единственный администратор" in refused.get_data(as_text=True)
    # The colleague unbinds (their own access only), then the administrator.
    colleague = app.test_client()
    login(colleague, "acc@romashka.example")
    assert colleague.post(f"/contracts/{c1}/unbind").status_code == 302
    assert client.post(f"/contracts/{c1}/unbind").status_code == 302
    assert client.get(f"/contracts/{c1}").status_code == 404
    with session(app) as s:
        assert s.get(Contract, c1) is not None
        assert s.scalar(select(ContractAccess)) is None
    assert [a for a, _ in audit_actions(app)].count("contract.unbound") == 2
    # Nobody is left: the next binder becomes the administrator again.
    assert _bind(client, "77-0001-ЮЛ").status_code == 302  # type: ignore[attr-defined]
    access = access_of(app, "boss@romashka.example", c1)
    assert access is not None and access.can_manage


# -- the contract card ----------------------------------------------------------------------


def test_card_shows_details_contacts_payments_and_schedule(
    app: Flask, client: FlaskClient
) -> None:
    _world, c1 = _admin_of_c1(app, client)
    with session(app) as s:
        s.add(
            Payment(
                contract_id=c1,
                paid_on=dt.date.today(),
                amount_kopecks=12_345_067,
                document_number="1542",
                purpose="Оплата за январь",
            )
        )
        s.add(
            RestrictionEntry(
                contract_id=c1,
                date_from=dt.date.today(),
                date_to=dt.date.today(),
                time_from="09:00",
                time_to="17:00",
                limit_kw=150,
                reason="Ремонт ТП-1452",
            )
        )
        s.commit()
    page = client.get(f"/contracts/{c1}").get_data(as_text=True)
    assert "ООО «Ромашка»" in page and "15.01.2024" in page
    assert "123\u202f450,67\u00a0₽" in page and "п/п № 1542" in page
    assert "Ремонт ТП-1452" in page and "150 кВт" in page
    assert "Контакты по этому договору поставщик ещё не загрузил" in page
    assert 'data-testid="pay-online"' not in page  # no payment provider configured
    state = app.extensions["docflow"]
    original = state.settings
    state.settings = original.replace(payment_url="https://pay.example/checkout")
    try:
        page = client.get(f"/contracts/{c1}/payments").get_data(as_text=True)
    finally:
        state.settings = original
    assert "https://pay.example/checkout?contract=77-0001-" in page
    assert client.get(f"/contracts/{c1}/schedule").status_code == 200


# -- scoping: another organisation's user and anonymous users ------------------------------


def _routes(contract_id: uuid.UUID, access_id: uuid.UUID) -> list[tuple[str, str]]:
    c = f"/contracts/{contract_id}"
    nobody = uuid.uuid4()
    return [
        ("GET", c),
        ("GET", c + "/payments"),
        ("GET", c + "/schedule"),
        ("GET", c + "/access"),
        ("POST", c + "/access/invite"),
        ("POST", f"{c}/access/{access_id}"),
        ("POST", f"{c}/access/{access_id}/revoke"),
        ("POST", f"{c}/invitations/{nobody}/cancel"),
        ("POST", f"{c}/requests/{nobody}/approve"),
        ("GET", c + "/unbind"),
        ("POST", c + "/unbind"),
    ]


def test_another_organisations_user_gets_404_on_every_contract_route(
    app: Flask, client: FlaskClient
) -> None:
    world, c1 = _admin_of_c1(app, client)
    aid = _access_id(app, "boss@romashka.example", c1)
    stranger_id = make_user(app, "signer@vasilek.example")
    grant(app, stranger_id, world.c3, can_manage=True, can_sign=True)
    stranger = app.test_client()
    login(stranger, "signer@vasilek.example")
    for method, path in _routes(c1, aid) + _routes(uuid.uuid4(), aid):
        resp = stranger.open(
            path,
            method=method,
            data={"email": "x@example.ru", "prefix": "x", "x-can_manage": "y"},
        )
        assert resp.status_code == 404, (method, path, resp.status_code)
    # Their own contract's access id used under their contract is not found either.
    resp = stranger.post(f"/contracts/{world.c3}/access/{aid}/revoke")
    assert resp.status_code == 404
    assert access_of(app, "boss@romashka.example", c1) is not None
    assert stranger.get(f"/contracts/{world.c3}").status_code == 200
    # The supplier's registry does not exist for customers.
    assert stranger.get("/supplier/contracts/").status_code == 404
    assert stranger.get(f"/supplier/contracts/{c1}").status_code == 404


def test_anonymous_users_are_sent_to_the_login_page(
    app: Flask, client: FlaskClient
) -> None:
    world = build_world(app)
    for method, path in _routes(world.c1, uuid.uuid4()) + [
        ("GET", "/contracts/"),
        ("GET", "/contracts/bind"),
        ("POST", "/contracts/bind"),
        ("GET", "/profile/subscriptions"),
        ("GET", "/supplier/contracts/"),
    ]:
        resp = client.open(path, method=method)
        assert resp.status_code == 302, (method, path)
        assert resp.headers["Location"].startswith("/account/login"), (method, path)


def test_view_only_user_sees_the_card_but_not_access_management(
    app: Flask, client: FlaskClient
) -> None:
    _world, c1 = _admin_of_c1(app, client)
    uid = make_user(app, "viewer@romashka.example")
    grant(app, uid, c1)
    viewer = app.test_client()
    login(viewer, "viewer@romashka.example")
    assert viewer.get(f"/contracts/{c1}").status_code == 200
    assert viewer.get(f"/contracts/{c1}/access").status_code == 403
    assert _invite(viewer, c1, "x@example.ru").status_code == 403  # type: ignore[attr-defined]


def test_profile_lists_bound_contracts_with_bind_and_access_links(
    app: Flask, client: FlaskClient
) -> None:
    _world, c1 = _admin_of_c1(app, client)
    page = client.get("/account/profile").get_data(as_text=True)
    assert "Привязанные договоры" in page and "№ 77-0001-ЮЛ" in page
    assert f"/contracts/{c1}/access" in page and "/contracts/bind" in page
    assert "Подписка на оповещения" in page
