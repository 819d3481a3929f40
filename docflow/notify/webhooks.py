"""Webhook endpoints of integrations (registered through the API).

:func:`webhook_targets` names the endpoints an event goes to (written as outbox
rows by :func:`docflow.notify.services.publish`); :func:`webhook_channel` gives
the relay the channel that signs and POSTs one row. At each delivery the
channel resolves the endpoint's host once, refuses it when any of its
addresses is internal (unless ``ALLOW_PRIVATE_WEBHOOKS``) and connects to the
address it checked (:mod:`netguard`): a name that resolved to a
public address at registration, or a moment ago, cannot later be turned
against the supplier's own services.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, object_session

from docflow.notify.models import OutboxMessage


def webhook_targets(
    session: Session, organisation_id: uuid.UUID | None, kind: str
) -> list[tuple[uuid.UUID, str]]:
    """(endpoint id, URL) of the webhooks subscribed to ``kind`` for an
    organisation: its own endpoints and the supplier's (which get every event)."""
    from docflow.api.models import Webhook

    owners: list[ColumnElement[bool]] = [Webhook.organisation_id.is_(None)]
    if organisation_id is not None:
        owners.append(Webhook.organisation_id == organisation_id)
    hooks = session.scalars(
        select(Webhook).where(or_(*owners)).order_by(Webhook.created_at)
    )
    return [(h.id, h.url) for h in hooks if not h.kind_list or kind in h.kind_list]


def allow_private_webhooks() -> bool:
    return bool(current_app.config.get("ALLOW_PRIVATE_WEBHOOKS", False))


def webhook_channel(row: OutboxMessage) -> Any:
    """The channel for one outbox row: signed with its endpoint's secret."""
    from docflow.api.models import Webhook
    from docflow.api.services import open_secret
    from notifications import WebhookChannel
    from notifications.errors import PermanentDeliveryError

    session = object_session(row)
    hook = session.get(Webhook, row.webhook_id) if session and row.webhook_id else None
    if hook is None:
        raise PermanentDeliveryError(
            f"webhook endpoint {row.webhook_id} no longer exists"
        )
    state = current_app.extensions["docflow"]
    secret = open_secret(hook.secret, state.settings.secret_key)
    if secret is None:
        raise PermanentDeliveryError(
            f"webhook endpoint {hook.id}: its secret cannot be read (SECRET_KEY changed)"
        )
    fingerprint = hashlib.sha256(secret.encode()).hexdigest()[:16]
    allow_private = allow_private_webhooks()
    # One channel (and its HTTP connection pool) per endpoint, secret and
    # network policy; the channel itself refuses internal addresses.
    return state.backend(
        f"webhook:{hook.id}:{fingerprint}:{int(allow_private)}",
        lambda: WebhookChannel(secret, allow_private=allow_private),
    )
