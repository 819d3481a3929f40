"""The document flow: registration, the signing route, transitions, listing.

Every transition runs in the caller's transaction, re-reads the document with a
row lock (``SELECT … FOR UPDATE`` on PostgreSQL) and is guarded by the version
column as well, so two clicks or two clerks at once give one result; each writes
an audit entry and outbox events.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import Select, inspect, select, update
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import flag_modified

from docflow.access import (
    Action,
    Actor,
    Right,
    contract_rights,
    party_of,
    require,
    require_visible,
)
from docflow.access.policy import can_see, require_register
from docflow.audit import record
from docflow.contracts.models import Contract
from docflow.db import utcnow
from docflow.documents.models import (
    DocStatus,
    DocType,
    Document,
    DocumentFile,
    FileRole,
    Party,
    RouteStep,
    Signature,
    StepStatus,
)
from docflow.errors import (
    InvalidTransitionError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationError,
)
from docflow.outbox.services import (
    Announcement,
    Audience,
    announce,
    has_notification_linking,
)
from docflow.runtime import Runtime
from storage import BlobStorage, TooLargeError

log = logging.getLogger(__name__)

# What may be registered: the formats of Russian EDM practice. The first bytes
# are checked too, so a renamed executable is not stored as a "PDF".
ALLOWED_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (b"PK\x03\x04",),
    ),
    ".xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (b"PK\x03\x04",),
    ),
    ".odt": ("application/vnd.oasis.opendocument.text", (b"PK\x03\x04",)),
    ".ods": ("application/vnd.oasis.opendocument.spreadsheet", (b"PK\x03\x04",)),
    ".doc": ("application/msword", (b"\xd0\xcf\x11\xe0",)),
    ".xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0",)),
    ".zip": ("application/zip", (b"PK\x03\x04",)),
    ".xml": ("application/xml", ()),
    ".txt": ("text/plain", ()),
    ".csv": ("text/csv", ()),
    ".rtf": ("application/rtf", (b"{\\rtf",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG",)),
    ".tif": ("image/tiff", (b"II*\x00", b"MM\x00*")),
    ".tiff": ("image/tiff", (b"II*\x00", b"MM\x00*")),
}
MAX_ATTACHMENTS = 20
RETENTION = dt.timedelta(days=365 * 5)  # signed originals and signatures: 5 years


@dataclass
class Upload:
    """A file sent by a user or an integration: read once, as a stream."""

    filename: str
    stream: IO[bytes]
    content_type: str | None = None

    @classmethod
    def from_bytes(
        cls, filename: str, data: bytes, content_type: str | None = None
    ) -> Upload:
        return cls(filename, io.BytesIO(data), content_type)


def clean_filename(name: str) -> str:
    """A display name: no directories, no control characters, bounded length."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().strip(".") or "файл"
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + "." + ext) if dot else name[:200]
    return name


