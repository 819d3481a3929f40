"""Webhook endpoints of integrations (registered through the API).

:func:`webhook_targets` names the endpoints an event goes to (written as outbox
rows by :func:`docflow.notify.services.publish`); :func:`webhook_channel` gives
the relay the channel that signs and POSTs one row. Before each delivery the
endpoint's host is resolved again and refused when it points into a private
network (unless ``ALLOW_PRIVATE_WEBHOOKS``): a name that resolved to a public
address at registration may not later be turned against the supplier's own
services.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any
from urllib.parse import urlsplit

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


def _check_destination(url: str) -> None:
    from docflow.api.services import is_public_address, resolve_host
    from notifications.errors import PermanentDeliveryError, TransientDeliveryError

    if allow_private_webhooks():
        return
    host = urlsplit(url).hostname or ""
    try:
        addresses = resolve_host(host)
    except (OSError, UnicodeError) as exc:
        raise TransientDeliveryError(f"webhook host {host!r}: {exc}") from exc
    private = [a for a in addresses if not is_public_address(a)]
    if private or not addresses:
        raise PermanentDeliveryError(
            f"webhook host {host!r} resolves to a non-public address {private}"
        )


class _GuardedChannel:
    """The library's channel behind the destination check."""

    def __init__(self, channel: Any) -> None:
        self._channel = channel

    def send(self, message: Any) -> None:
        _check_destination(message.recipient)
        self._channel.send(message)


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
    # One channel (and its HTTP connection pool) per endpoint and secret.
    channel = state.backend(
        f"webhook:{hook.id}:{fingerprint}", lambda: WebhookChannel(secret)
    )
    return _GuardedChannel(channel)
