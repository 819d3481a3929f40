"""Delivery channels, and :func:`channel_from_url` to pick one from a setting."""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import unquote

from notifications.channels import _url
from notifications.channels.base import Channel, InMemorySentRegistry, SentRegistry
from notifications.channels.email import SmtpEmailChannel, SmtpSettings
from notifications.channels.file import DEFAULT_SENDER, FileChannel
from notifications.channels.sms import HttpSmsChannel, SmsGatewaySettings
from notifications.channels.webhook import WebhookChannel
from notifications.errors import ConfigurationError
from notifications.message import ChannelKind

__all__ = [
    "Channel",
    "FileChannel",
    "HttpSmsChannel",
    "InMemorySentRegistry",
    "SentRegistry",
    "SmsGatewaySettings",
    "SmtpEmailChannel",
    "SmtpSettings",
    "WebhookChannel",
    "channel_from_url",
]

_SCHEME_KIND = {
    "smtp": ChannelKind.EMAIL,
    "smtps": ChannelKind.EMAIL,
    "http": ChannelKind.SMS,
    "https": ChannelKind.SMS,
}


def channel_from_url(
    url: str,
    *,
    kind: ChannelKind | str | None = None,
    registry: SentRegistry | None = None,
    ssl_context: ssl.SSLContext | None = None,
    default_sender: str | None = None,
) -> SmtpEmailChannel | HttpSmsChannel | FileChannel:
    """Build the channel a setting names.

    ================================  ==========================================
    ``smtp://``, ``smtps://``         :class:`SmtpEmailChannel` (``SMTP_URL``)
    ``http://``, ``https://``         :class:`HttpSmsChannel` (``SMS_GATEWAY_URL``)
    ``file:///abs/dir``,              :class:`FileChannel`; needs ``kind``, which
    ``file:var/outbox``               the setting implies (``SMTP_URL`` → email)
    ================================  ==========================================

    ``file://var/outbox`` is read as the relative directory ``var/outbox``
    (RFC 8089 would make ``var`` a host name, which never means anything
    here). A file URL takes ``from=`` for e-mails. Webhooks have no setting
    URL: their endpoints are per message, see :class:`WebhookChannel`.

    :param kind: the channel the setting is for; required for ``file:``, and
        checked against the scheme otherwise (an SMTP URL in
        ``SMS_GATEWAY_URL`` fails here, at start-up).
    :param registry: the sent-ids registry of the SMTP channel.
    :param ssl_context: the TLS context of the SMTP channel.
    :param default_sender: the e-mail sender when the URL has no ``from``.
    :raises ConfigurationError: a malformed URL, an unknown scheme or
        parameter, or a scheme that does not fit ``kind``.
    """
    try:
        wanted = ChannelKind(kind) if kind is not None else None
    except ValueError:
        raise ConfigurationError(f"unknown channel kind {kind!r}") from None
    parts = _url.split(url, {*_SCHEME_KIND, "file"})
    scheme = parts.scheme.lower()
    if scheme == "file":
        if wanted is None:
            raise ConfigurationError(
                f"file URL {url!r} needs kind= (email, sms or webhook)"
            )
        return _file_channel(
            url, parts.netloc, parts.path, parts.query, wanted, default_sender
        )
    implied = _SCHEME_KIND[scheme]
    if wanted is not None and wanted is not implied:
        raise ConfigurationError(
            f"URL {_url.redact(url)!r} is for the {implied.value} channel, "
            f"not {wanted.value}"
        )
    if implied is ChannelKind.EMAIL:
        return SmtpEmailChannel.from_url(
            url,
            registry=registry,
            ssl_context=ssl_context,
            default_sender=default_sender,
        )
    return HttpSmsChannel.from_url(url)


def _file_channel(
    url: str,
    netloc: str,
    path: str,
    query: str,
    kind: ChannelKind,
    default_sender: str | None,
) -> FileChannel:
    if netloc and netloc != "localhost":
        path = f"{netloc}{path}"
    path = unquote(path)
    if not path or path == "/":
        raise ConfigurationError(f"file URL {url!r} names no directory")
    params = _url.query_params(query, url)
    sender_param = params.pop("from", None)
    if sender_param is not None and kind is not ChannelKind.EMAIL:
        raise ConfigurationError(f"file URL {url!r}: from= is only for e-mail")
    sender = sender_param or default_sender or DEFAULT_SENDER
    _url.no_more(params, url)
    try:
        return FileChannel(Path(path), kind, sender=sender)
    except ValueError as exc:
        raise ConfigurationError(f"file URL {url!r}: {exc}") from None
