"""Publishing events and relaying the outbox.

Two ways to publish, both in the caller's transaction, so that a rolled-back
change notifies nobody and a committed one notifies everyone at least once:

* :func:`publish` writes the event, the in-app notifications and one outbox
  row per recipient and channel at once (a caller that names its users);
* :func:`announce` writes only the events of one state change, each with its
  audience, in one statement: the relay makes their notifications and outbox
  rows (:func:`fan_out_pending`). The document flow announces: its requests
  do not wait on the fan-out, which costs more than their own work.

Either queues one relay task for after the commit, however many events the
transaction wrote. The relay (:func:`relay_due`) drains in batches: it fans
out every pending event and delivers every due row, whoever wrote them, so a
relay that never ran (the broker was down) is made up for by the next one,
and the sweep backs them all up.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from docflow.access import Right, supplier_staff, users_with_right
from docflow.accounts.models import User
from docflow.accounts.services import account_message
from docflow.audit import RequestInfo, record
from docflow.config import DEFAULT_POLICY, OutboxPolicy
from docflow.db import enqueue_after_commit, is_postgres, utcnow
from docflow.outbox import dispatch
from docflow.outbox.dispatch import RELAY_TASK
from docflow.outbox.models import (
    Channel,
    DeliveredMessage,
    Event,
    Notification,
    OutboxMessage,
    OutboxStatus,
    Subscription,
    Webhook,
)
from docflow.outbox.webhooks import webhook_targets
from notifications import (
    NotificationError,
    PermanentDeliveryError,
    TransientDeliveryError,
    compose_message,
)

log = logging.getLogger(__name__)

# The defaults of OutboxPolicy, kept as names for readers and older callers.
MAX_ATTEMPTS = DEFAULT_POLICY.max_attempts

#: How many events one fan-out, and how many rows one delivery, takes at once.
RELAY_BATCH = 100


def _enqueue_relay(session: Session) -> None:
    """Queue the relay once the transaction commits: one task, whatever the
    transaction wrote. A broker that is down costs the commit nothing: the
    rows wait for the next relay or the sweep."""

    def send() -> None:
        # Looked up at commit time: the write-path tests replace it.
        dispatch.enqueue_relay()

    enqueue_after_commit(session, send, once=RELAY_TASK)


def send_account_message(
    session: Session,
    *,
    kind: str,
    user: User | None,
    email: str,
    context: dict[str, Any],
) -> OutboxMessage:
    """A transactional e-mail (confirmation, recovery, invitation): always sent,
    whatever the subscriptions say."""
    return _transactional(session, Channel.EMAIL, kind, user, email, context)


def _transactional(
    session: Session,
    channel: Channel,
    kind: str,
    user: User | None,
    recipient: str,
    context: dict[str, Any],
) -> OutboxMessage:
    """One message past the subscriptions, relayed after the commit."""
    msg = OutboxMessage(
        kind=kind,
        channel=channel,
        recipient=recipient,
        user_id=user.id if user else None,
        context=context,
    )
    session.add(msg)
    session.flush()
    _enqueue_relay(session)
    return msg


def connect_account_messages() -> None:
    """Write the account e-mails (:data:`docflow.accounts.services.account_message`)
    as outbox rows: called by ``create_app``. Connecting again changes nothing."""
    account_message.connect(send_account_message, weak=False)


def subscription_for(
    session: Session, user_id: uuid.UUID, kind: str
) -> tuple[bool, bool]:
    """(e-mail, SMS) for one user and event kind; e-mail on, SMS off by default."""
    return _subscriptions(session, [user_id], [kind]).get(
        (user_id, kind), (True, False)
    )


def _subscriptions(
    session: Session, user_ids: Collection[uuid.UUID], kinds: Collection[str]
) -> dict[tuple[uuid.UUID, str], tuple[bool, bool]]:
    """The (e-mail, SMS) choices users made, in one query; a pair that is
    missing keeps the defaults (e-mail on, SMS off)."""
    if not user_ids or not kinds:
        return {}
    rows = session.execute(
        select(
            Subscription.user_id,
            Subscription.kind,
            Subscription.email,
            Subscription.sms,
        ).where(
            Subscription.user_id.in_(set(user_ids)), Subscription.kind.in_(set(kinds))
        )
    )
    return {(user_id, kind): (email, sms) for user_id, kind, email, sms in rows}


def set_subscription(
    session: Session, *, user: User, kind: str, email: bool, sms: bool
) -> Subscription:
    sub = session.scalar(
        select(Subscription).where(
            Subscription.user_id == user.id, Subscription.kind == kind
        )
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


@dataclass(frozen=True)
class _Fanout:
    """Everything the notifications of one event need, besides its users."""

    event_id: int
    kind: str
    context: dict[str, Any]
    title: str
    body: str
    link: str | None
    webhook_context: dict[str, Any]


def _active(users: Iterable[User]) -> list[User]:
    seen: set[uuid.UUID] = set()
    people = []
    for user in users:
        if user.id in seen or not user.is_active:
            continue
        seen.add(user.id)
        people.append(user)
    return people


def _messages(
    what: _Fanout,
    people: Sequence[User],
    choices: dict[tuple[uuid.UUID, str], tuple[bool, bool]],
    webhooks: Iterable[tuple[uuid.UUID, str]],
) -> tuple[list[Notification], list[OutboxMessage]]:
    """The in-app notifications and outbox rows of one event: per person as
    subscribed, and one per webhook endpoint."""
    notes: list[Notification] = []
    rows: list[OutboxMessage] = []
    for user in people:
        notes.append(
            Notification(
                user_id=user.id,
                event_id=what.event_id,
                kind=what.kind,
                title=what.title,
                body=what.body,
                link=what.link,
            )
        )
        by_email, by_sms = choices.get((user.id, what.kind), (True, False))
        if by_email and user.is_email_confirmed:
            rows.append(
                OutboxMessage(
                    event_id=what.event_id,
                    kind=what.kind,
                    channel=Channel.EMAIL,
                    recipient=user.email,
                    user_id=user.id,
                    context=what.context,
                )
            )
        if by_sms and user.phone and user.phone_confirmed:
            rows.append(
                OutboxMessage(
                    event_id=what.event_id,
                    kind=what.kind,
                    channel=Channel.SMS,
                    recipient=user.phone,
                    user_id=user.id,
                    context=what.context,
                )
            )
    for webhook_id, url in webhooks:
        rows.append(
            OutboxMessage(
                event_id=what.event_id,
                kind=what.kind,
                channel=Channel.WEBHOOK,
                recipient=url,
                webhook_id=webhook_id,
                context={"event_id": what.event_id, **what.webhook_context},
            )
        )
    return notes, rows


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
    event = Event(
        kind=kind, organisation_id=organisation_id, payload=payload or context
    )
    session.add(event)
    session.flush()
    people = _active(users)
    what = _Fanout(event.id, kind, context, title, body, link, payload or context)
    notes, rows = _messages(
        what, people, _subscriptions(session, [u.id for u in people], [kind]), webhooks
    )
    session.add_all([*notes, *rows])
    session.flush()
    _enqueue_relay(session)
    return Published(event, tuple(r.id for r in rows))


# -- announced events: written now, fanned out by the relay --------------------


@dataclass(frozen=True)
class Audience:
    """Who is told of an announced event, found when it is relayed: the people
    holding ``right`` on ``contract_id`` (nobody when either is missing), and
    the supplier's staff with ``supplier_staff``."""

    contract_id: uuid.UUID | None = None
    right: Right | None = None
    supplier_staff: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "contract_id": str(self.contract_id) if self.contract_id else None,
            "right": self.right.value if self.right else None,
            "supplier_staff": self.supplier_staff,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        contract = data.get("contract_id")
        right = data.get("right")
        return cls(
            contract_id=uuid.UUID(contract) if contract else None,
            right=Right(right) if right else None,
            supplier_staff=bool(data.get("supplier_staff")),
        )


