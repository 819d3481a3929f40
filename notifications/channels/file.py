"""The embedded mode's channels: messages become files under a directory.

A newcomer running the cabinet without an SMTP server or an SMS gateway finds
each e-mail as an ``.eml`` (opens in any mail client), each SMS as a ``.txt``
and each webhook as a ``.json`` under ``var/outbox/``, and one log line per
message with the recipient, the subject and the links in it, so a confirmation
link can be clicked straight from the console.

Messages are validated exactly as the real channels do (address, phone, text
length, JSON data), so a mistake shows up in development, not in production.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from pathlib import Path

from notifications.channels.email import build_email, parse_sender
from notifications.channels.sms import DEFAULT_MAX_SEGMENTS, prepare_sms
from notifications.channels.webhook import webhook_body, webhook_headers
from notifications.errors import PermanentDeliveryError, TransientDeliveryError
from notifications.message import ChannelKind, Message

logger = logging.getLogger(__name__)

DEFAULT_SENDER = "Личный кабинет <noreply@docflow.localhost>"
_EXTENSIONS = {
    ChannelKind.EMAIL: "eml",
    ChannelKind.SMS: "txt",
    ChannelKind.WEBHOOK: "json",
}
_URL_RE = re.compile(r"https?://[^\s<>\"')]+")


class FileChannel:
    """Writes each message to ``<directory>/<UTC timestamp>-<id>.<eml|txt|json>``.

    The file appears atomically (written to a hidden temporary file, synced,
    then renamed), so a reader never sees half a message. A message whose id
    already has a file is not written again, like a real channel's duplicate.

    :param directory: created if missing.
    :param kind: which channel this stands in for.
    :param sender: the ``From`` of e-mails.
    :param max_segments: the SMS length limit, as for the gateway.
    :param webhook_secret: signs webhooks as the real channel would (optional).
    :param clock: the time in file names (for tests).
    """

    def __init__(
        self,
        directory: Path | str,
        kind: ChannelKind,
        *,
        sender: Address | str = DEFAULT_SENDER,
        max_segments: int = DEFAULT_MAX_SEGMENTS,
        webhook_secret: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = Path(directory)
        self.kind = ChannelKind(kind)
        self.sender = parse_sender(sender) if isinstance(sender, str) else sender
        self.max_segments = max_segments
        self._webhook_secret = webhook_secret
        self._clock = clock

    def send(self, message: Message) -> None:
        """Write ``message`` to a file and log it.

        :raises PermanentDeliveryError: the message is invalid for the channel.
        :raises TransientDeliveryError: the file cannot be written (disk full,
            permissions).
        """
        extension = _EXTENSIONS[self.kind]
        existing = self._existing(message.id, extension)
        if existing is not None:
            logger.info(
                "%s %s exists already as %s; skipped",
                self.kind.value,
                message.id,
                existing,
            )
            return
        content, recipient, summary = self._render(message)
        stamp = datetime.fromtimestamp(self._clock(), UTC)
        path = self.directory / f"{stamp:%Y%m%dT%H%M%S.%fZ}-{message.id}.{extension}"
        try:
            self._write_atomically(path, content)
        except OSError as exc:
            raise TransientDeliveryError(f"cannot write {path}: {exc}") from exc
        links = _links(message)
        logger.info(
            "%s to %s: %s%s -> %s",
            self.kind.value,
            recipient,
            summary,
            f" {' '.join(links)}" if links else "",
            path,
        )

    def _existing(self, message_id: str, extension: str) -> Path | None:
        if not self.directory.is_dir():
            return None
        return next(iter(self.directory.glob(f"*-{message_id}.{extension}")), None)

    def _render(self, message: Message) -> tuple[bytes, str, str]:
        """The file's bytes, the recipient as delivered, and a log summary."""
        if self.kind is ChannelKind.EMAIL:
            try:
                mime = build_email(message, sender=self.sender)
            except ValueError as exc:
                raise PermanentDeliveryError(str(exc)) from exc
            international = not all(
                a.addr_spec.isascii()
                for a in (*mime["From"].addresses, *mime["To"].addresses)
            )
            # What an SMTPUTF8 server would receive; RFC 2047 words otherwise.
            out_policy = policy.SMTPUTF8 if international else policy.SMTP
            recipient = mime["To"].addresses[0].addr_spec
            return mime.as_bytes(policy=out_policy), recipient, f"«{message.subject}»"
        if self.kind is ChannelKind.SMS:
            sms = prepare_sms(message, self.max_segments)
            text = (
                f"To: {sms.phone}\n"
                f"Message-Id: {message.id}\n"
                f"Event: {message.kind.value}\n"
                f"Segments: {sms.segments}{' (truncated)' if sms.truncated else ''}\n"
                f"\n{sms.text}\n"
            )
            return text.encode("utf-8"), sms.phone, f"«{sms.text}»"
        try:
            body = webhook_body(message)
        except TypeError as exc:
            raise PermanentDeliveryError(f"webhook {message.id}: {exc}") from exc
        headers = webhook_headers(
            message, body, self._webhook_secret, int(self._clock())
        )
        record = {
            "url": message.recipient,
            "headers": headers,
            "body": json.loads(body),
        }
        dumped = json.dumps(record, ensure_ascii=False, indent=2) + "\n"
        return dumped.encode("utf-8"), message.recipient, message.kind.value

    def _write_atomically(self, path: Path, content: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _links(message: Message) -> list[str]:
    """The URLs the recipient sees in the text, each once, in order; for a
    webhook (no text), those in its data."""
    found: list[str] = []
    sources = (
        [message.text]
        if message.text
        else [value for value in message.data.values() if isinstance(value, str)]
    )
    for source in sources:
        for url in _URL_RE.findall(source):
            url = url.rstrip(".,;:!?»")
            if url not in found:
                found.append(url)
    return found
