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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from docflow.accounts.models import User
from docflow.audit import RequestInfo
from docflow.db import enqueue_after_commit, is_postgres, utcnow
from docflow.notify.config import DEFAULT_POLICY, OutboxPolicy
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

# The defaults of OutboxPolicy, kept as names for readers and older callers.
MAX_ATTEMPTS = DEFAULT_POLICY.max_attempts
BASE_BACKOFF = DEFAULT_POLICY.backoff
MAX_BACKOFF = DEFAULT_POLICY.max_backoff
SWEEP_GRACE = DEFAULT_POLICY.sweep_grace


def _enqueue_relay(session: Session, ids: list[uuid.UUID]) -> None:
    """Queue one relay task per row once the transaction commits. A broker that
    is down costs the commit nothing: the rows wait for the sweep."""
    if not ids:
        return

    def send() -> None:
        from docflow.notify.tasks import enqueue_relay

        enqueue_relay(ids)

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


def has_notification_linking(session: Session, *, user_id: uuid.UUID, link: str) -> bool:
    """Whether ``user_id`` was notified with a link to ``link`` (and kept it)."""
    return session.scalar(
        select(Notification.id)
        .where(Notification.user_id == user_id, Notification.link == link)
        .limit(1)
    ) is not None


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
#
# A relay task is only a hint that a row may be due; the row is the truth. The
# relay runs in two transactions:
#
# 1. the claim: lock the row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), check
#    that it is pending and due, count the attempt and commit. An attempt is
#    counted even when the process dies during the send, so a message that kills
#    its worker cannot loop for ever through ``reject_on_worker_lost``: it runs
#    out of attempts like any other;
# 2. the send: lock the row again, check that nobody claimed it in between (the
#    attempt number is unchanged), send while holding the lock, and record the
#    outcome; the caller commits.
#
# The row lock keeps two workers from sending the same row at once: a second
# task for a row being sent finds it locked and gives up (BUSY); if the first
# worker dies, its task is redelivered (acks_late) or the sweep re-queues the
# row. A worker that dies after the SMTP server accepted a message, before the
# outcome was committed, leaves the row pending; the e-mail channel's
# :class:`DatabaseSentRegistry` (committed on its own right after the server's
# 250) makes the next attempt skip the send. SMS and webhooks are at least
# once: receivers deduplicate by the message id.


class RelayOutcome:
    SENT = "sent"
    ALREADY_DONE = "already_done"
    RETRY = "retry"
    FAILED = "failed"
    NOT_DUE = "not_due"
    BUSY = "busy"


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite returns naive datetimes for DateTime(timezone=True); they are UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _lock_row(session: Session, message_id: uuid.UUID) -> OutboxMessage | None:
    # populate_existing: the row may already be in the identity map with the
    # values of the previous transaction.
    stmt = (select(OutboxMessage).where(OutboxMessage.id == message_id)
            .execution_options(populate_existing=True))
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalar(stmt)


def _unlocked_outcome(session: Session, message_id: uuid.UUID) -> str:
    """Why :func:`_lock_row` found nothing: gone or finished, or locked."""
    status = session.scalar(select(OutboxMessage.status).where(OutboxMessage.id == message_id))
    return RelayOutcome.BUSY if status == OutboxStatus.PENDING else RelayOutcome.ALREADY_DONE


def _retry_or_fail(
    row: OutboxMessage, error: str, now: dt.datetime, policy: OutboxPolicy
) -> tuple[str, dt.timedelta | None]:
    row.last_error = error[:2000]
    if row.attempts >= policy.max_attempts:
        row.status = OutboxStatus.FAILED
        row.next_attempt_at = None
        log.error("outbox %s failed after %s attempts: %s", row.id, row.attempts, error)
        return RelayOutcome.FAILED, None
    delay = policy.delay(row.attempts)
    row.next_attempt_at = now + delay
    log.warning("outbox %s attempt %s failed, retry in %s: %s", row.id, row.attempts,
                delay, error)
    return RelayOutcome.RETRY, delay