@dataclass(frozen=True)
class Announcement:
    """One event of a state change, as :func:`announce` takes it.

    :ivar context: what the messages are rendered with; also the event's
        payload (the API's event feed and the webhooks) unless ``payload``.
    :ivar webhooks: also to the webhook endpoints subscribed to ``kind``: the
        organisation's own and the supplier's.
    """

    kind: str
    title: str
    context: dict[str, Any]
    audience: Audience
    body: str = ""
    link: str | None = None
    organisation_id: uuid.UUID | None = None
    payload: dict[str, Any] | None = None
    webhooks: bool = True


def announce(session: Session, announcements: Sequence[Announcement]) -> None:
    """Write the events of one state change, in one statement, and queue one
    relay for after the commit. Their notifications and outbox rows are made
    by the relay (:func:`fan_out_pending`), from the audiences as they are
    then (a moment later)."""
    if not announcements:
        return
    now = utcnow()
    session.execute(
        insert(Event),
        [
            {
                "kind": a.kind,
                "organisation_id": a.organisation_id,
                "payload": a.payload or a.context,
                "created_at": now,
                "fanout": {
                    "title": a.title,
                    "body": a.body,
                    "link": a.link,
                    # Only when the messages are rendered with more than the
                    # payload holds.
                    "context": a.context if a.payload is not None else None,
                    "audience": a.audience.to_json(),
                    "webhooks": a.webhooks,
                },
            }
            for a in announcements
        ],
    )
    _enqueue_relay(session)


