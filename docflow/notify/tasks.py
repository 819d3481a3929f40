"""Relaying the outbox: one task per message, and a periodic sweep.

Delivery is at least once, by three mechanisms that back each other up:

* ``publish()`` queues a relay task after its commit;
* a failed attempt queues its own retry with a countdown (the back-off);
* Celery beat runs :func:`sweep_outbox`, which re-queues pending rows whose
  relay is overdue: the broker was down at publish time, a worker died with
  the task, or a back-off was longer than :data:`MAX_COUNTDOWN`.

Tasks are ``acks_late`` with ``reject_on_worker_lost``: a worker killed during
a send gives its task back to the broker, and the relay's claimed attempt and
row lock make the redelivery safe (see ``services.relay_message``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from celery import shared_task
from flask import current_app, has_app_context

from docflow.db import transaction
from docflow.notify.config import MAX_COUNTDOWN, OutboxPolicy
from docflow.notify.models import Channel, OutboxMessage

log = logging.getLogger(__name__)


def outbox_policy() -> OutboxPolicy:
    """The retry policy of the current application, read once."""
    state = current_app.extensions["docflow"]
    return state.backend(  # type: ignore[no-any-return]
        "outbox-policy", lambda: OutboxPolicy.from_settings(state.settings)
    )


def channel_for(row: OutboxMessage) -> Any:
    """The channel object for a row, built once per process and URL."""
    from docflow.notify.services import DatabaseSentRegistry
    from notifications import channel_from_url

    state = current_app.extensions["docflow"]
    settings = state.settings
    if row.channel == Channel.WEBHOOK:
        from docflow.notify.webhooks import webhook_channel

        return webhook_channel(row)
    url = settings.smtp_url if row.channel == Channel.EMAIL else settings.sms_gateway_url
    return state.backend(
        f"channel:{row.channel}:{url}",
        lambda: channel_from_url(url, kind=row.channel.value,
                                 registry=DatabaseSentRegistry(state.sessionmaker)),
    )


def enqueue_relay(ids: Iterable[uuid.UUID]) -> int:
    """Queue a relay task per id through the current application's Celery app
    (not Celery's process-wide default, which is the last app created).

    Stops at the first broker error: the broker is down, each further try
    would only add its connection timeout to the caller's request, and the
    sweep re-queues every row anyway. Returns how many were queued.
    """
    celery = current_app.extensions.get("celery") if has_app_context() else None
    task = celery.tasks[relay_outbox_message.name] if celery is not None else relay_outbox_message
    wanted = [str(i) for i in ids]
    for done, mid in enumerate(wanted):
        try:
            task.delay(mid)
        except Exception as exc:  # kombu's OperationalError and friends
            log.warning("could not queue %d outbox message(s), the sweep will: %s",
                        len(wanted) - done, exc)
            return done
    return len(wanted)


@shared_task(name="docflow.relay_outbox_message", bind=True, acks_late=True,
             reject_on_worker_lost=True, ignore_result=True)
def relay_outbox_message(self: Any, message_id: str) -> str:
    from docflow.notify.services import RelayOutcome, relay_message
    from docflow.web import state

    try:
        mid = uuid.UUID(message_id)
    except ValueError:
        log.error("relay task with a malformed id %r dropped", message_id)
        return RelayOutcome.ALREADY_DONE
    policy = outbox_policy()
    session = state().sessionmaker()
    try:
        with transaction(session):
            outcome, delay = relay_message(session, mid, channel_for=channel_for,
                                           policy=policy)
    finally:
        session.close()
    # One follow-up per failed attempt. A task that came too early (NOT_DUE)
    # or finds the row in another worker's hands (BUSY) just ends: whoever set
    # the row's next attempt queued it, and the sweep backs that up.
    if (outcome == RelayOutcome.RETRY and delay is not None and delay <= MAX_COUNTDOWN
            and not self.app.conf.task_always_eager):
        try:
            self.apply_async((message_id,), countdown=delay.total_seconds())
        except Exception as exc:
            log.warning("could not queue the retry of %s, the sweep will: %s", message_id, exc)
    return outcome


@shared_task(name="docflow.sweep_outbox", ignore_result=True)
def sweep_outbox() -> int:
    """Re-queue pending rows whose relay never ran or whose retry is overdue."""
    from docflow.notify.services import requeue_overdue
    from docflow.web import state

    session = state().sessionmaker()
    try:
        with transaction(session):
            ids = requeue_overdue(session, policy=outbox_policy())
    finally:
        session.close()
    return len(ids)
