"""What every channel is, and the registry of messages already sent."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol, runtime_checkable

from notifications.message import ChannelKind, Message


@runtime_checkable
class Channel(Protocol):
    """Delivers a :class:`~notifications.message.Message` over one medium.

    ``send`` returns when the receiver has accepted the message, or raises
    :class:`~notifications.errors.TransientDeliveryError` (retry later) or
    :class:`~notifications.errors.PermanentDeliveryError` (give up).
    """

    kind: ChannelKind

    def send(self, message: Message) -> None:
        """Deliver ``message`` once.

        :raises TransientDeliveryError: the relay should retry later.
        :raises PermanentDeliveryError: the relay should not retry.
        """
        ...


class SentRegistry(Protocol):
    """Remembers the ids of messages a channel has handed over successfully.

    The outbox relay delivers at least once: a worker can die after the SMTP
    server accepted a message and before the outbox row was marked as sent. A
    channel asks the registry first and skips a message it already sent.
    docflow gives a registry backed by the outbox table; the default keeps ids
    in memory, which covers retries inside one process.
    """

    def was_sent(self, message_id: str) -> bool:
        """``True`` when ``message_id`` was marked as sent."""
        ...

    def mark_sent(self, message_id: str) -> None:
        """Record that ``message_id`` has been handed over."""
        ...


class InMemorySentRegistry:
    """A bounded, thread-safe :class:`SentRegistry` in process memory.

    :param capacity: how many ids to remember; the oldest are forgotten first,
        so a long-running worker does not grow without bound.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def was_sent(self, message_id: str) -> bool:
        with self._lock:
            return message_id in self._ids

    def mark_sent(self, message_id: str) -> None:
        with self._lock:
            self._ids[message_id] = None
            self._ids.move_to_end(message_id)
            while len(self._ids) > self._capacity:
                self._ids.popitem(last=False)
