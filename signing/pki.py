"""A small certification authority for demos and tests.

It issues certificates shaped like Russian qualified ones (the subject carries
ИНН, ИНН ЮЛ, ОГРН, СНИЛС) with RSA or ECDSA keys, CRLs and PKCS#12 files. It is
used by ``docflow demo`` and by the test suites; it is never meant for real keys.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    NameOID,
    ObjectIdentifier,
)

# Russian subject attributes (Приказ ФСБ № 795, ФНС): the OIDs a qualified
# certificate carries for the holder and the organisation.
OID_INN = ObjectIdentifier("1.2.643.3.131.1.1")
OID_INN_LE = ObjectIdentifier("1.2.643.100.4")
OID_OGRN = ObjectIdentifier("1.2.643.100.1")
OID_OGRNIP = ObjectIdentifier("1.2.643.100.5")
OID_SNILS = ObjectIdentifier("1.2.643.100.3")
# Приказ ФСБ № 795 п. 3: the sign-tool extensions of a qualified certificate.
OID_SUBJECT_SIGN_TOOL = ObjectIdentifier("1.2.643.100.111")
OID_ISSUER_SIGN_TOOL = ObjectIdentifier("1.2.643.100.112")

#: What a qualified certificate's issuerSignTool typically reads.
ISSUER_SIGN_TOOL = (
    "СКЗИ «КриптоПро CSP» (версия 5.0)",
    "ПАК «КриптоПро УЦ» версии 2.0",
    "Сертификат соответствия № СФ/124-3966 от 15.01.2021",
    "Сертификат соответствия № СФ/128-4270 от 13.07.2022",
)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

UTC = dt.UTC


def generate_key(key_type: str = "rsa2048") -> PrivateKey:
    """``rsa2048``, ``rsa3072``, ``rsa4096``, ``rsa1024`` (weak, for refusal tests),
    ``p256`` or ``p384``."""
    if key_type.startswith("rsa"):
        return rsa.generate_private_key(
            public_exponent=65537, key_size=int(key_type[3:])
        )
    curves: dict[str, ec.EllipticCurve] = {
        "p256": ec.SECP256R1(),
        "p384": ec.SECP384R1(),
    }
    if key_type not in curves:
        raise ValueError(
            f"unknown key type {key_type!r}: use rsa2048, rsa3072, p256 or p384"
        )
    return ec.generate_private_key(curves[key_type])


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key (and the chain above it, leaf first)."""

    cert: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...] = field(default=())

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def pkcs12(self, password: str, *, friendly_name: str = "docflow") -> bytes:
        """A PKCS#12 file with the key, the certificate and its chain.

        AES-256 with PBKDF2 (PBES2): what current browsers' libraries and OpenSSL 3
        read; the legacy 3DES form is not produced.
        """
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(20000)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
            .build(password.encode())
        )
        return pkcs12.serialize_key_and_certificates(
            friendly_name.encode(),
            self.key,
            self.cert,
            list(self.chain) or None,
            encryption,
        )


