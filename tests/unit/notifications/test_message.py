from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from notifications import EventKind, Message

MessageFactory = Callable[..., Message]


def test_message_converts_a_string_kind(make_message: MessageFactory) -> None:
    message = make_message(kind="document.revoked")
    assert message.kind is EventKind.DOCUMENT_REVOKED


def test_message_refuses_an_unknown_kind(make_message: MessageFactory) -> None:
    with pytest.raises(ValueError, match=r"document\.lost"):
        make_message(kind="document.lost")


@pytest.mark.parametrize(
    "bad_id", ["", "has space", "new\nline", "<angle>", "a@b", "-leading", "x" * 129]
)
def test_message_refuses_ids_unsafe_in_headers_and_file_names(
    make_message: MessageFactory, bad_id: str
) -> None:
    with pytest.raises(ValueError, match="message id"):
        make_message(id=bad_id)


def test_message_accepts_uuid_and_numeric_ids(make_message: MessageFactory) -> None:
    assert make_message(id="12345").id == "12345"
    assert make_message(id="0a1b2c3d-0000-4000-8000-000000000001.v2_x").id


def test_message_refuses_a_naive_created_at(make_message: MessageFactory) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_message(created_at=datetime(2025, 1, 1, 12, 0))


def test_message_is_frozen_and_copies_its_data(make_message: MessageFactory) -> None:
    data = {"url": "https://x.example"}
    message = make_message(data=data)
    data["url"] = "changed"
    assert message.data["url"] == "https://x.example"
    with pytest.raises(AttributeError):
        message.recipient = "other@example.ru"  # type: ignore[misc]
