"""Relaying the outbox: a batch relay, and a periodic sweep.

Delivery is at least once, by mechanisms that back each other up:

* a transaction that writes events or outbox rows queues one
  :func:`relay_outbox` after its commit, however many it wrote
  (:func:`docflow.outbox.dispatch.enqueue_relay`);
* each relay drains in batches whatever is due, not only what its own
  transaction wrote: the events still to fan out, new rows, retries whose
  back-off is over, claims whose worker died; so one relay that never ran
  (the broker was down) is made up for by the next;
* a relay whose attempts failed queues one follow-up with a countdown (the
  soonest back-off);
* a worker that starts relays what waited while none ran (``worker_ready``);
* Celery beat runs :func:`sweep_outbox`, which queues a relay when rows are
  overdue: the safety net when no write and no worker start comes.

Tasks are ``acks_late`` with ``reject_on_worker_lost``: a worker killed during
a send gives its task back to the broker, and the relay's claimed attempts and
row locks make the redelivery safe (see ``services.relay_due``).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery.signals import worker_ready

from docflow.config import MAX_COUNTDOWN, OutboxPolicy
from docflow.context import state
from docflow.db import transaction
from docflow.outbox.dispatch import RELAY_TASK
from docflow.outbox.models import Channel, OutboxMessage
from docflow.outbox.services import (
    DatabaseSentRegistry,
    RelayOutcome,
    relay_due,
    relay_message,
    requeue_overdue,
)
from docflow.outbox.webhooks import webhook_channel
from docflow.tasking import shared_task
from notifications import channel_from_url

log = logging.getLogger(__name__)

#: Batches one relay task drains before it hands the rest to a new task (so
#: that a long backlog does not hold one worker process for ever).
MAX_BATCHES = 20


def outbox_policy() -> OutboxPolicy:
    """The retry policy of the current application (``OUTBOX_*``)."""
    return state().settings.outbox


def channel_for(row: OutboxMessage) -> Any:
    """The channel object for a row, built once per process and URL."""
    if row.channel == Channel.WEBHOOK:
        return webhook_channel(row)
    app_state = state()
    settings = app_state.settings
    url = (
        settings.messages.smtp_url
        if row.channel == Channel.EMAIL
        else settings.messages.sms_gateway_url
    )
    return app_state.backend(
        f"channel:{row.channel}:{url}",
        lambda: channel_from_url(
            url,
            kind=row.channel.value,
            registry=DatabaseSentRegistry(app_state.sessionmaker),
        ),
    )


@shared_task(
    name=RELAY_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def relay_outbox(self: Any) -> dict[str, int]:
    """Fan out the announced events and deliver every due outbox row, batch
    after batch, until nothing is due (or :data:`MAX_BATCHES`, then a new
    task takes over). Returns the outcomes counted."""
    policy = outbox_policy()
    eager = bool(self.app.conf.task_always_eager)
    totals: dict[str, int] = {}
    soonest = None
    session = state().sessionmaker()
    try:
        for _ in range(MAX_BATCHES):
            with transaction(session):
                run = relay_due(session, channel_for=channel_for, policy=policy)
            for outcome, count in run.outcomes.items():
                totals[outcome] = totals.get(outcome, 0) + count
            if run.retry_in is not None and (soonest is None or run.retry_in < soonest):
                soonest = run.retry_in
            if not run.more:
                break
        else:
            if not eager:
                self.apply_async()
    finally:
        session.close()
    # One follow-up for the failed attempts of this run (the eager mode, a
    # single process, leaves them to the next write or the sweep).
    if soonest is not None and soonest <= MAX_COUNTDOWN and not eager:
        try:
            self.apply_async(countdown=soonest.total_seconds())
        except Exception as exc:
            log.warning("could not queue the outbox retries, the sweep will: %s", exc)
    return totals


def _relay_on_start(sender: Any, **_kwargs: Any) -> None:
    """A worker that starts relays what waited while none ran: the events and
    rows of writes whose relay could not be queued, without waiting for beat."""
    sender.app.tasks[relay_outbox.name].delay()


# Connected by a call, not as a decorator: Celery's signals carry no
# annotations, and the decorator would make the receiver untyped.
worker_ready.connect(_relay_on_start)


@shared_task(
    name="docflow.relay_outbox_message",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def relay_outbox_message(self: Any, message_id: str) -> str:
    """One row: what web processes of the previous release queue (a rolling
    upgrade), and what an operator may queue by hand."""
    try:
        mid = uuid.UUID(message_id)
    except ValueError:
        log.error("relay task with a malformed id %r dropped", message_id)
        return RelayOutcome.ALREADY_DONE
    policy = outbox_policy()
    session = state().sessionmaker()
    try:
        with transaction(session):
            outcome, delay = relay_message(
                session, mid, channel_for=channel_for, policy=policy
            )
    finally:
        session.close()
    if (
        outcome == RelayOutcome.RETRY
        and delay is not None
        and delay <= MAX_COUNTDOWN
        and not self.app.conf.task_always_eager
    ):
        try:
            self.apply_async((message_id,), countdown=delay.total_seconds())
        except Exception as exc:
            log.warning(
                "could not queue the retry of %s, the sweep will: %s", message_id, exc
            )
    return outcome


@shared_task(name="docflow.sweep_outbox", ignore_result=True)
def sweep_outbox() -> int:
    """Queue a relay when rows are overdue or events wait for their fan-out."""
    session = state().sessionmaker()
    try:
        with transaction(session):
            ids = requeue_overdue(session, policy=outbox_policy())
    finally:
        session.close()
    return len(ids)
