"""Signers: PKCS#12 loading, algorithm refusals, two-phase (external) signing."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, utils
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from signing import pki
from signing.cms import sign_cms, verify_cms
from signing.errors import (
    KeyLoadError,
    SignatureFormatError,
    SigningError,
    WeakAlgorithmError,
)
from signing.external import ExternalSigner
from signing.pades import sign_pdf, verify_pdf
from signing.reports import Verdict
from signing.signers import Pkcs12Signer, PreparedSignature
from signing.trust import TrustStore
from tests.unit.signing.test_pades import build_act_pdf

CONTENT = b"The document of record." * 100
_DER = Encoding.DER
_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


def test_pkcs12_loads_key_certificate_and_chain(signer_rsa: pki.Issued) -> None:
    signer = Pkcs12Signer.load(signer_rsa.pkcs12("секрет"), "секрет")

    assert signer.certificate == signer_rsa.cert
    assert set(signer.chain) == set(signer_rsa.chain)


@pytest.mark.parametrize("password", ["wrong", "", None])
def test_pkcs12_wrong_password_is_a_key_load_error(
    signer_rsa: pki.Issued, password: str | None
) -> None:
    with pytest.raises(KeyLoadError, match="wrong password"):
        Pkcs12Signer.load(signer_rsa.pkcs12("right"), password)


def test_pkcs12_broken_file_is_a_key_load_error() -> None:
    with pytest.raises(KeyLoadError):
        Pkcs12Signer.load(b"\x30\x82\x01\x00garbage", "pw")


def test_key_must_match_certificate(
    signer_rsa: pki.Issued, signer_ec: pki.Issued
) -> None:
    with pytest.raises(KeyLoadError, match="does not match"):
        Pkcs12Signer(signer_ec.key, signer_rsa.cert)


@pytest.mark.parametrize("digest", ["sha1", "md5", "SHA-1"])
def test_weak_digests_are_refused(signer_rsa: pki.Issued, digest: str) -> None:
    signer = Pkcs12Signer(signer_rsa.key, signer_rsa.cert)

    with pytest.raises(WeakAlgorithmError):
        sign_cms(CONTENT, signer, digest=digest)


def test_unknown_digest_is_refused(signer_rsa: pki.Issued) -> None:
    with pytest.raises(SigningError, match="unknown digest"):
        sign_cms(
            CONTENT, Pkcs12Signer(signer_rsa.key, signer_rsa.cert), digest="whirlpool"
        )


@pytest.fixture(scope="module")
def signer_rsa1024(pki_intermediate: pki.Issued) -> pki.Issued:
    return pki.make_signer(pki_intermediate, key_type="rsa1024")


def test_short_rsa_keys_are_refused(signer_rsa1024: pki.Issued) -> None:
    signer = Pkcs12Signer(signer_rsa1024.key, signer_rsa1024.cert)

    with pytest.raises(WeakAlgorithmError, match="1024"):
        sign_cms(CONTENT, signer)
    with pytest.raises(WeakAlgorithmError):
        sign_pdf(build_act_pdf(), signer)


def test_a_key_family_without_implementation_is_refused_clearly(
    pki_intermediate: pki.Issued,
) -> None:
    # Dispatch is on the key type: an Ed25519 certificate (standing in for the
    # next family, GOST R 34.10-2012) is "not supported", never mistaken for RSA.
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ed25519")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(pki_intermediate.cert.subject)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        .not_valid_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        .sign(pki_intermediate.key, hashes.SHA256())
    )
    signer = ExternalSigner(cert)

    with pytest.raises(SigningError, match="not supported"):
        signer.prepare_cms(CONTENT)


# --------------------------------------------------------------------------
# Two-phase signing: the key stays with the test (the "client")
# --------------------------------------------------------------------------


def _client_sign(
    issued: pki.Issued, prepared: PreparedSignature, *, raw_ecdsa: bool = False
) -> bytes:
    """What a browser does with WebCrypto: sign ``to_be_signed`` as instructed."""
    algorithm = prepared.signature_algorithm
    hash_algorithm = _HASHES[prepared.digest_algorithm]()
    data = prepared.to_be_signed
    if algorithm["name"] == "ECDSA":
        assert isinstance(issued.key, ec.EllipticCurvePrivateKey)
        value = issued.key.sign(data, ec.ECDSA(hash_algorithm))
        if raw_ecdsa:  # WebCrypto's IEEE P1363 form: r || s
            r, s = utils.decode_dss_signature(value)
            n = (issued.key.curve.key_size + 7) // 8
            value = r.to_bytes(n, "big") + s.to_bytes(n, "big")
        return value
    if algorithm["name"] == "RSA-PSS":
        pss = padding.PSS(padding.MGF1(hash_algorithm), int(algorithm["saltLength"]))
        return issued.key.sign(data, pss, hash_algorithm)  # type: ignore[union-attr]
    return issued.key.sign(data, padding.PKCS1v15(), hash_algorithm)  # type: ignore[union-attr]


TWO_PHASE = [
    ("rsa", False, False),
    ("rsa", True, False),
    ("ec", False, False),
    ("ec", False, True),
]


@pytest.mark.parametrize(("key", "rsa_pss", "raw_ecdsa"), TWO_PHASE)
def test_two_phase_cms_matches_one_shot(
    key: str,
    rsa_pss: bool,
    raw_ecdsa: bool,
    signer_rsa: pki.Issued,
    signer_ec: pki.Issued,
    trust_store: TrustStore,
) -> None:
    issued = signer_rsa if key == "rsa" else signer_ec
    external = ExternalSigner(
        issued.der, [c.public_bytes(_DER) for c in issued.chain], rsa_pss=rsa_pss
    )

    prepared = external.prepare_cms(CONTENT, digest="sha384")
    stored = prepared.to_json()  # the web app keeps this between two requests
    value = _client_sign(
        issued, PreparedSignature.from_json(stored), raw_ecdsa=raw_ecdsa
    )
    sig = ExternalSigner.complete(stored, value)

    two_phase = verify_cms(CONTENT, sig, trust_store)
    one_shot = verify_cms(
        CONTENT,
        sign_cms(
            CONTENT,
            Pkcs12Signer(issued.key, issued.cert, issued.chain, rsa_pss=rsa_pss),
            digest="sha384",
        ),
        trust_store,
    )
    assert two_phase.verdict is one_shot.verdict is Verdict.VALID
    assert (
        two_phase.signers[0].signature_algorithm
        == one_shot.signers[0].signature_algorithm
    )
    assert (
        prepared.data_to_sign_digest == hashlib.sha384(prepared.to_be_signed).digest()
    )


def test_two_phase_cms_digest(signer_ec: pki.Issued, trust_store: TrustStore) -> None:
    external = ExternalSigner(signer_ec.cert, signer_ec.chain)
    prepared = external.prepare_cms_digest(hashlib.sha256(CONTENT).digest())

    sig = ExternalSigner.complete(prepared, _client_sign(signer_ec, prepared))

    assert verify_cms(CONTENT, sig, trust_store).verdict is Verdict.VALID


@pytest.mark.parametrize(
    ("key", "raw_ecdsa"), [("rsa", False), ("ec", True), ("ec", False)]
)
def test_two_phase_pdf_matches_one_shot(
    key: str,
    raw_ecdsa: bool,
    signer_rsa: pki.Issued,
    signer_ec: pki.Issued,
    trust_store: TrustStore,
) -> None:
    issued = signer_rsa if key == "rsa" else signer_ec
    pdf = build_act_pdf()
    external = ExternalSigner(issued.cert, issued.chain)

    prepared = external.prepare_pdf(pdf, reason="Согласовано")
    stored = prepared.to_bytes()
    signed = ExternalSigner.complete(
        stored,
        _client_sign(issued, PreparedSignature.from_bytes(stored), raw_ecdsa=raw_ecdsa),
    )

    two_phase = verify_pdf(signed, trust_store)
    one_shot = verify_pdf(
        sign_pdf(pdf, Pkcs12Signer(issued.key, issued.cert, issued.chain)), trust_store
    )
    assert two_phase.verdict is one_shot.verdict is Verdict.VALID
    (sig,) = two_phase.signatures
    assert sig.coverage == "entire_file"
    assert sig.certificate is not None
    assert sig.certificate.der == issued.der


def test_complete_refuses_a_value_that_does_not_verify(
    signer_rsa: pki.Issued, signer_ec: pki.Issued
) -> None:
    prepared = ExternalSigner(signer_rsa.cert).prepare_cms(CONTENT)
    other_key_value = _client_sign(
        signer_ec, ExternalSigner(signer_ec.cert).prepare_cms(CONTENT)
    )

    with pytest.raises(SigningError, match="does not verify"):
        ExternalSigner.complete(prepared, other_key_value)
    with pytest.raises(SigningError, match="does not verify"):
        ExternalSigner.complete(prepared, b"\x00" * 256)


def test_prepare_cms_defaults_to_sha256_for_rsa_and_ecdsa(
    signer_rsa: pki.Issued, signer_ec: pki.Issued
) -> None:
    # The default is the certificate's own digest (Streebog for GOST keys:
    # test_gost_cms.py); RSA and ECDSA keep SHA-256.
    for issued in (signer_rsa, signer_ec):
        prepared = ExternalSigner(issued.cert).prepare_cms(CONTENT)
        assert prepared.digest_algorithm == "sha256"
        assert prepared.signature_algorithm["hash"] == "SHA-256"


def test_complete_refuses_a_changed_prepared_document(signer_rsa: pki.Issued) -> None:
    prepared = ExternalSigner(signer_rsa.cert).prepare_pdf(build_act_pdf(), stamp=False)
    start = prepared.document.index(b"/Type /Page")
    changed = bytearray(prepared.document)
    changed[start + 1 : start + 5] = b"Tqpe"
    forged = PreparedSignature(**{**prepared.__dict__, "document": bytes(changed)})

    with pytest.raises(SigningError, match="changed after prepare"):
        ExternalSigner.complete(forged, _client_sign(signer_rsa, prepared))


@pytest.mark.parametrize(
    "state", [b"", b"{}", b'{"v": 1}', b"not json", '{"v": 1, "kind": "cms"}']
)
def test_damaged_state_is_a_format_error(state: bytes | str) -> None:
    with pytest.raises(SignatureFormatError):
        ExternalSigner.complete(state, b"\x00")


def test_prepared_state_round_trips(signer_ec: pki.Issued) -> None:
    prepared = ExternalSigner(signer_ec.cert, signer_ec.chain).prepare_pdf(
        build_act_pdf()
    )

    restored = PreparedSignature.from_json(prepared.to_json())

    assert restored == prepared
    assert prepared.signature_algorithm == {"name": "ECDSA", "hash": "SHA-256"}
    assert prepared.kind == "pdf"
