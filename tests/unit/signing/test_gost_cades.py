"""GOST R 34.10-2012 signatures in the long term: RFC 3161 time-stamps with
Streebog imprints and CAdES -T/-LT/-LTA over a GOST CAdES-BES, sealed by an
RSA time-stamping authority as the flow does (``docflow.documents.evidence``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import tsp as asn1_tsp

from signing import _cms_asn1 as der
from signing import cades, gost
from signing.cms import sign_cms, verify_cms
from signing.errors import SignatureFormatError
from signing.reports import Verdict
from signing.signers import GostSigner
from signing.trust import TrustStore
from signing.tsa import TimeStampAuthority, check_response, read_token
from signing.verification import CmsReport
from tests.unit.signing import gost_pki
from tests.unit.signing.gost_openssl import gost_openssl

CONTENT = "Акт сверки № 12 (подпись ГОСТ Р 34.10-2012)\n".encode() * 200


@pytest.fixture
def store(gost_and_rsa_store: TrustStore) -> TrustStore:
    return gost_and_rsa_store


def _bes(issued: gost_pki.GostIssued) -> bytes:
    return sign_cms(CONTENT, GostSigner(issued.key, issued.cert, issued.chain_certs))


def _seal(
    bes: bytes, tsa: TimeStampAuthority, store: TrustStore, *, digest: str = "sha256"
) -> bytes:
    """-BES → -T → -LT → -LTA, as ``evidence.seal_cms`` does."""
    stamped = cades.add_signature_timestamp(bes, tsa, digest=digest)
    data = verify_cms(CONTENT, stamped, store).signers[0].validation_data
    with_data = cades.add_validation_data(
        stamped,
        certificates=data.certificates,
        crls=data.crls,
        ocsp_responses=data.ocsp_responses,
    )
    return cades.add_archive_timestamp(with_data, CONTENT, tsa, digest=digest)


def _assert_sealed_valid(report: CmsReport) -> None:
    assert report.verdict is Verdict.VALID, report.summary_ru()
    (signer,) = report.signers
    assert signer.poe_source == "timestamp"
    assert [(t.kind, t.is_valid) for t in signer.timestamps] == [
        ("signature", True),
        ("archive", True),
    ]


@pytest.mark.parametrize("bits", [256, 512])
def test_gost_cades_sealed_to_lta_by_rsa_tsa_verifies(
    bits: int, gpki: gost_pki.GostPki, tsa: TimeStampAuthority, store: TrustStore
) -> None:
    sealed = _seal(_bes(getattr(gpki, f"signer_{bits}")), tsa, store)

    report = verify_cms(CONTENT, sealed, store, revocation="hard")

    _assert_sealed_valid(report)
    assert report.signers[0].digest_algorithm == f"streebog{bits}"


@pytest.mark.parametrize("digest", ["streebog256", "streebog512"])
def test_streebog_imprints_seal_and_verify(
    digest: str, gpki: gost_pki.GostPki, tsa: TimeStampAuthority, store: TrustStore
) -> None:
    sealed = _seal(_bes(gpki.signer_256), tsa, store, digest=digest)

    report = verify_cms(CONTENT, sealed, store)

    _assert_sealed_valid(report)
    archive = cades.archive_timestamps(sealed, CONTENT)
    assert [a.imprint_matches for a in archive] == [True]
    assert read_token(archive[0].token).imprint_algorithm == digest
    # The imprint's hash joins SignedData.digestAlgorithms (EN 319 122-1 §5.5.3).
    assert der.oid(der.DIGESTS[digest].oid) in sealed


def test_changed_content_breaks_gost_lta(
    gpki: gost_pki.GostPki, tsa: TimeStampAuthority, store: TrustStore
) -> None:
    sealed = _seal(_bes(gpki.signer_512), tsa, store, digest="streebog512")
    changed = bytearray(CONTENT)
    changed[7] ^= 0x01

    report = verify_cms(bytes(changed), sealed, store)

    assert report.verdict is Verdict.INVALID
    assert [
        a.imprint_matches for a in cades.archive_timestamps(sealed, bytes(changed))
    ] == [False]


@pytest.mark.parametrize("digest", ["sha256", "streebog256"])
def test_archive_timestamp_checks_content_with_the_signers_streebog(
    digest: str, gpki: gost_pki.GostPki, tsa: TimeStampAuthority
) -> None:
    """The content is compared with the message-digest in Streebog, the
    signer's hash, whatever the imprint's hash."""
    bes = _bes(gpki.signer_256)

    with pytest.raises(SignatureFormatError, match="not the content"):
        cades.add_archive_timestamp(bes, CONTENT + b".", tsa, digest=digest)


def test_authority_answers_a_streebog_request(tsa: TimeStampAuthority) -> None:
    value = gost.streebog256(CONTENT)
    request = asn1_tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": gost.OID_STREEBOG256},
                "hashed_message": value,
            },
            "nonce": 42,
            "cert_req": True,
        }
    ).dump()

    token = check_response(tsa.respond(request), value, der.DIGESTS["streebog256"], 42)

    info = read_token(token)
    assert (info.imprint_algorithm, info.imprint) == ("streebog256", value)


def test_authority_stamps_with_streebog(tsa: TimeStampAuthority) -> None:
    token = tsa.timestamp(CONTENT, digest="streebog512")

    info = read_token(token)
    assert (info.imprint_algorithm, info.imprint) == (
        "streebog512",
        gost.streebog512(CONTENT),
    )


def test_openssl_gost_accepts_the_sealed_file(
    gpki: gost_pki.GostPki,
    tsa: TimeStampAuthority,
    store: TrustStore,
    tmp_path: Path,
) -> None:
    openssl = gost_openssl(tmp_path)
    sealed = _seal(_bes(gpki.signer_256), tsa, store, digest="streebog256")

    assert openssl.verifies(sealed, CONTENT, gpki.root.pem)
    assert not openssl.verifies(sealed, CONTENT + b"!", gpki.root.pem)
