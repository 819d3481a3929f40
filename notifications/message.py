"""The message a channel delivers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from notifications.events import EventKind

# The id ends up in a Message-ID, an HTTP header and a file name, so it is kept
# to characters that are safe in all three (a UUID, a ULID, an integer all fit).
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class ChannelKind(StrEnum):
    """How a message travels; stored in outbox rows and subscriptions."""

    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Message:
    """One notification to one recipient over one channel.

    A channel delivers it at least once; receivers deduplicate by :attr:`id`.

    :param id: the outbox row id (a UUID as a string); letters, digits, ``.``,
        ``_`` and ``-`` only, because it becomes a Message-ID, an HTTP header
        and part of a file name.
    :param kind: the event kind (a plain string is converted).
    :param recipient: an e-mail address, a phone number or a webhook URL.
    :param subject: the e-mail subject (ignored by SMS and webhooks).
    :param text: the plain-text body of an e-mail, or the text of an SMS.
    :param html: the HTML alternative of an e-mail, if any.
    :param data: the event data; the ``data`` of a webhook payload. Values must
        be JSON-serialisable or dates, datetimes, UUIDs and Decimals.
    :param created_at: when the event happened (timezone-aware); the webhook
        ``created_at`` and the e-mail ``Date``. Kept in the outbox row so that
        a retry carries the same value.
    :raises ValueError: on a malformed id, an unknown kind or a naive datetime.
    """

    id: str
    kind: EventKind
    recipient: str
    subject: str = ""
    text: str = ""
    html: str | None = None
    data: Mapping[str, object] = field(default_factory=dict)
    created_at: datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        if not _ID_RE.fullmatch(self.id):
            raise ValueError(
                f"message id {self.id!r} must be 1-128 letters, digits, '.', '_' "
                "or '-', starting with a letter or digit"
            )
        # A frozen dataclass is set through object.__setattr__ in __post_init__.
        object.__setattr__(self, "kind", EventKind(self.kind))
        object.__setattr__(self, "data", dict(self.data))
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
