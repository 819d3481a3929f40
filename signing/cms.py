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
import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import tsp as asn1_tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding

from signing import _cms_asn1 as der
from signing.certificates import CertificateInfo, info_from_asn1
from signing.errors import SignatureFormatError, SigningError
from signing.reports import (
    CertificateValidation,
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
from signing.verification import (
    CmsReport,
    SignatureReasonCode,
    SignerReport,
    verdict_of,
)

logger = logging.getLogger(__name__)

_DER = Encoding.DER
#: Clocks disagree; a signing time this far ahead of ours is still "now".
_CLOCK_SKEW = dt.timedelta(minutes=5)

__all__ = [
    "cms_signer_certificates",
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
    digest: str = "sha256",
    signing_time: dt.datetime | None = None,
) -> bytes:
    """Sign ``content``: a detached CAdES-BES signature in DER (a ``.sig`` file).

    :param content: the document bytes.
    :param signer: the key and certificate (:class:`~signing.signers.Pkcs12Signer`,
        :class:`~signing.signers.Pkcs11Signer`...).
    :param digest: ``sha256`` (default), ``sha384`` or ``sha512``.
    :param signing_time: the signing-time attribute (aware); default now.
    :raises WeakAlgorithmError: MD5, SHA-1 or an RSA key under 2048 bits.
    :raises SigningError: the key cannot sign (unsupported algorithm, token error).
    """
    template = signer._template(digest)
    message_digest = hashlib.new(template.mechanism.digest.name, content).digest()
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
    template = signer._template(digest_algorithm)
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
    :class:`~signing.signers.ExternalSigner`)."""
    spec = der.digest_spec(digest)
    return prepare_cms_digest(
        hashlib.new(spec.name, content).digest(),
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
    template = signer._template(digest_algorithm)
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
    template = signer._template(prepared.digest_algorithm)
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
def _cert_info(cert_der: bytes) -> CertificateInfo:
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
        if spec is None or spec.factory is None:
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
    if spec.digest(cert.der) != bytes(first["cert_hash"]):
        return "mismatch"
    issuer_serial = first["issuer_serial"]
    if not isinstance(issuer_serial, asn1_core.Void):
        if issuer_serial["serial_number"].native != cert.serial:
            return "mismatch"
    return "match"


def _time_of(value: asn1_core.Asn1Value) -> dt.datetime:
    moment = value.native
    if not isinstance(moment, dt.datetime):
        raise _MalformedError("signing-time")
    return moment.astimezone(dt.UTC)


@dataclass
class _Timestamp:
    time: dt.datetime | None
    reasons: list[Reason]


def _check_signature_timestamp(
    signer_info: asn1_cms.SignerInfo,
    trust: TrustStore,
    revocation: RevocationMode,
) -> _Timestamp | None:
    """A signature-time-stamp token (RFC 3161 appendix A) over the signature value."""
    unsigned = signer_info["unsigned_attrs"]
    if isinstance(unsigned, asn1_core.Void):
        return None
    try:
        tokens = _attributes(unsigned).get(der.OID_SIGNATURE_TIME_STAMP)
    except _MalformedError:
        tokens = None
    if not tokens:
        return None
    bad = _Timestamp(
        None,
        [
            Reason(
                SignatureReasonCode.TIMESTAMP_INVALID,
                "Штамп времени подписи повреждён или не относится к этой подписи",
            )
        ],
    )
    try:
        token = tokens[0]
        signed_data = token["content"]
        tst_info = signed_data["encap_content_info"]["content"].parsed
        imprint = tst_info["message_imprint"]
        spec = der.DIGESTS_BY_OID.get(imprint["hash_algorithm"]["algorithm"].dotted)
        if spec is None or spec.factory is None:
            return bad
        if (
            spec.digest(signer_info["signature"].native)
            != imprint["hashed_message"].native
        ):
            return bad
        gen_time = tst_info["gen_time"].native.astimezone(dt.UTC)
        content = signed_data["encap_content_info"]["content"].contents
        tsa_info = signed_data["signer_infos"][0]
        certs = der.certificates_of(signed_data)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return bad
    report = _verify_signer_info(
        signed_data,
        tsa_info,
        content_digest=lambda s: s.digest(content),
        certs=certs,
        trust=trust,
        at=gen_time,
        revocation=revocation,
        usage="any",
        check_timestamp=False,
        expected_content_type=der.OID_TST_INFO,
    )
    if report.verdict is Verdict.INVALID or not report.intact:
        return bad
    reasons = []
    if report.verdict is not Verdict.VALID:
        # The token is intact but its TSA is not trusted: the time is only
        # the TSA's claim; say so, keep the signer's verdict.
        reasons.append(
            Reason(
                SignatureReasonCode.TIMESTAMP_INVALID,
                "Штамп времени не подтверждён доверенной службой: "
                + "; ".join(r.message for r in report.reasons if not r.is_warning),
                is_warning=True,
            )
        )
        return _Timestamp(None, reasons)
    return _Timestamp(gen_time, reasons)


def _verify_signer_info(
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
) -> SignerReport:
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
    supported = spec is not None and spec.factory is not None
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
        reasons.append(
            Reason(
                SignatureReasonCode.WEAK_ALGORITHM,
                "Подпись сделана с устаревшим небезопасным алгоритмом: "
                + ", ".join(weak),
                {"algorithms": list(weak)},
            )
        )

    intact = digest_matches and signature_ok
    timestamp_time = None
    if check_timestamp and intact:
        stamp = _check_signature_timestamp(signer_info, trust, revocation)
        if stamp is not None:
            timestamp_time = stamp.time
            reasons.extend(stamp.reasons)

    claimed = signing_time
    now = _now()
    if timestamp_time is None and claimed is not None and claimed > now + _CLOCK_SKEW:
        # A signing time in the future is not a moment to validate for.
        reasons.append(
            Reason(
                SignatureReasonCode.FORMAT,
                f"Время подписания {claimed:%d.%m.%Y %H:%M} UTC ещё не наступило; "
                "сертификат проверен на текущий момент",
                {"signing_time": claimed.isoformat()},
                is_warning=True,
            )
        )
        claimed = None
    validation_time = timestamp_time or claimed or at or now
    validation: CertificateValidation | None = None
    info: CertificateInfo | None = None
    if cert is not None:
        validation = validate(
            cert.asn1,
            trust,
            at=validation_time,
            revocation=revocation,
            usage=usage,
            intermediates=[_cert(c).asn1 for c in certs if c != cert.der],
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
            )
        )
    return validate_certificate(
        cert,
        trust,
        at=at,
        revocation=revocation,
        usage=usage,
        intermediates=intermediates,
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
    revocation: RevocationMode = "soft",
) -> CmsReport:
    """Verify a CMS signature of ``content``.

    :param content: the signed document; ``None`` for an attached signature
        (the content is taken from inside it).
    :param sig: the signature (DER, PEM or base64).
    :param trust: trust anchors, intermediates and CRLs.
    :param at: when there is neither a signature time-stamp nor a signing-time
        attribute, validate the certificate for this moment (default now).
    :param revocation: ``off``, ``soft``, ``hard`` or ``require``.
    :return: one :class:`~signing.verification.SignerReport` per signer.
    :raises SignatureFormatError: ``sig`` is not a CMS SignedData, or a
        detached signature came without content.
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

    return _verify_all(signed_data, digest_of, attached, trust, at, revocation)