@dataclass
class _Audiences:
    """The people of each audience, looked up once per fan-out batch."""

    session: Session
    found: dict[tuple[uuid.UUID, Right], list[User]] = field(default_factory=dict)
    staff: list[User] | None = None

    def users(self, audience: Audience) -> list[User]:
        people: list[User] = []
        if audience.contract_id is not None and audience.right is not None:
            key = (audience.contract_id, audience.right)
            if key not in self.found:
                self.found[key] = users_with_right(self.session, *key)
            people += self.found[key]
        if audience.supplier_staff:
            if self.staff is None:
                self.staff = supplier_staff(self.session)
            people += self.staff
        return _active(people)


def fan_out_pending(session: Session, *, limit: int | None = None) -> int:
    """Make the notifications and outbox rows of up to ``limit`` announced
    events, oldest first, and mark them done. The caller commits.

    Two relays at once share the work: PostgreSQL skips the events another
    holds; on SQLite the claim (``UPDATE … RETURNING``) waits for the other's
    commit and then finds them done.

    :returns: how many events were fanned out.
    """
    pending = (
        select(Event.id, Event.kind, Event.organisation_id, Event.payload, Event.fanout)
        .where(Event.fanout.is_not(None))
        .order_by(Event.id)
        .limit(limit or RELAY_BATCH)
    )
    if is_postgres(session):
        pending = pending.with_for_update(skip_locked=True)
    found = {row.id: row for row in session.execute(pending)}
    if not found:
        return 0
    mine = set(
        session.scalars(
            update(Event)
            .where(Event.id.in_(found), Event.fanout.is_not(None))
            .values(fanout=None)
            .returning(Event.id)
            .execution_options(synchronize_session=False)
        )
    )
    events = [found[i] for i in sorted(mine)]
    audiences = _Audiences(session)
    people = {
        e.id: audiences.users(Audience.from_json(e.fanout["audience"])) for e in events
    }
    choices = _subscriptions(
        session,
        {u.id for users in people.values() for u in users},
        {e.kind for e in events},
    )
    hooks: dict[tuple[uuid.UUID | None, str], list[tuple[uuid.UUID, str]]] = {}
    made: list[Any] = []
    for e in events:
        spec = e.fanout
        targets: list[tuple[uuid.UUID, str]] = []
        if spec.get("webhooks"):
            owner = (e.organisation_id, e.kind)
            if owner not in hooks:
                hooks[owner] = webhook_targets(session, e.organisation_id, e.kind)
            targets = hooks[owner]
        what = _Fanout(
            e.id,
            e.kind,
            spec.get("context") or e.payload,
            spec["title"],
            spec.get("body") or "",
            spec.get("link"),
            e.payload,
        )
        notes, rows = _messages(what, people[e.id], choices, targets)
        made += [*notes, *rows]
    session.add_all(made)
    session.flush()
    return len(events)


def pending_fanouts(session: Session) -> int:
    """How many announced events wait for their fan-out."""
    return int(
        session.scalar(
            select(func.count()).select_from(Event).where(Event.fanout.is_not(None))
        )
        or 0
    )


# -- in-app notifications ----------------------------------------------------


def list_notifications(
    session: Session, *, user: User, limit: int = 100
) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id)
            .limit(limit)
        )
    )


