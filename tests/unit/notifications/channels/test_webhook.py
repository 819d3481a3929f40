from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import httpx
import pytest

from notifications import (
    EventKind,
    Message,
    PermanentDeliveryError,
    TransientDeliveryError,
    WebhookChannel,
    WebhookVerificationError,
    sign_webhook,
    verify_webhook,
    webhook_body,
)
from notifications.channels.webhook import webhook_headers

MessageFactory = Callable[..., Message]
SECRET = "whsec_тест_secret"  # noqa: S105 - a test secret
NOW = 1_741_944_600  # 2025-03-14 09:30:00 UTC


def _signed(message: Message, timestamp: int = NOW) -> tuple[bytes, dict[str, str]]:
    body = webhook_body(message)
    return body, webhook_headers(message, body, SECRET, timestamp)


def test_body_has_the_documented_shape(make_message: MessageFactory) -> None:
    message = make_message(data={"document_id": 17, "title": "Акт «март»"})
    payload = json.loads(webhook_body(message))
    assert payload == {
        "id": message.id,
        "type": "document.to_sign",
        "created_at": "2025-03-14T09:30:00Z",
        "data": {"document_id": 17, "title": "Акт «март»"},
    }


def test_body_is_utf8_json_and_deterministic(make_message: MessageFactory) -> None:
    message = make_message(data={"title": "Акт"})
    body = webhook_body(message)
    assert "Акт".encode() in body  # not \u escapes
    assert body == webhook_body(message)


def test_body_serialises_dates_uuids_and_decimals(make_message: MessageFactory) -> None:
    data = {
        "valid_to": date(2025, 4, 30),
        "at": datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
        "document_id": UUID("12345678-1234-5678-1234-567812345678"),
        "amount": Decimal("1234.50"),
        "kind": EventKind.DOCUMENT_SIGNED,
    }
    payload = json.loads(webhook_body(make_message(data=data)))["data"]
    assert payload == {
        "valid_to": "2025-04-30",
        "at": "2025-03-01T12:00:00+00:00",
        "document_id": "12345678-1234-5678-1234-567812345678",
        "amount": "1234.50",
        "kind": "document.signed",
    }


def test_body_refuses_unserialisable_data(make_message: MessageFactory) -> None:
    with pytest.raises(TypeError, match="object"):
        webhook_body(make_message(data={"x": object()}))


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"id":"1"}'
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256)
    assert sign_webhook(body, SECRET, 1_700_000_000) == "sha256=" + expected.hexdigest()


def test_headers_carry_id_type_timestamp_signature(
    make_message: MessageFactory,
) -> None:
    message = make_message()
    body, headers = _signed(message)
    assert headers["X-Event-Id"] == message.id
    assert headers["X-Event-Type"] == "document.to_sign"
    assert headers["X-Timestamp"] == str(NOW)
    assert headers["X-Signature"] == sign_webhook(body, SECRET, NOW)
    assert headers["Content-Type"] == "application/json; charset=utf-8"


def test_round_trip_verifies_and_parses(make_message: MessageFactory) -> None:
    message = make_message(data={"document_id": 17, "title": "Акт"})
    body, headers = _signed(message)
    event = verify_webhook(body, headers, SECRET, now=NOW + 299)
    assert event.id == message.id
    assert event.type == "document.to_sign"
    assert event.created_at == message.created_at
    assert event.data == {"document_id": 17, "title": "Акт"}


def test_header_names_are_case_insensitive(make_message: MessageFactory) -> None:
    body, headers = _signed(make_message())
    lowered = {name.lower(): value for name, value in headers.items()}
    assert verify_webhook(body, lowered, SECRET, now=NOW).id


@pytest.mark.parametrize("skew", [301, -301, 86_400])
def test_stale_or_future_timestamp_is_refused(
    make_message: MessageFactory, skew: int
) -> None:
    body, headers = _signed(make_message())
    with pytest.raises(WebhookVerificationError, match="more than 300s"):
        verify_webhook(body, headers, SECRET, now=NOW + skew)


def test_tolerance_is_configurable(make_message: MessageFactory) -> None:
    body, headers = _signed(make_message())
    verify_webhook(body, headers, SECRET, now=NOW + 3000, tolerance=3600)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers, SECRET, now=NOW + 61, tolerance=60)


def test_replay_with_a_fresh_timestamp_header_is_refused(
    make_message: MessageFactory,
) -> None:
    # An attacker resending an old request with a new X-Timestamp cannot
    # re-sign it without the secret.
    body, headers = _signed(make_message())
    headers["X-Timestamp"] = str(NOW + 3600)
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify_webhook(body, headers, SECRET, now=NOW + 3600)


