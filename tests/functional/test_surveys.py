"""Surveys (анкетирование): the builder's checks, publishing and closing,
targeting, one answer per organisation (also under concurrent submissions),
hostile answers, the results and their Excel file, and who may open what."""

from __future__ import annotations

import datetime as dt
import io
import threading
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from docflow.access import Actor
from docflow.accounts.models import Role, User
from docflow.context import current_runtime
from docflow.db import transaction
from docflow.demo import create_demo_world
from docflow.errors import ConflictError
from docflow.outbox.models import Notification, OutboxMessage
from docflow.surveys import services as svc
from docflow.surveys.demo import TITLE, seed_demo
from docflow.surveys.models import (
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
    SurveyStatus,
)
from tests.factories import make_user
from tests.functional.world import PASSWORD, World, keys, world

__all__ = ["keys", "world"]

TODAY = svc.today()
START = TODAY.isoformat()
END = (TODAY + dt.timedelta(days=30)).isoformat()


# -- helpers --------------------------------------------------------------------------


def login(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    resp = client.post(
        "/account/login", data={"email": user.email, "password": PASSWORD}
    )
    assert resp.status_code == 302
    return client


@pytest.fixture()
def admin(world: World) -> User:
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            user = make_user(
                s,
                email="admin@energosbyt.example",
                last_name="Кузнецов",
                first_name="Андрей",
                role=Role.ADMIN,
            )
        s.expunge_all()
        s.close()
    return user


def make_survey(
    world: World,
    admin: User,
    *,
    contracts: list[str] | None = None,
    publish: bool = True,
    required_text: bool = False,
) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    """A survey with one question of each kind (the scale and the single
    choice required), published unless told otherwise."""
    with world.app.app_context():
        s = world.session()
        actor = Actor.for_user(s.merge(admin))
        with transaction(s):
            survey = svc.create_survey(
                s,
                actor=actor,
                fields=svc.SurveyFields(
                    title="Оценка обслуживания",
                    description="Несколько вопросов",
                    starts_on=START,
                    ends_on=END,
                    target_all=contracts is None,
                    contract_numbers="\n".join(contracts or []),
                ),
            )
            q: dict[str, uuid.UUID] = {}
            for key, fields in {
                "single": svc.QuestionFields(
                    kind="single",
                    text="Как связываетесь?",
                    is_required=True,
                    options="Кабинет\nТелефон\nПочта",
                ),
                "multiple": svc.QuestionFields(
                    kind="multiple",
                    text="Какие разделы?",
                    options="Документы\nПоказания",
                ),
                "scale": svc.QuestionFields(
                    kind="scale",
                    text="Оценка",
                    is_required=True,
                    scale_max="10",
                    scale_min_label="Плохо",
                    scale_max_label="Отлично",
                ),
                "text": svc.QuestionFields(
                    kind="text", text="Что улучшить?", is_required=required_text
                ),
            }.items():
                q[key] = svc.add_question(
                    s, actor=actor, survey_id=survey.id, fields=fields
                ).id
            if publish:
                svc.publish_survey(
                    s, actor=actor, survey_id=survey.id, runtime=current_runtime()
                )
            survey_id = survey.id
        s.close()
    return survey_id, q


def good_answer(q: dict[str, uuid.UUID], **override: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        f"q-{q['single']}": "0",
        f"q-{q['multiple']}": ["0", "1"],
        f"q-{q['scale']}": "9",
        f"q-{q['text']}": "Быстрее отвечать",
    }
    for key, value in override.items():
        data[f"q-{q[key]}"] = value
    return data


def count(world: World, model: Any) -> int:
    with world.app.app_context():
        s = world.session()
        try:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)
        finally:
            s.close()


# -- the builder -----------------------------------------------------------------------


