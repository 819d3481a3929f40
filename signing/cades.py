"""CAdES augmentation: -T, -LT and -LTA (ETSI EN 319 122-1 V1.3.1).

A detached CAdES-BES signature made by :func:`signing.cms.sign_cms` proves who
signed, but not when, and it stops being verifiable once the signer's CA and
revocation services are gone. The baseline levels of ETSI EN 319 122-2 add, in
unsigned attributes and in SignedData, what a verifier needs decades later:

* **-T** (:func:`add_signature_timestamp`): a signature-time-stamp (RFC 3161
  appendix A, EN 319 122-1 §5.3) over the signature value.
* **-LT** (:func:`add_validation_data`): the certificates, CRLs and OCSP
  responses of the validation, in ``SignedData.certificates`` and
  ``SignedData.crls`` (EN 319 122-1 §5.5, RFC 5652 §10.2.1, RFC 5940).
* **-LTA** (:func:`add_archive_timestamp`): an archive-time-stamp-v3
  (EN 319 122-1 §5.5.3) over the signed content, the SignerInfo and, through
  the ats-hash-index-v3 (§5.5.2), every certificate, revocation value and
  unsigned attribute present at that moment. Renewing it is adding another.

Every function takes and returns a DER ``ContentInfo``/``SignedData`` with one
SignerInfo. The new encoding is spliced from the original octets: the fields of
the SignerInfo that are signed or time-stamped (version, sid, digestAlgorithm,
signedAttrs, signatureAlgorithm, signature) are copied byte for byte, so the
signature and every earlier time-stamp still verify. Only the SET OF structures
that grow (digestAlgorithms, certificates, crls, unsignedAttrs) are re-encoded,
in DER order (X.690 §11.6); archive-time-stamp-v3 was designed for exactly this
(its hash index does not depend on the order of those sets).

Readers (:func:`archive_timestamps`, :func:`signature_timestamp_tokens`,
:func:`validation_data`, :func:`unsigned_attribute_types`) give a verifier the
embedded material; trust in the time-stamping authorities is judged elsewhere
(:func:`signing.cms.verify_timestamp_token`, :mod:`signing.trust`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from asn1crypto import core as asn1_core
from cryptography import x509
from cryptography.x509 import ocsp

from signing import _cms_asn1 as der
from signing.errors import CertificateFormatError, SignatureFormatError, SigningError
from signing.tsa import Timestamper, TimestampInfo, read_token

__all__ = [
    "OID_ARCHIVE_TIME_STAMP_V3",
    "OID_ATS_HASH_INDEX_V3",
    "OID_RI_OCSP_RESPONSE",
    "ArchiveTimestamp",
    "ValidationData",
    "add_archive_timestamp",
    "add_signature_timestamp",
    "add_validation_data",
    "archive_timestamps",
    "signature_timestamp_tokens",
    "unsigned_attribute_types",
    "validation_data",
]

#: id-aa-ets-archiveTimestampV3 (EN 319 122-1 §5.5.3).
OID_ARCHIVE_TIME_STAMP_V3 = "0.4.0.1733.2.4"
#: id-aa-ATSHashIndex-v3 (EN 319 122-1 §5.5.2).
OID_ATS_HASH_INDEX_V3 = "0.4.0.19122.1.5"
#: id-ri-ocsp-response: an OCSPResponse as a RevocationInfoChoice (RFC 5940 §4.1).
OID_RI_OCSP_RESPONSE = "1.3.6.1.5.5.7.16.2"

_SIGNED_DATA_OID = der.oid(der.OID_SIGNED_DATA)
_SIGNATURE_TIME_STAMP_OID = der.oid(der.OID_SIGNATURE_TIME_STAMP)
_ATS_V3_OID = der.oid(OID_ARCHIVE_TIME_STAMP_V3)
_ATS_HASH_INDEX_V3_OID = der.oid(OID_ATS_HASH_INDEX_V3)
_RI_OCSP_OID = der.oid(OID_RI_OCSP_RESPONSE)
_DIGESTS_BY_OID_DER = {der.oid(spec.oid): spec for spec in der.DIGESTS.values()}

# Identifier octets (X.690 §8.1.2) of the fields this module walks through.
_INTEGER = 0x02
_OCTET_STRING = 0x04
_OCTET_STRING_CONSTRUCTED = 0x24  # BER only (X.690 §8.7.3)
_OID = 0x06
_SEQUENCE = 0x30
_SET = 0x31
_CONTEXT_0 = 0xA0
_CONTEXT_1 = 0xA1


# --------------------------------------------------------------------------
# Public values
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidationData:
    """The long-term validation data embedded in SignedData (CAdES -LT).

    :ivar certificates: DER of every X.509 certificate in
        ``SignedData.certificates`` (other CertificateChoices are skipped).
    :ivar crls: DER ``CertificateList`` of every ``RevocationInfoChoice.crl``.
    :ivar ocsp_responses: DER ``OCSPResponse`` of every
        ``RevocationInfoChoice.other`` of format id-ri-ocsp-response (RFC 5940).
    """

    certificates: tuple[bytes, ...] = field(default=(), repr=False)
    crls: tuple[bytes, ...] = field(default=(), repr=False)
    ocsp_responses: tuple[bytes, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class ArchiveTimestamp:
    """One archive-time-stamp-v3 of a signature, its imprint re-computed.

    :ivar token: the DER time-stamp token (with its ats-hash-index-v3).
    :ivar imprint_matches: the token's message imprint equals the one computed
        from the signature as it is now (EN 319 122-1 §5.5.3), and every
        certificate, revocation value and unsigned attribute its hash index
        names is still present (§5.5.2). ``False`` also when the token is
        unreadable, has no ats-hash-index-v3, or uses a hash algorithm that is
        unknown or broken (MD5, SHA-1): such a binding proves nothing. The
        authority's signature and certificate are *not* judged here.
    :ivar gen_time: the token's genTime (UTC); ``None`` if unreadable.
    """

    token: bytes = field(repr=False)
    imprint_matches: bool
    gen_time: dt.datetime | None


# --------------------------------------------------------------------------
# DER walking (X.690 §8.1)
# --------------------------------------------------------------------------


class _DerError(Exception):
    pass


_INDEFINITE = -1


def _header(
    buf: bytes, pos: int, end: int, *, indefinite: bool = False
) -> tuple[int, int, int, int]:
    """(first identifier octet, end of the identifier, content start, content
    length) of the TLV at ``pos``; the length is ``_INDEFINITE`` for the BER
    indefinite form, accepted only when ``indefinite`` is true."""
    if pos >= end:
        raise _DerError("truncated")
    tag = buf[pos]
    i = pos + 1
    if tag & 0x1F == 0x1F:  # high tag number form: base-128 continuation octets
        while i < end and buf[i] & 0x80:
            i += 1
        i += 1
    if i >= end:
        raise _DerError("truncated")
    ident_end = i
    first = buf[i]
    i += 1
    if first == 0x80:
        if not (indefinite and tag & 0x20):  # X.690 §8.1.3.2
            raise _DerError("unexpected indefinite length")
        return tag, ident_end, i, _INDEFINITE
    length = first
    if first > 0x80:
        size = first & 0x7F
        if size > 8 or i + size > end:
            raise _DerError("bad length")
        length = int.from_bytes(buf[i : i + size], "big")
        i += size
    if i + length > end:
        raise _DerError("truncated")
    return tag, ident_end, i, length


def _definite(buf: bytes, pos: int, end: int) -> tuple[bytes, int]:
    """The TLV at ``pos`` with every indefinite length made definite, and the
    position after it. A TLV without indefinite lengths is copied unchanged,
    so DER (and the DER signed attributes inside BER) keep their octets.
    Every constructed TLV is walked, so what comes out is well-formed."""
    tag, ident_end, start, length = _header(buf, pos, end, indefinite=True)
    if length != _INDEFINITE:
        stop = start + length
        if not tag & 0x20:
            return buf[pos:stop], stop
        parts = []
        i = start
        while i < stop:
            part, i = _definite(buf, i, stop)
            parts.append(part)
        body = b"".join(parts)
        if body == buf[start:stop]:
            return buf[pos:stop], stop
        return buf[pos:ident_end] + der.der_length(len(body)) + body, stop
    parts = []
    i = start
    while buf[i : i + 2] != b"\x00\x00":  # end-of-contents (X.690 §8.1.5)
        part, i = _definite(buf, i, end)
        parts.append(part)
    body = b"".join(parts)
    return buf[pos:ident_end] + der.der_length(len(body)) + body, i + 2


def _children(tlv: bytes, tag: int | None = None) -> list[bytes]:
    """The TLVs inside a constructed ``tlv`` (of the given identifier)."""
    actual, _, start, length = _header(tlv, 0, len(tlv))
    if (tag is not None and actual != tag) or not actual & 0x20:
        raise _DerError(f"unexpected element {actual:#04x}")
    result = []
    i = start
    while i < start + length:
        _, _, content, size = _header(tlv, i, start + length)
        result.append(tlv[i : content + size])
        i = content + size
    return result


def _tag(tlv: bytes) -> int:
    return tlv[0]


def _octets(tlv: bytes) -> bytes:
    """The value of an OCTET STRING, primitive or (BER) constructed."""
    tag, _, start, length = _header(tlv, 0, len(tlv))
    if tag == _OCTET_STRING:
        return tlv[start : start + length]
    if tag == _OCTET_STRING_CONSTRUCTED:
        return b"".join(_octets(chunk) for chunk in _children(tlv))
    raise _DerError("not an OCTET STRING")


def _int_value(tlv: bytes) -> int:
    _, _, start, length = _header(tlv, 0, len(tlv))
    return int.from_bytes(tlv[start : start + length], "big", signed=True)


def _first_oid(tlv: bytes, tag: int = _SEQUENCE) -> bytes:
    """The OBJECT IDENTIFIER (TLV) that opens a SEQUENCE: the algorithm of an
    AlgorithmIdentifier, the format of an OtherRevocationInfoFormat."""
    first = _children(tlv, tag)[0]
    if _tag(first) != _OID:
        raise _DerError("an OBJECT IDENTIFIER is missing")
    return first


# --------------------------------------------------------------------------
# SignedData as spliceable parts
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Attribute:
    """An Attribute (RFC 5652 §5.3) as its original octets."""

    der: bytes
    type_der: bytes  # attrType, OBJECT IDENTIFIER TLV
    values: tuple[bytes, ...]  # each AttributeValue TLV


@dataclass(frozen=True)
class _SignedData:
    """A ContentInfo/SignedData with one SignerInfo, field by field (RFC 5652
    §5.1, §5.3). Each field holds its original TLV; a field that is not
    changed is written back as it came."""

    content_type: bytes
    version: bytes
    digest_algorithms: bytes
    encap_content_info: bytes
    certificates: bytes | None  # [0] IMPLICIT CertificateSet
    crls: bytes | None  # [1] IMPLICIT RevocationInfoChoices
    signer_fields: tuple[bytes, ...]  # version .. signature, as present
    unsigned: tuple[_Attribute, ...]

    @property
    def certificate_choices(self) -> list[bytes]:
        return _children(self.certificates) if self.certificates else []

    @property
    def revocation_choices(self) -> list[bytes]:
        return _children(self.crls) if self.crls else []

    @property
    def signature_value(self) -> bytes:
        return _octets(self.signer_fields[-1])

    @property
    def econtent_type(self) -> bytes:
        return _children(self.encap_content_info)[0]

    @property
    def econtent(self) -> bytes | None:
        """The encapsulated content, ``None`` for a detached signature."""
        parts = _children(self.encap_content_info)
        if len(parts) < 2:
            return None
        (octet_string,) = _children(parts[1], _CONTEXT_0)
        return _octets(octet_string)

    def values_of(self, attr_type: bytes) -> list[bytes]:
        return [v for a in self.unsigned if a.type_der == attr_type for v in a.values]

    def with_unsigned(self, attribute: bytes) -> _SignedData:
        return replace(self, unsigned=(*self.unsigned, _attribute(attribute)))

    def encode(self) -> bytes:
        signer_info = list(self.signer_fields)
        if self.unsigned:
            signer_info.append(
                der.implicit(1, der.der_set(a.der for a in self.unsigned))
            )
        signed_data = [self.version, self.digest_algorithms, self.encap_content_info]
        signed_data += [f for f in (self.certificates, self.crls) if f is not None]
        signed_data.append(der.der_set([der.seq(*signer_info)]))
        return der.seq(self.content_type, der.explicit(0, der.seq(*signed_data)))


def _attribute(tlv: bytes) -> _Attribute:
    attr_type, values = _children(tlv, _SEQUENCE)
    if _tag(attr_type) != _OID:
        raise _DerError("attribute type is not an OID")
    return _Attribute(tlv, attr_type, tuple(_children(values, _SET)))


def _parse(sig: bytes) -> _SignedData:
    """Split a CMS SignedData into its fields.

    :raises SignatureFormatError: not a SignedData with exactly one SignerInfo.
    """
    return _parse_bytes(bytes(sig))


# Sealing reads the same signature several times (to stamp it, to list its
# validation data, to verify it): the split is immutable, kept for the next.
@lru_cache(maxsize=128)
def _parse_bytes(sig: bytes) -> _SignedData:
    data = der.decode_signature_bytes(sig)
    try:
        size = len(data)
        data, stop = _definite(data, 0, size)
        if stop != size:
            raise _DerError("trailing data")
        content_type, wrapper = _children(data, _SEQUENCE)
        if content_type != _SIGNED_DATA_OID:
            raise SignatureFormatError("the CMS structure is not SignedData")
        (signed_data,) = _children(wrapper, _CONTEXT_0)
        version, digest_algs, eci, *rest, signer_info_set = _children(
            signed_data, _SEQUENCE
        )
        fields = {_tag(f): f for f in rest}
        if len(fields) != len(rest) or not set(fields) <= {_CONTEXT_0, _CONTEXT_1}:
            raise _DerError("unexpected SignedData field")
        signer_infos = _children(signer_info_set, _SET)
        if len(signer_infos) != 1:
            raise SignatureFormatError(
                f"the signature has {len(signer_infos)} SignerInfos; "
                "exactly one is supported"
            )
        (signer_info,) = signer_infos
        signer_fields = _children(signer_info, _SEQUENCE)
        unsigned: tuple[_Attribute, ...] = ()
        if _tag(signer_fields[-1]) == _CONTEXT_1:
            unsigned = tuple(_attribute(a) for a in _children(signer_fields.pop()))
        _check_signer_fields(signer_fields)
        if _tag(eci) != _SEQUENCE or _tag(version) != _INTEGER:
            raise _DerError("unexpected SignedData field")
        for algorithm in _children(digest_algs, _SET):
            _first_oid(algorithm)
        parsed = _SignedData(
            content_type=content_type,
            version=version,
            digest_algorithms=digest_algs,
            encap_content_info=eci,
            certificates=fields.get(_CONTEXT_0),
            crls=fields.get(_CONTEXT_1),
            signer_fields=tuple(signer_fields),
            unsigned=unsigned,
        )
        # What the rest of the module reads is checked here, once.
        parsed.econtent  # noqa: B018
        for choice in parsed.revocation_choices:
            if _tag(choice) != _SEQUENCE:  # RevocationInfoChoice.other
                _first_oid(choice, _CONTEXT_1)
    except (_DerError, ValueError, IndexError) as exc:
        raise SignatureFormatError(f"damaged CMS signature: {exc}") from None
    return parsed


def _check_signer_fields(fields: Sequence[bytes]) -> None:
    """SignerInfo (RFC 5652 §5.3): version, sid, digestAlgorithm, optional
    [0] signedAttrs, signatureAlgorithm, signature."""
    tags = [_tag(f) for f in fields]
    if len(tags) == 6 and tags[3] == _CONTEXT_0:
        del tags[3]
    if len(tags) != 5 or tags[0] != _INTEGER or tags[3] != _SEQUENCE:
        raise _DerError("unexpected SignerInfo field")
    _first_oid(fields[2])
    _octets(fields[-1])


def _oid_dotted(tlv: bytes) -> str:
    return str(asn1_core.ObjectIdentifier.load(tlv).dotted)


# --------------------------------------------------------------------------
# CAdES-T
# --------------------------------------------------------------------------


def _checked_token(token: bytes, spec: der.DigestSpec, imprint: bytes) -> bytes:
    """The token, after checking it time-stamps ``imprint`` (RFC 3161 §2.4.2)."""
    try:
        info = read_token(token)
    except SignatureFormatError as exc:
        raise SigningError(
            f"the time-stamp authority sent a damaged token: {exc}"
        ) from None
    if info.imprint_algorithm != spec.name or info.imprint != imprint:
        raise SigningError("the time-stamp token is for other data")
    return der.decode_signature_bytes(token)


def add_signature_timestamp(
    sig: bytes, timestamper: Timestamper, *, digest: str = "sha256"
) -> bytes:
    """CAdES-T: add a signature-time-stamp (EN 319 122-1 §5.3).

    The token's message imprint is the hash of the value of the SignerInfo's
    ``signature`` OCTET STRING (RFC 3161 appendix A); it goes into the unsigned
    attribute id-aa-signatureTimeStampToken (1.2.840.113549.1.9.16.2.14). The
    signed attributes and the signature keep their octets.

    :param sig: the signature (DER, PEM or base64).
    :param timestamper: the time-stamping authority.
    :param digest: the hash of the message imprint.
    :return: the DER signature with the time-stamp.
    :raises SignatureFormatError: ``sig`` is not a SignedData with one SignerInfo.
    :raises SigningError: the authority failed, or answered for other data.
    """
    spec = der.digest_spec(digest)
    parsed = _parse(sig)
    imprint = spec.digest(parsed.signature_value)
    token = _checked_token(
        timestamper.timestamp(parsed.signature_value, digest=spec.name),
        spec,
        imprint,
    )
    return parsed.with_unsigned(der.time_stamp_attribute(token)).encode()


def signature_timestamp_tokens(sig: bytes) -> list[bytes]:
    """The DER tokens of every signature-time-stamp attribute, in the order of
    the unsigned attributes.

    :raises SignatureFormatError: ``sig`` is not a SignedData with one SignerInfo.
    """
    return _parse(sig).values_of(_SIGNATURE_TIME_STAMP_OID)


def unsigned_attribute_types(sig: bytes) -> list[str]:
    """The dotted OIDs of the SignerInfo's unsigned attributes, in order.

    :raises SignatureFormatError: ``sig`` is not a SignedData with one SignerInfo.
    """
    return [_oid_dotted(a.type_der) for a in _parse(sig).unsigned]


# --------------------------------------------------------------------------
# CAdES-LT
# --------------------------------------------------------------------------


def _ocsp_choice(response: bytes) -> bytes:
    # RFC 5940 §4.1: RevocationInfoChoice.other = [1] IMPLICIT
    # OtherRevocationInfoFormat { id-ri-ocsp-response, OCSPResponse }.
    return der.implicit(1, der.seq(_RI_OCSP_OID, response))


def _check_certificate(data: bytes) -> bytes:
    try:
        x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertificateFormatError("not a DER X.509 certificate") from None
    return bytes(data)


def _check_crl(data: bytes) -> bytes:
    try:
        x509.load_der_x509_crl(data)
    except ValueError:
        raise SignatureFormatError("not a DER X.509 CRL") from None
    return bytes(data)


def _check_ocsp(data: bytes) -> bytes:
    try:
        status = ocsp.load_der_ocsp_response(data).response_status
    except ValueError:
        raise SignatureFormatError("not a DER OCSP response") from None
    if status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        # RFC 6960 §4.2.1: only a successful response carries a status.
        raise SignatureFormatError(f"the OCSP response is {status.name.lower()}")
    return bytes(data)


def _grow(existing: Sequence[bytes], new: Iterable[bytes]) -> list[bytes] | None:
    """``existing`` with the ``new`` that are not in it; ``None`` if none is."""
    seen = set(existing)
    added = [item for item in dict.fromkeys(new) if item not in seen]
    return [*existing, *added] if added else None


def add_validation_data(
    sig: bytes,
    *,
    certificates: Iterable[bytes] = (),
    crls: Iterable[bytes] = (),
    ocsp_responses: Iterable[bytes] = (),
) -> bytes:
    """CAdES-LT: embed the validation data of the signature (EN 319 122-1
    §5.5, EN 319 122-2 §6.4 for B-LT).

    Certificates go to ``SignedData.certificates``; CRLs to ``SignedData.crls``
    as ``RevocationInfoChoice.crl``; OCSP responses to ``SignedData.crls`` as
    ``RevocationInfoChoice.other`` with id-ri-ocsp-response (RFC 5940 §4.1),
    which makes the SignedData version 5 (RFC 5652 §5.1). What is already
    there (the same DER) is not added twice; what was there is kept. The
    SignerInfo is copied unchanged.

    :param sig: the signature (DER, PEM or base64).
    :param certificates: DER X.509 certificates (the signer's chain, the
        time-stamping authorities', the OCSP responders').
    :param crls: DER CRLs.
    :param ocsp_responses: DER ``OCSPResponse`` structures (successful ones).
    :return: the DER signature.
    :raises SignatureFormatError: ``sig`` is not a SignedData with one
        SignerInfo, or a CRL or OCSP response is malformed.
    :raises CertificateFormatError: a certificate is malformed.
    """
    parsed = _parse(sig)
    new_certs = [_check_certificate(c) for c in certificates]
    new_crls = [_check_crl(c) for c in crls]
    new_ocsp = [_check_ocsp(r) for r in ocsp_responses]
    present_ocsp = set(_validation_data(parsed).ocsp_responses)
    cert_choices = _grow(parsed.certificate_choices, new_certs)
    rev_choices = _grow(
        parsed.revocation_choices,
        [*new_crls, *(_ocsp_choice(r) for r in new_ocsp if r not in present_ocsp)],
    )
    if cert_choices is not None:
        cert_set = der.implicit(0, der.der_set(cert_choices))
        parsed = replace(parsed, certificates=cert_set)
    if rev_choices is not None:
        parsed = replace(parsed, crls=der.implicit(1, der.der_set(rev_choices)))
        if (
            any(_tag(c) == _CONTEXT_1 for c in rev_choices)
            and _int_value(parsed.version) < 5
        ):
            # RFC 5652 §5.1: crls of type other make the SignedData version 5.
            parsed = replace(parsed, version=der.integer(5))
    return parsed.encode()


def validation_data(sig: bytes) -> ValidationData:
    """The certificates, CRLs and OCSP responses embedded in the SignedData,
    for path validation of the signature and of its time-stamps.

    :raises SignatureFormatError: ``sig`` is not a SignedData with one SignerInfo.
    """
    return _validation_data(_parse(sig))


def _validation_data(parsed: _SignedData) -> ValidationData:
    certificates = tuple(c for c in parsed.certificate_choices if _tag(c) == _SEQUENCE)
    crls: list[bytes] = []
    responses: list[bytes] = []
    for choice in parsed.revocation_choices:
        if _tag(choice) == _SEQUENCE:
            crls.append(choice)
            continue
        # [1] OtherRevocationInfoFormat (checked by _parse); other formats than
        # RFC 5940's (id-pkix-ocsp-basic, SCVP...) are not OCSPResponses.
        fmt, *value = _children(choice)
        if fmt == _RI_OCSP_OID and len(value) == 1:
            responses.append(value[0])
    return ValidationData(certificates, tuple(crls), tuple(responses))


# --------------------------------------------------------------------------
# CAdES-LTA: archive-time-stamp-v3
# --------------------------------------------------------------------------


def _hash_index(parsed: _SignedData, spec: der.DigestSpec) -> bytes:
    """The ATSHashIndexV3 of the signature as it is now (EN 319 122-1 §5.5.2).

    One hash per CertificateChoices and per RevocationInfoChoice, over its
    encoding as present; one per unsigned attribute *value*, over attrType
    followed by that AttributeValue (what makes it -v3). hashIndAlgorithm is
    written even for SHA-256, its DEFAULT: EU DSS re-inserts it when it is
    absent before hashing, so only the explicit form verifies everywhere.
    """

    def octets(items: Iterable[bytes]) -> bytes:
        return der.seq(*(der.octet_string(spec.digest(i)) for i in items))

    return der.seq(
        spec.algorithm_identifier,
        octets(parsed.certificate_choices),
        octets(parsed.revocation_choices),
        octets(_attribute_value_octets(parsed)),
    )


def _attribute_value_octets(parsed: _SignedData) -> list[bytes]:
    return [a.type_der + value for a in parsed.unsigned for value in a.values]


def _ats_imprint(
    parsed: _SignedData, spec: der.DigestSpec, content_hash: bytes, index: bytes
) -> bytes:
    """The message imprint of an archive-time-stamp-v3 (EN 319 122-1 §5.5.3):
    the hash of eContentType (TLV), the hash of the signed content (raw
    octets, same algorithm), the SignerInfo fields version, sid,
    digestAlgorithm, signedAttrs, signatureAlgorithm and signature (each TLV,
    as present, unsignedAttrs excluded) and the ATSHashIndexV3 (TLV)."""
    return spec.digest(
        b"".join((parsed.econtent_type, content_hash, *parsed.signer_fields, index))
    )


def _check_content(
    parsed: _SignedData,
    content: bytes | None,
    spec: der.DigestSpec,
    content_hash: bytes,
) -> None:
    """Refuse to archive-time-stamp content other than what was signed (the
    message-digest signed attribute, RFC 5652 §11.2): such a time-stamp could
    never verify. Without signed attributes, or with a digest of another
    algorithm than the signer's and no content, there is nothing to compare."""
    if len(parsed.signer_fields) != 6:
        return
    signed_attributes = b"\x31" + parsed.signer_fields[3][1:]  # RFC 5652 §5.4
    expected = der.message_digest_of(signed_attributes)
    signer_spec = _DIGESTS_BY_OID_DER.get(_first_oid(parsed.signer_fields[2]))
    if signer_spec is spec:
        actual: bytes | None = content_hash
    elif signer_spec is not None and signer_spec.available and content is not None:
        actual = signer_spec.digest(content)
    else:
        return
    if actual != expected:
        raise SignatureFormatError("the content is not the content that was signed")


