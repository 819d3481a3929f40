from __future__ import annotations

from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from notifications import (
    ConfigurationError,
    EventKind,
    Message,
    PermanentDeliveryError,
    SmtpEmailChannel,
    SmtpSettings,
    build_email,
    message_id_header,
)
from notifications.channels.email import parse_address, parse_sender

MessageFactory = Callable[..., Message]
SENDER = parse_sender("Энергосбыт <noreply@energo.example.ru>")


def _parsed(message: Message) -> EmailMessage:
    raw = build_email(message, sender=SENDER).as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("buh@romashka.ru", "buh@romashka.ru"),
        ("  Buh.Glavny+docs@Romashka.RU ", "Buh.Glavny+docs@romashka.ru"),
        ("info@почта.рф", "info@xn--80a1acny.xn--p1ai"),
        ("иван@пример.рф", "иван@xn--e1afmkfd.xn--p1ai"),
    ],
)
def test_parse_address_normalises_the_domain(address: str, expected: str) -> None:
    assert parse_address(address).addr_spec == expected


@pytest.mark.parametrize(
    "address",
    [
        "",
        "buh",
        "buh@",
        "@romashka.ru",
        "buh@romashka",
        "a b@romashka.ru",
        "buh@@romashka.ru",
        "buh@romashka..ru",
        "buh@-romashka.ru",
        "buh@romashka.ru, chief@romashka.ru",
        "buh@romashka.ru\r\nBcc: x@evil.example",
        ".buh@romashka.ru",
        "buh.@romashka.ru",
        "x" * 65 + "@romashka.ru",
    ],
)
def test_parse_address_refuses_invalid_ones(address: str) -> None:
    with pytest.raises(ValueError, match="not a valid e-mail address"):
        parse_address(address)


def test_parse_sender_keeps_the_russian_display_name() -> None:
    sender = parse_sender('"ПАО «Энергосбыт», ЛКК" <noreply@energo.example.ru>')
    assert sender.display_name == "ПАО «Энергосбыт», ЛКК"
    assert sender.addr_spec == "noreply@energo.example.ru"


def test_message_id_is_derived_from_the_outbox_id() -> None:
    assert message_id_header("abc-1") == "<abc-1@docflow>"


def test_email_has_both_parts_and_the_headers(make_message: MessageFactory) -> None:
    message = make_message()
    parsed = _parsed(message)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Message-ID"] == f"<{message.id}@docflow>"
    assert parsed["X-Docflow-Message-Id"] == message.id
    assert parsed["X-Docflow-Event"] == "document.to_sign"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Date"].datetime == message.created_at
    plain = parsed.get_body(("plain",))
    rich = parsed.get_body(("html",))
    assert plain is not None
    assert rich is not None
    assert plain.get_content().rstrip("\r\n") == message.text
    assert rich.get_content().rstrip("\r\n") == message.html


def test_russian_headers_are_rfc2047_encoded(make_message: MessageFactory) -> None:
    raw = build_email(make_message(), sender=SENDER).as_bytes()
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert header_block.isascii()
    assert b"=?utf-8?" in header_block
    parsed = message_from_bytes(raw, policy=policy.default)
    assert str(parsed["Subject"]) == "Документ ожидает подписи: Акт № 17"
    assert parsed["From"].addresses[0].display_name == "Энергосбыт"


@pytest.mark.parametrize(
    "subject",
    [
        "Приглашение к договору № 77-0003-ЮЛ",
        "Изменены права доступа к договору № 77-0003-ЮЛ",
        "Открыт приём показаний за ноябрь 2026 по договору № 77-0001-ЮЛ",
        "Документ ожидает подписи: Дополнительное соглашение № 3 к договору "
        "энергоснабжения № ДС-3/2026",
        "A plain ASCII subject long enough to be folded onto a second line of the header",
    ],
)
def test_a_folded_subject_keeps_every_space(
    make_message: MessageFactory, subject: str
) -> None:
    # Folded into several encoded-words, the subject once lost the space at a
    # fold: «Приглашение к договору№ 77-0003-ЮЛ».
    raw = build_email(make_message(subject=subject), sender=SENDER).as_bytes()
    header = raw.split(b"\r\n\r\n", 1)[0]
    assert header.isascii()
    assert all(len(line) <= 78 for line in header.split(b"\r\n"))
    parsed = message_from_bytes(raw, policy=policy.default)
    assert str(parsed["Subject"]) == subject


def test_email_without_html_is_plain_text(make_message: MessageFactory) -> None:
    parsed = _parsed(make_message(html=None))
    assert parsed.get_content_type() == "text/plain"
    assert (
        parsed.get_content().rstrip()
        == "Документ ожидает подписи: https://lk.example.ru/d/17"
    )


