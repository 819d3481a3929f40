"""Long-term evidence of a signature: time-stamps and validation data.

Every signature the flow accepts is sealed before it is recorded:

* the detached CMS becomes CAdES-T (a signature time-stamp from the
  authority, the proof of existence), then -LT (the certificates, CRLs and
  OCSP responses its validation relied on, inside SignedData) and -LTA (an
  archive-time-stamp-v3 over all of it) — ETSI EN 319 122-1 §5.3–5.5;
* a PDF signature is made B-T (its signature time-stamp), then B-LT (the same
  data in the document security store) and B-LTA (a document time-stamp) —
  EN 319 142-1 §5.3–5.4.

Archive renewal (:func:`renew`) adds a new archive time-stamp before the
newest one stops proving anything: before its authority's certificate
expires, or its digest algorithm is retired. What a time-stamp is worth is
judged by :mod:`signing` at verification; here the flow only produces.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

import signing
from docflow.db import blobs_of_transaction, utcnow
from docflow.documents.models import Document, DocumentFile, FileRole
from docflow.documents.services import RETENTION, file_row
from docflow.errors import DocflowError
from signing import cades
from signing.errors import SigningError
from signing.etsi_report import validation_report_xml
from signing.pades import add_long_term_data
from signing.tsa import Timestamper
from signing.verification import CmsReport, PdfReport, SignerReport

#: Digests whose time-stamps no longer prove anything after these dates
#: (ETSI TS 119 312 retires algorithms; SHA-256 has no end date yet).
ALGORITHM_SUNSET: dict[str, dt.datetime] = {
    "md5": dt.datetime(2005, 1, 1, tzinfo=dt.UTC),
    "sha1": dt.datetime(2014, 1, 1, tzinfo=dt.UTC),
}

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
CADES_LEVEL = "CAdES-LTA"
PADES_LEVEL = "PAdES B-LTA"


class TimestampUnavailableError(DocflowError):
    """The time-stamping authority could not stamp: nothing is recorded."""

    status = 503
    code = "timestamp_unavailable"


@dataclass(frozen=True)
class Verifier:
    """How to verify: the trust store, the revocation mode, the moments."""

    trust: signing.TrustStore
    revocation: str
    received_at: dt.datetime
    registered_at: dt.datetime | None

    def cms(self, content: bytes, sig: bytes) -> CmsReport:
        return signing.verify_cms(  # type: ignore[no-any-return,attr-defined]
            content,
            sig,
            self.trust,
            received_at=self.received_at,
            registered_at=self.registered_at,
            revocation=self.revocation,
        )

    def pdf(self, pdf: bytes) -> PdfReport:
        return signing.verify_pdf(  # type: ignore[no-any-return,attr-defined]
            pdf,
            self.trust,
            received_at=self.received_at,
            registered_at=self.registered_at,
            revocation=self.revocation,
        )


def unavailable(exc: Exception) -> TimestampUnavailableError:
    return TimestampUnavailableError(
        "Служба штампов времени не ответила: подпись не принята, повторите позже. "
        f"({exc})"
    )


def seal_cms(
    sig: bytes, content: bytes, *, timestamper: Timestamper, verifier: Verifier
) -> tuple[bytes, CmsReport]:
    """CAdES-BES (or -T) → -T → -LT → -LTA; the sealed file and its report.

    :raises TimestampUnavailableError: the authority did not answer.
    """
    try:
        stamped = cades.add_signature_timestamp(sig, timestamper)
        report = verifier.cms(content, stamped)
        if report.verdict is not signing.Verdict.VALID:
            return stamped, report
        _require_valid_stamp(report.signers[0], "signature")
        data = report.signers[0].validation_data
        with_data = cades.add_validation_data(
            stamped,
            certificates=data.certificates,
            crls=data.crls,
            ocsp_responses=data.ocsp_responses,
        )
        sealed = cades.add_archive_timestamp(with_data, content, timestamper)
    except SigningError as exc:
        raise unavailable(exc) from exc
    return sealed, verifier.cms(content, sealed)


def seal_pdf(
    pdf: bytes, *, timestamper: Timestamper, verifier: Verifier
) -> tuple[bytes, PdfReport]:
    """A signed PDF (B-T) → B-LT → B-LTA; the sealed document and its report.

    :raises TimestampUnavailableError: the authority did not answer.
    """
    report = verifier.pdf(pdf)
    if report.verdict is not signing.Verdict.VALID or not report.signatures:
        return pdf, report
    data = report.signatures[-1].signer.validation_data
    try:
        sealed = add_long_term_data(pdf, data, timestamper=timestamper)
    except SigningError as exc:
        raise unavailable(exc) from exc
    final = verifier.pdf(sealed)
    if final.signatures:
        _require_valid_stamp(final.signatures[-1].signer, "document")
    return sealed, final


def _require_valid_stamp(signer: SignerReport, kind: str) -> None:
    """The service's own time-stamp must prove the time: an authority whose
    tokens do not validate (its root not trusted, its certificate expired)
    would leave the signature with nothing but the moment of receipt."""
    if not any(t.is_valid and t.kind == kind for t in signer.timestamps):
        problems = "; ".join(
            t.summary_ru() for t in signer.timestamps if t.kind == kind
        )
        raise TimestampUnavailableError(
            "Штамп времени службы не подтверждается: подпись не принята. "
            + (problems or "Штамп не получен.")
        )


def _newest_stamp_end(signer: SignerReport) -> dt.datetime | None:
    """When the newest time-stamp over a signature stops proving anything."""
    valid = [t for t in signer.timestamps if t.is_valid and t.tsa_certificate]
    if not valid:
        return None
    newest = max(valid, key=lambda t: t.gen_time or _EPOCH)
    assert newest.tsa_certificate is not None
    end = newest.tsa_certificate.not_after
    sunset = ALGORITHM_SUNSET.get(newest.digest_algorithm or "")
    return min(end, sunset) if sunset else end


def archive_until(
    cms_report: CmsReport | None, pdf_report: PdfReport | None
) -> dt.datetime | None:
    """The earliest end of the newest time-stamps of the stored evidence."""
    ends = []
    if cms_report is not None and cms_report.signers:
        ends.append(_newest_stamp_end(cms_report.signers[0]))
    if pdf_report is not None and pdf_report.signatures:
        ends.append(_newest_stamp_end(pdf_report.signatures[-1].signer))
    known = [e for e in ends if e is not None]
    return min(known) if known else None


def etsi_xml(
    cms_report: CmsReport | None,
    pdf_report: PdfReport | None,
    *,
    name: str,
    sha256: str,
) -> str:
    """The validation report (ETSI TS 119 102-2) of a signature as stored: its
    ``.sig`` and, for a PDF, its signature in the document."""
    signers: list[SignerReport] = []
    if cms_report is not None:
        signers.extend(cms_report.signers)
    if pdf_report is not None and pdf_report.signatures:
        newest = pdf_report.signatures[-1]
        # PDF-specific findings (coverage, later changes) live on the PDF
        # signature, not its CMS signer: carry them over.
        signers.append(
            dataclasses.replace(
                newest.signer, verdict=newest.verdict, reasons=newest.reasons
            )
        )
    return validation_report_xml(
        signers, document_name=name, document_sha256=sha256
    ).decode("utf-8")


def store_retained(
    session: Session,
    storage: Any,
    *,
    doc: Document,
    data: bytes,
    role: FileRole,
    filename: str,
    content_type: str,
    revision: int = 0,
) -> DocumentFile:
    """A file of signed evidence: a blob under retention (removed again if the
    transaction rolls back) and its row."""
    info = storage.put_bytes(
        data, content_type=content_type, retain_until=utcnow() + RETENTION
    )
    blobs_of_transaction(session, storage, info.key)
    row = file_row(doc, role, filename, content_type, info, revision)
    session.add(row)
    return row


def stamp_facts(report: CmsReport) -> dict[str, Any]:
    """The signature's time-stamp as the card shows it: time, serial, authority."""
    signer = report.signers[0]
    first = next(
        (t for t in signer.timestamps if t.is_valid and t.kind == "signature"), None
    )
    return {
        "timestamp_time": first.gen_time if first else None,
        "timestamp_serial": first.serial if first else None,
        "tsa_name": (first.tsa or "")[:300] if first else None,
    }
