"""What the tours module keeps: the tours each user has seen, and the grid
company's account number stored per contract."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from docflow.db import Base, utcnow


class TourSeen(Base):
    """A user finished (``completed_at``) or closed early (``dismissed_at``)
    the tour of a page: it is not started by itself there again; the «?»
    button still opens it."""

    __tablename__ = "tours_seen"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    page_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    dismissed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True),
        default=utcnow,
        onupdate=utcnow,
        server_default=func.now(),
    )


class GridAccount(Base):
    """The customer's account number in the grid company's cabinet (ЛК
    МОЭСК) for a contract, passed in the link to that cabinet."""

    __tablename__ = "grid_accounts"

    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True
    )
    account: Mapped[str] = mapped_column(String(30))
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True),
        default=utcnow,
        onupdate=utcnow,
        server_default=func.now(),
    )
