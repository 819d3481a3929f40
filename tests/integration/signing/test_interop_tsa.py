"""PAdES B-T: a signature time-stamp from an RFC 3161 server over HTTP."""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asn1crypto import keys, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko.sign.validation import validate_pdf_signature

from signing import pki
from signing.errors import SigningError
from signing.external import ExternalSigner
from signing.pades import sign_pdf, verify_pdf
from signing.reports import Verdict
from signing.signers import Pkcs12Signer
from signing.trust import TrustStore
from tests.services import free_port
from tests.unit.signing.test_pades import build_act_pdf
from tests.unit.signing.test_signers import _client_sign

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tsa_url(pki_tsa: pki.Issued, pki_intermediate: pki.Issued) -> Iterator[str]:
    """A time-stamping authority on a loopback port (pyHanko's DummyTimeStamper)."""
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(pki_tsa.der),
        tsa_key=keys.PrivateKeyInfo.load(
            pki_tsa.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        ),
        certs_to_embed=[asn1_x509.Certificate.load(pki_intermediate.der)],
    )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            answer = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/tsa"
    finally:
        server.shutdown()
        server.server_close()


def test_pades_b_t(
    signer_rsa: pki.Issued, tsa_url: str, trust_store: TrustStore
) -> None:
    signer = Pkcs12Signer(signer_rsa.key, signer_rsa.cert, signer_rsa.chain)

    signed = sign_pdf(build_act_pdf(), signer, tsa_url=tsa_url)

    report = verify_pdf(signed, trust_store)
    assert report.verdict is Verdict.VALID, report.summary_ru()
    (sig,) = report.signatures
    assert sig.timestamp_time is not None
    assert abs(sig.timestamp_time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert sig.signer.validation_time == sig.timestamp_time
    # pyHanko agrees, including on the time-stamp.
    (embedded,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    status = validate_pdf_signature(embedded, trust_store.validation_context())
    assert status.bottom_line, status.pretty_print_details()
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact


def test_two_phase_b_t(
    signer_ec: pki.Issued, tsa_url: str, trust_store: TrustStore
) -> None:
    prepared = ExternalSigner(signer_ec.cert, signer_ec.chain).prepare_pdf(
        build_act_pdf(), tsa_url=tsa_url
    )

    signed = ExternalSigner.complete(
        prepared.to_json(), _client_sign(signer_ec, prepared)
    )

    (sig,) = verify_pdf(signed, trust_store).signatures
    assert sig.verdict is Verdict.VALID
    assert sig.timestamp_time is not None


def test_unreachable_tsa_is_a_signing_error(signer_rsa: pki.Issued) -> None:
    signer = Pkcs12Signer(signer_rsa.key, signer_rsa.cert, signer_rsa.chain)

    with pytest.raises(SigningError, match="time-stamp server"):
        sign_pdf(build_act_pdf(), signer, tsa_url=f"http://127.0.0.1:{free_port()}/")
