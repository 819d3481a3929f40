"""CMS / CAdES-BES with GOST R 34.10-2012 and Streebog: signing with
:class:`GostSigner`, verifying ours, OpenSSL's and TK 26's signatures, and the
command line."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import tsp as asn1_tsp
from cryptography import x509
from pkcs11 import exceptions as p11_errors

from signing import TrustStore, gost
from signing import _cms_asn1 as der
from signing.cli import main
from signing.cms import sign_cms, sign_cms_digest, verify_cms, verify_cms_digest
from signing.errors import KeyLoadError, SigningError
from signing.external import ExternalSigner
from signing.pkcs11 import (
    CKM_GOSTR3410_WITH_GOSTR3411_12_256,
    CKM_GOSTR3410_WITH_GOSTR3411_12_512,
    Pkcs11Signer,
)
from signing.reports import Verdict
from signing.signers import GostSigner, Signer
from tests.unit.signing import gost_pki
from tests.unit.signing.test_certificates import _gost_certificate

DATA = Path(__file__).parent / "data" / "gost"
OPENSSL = DATA / "openssl"
CONTENT = "Договор энергоснабжения № 42-ЮЛ\n".encode() * 300
STREEBOG = {256: gost.OID_STREEBOG256, 512: gost.OID_STREEBOG512}


@pytest.fixture
def store(gost_store: TrustStore) -> TrustStore:
    return gost_store


def _signer(issued: gost_pki.GostIssued) -> GostSigner:
    return GostSigner(issued.key, issued.cert, issued.chain_certs)


@pytest.mark.parametrize("bits", [256, 512])
def test_sign_and_verify_gost_cms(
    bits: int, gpki: gost_pki.GostPki, store: TrustStore
) -> None:
    issued = getattr(gpki, f"signer_{bits}")
    signer = _signer(issued)
    sig = sign_cms(CONTENT, signer, signing_time=gpki.now)

    report = verify_cms(CONTENT, sig, store, at=gpki.now, revocation="hard")

    assert report.verdict is Verdict.VALID, report.signers[0].reasons
    (result,) = report.signers
    assert result.digest_algorithm == f"streebog{bits}"
    assert result.signature_algorithm == f"ГОСТ Р 34.10-2012 ({bits} бит)"
    assert result.signing_certificate_attribute == "match"
    assert result.certificate is not None
    assert result.certificate.public_key_algorithm == f"gost2012-{bits}"
    assert signer.default_digest == f"streebog{bits}"


@pytest.mark.parametrize("bits", [256, 512])
def test_gost_signed_data_has_the_tk26_shape(bits: int, gpki: gost_pki.GostPki) -> None:
    issued = getattr(gpki, f"signer_{bits}")
    sig = sign_cms(CONTENT, _signer(issued))
    signed_data = asn1_cms.ContentInfo.load(sig)["content"]
    (info,) = signed_data["signer_infos"]

    assert info["digest_algorithm"]["algorithm"].dotted == STREEBOG[bits]
    assert info["digest_algorithm"]["parameters"].native is None  # NULL
    assert (
        info["signature_algorithm"]["algorithm"].dotted == gost.KEY_OIDS_BY_BITS[bits]
    )
    assert len(info["signature"].native) == bits // 4
    # CAdES-BES signing-certificate-v2 with the Streebog hash named explicitly
    # (not the SHA-256 DEFAULT).
    attrs = {a["type"].dotted: a["values"][0] for a in info["signed_attrs"]}
    value = asn1_tsp.SigningCertificateV2.load(
        attrs["1.2.840.113549.1.9.16.2.47"].dump()
    )
    cert_id = value["certs"][0]
    raw = attrs["1.2.840.113549.1.9.16.2.47"].dump()
    assert gost._der_oid(STREEBOG[bits]) in raw
    assert cert_id["hash_algorithm"]["algorithm"].dotted == STREEBOG[bits]
    digest = gost.Streebog(bits // 8, issued.der).digest()
    assert cert_id["cert_hash"].native == digest


def test_tampering_is_caught(gpki: gost_pki.GostPki, store: TrustStore) -> None:
    sig = bytearray(sign_cms(CONTENT, _signer(gpki.signer_256)))
    changed = CONTENT[:-1] + b"!"

    report = verify_cms(changed, bytes(sig), store, at=gpki.now)
    assert report.verdict is Verdict.INVALID
    assert report.signers[0].codes == {"digest_mismatch"}

    sig[-5] ^= 0x01  # inside the signature value (s || r)
    report = verify_cms(CONTENT, bytes(sig), store, at=gpki.now)
    assert report.verdict is Verdict.INVALID
    assert "signature_invalid" in report.signers[0].codes


def test_foreign_gost_signer_is_not_trusted(
    gpki: gost_pki.GostPki, store: TrustStore
) -> None:
    sig = sign_cms(CONTENT, _signer(gpki.foreign_signer))

    report = verify_cms(CONTENT, sig, store, at=gpki.now, revocation="off")

    assert report.signers[0].intact
    assert report.verdict is Verdict.INDETERMINATE
    assert "untrusted_root" in report.signers[0].codes or (
        "chain_incomplete" in report.signers[0].codes
    )


def test_revoked_gost_signer(gpki: gost_pki.GostPki, store: TrustStore) -> None:
    sig = sign_cms(CONTENT, _signer(gpki.revoked))

    report = verify_cms(CONTENT, sig, store, at=gpki.now)

    assert report.verdict is Verdict.INVALID
    assert "revoked" in report.signers[0].codes


def test_gost_key_signs_only_its_streebog(gpki: gost_pki.GostPki) -> None:
    signer = _signer(gpki.signer_256)

    with pytest.raises(SigningError, match="streebog256"):
        sign_cms(CONTENT, signer, digest="sha256")
    with pytest.raises(SigningError, match="streebog256"):
        sign_cms(CONTENT, signer, digest="streebog512")
    # Other spellings of the same digest.
    for name in ("Streebog-256", "md_gost12_256", "GOSTR3411_12_256"):
        assert sign_cms(CONTENT, signer, digest=name)


def test_streamed_digest(gpki: gost_pki.GostPki, store: TrustStore) -> None:
    digest = gost.streebog512(CONTENT)
    sig = sign_cms_digest(digest, "streebog512", _signer(gpki.signer_512))

    assert verify_cms(CONTENT, sig, store, at=gpki.now).verdict is Verdict.VALID
    assert (
        verify_cms_digest(digest, "streebog512", sig, store, at=gpki.now).verdict
        is Verdict.VALID
    )


def _without_certificates(sig: bytes) -> bytes:
    info = asn1_cms.ContentInfo.load(sig)
    signed_data = info["content"]
    signed_data["certificates"] = None
    return bytes(info.dump(force=False))


def test_signature_without_certificates_needs_them_given(
    gpki: gost_pki.GostPki, store: TrustStore
) -> None:
    bare = _without_certificates(sign_cms(CONTENT, _signer(gpki.signer_256)))
    assert not len(asn1_cms.ContentInfo.load(bare)["content"]["certificates"])

    missing = verify_cms(CONTENT, bare, store, at=gpki.now)
    found = verify_cms(
        CONTENT, bare, store, at=gpki.now, certificates=[gpki.signer_256.pem]
    )

    assert missing.verdict is Verdict.INDETERMINATE
    assert "signer_certificate_missing" in missing.signers[0].codes
    assert found.verdict is Verdict.VALID, found.signers[0].reasons


@pytest.mark.parametrize("bits", [256, 512])
def test_tk26_attached_signed_data_without_signed_attributes(bits: int) -> None:
    cert = (DATA / f"tk26_certificate_{bits}.pem").read_bytes()
    sig = (DATA / f"tk26_signed_data_{bits}.der").read_bytes()
    store = TrustStore([cert], **gost_pki.OFFLINE)
    at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)

    report = verify_cms(None, sig, store, at=at, revocation="off", certificates=[cert])

    assert report.attached
    assert report.verdict is Verdict.VALID, report.signers[0].reasons
    assert report.signers[0].digest_algorithm == f"streebog{bits}"
    assert verify_cms(
        b"Test messagE", sig, store, at=at, certificates=[cert]
    ).verdict is (Verdict.INVALID)


@pytest.mark.parametrize("bits", [256, 512])
def test_openssl_gost_signature_verifies(bits: int) -> None:
    cert = (OPENSSL / f"cert{bits}.pem").read_bytes()
    store = TrustStore([cert], **gost_pki.OFFLINE)
    content = (OPENSSL / "content.txt").read_bytes()
    sig = (OPENSSL / f"content_{bits}.sig").read_bytes()
    at = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)

    report = verify_cms(content, sig, store, at=at, revocation="off")

    assert report.verdict is Verdict.VALID, report.signers[0].reasons
    assert verify_cms(content + b" ", sig, store, at=at).verdict is Verdict.INVALID


def test_gost_signer_loads_what_openssl_writes() -> None:
    cert = (OPENSSL / "cert256.pem").read_bytes()
    key = (OPENSSL / "key256.pem").read_bytes()
    plain = GostSigner.load(key, cert)
    der_key = GostSigner.load(gost.load_private_key(key).pkcs8(), cert)
    encrypted = GostSigner.load(
        (OPENSSL / "key256_encrypted.pem").read_bytes(), cert, password="secret"
    )
    p12 = GostSigner.load_pkcs12((OPENSSL / "key256.p12").read_bytes(), "secret")

    for signer in (plain, der_key, encrypted, p12):
        assert signer.certificate == plain.certificate
        assert signer.sign_raw(b"attrs", "streebog256")

    with pytest.raises(KeyLoadError, match="does not match"):
        GostSigner.load((OPENSSL / "key512.pem").read_bytes(), cert)
    with pytest.raises(KeyLoadError, match="wrong password|damaged"):
        GostSigner.load(
            (OPENSSL / "key256_encrypted.pem").read_bytes(), cert, password="x"
        )
    with pytest.raises(KeyLoadError, match="wrong password"):
        GostSigner.load_pkcs12((OPENSSL / "key256.p12").read_bytes(), "x")
    with pytest.raises(KeyLoadError, match="certificate"):
        GostSigner.load(key, b"not a certificate")


def test_two_phase_signing_with_a_gost_certificate(
    gpki: gost_pki.GostPki, store: TrustStore
) -> None:
    # The key stays with the user (a GOST browser plug-in signs); the server
    # prepares and completes.
    external = ExternalSigner(
        gpki.signer_256.der, [c.der for c in gpki.signer_256.chain]
    )
    prepared = external.prepare_cms(CONTENT, digest="streebog256")
    value = gpki.signer_256.key.sign(prepared.to_be_signed)

    assert prepared.signature_algorithm["name"] == "GOST R 34.10-2012"
    sig = ExternalSigner.complete(prepared.to_json(), value)
    assert verify_cms(CONTENT, sig, store, at=gpki.now).verdict is Verdict.VALID
    with pytest.raises(SigningError, match="does not verify"):
        ExternalSigner.complete(prepared, bytes(64))


@pytest.mark.parametrize("bits", [256, 512])
def test_two_phase_defaults_to_the_streebog_of_the_gost_key(
    bits: int, gpki: gost_pki.GostPki, store: TrustStore
) -> None:
    issued = getattr(gpki, f"signer_{bits}")
    prepared = ExternalSigner(issued.der, [c.der for c in issued.chain]).prepare_cms(
        CONTENT
    )

    assert prepared.digest_algorithm == f"streebog{bits}"
    assert prepared.signature_algorithm["hash"] == f"GOST R 34.11-2012-{bits}"
    value = _signer(issued).sign_digest(prepared.data_to_sign_digest)
    sig = ExternalSigner.complete(prepared, value)
    report = verify_cms(CONTENT, sig, store, at=gpki.now)
    assert report.verdict is Verdict.VALID
    assert report.signers[0].digest_algorithm == f"streebog{bits}"


@pytest.mark.parametrize("bits", [256, 512])
def test_two_phase_accepts_the_cryptoapi_byte_order_of_cryptopro(
    bits: int, gpki: gost_pki.GostPki, store: TrustStore
) -> None:
    # CryptoPro's RawSignature.SignHash gives the value in CryptoAPI order: the
    # octets of s || r reversed. The CMS keeps the RFC 4491 order.
    issued = getattr(gpki, f"signer_{bits}")
    prepared = ExternalSigner(issued.der, [c.der for c in issued.chain]).prepare_cms(
        CONTENT
    )
    value = _signer(issued).sign_digest(prepared.data_to_sign_digest)

    sig = ExternalSigner.complete(prepared, value[::-1])

    assert verify_cms(CONTENT, sig, store, at=gpki.now).verdict is Verdict.VALID
    signer_info = asn1_cms.ContentInfo.load(sig)["content"]["signer_infos"][0]
    assert signer_info["signature"].native == value


def test_sign_digest_matches_sign_raw_and_refuses_a_wrong_length(
    gpki: gost_pki.GostPki,
) -> None:
    signer = _signer(gpki.signer_256)
    public = gpki.signer_256.key.public_key()
    digest = gost.streebog256(CONTENT)

    assert public.verify_digest(digest, signer.sign_digest(digest))
    assert public.verify(CONTENT, signer.sign_raw(CONTENT, "streebog256"))
    with pytest.raises(SigningError, match="32-byte Streebog digest, got 64"):
        signer.sign_digest(gost.streebog512(CONTENT))


def test_a_garbled_gost_value_is_refused_in_either_byte_order(
    gpki: gost_pki.GostPki,
) -> None:
    prepared = ExternalSigner(gpki.signer_256.der).prepare_cms(CONTENT)
    value = _signer(gpki.signer_256).sign_digest(prepared.data_to_sign_digest)
    garbled = bytes([value[0] ^ 1]) + value[1:]

    for candidate in (garbled, garbled[::-1]):
        with pytest.raises(SigningError, match="does not verify"):
            ExternalSigner.complete(prepared, candidate)


# --- the command line ---------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path, gpki: gost_pki.GostPki) -> dict[str, Path]:
    paths = {
        "doc": tmp_path / "act.txt",
        "key": tmp_path / "signer.key",
        "cert": tmp_path / "signer.pem",
        "root": tmp_path / "root.pem",
        "inter": tmp_path / "inter.pem",
        "crl": tmp_path / "inter.crl",
        "p12": OPENSSL / "key512.p12",
    }
    paths["doc"].write_bytes(CONTENT)
    paths["key"].write_bytes(gpki.signer_256.key.pem())
    # The certificate file carries the chain after it.
    paths["cert"].write_bytes(
        gpki.signer_256.pem + b"".join(c.pem for c in gpki.signer_256.chain)
    )
    paths["root"].write_bytes(gpki.root.pem)
    paths["inter"].write_bytes(gpki.intermediate.pem)
    paths["crl"].write_bytes(gpki.crl)
    return paths


def _trust(files: dict[str, Path], at: dt.datetime) -> list[str]:
    return [
        "--trust", str(files["root"]), "--intermediate", str(files["inter"]),
        "--crl", str(files["crl"]), "--offline", "--revocation", "off",
        "--at", at.isoformat(),
    ]  # fmt: skip


def test_cli_signs_and_verifies_with_a_gost_key(
    files: dict[str, Path],
    tmp_path: Path,
    gpki: gost_pki.GostPki,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sig = tmp_path / "act.txt.sig"
    args = ["--key", str(files["key"]), "--cert", str(files["cert"])]

    assert main(["sign-cms", str(files["doc"]), "-o", str(sig), *args]) == 0
    assert (
        main(["verify-cms", str(files["doc"]), str(sig), *_trust(files, gpki.now)]) == 0
    )
    out = capsys.readouterr().out
    assert "ГОСТ Р 34.10-2012 (256 бит) / streebog256" in out

    bare = tmp_path / "bare.sig"
    bare.write_bytes(_without_certificates(sig.read_bytes()))
    verify = ["verify-cms", str(files["doc"]), str(bare), *_trust(files, gpki.now)]
    assert main(verify) == 2
    assert main([*verify, "--signer-cert", str(files["cert"])]) == 0

    capsys.readouterr()
    assert main(["inspect", str(files["cert"]), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["public_key_algorithm"] == "gost2012-256"
    assert info["public_key_parameters"] == "id-GostR3410-2001-CryptoPro-A-ParamSet"
    assert main(["inspect", str(files["cert"])]) == 0
    assert "параметры id-GostR3410-2001-CryptoPro-A-ParamSet" in capsys.readouterr().out
    validate = ["validate-cert", str(files["cert"]), *_trust(files, gpki.now)]
    assert main(validate) == 0


def test_cli_signs_with_a_gost_pkcs12(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sig = tmp_path / "act.txt.sig"
    p12 = ["--p12", str(files["p12"]), "--password", "secret"]

    assert main(["sign-cms", str(files["doc"]), "-o", str(sig), *p12, "--json"]) == 0
    signed = json.loads(capsys.readouterr().out)
    assert signed["signer"]["public_key_algorithm"] == "gost2012-512"
    cert = OPENSSL / "cert512.pem"
    at = dt.datetime(2027, 1, 1, tzinfo=dt.UTC).isoformat()
    trust = ["--trust", str(cert), "--offline", "--revocation", "off", "--at", at]
    assert main(["verify-cms", str(files["doc"]), str(sig), *trust]) == 0

    assert main(["sign-cms", str(files["doc"]), "-o", str(sig), "--p12",
                 str(files["p12"]), "--password", "wrong"]) == 3  # fmt: skip
    assert "wrong password" in capsys.readouterr().err
    assert main(["sign-cms", str(files["doc"]), "-o", str(sig), "--key",
                 str(files["key"])]) == 3  # fmt: skip
    assert "--cert" in capsys.readouterr().err
    assert main(["sign-cms", str(files["doc"]), "-o", str(sig), *p12, "--key",
                 str(files["key"])]) == 3  # fmt: skip
    assert "give one of" in capsys.readouterr().err


# --- PKCS#11: the GOST path of Pkcs11Signer, with a stand-in for the token -----


class _FakeToken:
    """A python-pkcs11 private key that signs with a GOST key in memory."""

    def __init__(self, key: gost.GostPrivateKey, *, swap: bool = False) -> None:
        self.key = key
        self.swap = swap
        self.mechanisms: list[int] = []

    def sign(self, data: bytes, *, mechanism: int) -> bytes:
        self.mechanisms.append(mechanism)
        if self.key is None:
            raise p11_errors.MechanismInvalid()
        value = self.key.sign(data)
        half = len(value) // 2
        return value[half:] + value[:half] if self.swap else value


def _token_signer(issued: gost_pki.GostIssued, token: _FakeToken) -> object:
    # Pkcs11Signer.__init__ opens a real session; SoftHSM2 has no GOST
    # mechanisms (tests/integration/signing/test_gost_interop.py), so the
    # token is stood in for and only the signing path runs.
    signer = object.__new__(Pkcs11Signer)
    Signer.__init__(signer, issued.cert, issued.chain_certs)
    signer._lock = threading.Lock()
    signer._key = token
    return signer


@pytest.mark.parametrize("swap", [False, True], ids=["s||r", "r||s"])
@pytest.mark.parametrize("bits", [256, 512])
def test_pkcs11_gost_mechanism(
    bits: int, swap: bool, gpki: gost_pki.GostPki, store: TrustStore
) -> None:
    issued = getattr(gpki, f"signer_{bits}")
    token = _FakeToken(issued.key, swap=swap)
    sig = sign_cms(CONTENT, _token_signer(issued, token))  # type: ignore[arg-type]

    assert verify_cms(CONTENT, sig, store, at=gpki.now).verdict is Verdict.VALID
    expected = (
        CKM_GOSTR3410_WITH_GOSTR3411_12_256
        if bits == 256
        else CKM_GOSTR3410_WITH_GOSTR3411_12_512
    )
    assert token.mechanisms == [expected]


def test_pkcs11_gost_errors(gpki: gost_pki.GostPki) -> None:
    refusing = _token_signer(gpki.signer_256, _FakeToken(None))  # type: ignore[arg-type]
    wrong_key = _token_signer(gpki.signer_256, _FakeToken(gpki.foreign_signer.key))

    with pytest.raises(SigningError, match="refused"):
        sign_cms(CONTENT, refusing)  # type: ignore[arg-type]
    with pytest.raises(SigningError, match="does not verify"):
        sign_cms(CONTENT, wrong_key)  # type: ignore[arg-type]


def test_gost2001_signer_info_with_a_2012_key_is_invalid_and_obsolete(
    gpki: gost_pki.GostPki, store: TrustStore
) -> None:
    legacy = der.Mechanism(
        "gost2001",
        der.DIGESTS["gostr341194"],
        der.seq(der.oid(gost.OID_SIG_2001)),
        256,
    )
    template = der.SignerTemplate.build(
        gpki.signer_256.cert, gpki.signer_256.chain_certs, legacy
    )
    attrs = template.signed_attributes(bytes(32), None)
    sig = template.content_info(attrs, bytes(64))

    report = verify_cms(CONTENT, sig, store, at=gpki.now)

    # A 2012 key cannot make a 2001 signature: invalid, and obsolete besides.
    assert report.verdict is Verdict.INVALID
    signer = report.signers[0]
    assert "unsupported_algorithm" not in signer.codes
    assert {"signature_invalid", "weak_algorithm"} <= signer.codes
    assert "34.11-94" in signer.signature_algorithm
    assert any("34.10-2001" in r.message for r in signer.reasons)


@pytest.mark.parametrize(
    ("digest", "signature_oid"),
    [("sha256", gost.OID_SIG_2012_256), ("streebog256", gost.OID_SIG_2012_512)],
)
def test_gost_signature_with_the_wrong_hash_or_size_is_invalid(
    digest: str, signature_oid: str, gpki: gost_pki.GostPki, store: TrustStore
) -> None:
    mechanism = der.Mechanism(
        "gost2012", der.DIGESTS[digest], der.seq(der.oid(signature_oid)), 256
    )
    issued = gpki.signer_256
    template = der.SignerTemplate.build(issued.cert, issued.chain_certs, mechanism)
    attrs = template.signed_attributes(der.DIGESTS[digest].digest(CONTENT), None)
    sig = template.content_info(attrs, issued.key.sign(attrs))

    report = verify_cms(CONTENT, sig, store, at=gpki.now)

    assert report.verdict is Verdict.INVALID
    assert "signature_invalid" in report.signers[0].codes


def test_a_gost_key_off_its_curve_is_no_key() -> None:
    cert = x509.load_der_x509_certificate(_gost_certificate())

    assert der.public_key_of(cert) is None
    assert der.default_digest_for(cert) == "sha256"
