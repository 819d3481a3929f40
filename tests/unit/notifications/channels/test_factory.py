from __future__ import annotations

from pathlib import Path

import pytest

from notifications import (
    ChannelKind,
    ConfigurationError,
    FileChannel,
    HttpSmsChannel,
    InMemorySentRegistry,
    SmtpEmailChannel,
    channel_from_url,
)


def test_smtp_urls_give_the_smtp_channel() -> None:
    registry = InMemorySentRegistry()
    channel = channel_from_url(
        "smtps://u:p@mail.example.ru?from=a@example.ru", kind="email", registry=registry
    )
    assert isinstance(channel, SmtpEmailChannel)
    assert channel.registry is registry
    assert channel.settings.implicit_tls
    assert isinstance(
        channel_from_url("SMTP://mail.example.ru?from=a@example.ru"), SmtpEmailChannel
    )


def test_default_sender_applies_to_smtp() -> None:
    channel = channel_from_url(
        "smtp://mail.example.ru", default_sender="Энерго <a@x.ru>"
    )
    assert isinstance(channel, SmtpEmailChannel)
    assert channel.settings.sender.display_name == "Энерго"


def test_http_urls_give_the_sms_gateway() -> None:
    channel = channel_from_url("https://gw.example/send?login=x", kind=ChannelKind.SMS)
    assert isinstance(channel, HttpSmsChannel)
    assert channel.settings.params == {"login": "x"}


@pytest.mark.parametrize(
    ("url", "directory"),
    [
        ("file:///srv/docflow/outbox", "/srv/docflow/outbox"),
        ("file://localhost/srv/outbox", "/srv/outbox"),
        ("file:var/outbox", "var/outbox"),
        ("file://var/outbox", "var/outbox"),
        ("file:var/out%20box", "var/out box"),
    ],
)
def test_file_urls_give_the_file_channel(url: str, directory: str) -> None:
    channel = channel_from_url(url, kind="sms")
    assert isinstance(channel, FileChannel)
    assert channel.directory == Path(directory)
    assert channel.kind is ChannelKind.SMS


def test_file_url_takes_a_sender_for_email() -> None:
    channel = channel_from_url("file:var/outbox?from=Энерго <robot@x.ru>", kind="email")
    assert isinstance(channel, FileChannel)
    assert channel.sender.display_name == "Энерго"
    assert channel.sender.addr_spec == "robot@x.ru"


@pytest.mark.parametrize(
    ("url", "kind", "message"),
    [
        ("", None, "scheme"),
        ("var/outbox", "email", "scheme"),
        ("ftp://files.example/", None, "scheme"),
        ("redis://localhost:6379/0", "email", "scheme"),
        ("file:var/outbox", None, "needs kind"),
        ("file:var/outbox", "fax", "unknown channel kind"),
        ("file:///", "email", "names no directory"),
        ("file:var/outbox?from=a@x.ru", "sms", "only for e-mail"),
        ("file:var/outbox?from=nobody", "email", "not a valid e-mail"),
        ("file:var/outbox?mode=600", "email", "unknown parameter"),
        ("smtp://mail.example.ru?from=a@x.ru", "sms", "for the email channel, not sms"),
        ("https://gw.example/send", "email", "for the sms channel, not email"),
        ("https://gw.example/send", "webhook", "not webhook"),
        ("smtp://mail.example.ru:0x19?from=a@x.ru", None, "malformed"),
    ],
)
def test_malformed_urls_fail_fast(url: str, kind: str | None, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        channel_from_url(url, kind=kind)


def test_configuration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="scheme"):
        channel_from_url("gopher://x")