def test_builder_refuses_bad_fields_in_russian(world: World, admin: User) -> None:
    client = login(world.app, admin)
    base = {
        "title": "Анкета",
        "description": "",
        "starts_on": START,
        "ends_on": END,
        "target": "all",
    }
    cases = [
        ({"title": ""}, "Заполните поле «Название»"),
        ({"title": "x" * 100_000}, "длиннее 300 символов"),
        ({"title": "Анкета\x00"}, "управляющие символы"),
        ({"ends_on": "2020-01-01"}, "раньше его начала"),
        ({"starts_on": "31.12.2026"}, "указана неверно"),
        ({"target": "contracts", "contract_numbers": ""}, "Укажите номера договоров"),
        (
            {"target": "contracts", "contract_numbers": "нет-такого"},
            "не найдены: нет-такого",
        ),
    ]
    for override, message in cases:
        resp = client.post("/surveys/manage/new", data={**base, **override})
        assert resp.status_code == 422, override
        assert message in resp.get_data(as_text=True), override
    assert count(world, Survey) == 0
    resp = client.post("/surveys/manage/new", data=base)
    assert resp.status_code == 302
    survey_id = resp.headers["Location"].rsplit("/", 1)[-1]
    page = client.get(f"/surveys/manage/{survey_id}").get_data(as_text=True)
    assert "Черновик" in page and "Вопросов пока нет." in page

    bad_questions = [
        (
            {"kind": "single", "text": "Q", "options": "один"},
            "не меньше двух вариантов",
        ),
        ({"kind": "single", "text": "Q", "options": "а\nа"}, "повторяются"),
        ({"kind": "scale", "text": "Q", "scale_max": "7"}, "от 1 до 5 или от 1 до 10"),
        ({"kind": "text", "text": ""}, "Заполните поле «Вопрос»"),
        ({"kind": "чепуха", "text": "Q"}, "Выберите вид вопроса"),
        ({"kind": "text", "text": "Q", "position": "-1"}, "целое число от 1 до 999"),
        (
            {"kind": "multiple", "text": "Q", "options": "a\x01\nb"},
            "управляющие символы",
        ),
    ]
    for data, message in bad_questions:
        resp = client.post(f"/surveys/manage/{survey_id}/questions", data=data)
        assert resp.status_code == 422, data
        assert message in resp.get_data(as_text=True), data
    assert count(world, SurveyQuestion) == 0
    resp = client.post(f"/surveys/manage/{survey_id}/publish", data={})
    assert resp.status_code == 422
    assert "хотя бы один вопрос" in resp.get_data(as_text=True)
    resp = client.post(
        f"/surveys/manage/{survey_id}/questions",
        data={"kind": "scale", "text": "Оценка", "scale_max": "5", "is_required": "y"},
    )
    assert resp.status_code == 302
    assert count(world, SurveyQuestion) == 1


def test_publish_notifies_targets_and_locks_questions(
    world: World, admin: User
) -> None:
    survey_id, q = make_survey(world, admin)
    with world.app.app_context():
        s = world.session()
        notified = set(
            s.scalars(
                select(Notification.user_id).where(
                    Notification.kind == "survey.published"
                )
            )
        )
        outbox = s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "survey.published")
        )
        s.close()
    # Every user of a customer contract; nobody of the supplier.
    assert notified == {world.signer_a.id, world.viewer_a.id, world.signer_b.id}
    assert outbox == 3  # e-mail to each (subscribed by default)

    client = login(world.app, admin)
    resp = client.post(
        f"/surveys/manage/{survey_id}/questions", data={"kind": "text", "text": "Ещё?"}
    )
    assert resp.status_code == 409
    assert "не меняются" in resp.get_data(as_text=True)
    resp = client.post(
        f"/surveys/manage/{survey_id}/questions/{q['text']}/delete", data={}
    )
    assert resp.status_code == 409
    earlier = (TODAY + dt.timedelta(days=5)).isoformat()
    resp = client.post(f"/surveys/manage/{survey_id}", data={"ends_on": earlier})
    assert resp.status_code == 409
    assert "можно только продлить" in resp.get_data(as_text=True)
    later = (TODAY + dt.timedelta(days=60)).isoformat()
    resp = client.post(
        f"/surveys/manage/{survey_id}",
        data={"ends_on": later, "title": "Другое название", "target": "contracts"},
    )
    assert resp.status_code == 302
    with world.app.app_context():
        s = world.session()
        survey = s.get(Survey, survey_id)
        assert survey is not None
        assert survey.ends_on.isoformat() == later
        assert survey.title == "Оценка обслуживания"  # only the period changes
        assert survey.target_all is True
        s.close()
    assert client.post(f"/surveys/manage/{survey_id}/publish").status_code == 409
    assert client.post(f"/surveys/manage/{survey_id}/delete").status_code == 409
    assert client.post(f"/surveys/manage/{survey_id}/close").status_code == 302

    # Closed: no answers, no changes.
    customer = login(world.app, world.signer_a)
    resp = customer.post(f"/surveys/{survey_id}", data=good_answer(q))
    assert resp.status_code == 409
    assert "не принимает ответы" in resp.get_data(as_text=True)
    assert count(world, SurveyResponse) == 0
    assert client.post(f"/surveys/manage/{survey_id}/close").status_code == 409
    resp = client.post(f"/surveys/manage/{survey_id}", data={"ends_on": later})
    assert resp.status_code == 409
    assert "закрыта" in resp.get_data(as_text=True)


