"""Real servers on loopback for the notifications channels.

* an SMTP server (aiosmtpd) in a thread, plain, STARTTLS or implicit TLS, with
  AUTH, that records what it accepted and refuses chosen recipients;
* an HTTP receiver (http.server) in a thread that records requests and answers
  with scripted statuses, standing in for an SMS gateway or a webhook endpoint;
* a self-signed certificate for 127.0.0.1 made with cryptography.

Every server takes a free port and a temporary directory, so the tests run in
parallel under xdist.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.services import free_port

SMTP_USER = "robot@energo"
SMTP_PASSWORD = "пароль-с-кириллицей"  # noqa: S105 - a throwaway test credential


# --- TLS ---------------------------------------------------------------------


@dataclass(frozen=True)
class SelfSignedCertificate:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert_file))


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> SelfSignedCertificate:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    directory = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / "cert.pem"
    key_file = directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return SelfSignedCertificate(cert_file, key_file)


# --- SMTP --------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    smtp_utf8: bool
    authenticated: bool
    tls: bool
    message: EmailMessage


@dataclass
class RecordingHandler:
    """aiosmtpd handler: records messages, refuses some recipients.

    A recipient whose local part starts with ``reject`` gets 550, with
    ``later`` 451. With ``require_auth``, MAIL without a login gets 530.
    """

    require_auth: bool = False
    received: list[Received] = field(default_factory=list)

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.startswith("reject"):
            return "550 5.1.1 Mailbox unavailable"
        if address.startswith("later"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(
            Received(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                smtp_utf8=envelope.smtp_utf8,
                authenticated=bool(session.authenticated),
                tls=session.ssl is not None,
                message=parsed,
            )
        )
        return "250 Message accepted"


def _authenticator(
    server: SMTP,
    session: Session,
    envelope: Envelope,
    mechanism: str,
    auth_data: object,
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == SMTP_USER
        and auth_data.password.decode() == SMTP_PASSWORD
    )
    # handled=False: let aiosmtpd answer 535 itself on a wrong password.
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    port: int
    handler: RecordingHandler
    controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received


class SmtpServers:
    """Starts aiosmtpd servers on free loopback ports and stops them after."""

    def __init__(self) -> None:
        self._controllers: list[Controller] = []

    def reserve(self, *, require_auth: bool = False) -> SmtpServer:
        """A server that is down: its port is chosen, nothing listens yet."""
        return SmtpServer(free_port(), RecordingHandler(require_auth))

    def start(self, server: SmtpServer, **options: object) -> SmtpServer:
        """Bring ``server`` up; ``options`` go to aiosmtpd's Controller/SMTP."""
        controller = Controller(
            server.handler,
            hostname="127.0.0.1",
            port=server.port,
            authenticator=_authenticator,
            **options,
        )
        controller.start()
        self._controllers.append(controller)
        server.controller = controller
        return server

    def run(self, *, require_auth: bool = False, **options: object) -> SmtpServer:
        """A running server (see :meth:`start` for ``options``)."""
        return self.start(self.reserve(require_auth=require_auth), **options)

    def stop_all(self) -> None:
        for controller in self._controllers:
            controller.stop()


@pytest.fixture
def smtp_servers() -> Iterator[SmtpServers]:
    servers = SmtpServers()
    yield servers
    servers.stop_all()


# --- HTTP --------------------------------------------------------------------


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    """Records POSTs; answers with the next scripted status (200 when none)."""

    url: str
    requests: list[RecordedRequest] = field(default_factory=list)
    statuses: deque[int] = field(default_factory=deque)
    check: Callable[[RecordedRequest], int | None] | None = None


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            request = RecordedRequest(
                path=self.path,
                headers=dict(self.headers.items()),
                body=self.rfile.read(length),
            )
            receiver.requests.append(request)
            status = receiver.statuses.popleft() if receiver.statuses else 200
            if status == 200 and receiver.check is not None:
                status = receiver.check(request) or 200
            payload = b'{"status":"ok"}' if status < 400 else b'{"status":"error"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the test output clean

    # Port 0: the kernel picks a free port and we read it back, no race.
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll interval: shutdown() waits up to one interval.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(5)
