"""Exceptions of the notifications library.

The outbox relay in docflow decides what to do with a message from the class of
the error a channel raises: a :class:`TransientDeliveryError` is retried with
back-off, a :class:`PermanentDeliveryError` marks the message as failed for good.
"""

from __future__ import annotations


class NotificationError(Exception):
    """Base class of every error raised by :mod:`notifications`."""


class ConfigurationError(NotificationError, ValueError):
    """A channel URL or option is malformed (raised at start-up, not per message)."""


class RenderError(NotificationError, ValueError):
    """A template is missing or its context lacks a required field."""


class InvalidPhoneNumberError(NotificationError, ValueError):
    """A phone number is not a Russian mobile number that can be written as E.164."""


class DeliveryError(NotificationError):
    """A message could not be delivered; see the two subclasses."""


class TransientDeliveryError(DeliveryError):
    """Try again later: the server is down or busy, or answered with a 4xx/5xx
    that promises a later success (SMTP 4xx, HTTP 408/425/429/5xx, timeouts).

    Also raised when the channel itself is misconfigured (SMTP login refused,
    STARTTLS unavailable, TLS verification failed): the message is fine, and it
    must survive until an operator fixes ``SMTP_URL``.
    """


class PermanentDeliveryError(DeliveryError):
    """Never retry this message: the address is invalid or the receiver refused
    it for good (SMTP 5xx to MAIL/RCPT/DATA, HTTP 4xx)."""


class WebhookVerificationError(NotificationError):
    """A received webhook must be rejected: a header is missing, the timestamp is
    outside the tolerance (a replay), or the signature does not match."""
