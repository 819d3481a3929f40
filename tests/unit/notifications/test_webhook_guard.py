"""The webhook channel refuses internal addresses, wrapped or rebound, and
``verify_webhook`` refuses replays. No network: every TCP connection attempt
is recorded and refused before a socket exists."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from notifications import (
    Message,
    PermanentDeliveryError,
    TransientDeliveryError,
    WebhookChannel,
    WebhookVerificationError,
    verify_webhook,
    webhook_body,
)
from notifications.channels.webhook import ReplayCache, webhook_headers

MessageFactory = Callable[..., Message]
SECRET = "whsec_guard_test_secret"  # noqa: S105 - a test secret
NOW = 1_741_944_600
PUBLIC = "93.184.215.14"  # never connected to: connections are intercepted


@pytest.fixture()
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address)
        raise ConnectionRefusedError(f"test: no connection to {address}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    yield attempts


class Resolver:
    """getaddrinfo for scripted names: one answer per lookup, the last repeated."""

    def __init__(self, **answers: list[str]) -> None:
        self.answers = {name.replace("_", "."): list(a) for name, a in answers.items()}
        self.lookups: list[str] = []

    def __call__(self, host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        self.lookups.append(host)
        script = self.answers.get(host)
        address = (script.pop(0) if len(script) > 1 else script[0]) if script else host
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port or 0))]


def _send(channel: WebhookChannel, make_message: MessageFactory, url: str) -> None:
    channel.send(make_message(recipient=url, data={"n": 1}))


# --- row 12: addresses that wrap internal ones -------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::7f00:1]/",  # NAT64 loopback
        "http://[2002:7f00:1::]/",  # 6to4 loopback
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",  # NAT64 metadata service
        "http://[::ffff:7f00:1]:8080/",  # IPv4-mapped loopback
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
        "http://[fd00::1]/",
        "http://100.64.1.1/",
    ],
)
def test_webhook_to_a_wrapped_internal_address_is_refused_before_connecting(
    make_message: MessageFactory, connections: list[tuple[str, int]], url: str
) -> None:
    with pytest.raises(PermanentDeliveryError, match="non-public address"):
        _send(WebhookChannel(SECRET), make_message, url)
    assert connections == []


def test_a_name_resolving_to_a_wrapped_internal_address_is_refused(
    make_message: MessageFactory,
    connections: list[tuple[str, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        socket, "getaddrinfo", Resolver(hooks_example_test=["64:ff9b::a9fe:a9fe"])
    )
    with pytest.raises(
        PermanentDeliveryError, match="169.254.169.254 wrapped in NAT64"
    ):
        _send(WebhookChannel(SECRET), make_message, "https://hooks.example.test/h")
    assert connections == []


def test_a_literal_is_refused_even_through_a_custom_transport(
    make_message: MessageFactory,
) -> None:
    seen: list[httpx.Request] = []
    channel = WebhookChannel(
        SECRET,
        transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(204)),
    )
    with pytest.raises(PermanentDeliveryError, match="loopback"):
        _send(channel, make_message, "http://[2002:7f00:1::]/h")
    assert seen == []


def test_allow_private_lets_the_channel_reach_internal_addresses(
    make_message: MessageFactory, connections: list[tuple[str, int]]
) -> None:
    channel = WebhookChannel(SECRET, allow_private=True)
    with pytest.raises(TransientDeliveryError, match="ConnectError"):
        _send(channel, make_message, "http://127.0.0.1:8080/h")
    assert connections == [("127.0.0.1", 8080)]


# --- row 13: DNS rebinding ------------------------------------------------------


def test_webhook_connects_to_the_address_it_checked_not_a_second_answer(
    make_message: MessageFactory,
    connections: list[tuple[str, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A public answer for the check, then 127.0.0.1 for whoever asks again.
    resolver = Resolver(hooks_example_test=[PUBLIC, "127.0.0.1"])
    monkeypatch.setattr(socket, "getaddrinfo", resolver)

    with pytest.raises(TransientDeliveryError):
        _send(WebhookChannel(SECRET), make_message, "http://hooks.example.test/h")

    assert connections == [(PUBLIC, 80)]
    assert resolver.lookups.count("hooks.example.test") == 1


def test_webhook_does_not_follow_redirects(make_message: MessageFactory) -> None:
    hops: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        hops.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://127.0.0.1/x"})

    channel = WebhookChannel(SECRET, transport=httpx.MockTransport(answer))
    with pytest.raises(PermanentDeliveryError, match="302"):
        _send(channel, make_message, "https://hooks.example.ru/h")
    assert hops == ["https://hooks.example.ru/h"]


# --- row 19: replays --------------------------------------------------------------


def _signed(message: Message, timestamp: int = NOW) -> tuple[bytes, dict[str, str]]:
    body = webhook_body(message)
    return body, webhook_headers(message, body, SECRET, timestamp)


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_a_stale_or_future_timestamp_is_refused(
    make_message: MessageFactory, offset: int
) -> None:
    body, headers = _signed(make_message())
    with pytest.raises(WebhookVerificationError, match="replayed or delayed"):
        verify_webhook(body, headers, SECRET, now=NOW - offset)


def test_the_same_delivery_is_accepted_once_within_the_tolerance(
    make_message: MessageFactory,
) -> None:
    cache = ReplayCache()
    body, headers = _signed(make_message())

    event = verify_webhook(body, headers, SECRET, now=NOW + 1, replay_cache=cache)
    with pytest.raises(WebhookVerificationError, match="already accepted"):
        verify_webhook(body, headers, SECRET, now=NOW + 120, replay_cache=cache)

    # The sender's retry is signed anew: not a replay (the id deduplicates it).
    retry_body, retry_headers = _signed(make_message(), NOW + 60)
    retried = verify_webhook(
        retry_body, retry_headers, SECRET, now=NOW + 61, replay_cache=cache
    )
    assert retried.id == event.id


def test_a_receivers_own_seen_hook_is_asked_with_the_signature(
    make_message: MessageFactory,
) -> None:
    keys: set[str] = set()

    def seen(key: str) -> bool:
        if key in keys:
            return True
        keys.add(key)
        return False

    body, headers = _signed(make_message())
    verify_webhook(body, headers, SECRET, now=NOW, replay_cache=seen)
    assert keys == {headers["X-Signature"]}
    with pytest.raises(WebhookVerificationError, match="already accepted"):
        verify_webhook(body, headers, SECRET, now=NOW, replay_cache=seen)


def test_forged_requests_do_not_reach_the_replay_cache(
    make_message: MessageFactory,
) -> None:
    cache = ReplayCache()
    body, headers = _signed(make_message())
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify_webhook(body, headers, "another secret", now=NOW, replay_cache=cache)
    assert len(cache) == 0


def test_replay_cache_forgets_after_its_ttl_and_beyond_its_size() -> None:
    clock = [0.0]
    cache = ReplayCache(ttl=600, maxsize=2, clock=lambda: clock[0])
    assert cache("a") is False
    assert cache("a") is True
    clock[0] = 599.0
    assert cache("a") is True
    clock[0] = 600.0
    assert cache("a") is False  # expired, remembered afresh
    assert cache("b") is False
    assert cache("c") is False  # over maxsize: "a" goes first
    assert cache("a") is False
    with pytest.raises(ValueError, match="positive"):
        ReplayCache(ttl=0)