def _tee(chunks: Iterator[bytes], into: list[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        into.append(chunk)
        yield chunk


def _extension(filename: str | None) -> str:
    name = clean_filename(filename or "")
    return ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""


def _check_type(upload: Upload) -> tuple[str, str, Iterator[bytes]]:
    filename = clean_filename(upload.filename or "")
    ext = _extension(filename)
    if ext not in ALLOWED_TYPES:
        allowed = ", ".join(sorted(e.lstrip(".") for e in ALLOWED_TYPES))
        raise ValidationError(
            f"Файл «{filename}»: такой тип не принимается. Допустимые форматы: {allowed}.",
            code="unsupported_media_type",
            details={"filename": filename},
        )
    content_type, magics = ALLOWED_TYPES[ext]
    head = upload.stream.read(8)
    if not head:
        raise ValidationError(
            f"Файл «{filename}» пуст.",
            code="validation_error",
            details={"filename": filename},
        )
    if magics and not any(head.startswith(m) for m in magics):
        raise ValidationError(
            f"Файл «{filename}» повреждён или не соответствует расширению {ext}.",
            code="validation_error",
            details={"filename": filename},
        )

    def chunks() -> Iterator[bytes]:
        yield head
        while True:
            chunk = upload.stream.read(1024 * 1024)
            if not chunk:
                return
            yield chunk

    return filename, content_type, chunks()


def _store(
    storage: BlobStorage,
    upload: Upload,
    *,
    max_bytes: int,
    retain: bool = False,
    keep: list[bytes] | None = None,
) -> tuple[str, str, Any]:
    """Stream an upload into the store, checked and hashed on the way.

    :param keep: collects the bytes as they pass, for a check that needs the
        whole file (a PDF's structure) without reading it back from the store.
    """
    filename, content_type, chunks = _check_type(upload)
    if keep is not None:
        chunks = _tee(chunks, keep)
    try:
        info = storage.put(
            chunks,
            content_type=content_type,
            max_size=max_bytes,
            retain_until=utcnow() + RETENTION if retain else None,
        )
    except TooLargeError:
        raise PayloadTooLargeError(
            f"Файл «{filename}» больше допустимых {max_bytes // (1024 * 1024)} МБ.",
            details={"filename": filename, "max_bytes": max_bytes},
        ) from None
    return filename, content_type, info


#: Bounds on a PDF read at registration: what the flow can sign and print.
MAX_PDF_PAGES = 2000


def check_pdf(data: bytes, filename: str) -> None:
    """A «PDF» must be one the flow can sign: it parses strictly (cross-reference
    table, trailer, catalogue, page tree), is not encrypted, and has pages.
    Checked at registration, so that a document that can never be signed is
    refused at once instead of failing at the signatory's hands.

    :raises ValidationError: ``document_format``.
    """

    def refuse(why: str) -> ValidationError:
        return ValidationError(
            f"Файл «{filename}» не является корректным PDF: {why}.",
            code="document_format",
            details={"filename": filename},
        )

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=True)
        if reader.encrypted:
            raise refuse("он зашифрован, такой документ нельзя подписать")
        count = int(reader.root["/Pages"]["/Count"])
    except ValidationError:
        raise
    except (
        PdfError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        RecursionError,
        OverflowError,
    ):
        raise refuse("структура файла повреждена или не читается") from None
    if not 0 < count <= MAX_PDF_PAGES:
        raise refuse(f"в нём {count} страниц (допустимо от 1 до {MAX_PDF_PAGES})")


def file_row(
    document: Document,
    role: FileRole,
    filename: str,
    content_type: str,
    info: Any,
    revision: int = 0,
) -> DocumentFile:
    return DocumentFile(
        document=document,
        role=role,
        filename=filename,
        content_type=content_type,
        size=info.size,
        sha256=info.sha256,
        blob_key=info.key,
        revision=revision,
    )


def _parse_route(route: Sequence[str | Party]) -> list[Party]:
    try:
        parties = [Party(p) for p in route]
    except ValueError:
        raise ValidationError(
            "Маршрут подписания: допустимы стороны customer и supplier.",
            details={"field": "route"},
        ) from None
    if not parties or len(set(parties)) != len(parties):
        raise ValidationError(
            "Маршрут подписания должен перечислять каждую сторону один раз.",
            details={"field": "route"},
        )
    return parties


def document_url(base_url: str, document_id: uuid.UUID) -> str:
    return f"{base_url}/documents/{document_id}"


def _context(doc: Document, base_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "document_id": str(doc.id),
        "document_title": doc.title,
        "document_number": doc.number,
        "document_type": doc.doc_type.value,
        "contract_number": doc.contract.number,
        "status": doc.status.value,
        "url": document_url(base_url, doc.id),
        **extra,
    }


def _audience(doc: Document, *, party: Party | None, signers_only: bool) -> Audience:
    """Who hears of a document's event: the customer's people with the right
    (to sign, or to see) on its contract, the supplier's staff, or both."""
    customers = party in (None, Party.CUSTOMER)
    return Audience(
        contract_id=doc.contract_id if customers else None,
        right=(Right.SIGN if signers_only else Right.VIEW) if customers else None,
        supplier_staff=party in (None, Party.SUPPLIER),
    )


def _event(
    doc: Document,
    kind: str,
    *,
    base_url: str,
    title: str,
    party: Party | None = None,
    signers_only: bool = False,
    body: str = "",
    **extra: Any,
) -> Announcement:
    """One event of a document: its people, the webhooks of its organisation
    and the supplier's, the API's event feed."""
    return Announcement(
        kind=kind,
        title=title,
        context=_context(doc, base_url, **extra),
        audience=_audience(doc, party=party, signers_only=signers_only),
        body=body,
        link=f"/documents/{doc.id}",
        organisation_id=doc.organisation_id,
    )


def _publish(session: Session, *events: Announcement) -> None:
    """The events of one state change, in one write; their notifications are
    made by the outbox relay after the commit (``outbox.services.announce``)."""
    announce(session, events)


def _audit(
    session: Session, actor: Actor, action: str, doc: Document, **details: Any
) -> None:
    record(
        session,
        user=actor.user,
        action=action,
        object_type="document",
        object_id=doc.id,
        details={"number": doc.number, "status": doc.status.value, **details},
        request_info=actor.request_info,
        actor_label=actor.label,
    )


def register_document(
    session: Session,
    *,
    actor: Actor,
    runtime: Runtime,
    contract_id: uuid.UUID,
    doc_type: DocType | str,
    number: str,
    doc_date: dt.date,
    title: str,
    main_file: Upload,
    attachments: Sequence[Upload] = (),
    comment: str = "",
    route: Sequence[str | Party] = (Party.CUSTOMER, Party.SUPPLIER),
    source: str = "web",
    draft: bool = False,
    idempotency_key: str | None = None,
    replaces: Document | None = None,
    max_bytes: int = 50 * 1024 * 1024,
) -> Document:
    """Register a document with its files and signing route.

    The files are streamed into the blob store first (hashed on the way); the
    rows are written after, so a row never points to a missing blob. With
    ``replaces``, an unsigned earlier version is withdrawn (a signed one cannot
    be replaced). With ``idempotency_key``, a repeated call returns the first
    document instead of a duplicate.

    :raises NotFoundError: the contract is not visible to the actor.
    :raises ValidationError: bad metadata, route or file type.
    :raises PayloadTooLargeError: a file is over ``max_bytes``.
    :raises InvalidTransitionError: ``replaces`` has a signature already.
    """
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFoundError("Договор не найден.")
    require_register(session, actor, contract_id)
    if idempotency_key:
        existing = session.scalar(
            select(Document).where(
                Document.organisation_id == contract.organisation_id,
                Document.idempotency_key == idempotency_key,
            )
        )
        if existing is not None:
            return existing
    number, title = number.strip(), title.strip()
    if not number or len(number) > 100:
        raise ValidationError(
            "Укажите номер документа (до 100 символов).", details={"field": "number"}
        )
    if not title or len(title) > 500:
        raise ValidationError(
            "Укажите название документа (до 500 символов).", details={"field": "title"}
        )
    try:
        doc_type = DocType(doc_type)
    except ValueError:
        raise ValidationError(
            "Неизвестный тип документа.", details={"field": "doc_type"}
        ) from None
    parties = _parse_route(route)
    if len(attachments) > MAX_ATTACHMENTS:
        raise ValidationError(
            f"Не больше {MAX_ATTACHMENTS} приложений.", details={"field": "attachments"}
        )
    if replaces is not None:
        _withdraw_for_replacement(session, actor=actor, doc=replaces)

    storage = runtime.storage
    stored: list[str] = []
    try:
        # A PDF is checked from the bytes as they were stored, not re-read.
        pdf: list[bytes] | None = (
            [] if _extension(main_file.filename) == ".pdf" else None
        )
        main = _store(storage, main_file, max_bytes=max_bytes, keep=pdf)
        stored.append(main[2].key)
        if pdf is not None:
            check_pdf(b"".join(pdf), main[0])
        extra = []
        for upload in attachments:
            item = _store(storage, upload, max_bytes=max_bytes)
            stored.append(item[2].key)
            extra.append(item)
        doc = Document(
            organisation_id=contract.organisation_id,
            contract=contract,
            # Known to be none: the answer shows them without a query.
            signatures=[],
            doc_type=doc_type,
            number=number,
            doc_date=doc_date,
            title=title,
            comment=comment.strip(),
            status=DocStatus.DRAFT if draft else DocStatus.AWAITING,
            source=source,
            created_by_id=actor.user_id,
            created_by_party=party_of(actor),
            supersedes_id=replaces.id if replaces else None,
            idempotency_key=idempotency_key,
        )
        session.add(doc)
        session.add(file_row(doc, FileRole.MAIN, *main))
        for item in extra:
            session.add(file_row(doc, FileRole.ATTACHMENT, *item))
        for position, party in enumerate(parties, start=1):
            session.add(
                RouteStep(
                    document=doc,
                    position=position,
                    party=party,
                    status=StepStatus.CURRENT
                    if position == 1 and not draft
                    else StepStatus.WAITING,
                )
            )
        session.flush()
    except BaseException:
        _forget_blobs(storage, stored)
        raise
    _audit(
        session,
        actor,
        "document.register",
        doc,
        title=title,
        type=doc_type.value,
        route=[p.value for p in parties],
        sha256=main[2].sha256,
        source=source,
    )
    if not draft:
        _publish(session, *_turn(doc, runtime.base_url))
    return doc


def _forget_blobs(storage: BlobStorage, keys: Iterable[str]) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # noqa: BLE001 - fsck lists whatever is left as an orphan
            log.warning("could not remove blob %s of a failed registration", key)


def _turn(doc: Document, base_url: str) -> list[Announcement]:
    """«Документ ожидает подписи» to the party whose turn it is (none when
    the route is over)."""
    step = doc.current_step
    if step is None:
        return []
    return [
        _event(
            doc,
            "document.to_sign",
            base_url=base_url,
            party=step.party,
            signers_only=True,
            title=f"Документ ожидает подписи: {doc.title} № {doc.number}",
        )
    ]


def _withdraw_for_replacement(session: Session, *, actor: Actor, doc: Document) -> None:
    doc = _lock(session, doc.id)
    require(session, actor, Action.REGISTER, doc)
    if any(True for _ in doc.signatures):
        raise InvalidTransitionError(
            "Предыдущая версия документа уже подписана: заменить её нельзя. "
            "Подписанный документ можно только аннулировать по соглашению сторон."
        )
    if doc.status not in (DocStatus.DELETED, DocStatus.REFUSED):
        doc.status = DocStatus.DELETED
        doc.deleted_at = utcnow()
        _audit(session, actor, "document.superseded", doc)


# -- reading -------------------------------------------------------------------


def _whole(
    document_id: uuid.UUID, *, join_signatures: bool = False
) -> Select[Document]:
    """A document with everything its card and its JSON show: its contract
    and organisation, route and files joined to it (few, narrow rows), and
    its signatures in a second query (each carries its report: joined, it
    is repeated for every step and file) unless ``join_signatures``."""
    signatures = joinedload if join_signatures else selectinload
    return (
        select(Document)
        .where(Document.id == document_id)
        .options(
            joinedload(Document.contract),
            joinedload(Document.organisation),
            joinedload(Document.steps),
            joinedload(Document.files),
            signatures(Document.signatures),
        )
    )


def _lock(session: Session, document_id: uuid.UUID) -> Document:
    """The document, locked for a state change, then loaded whole.

    Two statements, in this order: the lock first, alone, and the load after
    it, in a statement of its own. Under READ COMMITTED a statement sees the
    data committed when it starts; a load joined to the locking statement
    would give, after waiting for another transaction's commit, the document's
    new row with the route and files from before that commit (PostgreSQL
    rechecks only the locked rows), and two signatures at once would both
    find the step still open. The signatures are joined here too, as a
    document being signed has few.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(Document.id).where(Document.id == document_id).with_for_update()
        )
    else:
        # SQLite has no row locks: a no-op write takes the database's write
        # lock for this transaction, so two clicks at once run one after the
        # other instead of both reading the same state (the second would fail
        # on the version column at commit, after its work was done).
        session.execute(
            update(Document)
            .where(Document.id == document_id)
            .values(version=Document.version)
            .execution_options(synchronize_session=False)
        )
    stmt = _whole(document_id, join_signatures=True)
    doc = (
        session.execute(stmt.execution_options(populate_existing=True))
        .unique()
        .scalar_one_or_none()
    )
    if doc is None:
        raise NotFoundError("Документ не найден.")
    return doc


def get_document(
    session: Session, *, actor: Actor, document_id: uuid.UUID, lock: bool = False
) -> Document:
    """A document the actor may see, loaded whole (see :func:`_whole`); 404
    otherwise (existence is not revealed)."""
    doc = (
        _lock(session, document_id)
        if lock
        else session.execute(_whole(document_id)).unique().scalar_one_or_none()
    )
    return require_visible(session, actor, doc)


@dataclass(frozen=True)
class UnavailableDocument:
    """What may be said about a document the actor cannot open."""

    #: ``"deleted"``, or ``"unavailable"`` (the actor's access is gone).
    reason: str
    #: «Акт … № N» and when it was deleted; only with ``"deleted"``.
    title: str | None = None
    deleted_at: dt.datetime | None = None
    #: The new version that replaced it (an act sent again), if the actor sees it.
    replaced_by: uuid.UUID | None = None


def unavailable_reason(
    session: Session, *, actor: Actor, document_id: uuid.UUID
) -> UnavailableDocument | None:
    """Why a document the actor cannot open is not there, said only to whom it
    may be: ``"deleted"`` to an actor who may see the contract's documents (or
    was notified about this one), ``"unavailable"`` to one who was notified
    about it but has lost access since; ``None`` otherwise, and the document's
    existence stays unrevealed (404).
    """
    doc = session.get(Document, document_id)
    if doc is None or actor.user_id is None:
        return None

    notified = has_notification_linking(
        session, user_id=actor.user_id, link=f"/documents/{doc.id}"
    )
    sees_contract = contract_rights(session, actor, doc.contract_id).view
    if doc.status == DocStatus.DELETED and (sees_contract or notified):
        successor = session.scalar(
            select(Document).where(Document.supersedes_id == doc.id).limit(1)
        )
        return UnavailableDocument(
            "deleted",
            f"{doc.title} № {doc.number}",
            doc.deleted_at,
            successor.id
            if successor is not None and can_see(session, actor, successor)
            else None,
        )
    return UnavailableDocument("unavailable") if notified else None


def list_documents_for_contract(
    session: Session, *, contract_id: uuid.UUID, user: Any, limit: int = 50
) -> list[Document]:
    actor = Actor.for_user(user)
    if not contract_rights(session, actor, contract_id).view:
        return []
    return list(
        session.scalars(
            select(Document)
            .where(
                Document.contract_id == contract_id,
                Document.status != DocStatus.DELETED,
            )
            .order_by(Document.created_at.desc())
            .limit(limit)
        )
    )


# -- transitions ---------------------------------------------------------------


def _party(actor: Actor) -> Party:
    return party_of(actor)


def _require_sign_right(session: Session, actor: Actor, doc: Document) -> None:
    require(session, actor, Action.SIGN, doc)


def require_turn(session: Session, actor: Actor, doc: Document) -> RouteStep:
    """The route's current step, when it is ``actor``'s party's turn and they may sign."""
    if doc.status not in (DocStatus.AWAITING, DocStatus.PARTLY_SIGNED):
        raise InvalidTransitionError(
            f"Документ в состоянии «{status_title(doc.status)}»: "
            "подписание или отказ невозможны."
        )
    step = doc.current_step
    if step is None or step.party != _party(actor):
        raise InvalidTransitionError("Сейчас очередь подписи другой стороны.")
    _require_sign_right(session, actor, doc)
    return step