def verify_cms_digest(
    digest: bytes,
    digest_algorithm: str,
    sig: bytes,
    trust: TrustStore,
    *,
    at: dt.datetime | None = None,
    revocation: RevocationMode = "soft",
) -> CmsReport:
    """Verify a detached CMS signature given the content's digest (for content
    too large to hold: the caller streams the hash). A signer that used
    another digest algorithm is reported INDETERMINATE."""
    key = digest_algorithm.lower().replace("-", "").replace("_", "")
    if key not in der.DIGESTS:
        raise ValueError(f"unknown digest algorithm {digest_algorithm!r}")
    signed_data = der.load_signed_data(sig)

    def digest_of(spec: der.DigestSpec) -> bytes | None:
        return digest if spec.name == key else None

    return _verify_all(signed_data, digest_of, False, trust, at, revocation)


def _verify_all(
    signed_data: asn1_cms.SignedData,
    digest_of: Callable[[der.DigestSpec], bytes | None],
    attached: bool,
    trust: TrustStore,
    at: dt.datetime | None,
    revocation: RevocationMode,
) -> CmsReport:
    try:
        certs = der.certificates_of(signed_data)
        content_type = _content_type(signed_data)
        reports = []
        if not len(signed_data["signer_infos"]):
            raise SignatureFormatError(
                "the CMS structure has no signers (a certificate bundle?)"
            )
        for signer_info in signed_data["signer_infos"]:
            report = _verify_signer_info(
                signed_data,
                signer_info,
                content_digest=digest_of,
                certs=certs,
                trust=trust,
                at=at,
                revocation=revocation,
                expected_content_type=content_type,
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
                found.append(_cert_info(cert.der))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise SignatureFormatError(f"damaged CMS signature: {exc}") from None
    return found