def _name(
    *,
    common_name: str,
    organization: str | None = None,
    surname: str | None = None,
    given_name: str | None = None,
    title: str | None = None,
    email: str | None = None,
    inn: str | None = None,
    inn_le: str | None = None,
    ogrn: str | None = None,
    snils: str | None = None,
    country: str = "RU",
    locality: str | None = None,
) -> x509.Name:
    attrs: list[x509.NameAttribute[str]] = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, country)
    ]
    if locality:
        attrs.append(x509.NameAttribute(NameOID.LOCALITY_NAME, locality))
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if title:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    if surname:
        attrs.append(x509.NameAttribute(NameOID.SURNAME, surname))
    if given_name:
        attrs.append(x509.NameAttribute(NameOID.GIVEN_NAME, given_name))
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    # The Russian identifiers are NumericString in the profile; PrintableString is
    # what most CAs write in practice and every parser accepts.
    for oid, value in (
        (OID_INN, inn),
        (OID_INN_LE, inn_le),
        (OID_OGRN, ogrn),
        (OID_SNILS, snils),
    ):
        if value:
            attrs.append(
                x509.NameAttribute(oid, value, x509.name._ASN1Type.NumericString)
            )
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _hash_for(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384:
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def _issue(
    *,
    subject: x509.Name,
    public_key_of: PrivateKey,
    issuer: Issued | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
    is_ca: bool,
    path_length: int | None,
    key_usage: Iterable[str],
    extended_key_usage: Sequence[ObjectIdentifier] = (),
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    serial: int | None = None,
    email: str | None = None,
    hash_algorithm: hashes.HashAlgorithm | None = None,
    policies: Sequence[str] = (),
    subject_sign_tool: str | None = None,
    issuer_sign_tool: Sequence[str] | None = None,
) -> x509.Certificate:
    signing_key = issuer.key if issuer else public_key_of
    issuer_name = issuer.cert.subject if issuer else subject
    usage = set(key_usage)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key_of.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.BasicConstraints(ca=is_ca, path_length=path_length), critical=True
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature="digital_signature" in usage,
                content_commitment="non_repudiation" in usage,
                key_encipherment="key_encipherment" in usage,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign="key_cert_sign" in usage,
                crl_sign="crl_sign" in usage,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public_key_of.public_key()),
            critical=False,
        )
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if extended_key_usage:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(list(extended_key_usage)),
            critical=ExtendedKeyUsageOID.TIME_STAMPING in extended_key_usage,
        )
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(crl_url)], None, None, None
                    )
                ]
            ),
            critical=False,
        )
    if ocsp_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(ocsp_url),
                    )
                ]
            ),
            critical=False,
        )
    if email:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False
        )
    if policies:
        builder = builder.add_extension(
            x509.CertificatePolicies(
                [x509.PolicyInformation(ObjectIdentifier(p), None) for p in policies]
            ),
            critical=False,
        )
    if subject_sign_tool is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(
                OID_SUBJECT_SIGN_TOOL, core.UTF8String(subject_sign_tool).dump()
            ),
            critical=False,
        )
    if issuer_sign_tool is not None:
        # issuerSignTool ::= SEQUENCE { signTool, cATool, signToolCert,
        # cAToolCert } of UTF8String; any count is written, for refusal tests.
        value = b"".join(core.UTF8String(v).dump() for v in issuer_sign_tool)
        builder = builder.add_extension(
            x509.UnrecognizedExtension(
                OID_ISSUER_SIGN_TOOL,
                b"\x30" + _der_length(len(value)) + value,
            ),
            critical=False,
        )
    # Any hash, SHA-1 included: the tests need weak certificates to refuse.
    algorithm = hash_algorithm or _hash_for(signing_key)
    return builder.sign(signing_key, algorithm)  # type: ignore[arg-type]


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _organization_of(cert: x509.Certificate) -> str | None:
    values = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return str(values[0].value) if values else None


def _now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


def make_root_ca(
    common_name: str = "Тестовый УЦ docflow",
    *,
    key_type: str = "rsa2048",
    organization: str = "docflow test PKI",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    key: PrivateKey | None = None,
) -> Issued:
    """A self-signed root CA, valid from a day ago for ten years by default."""
    key = key or generate_key(key_type)
    nb = not_before or _now() - dt.timedelta(days=1)
    subject = _name(common_name=common_name, organization=organization)
    cert = _issue(
        subject=subject,
        public_key_of=key,
        issuer=None,
        not_before=nb,
        not_after=not_after or nb + dt.timedelta(days=3650),
        is_ca=True,
        path_length=None,
        key_usage=("key_cert_sign", "crl_sign", "digital_signature"),
    )
    return Issued(cert, key)


def make_intermediate_ca(
    issuer: Issued,
    common_name: str = "Тестовый подчинённый УЦ docflow",
    *,
    key_type: str = "rsa2048",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
) -> Issued:
    key = generate_key(key_type)
    nb = not_before or _now() - dt.timedelta(days=1)
    cert = _issue(
        subject=_name(
            common_name=common_name, organization=_organization_of(issuer.cert)
        ),
        public_key_of=key,
        issuer=issuer,
        not_before=nb,
        not_after=not_after
        or min(nb + dt.timedelta(days=1825), issuer.cert.not_valid_after_utc),
        is_ca=True,
        path_length=0,
        key_usage=("key_cert_sign", "crl_sign", "digital_signature"),
        crl_url=crl_url,
        ocsp_url=ocsp_url,
    )
    return Issued(cert, key, (issuer.cert, *issuer.chain))


