"""E-mail over SMTP.

``SMTP_URL`` forms (user and password percent-encoded)::

    smtp://host:25                                  no TLS, no login
    smtp://user:pass@host:587?starttls=1            STARTTLS, then AUTH
    smtps://user:pass@host:465                      implicit TLS (RFC 8314)

Parameters: ``from`` (the sender, ``Энергосбыт <noreply@example.ru>``),
``starttls`` (0/1), ``timeout`` (seconds, 30 by default), ``cafile`` (a PEM file
of CAs for a relay with a private CA). An unknown parameter is an error.
"""

from __future__ import annotations

import base64
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email import policy
from email.header import Header
from email.headerregistry import (
    Address,
    BaseHeader,
    HeaderRegistry,
    UnstructuredHeader,
)
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime, parseaddr
from urllib.parse import unquote

from notifications.channels import _url
from notifications.channels.base import InMemorySentRegistry, SentRegistry
from notifications.errors import (
    ConfigurationError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from notifications.message import ChannelKind, Message

logger = logging.getLogger(__name__)

MESSAGE_ID_DOMAIN = "docflow"
DEFAULT_TIMEOUT = 30.0

# RFC 5322 atext, plus any non-ASCII character (RFC 6531 UTF8-non-ascii), in a
# dot-atom local part. Quoted local parts are refused: nobody registers one.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+"
_LOCAL_RE = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL_RE = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def parse_address(address: str) -> Address:
    """Validate an e-mail address and return it with an ASCII (IDNA) domain.

    A Cyrillic domain (``почта.рф``) is converted to its IDNA form, so only a
    non-ASCII local part needs a server with SMTPUTF8 (RFC 6531).

    :raises ValueError: the address is not ``local@domain.tld``.
    """
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if not at or not _LOCAL_RE.fullmatch(local) or len(local.encode()) > 64:
        raise ValueError(f"{address!r} is not a valid e-mail address")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(
            f"{address!r} is not a valid e-mail address (domain)"
        ) from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL_RE.fullmatch(label) for label in labels):
        raise ValueError(f"{address!r} is not a valid e-mail address (domain)")
    return Address(username=local, domain=ascii_domain)


def parse_sender(value: str) -> Address:
    """Parse ``Display Name <addr@example.ru>`` or a bare address.

    :raises ValueError: no valid address in ``value``.
    """
    name, addr = parseaddr(value)
    if not addr:
        raise ValueError(f"{value!r} is not a sender address")
    parsed = parse_address(addr)
    return Address(display_name=name, username=parsed.username, domain=parsed.domain)


def message_id_header(message_id: str) -> str:
    """The RFC 5322 Message-ID for an outbox id: the same id gives the same
    header, so a receiver (or a mail client) can drop a duplicate delivery."""
    return f"<{message_id}@{MESSAGE_ID_DOMAIN}>"


class _SubjectHeader(UnstructuredHeader, BaseHeader):
    """The Subject, folded by :class:`email.header.Header`.

    Python's folder (``email._header_value_parser``, 3.11 and 3.12) may break a
    long non-ASCII subject into RFC 2047 encoded-words at a space and put that
    space between them, where a reader must ignore it (RFC 2047 §6.2):
    «Приглашение к договору № 77-0003-ЮЛ» arrived as «…договору№ 77-0003-ЮЛ».
    ``Header`` keeps every space inside an encoded-word.
    """

    def fold(self, *, policy: Policy) -> str:
        value = str(self)
        charset = "us-ascii" if value.isascii() else "utf-8"
        folded = Header(
            value,
            charset,
            maxlinelen=policy.max_line_length or 78,
            header_name=self.name,
        ).encode(linesep=policy.linesep)
        return f"{self.name}: {folded}{policy.linesep}"


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("subject", _SubjectHeader)
_POLICY = policy.SMTP.clone(header_factory=_HEADERS)


