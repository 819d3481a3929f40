"""Relaying the outbox: one task per message, and a periodic sweep."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import shared_task
from flask import current_app

from docflow.db import transaction
from docflow.notify.models import Channel, OutboxMessage

log = logging.getLogger(__name__)


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


@shared_task(name="docflow.relay_outbox_message", bind=True, acks_late=True, ignore_result=True)
def relay_outbox_message(self: Any, message_id: str) -> str:
    from docflow.notify.services import RelayOutcome, relay_message
    from docflow.web import state

    session = state().sessionmaker()
    try:
        with transaction(session):
            outcome, delay = relay_message(session, uuid.UUID(message_id), channel_for=channel_for)
    finally:
        session.close()
    if outcome in (RelayOutcome.RETRY, RelayOutcome.NOT_DUE) and delay is not None:
        if not self.app.conf.task_always_eager:
            relay_outbox_message.apply_async((message_id,), countdown=delay.total_seconds())
    return outcome


@shared_task(name="docflow.sweep_outbox", ignore_result=True)
def sweep_outbox() -> int:
    """Re-queue pending rows whose relay never ran or whose retry is due."""
    from docflow.notify.services import due_for_sweep
    from docflow.web import state

    session = state().sessionmaker()
    try:
        ids = due_for_sweep(session)
    finally:
        session.close()
    for mid in ids:
        relay_outbox_message.delay(str(mid))
    if ids:
        log.info("sweep re-queued %d outbox messages", len(ids))
    return len(ids)