def make_signer(
    issuer: Issued,
    *,
    surname: str = "Иванов",
    given_name: str = "Иван Иванович",
    organization: str | None = "ООО «Ромашка»",
    title: str | None = "Генеральный директор",
    email: str | None = "ivanov@example.ru",
    inn: str | None = "500100732259",
    inn_le: str | None = "7701234567",
    ogrn: str | None = "1027700132195",
    snils: str | None = "11223344595",
    key_type: str = "rsa2048",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    key_usage: Iterable[str] = ("digital_signature", "non_repudiation"),
    extended_key_usage: Sequence[ObjectIdentifier] = (
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ),
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    serial: int | None = None,
    key: PrivateKey | None = None,
    hash_algorithm: hashes.HashAlgorithm | None = None,
    policies: Sequence[str] = ("1.2.643.100.113.1",),
    subject_sign_tool: str | None = None,
    issuer_sign_tool: Sequence[str] | None = None,
) -> Issued:
    """An end-entity signing certificate of a person acting for an organisation.

    Validity defaults to a year from a day ago, cut at the issuer's end. With
    ``subject_sign_tool`` and ``issuer_sign_tool`` (for example
    ``"КриптоПро CSP"`` and :data:`ISSUER_SIGN_TOOL`) it carries the fields of
    a qualified certificate (Приказ ФСБ № 795 п. 3).
    """
    key = key or generate_key(key_type)
    nb = not_before or _now() - dt.timedelta(days=1)
    na = not_after or min(nb + dt.timedelta(days=365), issuer.cert.not_valid_after_utc)
    subject = _name(
        common_name=organization or f"{surname} {given_name}",
        organization=organization,
        surname=surname,
        given_name=given_name,
        title=title,
        email=email,
        inn=inn,
        inn_le=inn_le,
        ogrn=ogrn,
        snils=snils,
    )
    cert = _issue(
        subject=subject,
        public_key_of=key,
        issuer=issuer,
        not_before=nb,
        not_after=na,
        is_ca=False,
        path_length=None,
        key_usage=key_usage,
        extended_key_usage=extended_key_usage,
        crl_url=crl_url,
        ocsp_url=ocsp_url,
        serial=serial,
        email=email,
        hash_algorithm=hash_algorithm,
        policies=policies,
        subject_sign_tool=subject_sign_tool,
        issuer_sign_tool=issuer_sign_tool,
    )
    return Issued(cert, key, (issuer.cert, *issuer.chain))


def make_tsa(
    issuer: Issued,
    common_name: str = "Тестовая служба штампов времени",
    *,
    not_before: dt.datetime | None = None,
) -> Issued:
    """A time-stamping authority certificate (critical EKU id-kp-timeStamping)."""
    key = generate_key("rsa2048")
    nb = not_before or _now() - dt.timedelta(days=1)
    cert = _issue(
        subject=_name(common_name=common_name, organization="docflow test PKI"),
        public_key_of=key,
        issuer=issuer,
        not_before=nb,
        not_after=min(nb + dt.timedelta(days=1825), issuer.cert.not_valid_after_utc),
        is_ca=False,
        path_length=None,
        key_usage=("digital_signature", "non_repudiation"),
        extended_key_usage=(ExtendedKeyUsageOID.TIME_STAMPING,),
    )
    return Issued(cert, key, (issuer.cert, *issuer.chain))


def make_ocsp_responder(
    issuer: Issued, common_name: str = "Тестовый OCSP docflow"
) -> Issued:
    """A delegated OCSP responder certificate (EKU id-kp-OCSPSigning, ocsp-nocheck)."""
    key = generate_key("rsa2048")
    nb = _now() - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name=common_name, organization="docflow test PKI"))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(nb)
        .not_valid_after(
            min(nb + dt.timedelta(days=365), issuer.cert.not_valid_after_utc)
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False
        )
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
        .sign(issuer.key, hashes.SHA256())
    )
    return Issued(cert, key, (issuer.cert, *issuer.chain))


@dataclass(frozen=True)
class Revoked:
    serial: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise


def make_crl(
    issuer: Issued,
    revoked: Iterable[Revoked] = (),
    *,
    this_update: dt.datetime | None = None,
    next_update: dt.datetime | None = None,
    number: int = 1,
) -> bytes:
    """A DER-encoded CRL signed by ``issuer``."""
    tu = this_update or _now() - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(tu)
        .next_update(next_update or tu + dt.timedelta(days=7))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    for item in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(item.serial)
            .revocation_date(item.revoked_at)
        )
        if item.reason is not None:
            entry = entry.add_extension(x509.CRLReason(item.reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(issuer.key, hashes.SHA256()).public_bytes(
        serialization.Encoding.DER
    )
