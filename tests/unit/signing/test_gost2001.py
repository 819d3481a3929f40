"""GOST R 34.11-94 (RFC 5831) and GOST R 34.10-2001 (RFC 4491): verified,
reported obsolete (WEAK_ALGORITHM → INDETERMINATE, EN 319 102-1 §5.2.8)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from asn1crypto import pem, x509

from signing import TrustStore, Verdict, gost, validate_certificate, verify_cms

DATA = Path(__file__).parent / "data" / "gost" / "openssl"
TEST = gost.OID_GOST3411_94_TEST_PARAMS
PRO = gost.OID_GOST3411_94_CRYPTOPRO_PARAMS
#: Inside the 30 days of cert2001.pem (made 2026-12-05).
AT = dt.datetime(2026, 12, 10, tzinfo=dt.UTC)
OFFLINE = {"ocsp": False, "fetch_crls": False, "fetch_issuers": False}


@pytest.mark.parametrize(
    ("params", "message", "expected"),
    [
        # RFC 5831 §7.3.1-7.3.2 (the standard's test S-boxes)
        (TEST, b"This is message, length=32 bytes",
         "b1c466d37519b82e8319819ff32595e047a28cb6f83eff1c6916a815a637fffa"),
        (TEST, b"Suppose the original message has length = 50 bytes",
         "471aba57a60a770d3a76130635c1fbea4ef14de51f78b4ae57dd893b62f55208"),
        (TEST, b"", "ce85b99cc46752fffee35cab9a7b0278abb4c2d2055cff685af4912c49490f8d"),
        (TEST, 128 * b"U",
         "53a3a3ed25180cef0c1d85a074273e551c25660a87062a52d926a9e8fe5733a4"),
        # CryptoPro S-boxes (RFC 4357 §11.2); = `openssl dgst -md_gost94`
        (PRO, b"", "981e5f3ca30c841487830f84fb433e13ac1101569b9c13584ac483234cd656c0"),
        (PRO, b"abc", "b285056dbf18d7392d7677369524dd14747459ed8143997e163b2986f92fd42c"),
        (PRO, b"Suppose the original message has length = 50 bytes",
         "c3730c5cbccacf915ac292676f21e8bd4ef75331d9405e5f1a61dc3130a65011"),
        (PRO, 128 * b"U",
         "1c4ac7614691bbf427fa2316216be8f10d92edfd37cd1027514c1008f649c4e8"),
    ],
)  # fmt: skip
def test_gostr341194_known_answers(params: str, message: bytes, expected: str) -> None:
    assert gost.GostR341194(message, params).hexdigest() == expected
    split = gost.GostR341194(params=params)
    for i in range(0, len(message), 7):
        split.update(message[i : i + 7])
    assert split.copy().digest().hex() == expected


def test_gost2001_key_is_read_from_an_openssl_certificate() -> None:
    cert = x509.Certificate.load(pem.unarmor((DATA / "cert2001.pem").read_bytes())[2])
    spki = cert["tbs_certificate"]["subject_public_key_info"].dump()
    key = gost.GostPublicKey.from_spki(spki)

    assert key.algorithm == "gost2001"
    assert key.spki() == spki
    assert key.verify(cert["tbs_certificate"].dump(), cert["signature_value"].native)
    assert not key.verify(
        b"x" + cert["tbs_certificate"].dump(), cert["signature_value"].native
    )


def _store() -> TrustStore:
    return TrustStore([(DATA / "cert2001.pem").read_bytes()], **OFFLINE)


def test_gost2001_cms_is_intact_but_obsolete() -> None:
    content = (DATA / "content_2001.txt").read_bytes()
    sig = (DATA / "content_2001.sig").read_bytes()

    report = verify_cms(content, sig, _store(), at=AT)

    signer = report.signers[0]
    assert signer.intact
    assert report.verdict is Verdict.INDETERMINATE
    assert "weak_algorithm" in signer.codes
    assert "signature_invalid" not in signer.codes
    assert any(
        "устаревшим алгоритмом ГОСТ Р 34.10-2001 (выведен из употребления с 2019 года)"
        in r.message
        for r in signer.reasons
    )


def test_gost2001_cms_with_a_changed_byte_is_invalid() -> None:
    content = bytearray((DATA / "content_2001.txt").read_bytes())
    content[0] ^= 1

    report = verify_cms(
        bytes(content), (DATA / "content_2001.sig").read_bytes(), _store(), at=AT
    )

    assert report.verdict is Verdict.INVALID
    assert not report.signers[0].intact


def test_gost2001_certificate_is_checked_and_obsolete() -> None:
    result = validate_certificate(
        (DATA / "cert2001.pem").read_bytes(),
        _store(),
        at=AT,
        revocation="off",
        usage="any",
    )

    assert result.verdict is Verdict.INDETERMINATE
    assert result.codes == {"weak_algorithm"}
    assert "34.10-2001" in result.reasons[0].message
