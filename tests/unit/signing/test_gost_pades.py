"""PAdES with GOST R 34.10-2012 keys: pyHanko writes the field, the stamp,
the placeholder and the byte range; the byte range is hashed with Streebog
and the CMS assembled here, one-step and two-phase; B-LTA with an RSA
time-stamping authority."""

from __future__ import annotations

import io

import pytest
from asn1crypto import cms as asn1_cms
from pyhanko.pdf_utils.reader import PdfFileReader

from signing import gost
from signing.errors import SigningError
from signing.external import ExternalSigner
from signing.pades import add_long_term_data, sign_pdf, verify_pdf
from signing.reports import Verdict
from signing.signers import GostSigner
from signing.trust import TrustStore
from signing.tsa import TimeStampAuthority
from tests.unit.signing import gost_pki
from tests.unit.signing.test_pades import build_act_pdf

STREEBOG = {256: gost.OID_STREEBOG256, 512: gost.OID_STREEBOG512}


@pytest.fixture
def store(gost_and_rsa_store: TrustStore) -> TrustStore:
    return gost_and_rsa_store


@pytest.fixture(scope="module")
def act() -> bytes:
    return build_act_pdf()


def _signer(issued: gost_pki.GostIssued) -> GostSigner:
    return GostSigner(issued.key, issued.cert, issued.chain_certs)


def _signer_info(pdf: bytes) -> asn1_cms.SignerInfo:
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    return reader.embedded_signatures[-1].signer_info


@pytest.fixture(scope="module")
def signed_256(gpki: gost_pki.GostPki, act: bytes) -> bytes:
    return sign_pdf(act, _signer(gpki.signer_256))


@pytest.mark.parametrize("bits", [256, 512])
def test_gost_pdf_signature_verifies(
    bits: int, gpki: gost_pki.GostPki, act: bytes, store: TrustStore
) -> None:
    signed = sign_pdf(act, _signer(getattr(gpki, f"signer_{bits}")))

    report = verify_pdf(signed, store, revocation="hard")

    assert report.verdict is Verdict.VALID, report.summary_ru()
    (signature,) = report.signatures
    assert signature.intact
    assert signature.coverage == "entire_file"
    assert signature.signer.digest_algorithm == f"streebog{bits}"
    info = _signer_info(signed)
    assert info["digest_algorithm"]["algorithm"].dotted == STREEBOG[bits]
    assert (
        info["signature_algorithm"]["algorithm"].dotted == gost.KEY_OIDS_BY_BITS[bits]
    )


def test_changed_byte_of_a_gost_pdf_is_invalid(
    signed_256: bytes, store: TrustStore
) -> None:
    changed = bytearray(signed_256)
    at = signed_256.index(b"/MediaBox") + 2  # inside the signed range
    changed[at] ^= 0x01

    report = verify_pdf(bytes(changed), store)

    assert report.verdict is Verdict.INVALID
    assert not report.signatures[0].intact


def test_gost_key_refuses_sha256(gpki: gost_pki.GostPki, act: bytes) -> None:
    with pytest.raises(SigningError, match="streebog256"):
        sign_pdf(act, _signer(gpki.signer_256), digest="sha256")


def test_gost_pdf_two_phase(
    gpki: gost_pki.GostPki, act: bytes, store: TrustStore
) -> None:
    issued = gpki.signer_512
    external = ExternalSigner(issued.cert, issued.chain_certs)
    prepared = external.prepare_pdf(act)

    assert prepared.digest_algorithm == "streebog512"
    value = issued.key.sign(prepared.to_be_signed)
    signed = ExternalSigner.complete(prepared, value)

    report = verify_pdf(signed, store)
    assert report.verdict is Verdict.VALID, report.summary_ru()
    with pytest.raises(SigningError):
        ExternalSigner.complete(prepared, gpki.signer_256.key.sign(b"other"))


def test_gost_pdf_b_lta_with_rsa_tsa(
    gpki: gost_pki.GostPki, act: bytes, store: TrustStore, tsa: TimeStampAuthority
) -> None:
    signed = sign_pdf(act, _signer(gpki.signer_256), timestamper=tsa)
    first = verify_pdf(signed, store, revocation="hard")
    assert first.verdict is Verdict.VALID, first.summary_ru()

    sealed = add_long_term_data(
        signed, first.signatures[0].signer.validation_data, timestamper=tsa
    )

    report = verify_pdf(sealed, store, revocation="hard")
    assert report.verdict is Verdict.VALID, report.summary_ru()
    (signature,) = report.signatures
    assert [(t.kind, t.is_valid) for t in signature.signer.timestamps] == [
        ("signature", True),
        ("document", True),
    ]
    assert signature.signer.poe_source == "timestamp"
    # The signature time-stamp's imprint is the signer's Streebog.
    assert signature.signer.timestamps[0].digest_algorithm == "streebog256"
