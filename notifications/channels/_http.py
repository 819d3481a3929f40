"""One HTTP POST with its outcome mapped to the delivery errors."""

from __future__ import annotations

import threading
from collections.abc import Mapping

import httpx

from notifications.errors import PermanentDeliveryError, TransientDeliveryError

# 408 Request Timeout, 425 Too Early and 429 Too Many Requests promise that the
# same request can succeed later (RFC 9110 §15.5.9, RFC 8470, RFC 6585 §4).
_RETRYABLE_4XX = frozenset({408, 425, 429})


def post(
    client: httpx.Client,
    url: str,
    *,
    what: str,
    content: bytes | None = None,
    data: Mapping[str, str] | None = None,
    json: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> httpx.Response:
    """POST and return a 2xx response, or raise the matching delivery error.

    :param what: names the request in error messages ("SMS gateway").
    :raises TransientDeliveryError: no connection, a timeout, 408/425/429, 5xx.
    :raises PermanentDeliveryError: any other status (4xx, and 3xx, since a
        moved endpoint is a configuration to fix, not something to follow
        blindly with a signed body).
    """
    try:
        response = client.post(
            url,
            content=content,
            data=data,
            json=json,
            headers=headers,
            auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
        )
    except httpx.TransportError as exc:
        # ConnectError, timeouts, a dropped connection, a protocol error.
        raise TransientDeliveryError(f"{what} {safe_url(url)}: {exc!r}") from exc
    status = response.status_code
    if 200 <= status < 300:
        return response
    detail = f"{what} {safe_url(url)} answered {status}: {response.text[:200]!r}"
    if status >= 500 or status in _RETRYABLE_4XX:
        raise TransientDeliveryError(detail)
    raise PermanentDeliveryError(detail)


def safe_url(url: str) -> str:
    """``url`` without its query, for errors and logs."""
    # Never put a query string (it may hold a gateway password) into an error
    # that ends up in the outbox row and the logs.
    return url.split("?", 1)[0]


class LazyClient:
    """An :class:`httpx.Client` made on first use and reused.

    Made lazily so that a client never crosses a fork (a Celery prefork worker
    imports the channels before it forks); redirects are not followed.
    """

    def __init__(
        self, timeout: float, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._timeout = timeout
        self._transport = transport
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def get(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self._timeout,
                    follow_redirects=False,
                    transport=self._transport,
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
