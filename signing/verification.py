"""Reports of signature verification (CMS/CAdES and PAdES).

Frozen values with a :class:`~signing.reports.Verdict`, machine-readable
reason codes, a stable ``to_json()`` and a Russian one-line ``summary_ru()``.
The certificate part of each signature is the
:class:`~signing.reports.CertificateValidation` of :mod:`signing.trust`,
embedded as it is.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from signing.certificates import CertificateInfo
from signing.reports import (
    CertificateValidation,
    LongTermData,
    Reason,
    RevocationInfo,
    Verdict,
    worst_verdict,
)

__all__ = [
    "POE_SOURCE_RU",
    "CmsReport",
    "PdfReport",
    "PdfSignatureReport",
    "PoeSource",
    "SignatureReasonCode",
    "SignerReport",
    "TimestampReport",
]

_MSK = dt.timezone(dt.timedelta(hours=3), "МСК")


class SignatureReasonCode(enum.StrEnum):
    """Reason codes of signature verification (certificate codes are in
    :class:`~signing.reports.ReasonCode`)."""

    #: The content (or PDF byte range) does not match the message-digest
    #: attribute: the document was changed, or it is another document.
    DIGEST_MISMATCH = "digest_mismatch"
    #: The signature value does not verify over the signed attributes.
    SIGNATURE_INVALID = "signature_invalid"
    #: signing-certificate(-v2) names another certificate (RFC 5035).
    SIGNING_CERTIFICATE_MISMATCH = "signing_certificate_mismatch"
    #: The signer's certificate is not in the signature.
    SIGNER_CERTIFICATE_MISSING = "signer_certificate_missing"
    #: A required signed attribute is missing or malformed (RFC 5652 §5.3).
    MALFORMED_ATTRIBUTES = "malformed_attributes"
    WEAK_ALGORITHM = "weak_algorithm"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    #: The signature time-stamp token does not match the signature.
    TIMESTAMP_INVALID = "timestamp_invalid"
    #: PDF: the document was changed after this signature in a way that is not
    #: allowed (pyHanko difference analysis: ModificationLevel.OTHER or above
    #: the signature's DocMDP level).
    MODIFIED_AFTER_SIGNING = "modified_after_signing"
    #: PDF: annotations (comments, shapes) were added after signing; they can
    #: cover what was signed, so a person has to look.
    ANNOTATIONS_AFTER_SIGNING = "annotations_after_signing"
    #: PDF: the byte range does not cover a whole revision.
    PARTIAL_COVERAGE = "partial_coverage"
    #: PDF: the file's structure around a signature is not what ISO 32000-1
    #: allows: a /ByteRange that is not [0 a b c] with the gap holding exactly
    #: /Contents and ending at a revision's %%EOF (§12.8.1), or a signature
    #: that later sections hid (signature wrapping, incremental saving attacks;
    #: see :mod:`signing.pdf_structure`).
    STRUCTURE = "pdf_structure"
    #: PDF: the document carries no signature at all.
    NO_SIGNATURES = "no_signatures"
    #: The signature does not hold exactly what the profile needs.
    FORMAT = "format"
    #: The signer's claimed time (signing-time, /M) lies outside the window in
    #: which the signature can have been made (after the document was
    #: registered, before it was received): a warning; the claim is not used.
    CLAIMED_TIME_IMPLAUSIBLE = "claimed_time_implausible"


class PoeSource(enum.StrEnum):
    """Where the moment a signature was validated for comes from (its proof of
    existence, ETSI EN 319 102-1 §5.6.2.2). Never the signer's own claim."""

    #: A valid RFC 3161 time-stamp over the signature (signature time-stamp,
    #: archive time-stamp, or a PDF document time-stamp after it).
    TIMESTAMP = "timestamp"
    #: The moment the service received the signature, as it recorded it.
    RECEIPT = "receipt"
    #: No proof of existence: the moment of the validation itself (now, or the
    #: caller's what-if moment).
    VALIDATION_TIME = "validation_time"


POE_SOURCE_RU: Mapping[str, str] = {
    PoeSource.TIMESTAMP: "штамп времени",
    PoeSource.RECEIPT: "момент получения подписи сервисом",
    PoeSource.VALIDATION_TIME: "момент проверки",
}


