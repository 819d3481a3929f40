"""The main page's layout, kept per user."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import DateTime, ForeignKey, func
from sqlalchemy.orm import Mapped, mapped_column

from docflow.db import Base, utcnow


class WidgetLayout(Base):
    """``layout``: ``{"order": [key, ...], "state": {key: "open" | "collapsed" |
    "docked"}}``. Widgets missing from it take their registered place, open."""

    __tablename__ = "widget_layouts"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    layout: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True),
        default=utcnow,
        onupdate=utcnow,
        server_default=func.now(),
    )