def submit(
    session: Session, *, actor: Actor, document_id: uuid.UUID, runtime: Runtime
) -> Document:
    """Send a draft on its route."""
    doc = get_document(session, actor=actor, document_id=document_id, lock=True)
    require(session, actor, Action.REGISTER, doc)
    if doc.status != DocStatus.DRAFT:
        raise InvalidTransitionError("Отправить на подпись можно только черновик.")
    doc.status = DocStatus.AWAITING
    doc.steps[0].status = StepStatus.CURRENT
    session.flush()
    _audit(session, actor, "document.submit", doc)
    _publish(session, *_turn(doc, runtime.base_url))
    return doc


def record_signature(
    session: Session,
    *,
    actor: Actor,
    doc: Document,
    step: RouteStep,
    signature: Signature,
    runtime: Runtime,
) -> Document:
    """Advance the route after a verified signature (called by the signing flow)."""
    base_url = runtime.base_url
    now = utcnow()
    step.status = StepStatus.SIGNED
    step.completed_at = now
    session.add(signature)
    later = [s for s in doc.steps if s.position > step.position]
    if later:
        later[0].status = StepStatus.CURRENT
        # Written although unchanged, so that both steps go in one UPDATE
        # (the ORM batches rows that set the same columns); only when loaded,
        # as the API's eager load has it.
        if "completed_at" in inspect(later[0]).dict:
            flag_modified(later[0], "completed_at")
        doc.status = DocStatus.PARTLY_SIGNED
    else:
        doc.status = DocStatus.SIGNED
        doc.completed_at = now
    session.flush()
    _audit(
        session,
        actor,
        "document.sign",
        doc,
        party=step.party.value,
        signer=signature.signer_name,
        serial=signature.certificate_serial,
        verdict=signature.verdict.value,
        **(
            {"power_of_attorney": signature.report["power_of_attorney"]["label"]}
            if signature.report.get("power_of_attorney")
            else {}
        ),
    )
    signed = _event(
        doc,
        "document.signed",
        base_url=base_url,
        signer_name=signature.signer_name,
        title=f"{step.party_title} подписал документ: {doc.title} № {doc.number}",
    )
    if doc.status == DocStatus.SIGNED:
        completed = _event(
            doc,
            "document.completed",
            base_url=base_url,
            title=f"Документ подписан обеими сторонами: {doc.title} № {doc.number}",
        )
        _publish(session, signed, completed)
    else:
        _publish(session, signed, *_turn(doc, base_url))
    _run_signature_hooks(session, doc, step, runtime)
    return doc