def test_a_draft_is_deleted_and_hidden_from_customers(
    world: World, admin: User
) -> None:
    survey_id, _ = make_survey(world, admin, publish=False)
    customer = login(world.app, world.signer_a)
    assert customer.get(f"/surveys/{survey_id}").status_code == 404
    assert "Оценка обслуживания" not in customer.get("/surveys/").get_data(as_text=True)
    client = login(world.app, admin)
    resp = client.post(f"/surveys/manage/{survey_id}/delete")
    assert resp.status_code == 302
    assert count(world, Survey) == 0
    assert count(world, SurveyQuestion) == 0


# -- targeting and answering -------------------------------------------------------------


def test_a_contract_not_targeted_sees_nothing(world: World, admin: User) -> None:
    survey_id, q = make_survey(world, admin, contracts=[world.contract_b.number])
    a = login(world.app, world.signer_a)
    assert a.get(f"/surveys/{survey_id}").status_code == 404
    assert a.post(f"/surveys/{survey_id}", data=good_answer(q)).status_code == 404
    assert "Оценка обслуживания" not in a.get("/surveys/").get_data(as_text=True)
    assert "Оценка обслуживания" not in a.get("/").get_data(as_text=True)
    with world.app.app_context():
        s = world.session()
        notified = set(s.scalars(select(Notification.user_id)))
        s.close()
    assert notified == {world.signer_b.id}
    b = login(world.app, world.signer_b)
    page = b.get("/").get_data(as_text=True)
    assert 'data-testid="widget-surveys"' in page and "Оценка обслуживания" in page
    assert b.post(f"/surveys/{survey_id}", data=good_answer(q)).status_code == 302
    assert count(world, SurveyResponse) == 1
    # Another organisation's answer page and a random survey: 404.
    assert b.get(f"/surveys/{survey_id}?org={world.org_a.id}").status_code == 404
    assert b.get(f"/surveys/{uuid.uuid4()}").status_code == 404
    assert b.get(f"/surveys/{survey_id}?org=чепуха").status_code == 404


def test_an_organisation_answers_once(world: World, admin: User) -> None:
    survey_id, q = make_survey(world, admin)
    viewer = login(world.app, world.viewer_a)
    page = viewer.get(f"/surveys/{survey_id}").get_data(as_text=True)
    assert "правом подписи или управления доступом" in page
    resp = viewer.post(f"/surveys/{survey_id}", data=good_answer(q))
    assert resp.status_code == 403
    assert count(world, SurveyResponse) == 0

    signer = login(world.app, world.signer_a)
    resp = signer.post(
        f"/surveys/{survey_id}", data=good_answer(q), follow_redirects=True
    )
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert "Ответы вашей организации приняты" in text
    assert "Ваша организация уже ответила" in text and "Быстрее отвечать" in text

    again = signer.post(
        f"/surveys/{survey_id}", data=good_answer(q), follow_redirects=True
    )
    assert "уже ответила на эту анкету: ответ принимается один раз" in again.get_data(
        as_text=True
    )
    # The organisation answered: its viewer sees it so, in the widget too.
    page = viewer.get("/").get_data(as_text=True)
    assert 'data-testid="survey-answered"' in page
    assert viewer.post(f"/surveys/{survey_id}", data=good_answer(q)).status_code in (
        302,
        409,
    )
    assert count(world, SurveyResponse) == 1
    assert count(world, SurveyAnswer) == 4


