"""Publishing events and relaying the outbox.

:func:`publish` writes the event, the in-app notifications and one outbox row
per recipient and channel into the caller's transaction, and queues the relay
for after the commit: a rolled-back change notifies nobody, a committed one
notifies everyone at least once (the sweep re-queues rows whose relay never ran,
for example because the broker was down).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from docflow.accounts.models import User
from docflow.db import enqueue_after_commit, utcnow
from docflow.notify.models import (
    Channel,
    DeliveredMessage,
    Event,
    Notification,
    OutboxMessage,
    OutboxStatus,
    Subscription,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF = dt.timedelta(seconds=30)
MAX_BACKOFF = dt.timedelta(hours=2)
# A pending row younger than this is assumed to have its relay task on the way.
SWEEP_GRACE = dt.timedelta(minutes=2)


def backoff(attempts: int) -> dt.timedelta:
    """Exponential back-off: 30 s, 1 min, 2 min, ... capped at two hours."""
    return min(BASE_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _enqueue_relay(session: Session, ids: list[uuid.UUID]) -> None:
    if not ids:
        return

    def send() -> None:
        from docflow.notify.tasks import relay_outbox_message

        for mid in ids:
            try:
                relay_outbox_message.delay(str(mid))
            except Exception:  # noqa: BLE001 - the broker may be down; the sweep retries
                log.warning("could not enqueue outbox message %s; the sweep will", mid)

    enqueue_after_commit(session, send)


def send_account_message(
    session: Session, *, kind: str, user: User | None, email: str, context: dict[str, Any]
) -> OutboxMessage:
    """A transactional e-mail (confirmation, recovery, invitation): always sent,
    whatever the subscriptions say."""
    msg = OutboxMessage(
        kind=kind, channel=Channel.EMAIL, recipient=email,
        user_id=user.id if user else None, context=context,
    )
    session.add(msg)
    session.flush()
    _enqueue_relay(session, [msg.id])
    return msg


def subscription_for(session: Session, user_id: uuid.UUID, kind: str) -> tuple[bool, bool]:
    """(e-mail, SMS) for one user and event kind; e-mail on, SMS off by default."""
    sub = session.scalar(
        select(Subscription).where(Subscription.user_id == user_id, Subscription.kind == kind)
    )
    if sub is None:
        return True, False
    return sub.email, sub.sms


def set_subscription(
    session: Session, *, user: User, kind: str, email: bool, sms: bool
) -> Subscription:
    sub = session.scalar(
        select(Subscription).where(Subscription.user_id == user.id, Subscription.kind == kind)
    )
    if sub is None:
        sub = Subscription(user_id=user.id, kind=kind)
        session.add(sub)
    sub.email, sub.sms = email, sms
    session.flush()
    return sub


@dataclass(frozen=True)
class Published:
    event: Event
    outbox_ids: tuple[uuid.UUID, ...]


def publish(
    session: Session,
    *,
    kind: str,
    users: Iterable[User],
    context: dict[str, Any],
    title: str,
    body: str = "",
    link: str | None = None,
    organisation_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
    webhooks: Iterable[tuple[uuid.UUID, str]] = (),
) -> Published:
    """Record an event and notify ``users`` (in the cabinet, and by e-mail and
    SMS as each subscribed) and the given webhook endpoints ``(id, url)``."""
    event = Event(kind=kind, organisation_id=organisation_id, payload=payload or context)
    session.add(event)
    session.flush()
    rows: list[OutboxMessage] = []
    seen: set[uuid.UUID] = set()
    for user in users:
        if user.id in seen or not user.is_active:
            continue
        seen.add(user.id)
        session.add(Notification(user_id=user.id, event_id=event.id, kind=kind,
                                 title=title, body=body, link=link))
        by_email, by_sms = subscription_for(session, user.id, kind)
        if by_email and user.is_email_confirmed:
            rows.append(OutboxMessage(event_id=event.id, kind=kind, channel=Channel.EMAIL,
                                      recipient=user.email, user_id=user.id, context=context))
        if by_sms and user.phone and user.phone_confirmed:
            rows.append(OutboxMessage(event_id=event.id, kind=kind, channel=Channel.SMS,
                                      recipient=user.phone, user_id=user.id, context=context))
    for webhook_id, url in webhooks:
        rows.append(OutboxMessage(event_id=event.id, kind=kind, channel=Channel.WEBHOOK,
                                  recipient=url, webhook_id=webhook_id,
                                  context={"event_id": event.id, **(payload or context)}))
    session.add_all(rows)
    session.flush()
    _enqueue_relay(session, [r.id for r in rows])
    return Published(event, tuple(r.id for r in rows))


# -- in-app notifications ----------------------------------------------------

def list_notifications(session: Session, *, user: User, limit: int = 100) -> list[Notification]:
    return list(session.scalars(
        select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id).limit(limit)
    ))


def unread_count(session: Session, *, user: User) -> int:
    return int(session.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0)


def mark_read(session: Session, *, user: User, notification_id: uuid.UUID | None = None) -> int:
    """Mark one (or, with no id, every) notification of ``user`` read."""
    stmt = update(Notification).where(Notification.user_id == user.id,
                                      Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    return session.execute(stmt.values(read_at=utcnow())).rowcount  # type: ignore[attr-defined,no-any-return]


def delete_notifications(
    session: Session, *, user: User, notification_id: uuid.UUID | None = None
) -> int:
    stmt = delete(Notification).where(Notification.user_id == user.id)
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    return session.execute(stmt).rowcount  # type: ignore[attr-defined,no-any-return]


# -- relay ---------------------------------------------------------------------

class RelayOutcome:
    SENT = "sent"
    ALREADY_DONE = "already_done"
    RETRY = "retry"
    FAILED = "failed"
    NOT_DUE = "not_due"


def relay_message(
    session: Session,
    message_id: uuid.UUID,
    *,
    channel_for: Callable[[OutboxMessage], Any],
    now: dt.datetime | None = None,
) -> tuple[str, dt.timedelta | None]:
    """Deliver one outbox row. Returns the outcome and, for a retry, the delay.

    The row is locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) so that two
    workers never send the same row at once; a row already sent is skipped, so
    a redelivered task does not send twice.
    """
    from notifications import (
        NotificationError,
        PermanentDeliveryError,
        TransientDeliveryError,
        compose_message,
    )

    now = now or utcnow()
    stmt = select(OutboxMessage).where(OutboxMessage.id == message_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    row = session.scalar(stmt)
    if row is None or row.status != OutboxStatus.PENDING:
        return RelayOutcome.ALREADY_DONE, None
    if row.next_attempt_at is not None:
        due = row.next_attempt_at if row.next_attempt_at.tzinfo else row.next_attempt_at.replace(
            tzinfo=dt.UTC)
        if due > now:
            return RelayOutcome.NOT_DUE, due - now
    row.attempts += 1
    try:
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
        message = compose_message(
            id=str(row.id), kind=row.kind, channel=row.channel.value, recipient=row.recipient,
            context=row.context, created_at=created,
        )
        channel_for(row).send(message)
    except TransientDeliveryError as exc:
        row.last_error = str(exc)[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = OutboxStatus.FAILED
            log.error("outbox %s failed after %s attempts: %s", row.id, row.attempts, exc)
            return RelayOutcome.FAILED, None
        delay = backoff(row.attempts)
        row.next_attempt_at = now + delay
        return RelayOutcome.RETRY, delay
    except (PermanentDeliveryError, NotificationError, ValueError, KeyError) as exc:
        row.status = OutboxStatus.FAILED
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        log.error("outbox %s failed permanently: %s", row.id, exc)
        return RelayOutcome.FAILED, None
    row.status = OutboxStatus.SENT
    row.sent_at = now
    row.last_error = None
    return RelayOutcome.SENT, None


def due_for_sweep(session: Session, *, now: dt.datetime | None = None,
                  limit: int = 500) -> list[uuid.UUID]:
    """Pending rows whose relay is overdue: never enqueued, or a retry now due."""
    now = now or utcnow()
    stmt = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING)
        .where(
            ((OutboxMessage.next_attempt_at.is_(None))
             & (OutboxMessage.created_at <= now - SWEEP_GRACE))
            | (OutboxMessage.next_attempt_at <= now)
        )
        .order_by(OutboxMessage.created_at)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def failed_messages(session: Session, *, limit: int = 200) -> list[OutboxMessage]:
    return list(session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
        .order_by(OutboxMessage.created_at.desc()).limit(limit)
    ))


class DatabaseSentRegistry:
    """The SMTP channel's :class:`notifications.SentRegistry`, kept in
    ``delivered_messages`` and written in a transaction of its own."""

    def __init__(self, sessionmaker: Any) -> None:
        self._sessionmaker = sessionmaker

    def was_sent(self, message_id: str) -> bool:
        with self._sessionmaker() as s:
            return s.get(DeliveredMessage, message_id) is not None

    def mark_sent(self, message_id: str) -> None:
        with self._sessionmaker() as s:
            if s.get(DeliveredMessage, message_id) is None:
                s.add(DeliveredMessage(message_id=message_id))
                s.commit()


# -- added for contracts and the profile (issue 8) ------------------------------


def send_sms_message(
    session: Session, *, kind: str, user: User | None, phone: str, context: dict[str, Any]
) -> OutboxMessage:
    """A transactional SMS (a phone confirmation code): always sent, whatever
    the subscriptions say, to the number given (it is not confirmed yet)."""
    msg = OutboxMessage(
        kind=kind, channel=Channel.SMS, recipient=phone,
        user_id=user.id if user else None, context=context,
    )
    session.add(msg)
    session.flush()
    _enqueue_relay(session, [msg.id])
    return msg


def notify_in_app(
    session: Session,
    *,
    users: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    link: str | None = None,
) -> int:
    """Only the in-app notification, for a to-do that has no message template
    (an administrator's pending access request). Returns how many were added."""
    seen: set[uuid.UUID] = set()
    for user in users:
        if user.id in seen or not user.is_active:
            continue
        seen.add(user.id)
        session.add(Notification(user_id=user.id, kind=kind, title=title, body=body,
                                 link=link))
    session.flush()
    return len(seen)
