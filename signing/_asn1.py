"""Low-level ASN.1 helpers: loading certificates and CRLs, reading names.

Private to the library (cryptography's hazmat split): the public API in
:mod:`signing.certificates` and :mod:`signing.trust` wraps these.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

from asn1crypto import cms, core, crl, pem, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives.serialization import Encoding

from signing.errors import CertificateFormatError

# GOST R 34.10-2012 public keys and GOST R 34.10/34.11-2012 signatures
# (RFC 9215 §2, TK 26): asn1crypto and cryptography know neither.
GOST_KEY_ALGORITHMS = {
    "1.2.643.7.1.1.1.1": ("gost2012-256", 256),
    "1.2.643.7.1.1.1.2": ("gost2012-512", 512),
    "1.2.643.2.2.19": ("gost2001", 256),
}
GOST_SIGNATURE_ALGORITHMS = {
    "1.2.643.7.1.1.3.2": "gost2012-256-streebog256",
    "1.2.643.7.1.1.3.3": "gost2012-512-streebog512",
    "1.2.643.2.2.3": "gost2001-gostr3411-94",
}

# Russian subject attributes (Приказ ФСБ России № 795, ФНС).
OID_INN = "1.2.643.3.131.1.1"
OID_INN_LE = "1.2.643.100.4"
OID_OGRN = "1.2.643.100.1"
OID_OGRNIP = "1.2.643.100.5"
OID_SNILS = "1.2.643.100.3"

# Short labels for a readable DN (RFC 4514 where it defines one; otherwise the
# labels OpenSSL prints for the Russian attributes).
_DN_LABELS = {
    "common_name": "CN",
    "surname": "SN",
    "given_name": "G",
    "title": "T",
    "organization_name": "O",
    "organizational_unit_name": "OU",
    "locality_name": "L",
    "state_or_province_name": "ST",
    "country_name": "C",
    "street_address": "STREET",
    "email_address": "E",
    "serial_number": "SERIALNUMBER",
    "organization_identifier": "organizationIdentifier",
    OID_INN: "INN",
    OID_INN_LE: "INNLE",
    OID_OGRN: "OGRN",
    OID_OGRNIP: "OGRNIP",
    OID_SNILS: "SNILS",
}

Certificate = x509.Certificate
CertificateInput: TypeAlias = "bytes | cx509.Certificate | x509.Certificate"


def _first_line(exc: Exception) -> str:
    # asn1crypto appends its parse stack on further lines.
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _check_parsed(cert: x509.Certificate) -> x509.Certificate:
    # asn1crypto parses lazily: touch the fields every caller relies on so that
    # a truncated or mangled certificate fails here, not deep in validation.
    tbs = cert["tbs_certificate"]
    _ = (tbs["serial_number"].native, tbs["validity"].native)
    _ = (tbs["issuer"].native, tbs["subject"].native)
    _ = tbs["subject_public_key_info"]["algorithm"]["algorithm"].dotted
    _ = cert["signature_algorithm"]["algorithm"].dotted
    for ext in tbs["extensions"]:
        _ = ext["extn_id"].dotted
    return cert


def load_certificate(data: bytes) -> x509.Certificate:
    """Parse one X.509 certificate from DER or PEM bytes.

    :raises CertificateFormatError: the bytes are not a single certificate.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CertificateFormatError(f"expected bytes, got {type(data).__name__}")
    raw = bytes(data)
    if not raw.strip():
        raise CertificateFormatError("empty input: no certificate")
    try:
        if pem.detect(raw):
            kind, _headers, raw = pem.unarmor(raw)
            if kind not in {"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"}:
                raise CertificateFormatError(f"PEM block {kind!r} is not a certificate")
        return _check_parsed(x509.Certificate.load(raw, strict=True))
    except CertificateFormatError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise CertificateFormatError(
            f"not an X.509 certificate (DER or PEM): {_first_line(exc)}"
        ) from None


def to_asn1(cert: CertificateInput) -> x509.Certificate:
    """Accept DER/PEM bytes, a cryptography certificate or an asn1crypto one."""
    if isinstance(cert, x509.Certificate):
        return cert
    if isinstance(cert, cx509.Certificate):
        return load_certificate(cert.public_bytes(Encoding.DER))
    if isinstance(cert, bytes | bytearray | memoryview):
        return load_certificate(bytes(cert))
    raise TypeError(
        "a certificate must be bytes (DER or PEM), a cryptography "
        f"x509.Certificate or an asn1crypto x509.Certificate, not {type(cert).__name__}"
    )


