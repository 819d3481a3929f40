"""Detached CMS (CAdES-BES): signing, verification, reports."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import hashlib
import json

import pytest
from asn1crypto import cms as asn1_cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from pyhanko.sign import signers

from signing import _cms_asn1 as der
from signing import pki
from signing.cms import (
    cms_signer_certificates,
    sign_cms,
    sign_cms_digest,
    verify_cms,
    verify_cms_digest,
)
from signing.errors import SignatureFormatError, SigningError
from signing.reports import Verdict
from signing.signers import Pkcs12Signer
from signing.trust import TrustStore

CONTENT = (
    "Акт приёма-передачи электрической энергии № 42 за октябрь 2026 г.".encode() * 50
)


def _signer(issued: pki.Issued, *, rsa_pss: bool = False) -> Pkcs12Signer:
    return Pkcs12Signer(issued.key, issued.cert, issued.chain, rsa_pss=rsa_pss)


@pytest.fixture(scope="module")
def signer_p384(pki_intermediate: pki.Issued, pki_now: dt.datetime) -> pki.Issued:
    return pki.make_signer(
        pki_intermediate, key_type="p384", not_before=pki_now - dt.timedelta(days=30)
    )


@pytest.fixture(scope="module")
def rsa_sig(signer_rsa: pki.Issued) -> bytes:
    return sign_cms(CONTENT, _signer(signer_rsa))


KEYS = ["rsa", "rsa-pss", "p256", "p384"]


@pytest.mark.parametrize("digest", ["sha256", "sha384", "sha512"])
@pytest.mark.parametrize("key", KEYS)
def test_round_trip_is_valid(
    key: str,
    digest: str,
    signer_rsa: pki.Issued,
    signer_ec: pki.Issued,
    signer_p384: pki.Issued,
    trust_store: TrustStore,
) -> None:
    issued = {"rsa": signer_rsa, "rsa-pss": signer_rsa, "p256": signer_ec}.get(
        key, signer_p384
    )
    sig = sign_cms(CONTENT, _signer(issued, rsa_pss=key == "rsa-pss"), digest=digest)

    report = verify_cms(CONTENT, sig, trust_store)

    assert report.verdict is Verdict.VALID, report.summary_ru()
    (signer,) = report.signers
    assert signer.intact
    assert signer.digest_algorithm == digest
    assert signer.signature_algorithm == {
        "rsa": "RSA PKCS#1 v1.5",
        "rsa-pss": "RSA-PSS",
    }.get(key, "ECDSA")
    assert signer.signing_certificate_attribute == "match"
    assert signer.certificate is not None
    assert signer.certificate.serial_hex == format(
        issued.cert.serial_number, "X"
    ).zfill(len(signer.certificate.serial_hex))
    assert signer.chain_verdict is Verdict.VALID
    assert len(signer.chain) == 3  # leaf, intermediate, root


def test_signed_attributes_are_cades_bes(
    rsa_sig: bytes, signer_rsa: pki.Issued
) -> None:
    info = asn1_cms.ContentInfo.load(rsa_sig)
    signed_data = info["content"]
    assert isinstance(signed_data["encap_content_info"]["content"].native, type(None))
    (signer_info,) = signed_data["signer_infos"]
    types = {a["type"].native for a in signer_info["signed_attrs"]}
    assert types == {
        "content_type",
        "message_digest",
        "signing_time",
        "signing_certificate_v2",
    }
    certs = {c.chosen.sha256 for c in signed_data["certificates"]}
    assert len(certs) == 3  # signer, intermediate, root
    # DER: re-encoding the parsed structure gives the same octets.
    assert asn1_cms.ContentInfo.load(rsa_sig).dump(force=True) == rsa_sig


def test_one_byte_tamper_is_invalid(rsa_sig: bytes, trust_store: TrustStore) -> None:
    tampered = bytearray(CONTENT)
    tampered[100] ^= 0x01

    report = verify_cms(bytes(tampered), rsa_sig, trust_store)

    assert report.verdict is Verdict.INVALID
    assert "digest_mismatch" in report.signers[0].codes
    assert not report.signers[0].intact


def test_signature_of_another_document_is_invalid(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    other = sign_cms(b"another document", _signer(signer_rsa))

    report = verify_cms(CONTENT, other, trust_store)

    assert report.verdict is Verdict.INVALID
    assert "digest_mismatch" in report.signers[0].codes


def test_changed_signature_value_is_invalid(
    rsa_sig: bytes, trust_store: TrustStore
) -> None:
    broken = bytearray(rsa_sig)
    broken[-10] ^= 0xFF  # inside the RSA signature value, the last field

    report = verify_cms(CONTENT, bytes(broken), trust_store)

    assert report.verdict is Verdict.INVALID
    assert report.signers[0].codes >= {"signature_invalid"}
    assert report.signers[0].digest_matches


@pytest.mark.parametrize(
    ("fixture", "code", "verdict"),
    [
        ("signer_expired", "expired", Verdict.INVALID),
        ("signer_revoked", "revoked", Verdict.INVALID),
        ("signer_no_usage", "key_usage", Verdict.INVALID),
    ],
)
def test_bad_certificate_is_not_valid(
    fixture: str,
    code: str,
    verdict: Verdict,
    request: pytest.FixtureRequest,
    trust_store: TrustStore,
) -> None:
    issued: pki.Issued = request.getfixturevalue(fixture)
    sig = sign_cms(CONTENT, _signer(issued))

    report = verify_cms(CONTENT, sig, trust_store)

    assert report.verdict is verdict
    assert code in report.signers[0].codes
    assert report.signers[0].intact  # the cryptography is fine; the certificate is not


def test_untrusted_root_is_indeterminate(rsa_sig: bytes) -> None:
    other_root = pki.make_root_ca("Чужой УЦ")
    store = TrustStore(
        [other_root.der], ocsp=False, fetch_crls=False, fetch_issuers=False
    )

    report = verify_cms(CONTENT, rsa_sig, store)

    assert report.verdict is Verdict.INDETERMINATE
    assert report.signers[0].codes & {"untrusted_root", "no_path"}


def test_claimed_signing_time_is_reported_never_used_to_validate(
    signer_rsa: pki.Issued, trust_store: TrustStore, pki_now: dt.datetime
) -> None:
    # signer_rsa is valid from 30 days before pki_now: a claimed signing
    # time 60 days back would fall before its validity, were it believed.
    sig = sign_cms(
        CONTENT, _signer(signer_rsa), signing_time=pki_now - dt.timedelta(days=60)
    )

    report = verify_cms(CONTENT, sig, trust_store)

    signer = report.signers[0]
    assert signer.signing_time == pki_now - dt.timedelta(days=60)
    assert signer.poe_source == "validation_time"
    assert signer.validation_time > signer.signing_time + dt.timedelta(days=59)
    assert "not_yet_valid" not in signer.codes
    assert report.verdict is Verdict.VALID
    assert "заявленное время подписания" in report.summary_ru()


def test_signing_certificate_v2_mismatch_is_invalid(
    signer_rsa: pki.Issued, signer_ec: pki.Issued, trust_store: TrustStore
) -> None:
    signer = _signer(signer_rsa)
    template = signer.template_for("sha256")
    foreign = _signer(signer_ec).template_for("sha256").signing_certificate_v2
    forged = dataclasses.replace(template, signing_certificate_v2=foreign)
    attrs = forged.signed_attributes(
        hashlib.sha256(CONTENT).digest(), dt.datetime.now(dt.UTC)
    )
    sig = forged.content_info(attrs, signer.sign_raw(attrs, "sha256"))

    report = verify_cms(CONTENT, sig, trust_store)

    assert report.verdict is Verdict.INVALID
    assert report.signers[0].signing_certificate_attribute == "mismatch"
    assert "signing_certificate_mismatch" in report.signers[0].codes


def test_sha1_signature_is_reported_weak(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    # Made by hand: sign_cms refuses SHA-1 (see test_signers).
    sha1 = der.DIGESTS["sha1"]
    mechanism = der.Mechanism(
        "rsa_pkcs1v15", sha1, der.seq(der.oid("1.2.840.113549.1.1.5"), der.NULL), 2048
    )
    template = der.SignerTemplate.build(signer_rsa.cert, signer_rsa.chain, mechanism)
    attrs = template.signed_attributes(sha1.digest(CONTENT), dt.datetime.now(dt.UTC))
    value = signer_rsa.key.sign(attrs, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    sig = template.content_info(attrs, value)

    report = verify_cms(CONTENT, sig, trust_store)

    signer = report.signers[0]
    assert signer.intact
    assert signer.weak_algorithms == ("SHA1",)
    assert "weak_algorithm" in signer.codes
    assert report.verdict is Verdict.INDETERMINATE


def test_unknown_signature_algorithm_is_unsupported_not_a_crash(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    # A SignerInfo claiming GOST R 34.10-2001 (with an RSA key): checked,
    # found wrong, and reported obsolete (test_gost2001.py has real ones).
    gost = der.Mechanism(
        "gost", der.DIGESTS["sha256"], der.seq(der.oid("1.2.643.2.2.3")), 256
    )
    template = der.SignerTemplate.build(signer_rsa.cert, signer_rsa.chain, gost)
    attrs = template.signed_attributes(hashlib.sha256(CONTENT).digest(), None)
    sig = template.content_info(attrs, bytes(64))

    report = verify_cms(CONTENT, sig, trust_store)

    # GOST R 34.10-2001 is verified now: an RSA key cannot have made it.
    assert report.verdict is Verdict.INVALID
    assert {"signature_invalid", "weak_algorithm"} <= report.signers[0].codes
    assert "ГОСТ" in report.signers[0].signature_algorithm


@pytest.mark.parametrize(
    "garbage", [b"", b"not a signature", b"\x30\x03\x02\x01", bytes(range(256))]
)
def test_garbage_signature_raises_format_error(
    garbage: bytes, trust_store: TrustStore
) -> None:
    with pytest.raises(SignatureFormatError):
        verify_cms(CONTENT, garbage, trust_store)


def test_pem_and_base64_signatures_are_accepted(
    rsa_sig: bytes, trust_store: TrustStore
) -> None:
    b64 = base64.encodebytes(rsa_sig)
    pem = b"-----BEGIN CMS-----\n" + b64 + b"-----END CMS-----\n"

    assert verify_cms(CONTENT, pem, trust_store).verdict is Verdict.VALID
    assert verify_cms(CONTENT, b64, trust_store).verdict is Verdict.VALID


def test_detached_signature_needs_the_content(
    rsa_sig: bytes, trust_store: TrustStore
) -> None:
    with pytest.raises(SignatureFormatError, match="content"):
        verify_cms(None, rsa_sig, trust_store)


def test_digest_variants(signer_ec: pki.Issued, trust_store: TrustStore) -> None:
    digest = hashlib.sha384(CONTENT).digest()
    sig = sign_cms_digest(digest, "sha384", _signer(signer_ec))

    assert verify_cms(CONTENT, sig, trust_store).verdict is Verdict.VALID
    assert (
        verify_cms_digest(digest, "sha384", sig, trust_store).verdict is Verdict.VALID
    )
    other = verify_cms_digest(
        hashlib.sha256(CONTENT).digest(), "sha256", sig, trust_store
    )
    assert other.verdict is Verdict.INDETERMINATE
    assert "unsupported_algorithm" in other.signers[0].codes
    with pytest.raises(SigningError):
        sign_cms_digest(b"short", "sha256", _signer(signer_ec))


def test_signer_certificates_are_listed(rsa_sig: bytes, signer_rsa: pki.Issued) -> None:
    (info,) = cms_signer_certificates(rsa_sig)

    assert info.der == signer_rsa.der
    assert info.owner == "Иванов Иван Иванович"
    with pytest.raises(SignatureFormatError):
        cms_signer_certificates(b"garbage")


def test_attached_signature_made_by_pyhanko_verifies(
    signer_ec: pki.Issued, trust_store: TrustStore
) -> None:
    hanko = signers.SimpleSigner.load_pkcs12_data(
        signer_ec.pkcs12("pw"), other_certs=[], passphrase=b"pw"
    )
    sig = asyncio.run(hanko.async_sign_general_data(CONTENT, "sha256", detached=False))

    report = verify_cms(None, sig.dump(), trust_store)

    assert report.attached
    assert report.verdict is Verdict.VALID, report.summary_ru()


def test_report_json_and_summary(rsa_sig: bytes, trust_store: TrustStore) -> None:
    report = verify_cms(CONTENT, rsa_sig, trust_store)

    data = json.loads(json.dumps(report.to_json(), ensure_ascii=False))
    assert data["verdict"] == "valid"
    signer = data["signers"][0]
    assert set(signer) >= {
        "verdict", "reasons", "intact", "certificate", "signing_time", "chain",
        "revocation", "weak_algorithms", "signing_certificate_attribute", "summary",
    }  # fmt: skip
    assert report.summary_ru().startswith("Подпись действительна: Иванов Иван Иванович")
    tampered = verify_cms(CONTENT + b"!", rsa_sig, trust_store)
    assert tampered.summary_ru().startswith("Подпись недействительна")
    assert "документ изменён" in tampered.summary_ru()


def test_rsa_1024_signature_is_reported_weak(
    pki_intermediate: pki.Issued, trust_store: TrustStore
) -> None:
    # Made by hand: sign_cms refuses short keys (see test_signers).
    weak = pki.make_signer(pki_intermediate, key_type="rsa1024")
    sha256 = der.DIGESTS["sha256"]
    mechanism = der.Mechanism(
        "rsa_pkcs1v15",
        sha256,
        der.seq(der.oid("1.2.840.113549.1.1.11"), der.NULL),
        1024,
    )
    template = der.SignerTemplate.build(weak.cert, weak.chain, mechanism)
    attrs = template.signed_attributes(sha256.digest(CONTENT), None)
    value = weak.key.sign(attrs, padding.PKCS1v15(), hashes.SHA256())
    sig = template.content_info(attrs, value)

    report = verify_cms(CONTENT, sig, trust_store)

    signer = report.signers[0]
    assert signer.intact
    assert "RSA-1024" in signer.weak_algorithms
    assert "weak_algorithm" in signer.codes
    assert report.verdict is Verdict.INDETERMINATE


def test_signing_time_in_the_future_is_not_trusted(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=3650)
    sig = sign_cms(CONTENT, _signer(signer_rsa), signing_time=future)

    report = verify_cms(CONTENT, sig, trust_store)

    signer = report.signers[0]
    assert signer.signing_time == future.replace(microsecond=0)
    assert signer.validation_time < future - dt.timedelta(days=1)
    assert report.verdict is Verdict.VALID  # a warning, validated for now


def test_a_certificate_bundle_is_not_a_signature(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    bundle = der.seq(
        der.oid(der.OID_SIGNED_DATA),
        der.explicit(
            0,
            der.seq(
                der.integer(1),
                der.der_set([]),
                der.seq(der.oid(der.OID_DATA)),
                der.implicit(0, der.der_set([signer_rsa.der])),
                der.der_set([]),
            ),
        ),
    )

    with pytest.raises(SignatureFormatError, match="no signers"):
        verify_cms(CONTENT, bundle, trust_store)