def test_two_submissions_at_once_give_one_response(world: World, admin: User) -> None:
    if world.app.extensions["docflow"].settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers: the race is PostgreSQL's")
    survey_id, q = make_survey(world, admin)
    answers = {f"{q['single']}": ["1"], f"{q['scale']}": ["5"]}
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit() -> None:
        with world.app.app_context():
            s = world.session()
            try:
                user = s.get(User, world.signer_a.id)
                assert user is not None
                barrier.wait(timeout=10)
                with transaction(s):
                    svc.submit_response(
                        s,
                        actor=Actor.for_user(user),
                        survey_id=survey_id,
                        organisation_id=world.org_a.id,
                        answers=answers,
                    )
                outcomes.append("ok")
            except ConflictError as exc:
                assert exc.code == "survey_already_answered"
                outcomes.append("conflict")
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcomes.append(f"{type(exc).__name__}: {exc}")
            finally:
                s.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "ok"], outcomes
    assert count(world, SurveyResponse) == 1
    assert count(world, SurveyAnswer) == 2


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"single": "7"}, "нет среди предложенных"),
        ({"single": "-1"}, "нет среди предложенных"),
        ({"single": ["0", "1"]}, "выберите один вариант"),
        ({"multiple": ["0", "abc"]}, "нет среди предложенных"),
        ({"scale": "11"}, "от 1 до 10"),
        ({"scale": "0"}, "от 1 до 10"),
        ({"scale": "5.5"}, "от 1 до 10"),
        ({"scale": ["1", "2"]}, "от 1 до 10"),
        ({"text": "я" * 100_000}, "длиннее 2000 символов"),
        ({"text": "ответ\x00"}, "управляющие символы"),
        ({"single": ""}, "Ответьте на обязательные вопросы: 1"),
    ],
)
def test_hostile_answers_are_refused(
    world: World, admin: User, override: dict[str, Any], message: str
) -> None:
    survey_id, q = make_survey(world, admin)
    client = login(world.app, world.signer_a)
    resp = client.post(f"/surveys/{survey_id}", data=good_answer(q, **override))
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert count(world, SurveyResponse) == 0


def test_stray_questions_and_json_clients(world: World, admin: User) -> None:
    survey_id, q = make_survey(world, admin)
    client = login(world.app, world.signer_a)
    data = {**good_answer(q), f"q-{uuid.uuid4()}": "1"}
    resp = client.post(f"/surveys/{survey_id}", data=data)
    assert resp.status_code == 422
    assert "которых нет в анкете" in resp.get_data(as_text=True)
    resp = client.post(
        f"/surveys/{survey_id}",
        data={"organisation": "не-uuid"},
        headers={"Accept": "application/json"},
    )
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"
    assert count(world, SurveyResponse) == 0


# -- results ------------------------------------------------------------------------------


def test_results_count_and_export(world: World, admin: User) -> None:
    survey_id, q = make_survey(world, admin)
    a = login(world.app, world.signer_a)
    assert a.post(f"/surveys/{survey_id}", data=good_answer(q)).status_code == 302
    b = login(world.app, world.signer_b)
    answer_b = good_answer(q, single="1", multiple="1", scale="6", text="=HYPERLINK(1)")
    assert b.post(f"/surveys/{survey_id}", data=answer_b).status_code == 302

    with world.app.app_context():
        s = world.session()
        res = svc.results(s, actor=Actor.for_user(s.merge(admin)), survey_id=survey_id)
        s.close()
    assert (res.respondents, res.targeted) == (2, 2)
    by_kind = {r.question.kind: r for r in res.questions}
    single = by_kind["single"]
    assert [(b.label, b.count, b.percent) for b in single.bars] == [
        ("Кабинет", 1, 50.0),
        ("Телефон", 1, 50.0),
        ("Почта", 0, 0.0),
    ]
    multiple = by_kind["multiple"]
    assert [(b.count, b.percent) for b in multiple.bars] == [(1, 50.0), (2, 100.0)]
    scale = by_kind["scale"]
    assert (
        len(scale.bars) == 10 and scale.bars[8].count == 1 and scale.bars[5].count == 1
    )
    assert scale.average == 7.5
    assert sorted(t.text for t in by_kind["text"].texts) == [
        "=HYPERLINK(1)",
        "Быстрее отвечать",
    ]

    clerk = login(world.app, world.clerk)
    page = clerk.get(f"/surveys/manage/{survey_id}/results").get_data(as_text=True)
    assert (
        'data-testid="respondents">2<' in page and 'data-testid="targeted">2<' in page
    )
    assert page.count("<svg") >= 3 and "Быстрее отвечать" in page
    assert "7,50" in page
    resp = clerk.get(f"/surveys/manage/{survey_id}/results.xlsx")
    assert resp.status_code == 200

    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["Ответы", "Сводка"]
    rows = list(wb["Ответы"].iter_rows(values_only=True))
    assert rows[0][:4] == ("Организация", "ИНН", "Ответил", "Дата ответа")
    assert rows[0][4] == "1. Как связываетесь?"
    body = {r[1]: r for r in rows[1:]}
    assert body[world.org_a.inn][4:] == (
        "Кабинет",
        "Документы; Показания",
        9,
        "Быстрее отвечать",
    )
    assert body[world.org_b.inn][4:8] == ("Телефон", "Показания", 6, "=HYPERLINK(1)")
    cell = wb["Ответы"].cell(row=3 if rows[2][1] == world.org_b.inn else 2, column=8)
    assert cell.data_type == "s"  # a customer's text never becomes a formula
    summary = list(wb["Сводка"].iter_rows(values_only=True))
    assert ("Ответили организаций", "2 из 2") == summary[1][:2]
    assert ("1. Как связываетесь?", "Кабинет", 1, 50) == summary[4][:4]
    assert any(r[1] == "Средняя оценка" and r[2] == 7.5 for r in summary)


