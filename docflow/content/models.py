"""News, questions and answers, and the cabinet's editable settings."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from docflow.db import Base, TimestampMixin, utcnow, uuid_pk


class NewsItem(TimestampMixin, Base):
    __tablename__ = "news_items"
    __table_args__ = (Index("ix_news_items_published_on", "published_on"),)

    id: Mapped[uuid_pk]
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    published_on: Mapped[dt.date]
    is_published: Mapped[bool] = mapped_column(default=True)


class FaqEntry(TimestampMixin, Base):
    __tablename__ = "faq_entries"

    id: Mapped[uuid_pk]
    question: Mapped[str] = mapped_column(String(500))
    answer: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=100)
    is_published: Mapped[bool] = mapped_column(default=True)


class SiteSetting(Base):
    """A value the supplier's administrator edits in the cabinet (the general
    contacts, for one), kept as JSON under a stable key."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True),
        default=utcnow,
        onupdate=utcnow,
        server_default=func.now(),
    )
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
