"""The webhook channel against a real HTTP receiver that verifies signatures.

The receiver listens on 127.0.0.1, so the channels here allow private targets
(``allow_private=True``, what ``ALLOW_PRIVATE_WEBHOOKS`` sets in docflow)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notifications import (
    EventKind,
    Message,
    PermanentDeliveryError,
    TransientDeliveryError,
    WebhookChannel,
    WebhookEvent,
    WebhookVerificationError,
    compose_message,
    verify_webhook,
)
from tests.services import free_port

from ..conftest import HttpReceiver, RecordedRequest

pytestmark = pytest.mark.integration

SECRET = "whsec_интеграция_1"  # noqa: S105 - a test secret


def _message(
    message_id: str = "7f3c2b1a-3333-4000-8000-00000000c001", recipient: str = ""
) -> Message:
    return compose_message(
        id=message_id,
        kind=EventKind.DOCUMENT_COMPLETED,
        channel="webhook",
        recipient=recipient,
        context={"document_id": "d-42", "document_number": "П10-0417", "signers": 2},
        created_at=datetime(2025, 3, 14, 9, 30, tzinfo=UTC),
    )


class VerifyingEndpoint:
    """What an integration would run: verify, deduplicate by id, then act."""

    def __init__(self, receiver: HttpReceiver) -> None:
        self.events: list[WebhookEvent] = []
        self.refused: list[str] = []
        receiver.check = self

    def __call__(self, request: RecordedRequest) -> int | None:
        try:
            event = verify_webhook(request.body, request.headers, SECRET)
        except WebhookVerificationError as exc:
            self.refused.append(str(exc))
            return 401
        if all(seen.id != event.id for seen in self.events):
            self.events.append(event)
        return None


def test_signed_event_is_verified_by_the_receiver(http_receiver: HttpReceiver) -> None:
    endpoint = VerifyingEndpoint(http_receiver)
    with WebhookChannel(SECRET, allow_private=True) as channel:
        channel.send(_message(recipient=f"{http_receiver.url}/hooks/docflow"))
    (event,) = endpoint.events
    assert event.id == "7f3c2b1a-3333-4000-8000-00000000c001"
    assert event.type == "document.completed"
    assert event.created_at == datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    assert event.data == {
        "document_id": "d-42",
        "document_number": "П10-0417",
        "signers": 2,
    }
    (request,) = http_receiver.requests
    assert request.path == "/hooks/docflow"
    assert request.headers["X-Event-Type"] == "document.completed"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"


def test_wrong_secret_is_refused_by_the_receiver_as_permanent(
    http_receiver: HttpReceiver,
) -> None:
    endpoint = VerifyingEndpoint(http_receiver)
    with pytest.raises(PermanentDeliveryError, match="401"):
        WebhookChannel("not the secret", allow_private=True).send(
            _message(recipient=http_receiver.url)
        )
    assert endpoint.events == []
    assert endpoint.refused == ["signature does not match the body"]


def test_500_once_then_delivered_and_deduplicated(http_receiver: HttpReceiver) -> None:
    endpoint = VerifyingEndpoint(http_receiver)
    http_receiver.statuses.append(503)
    channel = WebhookChannel(SECRET, allow_private=True)
    message = _message(recipient=http_receiver.url)
    with pytest.raises(TransientDeliveryError, match="503"):
        channel.send(message)
    channel.send(message)  # the retry
    channel.send(message)  # at least once: a duplicate delivery
    assert len(http_receiver.requests) == 3
    assert [event.id for event in endpoint.events] == [message.id]


def test_400_is_permanent(http_receiver: HttpReceiver) -> None:
    http_receiver.statuses.append(400)
    with pytest.raises(PermanentDeliveryError, match="400"):
        WebhookChannel(SECRET, allow_private=True).send(
            _message(recipient=http_receiver.url)
        )


def test_unreachable_endpoint_is_transient() -> None:
    channel = WebhookChannel(SECRET, timeout=5, allow_private=True)
    with pytest.raises(TransientDeliveryError, match="ConnectError"):
        channel.send(_message(recipient=f"http://127.0.0.1:{free_port()}/h"))