def add_archive_timestamp(
    sig: bytes,
    content: bytes | None,
    timestamper: Timestamper,
    *,
    digest: str = "sha256",
    content_digest: bytes | None = None,
) -> bytes:
    """CAdES-LTA: add an archive-time-stamp-v3 (EN 319 122-1 §5.5.3).

    The token time-stamps the signed content, the SignerInfo and an
    ats-hash-index-v3 (§5.5.2) of every certificate, revocation value and
    unsigned attribute present now, so those can no longer be removed or
    altered unnoticed, while certificates and revocation data added later
    (for a renewal) do not break it. The index goes, as the clause requires,
    into the unsigned attributes of the token's own SignerInfo; the
    authority's signature does not cover it, its imprint does. The
    time-stamp's hash algorithm joins ``SignedData.digestAlgorithms`` (§5.5.3
    recommends it). Call again to renew: the new time-stamp covers the
    earlier ones. Add the validation data of the signature and of its
    time-stamps first (:func:`add_validation_data`): only what is present is
    archived.

    :param sig: the signature (DER, PEM or base64).
    :param content: the signed document for a detached signature; ``None``
        for an attached one, or when ``content_digest`` is given.
    :param timestamper: the time-stamping authority.
    :param digest: the hash of the imprint and of the hash index.
    :param content_digest: instead of ``content``, its hash with ``digest``
        (for documents too large to hold).
    :return: the DER signature with the archive time-stamp.
    :raises SignatureFormatError: ``sig`` is not a SignedData with one
        SignerInfo, a detached signature came without its content, or the
        content is not what was signed.
    :raises SigningError: the authority failed or answered for other data, or
        ``content_digest`` has the wrong length.
    :raises ValueError: both ``content`` and ``content_digest`` were given.
    """
    spec = der.digest_spec(digest)
    if content is not None and content_digest is not None:
        raise ValueError("give the content or its digest, not both")
    parsed = _parse(sig)
    data = content
    if content_digest is not None:
        if len(content_digest) != spec.size:
            raise SigningError(
                f"a {spec.name} digest is {spec.size} bytes long, "
                f"got {len(content_digest)}"
            )
        content_hash = content_digest
    else:
        data = content if content is not None else parsed.econtent
        if data is None:
            raise SignatureFormatError(
                "detached signature: the signed content must be given "
                "to archive-time-stamp it"
            )
        content_hash = spec.digest(data)
    _check_content(parsed, data, spec, content_hash)
    index = _hash_index(parsed, spec)
    imprint = _ats_imprint(parsed, spec, content_hash, index)
    token = _checked_token(
        timestamper.timestamp_digest(imprint, spec.name), spec, imprint
    )
    # EN 319 122-1 §5.5.3: the ats-hash-index-v3 is an unsigned attribute of
    # the time-stamp token's SignerInfo; the authority's token is finished,
    # so it is added here, next to its signed fields, which stay untouched.
    index_attribute = der.seq(_ATS_HASH_INDEX_V3_OID, der.der_set([index]))
    token = _parse(token).with_unsigned(index_attribute).encode()
    parsed = _with_digest_algorithm(parsed, spec)
    return parsed.with_unsigned(der.seq(_ATS_V3_OID, der.der_set([token]))).encode()