def has_notification_linking(
    session: Session, *, user_id: uuid.UUID, link: str
) -> bool:
    """Whether ``user_id`` was notified with a link to ``link`` (and kept it)."""
    return (
        session.scalar(
            select(Notification.id)
            .where(Notification.user_id == user_id, Notification.link == link)
            .limit(1)
        )
        is not None
    )


def unread_count(session: Session, *, user: User) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(
    session: Session, *, user: User, notification_id: uuid.UUID | None = None
) -> int:
    """Mark one (or, with no id, every) notification of ``user`` read."""
    stmt = update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
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
# A relay task is only a hint that rows may be due; the rows are the truth. A
# relay (:func:`relay_due`) fans out the pending events, then delivers the due
# rows in two transactions:
#
# 1. the claim: one ``UPDATE … WHERE id IN (due rows, LIMIT n, FOR UPDATE SKIP
#    LOCKED on PostgreSQL) RETURNING``, which counts an attempt for each and
#    gives it a lease (``next_attempt_at`` a sweep grace ahead), committed. An
#    attempt is counted even when the process dies during the send, so a
#    message that kills its worker cannot loop for ever through
#    ``reject_on_worker_lost``: it runs out of attempts like any other; and
#    the lease keeps every other relay off a claimed row until it expires;
# 2. the send: lock the claimed rows again, check that nobody claimed them in
#    between (the attempt number is unchanged), send while holding the locks,
#    record the outcomes and commit.
#
# The row lock keeps two workers from sending the same row at once: a second
# relay finds it locked and leaves it (BUSY); if the first worker dies, its
# task is redelivered (acks_late), and the row is due again when its lease
# ends. A worker that dies after the SMTP server accepted a message, before
# the outcome was committed, leaves the row pending; the e-mail channel's
# :class:`DatabaseSentRegistry` (committed on its own right after the server's
# 250) makes the next attempt skip the send. SMS and webhooks are at least
# once: receivers deduplicate by the message id. :func:`relay_message` is the
# same protocol for one row.


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
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .execution_options(populate_existing=True)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalar(stmt)


def _unlocked_outcome(session: Session, message_id: uuid.UUID) -> str:
    """Why :func:`_lock_row` found nothing: gone or finished, or locked."""
    status = session.scalar(
        select(OutboxMessage.status).where(OutboxMessage.id == message_id)
    )
    return (
        RelayOutcome.BUSY
        if status == OutboxStatus.PENDING
        else RelayOutcome.ALREADY_DONE
    )


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
    log.warning(
        "outbox %s attempt %s failed, retry in %s: %s",
        row.id,
        row.attempts,
        delay,
        error,
    )
    return RelayOutcome.RETRY, delay


def _close_abandoned(session: Session, row: OutboxMessage, now: dt.datetime) -> str:
    """A row out of attempts whose last claimed attempt never reported back:
    its worker died, perhaps after the SMTP server had accepted the message."""
    row.next_attempt_at = None
    if session.get(DeliveredMessage, str(row.id)) is not None:
        row.status = OutboxStatus.SENT
        row.sent_at = now
        row.last_error = None
        return RelayOutcome.SENT
    row.status = OutboxStatus.FAILED
    row.last_error = (
        f"attempt {row.attempts} did not finish (the worker stopped); "
        f"last error: {row.last_error or '—'}"
    )[:2000]
    log.error("outbox %s failed: %s", row.id, row.last_error)
    return RelayOutcome.FAILED