class TimestampKind(enum.StrEnum):
    SIGNATURE = "signature"  # signature-time-stamp (CAdES-T, PAdES B-T)
    ARCHIVE = "archive"  # archive-time-stamp-v3 (CAdES-LTA)
    DOCUMENT = "document"  # PDF document time-stamp (PAdES B-LTA)


TIMESTAMP_KIND_RU: Mapping[str, str] = {
    TimestampKind.SIGNATURE: "штамп времени подписи",
    TimestampKind.ARCHIVE: "архивный штамп времени",
    TimestampKind.DOCUMENT: "штамп времени документа",
}


#: Verdict of a signature-level reason (ETSI EN 319 102-1 §5.1.3): INVALID
#: for HASH_FAILURE / SIG_CRYPTO_FAILURE and changed documents; INDETERMINATE
#: where more data could change the answer (NO_SIGNING_CERTIFICATE_FOUND,
#: CRYPTO_CONSTRAINTS_FAILURE_NO_POE, unsupported algorithms) or a person must
#: look (annotations).
SIGNATURE_REASON_VERDICT: Mapping[str, Verdict] = {
    SignatureReasonCode.DIGEST_MISMATCH: Verdict.INVALID,
    SignatureReasonCode.SIGNATURE_INVALID: Verdict.INVALID,
    SignatureReasonCode.SIGNING_CERTIFICATE_MISMATCH: Verdict.INVALID,
    SignatureReasonCode.MALFORMED_ATTRIBUTES: Verdict.INVALID,
    SignatureReasonCode.TIMESTAMP_INVALID: Verdict.INVALID,
    SignatureReasonCode.MODIFIED_AFTER_SIGNING: Verdict.INVALID,
    SignatureReasonCode.PARTIAL_COVERAGE: Verdict.INVALID,
    SignatureReasonCode.STRUCTURE: Verdict.INVALID,
    SignatureReasonCode.NO_SIGNATURES: Verdict.INVALID,
    SignatureReasonCode.FORMAT: Verdict.INVALID,
    SignatureReasonCode.SIGNER_CERTIFICATE_MISSING: Verdict.INDETERMINATE,
    SignatureReasonCode.WEAK_ALGORITHM: Verdict.INDETERMINATE,
    SignatureReasonCode.UNSUPPORTED_ALGORITHM: Verdict.INDETERMINATE,
    SignatureReasonCode.ANNOTATIONS_AFTER_SIGNING: Verdict.INDETERMINATE,
    SignatureReasonCode.CLAIMED_TIME_IMPLAUSIBLE: Verdict.VALID,
}


def reason_verdict(reason: Reason) -> Verdict:
    """The verdict a reason leads to (signature codes first, then certificate ones)."""
    if reason.is_warning:
        return Verdict.VALID
    verdict = SIGNATURE_REASON_VERDICT.get(reason.code)
    return verdict if verdict is not None else reason.verdict


def verdict_of(reasons: Iterable[Reason]) -> Verdict:
    return worst_verdict(*(reason_verdict(r) for r in reasons))


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def msk(moment: dt.datetime) -> str:
    """A moment as Moscow time for people: ``05.12.2026 18:03 МСК``."""
    return moment.astimezone(_MSK).strftime("%d.%m.%Y %H:%M") + " МСК"


def _who(cert: CertificateInfo | None) -> str:
    if cert is None:
        return "подписант не определён"
    who = cert.owner or cert.subject_cn or cert.subject
    if cert.organization and cert.organization != who:
        who = f"{who} ({cert.organization})"
    return who


def _errors(reasons: Iterable[Reason]) -> str:
    messages = []
    for reason in reasons:
        if not reason.is_warning and reason.message not in messages:
            messages.append(reason.message)
    return "; ".join(messages)


