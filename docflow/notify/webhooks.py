"""Webhook endpoints of integrations (registered through the API).

Until the API's webhook registry exists there are no endpoints, and a webhook
row can only come from an endpoint that was deleted since: it fails for good.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from docflow.notify.models import OutboxMessage


def webhook_targets(session: Session, organisation_id: uuid.UUID | None,
                    kind: str) -> list[tuple[uuid.UUID, str]]:
    """(endpoint id, URL) of the webhooks subscribed to ``kind`` for an organisation."""
    return []


def webhook_channel(row: OutboxMessage) -> Any:
    from notifications.errors import PermanentDeliveryError

    raise PermanentDeliveryError(f"webhook endpoint {row.webhook_id} no longer exists")
