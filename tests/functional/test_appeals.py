"""Appeals (обращения): filing, the statuses, the clerk's queue and answer,
the access matrix, hostile inputs, deadlines, and two submissions at once —
on PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from docflow.access import Actor
from docflow.accounts.models import Role
from docflow.accounts.services import register_user
from docflow.appeals import services as svc
from docflow.appeals.demo import TOPICS, seed_demo
from docflow.appeals.models import Appeal, AppealStatus, AppealTopic
from docflow.context import current_runtime, db_session
from docflow.db import transaction, utcnow
from docflow.demo import create_demo_world
from docflow.documents.models import DocStatus, DocType, Document, DocumentFile, Party
from docflow.documents.signing_flow import accept_cms_signature
from docflow.errors import PayloadTooLargeError, ValidationError
from docflow.outbox.models import Event, Notification, OutboxMessage
from tests.functional.api_support import sign_cms
from tests.functional.world import PASSWORD, World, act_pdf, keys, register_cert, world

__all__ = ["keys", "world"]

TEXT = "Прошу проверить объём потребления за октябрь: он завышен вдвое."


# -- helpers --------------------------------------------------------------------------


def login(client: FlaskClient, email: str) -> FlaskClient:
    resp = client.post("/account/login", data={"email": email, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def make_topics(w: World) -> dict[str, uuid.UUID]:
    with w.app.app_context():
        s = w.session()
        with transaction(s):
            claim = AppealTopic(
                title="Претензия по объёму потребления",
                is_significant=True,
                answer_hours=72,
                description="",
            )
            outage = AppealTopic(
                title="Перерыв в электроснабжении", answer_hours=4, description=""
            )
            bill = AppealTopic(title="Вопрос по счёту", answer_hours=48, description="")
            s.add_all([claim, outage, bill])
        s.close()
    return {"claim": claim.id, "outage": outage.id, "bill": bill.id}


def form(topic: uuid.UUID, contract: Any, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "topic_id": str(topic),
        "contract_id": str(getattr(contract, "id", contract)),
        "text": TEXT,
        "contact_name": "Иванов Иван",
        "contact_phone": "8 (495) 123-45-67",
        "submission_key": uuid.uuid4().hex,
    }
    data.update(extra)
    return data


def post_appeal(client: FlaskClient, data: dict[str, Any]) -> Any:
    return client.post("/appeals/new", data=data, content_type="multipart/form-data")


def appeals(w: World) -> list[Appeal]:
    with w.app.app_context():
        s = w.session()
        rows = list(s.scalars(select(Appeal).order_by(Appeal.number)))
        for a in rows:
            _ = a.topic, a.history
        s.close()
    return rows


def count(w: World, model: type) -> int:
    with w.app.app_context():
        s = w.session()
        n = s.scalar(select(func.count()).select_from(model)) or 0
        s.close()
    return int(n)


def blob_count(w: World) -> int:
    root = w.app.extensions["docflow"].settings.var_dir / "blobs"
    return sum(
        1
        for p in root.rglob("*")
        if p.is_file() and ".tmp" not in p.name and not p.name.startswith(".")
    )


def file_direct(w: World, user: Any, topic: uuid.UUID, **kw: Any) -> Appeal:
    with w.app.app_context():
        s = w.session()
        with transaction(s):
            appeal = svc.file_appeal(
                s,
                actor=Actor.for_user(s.merge(user)),
                runtime=current_runtime(),
                topic_id=topic,
                contract_id=kw.pop("contract", w.contract_a).id,
                text=kw.pop("text", TEXT),
                contact_name="Иванов Иван",
                contact_phone="+7 495 123-45-67",
                **kw,
            )
        s.close()
    return appeal


def text_of(resp: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


# -- filing ---------------------------------------------------------------------------


def test_plain_appeal_is_registered_with_number_pdf_and_attachment(
    world: World,
) -> None:
    t = make_topics(world)
    client = login(world.app.test_client(), world.signer_a.email)
    page = client.get("/appeals/new")
    assert page.status_code == 200
    assert "Подача обращения" in page.get_data(as_text=True)
    data = form(t["outage"], world.contract_a)
    data["attachments"] = [(io.BytesIO(act_pdf("Фото щита")), "щит.pdf")]
    resp = post_appeal(client, data)
    assert resp.status_code == 302, text_of(resp)[:500]
    [appeal] = appeals(world)
    assert re.fullmatch(r"ОБР-\d{4}-000001", appeal.number)
    assert appeal.status == AppealStatus.REGISTERED
    assert appeal.contact_phone == "+74951234567"
    assert appeal.due_at is not None and appeal.registered_at is not None
    assert appeal.due_at - appeal.registered_at == dt.timedelta(hours=4)
    card = client.get(resp.headers["Location"])
    body = text_of(card)
    assert (
        f"Номер обращения – {appeal.number}. С Вами свяжутся в ближайшее время!" in body
    )
    assert "Зарегистрировано" in body and "щит.pdf" in body
    with world.app.app_context():
        s = world.session()
        doc = s.get(Document, appeal.document_id)
        assert doc is not None and doc.doc_type == DocType.APPEAL
        assert [st.party for st in doc.steps] == [Party.SUPPLIER]
        assert [f.filename for f in doc.attachments] == ["щит.pdf"]
        assert world.storage.read_bytes(doc.main_file.blob_key).startswith(b"%PDF-")
        main_id, att_id = doc.main_file.id, doc.attachments[0].id
        s.close()
    got = client.get(f"/appeals/{appeal.id}/files/{att_id}")
    assert got.status_code == 200 and got.data.startswith(b"%PDF-")
    assert client.get(f"/appeals/{appeal.id}/files/{main_id}").status_code == 200
    history = client.get("/appeals/?q=" + appeal.number)
    assert appeal.number in history.get_data(as_text=True)


def test_significant_appeal_waits_for_the_signature_then_registers(
    world: World,
) -> None:
    t = make_topics(world)
    client = login(world.app.test_client(), world.signer_a.email)
    resp = post_appeal(client, form(t["claim"], world.contract_a))
    assert resp.status_code == 302
    [appeal] = appeals(world)
    assert appeal.status == AppealStatus.AWAITING_SIGNATURE
    assert resp.headers["Location"].endswith(f"/documents/{appeal.document_id}/sign")
    assert appeal.due_at is None
    # The customer signs the appeal's document (a detached CMS, as the page does).
    register_cert(world, world.signer_a, world.keys.signer_a)
    with world.app.app_context():
        s = world.session()
        doc = s.get(Document, appeal.document_id)
        assert doc is not None and [st.party for st in doc.steps] == [Party.CUSTOMER]
        original = world.storage.read_bytes(doc.main_file.blob_key)
        with transaction(s):
            accept_cms_signature(
                s,
                actor=Actor.for_user(s.merge(world.signer_a)),
                document_id=doc.id,
                signature=sign_cms(world.keys.signer_a, original),
                runtime=current_runtime(),
            )
        s.close()
    body = text_of(client.get(f"/appeals/{appeal.id}"))
    assert "Подписано электронной подписью заявителя" in body
    [appeal] = appeals(world)
    assert appeal.status == AppealStatus.REGISTERED
    assert appeal.due_at - appeal.registered_at == dt.timedelta(hours=72)
    # The event of the move links to the appeal with the cabinet's address,
    # as every other appeal event does (it was a bare path).
    with world.app.app_context():
        event = (
            db_session()
            .scalars(select(Event).where(Event.kind == "appeal.registered"))
            .one()
        )
        base_url = current_runtime().base_url
    assert base_url.startswith("http")
    assert event.payload["url"] == f"{base_url}/appeals/{appeal.id}"


def test_refused_signature_withdraws_the_appeal(world: World) -> None:
    t = make_topics(world)
    appeal = file_direct(world, world.signer_a, t["claim"])
    client = login(world.app.test_client(), world.signer_a.email)
    resp = client.post(
        f"/documents/{appeal.document_id}/refuse",
        data={"reason": "передумали подавать"},
    )
    assert resp.status_code in (302, 303)
    client.get("/appeals/")
    [appeal] = appeals(world)
    assert appeal.status == AppealStatus.WITHDRAWN


def test_withdrawing_an_unsigned_appeal_deletes_its_document(world: World) -> None:
    t = make_topics(world)
    appeal = file_direct(world, world.signer_a, t["claim"])
    client = login(world.app.test_client(), world.signer_a.email)
    resp = client.post(f"/appeals/{appeal.id}/withdraw", data={"reason": "ошибка"})
    assert resp.status_code == 302
    [appeal] = appeals(world)
    assert appeal.status == AppealStatus.WITHDRAWN
    assert appeal.history[-1].note == "ошибка"
    with world.app.app_context():
        s = world.session()
        doc = s.get(Document, appeal.document_id)
        assert doc is not None and doc.status == DocStatus.DELETED
        s.close()


def test_taking_a_plain_appeal_acknowledges_it_with_the_supplier_key(
    world: World, tmp_path: Any
) -> None:
    t = make_topics(world)
    appeal = file_direct(world, world.signer_a, t["bill"])
    register_cert(world, world.clerk, world.keys.supplier)
    state = world.app.extensions["docflow"]
    p12 = tmp_path / "supplier.p12"
    p12.write_bytes(world.keys.supplier.pkcs12("pw"))
    original = state.settings
    state.settings = original.replace(
        supplier_signer_p12=str(p12), supplier_signer_password="pw"
    )
    try:
        clerk = login(world.app.test_client(), world.clerk.email)
        assert clerk.post(f"/appeals/{appeal.id}/take").status_code == 302
        resp = clerk.post(
            f"/appeals/{appeal.id}/answer",
            data={"text": "Ответ на вопрос по счёту: начисления верны."},
        )
        assert resp.status_code == 302
    finally:
        state.settings = original
    [appeal] = appeals(world)
    with world.app.app_context():
        s = world.session()
        doc = s.get(Document, appeal.document_id)
        answer = s.get(Document, appeal.answer_document_id)
        assert doc is not None and doc.status == DocStatus.SIGNED
        assert answer is not None and answer.status == DocStatus.SIGNED
        assert [sig.party for sig in answer.signatures] == [Party.SUPPLIER]
        s.close()


# -- the clerk ------------------------------------------------------------------------


def test_clerk_takes_answers_and_closes_and_the_customer_is_notified(
    world: World,
) -> None:
    t = make_topics(world)
    appeal = file_direct(world, world.signer_a, t["bill"])
    clerk = login(world.app.test_client(), world.clerk.email)
    queue = clerk.get("/appeals/queue")
    assert queue.status_code == 200 and appeal.number in queue.get_data(as_text=True)
    assert "ООО «Ромашка»" in text_of(queue)
    assert clerk.post(f"/appeals/{appeal.id}/take").status_code == 302
    assert appeals(world)[0].status == AppealStatus.IN_WORK
    resp = clerk.post(
        f"/appeals/{appeal.id}/answer",
        content_type="multipart/form-data",
        data={
            "text": "Счёт пересчитан, корректировка в следующем месяце.",
            "files": [(io.BytesIO(b"ID;kWh\n1;10\n"), "расчёт.csv")],
        },
    )
    assert resp.status_code == 302
    [appeal] = appeals(world)
    assert appeal.status == AppealStatus.ANSWERED and appeal.answer_document_id
    with world.app.app_context():
        s = world.session()
        answer = s.get(Document, appeal.answer_document_id)
        assert answer is not None and answer.doc_type == DocType.APPEAL_ANSWER
        assert [f.filename for f in answer.attachments] == ["расчёт.csv"]
        file_id = answer.attachments[0].id
        mails = list(
            s.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "appeal.answered")
            )
        )
        inbox = list(
            s.scalars(
                select(Notification).where(Notification.kind == "appeal.answered")
            )
        )
        s.close()
    assert {m.recipient for m in mails} == {world.signer_a.email, world.viewer_a.email}
    assert mails[0].context["appeal_number"] == appeal.number
    assert {n.user_id for n in inbox} == {world.signer_a.id, world.viewer_a.id}
    customer = login(world.app.test_client(), world.viewer_a.email)
    card = text_of(customer.get(f"/appeals/{appeal.id}"))
    assert "Ответ поставщика" in card and "Счёт пересчитан" in card
    assert "расчёт.csv" in card
    got = customer.get(f"/appeals/{appeal.id}/files/{file_id}")
    assert got.status_code == 200 and got.data.startswith(b"ID;kWh")
    # Another organisation's user does not get the file, nor learns the appeal.
    other = login(world.app.test_client(), world.signer_b.email)
    assert other.get(f"/appeals/{appeal.id}/files/{file_id}").status_code == 404
    assert clerk.post(f"/appeals/{appeal.id}/close").status_code == 302
    assert appeals(world)[0].status == AppealStatus.CLOSED
    # The customer may no longer withdraw it.
    resp = customer.post(f"/appeals/{appeal.id}/withdraw", data={"reason": ""})
    assert appeals(world)[0].status == AppealStatus.CLOSED
    statuses = [h.status for h in appeals(world)[0].history]
    assert statuses == [
        AppealStatus.REGISTERED,
        AppealStatus.IN_WORK,
        AppealStatus.ANSWERED,
        AppealStatus.CLOSED,
    ]


def test_overdue_is_counted_from_registration_and_sorted_first(world: World) -> None:
    t = make_topics(world)
    late = file_direct(
        world, world.signer_a, t["outage"], now=utcnow() - dt.timedelta(hours=5)
    )
    fresh = file_direct(world, world.signer_a, t["bill"])
    assert svc.is_overdue(late) and not svc.is_overdue(fresh)
    assert not svc.is_overdue(late, now=late.registered_at + dt.timedelta(hours=3))
    clerk = login(world.app.test_client(), world.clerk.email)
    body = clerk.get("/appeals/queue").get_data(as_text=True)
    assert body.index(late.number) < body.index(fresh.number)
    assert 'data-overdue="1"' in body and "Просрочено" in body
    only = clerk.get("/appeals/queue?overdue=1").get_data(as_text=True)
    assert late.number in only and fresh.number not in only
    by_inn = clerk.get("/appeals/queue?organisation=5003012345").get_data(as_text=True)
    assert late.number not in by_inn
    by_contract = clerk.get("/appeals/queue?contract=77-0001").get_data(as_text=True)
    assert late.number in by_contract and fresh.number in by_contract
    assert late.number not in clerk.get("/appeals/queue?contract=50-0100").get_data(
        as_text=True
    )


# -- access ---------------------------------------------------------------------------


def test_access_matrix(world: World) -> None:
    t = make_topics(world)
    appeal = file_direct(world, world.signer_a, t["bill"])
    anon = world.app.test_client()
    for path in (
        "/appeals/",
        "/appeals/new",
        f"/appeals/{appeal.id}",
        "/appeals/queue",
    ):
        resp = anon.get(path)
        assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]
    owner = login(world.app.test_client(), world.signer_a.email)
    viewer = login(world.app.test_client(), world.viewer_a.email)
    other = login(world.app.test_client(), world.signer_b.email)
    clerk = login(world.app.test_client(), world.clerk.email)
    assert owner.get(f"/appeals/{appeal.id}").status_code == 200
    assert viewer.get(f"/appeals/{appeal.id}").status_code == 200
    assert other.get(f"/appeals/{appeal.id}").status_code == 404
    assert appeal.number not in other.get("/appeals/").get_data(as_text=True)
    assert clerk.get(f"/appeals/{appeal.id}").status_code == 200
    # Customers do not learn of the queue; clerks do not file.
    assert owner.get("/appeals/queue").status_code == 404
    assert clerk.get("/appeals/new").status_code == 403
    assert clerk.get("/appeals/").status_code == 302
    # Only staff take, answer, close.
    assert owner.post(f"/appeals/{appeal.id}/take").status_code == 404
    assert (
        owner.post(f"/appeals/{appeal.id}/answer", data={"text": "x" * 20}).status_code
        == 404
    )
    # Filing on another organisation's contract: 404; a significant topic
    # without the right to sign: 403; a plain one with the view right: filed.
    assert post_appeal(other, form(t["bill"], world.contract_a)).status_code == 404
    assert post_appeal(viewer, form(t["claim"], world.contract_a)).status_code == 403
    assert post_appeal(viewer, form(t["bill"], world.contract_a)).status_code == 302
    # A member who is not the filer and has no right to sign may not withdraw.
    assert viewer.post(f"/appeals/{appeal.id}/withdraw", data={}).status_code == 403
    assert (
        owner.post(
            f"/appeals/{appeal.id}/withdraw", data={"reason": "решено"}
        ).status_code
        == 302
    )
    assert appeals(world)[0].status == AppealStatus.WITHDRAWN
    # Topics: clerks see them, only the administrator edits.
    assert clerk.get("/appeals/topics").status_code == 200
    assert clerk.get("/appeals/topics/new").status_code == 403
    assert owner.get("/appeals/topics").status_code == 404


def test_administrator_keeps_the_topics(world: World) -> None:
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            register_user(
                s,
                email="admin@energosbyt.example",
                password=PASSWORD,
                last_name="Админов",
                first_name="Пётр",
                role=Role.ADMIN,
                confirmed=True,
            )
        s.close()
    admin = login(world.app.test_client(), "admin@energosbyt.example")
    resp = admin.post(
        "/appeals/topics/new",
        data={
            "title": "Технологическое присоединение",
            "description": "Заявки и ТУ",
            "answer_hours": "24",
            "position": "1",
            "is_active": "y",
            "is_significant": "y",
        },
    )
    assert resp.status_code == 302
    again = admin.post(
        "/appeals/topics/new",
        data={
            "title": "технологическое присоединение",
            "answer_hours": "24",
            "is_active": "y",
        },
    )
    assert again.status_code == 422 and "уже есть" in text_of(again)
    bad = admin.post("/appeals/topics/new", data={"title": "Ещё", "answer_hours": "0"})
    assert bad.status_code == 422
    with world.app.app_context():
        s = world.session()
        topic = s.scalar(select(AppealTopic))
        assert topic is not None and topic.is_significant and topic.answer_hours == 24
        s.close()
    assert "Технологическое присоединение" in admin.get("/appeals/topics").get_data(
        as_text=True
    )


# -- hostile inputs -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("text", "Текст с NUL \x00 внутри обращения"),
        ("text", "я" * 100_000),
        ("text", "коротко"),
        ("contact_name", "Иван\x07"),
        ("contact_name", "И" * 100_000),
        ("contact_phone", "позвоните"),
        ("contact_phone", "+7 495\x00 123 45 67"),
        ("topic_id", "не-uuid"),
        ("topic_id", "0b6f1f5e-4a3c-4d2e-9f10-2b7c8d9e0a11"),
        ("contract_id", "\x00"),
    ],
)
def test_hostile_fields_get_a_clear_message(
    world: World, field: str, value: str
) -> None:
    t = make_topics(world)
    client = login(world.app.test_client(), world.signer_a.email)
    resp = post_appeal(client, form(t["bill"], world.contract_a, **{field: value}))
    assert resp.status_code in (404, 422), resp.status_code
    assert count(world, Appeal) == 0 and count(world, Document) == 0


def test_bad_files_leave_nothing_behind(world: World) -> None:
    t = make_topics(world)
    client = login(world.app.test_client(), world.signer_a.email)
    before = blob_count(world)
    six = form(t["bill"], world.contract_a)
    six["attachments"] = [(io.BytesIO(act_pdf()), f"{i}.pdf") for i in range(6)]
    resp = post_appeal(client, six)
    assert resp.status_code == 422 and "не больше 5 файлов" in text_of(resp)
    exe = form(t["bill"], world.contract_a)
    exe["attachments"] = [
        (io.BytesIO(act_pdf()), "ok.pdf"),
        (io.BytesIO(b"MZ\x90\x00"), "virus.exe"),
    ]
    resp = post_appeal(client, exe)
    assert resp.status_code == 422 and "такой тип не принимается" in text_of(resp)
    fake = form(t["bill"], world.contract_a)
    fake["attachments"] = [(io.BytesIO(b"MZ\x90\x00not a pdf"), "счёт.pdf")]
    assert post_appeal(client, fake).status_code == 422
    with pytest.raises(PayloadTooLargeError):
        file_direct(
            world,
            world.signer_a,
            t["bill"],
            max_bytes=1000,
            attachments=[svc.Upload.from_bytes("big.pdf", act_pdf() * 3)],
        )
    with pytest.raises(ValidationError):
        file_direct(world, world.signer_a, t["bill"], text="\ud800 строка с суррогатом")
    assert count(world, Appeal) == 0 and count(world, Document) == 0
    assert count(world, DocumentFile) == 0
    assert blob_count(world) == before


def test_hostile_search_is_forgiven(world: World) -> None:
    make_topics(world)
    client = login(world.app.test_client(), world.signer_a.email)
    for query in (
        "?q=" + "я" * 5000,
        "?status=нет",
        "?date_from=вчера&topic_id=x",
        "?q=%00",
        "?page=999999999999",
        "?contract_id=" + str(uuid.uuid4()),
    ):
        assert client.get("/appeals/" + query).status_code == 200
    clerk = login(world.app.test_client(), world.clerk.email)
    assert (
        clerk.get("/appeals/queue?organisation=%25_%25&overdue=yes").status_code == 200
    )


# -- two at once ----------------------------------------------------------------------


def _concurrently(world: World, forms: list[dict[str, Any]]) -> list[int]:
    clients = [login(world.app.test_client(), world.signer_a.email) for _ in forms]
    codes: list[int] = [0] * len(forms)
    barrier = threading.Barrier(len(forms))

    def run(i: int) -> None:
        barrier.wait()
        codes[i] = post_appeal(clients[i], forms[i]).status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(forms))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    return codes


def test_one_form_sent_twice_at_once_files_one_appeal(world: World) -> None:
    t = make_topics(world)
    data = form(t["bill"], world.contract_a)
    codes = _concurrently(world, [dict(data), dict(data)])
    assert codes == [302, 302]
    assert len(appeals(world)) == 1
    assert count(world, Document) == 1


def test_two_appeals_at_once_get_two_numbers(world: World) -> None:
    t = make_topics(world)
    codes = _concurrently(
        world, [form(t["bill"], world.contract_a), form(t["bill"], world.contract_a)]
    )
    assert codes == [302, 302]
    numbers = [a.number for a in appeals(world)]
    assert len(numbers) == 2 and len(set(numbers)) == 2
    assert [n[-6:] for n in numbers] == ["000001", "000002"]


# -- the demo -------------------------------------------------------------------------


def test_demo_seed_is_idempotent(app: Any) -> None:
    with app.test_request_context():
        world_info = create_demo_world()
        s = db_session()
        for _ in range(2):
            with transaction(s):
                seed_demo(s, world_info)
        topics = s.scalar(select(func.count()).select_from(AppealTopic))
        rows = list(s.scalars(select(Appeal)))
        assert topics == len(TOPICS)
        assert len(rows) == 1 and rows[0].status == AppealStatus.ANSWERED
        answer = s.get(Document, rows[0].answer_document_id)
        assert answer is not None and answer.status != DocStatus.DELETED


# -- for the crawl (tests/functional/test_crawl.py) ------------------------------------


def crawl_appeals(w: World) -> dict[str, Any]:
    """Topics and an appeal of A's signatory with an attachment: the ids the
    crawl opens the appeals' pages with."""
    t = make_topics(w)
    appeal = file_direct(
        w,
        w.signer_a,
        t["bill"],
        attachments=[svc.Upload.from_bytes("фото.pdf", act_pdf())],
    )
    with w.app.app_context():
        s = w.session()
        doc = s.get(Document, appeal.document_id)
        assert doc is not None
        file_id = doc.attachments[0].id
        s.close()
    return {"appeal_id": appeal.id, "appeal_file_id": file_id, "topic_id": t["bill"]}