@dataclass(frozen=True)
class TimestampReport:
    """The verification of one RFC 3161 time-stamp token."""

    kind: str
    verdict: Verdict
    reasons: tuple[Reason, ...]
    #: The token's message imprint matches the data it claims to cover.
    imprint_matches: bool
    gen_time: dt.datetime | None
    serial: str | None
    #: The authority, as the token names it.
    tsa: str | None
    policy: str | None
    tsa_certificate: CertificateInfo | None
    #: The moment the authority's certificate was validated for: the time of
    #: the next valid time-stamp, or the validation time for the newest one.
    validated_at: dt.datetime
    token_sha256: str | None = None
    #: The digest of the message imprint (``sha256``...).
    digest_algorithm: str | None = None
    #: What validating the authority's certificate relied on.
    evidence: LongTermData | None = field(default=None, repr=False, compare=False)

    @property
    def is_valid(self) -> bool:
        return self.verdict is Verdict.VALID

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "verdict": self.verdict.value,
            "reasons": [r.to_json() for r in self.reasons],
            "imprint_matches": self.imprint_matches,
            "gen_time": _iso(self.gen_time),
            "serial": self.serial,
            "tsa": self.tsa,
            "policy": self.policy,
            "tsa_certificate": (
                self.tsa_certificate.to_json() if self.tsa_certificate else None
            ),
            "validated_at": self.validated_at.isoformat(),
            "token_sha256": self.token_sha256,
            "digest_algorithm": self.digest_algorithm,
            "summary": self.summary_ru(),
        }

    def summary_ru(self) -> str:
        what = TIMESTAMP_KIND_RU.get(self.kind, "штамп времени").capitalize()
        when = f" {msk(self.gen_time)}" if self.gen_time else ""
        who = f", служба «{self.tsa}»" if self.tsa else ""
        serial = f", № {self.serial}" if self.serial else ""
        if self.verdict is Verdict.VALID:
            return f"{what}{when}{who}{serial}: действителен"
        return f"{what}{when}{who}{serial}: не подтверждён. {_errors(self.reasons)}"