def _certs_from_pkcs7(raw: bytes) -> list[x509.Certificate]:
    info = cms.ContentInfo.load(raw, strict=True)
    if info["content_type"].native != "signed_data":
        raise CertificateFormatError("PKCS#7 content is not SignedData")
    found = []
    for choice in info["content"]["certificates"] or ():
        if choice.name == "certificate":
            found.append(_check_parsed(choice.chosen))
    return found


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """All certificates in a PEM bundle, a DER certificate or a PKCS#7 (.p7b).

    :raises CertificateFormatError: nothing usable, or a malformed block.
    """
    raw = bytes(data)
    found: list[x509.Certificate] = []
    try:
        if pem.detect(raw):
            for kind, _headers, der in pem.unarmor(raw, multiple=True):
                if kind in {"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"}:
                    found.append(_check_parsed(x509.Certificate.load(der, strict=True)))
                elif kind in {"PKCS7", "CMS"}:
                    found.extend(_certs_from_pkcs7(der))
        else:
            try:
                found.append(_check_parsed(x509.Certificate.load(raw, strict=True)))
            except (ValueError, TypeError, KeyError):
                found.extend(_certs_from_pkcs7(raw))
    except CertificateFormatError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise CertificateFormatError(
            f"no certificate (PEM, DER or PKCS#7) could be read: {_first_line(exc)}"
        ) from None
    if not found:
        raise CertificateFormatError("no certificate found (PEM, DER or PKCS#7)")
    return found


def load_crls(data: bytes) -> list[crl.CertificateList]:
    """CRLs from DER or PEM (one or several ``X509 CRL`` blocks).

    :raises ValueError: the bytes hold no CRL.
    """
    raw = bytes(data)
    ders = (
        [der for kind, _h, der in pem.unarmor(raw, multiple=True) if "CRL" in kind]
        if pem.detect(raw)
        else [raw]
    )
    if not ders:
        raise ValueError("no CRL found (PEM or DER)")
    crls = []
    for der in ders:
        parsed = crl.CertificateList.load(der, strict=True)
        tbs = parsed["tbs_cert_list"]
        _ = (tbs["issuer"].native, tbs["this_update"].native, tbs["next_update"].native)
        _ = parsed["signature_algorithm"]["algorithm"].dotted
        crls.append(parsed)
    return crls


def attribute_text(value: core.Asn1Value) -> str:
    """The text of a name attribute whatever its string type.

    Russian identifiers come as NumericString, PrintableString or UTF8String,
    and asn1crypto leaves attributes it does not know as raw ``Any``.
    """
    native = value.native
    if isinstance(value, core.Any) or isinstance(native, bytes):
        try:
            native = core.load(value.dump()).native
        except ValueError:
            native = value.dump().hex()
    if isinstance(native, bytes):
        return native.decode("utf-8", errors="replace")
    return str(native)


def name_attributes(name: x509.Name) -> list[tuple[str, str]]:
    """(type, value) pairs in DER order; type is asn1crypto's name or the dotted OID."""
    pairs = []
    for rdn in name.chosen:
        for atv in rdn:
            type_ = atv["type"]
            key = type_.native if type_.native != type_.dotted else type_.dotted
            pairs.append((key, attribute_text(atv["value"])))
    return pairs


def _escape_dn(value: str) -> str:
    out = value.replace("\\", "\\\\")
    for ch in ',+"<>;=':
        out = out.replace(ch, "\\" + ch)
    if out.startswith(("#", " ")):
        out = "\\" + out
    return out


def readable_name(name: x509.Name) -> str:
    """An RFC 4514-style string, most specific first (so usually CN first)."""
    parts = [
        f"{_DN_LABELS.get(key, key)}={_escape_dn(value)}"
        for key, value in reversed(name_attributes(name))
    ]
    return ", ".join(parts)


def first_attribute(name: x509.Name, key: str) -> str | None:
    for type_, value in name_attributes(name):
        if type_ == key:
            return value
    return None


def names_of(certs: Iterable[x509.Certificate]) -> list[str]:
    return [readable_name(c.subject) for c in certs]


# Приказ ФСБ России № 795, п. 3: the sign-tool extensions of a qualified
# certificate. asn1crypto does not know them; their DER is parsed here.
OID_SUBJECT_SIGN_TOOL = "1.2.643.100.111"
OID_ISSUER_SIGN_TOOL = "1.2.643.100.112"


class IssuerSignTool(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """issuerSignTool ::= SEQUENCE { signTool, cATool, signToolCert, cAToolCert }
    (each UTF8String SIZE(1..200)), Приказ ФСБ № 795 п. 3."""

    _fields = [
        ("sign_tool", core.UTF8String),
        ("ca_tool", core.UTF8String),
        ("sign_tool_cert", core.UTF8String),
        ("ca_tool_cert", core.UTF8String),
    ]


def extension_der(cert: x509.Certificate, oid: str) -> bytes | None:
    """The DER inside the extnValue OCTET STRING of extension ``oid``."""
    for ext in cert["tbs_certificate"]["extensions"]:
        if ext["extn_id"].dotted == oid:
            contents: bytes = ext["extn_value"].contents
            return contents
    return None


def subject_sign_tool(der: bytes) -> str:
    """subjectSignTool ::= UTF8String; :raises ValueError: not one."""
    value = core.UTF8String.load(der, strict=True).native
    if not isinstance(value, str):
        raise ValueError("subjectSignTool is not a UTF8String")
    return value


def issuer_sign_tool(der: bytes) -> tuple[str, str, str, str]:
    """The four names of issuerSignTool; :raises ValueError: malformed."""
    parsed = IssuerSignTool.load(der, strict=True)
    values = tuple(
        parsed[name].native
        for name in ("sign_tool", "ca_tool", "sign_tool_cert", "ca_tool_cert")
    )
    if not all(isinstance(v, str) for v in values):
        raise ValueError("issuerSignTool is not a SEQUENCE of four UTF8Strings")
    return values