def _with_digest_algorithm(parsed: _SignedData, spec: der.DigestSpec) -> _SignedData:
    algorithms = _children(parsed.digest_algorithms)
    if any(_first_oid(a) == der.oid(spec.oid) for a in algorithms):
        return parsed
    return replace(
        parsed,
        digest_algorithms=der.der_set([*algorithms, spec.algorithm_identifier]),
    )


def _index_entries(index: bytes) -> tuple[der.DigestSpec, list[list[bytes]]] | None:
    """The hash algorithm and the three lists of an ATSHashIndexV3, or
    ``None`` if it is malformed or its algorithm unusable."""
    parts = _children(index, _SEQUENCE)
    spec: der.DigestSpec | None = der.DIGESTS["sha256"]  # the DEFAULT (§5.5.2)
    if len(parts) == 4:
        spec = _DIGESTS_BY_OID_DER.get(_first_oid(parts.pop(0)))
    if len(parts) != 3 or spec is None or not spec.available or spec.weak:
        return None
    return spec, [[_octets(h) for h in _children(part, _SEQUENCE)] for part in parts]


def _index_is_present(parsed: _SignedData, index: bytes) -> bool:
    """Every entry of the hash index names an element still present
    (EN 319 122-1 §5.5.2: a reference without its original value makes the
    index invalid); later additions are allowed."""
    entries = _index_entries(index)
    if entries is None:
        return False
    spec, (certs, crls, attrs) = entries
    present = (
        parsed.certificate_choices,
        parsed.revocation_choices,
        _attribute_value_octets(parsed),
    )
    return all(
        not Counter(wanted) - Counter(spec.digest(item) for item in have)
        for wanted, have in zip((certs, crls, attrs), present, strict=True)
    )