@dataclass(frozen=True)
class SignerReport:
    """The verification of one SignerInfo of a CMS signature."""

    verdict: Verdict
    reasons: tuple[Reason, ...]
    #: The message digest matches the content and the signature value verifies.
    intact: bool
    digest_matches: bool
    signature_verified: bool
    certificate: CertificateInfo | None
    #: The signing-time attribute (or the PDF's /M): the signer's claim,
    #: reported as «заявленное время подписания», never used to validate.
    signing_time: dt.datetime | None
    #: The earliest proof of existence by a valid time-stamp (signature,
    #: archive or document time-stamp), if there is one.
    timestamp_time: dt.datetime | None
    #: The moment the certificate was validated for (see ``poe_source``): the
    #: earliest valid time-stamp, else the moment of receipt, else the
    #: validation time (``at`` or now).
    validation_time: dt.datetime
    digest_algorithm: str
    signature_algorithm: str
    #: Algorithms below the policy (MD5, SHA-1, RSA < 2048 bits).
    weak_algorithms: tuple[str, ...]
    #: ``match``, ``mismatch`` or ``absent``: the signing-certificate(-v2)
    #: attribute against the certificate that verified the signature.
    signing_certificate_attribute: str
    certificate_validation: CertificateValidation | None
    #: Which proof of existence ``validation_time`` is (:class:`PoeSource`).
    poe_source: str = PoeSource.VALIDATION_TIME
    #: The moment the service received the signature, when the caller said.
    received_at: dt.datetime | None = None
    #: Every time-stamp over this signature, oldest first.
    timestamps: tuple[TimestampReport, ...] = ()
    #: Long-term validation data the signature carries (certificates, CRLs,
    #: OCSP responses), as counted.
    embedded: LongTermData | None = None

    @property
    def is_valid(self) -> bool:
        return self.verdict is Verdict.VALID

    @property
    def claimed_time(self) -> dt.datetime | None:
        return self.signing_time

    @property
    def validation_data(self) -> LongTermData:
        """Everything this verification relied on — the signer's chain, the
        time-stamp authorities' chains, CRLs and OCSP responses — which is what
        the signature must carry to be verified later offline (-LT)."""
        data = LongTermData()
        if self.certificate_validation and self.certificate_validation.evidence:
            data += self.certificate_validation.evidence
        for stamp in self.timestamps:
            if stamp.evidence is not None:
                data += stamp.evidence
        return data

    @property
    def chain(self) -> tuple[CertificateInfo, ...]:
        return self.certificate_validation.chain if self.certificate_validation else ()

    @property
    def chain_verdict(self) -> Verdict | None:
        return (
            self.certificate_validation.verdict if self.certificate_validation else None
        )

    @property
    def revocation(self) -> RevocationInfo | None:
        return (
            self.certificate_validation.revocation
            if self.certificate_validation
            else None
        )

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(r.code for r in self.reasons if not r.is_warning)

    def to_json(self) -> dict[str, object]:
        return {
            "verdict": self.verdict.value,
            "reasons": [r.to_json() for r in self.reasons],
            "intact": self.intact,
            "digest_matches": self.digest_matches,
            "signature_verified": self.signature_verified,
            "certificate": self.certificate.to_json() if self.certificate else None,
            "signing_time": _iso(self.signing_time),
            "claimed_time": _iso(self.signing_time),
            "timestamp_time": _iso(self.timestamp_time),
            "validation_time": self.validation_time.isoformat(),
            "poe_source": str(self.poe_source),
            "received_at": _iso(self.received_at),
            "timestamps": [t.to_json() for t in self.timestamps],
            "long_term_data": self.embedded.to_json() if self.embedded else None,
            "digest_algorithm": self.digest_algorithm,
            "signature_algorithm": self.signature_algorithm,
            "weak_algorithms": list(self.weak_algorithms),
            "signing_certificate_attribute": self.signing_certificate_attribute,
            "chain_verdict": self.chain_verdict.value if self.chain_verdict else None,
            "chain": [c.to_json() for c in self.chain],
            "revocation": self.revocation.to_json() if self.revocation else None,
            "qualified": (
                self.certificate_validation.qualified.to_json()
                if self.certificate_validation
                and self.certificate_validation.qualified is not None
                else None
            ),
            "summary": self.summary_ru(),
        }

    def time_ru(self) -> str:
        """When the signature was validated for, and on what evidence."""
        source = POE_SOURCE_RU.get(self.poe_source, str(self.poe_source))
        text = f"проверено на {source}: {msk(self.validation_time)}"
        if self.signing_time is not None and (
            self.poe_source != PoeSource.TIMESTAMP
            or abs(self.signing_time - self.validation_time) > dt.timedelta(minutes=5)
        ):
            text += f"; заявленное время подписания {msk(self.signing_time)}"
            if self.poe_source != PoeSource.TIMESTAMP:
                text += " не подтверждено штампом времени"
        return text

    def summary_ru(self) -> str:
        who = _who(self.certificate)
        if self.verdict is Verdict.VALID:
            return f"Подпись действительна: {who} ({self.time_ru()})"
        head = (
            "Подпись недействительна"
            if self.verdict is Verdict.INVALID
            else "Действительность подписи не установлена"
        )
        return f"{head}: {who}. {_errors(self.reasons)} ({self.time_ru()})"


@dataclass(frozen=True)
class CmsReport:
    """The verification of a CMS (CAdES) signature file: one report per signer."""

    verdict: Verdict
    signers: tuple[SignerReport, ...]
    #: The signature carried its content (attached) rather than being detached.
    attached: bool

    @property
    def is_valid(self) -> bool:
        return self.verdict is Verdict.VALID

    def to_json(self) -> dict[str, object]:
        return {
            "verdict": self.verdict.value,
            "attached": self.attached,
            "signers": [s.to_json() for s in self.signers],
            "summary": self.summary_ru(),
        }

    def summary_ru(self) -> str:
        if len(self.signers) == 1:
            return self.signers[0].summary_ru()
        valid = sum(1 for s in self.signers if s.is_valid)
        head = {
            Verdict.VALID: "Все подписи действительны",
            Verdict.INVALID: "Есть недействительные подписи",
            Verdict.INDETERMINATE: "Действительность подписей не установлена",
        }[self.verdict]
        return f"{head}: действительных {valid} из {len(self.signers)}. " + " | ".join(
            s.summary_ru() for s in self.signers
        )