# -- hooks of the modules that feed documents ------------------------------------
#: ``hook(session, doc, step, runtime)``, called after each signature of a
#: document of the hook's type is recorded, in the signing transaction;
#: ``doc.status`` is ``SIGNED`` once the route is complete. A feeding module
#: (service orders: the invoice after the offer) registers its hook when its
#: blueprint is registered; the core never imports the module. A hook adds to
#: the transaction and must not fail it: an exception it lets out rolls the
#: signature back (no savepoint here: releasing one would run the work queued
#: for after the commit, ``docflow.db.enqueue_after_commit``, too early).
SignatureHook = Callable[[Session, Document, RouteStep, Runtime], None]
_SIGNATURE_HOOKS: dict[DocType, list[SignatureHook]] = {}


def on_signature(doc_type: DocType | str, hook: SignatureHook) -> None:
    """Register ``hook`` for the signatures of ``doc_type`` (once: registering
    the same function again changes nothing)."""
    hooks = _SIGNATURE_HOOKS.setdefault(DocType(doc_type), [])
    if hook not in hooks:
        hooks.append(hook)


def _run_signature_hooks(
    session: Session, doc: Document, step: RouteStep, runtime: Runtime
) -> None:
    for hook in tuple(_SIGNATURE_HOOKS.get(doc.doc_type, ())):
        hook(session, doc, step, runtime)


