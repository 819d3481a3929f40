"""Report types shared by certificate and signature verification.

An outcome is data: a frozen value with a :class:`Verdict`, machine-readable
:class:`Reason` codes and Russian messages for people. The verdicts follow
ETSI EN 319 102-1 §5.1.3 (TOTAL-PASSED / TOTAL-FAILED / INDETERMINATE).

Certificate section first; the signature section is appended below it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from signing.certificates import CertificateInfo, QualifiedStatus, format_date_ru

__all__ = [
    "CertificateValidation",
    "LongTermData",
    "Reason",
    "ReasonCode",
    "RevocationInfo",
    "Verdict",
    "worst_verdict",
]


class Verdict(enum.StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    INDETERMINATE = "indeterminate"


_SEVERITY = {Verdict.VALID: 0, Verdict.INDETERMINATE: 1, Verdict.INVALID: 2}


def worst_verdict(*verdicts: Verdict) -> Verdict:
    """INVALID beats INDETERMINATE beats VALID (an empty call gives VALID)."""
    return max(verdicts, key=_SEVERITY.__getitem__, default=Verdict.VALID)


class ReasonCode(enum.StrEnum):
    """Stable codes of :class:`Reason`; the API and the UI map them, never the text."""

    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    UNTRUSTED_ROOT = "untrusted_root"
    NO_PATH = "no_path"
    CHAIN_INCOMPLETE = "chain_incomplete"
    BAD_CHAIN_SIGNATURE = "bad_chain_signature"
    KEY_USAGE = "key_usage"
    CA_NOT_ALLOWED = "ca_not_allowed"
    PATH_LENGTH = "path_length"
    NAME_CONSTRAINTS = "name_constraints"
    POLICY = "policy"
    UNSUPPORTED_EXTENSION = "unsupported_extension"
    CRL_EXPIRED = "crl_expired"
    CRL_INVALID = "crl_invalid"
    REVOCATION_UNAVAILABLE = "revocation_unavailable"
    WEAK_ALGORITHM = "weak_algorithm"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    OTHER = "other"


#: The verdict each certificate reason leads to when it is an error.
#: INDETERMINATE where more information (a path, fresher revocation data, an
#: algorithm we do not implement, a proof of existence before an algorithm was
#: deprecated) could change the answer: ETSI EN 319 102-1 §5.2.6 subindications
#: NO_CERTIFICATE_CHAIN_FOUND, TRY_LATER, CRYPTO_CONSTRAINTS_FAILURE_NO_POE.
REASON_VERDICT: Mapping[str, Verdict] = {
    ReasonCode.EXPIRED: Verdict.INVALID,
    ReasonCode.NOT_YET_VALID: Verdict.INVALID,
    ReasonCode.REVOKED: Verdict.INVALID,
    ReasonCode.BAD_CHAIN_SIGNATURE: Verdict.INVALID,
    ReasonCode.KEY_USAGE: Verdict.INVALID,
    ReasonCode.CA_NOT_ALLOWED: Verdict.INVALID,
    ReasonCode.PATH_LENGTH: Verdict.INVALID,
    ReasonCode.NAME_CONSTRAINTS: Verdict.INVALID,
    ReasonCode.POLICY: Verdict.INVALID,
    ReasonCode.UNSUPPORTED_EXTENSION: Verdict.INVALID,
    ReasonCode.OTHER: Verdict.INVALID,
    ReasonCode.UNTRUSTED_ROOT: Verdict.INDETERMINATE,
    ReasonCode.NO_PATH: Verdict.INDETERMINATE,
    ReasonCode.CHAIN_INCOMPLETE: Verdict.INDETERMINATE,
    ReasonCode.CRL_EXPIRED: Verdict.INDETERMINATE,
    ReasonCode.CRL_INVALID: Verdict.INDETERMINATE,
    ReasonCode.REVOCATION_UNAVAILABLE: Verdict.INDETERMINATE,
    ReasonCode.WEAK_ALGORITHM: Verdict.INDETERMINATE,
    ReasonCode.UNSUPPORTED_ALGORITHM: Verdict.INDETERMINATE,
}


@dataclass(frozen=True)
class Reason:
    """One finding: a stable ``code``, a Russian ``message``, JSON-ready ``details``."""

    code: str
    message: str
    details: Mapping[str, object] = field(default_factory=dict)
    #: A warning does not change the verdict (for example revocation data that
    #: could not be fetched in ``soft`` mode).
    is_warning: bool = False

    @property
    def verdict(self) -> Verdict:
        if self.is_warning:
            return Verdict.VALID
        return REASON_VERDICT.get(self.code, Verdict.INVALID)

    def to_json(self) -> dict[str, object]:
        return {
            "code": str(self.code),
            "message": self.message,
            "details": dict(self.details),
            "severity": "warning" if self.is_warning else "error",
        }


RevocationStatus = Literal["good", "revoked", "unknown", "unchecked"]


@dataclass(frozen=True)
class RevocationInfo:
    """The revocation status of the end-entity certificate."""

    status: RevocationStatus
    #: ``crl`` or ``ocsp``; ``None`` when nothing was checked.
    source: Literal["crl", "ocsp"] | None = None
    revoked_at: dt.datetime | None = None
    #: RFC 5280 §5.3.1 reason name (``key_compromise``...).
    reason: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "status": self.status,
            "source": self.source,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class LongTermData:
    """Certificates and revocation data (DER) that a validation relied on: what
    a signature must carry to be validated later without the network
    (CAdES -LT, PAdES B-LT)."""

    certificates: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()
    ocsp_responses: tuple[bytes, ...] = ()

    def __add__(self, other: LongTermData) -> LongTermData:
        return LongTermData(
            certificates=tuple(
                dict.fromkeys((*self.certificates, *other.certificates))
            ),
            crls=tuple(dict.fromkeys((*self.crls, *other.crls))),
            ocsp_responses=tuple(
                dict.fromkeys((*self.ocsp_responses, *other.ocsp_responses))
            ),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "certificates": len(self.certificates),
            "crls": len(self.crls),
            "ocsp_responses": len(self.ocsp_responses),
        }


@dataclass(frozen=True)
class CertificateValidation:
    """The outcome of validating one certificate against a trust store."""

    verdict: Verdict
    reasons: tuple[Reason, ...]
    certificate: CertificateInfo
    #: Leaf first, trust anchor last; only the leaf when no path was found.
    chain: tuple[CertificateInfo, ...]
    revocation: RevocationInfo | None
    #: The moment the certificate was validated for (``at``, or the current time).
    validated_at: dt.datetime
    #: What the validation relied on (chain, CRLs, OCSP responses).
    evidence: LongTermData | None = field(default=None, repr=False, compare=False)
    #: Whether the certificate is qualified (УКЭП): its sign-tool fields and
    #: the accredited centre its chain leads to, from the trust store.
    qualified: QualifiedStatus | None = field(default=None, compare=False)

    @property
    def is_valid(self) -> bool:
        return self.verdict is Verdict.VALID

    @property
    def errors(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if not r.is_warning)

    @property
    def warnings(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.is_warning)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(r.code for r in self.reasons)

    def to_json(self) -> dict[str, object]:
        return {
            "verdict": self.verdict.value,
            "reasons": [r.to_json() for r in self.reasons],
            "certificate": self.certificate.to_json(),
            "chain": [c.to_json() for c in self.chain],
            "revocation": self.revocation.to_json() if self.revocation else None,
            "validated_at": self.validated_at.isoformat(),
            "qualified": self.qualified.to_json() if self.qualified else None,
            "summary": self.summary_ru(),
        }

    def summary_ru(self) -> str:
        """One line for people: the verdict, whose certificate, and why."""
        cert = self.certificate
        who = cert.owner or cert.subject_cn or cert.subject
        if cert.organization and cert.organization != who:
            who = f"{who} ({cert.organization})"
        if self.verdict is Verdict.VALID:
            line = (
                f"Сертификат действителен: {who}, "
                f"выдан «{cert.issuer_cn or cert.issuer}», "
                f"срок действия до {format_date_ru(cert.not_after)}"
            )
            if self.warnings:
                line += "; " + "; ".join(r.message for r in self.warnings)
            return line
        head = (
            "Сертификат недействителен"
            if self.verdict is Verdict.INVALID
            else "Действительность сертификата не установлена"
        )
        return f"{head}: {who}. " + "; ".join(r.message for r in self.errors)
