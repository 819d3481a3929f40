from __future__ import annotations

import pytest

from notifications import Channel, FileChannel, InMemorySentRegistry, SmtpEmailChannel
from notifications.message import ChannelKind


def test_registry_remembers_sent_ids() -> None:
    registry = InMemorySentRegistry()
    assert not registry.was_sent("a")
    registry.mark_sent("a")
    assert registry.was_sent("a")
    assert not registry.was_sent("b")


def test_registry_forgets_the_oldest_beyond_capacity() -> None:
    registry = InMemorySentRegistry(capacity=2)
    for message_id in ("a", "b", "c"):
        registry.mark_sent(message_id)
    assert [registry.was_sent(i) for i in ("a", "b", "c")] == [False, True, True]


def test_registry_marking_again_refreshes_an_id() -> None:
    registry = InMemorySentRegistry(capacity=2)
    registry.mark_sent("a")
    registry.mark_sent("b")
    registry.mark_sent("a")
    registry.mark_sent("c")
    assert registry.was_sent("a")
    assert not registry.was_sent("b")


def test_registry_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        InMemorySentRegistry(capacity=0)


def test_channels_satisfy_the_protocol() -> None:
    smtp = SmtpEmailChannel.from_url("smtp://127.0.0.1:1?from=a@example.ru")
    assert isinstance(smtp, Channel)
    assert smtp.kind is ChannelKind.EMAIL
    assert isinstance(FileChannel("var/outbox", ChannelKind.SMS), Channel)
