"""The tours a user has seen: read into every page, written when a tour is
finished or closed (``POST /tours/<key>/seen``)."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from docflow.db import utcnow
from docflow.errors import NotFoundError, ValidationError
from docflow.tours.models import TourSeen
from docflow.tours.steps import TOURS


class Outcome(enum.StrEnum):
    COMPLETED = "completed"  # went through to the last step
    DISMISSED = "dismissed"  # closed before the end


def seen_pages(session: Session, *, user_id: uuid.UUID) -> list[str]:
    """The keys of the pages whose tour ``user_id`` has finished or closed."""
    return list(
        session.scalars(
            select(TourSeen.page_key)
            .where(TourSeen.user_id == user_id)
            .order_by(TourSeen.page_key)
        )
    )


def mark_seen(
    session: Session, *, user_id: uuid.UUID, key: str, outcome: str
) -> TourSeen:
    """Remember that the user finished or closed the tour of page ``key``.

    Idempotent: a second call (the same tour closed in two tabs, a repeated
    request) updates the row; the first completion is kept.

    :raises NotFoundError: no tour has that key.
    :raises ValidationError: ``outcome`` is neither completed nor dismissed.
    """
    if key not in TOURS:
        raise NotFoundError("Подсказки для этой страницы нет.", code="unknown_tour")
    try:
        result = Outcome(outcome)
    except ValueError:
        raise ValidationError(
            "Итог показа подсказки: completed или dismissed.",
            details={"field": "outcome"},
        ) from None
    row = session.get(TourSeen, (user_id, key))
    if row is None:
        try:
            # A savepoint: two requests at once both find no row; the loser's
            # insert fails on the primary key and updates the winner's row.
            with session.begin_nested():
                row = TourSeen(user_id=user_id, page_key=key)
                session.add(row)
                _stamp(row, result)
                session.flush()
            return row
        except IntegrityError:
            row = session.get(TourSeen, (user_id, key), populate_existing=True)
            if row is None:  # pragma: no cover - the winner's row vanished
                raise
    _stamp(row, result)
    session.flush()
    return row


def _stamp(row: TourSeen, outcome: Outcome) -> None:
    now = utcnow()
    if outcome is Outcome.COMPLETED:
        row.completed_at = row.completed_at or now
    else:
        row.dismissed_at = now
    row.updated_at = now