def _send(
    row: OutboxMessage,
    *,
    channel_for: Callable[[OutboxMessage], Any],
    now: dt.datetime | None,
    policy: OutboxPolicy,
) -> tuple[str, dt.timedelta | None]:
    """Send a claimed, locked row and record the outcome on it."""
    try:
        message = compose_message(
            id=str(row.id),
            kind=row.kind,
            channel=row.channel.value,
            recipient=row.recipient,
            context=row.context,
            created_at=_aware(row.created_at),
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
        return _retry_or_fail(
            row, f"{type(exc).__name__}: {exc}", now or utcnow(), policy
        )
    row.status = OutboxStatus.SENT
    row.sent_at = now or utcnow()
    row.next_attempt_at = None
    row.last_error = None
    return RelayOutcome.SENT, None


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
        return _close_abandoned(session, row, started), None
    row.attempts += 1
    attempt = row.attempts
    session.commit()  # the claim

    row = _lock_row(session, message_id)
    if row is None or row.status != OutboxStatus.PENDING or row.attempts != attempt:
        return RelayOutcome.BUSY, None
    return _send(row, channel_for=channel_for, now=now, policy=policy)


@dataclass(frozen=True)
class RelayRun:
    """What one :func:`relay_due` did."""

    fanned_out: int
    outcomes: dict[str, int]
    #: The soonest retry one of its failed attempts asked for.
    retry_in: dt.timedelta | None
    #: A batch was full: more may be due at once.
    more: bool


def _due(now: dt.datetime) -> ColumnElement[bool]:
    """Pending rows whose (next) attempt has come: new ones, retries whose
    back-off is over, claims whose lease ended."""
    return (OutboxMessage.status == OutboxStatus.PENDING) & (
        (OutboxMessage.next_attempt_at.is_(None) & (OutboxMessage.created_at <= now))
        | (OutboxMessage.next_attempt_at <= now)
    )


def _claim(
    session: Session, now: dt.datetime, policy: OutboxPolicy, limit: int
) -> dict[uuid.UUID, int]:
    """Count an attempt for up to ``limit`` due rows and lease them: {id: attempt}."""
    due = (
        select(OutboxMessage.id)
        .where(_due(now), OutboxMessage.attempts < policy.max_attempts)
        .order_by(OutboxMessage.created_at)
        .limit(limit)
    )
    if is_postgres(session):
        due = due.with_for_update(skip_locked=True)
    claimed = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due))
        .values(
            attempts=OutboxMessage.attempts + 1,
            next_attempt_at=now + policy.sweep_grace,
        )
        .returning(OutboxMessage.id, OutboxMessage.attempts)
        .execution_options(synchronize_session=False)
    )
    return {mid: attempt for mid, attempt in claimed}


