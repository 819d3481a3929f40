"""Events, the outbox that delivers them, in-app notifications, subscriptions,
and the webhook endpoints of integrations."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from docflow.db import Base, BigIntPK, created_at, uuid_pk


class Event(Base):
    """Something happened that someone may want to know. Ordered by ``id``:
    the API's event feed pages through it with ``after=<id>``.

    ``fanout`` is set on an event whose notifications are still to be made:
    the document flow writes only the event in its transaction (the outbox
    entry of the change), and the relay turns it into the in-app
    notifications and outbox messages (``outbox.services.fan_out_pending``), then
    clears it. ``None`` once done, and for events published with their
    messages at once (``outbox.services.publish``)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_organisation_id_id", "organisation_id", "id"),
        # Only the few events waiting for their fan-out, found by the relay.
        Index(
            "ix_events_fanout_pending",
            "id",
            postgresql_where=text("fanout IS NOT NULL"),
            sqlite_where=text("fanout IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(60))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id")
    )
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fanout: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[created_at]


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Base):
    """One message to one recipient over one channel, written in the same
    transaction as the change that caused it and relayed after commit."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[uuid_pk]
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    kind: Mapped[str] = mapped_column(String(60))
    channel: Mapped[Channel]
    recipient: Mapped[str] = mapped_column(String(1000))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    webhook_id: Mapped[uuid.UUID | None]
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[OutboxStatus] = mapped_column(default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    sent_at: Mapped[dt.datetime | None]


class DeliveredMessage(Base):
    """Ids of messages a channel has handed over, recorded at once in their own
    transaction: a worker that dies after the SMTP server accepted a message,
    before the outbox row was marked sent, does not send it again."""

    __tablename__ = "delivered_messages"

    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    delivered_at: Mapped[created_at]


class Notification(Base):
    """The in-app notification list («Уведомления»)."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    kind: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[created_at]
    read_at: Mapped[dt.datetime | None]


class Subscription(Base):
    """Per user and event kind: e-mail and SMS on or off. No row = defaults."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(60))
    email: Mapped[bool] = mapped_column(default=True)
    sms: Mapped[bool] = mapped_column(default=False)


class Webhook(Base):
    """An endpoint that receives the events of an organisation (all events,
    for the supplier's) as signed POSTs through the outbox."""

    __tablename__ = "webhooks"
    __table_args__ = (Index("ix_webhooks_organisation_id", "organisation_id"),)

    id: Mapped[uuid_pk]
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE")
    )
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    url: Mapped[str] = mapped_column(String(1000))
    # The HMAC secret, encrypted with a key derived from SECRET_KEY: it must be
    # readable to sign deliveries, and a database dump alone must not let
    # anyone forge them.
    secret: Mapped[str] = mapped_column(String(500))
    kinds: Mapped[str] = mapped_column(String(1000), default="")  # "" = every kind
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[created_at]

    @property
    def kind_list(self) -> list[str]:
        return [k for k in self.kinds.split(",") if k]
