"""The SMTP channel against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from notifications import (
    EventKind,
    InMemorySentRegistry,
    Message,
    PermanentDeliveryError,
    SmtpEmailChannel,
    TransientDeliveryError,
    channel_from_url,
    compose_message,
)

from ..conftest import (
    SMTP_PASSWORD,
    SMTP_USER,
    SelfSignedCertificate,
    SmtpServer,
    SmtpServers,
)

pytestmark = pytest.mark.integration

SENDER = quote("Энергосбыт <noreply@energo.example.ru>")
CREDENTIALS = f"{quote(SMTP_USER, safe='')}:{quote(SMTP_PASSWORD, safe='')}"
CONTEXT = {
    "document_title": "Акт ПРОМ10 за март 2025",
    "document_number": "П10-0417",
    "contract_number": "77-001/Э",
    "url": "https://lk.example.ru/documents/42?tab=sign&from=mail",
    "user_name": "Мария Петровна",
}


def _message(
    message_id: str = "0b9c6a8e-1111-4000-8000-00000000a001",
    recipient: str = "buh@romashka.ru",
) -> Message:
    return compose_message(
        id=message_id,
        kind=EventKind.DOCUMENT_TO_SIGN,
        channel="email",
        recipient=recipient,
        context=CONTEXT,
        created_at=datetime(2025, 3, 14, 9, 30, tzinfo=UTC),
    )


def _channel(
    server: SmtpServer,
    url_tail: str = "",
    *,
    userinfo: str = "",
    scheme: str = "smtp",
    **options: object,
) -> SmtpEmailChannel:
    url = f"{scheme}://{userinfo}127.0.0.1:{server.port}?from={SENDER}&timeout=5{url_tail}"
    channel = channel_from_url(url, kind="email", **options)  # type: ignore[arg-type]
    assert isinstance(channel, SmtpEmailChannel)
    return channel


def test_plain_delivery_decodes_to_russian(smtp_servers: SmtpServers) -> None:
    server = smtp_servers.run()
    message = _message()
    _channel(server).send(message)
    (received,) = server.received
    assert received.mail_from == "noreply@energo.example.ru"
    assert received.rcpt_tos == ["buh@romashka.ru"]
    email = received.message
    assert (
        str(email["Subject"])
        == "Документ ожидает подписи: Акт ПРОМ10 за март 2025 № П10-0417"
    )
    assert email["From"].addresses[0].display_name == "Энергосбыт"
    assert email["From"].addresses[0].addr_spec == "noreply@energo.example.ru"
    assert email["Message-ID"] == f"<{message.id}@docflow>"
    assert email["X-Docflow-Message-Id"] == message.id
    assert email.get_content_type() == "multipart/alternative"
    plain = email.get_body(("plain",))
    rich = email.get_body(("html",))
    assert plain is not None
    assert rich is not None
    assert "Здравствуйте, Мария Петровна!" in plain.get_content()
    assert (
        "https://lk.example.ru/documents/42?tab=sign&from=mail" in plain.get_content()
    )
    assert "tab=sign&amp;from=mail" in rich.get_content()
    assert not received.authenticated
    assert not received.tls


def test_plain_delivery_with_auth(smtp_servers: SmtpServers) -> None:
    # AUTH over a plain connection is allowed only on this loopback server.
    server = smtp_servers.run(require_auth=True, auth_require_tls=False)
    _channel(server, userinfo=f"{CREDENTIALS}@").send(_message())
    (received,) = server.received
    assert received.authenticated


def test_without_login_the_server_refuses_mail(smtp_servers: SmtpServers) -> None:
    server = smtp_servers.run(require_auth=True, auth_require_tls=False)
    with pytest.raises(PermanentDeliveryError, match="530"):
        _channel(server).send(_message())
    assert server.received == []


def test_wrong_password_is_transient_not_a_lost_message(
    smtp_servers: SmtpServers,
) -> None:
    server = smtp_servers.run(require_auth=True, auth_require_tls=False)
    channel = _channel(server, userinfo=f"{quote(SMTP_USER, safe='')}:wrong@")
    with pytest.raises(TransientDeliveryError, match="refused the login"):
        channel.send(_message())
    assert server.received == []


def test_starttls_with_auth_and_a_private_ca(
    smtp_servers: SmtpServers, tls_certificate: SelfSignedCertificate
) -> None:
    server = smtp_servers.run(
        require_auth=True,
        tls_context=tls_certificate.server_context(),
        require_starttls=True,
        auth_require_tls=True,
    )
    cafile = quote(str(tls_certificate.cert_file), safe="")
    channel = _channel(
        server, f"&starttls=1&cafile={cafile}", userinfo=f"{CREDENTIALS}@"
    )
    channel.send(_message())
    (received,) = server.received
    assert received.tls
    assert received.authenticated


def test_starttls_refuses_an_untrusted_certificate(
    smtp_servers: SmtpServers, tls_certificate: SelfSignedCertificate
) -> None:
    server = smtp_servers.run(
        tls_context=tls_certificate.server_context(), require_starttls=True
    )
    # The system CAs do not know the test certificate.
    with pytest.raises(TransientDeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        _channel(server, "&starttls=1").send(_message())
    assert server.received == []


def test_starttls_required_by_url_but_not_offered_is_transient(
    smtp_servers: SmtpServers,
) -> None:
    server = smtp_servers.run()
    with pytest.raises(TransientDeliveryError, match="STARTTLS"):
        _channel(server, "&starttls=1").send(_message())


def test_implicit_tls_with_auth(
    smtp_servers: SmtpServers, tls_certificate: SelfSignedCertificate
) -> None:
    server = smtp_servers.run(
        require_auth=True,
        ssl_context=tls_certificate.server_context(),
        auth_require_tls=False,
    )
    channel = _channel(
        server,
        scheme="smtps",
        userinfo=f"{CREDENTIALS}@",
        ssl_context=tls_certificate.client_context(),
    )
    channel.send(_message())
    (received,) = server.received
    assert received.authenticated


def test_server_down_is_transient_then_delivered_once(
    smtp_servers: SmtpServers,
) -> None:
    server = smtp_servers.reserve()
    channel = _channel(server)
    message = _message()
    with pytest.raises(TransientDeliveryError, match="cannot connect"):
        channel.send(message)
    smtp_servers.start(server)
    channel.send(message)  # the relay's retry
    channel.send(message)  # a duplicate relay run
    assert len(server.received) == 1


def test_same_id_is_delivered_once_across_channel_instances(
    smtp_servers: SmtpServers,
) -> None:
    server = smtp_servers.run()
    registry = InMemorySentRegistry()  # docflow passes a DB-backed one
    _channel(server, registry=registry).send(_message("id-1"))
    _channel(server, registry=registry).send(_message("id-1"))
    _channel(server, registry=registry).send(_message("id-2"))
    ids = [r.message["X-Docflow-Message-Id"] for r in server.received]
    assert ids == ["id-1", "id-2"]


def test_550_is_permanent_and_not_marked_sent(smtp_servers: SmtpServers) -> None:
    server = smtp_servers.run()
    channel = _channel(server)
    with pytest.raises(PermanentDeliveryError, match="550"):
        channel.send(_message(recipient="reject@romashka.ru"))
    assert server.received == []
    assert not channel.registry.was_sent(_message().id)


def test_451_is_transient(smtp_servers: SmtpServers) -> None:
    server = smtp_servers.run()
    with pytest.raises(TransientDeliveryError, match="451"):
        _channel(server).send(_message(recipient="later@romashka.ru"))


def test_cyrillic_mailbox_goes_over_smtputf8(smtp_servers: SmtpServers) -> None:
    server = smtp_servers.run()
    _channel(server).send(_message(recipient="иван@пример.рф"))
    (received,) = server.received
    assert received.smtp_utf8
    assert received.rcpt_tos == ["иван@xn--e1afmkfd.xn--p1ai"]
    assert str(received.message["Subject"]).startswith("Документ ожидает подписи")


def test_cyrillic_mailbox_without_smtputf8_is_permanent(
    smtp_servers: SmtpServers,
) -> None:
    server = smtp_servers.run(enable_SMTPUTF8=False)
    with pytest.raises(PermanentDeliveryError, match="SMTPUTF8"):
        _channel(server).send(_message(recipient="иван@пример.рф"))
    # A Cyrillic domain alone needs no SMTPUTF8: it travels as IDNA.
    _channel(server).send(_message(recipient="info@пример.рф"))
    assert server.received[0].rcpt_tos == ["info@xn--e1afmkfd.xn--p1ai"]
