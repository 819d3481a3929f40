"""Archive renewal: keep every stored signature provable.

A time-stamp proves the existence of what it covers only while its authority's
certificate is valid and its digest algorithm is sound. Before the newest
time-stamp over a signature reaches that end (``Signature.archive_until``),
minus a horizon (``ARCHIVE_HORIZON_DAYS``), a new archive time-stamp is added
over everything before it, together with the validation data of the old one
(ETSI EN 319 122-1 §5.5.3 archive-time-stamp-v3 for the ``.sig``; a new DSS
and document time-stamp for the PDF, EN 319 142-1 §5.5). The renewed files are
new blobs under retention; the earlier ones stay.

Run daily by beat (``docflow.archive_renew``) and by ``docflow archive renew``.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

import signing
from docflow.db import transaction, utcnow
from docflow.documents.evidence import (
    archive_until,
    etsi_xml,
    store_retained,
    unavailable,
)
from docflow.documents.models import (
    DocStatus,
    Document,
    DocumentFile,
    FileRole,
    Signature,
)
from docflow.runtime import Runtime
from signing import cades
from signing.errors import SigningError
from signing.pades import add_long_term_data
from signing.reports import LongTermData
from signing.tsa import Timestamper
from signing.verification import SignerReport
from storage import BlobStorage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArchiveStatus:
    """How the stored evidence stands against the renewal horizon."""

    with_evidence: int
    without_evidence: int
    due: int
    overdue: int
    next_due: dt.datetime | None
    horizon_days: int

    def to_json(self) -> dict[str, object]:
        return {
            "with_evidence": self.with_evidence,
            "without_evidence": self.without_evidence,
            "due": self.due,
            "overdue": self.overdue,
            "next_due": self.next_due.isoformat() if self.next_due else None,
            "horizon_days": self.horizon_days,
        }


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment


def _live() -> ColumnElement[bool]:
    return Document.status.not_in([DocStatus.DELETED])


def archive_status(
    session: Session, *, horizon_days: int, now: dt.datetime | None = None
) -> ArchiveStatus:
    """Counts of signatures by the state of their newest time-stamp."""
    now = now or utcnow()
    limit = now + dt.timedelta(days=horizon_days)
    base = select(func.count(Signature.id)).join(Document).where(_live())
    with_evidence = session.scalar(base.where(Signature.archive_until.is_not(None)))
    without = session.scalar(base.where(Signature.archive_until.is_(None)))
    due = session.scalar(base.where(Signature.archive_until <= limit))
    overdue = session.scalar(base.where(Signature.archive_until <= now))
    next_due = session.scalar(
        select(func.min(Signature.archive_until)).join(Document).where(_live())
    )
    return ArchiveStatus(
        with_evidence=with_evidence or 0,
        without_evidence=without or 0,
        due=due or 0,
        overdue=overdue or 0,
        next_due=_aware(next_due) - dt.timedelta(days=horizon_days)
        if next_due
        else None,
        horizon_days=horizon_days,
    )


def due_signatures(
    session: Session, *, horizon_days: int, now: dt.datetime | None = None, limit: int
) -> list[uuid.UUID]:
    """Signatures whose newest time-stamp ends within the horizon, soonest first."""
    moment = (now or utcnow()) + dt.timedelta(days=horizon_days)
    return list(
        session.scalars(
            select(Signature.id)
            .join(Document)
            .where(_live(), Signature.archive_until <= moment)
            .order_by(Signature.archive_until)
            .limit(limit)
        )
    )


def _newest_stamp_data(signer: SignerReport) -> LongTermData:
    """The validation data of the newest valid time-stamp's authority."""
    stamps = [t for t in signer.timestamps if t.is_valid and t.evidence is not None]
    if not stamps:
        return LongTermData()
    newest = max(
        stamps, key=lambda t: t.gen_time or dt.datetime.min.replace(tzinfo=dt.UTC)
    )
    assert newest.evidence is not None
    return newest.evidence


def _put(
    session: Session,
    storage: BlobStorage,
    *,
    doc: Document,
    data: bytes,
    like: DocumentFile,
    filename: str,
    revision: int = 0,
) -> DocumentFile:
    row = store_retained(
        session,
        storage,
        doc=doc,
        data=data,
        role=like.role,
        filename=filename,
        content_type=like.content_type,
        revision=revision,
    )
    session.flush()
    return row


