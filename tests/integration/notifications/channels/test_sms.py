"""The SMS channel against a real HTTP gateway stand-in on loopback."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from notifications import (
    EventKind,
    HttpSmsChannel,
    Message,
    PermanentDeliveryError,
    TransientDeliveryError,
    channel_from_url,
    compose_message,
)
from tests.services import free_port

from ..conftest import HttpReceiver

pytestmark = pytest.mark.integration


def _message(recipient: str = "+7 (916) 123-45-67") -> Message:
    return compose_message(
        id="5d1e0f7a-2222-4000-8000-00000000b001",
        kind=EventKind.PHONE_CONFIRM_CODE,
        channel="sms",
        recipient=recipient,
        context={"code": "493817"},
    )


def _channel(receiver: HttpReceiver, query: str) -> HttpSmsChannel:
    channel = channel_from_url(f"{receiver.url}/sys/send.php?{query}", kind="sms")
    assert isinstance(channel, HttpSmsChannel)
    return channel


def test_form_post_reaches_the_gateway_in_russian(http_receiver: HttpReceiver) -> None:
    with _channel(
        http_receiver,
        "login=acme&psw=s%26cret&sender=Energo&_phone=phones&_text=mes&_timeout=5",
    ) as channel:
        channel.send(_message())
    (request,) = http_receiver.requests
    assert request.path == "/sys/send.php"  # the credentials are not in the URL
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body.decode("ascii")) == {
        "login": ["acme"],
        "psw": ["s&cret"],
        "sender": ["Energo"],
        "phones": ["+79161234567"],
        "mes": ["Код подтверждения: 493817. Никому не сообщайте его."],
    }


def test_json_post_with_basic_auth(http_receiver: HttpReceiver) -> None:
    url = http_receiver.url.replace("http://", "http://api:t%40ken@")
    channel = channel_from_url(f"{url}/v1/sms?_format=json&_id=client_id", kind="sms")
    channel.send(_message("89161234567"))
    (request,) = http_receiver.requests
    assert request.headers["Authorization"] == "Basic YXBpOnRAa2Vu"
    assert json.loads(request.body) == {
        "phone": "+79161234567",
        "text": "Код подтверждения: 493817. Никому не сообщайте его.",
        "client_id": "5d1e0f7a-2222-4000-8000-00000000b001",
    }


def test_500_once_is_transient_then_the_retry_is_delivered(
    http_receiver: HttpReceiver,
) -> None:
    http_receiver.statuses.append(500)
    channel = _channel(http_receiver, "login=acme&password=hidden")
    with pytest.raises(TransientDeliveryError, match="500") as info:
        channel.send(_message())
    assert "hidden" not in str(info.value)
    channel.send(_message())
    assert len(http_receiver.requests) == 2


def test_429_is_transient(http_receiver: HttpReceiver) -> None:
    http_receiver.statuses.append(429)
    with pytest.raises(TransientDeliveryError, match="429"):
        _channel(http_receiver, "login=acme").send(_message())


def test_400_is_permanent(http_receiver: HttpReceiver) -> None:
    http_receiver.statuses.append(400)
    with pytest.raises(PermanentDeliveryError, match="400"):
        _channel(http_receiver, "login=acme").send(_message())


def test_gateway_down_is_transient(http_receiver: HttpReceiver) -> None:
    channel = channel_from_url(f"http://127.0.0.1:{free_port()}/send", kind="sms")
    with pytest.raises(TransientDeliveryError, match="ConnectError"):
        channel.send(_message())


def test_landline_is_refused_before_any_request(http_receiver: HttpReceiver) -> None:
    with pytest.raises(PermanentDeliveryError, match="not a mobile"):
        _channel(http_receiver, "login=acme").send(_message("+7 495 123-45-67"))
    assert http_receiver.requests == []