def test_list_unsubscribe_only_for_optional_kinds(make_message: MessageFactory) -> None:
    data = {"subscriptions_url": "https://lk.example.ru/profile/subscriptions"}
    optional = _parsed(make_message(data=data))
    assert (
        optional["List-Unsubscribe"] == "<https://lk.example.ru/profile/subscriptions>"
    )
    mandatory = _parsed(make_message(kind=EventKind.ACCOUNT_PASSWORD_RESET, data=data))
    assert mandatory["List-Unsubscribe"] is None


def test_subject_newlines_cannot_inject_headers(make_message: MessageFactory) -> None:
    parsed = _parsed(make_message(subject="Акт\r\nBcc: evil@example.com"))
    assert parsed["Bcc"] is None
    assert str(parsed["Subject"]) == "Акт Bcc: evil@example.com"


def test_invalid_recipient_is_a_value_error(make_message: MessageFactory) -> None:
    with pytest.raises(ValueError, match="not a valid e-mail"):
        build_email(make_message(recipient="not-an-address"), sender=SENDER)


def test_channel_refuses_invalid_recipient_permanently_before_connecting(
    make_message: MessageFactory,
) -> None:
    # Port 9 on a TEST-NET address: if the channel tried to connect, the test
    # would fail with a transient error instead.
    channel = SmtpEmailChannel.from_url("smtp://192.0.2.1:9?from=noreply@example.ru")
    with pytest.raises(PermanentDeliveryError, match="not a valid e-mail"):
        channel.send(make_message(recipient="buh@"))


# --- SMTP_URL ----------------------------------------------------------------


def test_plain_smtp_url() -> None:
    s = SmtpSettings.from_url("smtp://mail.example.ru?from=noreply@example.ru")
    assert (s.host, s.port, s.implicit_tls, s.starttls) == (
        "mail.example.ru",
        25,
        False,
        False,
    )
    assert (s.username, s.password, s.timeout, s.cafile) == (None, None, 30.0, None)
    assert s.sender.addr_spec == "noreply@example.ru"


def test_starttls_url_with_login_and_russian_sender() -> None:
    s = SmtpSettings.from_url(
        "smtp://robot%40energo:p%3Ass%2Fw+rd@mail.example.ru?starttls=1"
        "&from=Энергосбыт <noreply@example.ru>&timeout=5&cafile=/etc/ca.pem"
    )
    assert (s.port, s.starttls, s.implicit_tls) == (587, True, False)
    assert (s.username, s.password) == ("robot@energo", "p:ss/w+rd")
    assert s.sender.display_name == "Энергосбыт"
    assert (s.timeout, s.cafile) == (5.0, "/etc/ca.pem")


def test_smtps_url_defaults_to_465() -> None:
    s = SmtpSettings.from_url(
        "smtps://u:p@mail.example.ru", default_sender="a@example.ru"
    )
    assert (s.port, s.implicit_tls, s.starttls) == (465, True, False)
    assert s.sender.addr_spec == "a@example.ru"


def test_explicit_port_wins() -> None:
    s = SmtpSettings.from_url("smtp://127.0.0.1:2525?from=a@example.ru&starttls=yes")
    assert (s.host, s.port, s.starttls) == ("127.0.0.1", 2525, True)


def test_settings_repr_hides_the_password() -> None:
    s = SmtpSettings.from_url("smtp://u:topsecret@mail.example.ru?from=a@example.ru")
    assert "topsecret" not in repr(s)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example.ru?from=a@example.ru", "scheme"),
        ("mail.example.ru", "scheme"),
        ("smtp://?from=a@example.ru", "no host"),
        ("smtp://mail.example.ru", "needs a sender"),
        ("smtp://mail.example.ru?from=nobody", "'nobody' is not a valid e-mail"),
        ("smtps://mail.example.ru?from=a@example.ru&starttls=1", "already TLS"),
        ("smtp://mail.example.ru?from=a@example.ru&starttls=maybe", "not a boolean"),
        ("smtp://mail.example.ru?from=a@example.ru&starttl=1", "unknown parameter"),
        ("smtp://mail.example.ru?from=a@example.ru&timeout=0", "positive"),
        ("smtp://mail.example.ru?from=a@example.ru&timeout=nan", "positive"),
        ("smtp://mail.example.ru:port?from=a@example.ru", "malformed"),
        ("smtp://mail.example.ru?from=a@example.ru&from=b@example.ru", "repeats"),
    ],
)
def test_smtp_url_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SmtpSettings.from_url(url)


def test_missing_cafile_fails_at_start_up(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(ConfigurationError, match="cafile"):
        SmtpEmailChannel.from_url(
            f"smtp://mail.example.ru?from=a@example.ru&starttls=1&cafile={missing}"
        )


def test_smtp_url_error_hides_the_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        SmtpSettings.from_url("smtp://u:topsecret@mail.example.ru?bogus=1")
    assert "topsecret" not in str(info.value)
    assert "u:***@mail.example.ru" in str(info.value)