def _archive_timestamp(
    parsed: _SignedData,
    token: bytes,
    content: Callable[[der.DigestSpec], bytes | None],
) -> ArchiveTimestamp:
    try:
        info = read_token(token)
    except SignatureFormatError:
        return ArchiveTimestamp(token, False, None)
    matches = _archive_imprint_matches(parsed, token, info, content)
    return ArchiveTimestamp(token, matches, info.gen_time)


def _archive_imprint_matches(
    parsed: _SignedData,
    token: bytes,
    info: TimestampInfo,
    content: Callable[[der.DigestSpec], bytes | None],
) -> bool:
    spec = der.DIGESTS.get(info.imprint_algorithm)
    if spec is None or not spec.available or spec.weak:
        return False  # a broken or unknown hash binds nothing
    try:
        indexes = _parse(token).values_of(_ATS_HASH_INDEX_V3_OID)
        # EN 319 122-1 §5.5.3: exactly one ats-hash-index-v3 in the token.
        if len(indexes) != 1 or not _index_is_present(parsed, indexes[0]):
            return False
    except (_DerError, SignatureFormatError, IndexError):
        return False
    content_hash = content(spec)
    return (
        content_hash is not None
        and _ats_imprint(parsed, spec, content_hash, indexes[0]) == info.imprint
    )