@dataclass(frozen=True)
class PdfSignatureReport:
    """The verification of one signature embedded in a PDF."""

    field_name: str
    verdict: Verdict
    reasons: tuple[Reason, ...]
    #: The signed byte range hashes to the message digest and the signature
    #: value verifies.
    intact: bool
    certificate: CertificateInfo | None
    signing_time: dt.datetime | None
    timestamp_time: dt.datetime | None
    #: ``entire_file``, ``entire_revision``, ``contiguous_block_from_start`` or
    #: ``unclear`` (pyHanko's SignatureCoverageLevel).
    coverage: str
    #: What changed after this signature (pyHanko's ModificationLevel):
    #: ``none``, ``lta_updates``, ``form_filling``, ``annotations`` or ``other``.
    modification_level: str
    #: The changes respect the signature's DocMDP/FieldMDP permissions.
    docmdp_ok: bool | None
    #: The revision the signature belongs to (0 is the original file).
    revision: int
    signer: SignerReport

    @property
    def is_valid(self) -> bool:
        return self.verdict is Verdict.VALID

    @property
    def valid(self) -> bool:
        return self.is_valid

    @property
    def chain_verdict(self) -> Verdict | None:
        return self.signer.chain_verdict

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(r.code for r in self.reasons if not r.is_warning)

    def to_json(self) -> dict[str, object]:
        return {
            "field_name": self.field_name,
            "verdict": self.verdict.value,
            "reasons": [r.to_json() for r in self.reasons],
            "intact": self.intact,
            "valid": self.valid,
            "certificate": self.certificate.to_json() if self.certificate else None,
            "signing_time": _iso(self.signing_time),
            "timestamp_time": _iso(self.timestamp_time),
            "coverage": self.coverage,
            "modification_level": self.modification_level,
            "docmdp_ok": self.docmdp_ok,
            "revision": self.revision,
            "chain_verdict": self.chain_verdict.value if self.chain_verdict else None,
            "signer": self.signer.to_json(),
            "summary": self.summary_ru(),
        }

    def summary_ru(self) -> str:
        who = _who(self.certificate)
        at = f" ({self.signer.time_ru()})"
        if self.verdict is Verdict.VALID:
            return f"Подпись «{self.field_name}» действительна: {who}{at}"
        head = (
            "недействительна"
            if self.verdict is Verdict.INVALID
            else "— действительность не установлена"
        )
        return f"Подпись «{self.field_name}» {head}: {who}. {_errors(self.reasons)}{at}"


@dataclass(frozen=True)
class PdfReport:
    """The verification of every signature in a PDF document."""

    verdict: Verdict
    signatures: tuple[PdfSignatureReport, ...]
    reasons: tuple[Reason, ...]
    #: Number of revisions (incremental updates + 1).
    revisions: int

    @property
    def is_valid(self) -> bool:
        return self.verdict is Verdict.VALID

    def to_json(self) -> dict[str, object]:
        return {
            "verdict": self.verdict.value,
            "reasons": [r.to_json() for r in self.reasons],
            "revisions": self.revisions,
            "signatures": [s.to_json() for s in self.signatures],
            "summary": self.summary_ru(),
        }

    def summary_ru(self) -> str:
        text = self._signatures_ru()
        # Findings about the file as a whole (a hidden signature, a tail that
        # cannot be read) belong to no signature but change the verdict.
        document = _errors(
            r for r in self.reasons if r.code != SignatureReasonCode.NO_SIGNATURES
        )
        return f"{text}. {document}" if document else text

    def _signatures_ru(self) -> str:
        if not self.signatures:
            return "Документ не содержит электронных подписей"
        if len(self.signatures) == 1:
            return self.signatures[0].summary_ru()
        valid = sum(1 for s in self.signatures if s.is_valid)
        head = {
            Verdict.VALID: "Все подписи документа действительны",
            Verdict.INVALID: "Есть недействительные подписи",
            Verdict.INDETERMINATE: "Действительность подписей не установлена",
        }[self.verdict]
        return (
            f"{head}: действительных {valid} из {len(self.signatures)}. "
            + " | ".join(s.summary_ru() for s in self.signatures)
        )
