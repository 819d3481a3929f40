"""Revocation against real servers on loopback: a CRL over HTTP and the real
``openssl ocsp`` responder, plus servers that do not answer.

The servers live on 127.0.0.1, which the trust store refuses to fetch from
unless told otherwise: every store here is a closed network's store
(``allow_private_fetch=True``, ``--allow-private-fetch``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from signing import TrustStore, Verdict, pki, validate_certificate
from signing.cli import main as cli_main
from tests.services import free_port, require_command

pytestmark = pytest.mark.integration

UTC = dt.UTC


# --- a CRL distribution point -------------------------------------------------


@dataclass
class CRLServer:
    port: int
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="module")
def crl_server() -> Iterator[CRLServer]:
    server_state = CRLServer(free_port())

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.requests.append(self.path)
            body = server_state.files.get(self.path.lstrip("/"))
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/pkix-crl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", server_state.port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@dataclass(frozen=True)
class CrlWorld:
    root: pki.Issued
    intermediate: pki.Issued
    good: pki.Issued
    revoked: pki.Issued
    revoked_at: dt.datetime


@pytest.fixture(scope="module")
def crl_world(crl_server: CRLServer) -> CrlWorld:
    now = dt.datetime.now(UTC).replace(microsecond=0)
    root = pki.make_root_ca("УЦ с CRL по HTTP")
    intermediate = pki.make_intermediate_ca(root, crl_url=crl_server.url("root.crl"))
    good = pki.make_signer(intermediate, crl_url=crl_server.url("intermediate.crl"))
    revoked = pki.make_signer(intermediate, crl_url=crl_server.url("intermediate.crl"))
    revoked_at = now - dt.timedelta(hours=2)
    crl_server.files["root.crl"] = pki.make_crl(root)
    crl_server.files["intermediate.crl"] = pki.make_crl(
        intermediate,
        [
            pki.Revoked(
                revoked.cert.serial_number, revoked_at, pki.x509.ReasonFlags.superseded
            )
        ],
    )
    return CrlWorld(root, intermediate, good, revoked, revoked_at)


def _crl_store(world: CrlWorld, **options: object) -> TrustStore:
    settings: dict[str, object] = {
        "ocsp": False,
        "fetch_issuers": False,
        "timeout": 5.0,
        "allow_private_fetch": True,
    }
    settings.update(options)
    return TrustStore([world.root.der], [world.intermediate.der], **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["soft", "hard", "require"])
def test_crl_downloaded_over_http_confirms_a_good_certificate(
    mode: str, crl_world: CrlWorld, crl_server: CRLServer
) -> None:
    result = validate_certificate(
        crl_world.good.der, _crl_store(crl_world), revocation=mode
    )  # type: ignore[arg-type]

    assert result.verdict is Verdict.VALID, result.reasons
    assert result.reasons == ()
    assert result.revocation is not None
    assert (result.revocation.status, result.revocation.source) == ("good", "crl")
    assert "/intermediate.crl" in crl_server.requests
    assert "/root.crl" in crl_server.requests


def test_crl_downloaded_over_http_revokes(crl_world: CrlWorld) -> None:
    result = validate_certificate(crl_world.revoked.der, _crl_store(crl_world))

    assert result.verdict is Verdict.INVALID
    assert result.codes == {"revoked"}
    assert result.reasons[0].details["reason"] == "superseded"
    assert "сертификат заменён" in result.reasons[0].message
    assert result.revocation is not None
    assert result.revocation.revoked_at == crl_world.revoked_at


def test_downloaded_crl_is_reused_from_the_cache(
    crl_world: CrlWorld, crl_server: CRLServer
) -> None:
    store = _crl_store(crl_world)
    validate_certificate(crl_world.good.der, store)
    before = len(crl_server.requests)

    for _ in range(20):
        validate_certificate(crl_world.good.der, store)

    assert len(crl_server.requests) == before
    assert store.cache_info().hits == 20


def test_crl_downloads_disabled_fall_back_per_mode(crl_world: CrlWorld) -> None:
    store = _crl_store(crl_world, fetch_crls=False)

    soft = validate_certificate(crl_world.revoked.der, store, revocation="soft")
    hard = validate_certificate(crl_world.revoked.der, store, revocation="hard")

    assert soft.verdict is Verdict.VALID
    assert soft.codes == {"revocation_unavailable"}
    assert hard.verdict is Verdict.INDETERMINATE


# --- the real OpenSSL OCSP responder ------------------------------------------


@dataclass(frozen=True)
class OcspWorld:
    root: pki.Issued
    intermediate: pki.Issued
    root_crl: bytes
    good: pki.Issued
    revoked: pki.Issued
    unknown: pki.Issued
    revoked_at: dt.datetime


def _openssl_time(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).strftime("%y%m%d%H%M%SZ")


def _index_line(
    issued: pki.Issued, revoked_at: dt.datetime | None = None, reason: str | None = None
) -> str:
    """One row of OpenSSL's CA database (``ca``/``ocsp -index``): status,
    expiry, revocation[,reason], serial (hex), file name, DN."""
    cert = issued.cert
    serial = format(cert.serial_number, "X")
    serial = serial if len(serial) % 2 == 0 else "0" + serial
    revocation = ""
    if revoked_at is not None:
        revocation = _openssl_time(revoked_at) + (f",{reason}" if reason else "")
    status = "R" if revoked_at is not None else "V"
    dn = "/CN=docflow-test-" + serial[:8]
    return "\t".join(
        [
            status,
            _openssl_time(cert.not_valid_after_utc),
            revocation,
            serial,
            "unknown",
            dn,
        ]
    )


@contextlib.contextmanager
def _openssl_responder(args: list[str], timeout: float = 30.0) -> Iterator[None]:
    """Run ``openssl ocsp`` as a responder until the block ends.

    Not tests.services.background_process: its readiness probe (connect, then
    close without a request) sends OpenSSL 3.0's responder into a busy loop
    that answers nothing more. Readiness is its own message on stderr instead.
    """
    # S603: the arguments are the test's own (openssl and temporary files).
    proc = subprocess.Popen(  # noqa: S603
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    ready = threading.Event()
    lines: list[str] = []

    def read_stderr() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            lines.append(raw.decode(errors="replace"))
            if "waiting for OCSP client connections" in lines[-1]:
                ready.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        if not ready.wait(timeout):
            raise RuntimeError("openssl ocsp did not start: " + "".join(lines)[-2000:])
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(5)
        if proc.stderr:
            proc.stderr.close()


@pytest.fixture(scope="module")
def ocsp_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def ocsp_world(
    ocsp_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OcspWorld]:
    openssl = require_command("openssl")
    now = dt.datetime.now(UTC).replace(microsecond=0)
    url = f"http://127.0.0.1:{ocsp_port}"
    root = pki.make_root_ca("УЦ с OCSP")
    intermediate = pki.make_intermediate_ca(root)
    responder = pki.make_ocsp_responder(intermediate)
    good = pki.make_signer(intermediate, ocsp_url=url)
    revoked = pki.make_signer(intermediate, ocsp_url=url)
    unknown = pki.make_signer(intermediate, ocsp_url=url)
    revoked_at = now - dt.timedelta(hours=3)

    workdir = tmp_path_factory.mktemp("ocsp")
    index = workdir / "index.txt"
    index.write_text(
        _index_line(good)
        + "\n"
        + _index_line(revoked, revoked_at, "keyCompromise")
        + "\n"
    )
    (workdir / "index.txt.attr").write_text("unique_subject = no\n")
    files = {
        "ca.pem": intermediate.pem,
        "responder.pem": responder.pem,
        "responder.key": responder.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    }
    for name, data in files.items():
        (workdir / name).write_bytes(data)

    args = [
        openssl,
        "ocsp",
        "-index",
        str(index),
        "-port",
        str(ocsp_port),
        "-rsigner",
        str(workdir / "responder.pem"),
        "-rkey",
        str(workdir / "responder.key"),
        "-CA",
        str(workdir / "ca.pem"),
        "-rmd",
        "sha256",
        "-nmin",
        "10",
        "-ignore_err",
    ]
    with _openssl_responder(args):
        yield OcspWorld(
            root, intermediate, pki.make_crl(root), good, revoked, unknown, revoked_at
        )


def _ocsp_store(world: OcspWorld) -> TrustStore:
    # The root's CRL covers the intermediate; the end entities have OCSP only.
    return TrustStore(
        [world.root.der],
        [world.intermediate.der],
        [world.root_crl],
        ocsp=True,
        fetch_crls=False,
        fetch_issuers=False,
        timeout=5.0,
        allow_private_fetch=True,
    )


@pytest.mark.parametrize("mode", ["soft", "hard", "require"])
def test_ocsp_good(mode: str, ocsp_world: OcspWorld) -> None:
    result = validate_certificate(
        ocsp_world.good.der, _ocsp_store(ocsp_world), revocation=mode
    )  # type: ignore[arg-type]

    assert result.verdict is Verdict.VALID, result.reasons
    assert result.reasons == ()
    assert result.revocation is not None
    assert (result.revocation.status, result.revocation.source) == ("good", "ocsp")


@pytest.mark.parametrize("mode", ["soft", "hard", "require"])
def test_ocsp_revoked(mode: str, ocsp_world: OcspWorld) -> None:
    result = validate_certificate(
        ocsp_world.revoked.der,
        _ocsp_store(ocsp_world),
        revocation=mode,  # type: ignore[arg-type]
    )

    assert result.verdict is Verdict.INVALID
    assert result.codes == {"revoked"}
    reason = result.reasons[0]
    assert reason.details["source"] == "ocsp"
    assert reason.details["reason"] == "key_compromise"
    assert reason.details["revoked_at"] == ocsp_world.revoked_at.isoformat()
    assert result.revocation is not None
    assert (result.revocation.status, result.revocation.source) == ("revoked", "ocsp")


@pytest.mark.parametrize("mode", ["hard", "require"])
def test_ocsp_unknown_is_indeterminate(mode: str, ocsp_world: OcspWorld) -> None:
    result = validate_certificate(
        ocsp_world.unknown.der,
        _ocsp_store(ocsp_world),
        revocation=mode,  # type: ignore[arg-type]
    )

    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes == {"revocation_unavailable"}
    assert "unknown" in result.reasons[0].message
    assert result.revocation is not None
    assert (result.revocation.status, result.revocation.source) == ("unknown", "ocsp")


def test_ocsp_validate_cert_cli_exit_codes(
    ocsp_world: OcspWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = {}
    for name, data in {
        "root.pem": ocsp_world.root.pem,
        "inter.pem": ocsp_world.intermediate.pem,
        "root.crl": ocsp_world.root_crl,
        "good.pem": ocsp_world.good.pem,
        "revoked.pem": ocsp_world.revoked.pem,
        "unknown.pem": ocsp_world.unknown.pem,
    }.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    common = [
        "--trust",
        str(paths["root.pem"]),
        "--intermediate",
        str(paths["inter.pem"]),
        "--crl",
        str(paths["root.crl"]),
        "--revocation",
        "hard",
        "--allow-private-fetch",
    ]

    codes = {
        name: cli_main(["validate-cert", str(paths[name]), *common])
        for name in ("good.pem", "revoked.pem", "unknown.pem")
    }

    assert codes == {"good.pem": 0, "revoked.pem": 1, "unknown.pem": 2}
    out = capsys.readouterr().out
    assert "не отозван, проверено по OCSP" in out
    assert "Сертификат отозван" in out


# --- servers that do not answer -----------------------------------------------


@pytest.fixture(scope="module")
def unreachable_world() -> tuple[pki.Issued, pki.Issued, bytes]:
    dead = free_port()  # nothing listens there: connections are refused
    root = pki.make_root_ca("УЦ без связи")
    intermediate = pki.make_intermediate_ca(root)
    leaf = pki.make_signer(
        intermediate,
        ocsp_url=f"http://127.0.0.1:{dead}/ocsp",
        crl_url=f"http://127.0.0.1:{dead}/intermediate.crl",
    )
    return root, leaf, intermediate.der


def _dead_store(world: tuple[pki.Issued, pki.Issued, bytes]) -> TrustStore:
    root, _leaf, intermediate = world
    return TrustStore(
        [root.der],
        [intermediate],
        [pki.make_crl(root)],
        ocsp=True,
        fetch_crls=True,
        fetch_issuers=False,
        timeout=2.0,
        allow_private_fetch=True,
    )


def test_unreachable_responder_hard_is_indeterminate(
    unreachable_world: tuple[pki.Issued, pki.Issued, bytes],
) -> None:
    result = validate_certificate(
        unreachable_world[1].der, _dead_store(unreachable_world), revocation="hard"
    )

    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes == {"revocation_unavailable"}
    assert result.reasons[0].is_warning is False
    assert "Не удалось получить сведения об отзыве" in result.reasons[0].message


def test_unreachable_responder_soft_is_valid_with_a_warning(
    unreachable_world: tuple[pki.Issued, pki.Issued, bytes],
) -> None:
    result = validate_certificate(
        unreachable_world[1].der, _dead_store(unreachable_world), revocation="soft"
    )

    assert result.verdict is Verdict.VALID
    assert result.codes == {"revocation_unavailable"}
    assert all(r.is_warning for r in result.reasons)
    assert result.revocation is not None
    assert result.revocation.status == "unchecked"
    assert "Не удалось получить сведения об отзыве" in result.summary_ru()


def test_unreachable_responder_require_is_indeterminate(
    unreachable_world: tuple[pki.Issued, pki.Issued, bytes],
) -> None:
    result = validate_certificate(
        unreachable_world[1].der, _dead_store(unreachable_world), revocation="require"
    )

    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes == {"revocation_unavailable"}
