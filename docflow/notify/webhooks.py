"""Webhook endpoints of integrations (registered through the API)."""

from __future__ import annotations

from typing import Any

from docflow.notify.models import OutboxMessage


def webhook_channel(row: OutboxMessage) -> Any:
    from notifications.errors import PermanentDeliveryError

    raise PermanentDeliveryError(f"no webhook endpoint for outbox message {row.id}")
