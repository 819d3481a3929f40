"""Appeals (обращения) of customers to the supplier: the topics the supplier
keeps, the appeals with their documents in the flow, and each appeal's status
history.

An appeal's PDF (with the customer's attachments) is a document of type
``appeal`` in the flow; the supplier's answer, a document of type
``appeal_answer``. The deadline of an answer is counted from the moment the
appeal is registered (for a legally significant topic: when the customer has
signed it) plus the topic's hours, and kept on the appeal (``due_at``), so a
later change of the topic's hours does not move deadlines already promised.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docflow.contracts.models import Contract, Organisation
from docflow.db import Base, TimestampMixin, created_at, uuid_pk


class AppealStatus(enum.StrEnum):
    # A legally significant appeal waits for the customer's signature: it
    # counts as filed when signed.
    AWAITING_SIGNATURE = "awaiting_signature"
    REGISTERED = "registered"
    IN_WORK = "in_work"
    ANSWERED = "answered"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


APPEAL_STATUS_TITLES = {
    AppealStatus.AWAITING_SIGNATURE: "Ожидает подписи",
    AppealStatus.REGISTERED: "Зарегистрировано",
    AppealStatus.IN_WORK: "В работе",
    AppealStatus.ANSWERED: "Ответ дан",
    AppealStatus.CLOSED: "Закрыто",
    AppealStatus.WITHDRAWN: "Отозвано",
}


class AppealTopic(TimestampMixin, Base):
    """A topic (тематика) of appeals, kept by the supplier."""

    __tablename__ = "appeal_topics"

    id: Mapped[uuid_pk]
    title: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # An appeal on it is signed with the customer's qualified signature.
    is_significant: Mapped[bool] = mapped_column(default=False)
    answer_hours: Mapped[int] = mapped_column(default=72)
    is_active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)


class AppealCounter(Base):
    """The last registration number of a year: incremented under a row lock
    (PostgreSQL) or the database's write lock (SQLite), so two appeals filed at
    once get two numbers, never one."""

    __tablename__ = "appeal_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


class Appeal(TimestampMixin, Base):
    __tablename__ = "appeals"
    __table_args__ = (
        UniqueConstraint("number"),
        # The wizard's one-time token: a form sent twice files one appeal.
        UniqueConstraint("organisation_id", "submission_key"),
        Index("ix_appeals_contract_id_created_at", "contract_id", "created_at"),
        Index("ix_appeals_status_due_at", "status", "due_at"),
    )

    id: Mapped[uuid_pk]
    number: Mapped[str] = mapped_column(String(30))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"))
    topic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeal_topics.id"))
    status: Mapped[AppealStatus]
    is_significant: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str] = mapped_column(Text)
    contact_name: Mapped[str] = mapped_column(String(300))
    contact_phone: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(20), default="web")
    submission_key: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"))
    registered_at: Mapped[dt.datetime | None]
    due_at: Mapped[dt.datetime | None]
    taken_at: Mapped[dt.datetime | None]
    taken_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    answered_at: Mapped[dt.datetime | None]
    answered_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    answer_text: Mapped[str | None] = mapped_column(Text)
    answer_document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id")
    )
    closed_at: Mapped[dt.datetime | None]
    withdrawn_at: Mapped[dt.datetime | None]

    organisation: Mapped[Organisation] = relationship()
    contract: Mapped[Contract] = relationship()
    topic: Mapped[AppealTopic] = relationship()
    history: Mapped[list[AppealHistory]] = relationship(
        back_populates="appeal", order_by="AppealHistory.created_at"
    )

    @property
    def status_title(self) -> str:
        return APPEAL_STATUS_TITLES[self.status]


class AppealHistory(Base):
    """One change of an appeal's status: who, when, and a note."""

    __tablename__ = "appeal_history"

    id: Mapped[uuid_pk]
    appeal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appeals.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[AppealStatus]
    actor_label: Mapped[str] = mapped_column(String(300))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[created_at]

    appeal: Mapped[Appeal] = relationship(back_populates="history")

    @property
    def status_title(self) -> str:
        return APPEAL_STATUS_TITLES[self.status]
