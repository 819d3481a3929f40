from __future__ import annotations

import json
import logging
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from notifications import (
    ChannelKind,
    FileChannel,
    Message,
    PermanentDeliveryError,
    TransientDeliveryError,
    verify_webhook,
)

MessageFactory = Callable[..., Message]
CLOCK = 1_741_944_600.25  # 2025-03-14 09:30:00.25 UTC


def _channel(directory: Path, kind: ChannelKind, **options: object) -> FileChannel:
    return FileChannel(directory, kind, clock=lambda: CLOCK, **options)  # type: ignore[arg-type]


def _only_file(directory: Path) -> Path:
    files = list(directory.iterdir())
    assert len(files) == 1, files
    return files[0]


def test_email_is_written_as_eml(tmp_path: Path, make_message: MessageFactory) -> None:
    message = make_message()
    _channel(
        tmp_path / "outbox", ChannelKind.EMAIL, sender="Энергосбыт <noreply@example.ru>"
    ).send(message)
    path = _only_file(tmp_path / "outbox")
    assert path.name == f"20250314T093000.250000Z-{message.id}.eml"
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert str(parsed["Subject"]) == message.subject
    assert parsed["From"].addresses[0].display_name == "Энергосбыт"
    assert parsed["To"].addresses[0].addr_spec == "buh@romashka.ru"
    assert parsed["Message-ID"] == f"<{message.id}@docflow>"
    assert parsed.get_body(("html",)) is not None
    assert parsed.get_body(("plain",)) is not None


def test_email_to_a_utf8_mailbox_is_written_as_smtputf8(
    tmp_path: Path, make_message: MessageFactory
) -> None:
    _channel(tmp_path, ChannelKind.EMAIL).send(make_message(recipient="иван@почта.рф"))
    raw = _only_file(tmp_path).read_bytes()
    assert "To: иван@xn--80a1acny.xn--p1ai".encode() in raw


def test_sms_is_written_as_text(tmp_path: Path, make_message: MessageFactory) -> None:
    message = make_message(
        recipient="8 (916) 123-45-67", text="Код подтверждения: 4321"
    )
    _channel(tmp_path, ChannelKind.SMS).send(message)
    path = _only_file(tmp_path)
    assert path.suffix == ".txt"
    assert path.read_text(encoding="utf-8") == (
        "To: +79161234567\n"
        f"Message-Id: {message.id}\n"
        "Event: document.to_sign\n"
        "Segments: 1\n"
        "\n"
        "Код подтверждения: 4321\n"
    )


def test_sms_file_applies_the_length_limit(
    tmp_path: Path, make_message: MessageFactory
) -> None:
    _channel(tmp_path, ChannelKind.SMS, max_segments=1).send(
        make_message(recipient="+79161234567", text="Ж" * 80)
    )
    content = _only_file(tmp_path).read_text(encoding="utf-8")
    assert "Segments: 1 (truncated)" in content
    assert content.endswith("Ж" * 69 + "…\n")


def test_webhook_is_written_as_json_signed_when_a_secret_is_given(
    tmp_path: Path, make_message: MessageFactory
) -> None:
    message = make_message(recipient="https://erp.example/hook", data={"n": "№ 5"})
    secret = "s"  # noqa: S105 - a test secret
    _channel(tmp_path, ChannelKind.WEBHOOK, webhook_secret=secret).send(message)
    path = _only_file(tmp_path)
    assert path.suffix == ".json"
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["url"] == "https://erp.example/hook"
    assert record["body"]["data"] == {"n": "№ 5"}
    body = json.dumps(
        record["body"], ensure_ascii=False, separators=(",", ":")
    ).encode()
    assert verify_webhook(body, record["headers"], secret, now=CLOCK).id == message.id


def test_unsigned_webhook_file_has_no_signature(
    tmp_path: Path, make_message: MessageFactory
) -> None:
    _channel(tmp_path, ChannelKind.WEBHOOK).send(
        make_message(recipient="https://e.x/h")
    )
    record = json.loads(_only_file(tmp_path).read_text(encoding="utf-8"))
    assert "X-Signature" not in record["headers"]


def test_same_id_is_written_once(tmp_path: Path, make_message: MessageFactory) -> None:
    channel = FileChannel(tmp_path, ChannelKind.EMAIL)
    channel.send(make_message())
    channel.send(make_message(subject="второй раз"))
    channel.send(make_message(id="another-id"))
    assert len(list(tmp_path.iterdir())) == 2


def test_no_temporary_file_is_left(
    tmp_path: Path, make_message: MessageFactory
) -> None:
    _channel(tmp_path, ChannelKind.EMAIL).send(make_message())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_failed_write_leaves_nothing_and_is_transient(
    tmp_path: Path, make_message: MessageFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("notifications.channels.file.os.replace", disk_full)
    with pytest.raises(TransientDeliveryError, match="No space left"):
        _channel(tmp_path, ChannelKind.EMAIL).send(make_message())
    assert list(tmp_path.iterdir()) == []


def test_unwritable_directory_is_transient(
    tmp_path: Path, make_message: MessageFactory
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(TransientDeliveryError, match="cannot write"):
        FileChannel(blocker / "outbox", ChannelKind.SMS).send(
            make_message(recipient="+79161234567")
        )


@pytest.mark.parametrize(
    ("kind", "recipient", "reason"),
    [
        (ChannelKind.EMAIL, "buh@", "not a valid e-mail"),
        (ChannelKind.SMS, "+7 495 000-00-00", "not a mobile"),
    ],
)
def test_invalid_recipient_is_permanent(
    tmp_path: Path,
    make_message: MessageFactory,
    kind: ChannelKind,
    recipient: str,
    reason: str,
) -> None:
    with pytest.raises(PermanentDeliveryError, match=reason):
        FileChannel(tmp_path, kind).send(make_message(recipient=recipient))
    assert list(tmp_path.iterdir()) == []


def test_log_line_names_recipient_subject_and_link(
    tmp_path: Path, make_message: MessageFactory, caplog: pytest.LogCaptureFixture
) -> None:
    message = make_message(
        subject="Подтверждение адреса электронной почты",
        text="Подтвердите адрес: https://lk.example.ru/confirm/abc?t=1.\n",
    )
    with caplog.at_level(logging.INFO, logger="notifications.channels.file"):
        FileChannel(tmp_path, ChannelKind.EMAIL).send(message)
    (record,) = [r for r in caplog.records if r.name == "notifications.channels.file"]
    line = record.getMessage()
    assert "buh@romashka.ru" in line
    assert "«Подтверждение адреса электронной почты»" in line
    assert "https://lk.example.ru/confirm/abc?t=1 " in line  # the full stop is not part
    assert str(tmp_path) in line


def test_webhook_log_line_shows_links_from_the_data(
    tmp_path: Path, make_message: MessageFactory, caplog: pytest.LogCaptureFixture
) -> None:
    message = make_message(
        recipient="https://erp.example/h",
        text="",
        data={"url": "https://lk.example.ru/d/1"},
    )
    with caplog.at_level(logging.INFO, logger="notifications.channels.file"):
        FileChannel(tmp_path, ChannelKind.WEBHOOK).send(message)
    assert "https://lk.example.ru/d/1" in caplog.text