def test_one_changed_byte_is_refused(make_message: MessageFactory) -> None:
    body, headers = _signed(make_message(data={"amount": 100}))
    tampered = body.replace(b'"amount":100', b'"amount":900')
    assert tampered != body
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify_webhook(tampered, headers, SECRET, now=NOW)


def test_wrong_secret_is_refused(make_message: MessageFactory) -> None:
    body, headers = _signed(make_message())
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify_webhook(body, headers, "another secret", now=NOW)


@pytest.mark.parametrize(
    ("header", "value", "message"),
    [
        ("X-Signature", None, "missing"),
        ("X-Timestamp", None, "missing"),
        ("X-Timestamp", "soon", "malformed"),
        ("X-Timestamp", "-5", "malformed"),
        ("X-Signature", "sha1=abc", "signature"),
        ("X-Signature", "sha256=Ж", "signature"),
        ("X-Event-Id", "other-id", "differs"),
    ],
)
def test_bad_headers_are_refused(
    make_message: MessageFactory, header: str, value: str | None, message: str
) -> None:
    body, headers = _signed(make_message())
    if value is None:
        del headers[header]
    else:
        headers[header] = value
    with pytest.raises(WebhookVerificationError, match=message):
        verify_webhook(body, headers, SECRET, now=NOW)


def test_a_signed_body_that_is_not_an_event_is_refused() -> None:
    body = b'{"hello": "world"}'
    headers = {"X-Timestamp": str(NOW), "X-Signature": sign_webhook(body, SECRET, NOW)}
    with pytest.raises(WebhookVerificationError, match="not an event"):
        verify_webhook(body, headers, SECRET, now=NOW)


# --- the channel against a mock transport ------------------------------------


def test_channel_posts_the_signed_body(make_message: MessageFactory) -> None:
    seen: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    message = make_message(recipient="https://erp.example/hooks/docflow")
    with WebhookChannel(
        SECRET, clock=lambda: NOW + 0.7, transport=httpx.MockTransport(receive)
    ) as channel:
        channel.send(message)
    (request,) = seen
    assert str(request.url) == "https://erp.example/hooks/docflow"
    assert request.content == webhook_body(message)
    assert request.headers["X-Timestamp"] == str(NOW)
    event = verify_webhook(request.content, request.headers, SECRET, now=NOW)
    assert event.id == message.id


def test_channel_looks_up_the_secret_per_endpoint(make_message: MessageFactory) -> None:
    seen: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    secrets = {"https://a.example/h": "secret-a", "https://b.example/h": "secret-b"}
    channel = WebhookChannel(
        secrets.__getitem__, clock=lambda: NOW, transport=httpx.MockTransport(receive)
    )
    channel.send(make_message(recipient="https://b.example/h"))
    verify_webhook(seen[0].content, seen[0].headers, "secret-b", now=NOW)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, TransientDeliveryError),
        (503, TransientDeliveryError),
        (429, TransientDeliveryError),
        (400, PermanentDeliveryError),
        (410, PermanentDeliveryError),
        (301, PermanentDeliveryError),
    ],
)
def test_channel_maps_statuses(
    make_message: MessageFactory, status: int, error: type[Exception]
) -> None:
    channel = WebhookChannel(
        SECRET, transport=httpx.MockTransport(lambda request: httpx.Response(status))
    )
    with pytest.raises(error, match=str(status)):
        channel.send(make_message(recipient="https://erp.example/h?token=x"))


def test_channel_maps_a_timeout_to_transient(make_message: MessageFactory) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    channel = WebhookChannel(SECRET, transport=httpx.MockTransport(slow))
    with pytest.raises(TransientDeliveryError, match="timed out"):
        channel.send(make_message(recipient="https://erp.example/h"))


@pytest.mark.parametrize(
    "recipient",
    ["ftp://erp.example/h", "erp.example/h", "https:///h", "buh@romashka.ru"],
)
def test_channel_refuses_a_non_http_recipient(
    make_message: MessageFactory, recipient: str
) -> None:
    channel = WebhookChannel(
        SECRET, transport=httpx.MockTransport(lambda r: httpx.Response(200))
    )
    with pytest.raises(PermanentDeliveryError, match="not http"):
        channel.send(make_message(recipient=recipient))


def test_channel_refuses_an_endpoint_without_a_secret(
    make_message: MessageFactory,
) -> None:
    channel = WebhookChannel(lambda url: "")
    with pytest.raises(PermanentDeliveryError, match="no secret"):
        channel.send(make_message(recipient="https://erp.example/h"))


def test_empty_secret_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="empty"):
        WebhookChannel("")