def refuse(
    session: Session,
    *,
    actor: Actor,
    document_id: uuid.UUID,
    reason: str,
    runtime: Runtime,
) -> Document:
    """Refuse to sign (отказ в подписании), by the party whose turn it is."""
    reason = reason.strip()
    if len(reason) < 3:
        raise ValidationError("Укажите причину отказа.", details={"field": "reason"})
    doc = get_document(session, actor=actor, document_id=document_id, lock=True)
    step = require_turn(session, actor, doc)
    step.status = StepStatus.REFUSED
    step.completed_at = utcnow()
    doc.status = DocStatus.REFUSED
    doc.refusal_reason = reason[:2000]
    doc.refused_by = step.party
    session.flush()
    _audit(session, actor, "document.refuse", doc, reason=reason)
    _publish(
        session,
        _event(
            doc,
            "document.refused",
            base_url=runtime.base_url,
            reason=reason,
            refused_by=step.party_title,
            title=f"Отказ в подписании: {doc.title} № {doc.number}",
            body=reason,
        ),
    )
    return doc


def request_revocation(
    session: Session,
    *,
    actor: Actor,
    document_id: uuid.UUID,
    reason: str,
    runtime: Runtime,
) -> Document:
    """Ask to annul a signed document; the other party must agree."""
    reason = reason.strip()
    if len(reason) < 3:
        raise ValidationError(
            "Укажите причину аннулирования.", details={"field": "reason"}
        )
    doc = get_document(session, actor=actor, document_id=document_id, lock=True)
    if doc.status not in (DocStatus.SIGNED, DocStatus.PARTLY_SIGNED):
        raise InvalidTransitionError("Аннулировать можно только подписанный документ.")
    _require_sign_right(session, actor, doc)
    doc.status = DocStatus.REVOCATION_REQUESTED
    doc.revocation_reason = reason[:2000]
    doc.revocation_requested_by = _party(actor)
    session.flush()
    _audit(session, actor, "document.revocation_request", doc, reason=reason)
    _publish(
        session,
        _event(
            doc,
            "document.revocation_requested",
            base_url=runtime.base_url,
            reason=reason,
            requested_by="Клиент" if party_of(actor) == Party.CUSTOMER else "Поставщик",
            title=f"Предложено аннулировать документ: {doc.title} № {doc.number}",
            body=reason,
        ),
    )
    return doc