def _content_hasher(
    parsed: _SignedData,
    content: bytes | None,
    content_digest: Callable[[str], bytes | None] | None,
) -> Callable[[der.DigestSpec], bytes | None]:
    if content is None and content_digest is not None:
        by_name = content_digest

        def hash_by_name(spec: der.DigestSpec) -> bytes | None:
            return by_name(spec.name)

        return hash_by_name
    data = content if content is not None else parsed.econtent
    if data is None:
        raise SignatureFormatError(
            "detached signature: the signed content must be given to check "
            "its archive time-stamps"
        )
    known = data

    def hash_content(spec: der.DigestSpec) -> bytes:
        return spec.digest(known)

    return hash_content


def archive_timestamps(
    sig: bytes,
    content: bytes | None = None,
    *,
    content_digest: Callable[[str], bytes | None] | None = None,
) -> list[ArchiveTimestamp]:
    """Every archive-time-stamp-v3 of the signature, oldest first, with its
    message imprint re-computed (EN 319 122-1 §5.5.3).

    Only the binding is checked: the token's imprint against the signature,
    its content and the hash index; the token's signature and its
    authority's certificate are for the trust validation to judge.

    :param sig: the signature (DER, PEM or base64).
    :param content: the signed document of a detached signature (``None``:
        the encapsulated content, or ``content_digest``).
    :param content_digest: called with a digest name (``sha256``...), returns
        the document's hash with it, or ``None`` when it cannot.
    :raises SignatureFormatError: ``sig`` is not a SignedData with one
        SignerInfo, or it is detached, has archive time-stamps, and neither
        ``content`` nor ``content_digest`` was given.
    """
    parsed = _parse(sig)
    tokens = parsed.values_of(_ATS_V3_OID)
    if not tokens:
        return []
    hasher = _content_hasher(parsed, content, content_digest)
    found = [_archive_timestamp(parsed, t, hasher) for t in tokens]
    # Chronological: the DER order of unsignedAttrs (X.690 §11.6) says nothing
    # about which time-stamp renewed which.
    never = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(found, key=lambda a: a.gen_time or never)
