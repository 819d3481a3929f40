"""The demo world's survey: «Оценка качества обслуживания», published to
every customer, one question of each kind, open for two months from the day
the world is made; its customers are notified in the cabinet.

Idempotent: a survey with this title already there is left as it is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.accounts.models import Role, User
from docflow.context import current_runtime
from docflow.db import utcnow
from docflow.surveys.models import QuestionKind, Survey, SurveyQuestion, SurveyStatus
from docflow.surveys.services import notify_published, today

TITLE = "Оценка качества обслуживания"
DESCRIPTION = (
    "Помогите нам стать лучше: ответьте, пожалуйста, на несколько вопросов о "
    "работе с личным кабинетом и обслуживании. Это займёт не больше трёх минут."
)
QUESTIONS: list[dict[str, Any]] = [
    {
        "kind": QuestionKind.SCALE,
        "text": "Насколько вы довольны обслуживанием в целом?",
        "is_required": True,
        "scale_max": 10,
        "scale_min_label": "Совсем не доволен",
        "scale_max_label": "Полностью доволен",
    },
    {
        "kind": QuestionKind.SINGLE,
        "text": "Как чаще всего вы связываетесь с нами?",
        "is_required": True,
        "options": [
            "Личный кабинет",
            "Электронная почта",
            "Телефон",
            "Визит в офис",
        ],
    },
    {
        "kind": QuestionKind.MULTIPLE,
        "text": "Какими разделами кабинета вы пользуетесь?",
        "options": [
            "Документооборот",
            "Показания",
            "Обращения",
            "Оплата",
            "Коммерческие услуги",
        ],
    },
    {
        "kind": QuestionKind.TEXT,
        "text": "Что нам стоит улучшить?",
    },
]


def seed_demo(session: Session, world: dict[str, Any]) -> None:
    if session.scalar(select(Survey.id).where(Survey.title == TITLE)) is not None:
        world["surveys"] = {"title": TITLE}
        return
    admin = session.scalar(select(User).where(User.role == Role.ADMIN).limit(1))
    start = today()
    survey = Survey(
        title=TITLE,
        description=DESCRIPTION,
        starts_on=start,
        ends_on=start + dt.timedelta(days=60),
        target_all=True,
        status=SurveyStatus.PUBLISHED,
        published_at=utcnow(),
        created_by_id=admin.id if admin else None,
    )
    survey.questions = [
        SurveyQuestion(position=i, **q) for i, q in enumerate(QUESTIONS, start=1)
    ]
    session.add(survey)
    session.flush()
    notify_published(session, survey, runtime=current_runtime())
    world["surveys"] = {"title": TITLE}