def answer_revocation(
    session: Session,
    *,
    actor: Actor,
    document_id: uuid.UUID,
    accept: bool,
    runtime: Runtime,
) -> Document:
    """The other party agrees (document revoked) or declines (back to signed)."""
    doc = get_document(session, actor=actor, document_id=document_id, lock=True)
    if doc.status != DocStatus.REVOCATION_REQUESTED:
        raise InvalidTransitionError("Запроса на аннулирование нет.")
    if doc.revocation_requested_by == _party(actor):
        raise InvalidTransitionError("Ответить на запрос должна другая сторона.")
    _require_sign_right(session, actor, doc)
    if accept:
        doc.status = DocStatus.REVOKED
        session.flush()
        _audit(session, actor, "document.revoke", doc)
        _publish(
            session,
            _event(
                doc,
                "document.revoked",
                base_url=runtime.base_url,
                title=f"Документ аннулирован: {doc.title} № {doc.number}",
            ),
        )
    else:
        all_signed = all(s.status == StepStatus.SIGNED for s in doc.steps)
        doc.status = DocStatus.SIGNED if all_signed else DocStatus.PARTLY_SIGNED
        session.flush()
        _audit(session, actor, "document.revocation_decline", doc)
    return doc


def delete_document(
    session: Session, *, actor: Actor, document_id: uuid.UUID
) -> Document:
    """Delete a document nobody has signed (soft: kept for the audit)."""
    doc = get_document(session, actor=actor, document_id=document_id, lock=True)
    if doc.status == DocStatus.DELETED:
        raise NotFoundError("Документ не найден.")
    if doc.signatures:
        raise InvalidTransitionError(
            "Документ уже подписан и не может быть удалён: его можно только аннулировать "
            "по соглашению сторон."
        )
    # Only the party that registered it, with the right to register.
    require(session, actor, Action.DELETE, doc)
    doc.status = DocStatus.DELETED
    doc.deleted_at = utcnow()
    session.flush()
    _audit(session, actor, "document.delete", doc)
    return doc


