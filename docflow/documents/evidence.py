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

The report made at receipt is what the card, the printable form and the
package show: opening them verifies nothing again. Checking the stored
evidence once more (against today's trust store and revocation data) is an
explicit action, :func:`reverify_signatures`, recorded in the audit log with
its result and moment.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

import signing
from docflow.access import Actor
from docflow.audit import record
from docflow.audit.models import AuditRecord
from docflow.db import blobs_of_transaction, utcnow
from docflow.documents.models import Document, DocumentFile, FileRole, Signature
from docflow.documents.services import RETENTION, file_row, get_document
from docflow.errors import DocflowError, ValidationError
from docflow.runtime import Runtime
from signing import cades
from signing.cms import verify_cms, verify_cms_digest
from signing.errors import SigningError
from signing.etsi_report import validation_report_xml
from signing.pades import add_long_term_data, verify_pdf
from signing.reports import Verdict as SignatureVerdict
from signing.reports import worst_verdict
from signing.revocation import RevocationMode
from signing.tsa import Timestamper
from signing.verification import CmsReport, PdfReport, SignerReport
from storage import BlobNotFoundError, BlobStorage, IntegrityError

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
class ContentDigest:
    """The original by its digest, as recorded at registration: a detached
    signature made with the same hash is verified and archive-time-stamped
    without reading the original back from the blob store."""

    algorithm: str  # "sha256"
    value: bytes


@dataclass(frozen=True)
class Verifier:
    """How to verify: the trust store, the revocation mode, the moments."""

    trust: signing.TrustStore
    revocation: str
    received_at: dt.datetime
    registered_at: dt.datetime | None

    def cms(self, content: bytes | ContentDigest, sig: bytes) -> CmsReport:
        if isinstance(content, ContentDigest):
            return verify_cms_digest(
                content.value,
                content.algorithm,
                sig,
                self.trust,
                received_at=self.received_at,
                registered_at=self.registered_at,
                revocation=_mode(self.revocation),
            )
        return verify_cms(
            content,
            sig,
            self.trust,
            received_at=self.received_at,
            registered_at=self.registered_at,
            revocation=_mode(self.revocation),
        )

    def pdf(self, pdf: bytes) -> PdfReport:
        return verify_pdf(
            pdf,
            self.trust,
            received_at=self.received_at,
            registered_at=self.registered_at,
            revocation=_mode(self.revocation),
        )


def _mode(revocation: str) -> RevocationMode:
    """The settings' revocation mode (checked when the settings are read)."""
    return cast(RevocationMode, revocation)


def unavailable(exc: Exception) -> TimestampUnavailableError:
    return TimestampUnavailableError(
        "Служба штампов времени не ответила: подпись не принята, повторите позже. "
        f"({exc})"
    )


def seal_cms(
    sig: bytes,
    content: bytes | ContentDigest,
    *,
    timestamper: Timestamper,
    verifier: Verifier,
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
        sealed = (
            cades.add_archive_timestamp(
                with_data,
                None,
                timestamper,
                digest=content.algorithm,
                content_digest=content.value,
            )
            if isinstance(content, ContentDigest)
            else cades.add_archive_timestamp(with_data, content, timestamper)
        )
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
    storage: BlobStorage,
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


# -- checking the stored evidence again, when asked ------------------------------

#: The audit action of a re-verification; its details hold the result.
RECHECK_ACTION = "document.reverify"
#: A re-verification asked for again this soon (a double click, a resent form)
#: gets the previous result: each one fetches revocation data.
RECHECK_COOLDOWN = dt.timedelta(seconds=30)


@dataclass(frozen=True)
class SignatureRecheck:
    """One signature checked again: the verdict now and the one at receipt."""

    signature_id: str
    party: str
    signer_name: str
    verdict: str
    at_receipt: str
    summary: str


@dataclass(frozen=True)
class Recheck:
    """A re-verification of a document's signatures: when, the overall verdict,
    each signature's."""

    checked_at: dt.datetime
    verdict: str
    signatures: tuple[SignatureRecheck, ...]
    by: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "checked_at": self.checked_at.isoformat(),
            "verdict": self.verdict,
            "signatures": [dataclasses.asdict(s) for s in self.signatures],
        }

    @classmethod
    def from_record(cls, rec: AuditRecord) -> Recheck | None:
        """The re-verification an audit record holds (None for another one)."""
        details = rec.details or {}
        if rec.action != RECHECK_ACTION or "checked_at" not in details:
            return None
        fields = {f.name for f in dataclasses.fields(SignatureRecheck)}
        return cls(
            checked_at=dt.datetime.fromisoformat(str(details["checked_at"])),
            verdict=str(details.get("verdict", "")),
            signatures=tuple(
                SignatureRecheck(**{k: str(v) for k, v in item.items() if k in fields})
                for item in details.get("signatures", [])
                if isinstance(item, dict) and fields <= item.keys()
            ),
            by=rec.actor_label,
        )


def latest_recheck(records: Iterable[AuditRecord]) -> Recheck | None:
    """The newest re-verification among a document's audit records."""
    found = None
    for rec in records:
        found = Recheck.from_record(rec) or found
    return found


def _last_recheck(session: Session, doc: Document) -> Recheck | None:
    rec = session.scalars(
        select(AuditRecord)
        .where(
            AuditRecord.object_type == "document",
            AuditRecord.object_id == str(doc.id),
            AuditRecord.action == RECHECK_ACTION,
        )
        .order_by(AuditRecord.id.desc())
        .limit(1)
    ).first()
    return Recheck.from_record(rec) if rec is not None else None


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def _stored(storage: BlobStorage, f: DocumentFile) -> bytes | None:
    """A stored file's bytes, or None when the store has lost or altered them
    (its digest no longer matches the one recorded at registration)."""
    try:
        return storage.read_bytes(f.blob_key)
    except (BlobNotFoundError, IntegrityError):
        return None


def _damaged(f: DocumentFile) -> str:
    return (
        f"Файл «{f.filename}» в хранилище повреждён или отсутствует: он не "
        "совпадает с контрольной суммой SHA-256, записанной при получении."
    )


def _unreadable(f: DocumentFile, exc: Exception) -> str:
    return f"Файл «{f.filename}» не читается как подпись: {exc}"


def _optional(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else _aware(moment)


@dataclass(frozen=True)
class _PdfCheck:
    """The newest signed PDF verified once, for every signature in it."""

    by_signature: dict[uuid.UUID, tuple[SignatureVerdict, str]]
    whole: tuple[SignatureVerdict, str] | None


def _check_pdf(
    doc: Document, storage: BlobStorage, *, trust: signing.TrustStore, revocation: str
) -> _PdfCheck:
    latest = doc.latest_pdf
    in_pdf: Sequence[Signature] = [s for s in doc.signatures if s.pdf_file_id]
    if latest is None or latest.role != FileRole.REVISION or not in_pdf:
        return _PdfCheck({}, None)
    data = _stored(storage, latest)
    if data is None:
        return _PdfCheck({}, (SignatureVerdict.INVALID, _damaged(latest)))
    try:
        report = verify_pdf(
            data,
            trust,
            received_at=_optional(in_pdf[-1].received_at),
            registered_at=_aware(doc.created_at),
            revocation=_mode(revocation),
        )
    except SigningError as exc:
        return _PdfCheck({}, (SignatureVerdict.INVALID, _unreadable(latest, exc)))
    if len(report.signatures) != len(in_pdf):
        # A signature missing from the PDF (or one too many): judged whole.
        return _PdfCheck({}, (report.verdict, report.summary_ru()))
    return _PdfCheck(
        {
            sig.id: (embedded.verdict, embedded.summary_ru())
            for sig, embedded in zip(in_pdf, report.signatures, strict=True)
        },
        (report.verdict, report.summary_ru()),
    )


def _check_signature(
    sig: Signature,
    content: bytes | None,
    pdf: _PdfCheck,
    storage: BlobStorage,
    *,
    trust: signing.TrustStore,
    revocation: str,
) -> SignatureRecheck:
    doc = sig.document
    found: list[tuple[SignatureVerdict, str]] = []
    if sig.sig_file is not None:
        data = _stored(storage, sig.sig_file)
        if content is None:
            found.append((SignatureVerdict.INVALID, _damaged(doc.main_file)))
        elif data is None:
            found.append((SignatureVerdict.INVALID, _damaged(sig.sig_file)))
        else:
            try:
                cms = verify_cms(
                    content,
                    data,
                    trust,
                    received_at=_optional(sig.received_at),
                    registered_at=_aware(doc.created_at),
                    revocation=_mode(revocation),
                )
                found.append((cms.verdict, cms.summary_ru()))
            except SigningError as exc:
                found.append((SignatureVerdict.INVALID, _unreadable(sig.sig_file, exc)))
    if sig.pdf_file_id is not None:
        part = pdf.by_signature.get(sig.id, pdf.whole)
        if part is not None:
            found.append(part)
    return SignatureRecheck(
        signature_id=str(sig.id),
        party=sig.party.value,
        signer_name=sig.signer_name,
        verdict=worst_verdict(*(verdict for verdict, _ in found)).value,
        at_receipt=sig.verdict.value,
        summary=" ".join(summary for _, summary in found)[:2000],
    )


def reverify_signatures(
    session: Session,
    *,
    actor: Actor,
    document_id: uuid.UUID,
    runtime: Runtime,
) -> Recheck:
    """Verify a document's stored signatures again, now, and record the result.

    Each signature's sealed ``.sig`` against the original, and the newest
    signed PDF (all its signatures, and what was changed after each), with
    today's trust store and revocation data; each signature still at its
    proof of existence (its time-stamps). The verdict at receipt stays as it
    was: the result goes to the audit log (``document.reverify``) with its
    moment. Within :data:`RECHECK_COOLDOWN` of the previous one, that one is
    returned and nothing is verified or recorded.

    :raises NotFoundError: a document the actor may not see.
    :raises ValidationError: a document nobody has signed yet.
    """
    doc = get_document(session, actor=actor, document_id=document_id)
    if not doc.signatures:
        raise ValidationError("Документ ещё никто не подписал: проверять нечего.")
    previous = _last_recheck(session, doc)
    now = utcnow()
    if previous is not None and _aware(previous.checked_at) > now - RECHECK_COOLDOWN:
        return previous
    storage, revocation = runtime.storage, runtime.revocation
    trust = runtime.trust(session)
    content = _stored(storage, doc.main_file)
    pdf = _check_pdf(doc, storage, trust=trust, revocation=revocation)
    results = [
        _check_signature(sig, content, pdf, storage, trust=trust, revocation=revocation)
        for sig in doc.signatures
    ]
    recheck = Recheck(
        checked_at=now.replace(microsecond=0),
        verdict=worst_verdict(*(SignatureVerdict(r.verdict) for r in results)).value,
        signatures=tuple(results),
        by=actor.label,
    )
    record(
        session,
        user=actor.user,
        action=RECHECK_ACTION,
        object_type="document",
        object_id=doc.id,
        details={"number": doc.number, "status": doc.status.value, **recheck.to_json()},
        request_info=actor.request_info,
        actor_label=actor.label,
    )
    return recheck