def relay_message(
    session: Session,
    message_id: uuid.UUID,
    *,
    channel_for: Callable[[OutboxMessage], Any],
    now: dt.datetime | None = None,
    policy: OutboxPolicy | None = None,
) -> tuple[str, dt.timedelta | None]:
    """Deliver one outbox row. Returns the outcome and, for a retry, the delay.

    Unlike other services this one commits once, in the middle: the claimed
    attempt (see the comment above). The caller commits the outcome.

    :param channel_for: the channel object for a row (``.send(message)``).
    :param now: the current time (for tests); the outcome is stamped with the
        time after the send otherwise.
    :param policy: attempts and back-off; :data:`DEFAULT_POLICY` by default.
    """
    from notifications import (
        NotificationError,
        PermanentDeliveryError,
        TransientDeliveryError,
        compose_message,
    )

    policy = policy or DEFAULT_POLICY
    started = now or utcnow()
    row = _lock_row(session, message_id)
    if row is None:
        return _unlocked_outcome(session, message_id), None
    if row.status != OutboxStatus.PENDING:
        return RelayOutcome.ALREADY_DONE, None
    due = _aware(row.next_attempt_at)
    if due is not None and due > started:
        return RelayOutcome.NOT_DUE, due - started
    if row.attempts >= policy.max_attempts:
        # The last claimed attempt never reported back: its worker died,
        # perhaps after the SMTP server had accepted the message.
        if session.get(DeliveredMessage, str(row.id)) is not None:
            row.status = OutboxStatus.SENT
            row.sent_at = started
            row.next_attempt_at = None
            row.last_error = None
            return RelayOutcome.SENT, None
        row.status = OutboxStatus.FAILED
        row.next_attempt_at = None
        row.last_error = (f"attempt {row.attempts} did not finish (the worker stopped); "
                          f"last error: {row.last_error or '—'}")[:2000]
        log.error("outbox %s failed: %s", row.id, row.last_error)
        return RelayOutcome.FAILED, None
    row.attempts += 1
    attempt = row.attempts
    session.commit()  # the claim

    row = _lock_row(session, message_id)
    if row is None or row.status != OutboxStatus.PENDING or row.attempts != attempt:
        return RelayOutcome.BUSY, None
    try:
        message = compose_message(
            id=str(row.id), kind=row.kind, channel=row.channel.value, recipient=row.recipient,
            context=row.context, created_at=_aware(row.created_at),
        )
        channel_for(row).send(message)
    except TransientDeliveryError as exc:
        return _retry_or_fail(row, str(exc), now or utcnow(), policy)
    except (PermanentDeliveryError, NotificationError, ValueError, KeyError) as exc:
        row.status = OutboxStatus.FAILED
        row.next_attempt_at = None
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        log.error("outbox %s failed permanently: %s", row.id, exc)
        return RelayOutcome.FAILED, None
    except Exception as exc:
        # Not a verdict on the message (a bug, the sent registry's database):
        # at least once means trying again, within the same attempt budget.
        log.exception("outbox %s: unexpected error while sending", row.id)
        return _retry_or_fail(row, f"{type(exc).__name__}: {exc}", now or utcnow(), policy)
    row.status = OutboxStatus.SENT
    row.sent_at = now or utcnow()
    row.next_attempt_at = None
    row.last_error = None
    return RelayOutcome.SENT, None


def _overdue(now: dt.datetime, policy: OutboxPolicy) -> Any:
    """Pending rows whose relay is late by more than the grace: never enqueued
    (the broker was down), or a retry whose task was lost."""
    cutoff = now - policy.sweep_grace
    return (OutboxMessage.status == OutboxStatus.PENDING) & (
        (OutboxMessage.next_attempt_at.is_(None) & (OutboxMessage.created_at <= cutoff))
        | (OutboxMessage.next_attempt_at <= cutoff)
    )


def due_for_sweep(session: Session, *, now: dt.datetime | None = None,
                  limit: int = 500, policy: OutboxPolicy | None = None) -> list[uuid.UUID]:
    """Ids of pending rows whose relay is overdue (see :func:`requeue_overdue`)."""
    stmt = (select(OutboxMessage.id).where(_overdue(now or utcnow(), policy or DEFAULT_POLICY))
            .order_by(OutboxMessage.created_at).limit(limit))
    return list(session.scalars(stmt))


