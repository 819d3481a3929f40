"""The ZIP package of one or many documents: files, signatures, verification.

Layout::

    manifest.json                       every file's path, size and SHA-256
    <number>_<short id>/
        original/<filename>             the registered original, byte for byte
        attachments/<filename>
        signatures/<file>.<party>.sig   detached CMS (CAdES-BES) over the original
        signed/<name>.signed-N.pdf      the PDF with N embedded (PAdES) signatures
        signatures/as-received/…        each signature as the party sent it
        printable.pdf                   pages and the signing sheet with the stamps
        report.json                     particulars, route, each signature's report
                                        (proven time and its source, time-stamp,
                                        receipt, claimed time, evidence level) as
                                        made at receipt, and the re-verifications
                                        asked for since («Проверить заново»)
        reports/<party>.validation-report.xml   ETSI TS 119 102-2 validation report

Nothing is verified again to make a package: the reports are those the flow
stored when it received each signature.

Blobs are streamed from the store into the archive chunk by chunk. Each one is
checked twice: the store compares the bytes with the digest it keeps, and the
package compares both the store's record and the bytes with the digest the
database recorded at registration. Any mismatch stops the package with
:class:`PackageIntegrityError` naming the file; nothing is silently skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any

from sqlalchemy.orm import Session

from docflow.audit.services import history
from docflow.db import utcnow
from docflow.documents.evidence import Recheck
from docflow.documents.models import (
    PARTY_TITLES,
    Document,
    DocumentFile,
    FileRole,
)
from docflow.documents.services import STATUS_TITLES, status_label
from docflow.errors import DocflowError
from storage import BlobNotFoundError, BlobStorage, IntegrityError

GENERATOR = "docflow"
FORMAT = "docflow-package/1"
MSK = dt.timezone(dt.timedelta(hours=3), "МСК")
ZIP64_THRESHOLD = 1 << 31

# Formats that are compressed already: storing them saves CPU and loses nothing.
_STORED_SUFFIXES = frozenset(
    {".zip", ".docx", ".xlsx", ".odt", ".ods", ".jpg", ".jpeg", ".png", ".gz", ".7z"}
)
_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]+")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*\ud800-\udfff\ufffe\uffff]+')
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)


class PackageIntegrityError(DocflowError):
    """A stored file does not match the digest recorded at registration."""

    status = 500
    code = "blob_integrity"


def safe_name(name: str, *, fallback: str = "file", limit: int = 120) -> str:
    """A file or folder name that unpacks the same on Windows, macOS and Linux:
    no separators, reserved characters, control characters (a line break is a
    space) or reserved device names, no leading or trailing dots and spaces,
    bounded length (the extension is kept)."""
    cleaned = _UNSAFE.sub("_", _BREAKS.sub(" ", name))
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" .")
    if not cleaned:
        return fallback
    stem, dot, ext = cleaned.rpartition(".")
    if not dot:
        stem, ext = cleaned, ""
    if stem.split(".")[0].lower() in _WINDOWS_RESERVED:
        cleaned = "_" + cleaned
    if len(cleaned) > limit:
        ext = ext[:16]
        keep = limit - len(ext) - 1 if ext else limit
        cleaned = (cleaned[:keep].rstrip(" .") + "." + ext) if ext else cleaned[:limit]
    return cleaned


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    path = PurePosixPath(name)
    while candidate.lower() in taken:
        n += 1
        candidate = str(path.with_name(f"{path.stem} ({n}){path.suffix}"))
    taken.add(candidate.lower())
    return candidate


@dataclass
class _Entry:
    path: str
    file: DocumentFile


@dataclass
class _Plan:
    doc: Document
    folder: str
    entries: list[_Entry] = field(default_factory=list)
    path_of: dict[Any, str] = field(default_factory=dict)  # DocumentFile.id -> path


def _plan(doc: Document, folders: set[str]) -> _Plan:
    folder = _unique(
        f"{safe_name(doc.number, fallback='document', limit=60)}_{doc.id.hex[:8]}",
        folders,
    )
    plan = _Plan(doc, folder)
    taken: set[str] = set()
    by_role = {
        FileRole.MAIN: "original",
        FileRole.ATTACHMENT: "attachments",
        FileRole.SIGNATURE: "signatures",
        FileRole.RECEIVED: "signatures/as-received",
        FileRole.POWER_OF_ATTORNEY: "signatures/power-of-attorney",
        FileRole.REVISION: "signed",
    }
    order = {
        FileRole.MAIN: 0,
        FileRole.ATTACHMENT: 1,
        FileRole.SIGNATURE: 2,
        FileRole.RECEIVED: 3,
        FileRole.POWER_OF_ATTORNEY: 4,
        FileRole.REVISION: 5,
    }
    for f in sorted(doc.files, key=lambda f: (order[f.role], f.revision, f.created_at)):
        name = safe_name(f.filename)
        path = _unique(f"{folder}/{by_role[f.role]}/{name}", taken)
        plan.entries.append(_Entry(path, f))
        plan.path_of[f.id] = path
    return plan


def _integrity_error(
    doc: Document, f: DocumentFile, problem: str
) -> PackageIntegrityError:
    return PackageIntegrityError(
        f"Файл «{f.filename}» документа № {doc.number} повреждён или изменён в хранилище: "
        "он не совпадает с контрольной суммой SHA-256, записанной при регистрации. "
        "Пакет не сформирован; сообщите администратору.",
        details={
            "document_id": str(doc.id),
            "file_id": str(f.id),
            "filename": f.filename,
            "problem": problem,
        },
    )


def _preflight(storage: BlobStorage, plans: Iterable[_Plan]) -> None:
    """Compare the store's record of every blob with the database's before a
    byte is written: a missing or re-recorded blob fails the package at once."""
    for plan in plans:
        for entry in plan.entries:
            f = entry.file
            try:
                info = storage.stat(f.blob_key)
            except (BlobNotFoundError, IntegrityError) as exc:
                raise _integrity_error(plan.doc, f, str(exc)) from exc
            if info.sha256 != f.sha256 or info.size != f.size:
                raise _integrity_error(
                    plan.doc,
                    f,
                    f"store records sha256 {info.sha256} size {info.size}, "
                    f"database {f.sha256} size {f.size}",
                )


class _Writer:
    """Adds members to the archive and remembers each one's size and digest."""

    def __init__(self, zf: zipfile.ZipFile, when: dt.datetime) -> None:
        self.zf = zf
        local = when.astimezone(MSK)
        self.date_time = (
            max(local.year, 1980),
            local.month,
            local.day,
            local.hour,
            local.minute,
            local.second,
        )
        self.files: list[dict[str, Any]] = []

    def _info(self, path: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, self.date_time)
        stored = PurePosixPath(path).suffix.lower() in _STORED_SUFFIXES
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        return info

    def add_bytes(self, path: str, data: bytes) -> None:
        with self.zf.open(self._info(path), "w") as member:
            member.write(data)
        self.files.append(
            {
                "path": path,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )

    def add_blob(
        self, path: str, storage: BlobStorage, doc: Document, f: DocumentFile
    ) -> None:
        digest, size = hashlib.sha256(), 0
        try:
            with (
                storage.open(f.blob_key) as reader,
                self.zf.open(
                    self._info(path), "w", force_zip64=f.size >= ZIP64_THRESHOLD
                ) as member,
            ):
                for chunk in reader:
                    digest.update(chunk)
                    size += len(chunk)
                    member.write(chunk)
        except (BlobNotFoundError, IntegrityError) as exc:
            raise _integrity_error(doc, f, str(exc)) from exc
        if digest.hexdigest() != f.sha256 or size != f.size:
            raise _integrity_error(
                doc, f, f"read sha256 {digest.hexdigest()} size {size}"
            )
        self.files.append({"path": path, "size": size, "sha256": f.sha256})


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return (
        moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
    ).isoformat()


def _rechecks(session: Session, doc: Document) -> list[dict[str, Any]]:
    """The re-verifications asked for on the card, oldest first."""
    found = []
    for rec in history(session, object_type="document", object_id=doc.id):
        recheck = Recheck.from_record(rec)
        if recheck is not None:
            found.append({**recheck.to_json(), "by": recheck.by})
    return found


def _report(
    plan: _Plan, generated_at: dt.datetime, rechecks: list[dict[str, Any]]
) -> dict[str, Any]:
    doc = plan.doc
    org, contract = doc.organisation, doc.contract
    signatures = []
    for sig in doc.signatures:
        signatures.append(
            {
                "id": str(sig.id),
                "party": sig.party.value,
                "party_title": PARTY_TITLES[sig.party],
                "signer_name": sig.signer_name,
                "signer_organisation": sig.signer_organisation,
                "certificate_serial": sig.certificate_serial,
                "certificate_not_before": _iso(sig.certificate_not_before),
                "certificate_not_after": _iso(sig.certificate_not_after),
                # The proven moment and what proves it; the signer's own
                # claim is kept apart and never used.
                "signing_time": _iso(sig.signing_time),
                "signing_time_source": sig.signing_time_source,
                "received_at": _iso(sig.received_at),
                "claimed_time": _iso(sig.claimed_time),
                "timestamp": {
                    "time": _iso(sig.timestamp_time),
                    "serial": sig.timestamp_serial,
                    "tsa": sig.tsa_name,
                }
                if sig.timestamp_time is not None
                else None,
                "evidence_level": sig.evidence_level,
                "archive_until": _iso(sig.archive_until),
                "verdict": sig.verdict.value,
                "verified_at": _iso(sig.created_at),
                "signature_file": plan.path_of.get(sig.sig_file_id),
                "received_file": plan.path_of.get(sig.received_file_id),
                "signed_pdf": plan.path_of.get(sig.pdf_file_id),
                "report": sig.report,
            }
        )
    return {
        "generator": GENERATOR,
        "generated_at": _iso(generated_at),
        "document": {
            "id": str(doc.id),
            "type": doc.doc_type.value,
            "type_title": doc.type_title,
            "number": doc.number,
            "date": doc.doc_date.isoformat(),
            "title": doc.title,
            "comment": doc.comment,
            "status": doc.status.value,
            "status_title": STATUS_TITLES[doc.status],
            "status_label": status_label(doc),
            "source": doc.source,
            "created_at": _iso(doc.created_at),
            "completed_at": _iso(doc.completed_at),
            "refusal_reason": doc.refusal_reason,
            "revocation_reason": doc.revocation_reason,
            "contract": {
                "id": str(contract.id),
                "number": contract.number,
                "signed_on": contract.signed_on.isoformat()
                if contract.signed_on
                else None,
            },
            "organisation": {
                "id": str(org.id),
                "name": org.name,
                "inn": org.inn,
                "kpp": org.kpp,
                "ogrn": org.ogrn,
            },
        },
        "files": [
            {
                "role": e.file.role.value,
                "path": e.path,
                "filename": e.file.filename,
                "content_type": e.file.content_type,
                "size": e.file.size,
                "sha256": e.file.sha256,
                "revision": e.file.revision,
            }
            for e in plan.entries
        ],
        "route": [
            {
                "position": s.position,
                "party": s.party.value,
                "party_title": PARTY_TITLES[s.party],
                "status": s.status.value,
                "completed_at": _iso(s.completed_at),
            }
            for s in doc.steps
        ],
        "signatures": signatures,
        "rechecks": rechecks,
        "summary": {
            "signatures": len(signatures),
            "valid": sum(1 for s in signatures if s["verdict"] == "valid"),
            "all_valid": bool(signatures)
            and all(s["verdict"] == "valid" for s in signatures),
        },
    }


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


def write_package(
    session: Session, *, docs: Sequence[Document], storage: BlobStorage, out: IO[bytes]
) -> None:
    """Write a ZIP of ``docs`` (already checked as visible to the caller) to ``out``.

    :param storage: the blob store.
    :param out: a writable binary stream (a spooled temporary file): on an
        error it holds a partial archive that must not be sent.
    :raises PackageIntegrityError: a stored file is missing or does not match
        the digest recorded at registration.
    """
    # printable imports pypdf, ~0.25 s on top of the app's start: paid when needed.
    from docflow.documents.printable import printable_pdf  # noqa: PLC0415 - loaded on first use: pypdf is heavy

    created_at = utcnow()
    folders: set[str] = set()
    seen: set[Any] = set()
    plans = []
    for doc in docs:
        if doc.id not in seen:
            seen.add(doc.id)
            plans.append(_plan(doc, folders))
    _preflight(storage, plans)

    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        writer = _Writer(zf, created_at)
        for plan in plans:
            for entry in plan.entries:
                writer.add_blob(entry.path, storage, plan.doc, entry.file)
            printed = plan.doc.latest_pdf or plan.doc.main_file
            try:
                printable = printable_pdf(session, doc=plan.doc, storage=storage)
            except (BlobNotFoundError, IntegrityError) as exc:
                raise _integrity_error(plan.doc, printed, str(exc)) from exc
            writer.add_bytes(f"{plan.folder}/printable.pdf", printable)
            writer.add_bytes(
                f"{plan.folder}/report.json",
                _json(_report(plan, created_at, _rechecks(session, plan.doc))),
            )
            # The validation report of each signature as made at receipt (or
            # at its latest archive renewal), in the ETSI TS 119 102-2 form.
            for sig in plan.doc.signatures:
                xml = (sig.report or {}).get("etsi_xml")
                if isinstance(xml, str):
                    writer.add_bytes(
                        f"{plan.folder}/reports/{sig.party.value}"
                        ".validation-report.xml",
                        xml.encode("utf-8"),
                    )
        manifest = {
            "generator": GENERATOR,
            "format": FORMAT,
            "created_at": _iso(created_at),
            "documents": [
                {
                    "id": str(p.doc.id),
                    "number": p.doc.number,
                    "title": p.doc.title,
                    "folder": p.folder,
                }
                for p in plans
            ],
            "files": writer.files,
        }
        zf.writestr(writer._info("manifest.json"), _json(manifest))
