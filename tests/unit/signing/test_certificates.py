"""signing.certificates: reading what a certificate says."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest
from asn1crypto import core, keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from signing import (
    CertificateFormatError,
    inspect_certificate,
    load_certificate,
    load_certificates,
    pki,
)
from signing.certificates import plural_days_ru
from tests.services import require_command

UTC = dt.UTC


def _openssl_fingerprint(pem: bytes, digest: str) -> str:
    openssl = require_command("openssl")
    out = subprocess.run(  # noqa: S603 - fixed arguments, a test tool
        [openssl, "x509", "-noout", "-fingerprint", f"-{digest}"],
        input=pem,
        capture_output=True,
        check=True,
    ).stdout.decode()
    # "sha256 Fingerprint=AB:CD:..." (the prefix differs between versions)
    return out.strip().split("=", 1)[1].replace(":", "").upper()


def _custom_cert(
    issuer: pki.Issued,
    attributes: list[x509.NameAttribute],
    *,
    san_email: str | None = None,
) -> bytes:
    key = pki.generate_key("p256")
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(0x00ABCDEF)
        .not_valid_before(dt.datetime(2025, 1, 1, tzinfo=UTC))
        .not_valid_after(dt.datetime(2026, 1, 1, tzinfo=UTC))
    )
    if san_email:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(san_email)]), critical=False
        )
    cert = builder.sign(issuer.key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.DER)


def _gost_certificate(key_oid: str = "1.2.643.7.1.1.1.1") -> bytes:
    """A self-issued certificate with a GOST R 34.10-2012 key and signature OIDs.

    asn1crypto cannot build a GOST SubjectPublicKeyInfo, so it is put together
    from primitives; the signature bytes are arbitrary.
    """

    def seq(*children: bytes) -> bytes:
        return core.Sequence(contents=b"".join(children)).dump()

    def oid(dotted: str) -> bytes:
        return core.ObjectIdentifier(dotted).dump()

    point = core.OctetString(b"\x07" * 64).dump()
    bits = tuple(int(b) for byte in point for b in format(byte, "08b"))
    spki = seq(
        seq(oid(key_oid), seq(oid("1.2.643.7.1.2.1.1.1"), oid("1.2.643.7.1.1.2.2"))),
        core.BitString(bits).dump(),
    )
    name = asn1_x509.Name.build(
        {"country_name": "RU", "common_name": "ГОСТ УЦ", "organization_name": "АО «УЦ»"}
    )
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": 0x01A2B3,
            "signature": {"algorithm": "1.2.643.7.1.1.3.2"},
            "issuer": name,
            "validity": {
                "not_before": asn1_x509.Time(
                    {"utc_time": dt.datetime(2024, 1, 1, tzinfo=UTC)}
                ),
                "not_after": asn1_x509.Time(
                    {"utc_time": dt.datetime(2039, 1, 1, tzinfo=UTC)}
                ),
            },
            "subject": name,
            "subject_public_key_info": keys.PublicKeyInfo.load(spki),
        }
    )
    cert = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": {"algorithm": "1.2.643.7.1.1.3.2"},
            "signature_value": b"\x5a" * 64,
        }
    )
    return cert.dump()


def test_inspect_reads_russian_subject_attributes(signer_rsa: pki.Issued) -> None:
    info = inspect_certificate(signer_rsa.der)

    assert info.owner == "Иванов Иван Иванович"
    assert info.subject_cn == "ООО «Ромашка»"
    assert info.organization == "ООО «Ромашка»"
    assert info.title == "Генеральный директор"
    assert info.email == "ivanov@example.ru"
    assert info.inn == "500100732259"
    assert info.inn_le == "7701234567"
    assert info.ogrn == "1027700132195"
    assert info.snils == "11223344595"
    assert info.ogrnip is None
    assert info.issuer_cn == "Тестовый подчинённый УЦ docflow"
    assert info.issuer.startswith("CN=Тестовый подчинённый УЦ docflow")
    assert "INN=500100732259" in info.subject
    assert info.key_usage == ("digital_signature", "non_repudiation")
    assert info.extended_key_usage == ("email_protection", "client_auth")
    assert info.policies == ("1.2.643.100.113.1",)
    assert (info.public_key_algorithm, info.key_size) == ("rsa", 2048)
    assert info.is_ca is False
    assert info.not_after == signer_rsa.cert.not_valid_after_utc
    assert info.not_before.tzinfo is not None


def test_inspect_reads_ec_key_and_ca_flag(
    signer_ec: pki.Issued, pki_root: pki.Issued
) -> None:
    ec_info = inspect_certificate(signer_ec.pem)
    root_info = inspect_certificate(pki_root.der)

    assert (ec_info.public_key_algorithm, ec_info.key_size) == ("ec", 256)
    assert ec_info.owner == "Петрова Мария Сергеевна"
    assert root_info.is_ca is True
    assert root_info.is_self_signed is True
    assert "key_cert_sign" in root_info.key_usage


def test_inspect_pem_and_der_give_the_same_info(signer_rsa: pki.Issued) -> None:
    assert inspect_certificate(signer_rsa.pem) == inspect_certificate(signer_rsa.der)


def test_thumbprints_and_serial_match_openssl(signer_rsa: pki.Issued) -> None:
    info = inspect_certificate(signer_rsa.der)

    assert info.sha1 == _openssl_fingerprint(signer_rsa.pem, "sha1")
    assert info.sha256 == _openssl_fingerprint(signer_rsa.pem, "sha256")
    assert int(info.serial_hex, 16) == signer_rsa.cert.serial_number
    assert info.serial_hex == info.serial_hex.upper()
    assert len(info.serial_hex) % 2 == 0


@pytest.mark.parametrize(
    "asn1_type",
    [
        x509.name._ASN1Type.NumericString,
        x509.name._ASN1Type.PrintableString,
        x509.name._ASN1Type.UTF8String,
    ],
    ids=["numeric", "printable", "utf8"],
)
def test_russian_identifiers_read_in_any_string_type(
    pki_intermediate: pki.Issued, asn1_type: x509.name._ASN1Type
) -> None:
    der = _custom_cert(
        pki_intermediate,
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "RU"),
            x509.NameAttribute(pki.OID_INN, "500100732259", asn1_type),
            x509.NameAttribute(pki.OID_OGRNIP, "304500116000157", asn1_type),
            x509.NameAttribute(pki.OID_SNILS, "11223344595", asn1_type),
            x509.NameAttribute(NameOID.COMMON_NAME, "ИП Иванов"),
        ],
    )

    info = inspect_certificate(der)

    assert (info.inn, info.ogrnip, info.snils) == (
        "500100732259",
        "304500116000157",
        "11223344595",
    )


def test_inn_le_with_leading_zeros_is_normalised_to_ten_digits(
    pki_intermediate: pki.Issued,
) -> None:
    signer = pki.make_signer(pki_intermediate, inn_le="007701234567")

    assert inspect_certificate(signer.der).inn_le == "7701234567"


def test_owner_falls_back_to_cn_and_email_to_san(pki_intermediate: pki.Issued) -> None:
    der = _custom_cert(
        pki_intermediate,
        [x509.NameAttribute(NameOID.COMMON_NAME, "Служба ЭДО")],
        san_email="edo@example.ru",
    )

    info = inspect_certificate(der)

    assert info.owner == "Служба ЭДО"
    assert info.email == "edo@example.ru"
    assert info.organization is None
    assert info.serial_hex == "ABCDEF"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b"not a certificate",
        b"\x30\x03\x02\x01\x01",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ],
    ids=["empty", "blank", "text", "der-garbage", "pem-garbage"],
)
def test_garbage_raises_certificate_format_error(data: bytes) -> None:
    with pytest.raises(CertificateFormatError):
        inspect_certificate(data)


def test_truncated_der_raises_certificate_format_error(signer_rsa: pki.Issued) -> None:
    with pytest.raises(CertificateFormatError):
        inspect_certificate(signer_rsa.der[:-10])


def test_pem_of_another_kind_is_refused(signer_rsa: pki.Issued) -> None:
    with pytest.raises(CertificateFormatError, match="not a certificate"):
        load_certificate(signer_rsa.key_pem)


def test_gost_certificate_is_inspected_without_crash() -> None:
    info = inspect_certificate(_gost_certificate())

    assert info.public_key_algorithm == "gost2012-256"
    assert info.key_size == 256
    assert info.signature_algorithm == "gost2012-256-streebog256"
    assert info.subject_cn == "ГОСТ УЦ"
    assert info.serial_hex == "01A2B3"
    json.dumps(info.to_json())


def test_gost_512_key_is_named() -> None:
    info = inspect_certificate(_gost_certificate("1.2.643.7.1.1.1.2"))

    assert (info.public_key_algorithm, info.key_size) == ("gost2012-512", 512)


def test_to_json_is_stable_and_serialisable(signer_rsa: pki.Issued) -> None:
    data = inspect_certificate(signer_rsa.der).to_json()

    assert "der" not in data
    assert data["not_after"] == signer_rsa.cert.not_valid_after_utc.isoformat()
    assert list(data) == sorted(data, key=list(data).index)  # insertion order kept
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert set(data) >= {
        "subject_cn",
        "owner",
        "organization",
        "title",
        "email",
        "inn",
        "inn_le",
        "ogrn",
        "ogrnip",
        "snils",
        "serial_hex",
        "issuer",
        "issuer_cn",
        "subject",
        "sha1",
        "sha256",
        "not_before",
        "not_after",
        "key_usage",
        "extended_key_usage",
        "policies",
        "public_key_algorithm",
        "key_size",
        "is_ca",
    }


def test_status_at_covers_the_validity_period(signer_rsa: pki.Issued) -> None:
    info = inspect_certificate(signer_rsa.der)
    na = info.not_after

    assert (
        info.status_at(info.not_before - dt.timedelta(seconds=1)).state
        == "not_yet_valid"
    )
    assert info.status_at(na - dt.timedelta(days=100)).state == "valid"
    expiring = info.status_at(na - dt.timedelta(days=12, hours=3))
    assert (expiring.state, expiring.days_left) == ("expiring", 12)
    assert expiring.message_ru == "истекает через 12 дней"
    assert info.status_at(na - dt.timedelta(hours=2)).message_ru == "истекает сегодня"
    expired = info.status_at(na + dt.timedelta(days=1))
    assert expired.state == "expired"
    assert expired.days_left < 0


def test_status_at_refuses_naive_datetimes(signer_rsa: pki.Issued) -> None:
    with pytest.raises(ValueError, match="aware"):
        inspect_certificate(signer_rsa.der).status_at(dt.datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "1 день"),
        (2, "2 дня"),
        (4, "4 дня"),
        (5, "5 дней"),
        (11, "11 дней"),
        (12, "12 дней"),
        (21, "21 день"),
        (22, "22 дня"),
        (25, "25 дней"),
        (111, "111 дней"),
    ],
)
def test_plural_days_ru(n: int, text: str) -> None:
    assert plural_days_ru(n) == text


def test_load_certificates_reads_pem_bundles_and_pkcs7(
    pki_root: pki.Issued, pki_intermediate: pki.Issued
) -> None:
    bundle = pki_root.pem + b"\n" + pki_intermediate.pem
    p7_der = pkcs7.serialize_certificates(
        [pki_root.cert, pki_intermediate.cert], serialization.Encoding.DER
    )
    p7_pem = pkcs7.serialize_certificates(
        [pki_root.cert, pki_intermediate.cert], serialization.Encoding.PEM
    )

    for data in (bundle, p7_der, p7_pem):
        certs = load_certificates(data)
        assert [c.sha256 for c in certs] == [
            load_certificate(pki_root.der).sha256,
            load_certificate(pki_intermediate.der).sha256,
        ]
    assert len(load_certificates(pki_root.der)) == 1


def test_load_certificates_refuses_input_without_certificates() -> None:
    with pytest.raises(CertificateFormatError):
        load_certificates(b"-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n")
    with pytest.raises(CertificateFormatError):
        load_certificates(b"\x00\x01\x02")