def build_email(message: Message, *, sender: Address) -> EmailMessage:
    """Build the MIME message: text/plain, plus text/html as an alternative.

    Non-ASCII headers are encoded by :mod:`email` per RFC 2047 (or sent as
    UTF-8 when the server speaks SMTPUTF8); bodies are UTF-8.

    :raises ValueError: the recipient is not a valid address.
    """
    recipient = parse_address(message.recipient)
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = sender
    msg["To"] = recipient
    # The subject comes from a template, but a newline in it would still
    # start a new header; the renderer makes it one line, this is the guard.
    msg["Subject"] = " ".join(message.subject.split())
    msg["Date"] = format_datetime(message.created_at)
    msg["Message-ID"] = message_id_header(message.id)
    msg["X-Docflow-Message-Id"] = message.id
    msg["X-Docflow-Event"] = message.kind.value
    # RFC 3834: a notification, so vacation responders stay silent.
    msg["Auto-Submitted"] = "auto-generated"
    unsubscribe = message.data.get("subscriptions_url")
    if isinstance(unsubscribe, str) and unsubscribe and not message.kind.is_mandatory:
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"  # RFC 2369
    msg.set_content(message.text or message.subject)
    if message.html:
        msg.add_alternative(message.html, subtype="html")
    return msg


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to reach the SMTP server; see :meth:`from_url`."""

    host: str
    port: int
    sender: Address
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    cafile: str | None = None

    @classmethod
    def from_url(cls, url: str, *, default_sender: str | None = None) -> SmtpSettings:
        """Parse an ``smtp://`` or ``smtps://`` URL (see the module docstring).

        :param default_sender: the sender when the URL has no ``from``.
        :raises ConfigurationError: a malformed URL, an unknown parameter, or
            no sender at all.
        """
        parts = _url.split(url, {"smtp", "smtps"})
        if not parts.hostname:
            raise ConfigurationError(f"SMTP URL {_url.redact(url)!r} has no host")
        params = _url.query_params(parts.query, url)
        implicit_tls = parts.scheme.lower() == "smtps"
        starttls = _url.flag(params, "starttls", url)
        if implicit_tls and starttls:
            raise ConfigurationError(
                f"SMTP URL {_url.redact(url)!r}: smtps:// is already TLS; drop starttls"
            )
        sender_value = params.pop("from", None) or default_sender
        if not sender_value:
            raise ConfigurationError(
                f"SMTP URL {_url.redact(url)!r} needs a sender: "
                "add from=Name%20<noreply@example.ru>"
            )
        try:
            sender = parse_sender(sender_value)
        except ValueError as exc:
            raise ConfigurationError(f"SMTP URL {_url.redact(url)!r}: {exc}") from None
        timeout = _url.number(params, "timeout", DEFAULT_TIMEOUT, url)
        cafile = params.pop("cafile", None) or None
        _url.no_more(params, url)
        default_port = 465 if implicit_tls else 587 if starttls else 25
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            sender=sender,
            implicit_tls=implicit_tls,
            starttls=starttls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            timeout=timeout,
            cafile=cafile,
        )


class SmtpEmailChannel:
    """Sends :class:`Message` objects as e-mail, one SMTP session per message.

    A message id already in the :class:`SentRegistry` is not sent again.

    How errors are classified (the relay retries only transient ones):

    * connecting, TLS, STARTTLS and AUTH failures (including a 535) are
      :class:`TransientDeliveryError`: they concern the configuration, and the
      message must survive until an operator fixes it;
    * a reply to MAIL FROM, RCPT TO or DATA is judged by its code: 4xx is
      transient, 5xx is permanent (RFC 5321 §4.2.1);
    * a non-ASCII local part to a server without SMTPUTF8, or an invalid
      address, is permanent.

    :param settings: the server; see :meth:`SmtpSettings.from_url`.
    :param registry: where sent ids are remembered (in memory by default).
    :param ssl_context: the TLS context; by default the system's CAs (plus
        ``cafile``) with hostname verification.
    """

    kind = ChannelKind.EMAIL

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        registry: SentRegistry | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self.registry: SentRegistry = registry or InMemorySentRegistry()
        if ssl_context is None and (settings.implicit_tls or settings.starttls):
            # Made now, so that a wrong cafile fails at start-up.
            try:
                ssl_context = ssl.create_default_context(cafile=settings.cafile)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(
                    f"SMTP cafile {settings.cafile!r} cannot be loaded: {exc}"
                ) from exc
        self._ssl_context = ssl_context
        if settings.username and not (settings.implicit_tls or settings.starttls):
            logger.warning(
                "SMTP login to %s:%s without TLS sends the password in clear",
                settings.host,
                settings.port,
            )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        registry: SentRegistry | None = None,
        ssl_context: ssl.SSLContext | None = None,
        default_sender: str | None = None,
    ) -> SmtpEmailChannel:
        """Build a channel from ``SMTP_URL``.

        :raises ConfigurationError: see :meth:`SmtpSettings.from_url`.
        """
        return cls(
            SmtpSettings.from_url(url, default_sender=default_sender),
            registry=registry,
            ssl_context=ssl_context,
        )

    def send(self, message: Message) -> None:
        """Send ``message`` unless its id was sent already.

        :raises TransientDeliveryError: server down, busy, 4xx, or the channel
            is misconfigured (login, TLS).
        :raises PermanentDeliveryError: invalid address, 5xx to the message.
        """
        if self.registry.was_sent(message.id):
            logger.info("e-mail %s was sent already; skipped", message.id)
            return
        try:
            mime = build_email(message, sender=self.settings.sender)
        except ValueError as exc:
            raise PermanentDeliveryError(str(exc)) from exc
        smtp = self._connect()
        try:
            self._transmit(smtp, mime, message)
            # Remember before QUIT: the server has accepted the message, and a
            # failure to say goodbye must not lead to a second copy.
            self.registry.mark_sent(message.id)
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
        logger.info(
            "e-mail %s (%s) sent to %s",
            message.id,
            message.kind.value,
            message.recipient,
        )

    def _connect(self) -> smtplib.SMTP:
        """An open, secured and logged-in session.

        Every failure here concerns the channel, not the message, so it is
        transient (see the class docstring).
        """
        s = self.settings
        where = f"{s.host}:{s.port}"
        try:
            if s.implicit_tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=self._ssl_context
                )
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientDeliveryError(
                f"cannot connect to SMTP server {where}: {exc}"
            ) from exc
        try:
            if s.starttls:
                smtp.starttls(context=self._ssl_context)
            if s.username is not None:
                _login(smtp, s.username, s.password or "")
        except smtplib.SMTPNotSupportedError as exc:
            smtp.close()
            raise TransientDeliveryError(f"SMTP server {where}: {exc}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            smtp.close()
            raise TransientDeliveryError(
                f"SMTP server {where} refused the login of {s.username!r}: "
                f"{exc.smtp_code} {_reply(exc.smtp_error)}"
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            smtp.close()
            raise TransientDeliveryError(
                f"SMTP session with {where} failed: {exc}"
            ) from exc
        return smtp

    def _transmit(
        self, smtp: smtplib.SMTP, mime: EmailMessage, message: Message
    ) -> None:
        recipient = mime["To"].addresses[0].addr_spec
        try:
            smtp.send_message(
                mime, from_addr=self.settings.sender.addr_spec, to_addrs=[recipient]
            )
        except smtplib.SMTPRecipientsRefused as exc:
            # One recipient per message, so one refusal.
            code, reply = next(iter(exc.recipients.values()))
            raise _classify(
                code, f"recipient {recipient} refused: {_reply(reply)}"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # SMTPSenderRefused and SMTPDataError are response exceptions too.
            raise _classify(
                exc.smtp_code, f"message {message.id} refused: {_reply(exc.smtp_error)}"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentDeliveryError(
                f"{recipient} needs SMTPUTF8, which the server does not offer"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientDeliveryError(
                f"SMTP session broke while sending {message.id}: {exc}"
            ) from exc


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    smtp.ehlo_or_helo_if_needed()
    mechanisms = smtp.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" not in mechanisms:
        if not (username + password).isascii():
            raise smtplib.SMTPNotSupportedError(
                "a non-ASCII login needs AUTH PLAIN, which the server does not offer"
            )
        smtp.login(username, password)  # CRAM-MD5 or LOGIN
        return
    # AUTH PLAIN by hand rather than smtp.login(), for two reasons: smtplib
    # encodes credentials as ASCII and fails on a Cyrillic password, while
    # PLAIN carries UTF-8 (RFC 4616 §2); and after a refused password it tries
    # the next mechanism, which cannot help and only adds round trips.
    token = b"\0" + username.encode() + b"\0" + password.encode()
    code, reply = smtp.docmd("AUTH", "PLAIN " + base64.b64encode(token).decode("ascii"))
    if code != 235:  # RFC 4954 §6: 235 Authentication successful
        raise smtplib.SMTPAuthenticationError(code, reply)


def _reply(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def _classify(code: int, text: str) -> TransientDeliveryError | PermanentDeliveryError:
    # RFC 5321 §4.2.1: 4yz is a transient negative completion, 5yz permanent.
    if 500 <= code < 600:
        return PermanentDeliveryError(f"SMTP {code}: {text}")
    return TransientDeliveryError(f"SMTP {code}: {text}")