def renew_signature(
    session: Session,
    *,
    signature_id: uuid.UUID,
    runtime: Runtime,
    horizon_days: int,
    now: dt.datetime | None = None,
) -> bool:
    """Add an archive time-stamp to one signature's evidence, if still due.

    Runs in the caller's transaction with the signature row locked, so two
    renewals at once (two beats, a command beside the beat) renew once.

    :return: whether anything was renewed.
    :raises TimestampUnavailableError: the authority did not answer.
    """
    return _renew_signature(
        session,
        signature_id=signature_id,
        storage=runtime.storage,
        trust=runtime.trust(session),
        timestamper=runtime.timestamper,
        revocation=runtime.revocation,
        horizon_days=horizon_days,
        now=now,
    )


def _renew_signature(
    session: Session,
    *,
    signature_id: uuid.UUID,
    storage: BlobStorage,
    trust: signing.TrustStore,
    timestamper: Timestamper,
    revocation: signing.RevocationMode,
    horizon_days: int,
    now: dt.datetime | None = None,
) -> bool:
    sig = session.get(Signature, signature_id, with_for_update=True)
    moment = now or utcnow()
    if sig is None or sig.archive_until is None:
        return False
    if _aware(sig.archive_until) > moment + dt.timedelta(days=horizon_days):
        return False  # renewed meanwhile
    doc = sig.document
    content = storage.read_bytes(doc.main_file.blob_key)
    cms_report = pdf_report = None
    try:
        if sig.sig_file is not None:
            old = storage.read_bytes(sig.sig_file.blob_key)
            before = signing.verify_cms(content, old, trust, revocation=revocation)
            data = _newest_stamp_data(before.signers[0])
            renewed = cades.add_archive_timestamp(
                cades.add_validation_data(
                    old,
                    certificates=data.certificates,
                    crls=data.crls,
                    ocsp_responses=data.ocsp_responses,
                ),
                content,
                timestamper,
            )
            cms_report = signing.verify_cms(
                content, renewed, trust, revocation=revocation
            )
            count = 1 + sum(
                1
                for f in doc.files
                if f.role == FileRole.SIGNATURE
                and f.filename.startswith(sig.sig_file.filename.split(".archive-")[0])
            )
            stem = sig.sig_file.filename.split(".archive-")[0].removesuffix(".sig")
            sig.sig_file_id = _put(
                session,
                storage,
                doc=doc,
                data=renewed,
                like=sig.sig_file,
                filename=f"{stem}.archive-{count}.sig",
            ).id
        latest = doc.latest_pdf
        if (
            sig.pdf_file is not None
            and latest is not None
            and latest.id == sig.pdf_file_id
        ):
            old_pdf = storage.read_bytes(latest.blob_key)
            before_pdf = signing.verify_pdf(old_pdf, trust, revocation=revocation)
            data = LongTermData()
            for embedded in before_pdf.signatures:
                data += _newest_stamp_data(embedded.signer)
            renewed_pdf = add_long_term_data(old_pdf, data, timestamper=timestamper)
            pdf_report = signing.verify_pdf(renewed_pdf, trust, revocation=revocation)
            base = latest.filename.split(".archive-")[0].removesuffix(".pdf")
            sig.pdf_file_id = _put(
                session,
                storage,
                doc=doc,
                data=renewed_pdf,
                like=latest,
                filename=f"{base}.archive-{latest.revision + 1}.pdf",
                revision=latest.revision + 1,
            ).id
    except SigningError as exc:
        raise unavailable(exc) from exc
    until = archive_until(cms_report, pdf_report)
    sig.archive_until = until
    sig.archive_renewed_at = moment
    report = dict(sig.report or {})
    if cms_report is not None:
        report["cms"] = cms_report.to_json()
        report["cms_summary"] = cms_report.summary_ru()
    if pdf_report is not None:
        report["pdf"] = pdf_report.to_json()
        report["pdf_summary"] = pdf_report.summary_ru()
    report["etsi_xml"] = etsi_xml(
        cms_report, pdf_report, name=doc.main_file.filename, sha256=doc.main_file.sha256
    )
    sig.report = report
    session.flush()
    log.info("archive of signature %s renewed until %s", sig.id, until)
    return True


def renew_due(
    session: Session,
    *,
    runtime: Runtime,
    horizon_days: int,
    limit: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Renew every signature that is due, one transaction each; the number
    renewed. A failure of one (an unreachable authority) stops the run: the
    next one will pick up the rest."""
    trust = runtime.trust(session)
    ids = due_signatures(session, horizon_days=horizon_days, limit=limit)
    renewed = 0
    for index, signature_id in enumerate(ids, 1):
        with transaction(session):
            if _renew_signature(
                session,
                signature_id=signature_id,
                storage=runtime.storage,
                trust=trust,
                timestamper=runtime.timestamper,
                revocation=runtime.revocation,
                horizon_days=horizon_days,
            ):
                renewed += 1
        if progress is not None:
            progress(index, len(ids))
    return renewed