# -- who may open what -----------------------------------------------------------------------


def test_access_matrix(world: World, admin: User) -> None:
    survey_id, q = make_survey(world, admin)
    pages = {
        "list": "/surveys/manage",
        "new": "/surveys/manage/new",
        "card": f"/surveys/manage/{survey_id}",
        "results": f"/surveys/manage/{survey_id}/results",
        "export": f"/surveys/manage/{survey_id}/results.xlsx",
        "answer": f"/surveys/{survey_id}",
        "index": "/surveys/",
    }
    expected = {
        #            list new  card results export answer index
        "anonymous": (302, 302, 302, 302, 302, 302, 302),
        "signer_a": (404, 404, 404, 404, 404, 200, 200),
        "viewer_a": (404, 404, 404, 404, 404, 200, 200),
        "signer_b": (404, 404, 404, 404, 404, 200, 200),
        "clerk": (200, 403, 200, 200, 200, 302, 302),
        "admin": (200, 200, 200, 200, 200, 302, 302),
    }
    users = {
        "signer_a": world.signer_a,
        "viewer_a": world.viewer_a,
        "signer_b": world.signer_b,
        "clerk": world.clerk,
        "admin": admin,
    }
    for who, codes in expected.items():
        client = (
            world.app.test_client()
            if who == "anonymous"
            else login(world.app, users[who])
        )
        got = tuple(client.get(url).status_code for url in pages.values())
        assert got == codes, who
    # The clerk reads but does not write.
    clerk = login(world.app, world.clerk)
    assert clerk.post(f"/surveys/manage/{survey_id}/close").status_code == 403
    assert clerk.post("/surveys/manage/new", data={"title": "x"}).status_code == 403
    assert "Закрыть анкету" not in clerk.get(f"/surveys/manage/{survey_id}").get_data(
        as_text=True
    )
    # A customer does not learn the supplier's pages exist.
    customer = login(world.app, world.signer_a)
    assert customer.post(f"/surveys/manage/{survey_id}/close").status_code == 404
    assert customer.post(f"/surveys/manage/{survey_id}/publish").status_code == 404
    with world.app.app_context():
        s = world.session()
        assert s.get(Survey, survey_id).status == SurveyStatus.PUBLISHED  # type: ignore[union-attr]
        s.close()
    # The staff have no widget; the customers do.
    assert 'data-testid="widget-surveys"' not in clerk.get("/").get_data(as_text=True)
    assert 'data-testid="widget-surveys"' in customer.get("/").get_data(as_text=True)


# -- the demo world ---------------------------------------------------------------------------


def test_demo_seed_is_idempotent(app: Flask) -> None:
    with app.app_context():
        world = create_demo_world()
        s = app.extensions["docflow"].sessionmaker()
        for _ in range(2):
            with transaction(s):
                seed_demo(s, world)
        surveys = list(s.scalars(select(Survey)))
        assert [x.title for x in surveys] == [TITLE]
        kinds = sorted(q.kind.value for q in surveys[0].questions)
        assert kinds == ["multiple", "scale", "single", "text"]
        assert surveys[0].status == SurveyStatus.PUBLISHED and surveys[0].target_all
        assert s.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.kind == "survey.published")
        )
        s.close()


# -- for the crawl (tests/functional/test_crawl.py) ------------------------------------------


def crawl_surveys(world: World, admin: User) -> dict[str, Any]:
    """A survey published to A's contract and a draft with one question: the
    ids the crawl puts into the surveys' routes."""
    survey_id, _ = make_survey(world, admin, contracts=[world.contract_a.number])
    draft_id, questions = make_survey(world, admin, publish=False)
    return {
        "survey_id": survey_id,
        "survey_draft_id": draft_id,
        "question_id": questions["text"],
        "survey_action": "publish",
    }
