"""Outgoing requests chosen by strangers reach no internal address: webhook
endpoints (rows 12, 13) and the URLs in a signature's certificates (row 20).

Network traffic stays on loopback: where a test plays a public address, the
connection to it is intercepted (refused, or routed to a loopback server)
before any socket leaves the machine.
"""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from sqlalchemy import select

import netguard
from docflow.outbox.models import Channel, OutboxMessage, OutboxStatus
from signing import TrustStore, Verdict, pki, validate_certificate
from signing.cli import main as cli_main
from tests.functional.api_support import api_for, error_code, sign_cms
from tests.functional.test_api_events import Receiver
from tests.functional.world import World, keys, world

__all__ = ["keys", "world"]

PUBLIC = "93.184.215.14"  # played by loopback servers; never connected to
BLOCKED_RU = "недоступен для проверки: внутренняя сеть"


# --- test doubles: a resolver, the connections, an HTTP server -------------------


class Resolver:
    """``socket.getaddrinfo`` answering scripted names (one answer per lookup,
    the last one repeated) and passing everything else to the real one."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = {name: list(script) for name, script in answers.items()}
        self.lookups: list[str] = []
        self.real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        script = self.answers.get(str(host))
        if script is None:
            return self.real(host, port, *args, **kwargs)
        self.lookups.append(str(host))
        address = script.pop(0) if len(script) > 1 else script[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port or 0))]


@dataclass
class Connections:
    """``socket.create_connection`` that only ever reaches loopback: a public
    address is refused, or routed to a loopback port that plays it."""

    attempts: list[tuple[str, int]] = field(default_factory=list)
    routes: dict[tuple[str, int], int] = field(default_factory=dict)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = socket.create_connection

        def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
            host, port = str(address[0]), int(address[1])
            self.attempts.append((host, port))
            if (host, port) in self.routes:
                return real(("127.0.0.1", self.routes[host, port]), *args, **kwargs)
            try:
                ip = ipaddress.ip_address(host)
            except ValueError:
                # A name: looked up here (through the test's resolver), and
                # connected only if every answer is loopback.
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                found = {ipaddress.ip_address(i[4][0]) for i in infos}
                if not all(a.is_loopback for a in found):
                    raise ConnectionRefusedError(
                        f"test: not leaving loopback {found}"
                    ) from None
                ip = next(iter(found))
            if not ip.is_loopback:
                raise ConnectionRefusedError(f"test: not connecting to {host}")
            return real((str(ip), port), *args, **kwargs)

        monkeypatch.setattr(socket, "create_connection", connect)


@pytest.fixture()
def connections(monkeypatch: pytest.MonkeyPatch) -> Connections:
    tracker = Connections()
    tracker.install(monkeypatch)
    return tracker


@dataclass
class Served:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class HttpServer:
    """A loopback HTTP server answering from ``routes``; records each request."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Served] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                outer.requests.append((self.command, self.path, dict(self.headers)))
                served = outer.routes.get(self.path, Served(404))
                self.send_response(served.status)
                for name, value in served.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(served.body)))
                self.end_headers()
                self.wfile.write(served.body)

            do_GET = do_POST = _answer  # noqa: N815 - http.server's names

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if context is not None:
            self.server.socket = context.wrap_socket(
                self.server.socket, server_side=True
            )
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture()
def server() -> Iterator[HttpServer]:
    http_server = HttpServer()
    yield http_server
    http_server.close()


# --- row 12: webhook addresses that wrap internal ones ---------------------------

WRAPPED = [
    "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",  # NAT64 of the metadata service
    "http://[::ffff:7f00:1]:8080/hook",  # IPv4-mapped 127.0.0.1
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
    "http://[64:ff9b:1::a00:1]/",  # local-use NAT64
    "http://100.64.0.1/hook",  # CGNAT
]


@pytest.mark.parametrize("url", WRAPPED)
def test_registering_a_webhook_to_a_wrapped_internal_address_is_refused(
    world: World, url: str
) -> None:
    resp = api_for(world, world.org_a).post("/webhooks", json={"url": url})

    assert resp.status_code == 422, resp.get_json()
    assert error_code(resp) == "webhook_url_forbidden"
    assert "внутреннюю сеть" in resp.get_json()["error"]["message"]


def _webhook_rows(world: World) -> list[OutboxMessage]:
    with world.session() as s:
        return list(
            s.scalars(
                select(OutboxMessage).where(OutboxMessage.channel == Channel.WEBHOOK)
            )
        )


