"""Detached CMS signatures (CAdES-BES, RFC 5652 / ETSI EN 319 122-1).

Making: :func:`sign_cms` writes a detached SignedData in DER with the signed
attributes content-type, message-digest, signing-time and
signing-certificate-v2, and the signer's certificate and chain.

Verifying: :func:`verify_cms` checks each SignerInfo itself (asn1crypto and
cryptography: the message digest, the signature over the signed attributes,
the signing-certificate attribute, algorithm strength, a signature time-stamp
if present) and asks :func:`signing.trust.validate_certificate` about the
certificate at the signing time; that call is cached per certificate and time
window, so verifying many signatures of one signer costs one path validation.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import tsp as asn1_tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding

from signing import _cms_asn1 as der
from signing import cades
from signing._asn1 import CertificateInput, to_asn1
from signing.certificates import CertificateInfo, info_from_asn1
from signing.errors import SignatureFormatError, SigningError
from signing.reports import (
    CertificateValidation,
    LongTermData,
    Reason,
    Verdict,
    worst_verdict,
)
from signing.revocation import RevocationMode
from signing.signers import (
    PreparedSignature,
    Signer,
    accept_signature_value,
    state_signer,
)
from signing.trust import (
    TrustStore,
    Usage,
    async_validate_certificate,
    validate_certificate,
)
from signing.tsa import read_token
from signing.verification import (
    CmsReport,
    PoeSource,
    SignatureReasonCode,
    SignerReport,
    TimestampKind,
    TimestampReport,
    msk,
    verdict_of,
)

logger = logging.getLogger(__name__)

_DER = Encoding.DER
#: Clocks disagree; a signing time this far ahead of ours is still "now".
_CLOCK_SKEW = dt.timedelta(minutes=5)

__all__ = [
    "cms_signer_certificates",
    "signature_der",
    "signer_digest_algorithm",
    "sign_cms",
    "sign_cms_digest",
    "verify_cms",
    "verify_cms_digest",
]


# --------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def sign_cms(
    content: bytes,
    signer: Signer,
    *,
    digest: str | None = None,
    signing_time: dt.datetime | None = None,
) -> bytes:
    """Sign ``content``: a detached CAdES-BES signature in DER (a ``.sig`` file).

    :param content: the document bytes.
    :param signer: the key and certificate (:class:`~signing.signers.Pkcs12Signer`,
        :class:`~signing.signers.GostSigner`,
        :class:`~signing.pkcs11.Pkcs11Signer`...).
    :param digest: ``sha256``, ``sha384`` or ``sha512``; ``streebog256`` or
        ``streebog512`` for a GOST R 34.10-2012 key (the one of its size).
        Default: the signer's (:attr:`~signing.signers.Signer.default_digest`).
    :param signing_time: the signing-time attribute (aware); default now.
    :raises WeakAlgorithmError: MD5, SHA-1 or an RSA key under 2048 bits.
    :raises SigningError: the key cannot sign (unsupported algorithm, a digest
        its key does not sign with, token error).
    """
    template = signer.template_for(digest or signer.default_digest)
    message_digest = template.mechanism.digest.digest(content)
    return _sign_digest(template, signer, message_digest, signing_time)


def sign_cms_digest(
    content_digest: bytes,
    digest_algorithm: str,
    signer: Signer,
    *,
    signing_time: dt.datetime | None = None,
) -> bytes:
    """Like :func:`sign_cms`, from the content's digest (for content too large
    to hold: the caller streams the hash)."""
    template = signer.template_for(digest_algorithm)
    _check_digest_length(content_digest, template.mechanism.digest)
    return _sign_digest(template, signer, content_digest, signing_time)


def _check_digest_length(value: bytes, spec: der.DigestSpec) -> None:
    if len(value) != spec.size:
        raise SigningError(
            f"a {spec.name} digest is {spec.size} bytes long, got {len(value)}"
        )


def _sign_digest(
    template: der.SignerTemplate,
    signer: Signer,
    message_digest: bytes,
    signing_time: dt.datetime | None,
) -> bytes:
    der.check_aware(signing_time)
    attrs = template.signed_attributes(message_digest, signing_time or _now())
    signature = signer.sign_raw(attrs, template.mechanism.digest.name)
    return template.content_info(attrs, signature)


def prepare_cms(
    content: bytes,
    signer: Signer,
    *,
    digest: str = "sha256",
    signing_time: dt.datetime | None = None,
) -> PreparedSignature:
    """Phase one of a two-phase CMS signature (see
    :class:`~signing.external.ExternalSigner`)."""
    spec = der.digest_spec(digest)
    return prepare_cms_digest(
        spec.digest(content),
        spec.name,
        signer,
        signing_time=signing_time,
    )


def prepare_cms_digest(
    content_digest: bytes,
    digest_algorithm: str,
    signer: Signer,
    *,
    signing_time: dt.datetime | None = None,
) -> PreparedSignature:
    template = signer.template_for(digest_algorithm)
    _check_digest_length(content_digest, template.mechanism.digest)
    der.check_aware(signing_time)
    attrs = template.signed_attributes(content_digest, signing_time or _now())
    return PreparedSignature(
        kind="cms",
        to_be_signed=attrs,
        digest_algorithm=template.mechanism.digest.name,
        signature_algorithm=template.mechanism.webcrypto(),
        certificate=template.certificate_der,
        chain=_chain_der(signer),
        rsa_pss=signer.rsa_pss,
    )


def _chain_der(signer: Signer) -> tuple[bytes, ...]:
    return tuple(c.public_bytes(_DER) for c in signer.chain)


def complete_cms(prepared: PreparedSignature, signature_value: bytes) -> bytes:
    """Phase two: the DER ``.sig`` with the client's signature value.

    :raises SigningError: the value does not verify over the prepared attributes.
    """
    signer = state_signer(prepared)
    template = signer.template_for(prepared.digest_algorithm)
    value = accept_signature_value(
        signer, prepared.digest_algorithm, prepared.to_be_signed, signature_value
    )
    return template.content_info(prepared.to_be_signed, value)


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cert:
    """A certificate found in a signature, parsed once per process."""

    der: bytes
    asn1: asn1_x509.Certificate
    key: object
    issuer_der: bytes
    serial: int
    key_identifier: bytes | None


@lru_cache(maxsize=1024)
def _cert(cert_der: bytes) -> _Cert:
    parsed = asn1_x509.Certificate.load(cert_der)
    tbs = parsed["tbs_certificate"]
    try:
        key_identifier = parsed.key_identifier
    except (ValueError, TypeError, KeyError):
        key_identifier = None
    return _Cert(
        der=cert_der,
        asn1=parsed,
        key=der.public_key_of(der.load_certificate_der(cert_der)),
        issuer_der=tbs["issuer"].dump(),
        serial=tbs["serial_number"].native,
        key_identifier=key_identifier,
    )


@lru_cache(maxsize=1024)
def certificate_info(cert_der: bytes) -> CertificateInfo:
    """What a certificate says (owner, serial, validity), parsed once per
    process: the same certificate comes back with every signature."""
    return info_from_asn1(_cert(cert_der).asn1)


def _find_signer_cert(
    sid: asn1_cms.SignerIdentifier, certs: Sequence[bytes]
) -> _Cert | None:
    choice = sid.name
    for cert_der in certs:
        try:
            cert = _cert(cert_der)
        except (ValueError, TypeError, KeyError):
            continue
        if choice == "issuer_and_serial_number":
            ias = sid.chosen
            if ias["serial_number"].native != cert.serial:
                continue
            if (
                ias["issuer"].dump() == cert.issuer_der
                or ias["issuer"] == cert.asn1.issuer
            ):
                return cert
        elif (
            choice == "subject_key_identifier"
            and sid.chosen.native == cert.key_identifier
        ):
            return cert
    return None


def _attributes(attrs: asn1_cms.CMSAttributes) -> dict[str, list[asn1_core.Asn1Value]]:
    """Attribute values by type OID; RFC 5652 §5.3 forbids repeating a type."""
    table: dict[str, list[asn1_core.Asn1Value]] = {}
    for attr in attrs:
        type_oid = attr["type"].dotted
        if type_oid in table:
            raise _MalformedError(f"атрибут {type_oid} встречается дважды")
        table[type_oid] = list(attr["values"])
    return table


class _MalformedError(Exception):
    pass


def _signing_certificate_check(
    table: dict[str, list[asn1_core.Asn1Value]], cert: _Cert
) -> str:
    """``match``/``mismatch``/``absent`` for signing-certificate(-v2) (RFC 5035)."""
    v2 = table.get(der.OID_SIGNING_CERTIFICATE_V2)
    v1 = table.get(der.OID_SIGNING_CERTIFICATE)
    if v2:
        value = v2[0]
        if not isinstance(value, asn1_tsp.SigningCertificateV2):
            value = asn1_tsp.SigningCertificateV2.load(value.dump())
        ids = value["certs"]
        if not len(ids):
            return "mismatch"
        first = ids[0]  # the first ESSCertIDv2 names the signing certificate
        spec = der.DIGESTS_BY_OID.get(first["hash_algorithm"]["algorithm"].dotted)
        if spec is None or not spec.available:
            return "mismatch"
    elif v1:
        value = v1[0]
        if not isinstance(value, asn1_tsp.SigningCertificate):
            value = asn1_tsp.SigningCertificate.load(value.dump())
        ids = value["certs"]
        if not len(ids):
            return "mismatch"
        first = ids[0]
        spec = der.DIGESTS["sha1"]
    else:
        return "absent"
    if _certificate_digest(spec.name, cert.der) != bytes(first["cert_hash"]):
        return "mismatch"
    issuer_serial = first["issuer_serial"]
    if not isinstance(issuer_serial, asn1_core.Void):
        if issuer_serial["serial_number"].native != cert.serial:
            return "mismatch"
    return "match"


@lru_cache(maxsize=1024)
def _certificate_digest(name: str, cert_der: bytes) -> bytes:
    # A certificate is hashed for every signature it made; Streebog in pure
    # Python costs about as much as the signature check itself.
    return der.DIGESTS[name].digest(cert_der)


def _time_of(value: asn1_core.Asn1Value) -> dt.datetime:
    moment = value.native
    if not isinstance(moment, dt.datetime):
        raise _MalformedError("signing-time")
    return moment.astimezone(dt.UTC)


@dataclass(frozen=True)
class Stamp:
    """A time-stamp token over a signature, before it is judged: the token,
    what it is, and whether its message imprint matches the data it covers
    (computed by whoever knows that data)."""

    kind: str
    token: bytes
    imprint_matches: bool


def _bad_token(stamp: Stamp, at: dt.datetime, message: str) -> TimestampReport:
    return TimestampReport(
        kind=stamp.kind,
        verdict=Verdict.INVALID,
        reasons=(Reason(SignatureReasonCode.TIMESTAMP_INVALID, message),),
        imprint_matches=stamp.imprint_matches,
        gen_time=None,
        serial=None,
        tsa=None,
        policy=None,
        tsa_certificate=None,
        validated_at=at,
    )


def verify_timestamp_token(
    stamp: Stamp,
    trust: TrustStore,
    *,
    at: dt.datetime,
    revocation: RevocationMode,
    embedded: LongTermData | None = None,
) -> TimestampReport:
    """Judge one RFC 3161 token: its imprint binding (given), its own CMS
    signature over the TSTInfo, and its authority's certificate at ``at``
    (ETSI EN 319 102-1 §5.4, time-stamp validation building block).

    :param at: the moment to validate the authority's certificate for: the
        time of a later valid time-stamp that covers this one, or now.
    """
    try:
        info = read_token(stamp.token)
        signed_data = der.load_signed_data(stamp.token)
        eci = signed_data["encap_content_info"]
        content = eci["content"].contents
        tsa_info = signed_data["signer_infos"][0]
        certs = der.certificates_of(signed_data)
    except (SignatureFormatError, ValueError, TypeError, KeyError, IndexError):
        return _bad_token(stamp, at, "Штамп времени повреждён и не читается")
    if not stamp.imprint_matches:
        return _bad_token(
            stamp,
            at,
            "Штамп времени относится к другим данным: подпись или документ "
            "изменены после штампа",
        )
    extra = embedded or LongTermData()
    report = verify_signer_info(
        signed_data,
        tsa_info,
        content_digest=lambda s: s.digest(content),
        certs=[*certs, *extra.certificates],
        trust=trust,
        at=at,
        revocation=revocation,
        usage="timestamping",
        check_timestamp=False,
        expected_content_type=der.OID_TST_INFO,
        embedded=extra,
        claimed_time=info.gen_time,
        poe_override=at,
    )
    reasons = [
        r
        for r in report.reasons
        if r.code != SignatureReasonCode.CLAIMED_TIME_IMPLAUSIBLE
    ]
    if not report.intact:
        reasons.insert(
            0,
            Reason(
                SignatureReasonCode.TIMESTAMP_INVALID,
                "Подпись службы штампов времени не проверяется",
            ),
        )
    verdict = verdict_of(reasons) if report.intact else Verdict.INVALID
    return TimestampReport(
        kind=stamp.kind,
        verdict=verdict,
        reasons=tuple(reasons),
        imprint_matches=True,
        gen_time=info.gen_time,
        serial=info.serial_hex,
        tsa=info.tsa_name,
        policy=info.policy,
        tsa_certificate=report.certificate,
        validated_at=at,
        token_sha256=info.token_sha256,
        digest_algorithm=info.imprint_algorithm,
        evidence=report.certificate_validation.evidence
        if report.certificate_validation
        else None,
    )


def judge_timestamps(
    stamps: Sequence[Stamp],
    trust: TrustStore,
    *,
    at: dt.datetime,
    revocation: RevocationMode,
    embedded: LongTermData | None = None,
) -> tuple[TimestampReport, ...]:
    """Judge a chain of time-stamps over one signature, oldest first.

    The newest is validated at ``at`` (now, or the caller's moment); each
    older one at the time of the next valid one, which proves that the older
    token, its authority's certificate and the embedded revocation data
    existed then (EN 319 102-1 §5.6.2.3, past signature validation). The
    newest token's authority is checked with at most the ``soft`` revocation
    policy: years later its CRL has expired too, and no fresher one is held
    until the next archive time-stamp is added.
    """
    reports: list[TimestampReport] = [None] * len(stamps)  # type: ignore[list-item]
    moment = at
    for index in reversed(range(len(stamps))):
        newest = index == len(stamps) - 1
        mode: RevocationMode = (
            "soft" if newest and revocation in ("hard", "require") else revocation
        )
        report = verify_timestamp_token(
            stamps[index], trust, at=moment, revocation=mode, embedded=embedded
        )
        if newest and mode != "off" and _only_stale_revocation(report):
            report = _without_fresh_revocation(
                verify_timestamp_token(
                    stamps[index], trust, at=moment, revocation="off", embedded=embedded
                ),
                report,
            )
        reports[index] = report
        if report.is_valid and report.gen_time is not None:
            moment = min(moment, report.gen_time)
    return tuple(reports)


_STALE = frozenset({"crl_expired", "revocation_unavailable"})


def _only_stale_revocation(report: TimestampReport) -> bool:
    errors = {str(r.code) for r in report.reasons if not r.is_warning}
    return not report.is_valid and report.imprint_matches and errors <= _STALE


def _without_fresh_revocation(
    report: TimestampReport, first: TimestampReport
) -> TimestampReport:
    """The newest time-stamp, when the only trouble is that no fresh revocation
    data about its authority is at hand (years later, offline): the path and
    validity hold, and the report says what could not be checked."""
    if not report.is_valid:
        return first
    warnings = tuple(
        dataclasses.replace(r, is_warning=True)
        for r in first.reasons
        if str(r.code) in _STALE
    )
    return dataclasses.replace(report, reasons=(*report.reasons, *warnings))


def embedded_data(signed_data: asn1_cms.SignedData) -> LongTermData:
    """Certificates and revocation data carried in SignedData (RFC 5652
    ``certificates`` and ``crls``; OCSP responses as id-ri-ocsp-response,
    RFC 5940): the long-term validation data of CAdES -LT."""
    crls: list[bytes] = []
    ocsps: list[bytes] = []
    choices = signed_data["crls"]
    if not isinstance(choices, asn1_core.Void):
        for choice in choices:
            if choice.name == "crl":
                crls.append(choice.chosen.dump())
            elif (
                choice.name == "other"
                and choice.chosen["other_rev_info_format"].dotted == OID_RI_OCSP
            ):
                ocsps.append(choice.chosen["other_rev_info"].dump())
    return LongTermData(
        certificates=tuple(der.certificates_of(signed_data)),
        crls=tuple(crls),
        ocsp_responses=tuple(ocsps),
    )


#: RFC 5940: an OCSP response as a RevocationInfoChoice.
OID_RI_OCSP = "1.3.6.1.5.5.7.16.2"


def signature_stamps(signer_info: asn1_cms.SignerInfo) -> list[Stamp]:
    """The signature-time-stamp tokens of a SignerInfo, with their imprint
    checked against the signature value (RFC 3161 appendix A)."""
    unsigned = signer_info["unsigned_attrs"]
    if isinstance(unsigned, asn1_core.Void):
        return []
    stamps: list[Stamp] = []
    for attr in unsigned:
        if attr["type"].dotted != der.OID_SIGNATURE_TIME_STAMP:
            continue
        for token in attr["values"]:
            token_der = token.dump()
            try:
                info = read_token(token_der)
                spec = der.digest_spec(info.imprint_algorithm)
                matches = spec.available and (
                    spec.digest(signer_info["signature"].native) == info.imprint
                )
            except (SignatureFormatError, SigningError, ValueError, KeyError):
                matches = False
            stamps.append(Stamp(TimestampKind.SIGNATURE, token_der, matches))
    return stamps


def _claimed_time_reason(
    claimed: dt.datetime | None,
    *,
    registered_at: dt.datetime | None,
    latest: dt.datetime,
) -> Reason | None:
    """A warning when the signer's claim cannot be true: before the document
    existed, or after the signature reached us (or now)."""
    if claimed is None:
        return None
    earliest = registered_at - _CLOCK_SKEW if registered_at is not None else None
    if earliest is not None and claimed < earliest:
        why = "раньше, чем документ был зарегистрирован"
    elif claimed > latest + _CLOCK_SKEW:
        why = "позже, чем подпись получена" if latest < _now() else "в будущем"
    else:
        return None
    return Reason(
        SignatureReasonCode.CLAIMED_TIME_IMPLAUSIBLE,
        f"Заявленное время подписания {msk(claimed)} — {why}; "
        "оно не используется для проверки",
        {"claimed_time": claimed.isoformat()},
        is_warning=True,
    )


def verify_signer_info(
    signed_data: asn1_cms.SignedData,
    signer_info: asn1_cms.SignerInfo,
    *,
    content_digest: Callable[[der.DigestSpec], bytes | None],
    certs: Sequence[bytes],
    trust: TrustStore,
    at: dt.datetime | None,
    revocation: RevocationMode,
    usage: Usage = "signing",
    claimed_time: dt.datetime | None = None,
    check_timestamp: bool = True,
    expected_content_type: str = der.OID_DATA,
    received_at: dt.datetime | None = None,
    registered_at: dt.datetime | None = None,
    embedded: LongTermData | None = None,
    later_stamps: Sequence[Stamp] = (),
    poe_override: dt.datetime | None = None,
) -> SignerReport:
    """Verify one ``SignerInfo`` of a SignedData: the digest, the signature
    value, the signing-certificate attribute, the time-stamps and the signer's
    certificate at the signature's proof of existence. A CMS file, a PDF
    signature and a time-stamp token are each checked through here.

    :param content_digest: the digest of the signed content with a given
        algorithm (None if it cannot be computed).
    :param certs: the certificates to find the signer's among (DER).
    :param usage: what the certificate must be fit for (``timestamping`` for a
        time-stamping authority).
    :param later_stamps: time-stamps added after the signature (archive or
        document time-stamps), each a proof of existence.
    :param poe_override: validate the certificate at this moment, whatever the
        time-stamps say (a time-stamp token's own signature).
    """
    reasons: list[Reason] = []
    weak: list[str] = []

    digest_oid = signer_info["digest_algorithm"]["algorithm"].dotted
    spec = der.DIGESTS_BY_OID.get(digest_oid)
    digest_name = spec.name if spec else digest_oid
    sig_alg = signer_info["signature_algorithm"]
    sig_oid = sig_alg["algorithm"].dotted
    signature = signer_info["signature"].native
    cert = _find_signer_cert(signer_info["sid"], certs)

    signed_attrs = signer_info["signed_attrs"]
    attrs = None if isinstance(signed_attrs, asn1_core.Void) else signed_attrs
    # Take the signed octets before reading any attribute: asn1crypto fills in
    # DEFAULT values on access, after which it would re-encode the SET.
    to_verify = (
        der.signed_attributes_for_verification(signer_info)
        if attrs is not None
        else b""
    )
    signing_time = claimed_time
    digest_matches = False
    signature_ok = False
    sc_check = "absent"
    supported = spec is not None and spec.available
    check: der.SignatureCheck | None = None

    if spec is not None and spec.weak:
        weak.append(spec.name.upper())

    actual = None
    try:
        actual = content_digest(spec) if supported and spec else None
        if attrs is not None:
            table = _attributes(attrs)
            content_types = table.get(der.OID_CONTENT_TYPE)
            digests = table.get(der.OID_MESSAGE_DIGEST)
            if not content_types or not digests or len(digests) != 1:
                raise _MalformedError("нет атрибутов content-type или message-digest")
            if content_types[0].dotted != expected_content_type:
                raise _MalformedError("content-type не совпадает с типом содержимого")
            times = table.get(der.OID_SIGNING_TIME)
            if times:
                signing_time = _time_of(times[0])
            if actual is not None:
                digest_matches = digests[0].native == actual
            if cert is not None:
                sc_check = _signing_certificate_check(table, cert)
                if supported and spec is not None:
                    check = der.verify_signature(
                        cert.key,
                        sig_oid,
                        sig_alg["parameters"],
                        spec,
                        signature,
                        to_verify,
                    )
        elif cert is not None and actual is not None and spec is not None:
            # No signed attributes (RFC 5652 §5.4): the signature is over the
            # content itself, whose digest we hold.
            digest_matches = True
            check = der.verify_signature(
                cert.key,
                sig_oid,
                sig_alg["parameters"],
                spec,
                signature,
                actual,
                prehashed=True,
            )
    except _MalformedError as exc:
        reasons.append(
            Reason(
                SignatureReasonCode.MALFORMED_ATTRIBUTES,
                f"Подписанные атрибуты некорректны: {exc}",
            )
        )
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        reasons.append(
            Reason(
                SignatureReasonCode.MALFORMED_ATTRIBUTES,
                f"Подписанные атрибуты не читаются: {exc}",
            )
        )

    if check is not None:
        signature_ok = check.ok
        weak.extend(w for w in check.weak if w not in weak)
        if not check.supported:
            supported = False

    algorithm_name = check.algorithm if check else der.signature_algorithm_name(sig_oid)
    if cert is None:
        reasons.append(
            Reason(
                SignatureReasonCode.SIGNER_CERTIFICATE_MISSING,
                "Сертификат подписанта не найден в подписи",
            )
        )
    elif not supported:
        reasons.append(
            Reason(
                SignatureReasonCode.UNSUPPORTED_ALGORITHM,
                f"Алгоритм подписи {algorithm_name} / {digest_name} не поддерживается",
                {
                    "signature_algorithm": algorithm_name,
                    "digest_algorithm": digest_name,
                },
            )
        )
    elif actual is None:
        reasons.append(
            Reason(
                SignatureReasonCode.UNSUPPORTED_ALGORITHM,
                f"Подпись использует хеш {digest_name}, а хеш документа дан другим "
                "алгоритмом: проверить нельзя",
                {"digest_algorithm": digest_name},
            )
        )
    elif not any(r.code == SignatureReasonCode.MALFORMED_ATTRIBUTES for r in reasons):
        if not digest_matches:
            reasons.append(
                Reason(
                    SignatureReasonCode.DIGEST_MISMATCH,
                    "Хеш документа не совпадает с подписанным: документ изменён "
                    "или подпись относится к другому документу",
                )
            )
        if not signature_ok:
            reasons.append(
                Reason(
                    SignatureReasonCode.SIGNATURE_INVALID,
                    "Значение подписи не проверяется открытым ключом сертификата",
                )
            )
        if sc_check == "mismatch":
            reasons.append(
                Reason(
                    SignatureReasonCode.SIGNING_CERTIFICATE_MISMATCH,
                    "Атрибут signing-certificate указывает на другой сертификат",
                )
            )
    if weak:
        # GOST R 34.10-2001 verifies but is withdrawn (since 2019): EN 319
        # 102-1 §5.2.8 cryptographic constraints, INDETERMINATE.
        message = (
            "Подпись сделана устаревшим алгоритмом ГОСТ Р 34.10-2001 "
            "(выведен из употребления с 2019 года)"
            if der.GOST2001_WEAK in weak
            else "Подпись сделана с устаревшим небезопасным алгоритмом: "
            + ", ".join(weak)
        )
        reasons.append(
            Reason(
                SignatureReasonCode.WEAK_ALGORITHM,
                message,
                {"algorithms": list(weak)},
            )
        )

    intact = digest_matches and signature_ok
    moment = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    extra = embedded or LongTermData()
    stamps: tuple[TimestampReport, ...] = ()
    if check_timestamp and intact:
        chain = [*signature_stamps(signer_info), *later_stamps]
        stamps = judge_timestamps(
            chain, trust, at=moment, revocation=revocation, embedded=extra
        )
        for stamp in stamps:
            if not stamp.is_valid:
                # A token that does not bind this signature (changed after
                # stamping) is an error; one whose authority is not trusted
                # only fails to prove the time.
                reasons.append(
                    Reason(
                        SignatureReasonCode.TIMESTAMP_INVALID,
                        stamp.summary_ru(),
                        {"kind": stamp.kind},
                        is_warning=stamp.imprint_matches
                        and stamp.verdict is not Verdict.INVALID,
                    )
                )
    proven = [s.gen_time for s in stamps if s.is_valid and s.gen_time is not None]
    timestamp_time = min(proven) if proven else None
    # The moment of validation is a proof of existence, never the claim
    # (EN 319 102-1 §5.6.2.2): a valid time-stamp, else the moment of
    # receipt, else the validation time itself.
    if poe_override is not None:
        validation_time, poe_source = poe_override, PoeSource.VALIDATION_TIME
    elif timestamp_time is not None:
        validation_time, poe_source = timestamp_time, PoeSource.TIMESTAMP
    elif received_at is not None:
        validation_time, poe_source = received_at.astimezone(dt.UTC), PoeSource.RECEIPT
    else:
        validation_time, poe_source = moment, PoeSource.VALIDATION_TIME
    # A what-if moment before the proof cannot be validated later than itself.
    validation_time = min(validation_time, moment)
    if poe_override is None:
        claim = _claimed_time_reason(
            signing_time,
            registered_at=registered_at,
            latest=min(
                t for t in (received_at, timestamp_time, moment) if t is not None
            ),
        )
        if claim is not None:
            reasons.append(claim)
    validation: CertificateValidation | None = None
    info: CertificateInfo | None = None
    if cert is not None:
        validation = validate(
            cert.asn1,
            trust,
            at=validation_time,
            revocation=revocation,
            usage=usage,
            intermediates=[
                _cert(c).asn1 for c in dict.fromkeys(certs) if c != cert.der
            ],
            crls=extra.crls,
            ocsps=extra.ocsp_responses,
        )
        info = validation.certificate
        reasons.extend(validation.reasons)

    verdict = worst_verdict(verdict_of(reasons), Verdict.VALID)
    return SignerReport(
        verdict=verdict,
        reasons=tuple(reasons),
        intact=intact,
        digest_matches=digest_matches,
        signature_verified=signature_ok,
        certificate=info,
        signing_time=signing_time,
        timestamp_time=timestamp_time,
        validation_time=validation_time,
        digest_algorithm=digest_name,
        signature_algorithm=algorithm_name,
        weak_algorithms=tuple(weak),
        signing_certificate_attribute=sc_check,
        certificate_validation=validation,
        poe_source=poe_source,
        received_at=received_at,
        timestamps=stamps,
        embedded=extra if check_timestamp else None,
    )


_loops = threading.local()


def validate(
    cert: asn1_x509.Certificate,
    trust: TrustStore,
    *,
    at: dt.datetime | None,
    revocation: RevocationMode,
    usage: Usage,
    intermediates: Sequence[asn1_x509.Certificate],
    crls: Sequence[bytes] = (),
    ocsps: Sequence[bytes] = (),
) -> CertificateValidation:
    """:func:`signing.trust.validate_certificate`, on a per-thread event loop.

    ``validate_certificate`` runs ``asyncio.run`` for every call, which costs
    about a millisecond (a loop, and a thread to shut its executor down) even
    when the answer comes from its cache; a loop kept per thread makes a cached
    answer cost microseconds.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop = getattr(_loops, "loop", None)
        if loop is None or loop.is_closed():
            loop = _loops.loop = asyncio.new_event_loop()
        return loop.run_until_complete(
            async_validate_certificate(
                cert,
                trust,
                at=at,
                revocation=revocation,
                usage=usage,
                intermediates=intermediates,
                crls=crls,
                ocsps=ocsps,
            )
        )
    return validate_certificate(
        cert,
        trust,
        at=at,
        revocation=revocation,
        usage=usage,
        intermediates=intermediates,
        crls=crls,
        ocsps=ocsps,
    )


def _overall(signers: Sequence[SignerReport]) -> Verdict:
    return worst_verdict(*(s.verdict for s in signers))


def _content_type(signed_data: asn1_cms.SignedData) -> str:
    return str(signed_data["encap_content_info"]["content_type"].dotted)


def verify_cms(
    content: bytes | None,
    sig: bytes,
    trust: TrustStore,
    *,
    at: dt.datetime | None = None,
    received_at: dt.datetime | None = None,
    registered_at: dt.datetime | None = None,
    revocation: RevocationMode = "soft",
    certificates: Iterable[CertificateInput] = (),
) -> CmsReport:
    """Verify a CMS signature of ``content``.

    The signer's certificate is validated at the signature's proof of
    existence: the earliest valid time-stamp over it (signature or archive
    time-stamp), else ``received_at``, else ``at`` (now). The signing-time
    attribute is the signer's claim: reported, never trusted.

    :param content: the signed document; ``None`` for an attached signature
        (the content is taken from inside it).
    :param sig: the signature (DER, PEM or base64).
    :param trust: trust anchors, intermediates and CRLs.
    :param at: the validation time (default now): a what-if moment; time-stamp
        authorities are validated at it, and no signature for a later moment.
    :param received_at: when the service received the signature, as it
        recorded it (the proof of existence of a signature without a
        time-stamp).
    :param registered_at: when the signed document came to exist (a claimed
        signing time before it is reported).
    :param revocation: ``off``, ``soft``, ``hard`` or ``require``.
    :param certificates: certificates to look for the signer's among (and to
        build its path with), for a SignedData that carries none (RFC 5652
        §5.1 makes ``certificates`` optional: the TK 26 CMS examples and
        CryptoPro's "without certificate" option leave it out).
    :return: one :class:`~signing.verification.SignerReport` per signer.
    :raises SignatureFormatError: ``sig`` is not a CMS SignedData, or a
        detached signature came without content.
    :raises CertificateFormatError: an item of ``certificates`` cannot be read.
    """
    signed_data = der.load_signed_data(sig)
    eci = signed_data["encap_content_info"]
    embedded = eci["content"]
    attached = not isinstance(embedded, asn1_core.Void) and embedded.native is not None
    if content is None:
        if not attached:
            raise SignatureFormatError(
                "detached signature: the signed content must be given to verify it"
            )
        content = (
            embedded.native if isinstance(embedded.native, bytes) else embedded.contents
        )
    cache: dict[str, bytes] = {}
    data = content

    def digest_of(spec: der.DigestSpec) -> bytes:
        value = cache.get(spec.name)
        if value is None:
            value = cache[spec.name] = spec.digest(data)
        return value

    return _verify_all(
        signed_data,
        digest_of,
        attached,
        trust,
        at,
        revocation,
        received_at=received_at,
        registered_at=registered_at,
        archive=archive_stamps(sig, lambda name: digest_of(der.digest_spec(name))),
        extra_certificates=_certificate_ders(certificates),
    )


def _certificate_ders(certificates: Iterable[CertificateInput]) -> tuple[bytes, ...]:
    return tuple(to_asn1(c).dump() for c in certificates)


def verify_cms_digest(
    digest: bytes,
    digest_algorithm: str,
    sig: bytes,
    trust: TrustStore,
    *,
    at: dt.datetime | None = None,
    received_at: dt.datetime | None = None,
    registered_at: dt.datetime | None = None,
    revocation: RevocationMode = "soft",
    certificates: Iterable[CertificateInput] = (),
) -> CmsReport:
    """Verify a detached CMS signature given the content's digest (for content
    too large to hold: the caller streams the hash). A signer that used
    another digest algorithm is reported INDETERMINATE. ``certificates`` as
    for :func:`verify_cms`."""
    key = digest_algorithm.lower().replace("-", "").replace("_", "")
    if key not in der.DIGESTS:
        raise ValueError(f"unknown digest algorithm {digest_algorithm!r}")
    signed_data = der.load_signed_data(sig)

    def digest_of(spec: der.DigestSpec) -> bytes | None:
        return digest if spec.name == key else None

    return _verify_all(
        signed_data,
        digest_of,
        False,
        trust,
        at,
        revocation,
        received_at=received_at,
        registered_at=registered_at,
        archive=archive_stamps(sig, lambda name: digest_of(der.digest_spec(name))),
        extra_certificates=_certificate_ders(certificates),
    )


def archive_stamps(
    sig: bytes, content_digest: Callable[[str], bytes | None]
) -> list[Stamp]:
    """The archive time-stamps (CAdES archive-time-stamp-v3) of a one-signer
    CMS, with their imprints recomputed over what they cover."""
    try:
        found = cades.archive_timestamps(
            der.decode_signature_bytes(sig), content_digest=content_digest
        )
    except SignatureFormatError:
        return []
    return [Stamp(TimestampKind.ARCHIVE, a.token, a.imprint_matches) for a in found]


def _verify_all(
    signed_data: asn1_cms.SignedData,
    digest_of: Callable[[der.DigestSpec], bytes | None],
    attached: bool,
    trust: TrustStore,
    at: dt.datetime | None,
    revocation: RevocationMode,
    *,
    received_at: dt.datetime | None = None,
    registered_at: dt.datetime | None = None,
    archive: Sequence[Stamp] = (),
    extra_certificates: Sequence[bytes] = (),
) -> CmsReport:
    try:
        certs = list(
            dict.fromkeys([*der.certificates_of(signed_data), *extra_certificates])
        )
        embedded = embedded_data(signed_data)
        content_type = _content_type(signed_data)
        reports = []
        if not len(signed_data["signer_infos"]):
            raise SignatureFormatError(
                "the CMS structure has no signers (a certificate bundle?)"
            )
        for signer_info in signed_data["signer_infos"]:
            report = verify_signer_info(
                signed_data,
                signer_info,
                content_digest=digest_of,
                certs=certs,
                trust=trust,
                at=at,
                revocation=revocation,
                expected_content_type=content_type,
                received_at=received_at,
                registered_at=registered_at,
                embedded=embedded,
                # Archive time-stamps cover the one SignerInfo of the file.
                later_stamps=archive if len(signed_data["signer_infos"]) == 1 else (),
            )
            reports.append(report)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise SignatureFormatError(f"damaged CMS signature: {exc}") from None
    return CmsReport(
        verdict=_overall(reports), signers=tuple(reports), attached=attached
    )


def cms_signer_certificates(sig: bytes) -> list[CertificateInfo]:
    """The certificates of the signers of ``sig`` (so an application can
    register "the certificate inside the signature").

    :raises SignatureFormatError: not a CMS SignedData.
    """
    signed_data = der.load_signed_data(sig)
    try:
        certs = der.certificates_of(signed_data)
        found: list[CertificateInfo] = []
        for signer_info in signed_data["signer_infos"]:
            cert = _find_signer_cert(signer_info["sid"], certs)
            if cert is not None and all(c.der != cert.der for c in found):
                found.append(certificate_info(cert.der))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise SignatureFormatError(f"damaged CMS signature: {exc}") from None
    return found


def signature_der(data: bytes) -> bytes:
    """A signature file as the DER it holds: PEM and base64 decoded, the zero
    padding of a PDF's /Contents dropped (what follows the first value must
    be zeros).

    :raises SignatureFormatError: not one DER value.
    """
    return der.first_tlv(der.decode_signature_bytes(data))


def signer_digest_algorithm(sig: bytes) -> str | None:
    """The digest algorithm (``"sha256"``, ``"streebog256"``...) of a
    one-signer CMS, or None: several signers, an unknown hash, or not a CMS
    at all (a verification says which)."""
    try:
        infos = der.load_signed_data(sig)["signer_infos"]
        if len(infos) != 1:
            return None
        spec = der.DIGESTS_BY_OID.get(infos[0]["digest_algorithm"]["algorithm"].dotted)
    except (SignatureFormatError, ValueError, TypeError, KeyError, IndexError):
        return None
    return spec.name if spec else None
