"""Notifications: rendering Russian messages and delivering them.

A pure library (no Flask, no database, no docflow): docflow writes outbox rows
in the transaction of a state change, and a task relays each row through a
channel from this package after the commit::

    from notifications import channel_from_url, compose_message

    smtp = channel_from_url(settings.smtp_url, kind="email", registry=registry)
    message = compose_message(id=str(row.id), kind=row.kind, channel="email",
                              recipient=row.recipient, context=row.data,
                              created_at=row.created_at)
    smtp.send(message)   # TransientDeliveryError → retry, Permanent → give up

Receivers of webhooks check them with :func:`verify_webhook`.
"""

from notifications.channels import (
    Channel,
    FileChannel,
    HttpSmsChannel,
    InMemorySentRegistry,
    SentRegistry,
    SmsGatewaySettings,
    SmtpEmailChannel,
    SmtpSettings,
    WebhookChannel,
    channel_from_url,
)
from notifications.channels.email import build_email, message_id_header
from notifications.channels.sms import fit_sms, normalize_phone, sms_segments
from notifications.channels.webhook import (
    ReplayCache,
    WebhookEvent,
    sign_webhook,
    verify_webhook,
    webhook_body,
)
from notifications.errors import (
    ConfigurationError,
    DeliveryError,
    InvalidPhoneNumberError,
    NotificationError,
    PermanentDeliveryError,
    RenderError,
    TransientDeliveryError,
    WebhookVerificationError,
)
from notifications.events import EventInfo, EventKind
from notifications.message import ChannelKind, Message
from notifications.render import Rendered, Renderer, compose_message, render

__all__ = [
    "Channel",
    "ChannelKind",
    "ConfigurationError",
    "DeliveryError",
    "EventInfo",
    "EventKind",
    "FileChannel",
    "HttpSmsChannel",
    "InMemorySentRegistry",
    "InvalidPhoneNumberError",
    "Message",
    "NotificationError",
    "PermanentDeliveryError",
    "RenderError",
    "Rendered",
    "Renderer",
    "SentRegistry",
    "SmsGatewaySettings",
    "SmtpEmailChannel",
    "SmtpSettings",
    "TransientDeliveryError",
    "WebhookChannel",
    "WebhookEvent",
    "WebhookVerificationError",
    "build_email",
    "channel_from_url",
    "compose_message",
    "fit_sms",
    "message_id_header",
    "normalize_phone",
    "render",
    "sign_webhook",
    "sms_segments",
    "verify_webhook",
    "ReplayCache",
    "webhook_body",
]