def _register_then_forbid(
    world: World, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    # Registered while private targets were allowed (or while the name pointed
    # outward); then the setting is off and an event is delivered.
    monkeypatch.setitem(world.app.config, "ALLOW_PRIVATE_WEBHOOKS", True)
    created = api_for(world, world.org_a).post("/webhooks", json={"url": url})
    assert created.status_code == 201, created.get_json()
    monkeypatch.setitem(world.app.config, "ALLOW_PRIVATE_WEBHOOKS", False)


@pytest.mark.parametrize(
    "url", ["http://[64:ff9b::7f00:1]:8443/h", "http://[2002:7f00:1::]:8443/h"]
)
def test_delivery_to_a_wrapped_internal_address_is_refused_without_connecting(
    world: World,
    connections: Connections,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
) -> None:
    _register_then_forbid(world, monkeypatch, url)

    api_for(world, world.org_a).post_document()

    assert connections.attempts == []
    rows = _webhook_rows(world)
    assert [r.status for r in rows] == [OutboxStatus.FAILED]
    assert "non-public" in (rows[0].last_error or "")


# --- row 13: DNS rebinding -----------------------------------------------------------


def test_a_name_rebound_to_loopback_after_the_check_gets_no_delivery(
    world: World,
    connections: Connections,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Receiver() as receiver:
        port = receiver.server.server_port
        _register_then_forbid(world, monkeypatch, f"http://hooks.example.test:{port}/h")
        # Public for whoever asks first (the check), loopback afterwards.
        resolver = Resolver({"hooks.example.test": [PUBLIC, "127.0.0.1"]})
        monkeypatch.setattr(socket, "getaddrinfo", resolver)

        api_for(world, world.org_a).post_document()

        assert receiver.requests == []
    assert resolver.lookups == ["hooks.example.test"]
    assert connections.attempts == [(PUBLIC, port)]


def _tls_for(name: str, directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for ``name`` only (no IP address),
    and a client context that trusts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    return server_context, ssl.create_default_context(cafile=str(cert_file))


def test_the_pinned_connection_keeps_host_header_sni_and_certificate_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "hooks.example.test"
    server_context, client_context = _tls_for(name, tmp_path)
    sni: list[str | None] = []
    server_context.sni_callback = lambda _sock, server_name, _ctx: sni.append(
        server_name
    )
    tls_server = HttpServer(server_context)
    tls_server.routes["/h"] = Served(204)
    monkeypatch.setattr(socket, "getaddrinfo", Resolver({name: ["127.0.0.1"]}))
    transport = netguard.GuardedTransport(allow_private=True, verify=client_context)
    try:
        with httpx.Client(transport=transport) as client:
            resp = client.post(f"https://{name}:{tls_server.port}/h", content=b"{}")
    finally:
        tls_server.close()

    assert resp.status_code == 204
    assert sni == [name]  # the certificate, issued to the name, verified too
    ((_method, _path, headers),) = tls_server.requests
    assert headers["Host"] == f"{name}:{tls_server.port}"


# --- row 20: validation fetches on behalf of strangers -------------------------------


@pytest.fixture()
def configure(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., None]]:
    """Change the app's settings for one test; the trust store is rebuilt."""
    state = world.app.extensions["docflow"]

    def apply(**changes: object) -> None:
        # A new setting drops the runtime: the trust store is built again.
        monkeypatch.setattr(state, "settings", state.settings.replace(**changes))

    yield apply


@dataclass(frozen=True)
class LoopbackSigned:
    content: bytes
    signature: bytes
    signer: pki.Issued


def _signed_with_loopback_urls(world: World, server: HttpServer) -> LoopbackSigned:
    signer = pki.make_signer(
        world.keys.root,
        organization="ООО «Ромашка»",
        inn_le="7701234567",
        crl_url=server.url("/root.crl"),
        ocsp_url=server.url("/ocsp"),
    )
    server.routes["/root.crl"] = Served(
        200, pki.make_crl(world.keys.root), {"Content-Type": "application/pkix-crl"}
    )
    content = b"Act of readings, October\n"
    return LoopbackSigned(content, sign_cms(signer, content), signer)


def _verify(world: World, signed: LoopbackSigned) -> dict[str, Any]:
    data = {
        "file": (io.BytesIO(signed.content), "act.txt"),
        "signature": (io.BytesIO(signed.signature), "act.sig"),
    }
    resp = api_for(world, world.org_a).post(
        "/verify", data=data, content_type="multipart/form-data"
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()  # type: ignore[no-any-return]


def test_verify_api_fetches_nothing_from_internal_addresses(
    world: World, server: HttpServer, configure: Callable[..., None]
) -> None:
    configure(revocation_mode="soft", allow_private_fetch=False)
    signed = _signed_with_loopback_urls(world, server)

    report = _verify(world, signed)

    assert server.requests == []
    text = json.dumps(report, ensure_ascii=False)
    assert f"адрес {server.url('/root.crl')} {BLOCKED_RU}" in text
    assert '"blocked": "internal_network"' in text


def test_verify_api_with_allow_private_fetch_uses_the_internal_crl(
    world: World, server: HttpServer, configure: Callable[..., None]
) -> None:
    configure(revocation_mode="soft", allow_private_fetch=True)
    signed = _signed_with_loopback_urls(world, server)

    report = _verify(world, signed)

    assert ("GET", "/root.crl") in [(m, p) for m, p, _h in server.requests]
    text = json.dumps(report, ensure_ascii=False)
    assert BLOCKED_RU not in text
    assert '"source": "crl"' in text and '"status": "good"' in text


def test_verify_api_with_revocation_off_fetches_nothing_even_if_allowed(
    world: World, server: HttpServer, configure: Callable[..., None]
) -> None:
    configure(revocation_mode="off", allow_private_fetch=True)
    signed = _signed_with_loopback_urls(world, server)

    report = _verify(world, signed)

    assert server.requests == []
    assert report["verdict"] == "valid"


def _cli_files(tmp_path: Path, root: pki.Issued, signed: LoopbackSigned) -> list[str]:
    paths = {
        "act.txt": signed.content,
        "act.sig": signed.signature,
        "root.pem": root.pem,
    }
    for name, data in paths.items():
        (tmp_path / name).write_bytes(data)
    return [
        str(tmp_path / "act.txt"),
        str(tmp_path / "act.sig"),
        "--trust",
        str(tmp_path / "root.pem"),
        "--timeout",
        "3",
    ]


@pytest.fixture()
def cli_world(server: HttpServer) -> tuple[pki.Issued, LoopbackSigned]:
    """A leaf naming its issuer's certificate (AIA caIssuers), a CRL and an
    OCSP responder, all on loopback; the signature carries the leaf alone."""
    root = pki.make_root_ca("УЦ командной строки")
    intermediate = pki.make_intermediate_ca(root, crl_url=server.url("/root.crl"))
    leaf = pki.make_signer(
        intermediate, crl_url=server.url("/inter.crl"), ocsp_url=server.url("/ocsp")
    )
    signer = _with_ca_issuers(leaf, intermediate, server.url("/inter.cer"))
    crl_type = {"Content-Type": "application/pkix-crl"}
    server.routes["/root.crl"] = Served(200, pki.make_crl(root), crl_type)
    server.routes["/inter.crl"] = Served(200, pki.make_crl(intermediate), crl_type)
    server.routes["/inter.cer"] = Served(
        200, intermediate.der, {"Content-Type": "application/pkix-cert"}
    )
    content = b"CLI content\n"
    return root, LoopbackSigned(content, sign_cms(signer, content), signer)


def test_cli_verify_cms_with_revocation_off_fetches_nothing(
    server: HttpServer,
    cli_world: tuple[pki.Issued, LoopbackSigned],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, signed = cli_world
    args = _cli_files(tmp_path, root, signed)

    for extra in ([], ["--allow-private-fetch"]):
        code = cli_main(["verify-cms", *args, "--revocation", "off", *extra])
        assert code == 2, capsys.readouterr()  # no issuer: indeterminate
        assert server.requests == []


def test_cli_verify_cms_refuses_internal_addresses_unless_allowed(
    server: HttpServer,
    cli_world: tuple[pki.Issued, LoopbackSigned],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, signed = cli_world
    args = _cli_files(tmp_path, root, signed)

    assert cli_main(["verify-cms", *args, "--revocation", "soft"]) == 2
    refused = capsys.readouterr().out
    assert server.requests == []
    assert f"адрес {server.url('/inter.cer')} {BLOCKED_RU}" in refused

    code = cli_main(
        ["verify-cms", *args, "--revocation", "hard", "--allow-private-fetch"]
    )
    assert code == 0, capsys.readouterr()
    fetched = {p for _m, p, _h in server.requests}
    assert {"/inter.cer", "/inter.crl", "/root.crl"} <= fetched
    assert BLOCKED_RU not in capsys.readouterr().out


def _with_ca_issuers(leaf: pki.Issued, issuer: pki.Issued, url: str) -> pki.Issued:
    """``leaf`` re-issued with an AIA caIssuers URL, without its chain: a
    validator must fetch the issuer."""
    cert = leaf.cert
    builder = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(cert.public_key())  # type: ignore[arg-type]
        .serial_number(cert.serial_number)
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
    )
    access = [
        x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS,
            x509.UniformResourceIdentifier(url),
        )
    ]
    for ext in cert.extensions:
        if isinstance(ext.value, x509.AuthorityInformationAccess):
            access.extend(ext.value)  # keep the OCSP responder
        else:
            builder = builder.add_extension(ext.value, ext.critical)
    builder = builder.add_extension(
        x509.AuthorityInformationAccess(access), critical=False
    )
    signed = builder.sign(issuer.key, hashes.SHA256())  # type: ignore[arg-type]
    return pki.Issued(signed, leaf.key)


@pytest.fixture()
def aia_world(server: HttpServer) -> tuple[pki.Issued, bytes]:
    root = pki.make_root_ca("УЦ с caIssuers")
    intermediate = pki.make_intermediate_ca(root)
    leaf = _with_ca_issuers(
        pki.make_signer(intermediate), intermediate, server.url("/intermediate.cer")
    )
    server.routes["/intermediate.cer"] = Served(
        200, intermediate.der, {"Content-Type": "application/pkix-cert"}
    )
    return root, leaf.der


def _aia_store(root: pki.Issued, **options: Any) -> TrustStore:
    return TrustStore([root.der], ocsp=False, fetch_crls=False, timeout=3, **options)


@pytest.mark.parametrize("allow_private_fetch", [False, True])
def test_issuer_certificate_is_not_fetched_with_revocation_off(
    server: HttpServer, aia_world: tuple[pki.Issued, bytes], allow_private_fetch: bool
) -> None:
    root, leaf = aia_world
    store = _aia_store(root, allow_private_fetch=allow_private_fetch)

    result = validate_certificate(leaf, store, revocation="off")

    assert server.requests == []
    assert result.codes == {"chain_incomplete"}


def test_issuer_certificate_on_an_internal_address_is_refused_unless_allowed(
    server: HttpServer, aia_world: tuple[pki.Issued, bytes]
) -> None:
    root, leaf = aia_world

    refused = validate_certificate(leaf, _aia_store(root), revocation="soft")
    assert server.requests == []
    assert refused.verdict is Verdict.INDETERMINATE
    assert any(
        r.is_warning and BLOCKED_RU in r.message and "издателя" in r.message
        for r in refused.reasons
    ), refused.reasons

    allowed = validate_certificate(
        leaf, _aia_store(root, allow_private_fetch=True), revocation="soft"
    )
    assert [p for _m, p, _h in server.requests] == ["/intermediate.cer"]
    assert len(allowed.chain) == 3


def test_fetch_caps_the_response_size(server: HttpServer) -> None:
    server.routes["/big.crl"] = Served(200, b"x" * 4096)
    with pytest.raises(netguard.FetchError, match="more than 1024"):
        netguard.fetch(
            server.url("/big.crl"), timeout=3, max_bytes=1024, allow_private=True
        )
    small = netguard.fetch(
        server.url("/big.crl"), timeout=3, max_bytes=4096, allow_private=True
    )
    assert len(small.content) == 4096


def test_a_redirect_from_a_public_host_to_loopback_is_not_followed(
    server: HttpServer, connections: Connections, monkeypatch: pytest.MonkeyPatch
) -> None:
    # crl.example.test is public (played by the loopback server) and redirects
    # inward; the hop is checked like the first request.
    monkeypatch.setattr(socket, "getaddrinfo", Resolver({"crl.example.test": [PUBLIC]}))
    connections.routes[PUBLIC, 80] = server.port
    server.routes["/ca.crl"] = Served(302, headers={"Location": server.url("/x.crl")})

    with pytest.raises(netguard.ForbiddenAddressError, match="loopback"):
        netguard.fetch("http://crl.example.test/ca.crl", timeout=3, max_bytes=1024)

    assert [p for _m, p, _h in server.requests] == ["/ca.crl"]
    assert connections.attempts == [(PUBLIC, 80)]
