"""Webhooks: a signed JSON POST per event, and the check a receiver runs.

The body is ``{"id", "type", "created_at", "data"}`` in UTF-8 JSON. Headers:

* ``X-Timestamp``: Unix seconds when this attempt was signed;
* ``X-Signature``: ``sha256=`` and the hex HMAC-SHA256 (RFC 2104) of
  ``"{timestamp}.{body}"`` under the endpoint's secret;
* ``X-Event-Id`` and ``X-Event-Type``: the body's ``id`` and ``type``.

Signing the timestamp with the body lets a receiver refuse a replayed request:
:func:`verify_webhook` refuses a timestamp more than 5 minutes old or ahead,
and, given a ``replay_cache`` (:class:`ReplayCache` or the receiver's own
``seen(key) -> bool``), a request it has already accepted within those
minutes. Each retry is signed afresh with a new timestamp over the same body,
so the event id stays the receiver's key for deduplication: deliveries are at
least once.

The channel connects only to public addresses (see :mod:`netguard`)
unless ``allow_private`` is given for a closed network.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from types import TracebackType
from urllib.parse import urlsplit
from uuid import UUID

import httpx

import netguard
from notifications.channels import _http
from notifications.errors import PermanentDeliveryError, WebhookVerificationError
from notifications.message import ChannelKind, Message

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
EVENT_ID_HEADER = "X-Event-Id"
EVENT_TYPE_HEADER = "X-Event-Type"
DEFAULT_TOLERANCE = 300
DEFAULT_TIMEOUT = 10.0
_SCHEME = "sha256="


def _json_default(value: object) -> str:
    # The event data comes from services, which speak dates, UUIDs and Decimals.
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | UUID | Decimal):
        return str(value)
    if isinstance(value, Enum):
        return str(value.value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def webhook_body(message: Message) -> bytes:
    """The JSON body for ``message``; the same message gives the same bytes.

    :raises TypeError: ``message.data`` holds a value JSON cannot express.
    """
    payload = {
        "id": message.id,
        "type": message.kind.value,
        "created_at": message.created_at.astimezone(UTC)
        .isoformat()
        .replace("+00:00", "Z"),
        "data": message.data,
    }
    return json.dumps(
        payload, ensure_ascii=False, separators=(",", ":"), default=_json_default
    ).encode("utf-8")


def sign_webhook(body: bytes, secret: str, timestamp: int) -> str:
    """The ``X-Signature`` value: ``sha256=<hex HMAC of "{timestamp}.{body}">``."""
    mac = hmac.new(
        secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256
    )
    return _SCHEME + mac.hexdigest()


def webhook_headers(
    message: Message, body: bytes, secret: str | None, timestamp: int
) -> dict[str, str]:
    """The headers of one delivery attempt (unsigned when ``secret`` is None,
    which only the file channel does)."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: str(timestamp),
        EVENT_ID_HEADER: message.id,
        EVENT_TYPE_HEADER: message.kind.value,
    }
    if secret is not None:
        headers[SIGNATURE_HEADER] = sign_webhook(body, secret, timestamp)
    return headers


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook, parsed."""

    id: str
    type: str
    created_at: datetime
    data: dict[str, object] = field(default_factory=dict)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    # A plain dict from a test or a framework that lower-cases names.
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


class ReplayCache:
    """The signatures a receiver has accepted lately, to refuse them again.

    A callable ``seen(key) -> bool`` for :func:`verify_webhook`: True when
    ``key`` was seen within ``ttl`` seconds (a replay), otherwise it is
    remembered and False is returned. In memory, for one receiver process;
    several processes share a store of their own (Redis ``SET NX EX`` is the
    same contract).

    :param ttl: how long a key is remembered; at least twice the tolerance of
        :func:`verify_webhook` (a signature is acceptable from ``tolerance``
        seconds before its timestamp to ``tolerance`` seconds after).
    :param maxsize: keys kept; beyond it the oldest are forgotten first, so
        size it above the deliveries expected in ``ttl``.
    :param clock: the current time (for tests).
    """

    def __init__(
        self,
        ttl: float = 2 * DEFAULT_TOLERANCE,
        maxsize: int = 100_000,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or maxsize <= 0:
            raise ValueError("ttl and maxsize must be positive")
        self._ttl = ttl
        self._maxsize = maxsize
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, key: str) -> bool:
        now = self._clock()
        with self._lock:
            # Insertion order is expiry order: drop the expired from the front.
            while self._expiry and next(iter(self._expiry.values())) <= now:
                self._expiry.popitem(last=False)
            if key in self._expiry:
                return True
            self._expiry[key] = now + self._ttl
            while len(self._expiry) > self._maxsize:
                self._expiry.popitem(last=False)
            return False

    def __len__(self) -> int:
        return len(self._expiry)


def verify_webhook(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
    replay_cache: Callable[[str], bool] | None = None,
) -> WebhookEvent:
    """Check a received webhook and return its event; for receivers.

    Verify the raw body bytes as received, before any JSON parsing: a
    re-serialised body would not match the signature.

    A request is a replay when its timestamp is more than ``tolerance`` old
    (or ahead: clock skew), or, with ``replay_cache``, when the same signed
    request was accepted before. Without a cache a copy of a request made
    within the tolerance passes; the event id then remains the key for
    deduplicating (as it does for the sender's retries, which are signed
    anew and are not replays).

    :param body: the request body, unchanged.
    :param headers: the request headers (names in any case).
    :param secret: the endpoint's shared secret.
    :param tolerance: the largest accepted difference, in seconds, between
        ``X-Timestamp`` and ``now``, either way (clock skew; older is a replay).
    :param now: the current Unix time (for tests); ``time.time()`` by default.
    :param replay_cache: ``seen(key) -> bool``, asked once per authentic
        request with a key naming that very request (its signature); True
        refuses it. :class:`ReplayCache` keeps them in memory.
    :raises WebhookVerificationError: a missing or malformed header, a stale or
        future timestamp, a signature that does not match, a body that is
        not an event, or a request already accepted.
    """
    signature = _header(headers, SIGNATURE_HEADER)
    raw_timestamp = _header(headers, TIMESTAMP_HEADER)
    if not signature or not raw_timestamp:
        raise WebhookVerificationError(
            f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header"
        )
    raw_timestamp = raw_timestamp.strip()
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()):
        raise WebhookVerificationError(
            f"malformed {TIMESTAMP_HEADER}: {raw_timestamp!r}"
        )
    timestamp = int(raw_timestamp)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError(
            f"{TIMESTAMP_HEADER} {timestamp} is more than {tolerance}s from now "
            "(a replayed or delayed request)"
        )
    expected = sign_webhook(body, secret, timestamp)
    # Constant-time comparison: timing must not reveal how much of a forged
    # signature was right.
    if not hmac.compare_digest(
        expected.encode("ascii"), signature.strip().encode("utf-8", "replace")
    ):
        raise WebhookVerificationError("signature does not match the body")
    try:
        payload = json.loads(body)
        event = WebhookEvent(
            id=str(payload["id"]),
            type=str(payload["type"]),
            created_at=datetime.fromisoformat(str(payload["created_at"])),
            data=dict(payload["data"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookVerificationError(f"signed body is not an event: {exc}") from exc
    event_id = _header(headers, EVENT_ID_HEADER)
    if event_id is not None and event_id != event.id:
        # The header is not signed; a receiver deduplicating by it must not be
        # steered by a forged one.
        raise WebhookVerificationError(f"{EVENT_ID_HEADER} differs from the body's id")
    # Asked last: only authentic requests are remembered, so forged ones
    # cannot fill the cache. The signature covers timestamp and body, so it
    # names this request and not the sender's retries of the same event.
    if replay_cache is not None and replay_cache(expected):
        raise WebhookVerificationError(
            f"request already accepted (a replay of event {event.id})"
        )
    return event


def _refuse_literal(host: str, url: str) -> None:
    # An IP literal is checked before anything else, whatever the transport.
    try:
        reason = netguard.forbidden_reason(host)
    except ValueError:
        return  # a name: checked when it is resolved, at connection time
    if reason is not None:
        raise PermanentDeliveryError(
            f"webhook endpoint {_http.safe_url(url)}: "
            f"{netguard.ForbiddenAddressError(host, host, reason)}; refused"
        )


class WebhookChannel:
    """POSTs signed events to the URL in :attr:`Message.recipient`.

    :param secret: the endpoint's secret, or a function from the endpoint URL
        to its secret (docflow keeps one secret per registered endpoint).
    :param timeout: seconds for connecting and for each read.
    :param clock: the source of ``X-Timestamp`` (for tests).
    :param transport: an httpx transport (a proxy, client certificates, or
        ``httpx.MockTransport`` in tests); the default opens connections only
        to public addresses, resolving each name once and connecting to the
        address it checked (:class:`netguard.GuardedTransport`).
        A transport given here is trusted with that choice: only IP literals
        in the URL are still checked.
    :param allow_private: let webhooks reach loopback, private and link-local
        addresses (a closed network where the receivers live inside).
    """

    kind = ChannelKind.WEBHOOK

    def __init__(
        self,
        secret: str | Callable[[str], str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
        allow_private: bool = False,
    ) -> None:
        if isinstance(secret, str) and not secret:
            raise ValueError("a webhook secret must not be empty")
        self._secret = secret
        self._clock = clock
        self._allow_private = allow_private
        if transport is None:
            transport = netguard.GuardedTransport(allow_private=allow_private)
        self._client = _http.LazyClient(timeout, transport)

    def send(self, message: Message) -> None:
        """POST the event to ``message.recipient``; a 2xx answer is success.

        :raises TransientDeliveryError: no connection, a timeout, 408/425/429, 5xx.
        :raises PermanentDeliveryError: not an http(s) URL, a host that is or
            resolves to a non-public address (unless ``allow_private``), data
            that is not JSON, an empty secret, a 3xx or another 4xx answer.
        """
        url = message.recipient
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise PermanentDeliveryError(f"webhook URL {url!r} is not http(s)://host/…")
        if not self._allow_private:
            _refuse_literal(parts.hostname, url)
        secret = self._secret if isinstance(self._secret, str) else self._secret(url)
        if not secret:
            raise PermanentDeliveryError(f"no secret for webhook endpoint {url!r}")
        try:
            body = webhook_body(message)
        except TypeError as exc:
            raise PermanentDeliveryError(f"webhook {message.id}: {exc}") from exc
        headers = webhook_headers(message, body, secret, int(self._clock()))
        headers["User-Agent"] = "docflow-webhooks/1"
        try:
            _http.post(
                self._client.get(),
                url,
                what="webhook endpoint",
                content=body,
                headers=headers,
            )
        except netguard.ForbiddenAddressError as exc:
            raise PermanentDeliveryError(
                f"webhook endpoint {_http.safe_url(url)}: {exc}; refused"
            ) from exc
        logger.info(
            "webhook %s (%s) delivered to %s",
            message.id,
            message.kind.value,
            _http.safe_url(url),
        )

    def close(self) -> None:
        """Close the HTTP connections (the channel can still be used after)."""
        self._client.close()

    def __enter__(self) -> WebhookChannel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