STATUS_TITLES = {
    DocStatus.DRAFT: "Черновик",
    DocStatus.AWAITING: "Ожидает подписи",
    DocStatus.PARTLY_SIGNED: "Подписан частично",
    DocStatus.SIGNED: "Подписан обеими сторонами",
    DocStatus.REFUSED: "Отказ в подписании",
    DocStatus.REVOCATION_REQUESTED: "Запрошено аннулирование",
    DocStatus.REVOKED: "Аннулирован",
    DocStatus.DELETED: "Удалён",
}


def status_title(status: DocStatus) -> str:
    return STATUS_TITLES[status]


def status_label(doc: Document) -> str:
    """The status as a signatory reads it: «Ожидает подписи клиента», «Подписан клиентом»…"""
    if doc.status in (DocStatus.AWAITING, DocStatus.PARTLY_SIGNED):
        step = doc.current_step
        signed = [s for s in doc.steps if s.status == StepStatus.SIGNED]
        waiting = "клиента" if step and step.party == Party.CUSTOMER else "поставщика"
        if signed:
            by = "клиентом" if signed[-1].party == Party.CUSTOMER else "поставщиком"
            return f"Подписан {by}, ожидает подписи {waiting}"
        return f"Ожидает подписи {waiting}"
    if doc.status == DocStatus.SIGNED:
        # A route of one party is signed by that party, not «by both».
        parties = {s.party for s in doc.steps}
        if parties == {Party.CUSTOMER}:
            return "Подписан клиентом"
        if parties == {Party.SUPPLIER}:
            return "Подписан поставщиком"
    return STATUS_TITLES[doc.status]