def _abandoned(
    session: Session, now: dt.datetime, policy: OutboxPolicy, limit: int
) -> list[OutboxMessage]:
    stmt = (
        select(OutboxMessage)
        .where(_due(now), OutboxMessage.attempts >= policy.max_attempts)
        .order_by(OutboxMessage.created_at)
        .limit(limit)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def _endpoints(session: Session, rows: Sequence[OutboxMessage]) -> list[Webhook]:
    ids = {r.webhook_id for r in rows if r.webhook_id is not None}
    if not ids:
        return []
    return list(session.scalars(select(Webhook).where(Webhook.id.in_(ids))))


def relay_due(
    session: Session,
    *,
    channel_for: Callable[[OutboxMessage], Any],
    now: dt.datetime | None = None,
    policy: OutboxPolicy | None = None,
    limit: int | None = None,
) -> RelayRun:
    """One batch of the relay: fan out up to ``limit`` announced events, then
    claim up to ``limit`` due rows, whoever wrote them, and deliver them.

    Like :func:`relay_message` this service commits: the fan-out, the claim
    and the outcomes, each in a transaction of its own.

    :param now: the current time (for tests).
    :param limit: the batch, :data:`RELAY_BATCH` by default.
    """
    policy = policy or DEFAULT_POLICY
    limit = limit or RELAY_BATCH
    fanned = fan_out_pending(session, limit=limit)
    session.commit()
    started = now or utcnow()
    outcomes: Counter[str] = Counter()
    abandoned = _abandoned(session, started, policy, limit)
    for row in abandoned:
        outcomes[_close_abandoned(session, row, started)] += 1
    claimed = _claim(session, started, policy, limit)
    session.commit()  # the claim
    retry_in: dt.timedelta | None = None
    if claimed:
        locked = (
            select(OutboxMessage)
            .where(OutboxMessage.id.in_(claimed))
            .order_by(OutboxMessage.created_at)
            .execution_options(populate_existing=True)
        )
        if is_postgres(session):
            locked = locked.with_for_update(skip_locked=True)
        rows = list(session.scalars(locked))
        if len(rows) < len(claimed):
            outcomes[RelayOutcome.BUSY] += len(claimed) - len(rows)
        # The batch's webhook endpoints, held while sending: the channel looks
        # each up by id, which the identity map answers only for objects still
        # referenced. No autoflush either: the outcomes go in one UPDATE.
        held = _endpoints(session, rows)
        with session.no_autoflush:
            for row in rows:
                if (
                    row.status != OutboxStatus.PENDING
                    or row.attempts != claimed[row.id]
                ):
                    outcomes[RelayOutcome.BUSY] += 1
                    continue
                outcome, delay = _send(
                    row, channel_for=channel_for, now=now, policy=policy
                )
                outcomes[outcome] += 1
                if delay is not None and (retry_in is None or delay < retry_in):
                    retry_in = delay
        held.clear()
        session.commit()
    return RelayRun(
        fanned_out=fanned,
        outcomes=dict(outcomes),
        retry_in=retry_in,
        more=limit in (fanned, len(claimed) + len(abandoned)),
    )


def _overdue(now: dt.datetime, policy: OutboxPolicy) -> Any:
    """Pending rows whose relay is late by more than the grace: never relayed
    (the broker was down), a retry whose task was lost, a claim whose worker
    died."""
    cutoff = now - policy.sweep_grace
    return (OutboxMessage.status == OutboxStatus.PENDING) & (
        (OutboxMessage.next_attempt_at.is_(None) & (OutboxMessage.created_at <= cutoff))
        | (OutboxMessage.next_attempt_at <= cutoff)
    )


def requeue_overdue(
    session: Session,
    *,
    now: dt.datetime | None = None,
    limit: int = 500,
    policy: OutboxPolicy | None = None,
) -> list[uuid.UUID]:
    """The sweep: make every overdue row due now and queue one relay after the
    commit; also when announced events wait for their fan-out.

    Rows being sent (locked) are skipped. Each re-queued row gets
    ``next_attempt_at = now``, so the next sweep leaves it alone for the grace
    period.
    """
    now = now or utcnow()
    stmt = (
        select(OutboxMessage.id)
        .where(_overdue(now, policy or DEFAULT_POLICY))
        .order_by(OutboxMessage.created_at)
        .limit(limit)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(session.scalars(stmt))
    if ids:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(next_attempt_at=now)
        )
        log.info("sweep re-queued %d outbox messages", len(ids))
    if ids or pending_fanouts(session):
        _enqueue_relay(session)
    return ids


# -- the administrators' view --------------------------------------------------


def outbox_counts(
    session: Session,
    *,
    now: dt.datetime | None = None,
    policy: OutboxPolicy | None = None,
) -> dict[str, int]:
    """Rows per status, and ``overdue``: pending rows the sweep would re-queue."""
    counts = {status.value: 0 for status in OutboxStatus}
    for status, n in session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ):
        counts[OutboxStatus(status).value] = int(n)
    counts["overdue"] = int(
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(_overdue(now or utcnow(), policy or DEFAULT_POLICY))
        )
        or 0
    )
    return counts


def failed_messages(session: Session, *, limit: int = 200) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.FAILED)
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id)
            .limit(limit)
        )
    )


def overdue_messages(
    session: Session,
    *,
    now: dt.datetime | None = None,
    limit: int = 200,
    policy: OutboxPolicy | None = None,
) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(_overdue(now or utcnow(), policy or DEFAULT_POLICY))
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
            .limit(limit)
        )
    )


def retry_failed(
    session: Session,
    *,
    user: User | None,
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
        record(
            session,
            user=user,
            action="outbox.retry",
            object_type="outbox_message",
            object_id=row.id,
            actor_label=actor_label,
            request_info=request_info,
            details={
                "kind": row.kind,
                "channel": row.channel.value,
                "attempts": row.attempts,
                "last_error": (row.last_error or "")[:300],
            },
        )
        row.status = OutboxStatus.PENDING
        row.attempts = 0
        # now, not None: the relay is queued below; the sweep waits its grace.
        row.next_attempt_at = now
    session.flush()
    if rows:
        _enqueue_relay(session)
    return [row.id for row in rows]


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
    session: Session,
    *,
    kind: str,
    user: User | None,
    phone: str,
    context: dict[str, Any],
) -> OutboxMessage:
    """A transactional SMS (a phone confirmation code): always sent, whatever
    the subscriptions say, to the number given (it is not confirmed yet)."""
    return _transactional(session, Channel.SMS, kind, user, phone, context)


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
        session.add(
            Notification(user_id=user.id, kind=kind, title=title, body=body, link=link)
        )
    session.flush()
    return len(seen)