def requeue_overdue(session: Session, *, now: dt.datetime | None = None, limit: int = 500,
                    policy: OutboxPolicy | None = None) -> list[uuid.UUID]:
    """The sweep: queue a relay for every overdue row, after the commit.

    Rows being sent (locked) are skipped. Each re-queued row gets
    ``next_attempt_at = now``, so the next sweep leaves it alone for the grace
    period instead of piling up duplicate tasks behind a slow worker.
    """
    now = now or utcnow()
    stmt = (select(OutboxMessage.id).where(_overdue(now, policy or DEFAULT_POLICY))
            .order_by(OutboxMessage.created_at).limit(limit))
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(session.scalars(stmt))
    if ids:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                        .values(next_attempt_at=now))
        _enqueue_relay(session, ids)
        log.info("sweep re-queued %d outbox messages", len(ids))
    return ids


# -- the administrators' view --------------------------------------------------


def outbox_counts(session: Session, *, now: dt.datetime | None = None,
                  policy: OutboxPolicy | None = None) -> dict[str, int]:
    """Rows per status, and ``overdue``: pending rows the sweep would re-queue."""
    counts = {status.value: 0 for status in OutboxStatus}
    for status, n in session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ):
        counts[OutboxStatus(status).value] = int(n)
    counts["overdue"] = int(session.scalar(
        select(func.count()).select_from(OutboxMessage)
        .where(_overdue(now or utcnow(), policy or DEFAULT_POLICY))
    ) or 0)
    return counts


def failed_messages(session: Session, *, limit: int = 200) -> list[OutboxMessage]:
    return list(session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id).limit(limit)
    ))


def overdue_messages(session: Session, *, now: dt.datetime | None = None, limit: int = 200,
                     policy: OutboxPolicy | None = None) -> list[OutboxMessage]:
    return list(session.scalars(
        select(OutboxMessage).where(_overdue(now or utcnow(), policy or DEFAULT_POLICY))
        .order_by(OutboxMessage.created_at, OutboxMessage.id).limit(limit)
    ))


def retry_failed(
    session: Session,
    *,
    actor: User | None,
    message_ids: Iterable[uuid.UUID] | None = None,
    actor_label: str | None = None,
    request_info: RequestInfo | None = None,
) -> list[uuid.UUID]:
    """Give failed rows (the given ones, or all) a fresh start and queue them.

    The attempt counter is reset to zero: an administrator retries after fixing
    the cause (``SMTP_URL``, a mailbox), and the message deserves the whole
    back-off schedule again, not one last try. The last error is kept until the
    next attempt overwrites it. Each retry is written to the audit log.

    :returns: the ids put back to pending (ids that are not failed are ignored).
    """
    from docflow.audit import record

    stmt = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
    if message_ids is not None:
        wanted = list(message_ids)
        if not wanted:
            return []
        stmt = stmt.where(OutboxMessage.id.in_(wanted))
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.scalars(stmt.order_by(OutboxMessage.created_at)))
    now = utcnow()
    for row in rows:
        record(session, actor=actor, action="outbox.retry", object_type="outbox_message",
               object_id=row.id, actor_label=actor_label, request_info=request_info,
               details={"kind": row.kind, "channel": row.channel.value,
                        "attempts": row.attempts, "last_error": (row.last_error or "")[:300]})
        row.status = OutboxStatus.PENDING
        row.attempts = 0
        # now, not None: the relay is queued below; the sweep waits its grace.
        row.next_attempt_at = now
    session.flush()
    ids = [row.id for row in rows]
    _enqueue_relay(session, ids)
    return ids


def backoff(attempts: int) -> dt.timedelta:
    """The default policy's back-off after ``attempts`` failures."""
    return DEFAULT_POLICY.delay(attempts)


class DatabaseSentRegistry:
    """The SMTP channel's :class:`notifications.SentRegistry`, kept in
    ``delivered_messages`` and written in a transaction of its own, committed
    right after the SMTP server accepted the message: a worker that dies before
    the outbox row is marked sent does not send it again."""

    def __init__(self, sessionmaker: Any) -> None:
        self._sessionmaker = sessionmaker

    def was_sent(self, message_id: str) -> bool:
        with self._sessionmaker() as s:
            return s.get(DeliveredMessage, message_id) is not None

    def mark_sent(self, message_id: str) -> None:
        with self._sessionmaker() as s:
            if s.get(DeliveredMessage, message_id) is not None:
                return
            s.add(DeliveredMessage(message_id=message_id))
            try:
                s.commit()
            except IntegrityError:
                s.rollback()  # recorded concurrently: just as good


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
