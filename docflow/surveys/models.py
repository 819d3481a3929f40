"""Surveys (анкетирование): the supplier's questionnaires, whom they target,
and the customers' answers.

The unit that answers is the **organisation** (the client, «Клиент ЮЛ», as in
the cabinet's manual): one response per organisation and survey, enforced by
a unique constraint, so two people of the same company — or two clicks at
once — give one response. The person who answered is kept with it.

A choice answer stores the indices of the options chosen: a published
survey's questions never change, so an index keeps its meaning.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docflow.db import Base, TimestampMixin, created_at, uuid_pk


class SurveyStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


SURVEY_STATUS_TITLES = {
    SurveyStatus.DRAFT: "Черновик",
    SurveyStatus.PUBLISHED: "Опубликована",
    SurveyStatus.CLOSED: "Закрыта",
}


class QuestionKind(enum.StrEnum):
    SINGLE = "single"  # one option
    MULTIPLE = "multiple"  # any number of options
    SCALE = "scale"  # 1..scale_max, with labels at the ends
    TEXT = "text"  # free text


QUESTION_KIND_TITLES = {
    QuestionKind.SINGLE: "Один вариант",
    QuestionKind.MULTIPLE: "Несколько вариантов",
    QuestionKind.SCALE: "Шкала",
    QuestionKind.TEXT: "Свободный ответ",
}


class Survey(TimestampMixin, Base):
    __tablename__ = "surveys"

    id: Mapped[uuid_pk]
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    #: Every customer organisation; otherwise the contracts in ``targets``.
    target_all: Mapped[bool] = mapped_column(default=True)
    status: Mapped[SurveyStatus] = mapped_column(default=SurveyStatus.DRAFT)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    published_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]

    questions: Mapped[list[SurveyQuestion]] = relationship(
        back_populates="survey",
        order_by="[SurveyQuestion.position, SurveyQuestion.created_at]",
        cascade="all, delete-orphan",
    )
    targets: Mapped[list[SurveyTarget]] = relationship(cascade="all, delete-orphan")

    @property
    def status_title(self) -> str:
        return SURVEY_STATUS_TITLES[self.status]


class SurveyQuestion(Base):
    __tablename__ = "survey_questions"

    id: Mapped[uuid_pk]
    survey_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[QuestionKind]
    text: Mapped[str] = mapped_column(String(1000))
    is_required: Mapped[bool] = mapped_column(default=False)
    #: The options of a choice question, in order.
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    scale_max: Mapped[int | None]  # 5 or 10
    scale_min_label: Mapped[str | None] = mapped_column(String(100))
    scale_max_label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[created_at]

    survey: Mapped[Survey] = relationship(back_populates="questions")

    @property
    def kind_title(self) -> str:
        return QUESTION_KIND_TITLES[self.kind]

    @property
    def scale_values(self) -> list[int]:
        return list(range(1, (self.scale_max or 0) + 1))


class SurveyTarget(Base):
    """A contract a survey is addressed to (when not to everyone): its
    organisation answers."""

    __tablename__ = "survey_targets"

    survey_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True
    )


class SurveyResponse(Base):
    """One organisation's answers to one survey."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("survey_id", "organisation_id"),
        Index("ix_survey_responses_organisation_id", "organisation_id"),
    )

    id: Mapped[uuid_pk]
    survey_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE")
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]

    answers: Mapped[list[SurveyAnswer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class SurveyAnswer(Base):
    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("response_id", "question_id"),)

    id: Mapped[uuid_pk]
    response_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE")
    )
    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True
    )
    #: The indices of the options chosen (single: one).
    choices: Mapped[list[int] | None] = mapped_column(JSON)
    scale: Mapped[int | None]
    text: Mapped[str | None] = mapped_column(Text)

    response: Mapped[SurveyResponse] = relationship(back_populates="answers")

    def as_dict(self) -> dict[str, Any]:
        return {"choices": self.choices, "scale": self.scale, "text": self.text}
