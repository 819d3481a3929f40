"""Appeals: the topics, filing (the appeal's PDF registered in the document
flow), the statuses and their history, the clerk's queue and the answer.

Statuses: a legally significant appeal is *awaiting signature* until the
customer has signed its document, then *registered*; any other is registered
at once. The supplier takes it *in work*, *answers* (the answer is a document
of type ``appeal_answer`` linked to the appeal) and *closes* it; the customer
may *withdraw* it before the answer.

The document core knows no document without a signing route, so the honest
routes are: a legally significant appeal is signed by the customer (route
«клиент»); any other is registered by the service for the supplier to accept
with its signature (route «поставщик» — the supplier's signature acknowledges
receipt, and the clerks are told a document is waiting). The answer's route is
the supplier's signature, made by the supplier's key when one is configured.

Every change writes an audit entry and publishes an event through the outbox;
the answer notifies the customer's users (``appeal.answered``: in the cabinet,
and by e-mail and SMS as each subscribed).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from docflow.access import (
    Action,
    Actor,
    Right,
    appeal_contract_filter,
    contract_rights,
    handles_appeals,
    manages_appeal_topics,
    may,
    may_see_appeal,
    require_appeal_filing,
    supplier_organisation,
    users_with_right,
    visible_contract_ids,
)
from docflow.appeals import pdf
from docflow.appeals.models import (
    APPEAL_STATUS_TITLES,
    Appeal,
    AppealCounter,
    AppealHistory,
    AppealStatus,
    AppealTopic,
)
from docflow.audit import record
from docflow.contracts.models import Contract, Organisation
from docflow.db import blobs_of_transaction, utcnow
from docflow.documents.models import DocStatus, Document, DocumentFile, FileRole
from docflow.documents.services import (
    Upload,
    clean_filename,
    delete_document,
    register_document,
)
from docflow.errors import (
    ConflictError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from docflow.inputs import CONTROL_CHARACTERS
from docflow.outbox.services import publish
from docflow.outbox.webhooks import webhook_targets
from docflow.runtime import Runtime

MAX_TEXT = 5000
MIN_TEXT = 10
MAX_ANSWER = 10000
MAX_FILES = 5
MAX_TOPIC_HOURS = 24 * 90
OPEN = (AppealStatus.REGISTERED, AppealStatus.IN_WORK)
_SURROGATE = re.compile("[\ud800-\udfff]")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ()\-]{5,30}$")


# -- checks of what a person typed ---------------------------------------------------


def _clean_text(
    value: Any, *, field_name: str, label: str, min_len: int, max_len: int
) -> str:
    text = value if isinstance(value, str) else ""
    text = text.replace("\r\n", "\n").strip()
    if CONTROL_CHARACTERS.search(text) or _SURROGATE.search(text):
        raise ValidationError(
            f"Поле «{label}» содержит недопустимые управляющие символы.",
            details={"field": field_name},
        )
    if len(text) < min_len:
        raise ValidationError(
            f"Заполните поле «{label}» (не короче {min_len} символов).",
            details={"field": field_name},
        )
    if len(text) > max_len:
        raise ValidationError(
            f"Поле «{label}» длиннее {max_len} символов.",
            details={"field": field_name, "max_length": max_len},
        )
    return text


def normalize_phone(value: Any) -> str:
    """A Russian number as +7XXXXXXXXXX; another country's as + and its
    10–15 digits.

    :raises ValidationError: not a telephone number.
    """
    raw = value.strip() if isinstance(value, str) else ""
    digits = re.sub(r"\D", "", raw)
    if not _PHONE_CHARS.match(raw) or not 10 <= len(digits) <= 15:
        raise ValidationError(
            "Укажите телефон контактного лица, например +7 495 123-45-67.",
            details={"field": "contact_phone"},
        )
    if len(digits) == 10:
        digits = "7" + digits
    elif len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    return "+" + digits


def is_overdue(appeal: Appeal, now: dt.datetime | None = None) -> bool:
    """Open (registered or in work) and past its deadline."""
    if appeal.status not in OPEN or appeal.due_at is None:
        return False
    return _aware(appeal.due_at) < (now or utcnow())


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite gives back naive datetimes: every stored time is UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def status_title(status: AppealStatus | str) -> str:
    return APPEAL_STATUS_TITLES[AppealStatus(status)]


# -- topics --------------------------------------------------------------------------


def list_topics(session: Session, *, active_only: bool = True) -> list[AppealTopic]:
    stmt = select(AppealTopic).order_by(AppealTopic.position, AppealTopic.title)
    if active_only:
        stmt = stmt.where(AppealTopic.is_active.is_(True))
    return list(session.scalars(stmt))


def get_topic(session: Session, topic_id: uuid.UUID) -> AppealTopic:
    topic = session.get(AppealTopic, topic_id)
    if topic is None:
        raise NotFoundError("Тематика не найдена.")
    return topic


def save_topic(
    session: Session,
    *,
    actor: Actor,
    topic_id: uuid.UUID | None = None,
    title: str,
    description: str = "",
    is_significant: bool = False,
    answer_hours: int = 72,
    is_active: bool = True,
    position: int = 0,
) -> AppealTopic:
    """Add or change a topic (the supplier's administrator).

    :raises PermissionDeniedError: not the supplier's administrator.
    :raises ValidationError: bad title or hours, or the title is taken.
    """
    if not manages_appeal_topics(actor):
        raise PermissionDeniedError(
            "Тематики обращений ведёт администратор поставщика."
        )
    title = _clean_text(
        title, field_name="title", label="Название", min_len=3, max_len=200
    )
    description = _clean_text(
        description, field_name="description", label="Описание", min_len=0, max_len=2000
    )
    if not isinstance(answer_hours, int) or not 1 <= answer_hours <= MAX_TOPIC_HOURS:
        raise ValidationError(
            f"Срок ответа — целое число часов от 1 до {MAX_TOPIC_HOURS}.",
            details={"field": "answer_hours"},
        )
    # Compared here, not in SQL: SQLite's lower() knows only ASCII letters.
    clash = next(
        (
            tid
            for tid, other in session.execute(select(AppealTopic.id, AppealTopic.title))
            if other.casefold() == title.casefold()
        ),
        None,
    )
    if clash is not None and clash != topic_id:
        raise ValidationError(
            "Тематика с таким названием уже есть.", details={"field": "title"}
        )
    topic = get_topic(session, topic_id) if topic_id else AppealTopic()
    topic.title, topic.description = title, description
    topic.is_significant, topic.answer_hours = bool(is_significant), answer_hours
    topic.is_active, topic.position = bool(is_active), position
    if topic_id is None:
        session.add(topic)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ValidationError(
            "Тематика с таким названием уже есть.", details={"field": "title"}
        ) from None
    record(
        session,
        user=actor.user,
        action="appeal_topic.save",
        object_type="appeal_topic",
        object_id=topic.id,
        details={
            "title": title,
            "significant": topic.is_significant,
            "hours": answer_hours,
            "active": topic.is_active,
        },
        request_info=actor.request_info,
        actor_label=actor.label,
    )
    return topic


# -- filing --------------------------------------------------------------------------


def filing_contracts(session: Session, *, actor: Actor) -> list[Contract]:
    """The contracts the actor may file an appeal on (those it sees)."""
    if handles_appeals(actor):
        return []
    return list(
        session.scalars(
            select(Contract)
            .where(Contract.id.in_(visible_contract_ids(actor, Right.VIEW)))
            .order_by(Contract.number)
        )
    )


def signable_contract_ids(session: Session, *, actor: Actor) -> set[uuid.UUID]:
    """Of those, the ones the actor may sign on (a legally significant topic)."""
    return set(session.scalars(visible_contract_ids(actor, Right.SIGN)))


def _next_number(session: Session, year: int) -> str:
    """«ОБР-2026-000123»: the year's counter incremented under a lock, so two
    appeals filed at once get two numbers (the second waits for the first)."""
    for _ in range(5):
        bumped = session.execute(
            update(AppealCounter)
            .where(AppealCounter.year == year)
            .values(last=AppealCounter.last + 1)
            .execution_options(synchronize_session=False)
        )
        if bumped.rowcount:  # type: ignore[attr-defined]
            last = session.scalar(
                select(AppealCounter.last)
                .where(AppealCounter.year == year)
                .execution_options(populate_existing=True)
            )
            return f"ОБР-{year}-{int(last or 0):06d}"
        try:
            with session.begin_nested():
                session.add(AppealCounter(year=year, last=0))
                session.flush()
        except IntegrityError:
            pass  # another appeal opened the year first: bump its counter
    raise InvalidTransitionError(  # pragma: no cover - five collisions in a row
        "Не удалось присвоить номер обращению: повторите попытку.",
        code="appeal_number_busy",
    )


def _history(
    session: Session, appeal: Appeal, actor_label: str, note: str = ""
) -> None:
    session.add(
        AppealHistory(
            appeal_id=appeal.id,
            status=appeal.status,
            actor_label=actor_label[:300],
            note=note,
        )
    )


def _context(appeal: Appeal, base_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "appeal_id": str(appeal.id),
        "appeal_number": appeal.number,
        "appeal_subject": appeal.topic.title,
        "contract_number": appeal.contract.number,
        "status": appeal.status.value,
        "url": f"{base_url}/appeals/{appeal.id}",
        **extra,
    }


def _publish(
    session: Session,
    appeal: Appeal,
    kind: str,
    *,
    base_url: str,
    title: str,
    users: Sequence[Any] = (),
    body: str = "",
    **extra: Any,
) -> None:
    """The event through the outbox: to ``users`` (only the answer notifies
    people) and to the webhooks subscribed to the kind."""
    context = _context(appeal, base_url, **extra)
    publish(
        session,
        kind=kind,
        users=users,
        context=context,
        title=title,
        body=body,
        link=f"/appeals/{appeal.id}",
        organisation_id=appeal.organisation_id,
        payload=context,
        webhooks=webhook_targets(session, appeal.organisation_id, kind),
    )


def _audit(
    session: Session, actor: Actor, action: str, appeal: Appeal, **details: Any
) -> None:
    record(
        session,
        user=actor.user,
        action=action,
        object_type="appeal",
        object_id=appeal.id,
        details={"number": appeal.number, "status": appeal.status.value, **details},
        request_info=actor.request_info,
        actor_label=actor.label,
    )


def file_appeal(
    session: Session,
    *,
    actor: Actor,
    runtime: Runtime,
    topic_id: uuid.UUID,
    contract_id: uuid.UUID,
    text: str,
    contact_name: str,
    contact_phone: str,
    attachments: Sequence[Upload] = (),
    max_bytes: int = 50 * 1024 * 1024,
    source: str = "web",
    submission_key: str | None = None,
    now: dt.datetime | None = None,
) -> Appeal:
    """File an appeal: a number, the PDF with the attachments registered as a
    document of type ``appeal``. A legally significant appeal waits for the
    customer's signature; any other is registered at once.

    The attachments are streamed into the blob store with the checks of
    document files (type by extension and first bytes, ``max_bytes`` each); a
    refused one leaves nothing behind.

    :raises NotFoundError: the contract or topic is not there for the actor.
    :raises PermissionDeniedError: the supplier's side; a legally significant
        topic without the right to sign; a key without ``write``.
    :raises ValidationError: the text, contact, files.
    :raises PayloadTooLargeError: a file over ``max_bytes``.
    :raises ConflictError: ``appeal_already_filed``, the same
        ``submission_key`` (the form sent twice) filed an appeal already;
        ``details["appeal_id"]`` names it.
    """
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFoundError("Договор не найден.", details={"field": "contract_id"})
    topic = session.get(AppealTopic, topic_id)
    if topic is None or not topic.is_active:
        raise ValidationError(
            "Выберите тематику обращения из списка.", details={"field": "topic_id"}
        )
    require_appeal_filing(session, actor, contract.id, significant=topic.is_significant)
    text = _clean_text(
        text,
        field_name="text",
        label="Текст обращения",
        min_len=MIN_TEXT,
        max_len=MAX_TEXT,
    )
    contact_name = _clean_text(
        contact_name,
        field_name="contact_name",
        label="Контактное лицо",
        min_len=2,
        max_len=300,
    )
    phone = normalize_phone(contact_phone)
    if len(attachments) > MAX_FILES:
        raise ValidationError(
            f"К обращению можно приложить не больше {MAX_FILES} файлов.",
            code="too_many_files",
            details={"field": "attachments"},
        )
    names = [clean_filename(u.filename or "") for u in attachments]
    now = now or utcnow()
    # The counter's lock orders two submissions of one form: the second sees
    # the first's appeal here and files nothing.
    number = _next_number(session, now.year)
    if submission_key:
        earlier = find_submission(
            session,
            organisation_id=contract.organisation_id,
            submission_key=submission_key,
        )
        if earlier is not None:
            raise ConflictError(
                f"Это обращение уже подано: № {earlier.number}.",
                code="appeal_already_filed",
                details={"appeal_id": str(earlier.id), "number": earlier.number},
            )
    supplier = supplier_organisation(session)
    supplier_name = supplier.name if supplier is not None else "Гарантирующий поставщик"
    organisation = session.get(Organisation, contract.organisation_id)
    assert organisation is not None

    sheet = pdf.AppealSheet(
        number=number,
        registered=now,
        supplier=supplier_name,
        organisation=organisation.name,
        inn=organisation.inn,
        contract=contract.number,
        topic=topic.title,
        significant=topic.is_significant,
        answer_hours=topic.answer_hours,
        contact_name=contact_name,
        contact_phone=phone,
        author=actor.user.full_name if actor.user else actor.label,
        text=text,
        attachments=names,
    )
    # A legally significant appeal is the customer's own document, signed by
    # it; any other is registered by the service for the supplier to accept.
    doc_actor = (
        actor
        if topic.is_significant
        else Actor.system(f"служба обращений (по поручению: {actor.label})"[:300])
    )
    doc = register_document(
        session,
        actor=doc_actor,
        runtime=runtime,
        contract_id=contract.id,
        doc_type="appeal",
        number=number,
        doc_date=now.date(),
        title=f"Обращение № {number}: {topic.title}",
        main_file=Upload.from_bytes(
            f"{number}.pdf", pdf.render_appeal(sheet), "application/pdf"
        ),
        attachments=attachments,
        route=("customer",) if topic.is_significant else ("supplier",),
        source="appeals",
        max_bytes=max_bytes,
        comment=f"Тематика: {topic.title}. Контакт: {contact_name}, {phone}.",
    )
    appeal = Appeal(
        number=number,
        organisation_id=contract.organisation_id,
        contract=contract,
        topic=topic,
        is_significant=topic.is_significant,
        text=text,
        contact_name=contact_name,
        contact_phone=phone,
        source=source,
        created_by_id=actor.user_id,
        document_id=doc.id,
        submission_key=submission_key,
        status=(
            AppealStatus.AWAITING_SIGNATURE
            if topic.is_significant
            else AppealStatus.REGISTERED
        ),
    )
    if not topic.is_significant:
        appeal.registered_at = now
        appeal.due_at = now + dt.timedelta(hours=topic.answer_hours)
    session.add(appeal)
    # Should anything below fail, the transaction's rollback removes the
    # files just stored: no blob is left without its row.
    for row in doc.files:
        blobs_of_transaction(session, runtime.storage, row.blob_key)
    session.flush()
    _history(
        session,
        appeal,
        actor.label,
        "Юридически значимое обращение: нужна электронная подпись заявителя"
        if topic.is_significant
        else "",
    )
    _audit(
        session,
        actor,
        "appeal.file",
        appeal,
        topic=topic.title,
        contract=contract.number,
        document_id=str(doc.id),
        files=len(names),
    )
    _publish(
        session,
        appeal,
        "appeal.filed",
        base_url=runtime.base_url,
        title=f"Подано обращение № {number}",
    )
    session.flush()
    return appeal


def find_submission(
    session: Session, *, organisation_id: uuid.UUID, submission_key: str
) -> Appeal | None:
    return session.scalar(
        select(Appeal).where(
            Appeal.organisation_id == organisation_id,
            Appeal.submission_key == submission_key,
        )
    )


# -- reading -------------------------------------------------------------------------


def get_appeal(
    session: Session, *, actor: Actor, appeal_id: uuid.UUID, lock: bool = False
) -> Appeal:
    """An appeal the actor may see; 404 otherwise (existence not revealed)."""
    if lock:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(
                select(Appeal.id).where(Appeal.id == appeal_id).with_for_update()
            )
        else:
            # SQLite: a no-op write takes the write lock for this transaction.
            session.execute(
                update(Appeal)
                .where(Appeal.id == appeal_id)
                .values(status=Appeal.status)
                .execution_options(synchronize_session=False)
            )
        appeal = session.execute(
            select(Appeal)
            .where(Appeal.id == appeal_id)
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
    else:
        appeal = session.get(Appeal, appeal_id)
    if appeal is None or not may_see_appeal(session, actor, appeal.contract_id):
        raise NotFoundError("Обращение не найдено.")
    return appeal


def documents_of(
    session: Session, appeal: Appeal
) -> tuple[Document | None, Document | None]:
    """The appeal's document and the answer's."""
    doc = session.get(Document, appeal.document_id) if appeal.document_id else None
    answer = (
        session.get(Document, appeal.answer_document_id)
        if appeal.answer_document_id
        else None
    )
    return doc, answer


def appeal_file(
    session: Session,
    *,
    actor: Actor,
    appeal_id: uuid.UUID,
    file_id: uuid.UUID,
    answer_only: bool = False,
) -> DocumentFile:
    """A file of the appeal's or the answer's document (the PDF or an
    attachment), for an actor that sees the appeal; 404 for anything else."""
    appeal = get_appeal(session, actor=actor, appeal_id=appeal_id)
    owners = {appeal.answer_document_id}
    if not answer_only:
        owners.add(appeal.document_id)
    owners.discard(None)
    row = session.get(DocumentFile, file_id)
    if (
        row is None
        or row.document_id not in owners
        or row.role not in (FileRole.MAIN, FileRole.ATTACHMENT)
    ):
        raise NotFoundError("Файл не найден.")
    return row


@dataclass
class AppealFilters:
    q: str = ""
    status: AppealStatus | None = None
    topic_id: uuid.UUID | None = None
    contract_id: uuid.UUID | None = None
    organisation: str = ""
    contract_number: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    overdue: bool = False
    page: int = 1
    problems: list[str] = field(default_factory=list)

    @classmethod
    def from_args(cls, args: Any) -> AppealFilters:
        """From a query string; a malformed value is dropped and named in
        ``problems`` (a page forgives, the API refuses)."""
        f = cls()

        def text(name: str, limit: int) -> str:
            value = str(args.get(name, "") or "")
            if (
                len(value) > limit
                or CONTROL_CHARACTERS.search(value)
                or _SURROGATE.search(value)
            ):
                f.problems.append(name)
                return ""
            return value.strip()

        f.q = text("q", 200)
        f.organisation = text("organisation", 300)
        f.contract_number = text("contract", 50)
        status = args.get("status") or ""
        if status:
            try:
                f.status = AppealStatus(status)
            except ValueError:
                f.problems.append("status")
        for name in ("topic_id", "contract_id"):
            value = args.get(name) or ""
            if value:
                try:
                    setattr(f, name, uuid.UUID(str(value)))
                except ValueError:
                    f.problems.append(name)
        for name in ("date_from", "date_to"):
            value = args.get(name) or ""
            if value:
                try:
                    setattr(f, name, dt.date.fromisoformat(str(value)))
                except ValueError:
                    f.problems.append(name)
        f.overdue = str(args.get("overdue", "")).lower() in ("1", "true", "on", "yes")
        page = str(args.get("page", "1") or "1")
        f.page = int(page) if page.isdigit() and 0 < int(page) < 100000 else 1
        return f


@dataclass(frozen=True)
class AppealPage:
    items: list[Appeal]
    total: int
    page: int
    pages: int


def _moscow_day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(
        day, dt.time(), tzinfo=dt.timezone(dt.timedelta(hours=3))
    )


def search_appeals(
    session: Session,
    *,
    actor: Actor,
    filters: AppealFilters,
    queue: bool = False,
    per_page: int = 50,
    now: dt.datetime | None = None,
    runtime: Runtime,
) -> AppealPage:
    """The appeals the actor sees, filtered. ``queue``: the clerk's order (by
    deadline, the overdue first); otherwise the newest first."""
    sync_signatures(session, runtime=runtime)
    now = now or utcnow()
    stmt = select(Appeal).where(appeal_contract_filter(actor, Appeal.contract_id))
    if queue and not handles_appeals(actor):
        stmt = stmt.where(false())
    if filters.q:
        like = (
            "%"
            + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            + "%"
        )
        stmt = stmt.where(
            or_(
                Appeal.number.ilike(like, escape="\\"),
                Appeal.text.ilike(like, escape="\\"),
            )
        )
    if filters.status is not None:
        stmt = stmt.where(Appeal.status == filters.status)
    if filters.topic_id is not None:
        stmt = stmt.where(Appeal.topic_id == filters.topic_id)
    if filters.contract_id is not None:
        stmt = stmt.where(Appeal.contract_id == filters.contract_id)
    if filters.organisation and handles_appeals(actor):
        like = "%" + filters.organisation.replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(
            Appeal.organisation_id.in_(
                select(Organisation.id).where(
                    or_(Organisation.inn.like(like), Organisation.name.ilike(like))
                )
            )
        )
    if filters.contract_number:
        like = "%" + filters.contract_number.replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(
            Appeal.contract_id.in_(
                select(Contract.id).where(Contract.number.ilike(like))
            )
        )
    if filters.date_from is not None:
        stmt = stmt.where(Appeal.created_at >= _moscow_day_start(filters.date_from))
    if filters.date_to is not None:
        stmt = stmt.where(
            Appeal.created_at
            < _moscow_day_start(filters.date_to + dt.timedelta(days=1))
        )
    if filters.overdue:
        stmt = stmt.where(Appeal.status.in_(OPEN), Appeal.due_at < now)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if queue:
        # Open appeals first, by deadline; the answered, closed and withdrawn after.
        stmt = stmt.order_by(
            Appeal.status.not_in(OPEN),
            Appeal.due_at.is_(None),
            Appeal.due_at,
            Appeal.created_at,
        )
    else:
        stmt = stmt.order_by(Appeal.created_at.desc(), Appeal.number.desc())
    pages = max(1, (total + per_page - 1) // per_page)
    page = min(filters.page, pages)
    items = list(
        session.scalars(
            stmt.options(
                selectinload(Appeal.topic),
                selectinload(Appeal.contract),
                selectinload(Appeal.organisation),
            )
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    return AppealPage(items, total, page, pages)


# -- transitions ---------------------------------------------------------------------


def sync_signatures(session: Session, *, runtime: Runtime) -> int:
    """Bring the appeals waiting for the customer's signature up to date with
    their documents: signed → registered (the deadline runs from the
    signature); refused or deleted → withdrawn. Each appeal moves once (a
    guarded update), however many pages ask at the same moment."""
    rows = session.execute(
        select(Appeal.id, Document.status, Document.completed_at)
        .join(Document, Document.id == Appeal.document_id)
        .where(
            Appeal.status == AppealStatus.AWAITING_SIGNATURE,
            Document.status.not_in([DocStatus.AWAITING, DocStatus.DRAFT]),
        )
    ).all()
    moved = 0
    system = Actor.system("служба обращений")
    for appeal_id, doc_status, completed_at in rows:
        if doc_status in (DocStatus.SIGNED, DocStatus.PARTLY_SIGNED):
            appeal = session.get(Appeal, appeal_id)
            assert appeal is not None
            registered = _aware(completed_at) if completed_at else utcnow()
            values: dict[str, Any] = {
                "status": AppealStatus.REGISTERED,
                "registered_at": registered,
                "due_at": registered + dt.timedelta(hours=appeal.topic.answer_hours),
            }
            note = "Подписано электронной подписью заявителя"
        else:
            values = {"status": AppealStatus.WITHDRAWN, "withdrawn_at": utcnow()}
            note = (
                "Заявитель отказался подписать обращение"
                if doc_status == DocStatus.REFUSED
                else "Документ обращения удалён до подписания"
            )
        done = session.execute(
            update(Appeal)
            .where(
                Appeal.id == appeal_id, Appeal.status == AppealStatus.AWAITING_SIGNATURE
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            continue
        appeal = session.execute(
            select(Appeal)
            .where(Appeal.id == appeal_id)
            .execution_options(populate_existing=True)
        ).scalar_one()
        _history(session, appeal, system.label, note)
        _audit(
            session,
            system,
            "appeal.signed"
            if appeal.status == AppealStatus.REGISTERED
            else "appeal.withdraw",
            appeal,
            note=note,
        )
        _publish(
            session,
            appeal,
            f"appeal.{appeal.status.value}",
            base_url=runtime.base_url,
            title=f"Обращение № {appeal.number}: {appeal.status_title}",
        )
        moved += 1
    session.flush()
    return moved


def _require_handler(session: Session, actor: Actor, appeal_id: uuid.UUID) -> Appeal:
    appeal = get_appeal(session, actor=actor, appeal_id=appeal_id, lock=True)
    if not handles_appeals(actor):
        raise PermissionDeniedError("Обращения рассматривают сотрудники поставщика.")
    return appeal


def take_into_work(
    session: Session, *, actor: Actor, appeal_id: uuid.UUID, runtime: Runtime
) -> Appeal:
    """«Взять в работу» (a clerk)."""
    sync_signatures(session, runtime=runtime)
    appeal = _require_handler(session, actor, appeal_id)
    if appeal.status != AppealStatus.REGISTERED:
        raise InvalidTransitionError(
            f"Обращение в статусе «{appeal.status_title}»: взять его в работу нельзя."
        )
    appeal.status = AppealStatus.IN_WORK
    appeal.taken_at, appeal.taken_by_id = utcnow(), actor.user_id
    session.flush()
    _history(session, appeal, actor.label)
    _audit(session, actor, "appeal.take", appeal)
    _publish(
        session,
        appeal,
        "appeal.in_work",
        base_url=runtime.base_url,
        title=f"Обращение № {appeal.number} взято в работу",
    )
    return appeal


def answer_appeal(
    session: Session,
    *,
    actor: Actor,
    runtime: Runtime,
    appeal_id: uuid.UUID,
    text: str,
    files: Sequence[Upload] = (),
    max_bytes: int = 50 * 1024 * 1024,
    now: dt.datetime | None = None,
) -> Appeal:
    """The supplier's answer: a document of type ``appeal_answer`` (the PDF
    with the answer's files attached, to be signed by the supplier), linked to
    the appeal; the customer's users are notified (``appeal.answered``).

    :raises PermissionDeniedError: not the supplier's side.
    :raises InvalidTransitionError: not registered or in work.
    """
    sync_signatures(session, runtime=runtime)
    appeal = _require_handler(session, actor, appeal_id)
    if appeal.status not in OPEN:
        raise InvalidTransitionError(
            f"Обращение в статусе «{appeal.status_title}»: ответить на него нельзя."
        )
    text = _clean_text(
        text,
        field_name="text",
        label="Текст ответа",
        min_len=MIN_TEXT,
        max_len=MAX_ANSWER,
    )
    if len(files) > MAX_FILES:
        raise ValidationError(
            f"К ответу можно приложить не больше {MAX_FILES} файлов.",
            code="too_many_files",
            details={"field": "files"},
        )
    now = now or utcnow()
    supplier = supplier_organisation(session)
    supplier_name = supplier.name if supplier is not None else "Гарантирующий поставщик"

    sheet = pdf.AnswerSheet(
        appeal_number=appeal.number,
        appeal_date=_aware(appeal.registered_at or appeal.created_at),
        answered=now,
        supplier=supplier_name,
        organisation=appeal.organisation.name,
        inn=appeal.organisation.inn,
        contract=appeal.contract.number,
        topic=appeal.topic.title,
        clerk=actor.user.full_name if actor.user else actor.label,
        text=text,
        attachments=[clean_filename(f.filename or "") for f in files],
    )
    doc = register_document(
        session,
        actor=actor,
        runtime=runtime,
        contract_id=appeal.contract_id,
        doc_type="appeal_answer",
        number=f"{appeal.number}-О",
        doc_date=now.date(),
        title=f"Ответ на обращение № {appeal.number}",
        main_file=Upload.from_bytes(
            f"{appeal.number}-answer.pdf", pdf.render_answer(sheet), "application/pdf"
        ),
        attachments=files,
        route=("supplier",),
        source="appeals",
        max_bytes=max_bytes,
        comment=f"Ответ на обращение № {appeal.number} ({appeal.topic.title}).",
    )
    appeal.status = AppealStatus.ANSWERED
    appeal.answered_at, appeal.answered_by_id = now, actor.user_id
    appeal.answer_text, appeal.answer_document_id = text, doc.id
    if appeal.taken_at is None:
        appeal.taken_at, appeal.taken_by_id = now, actor.user_id
    session.flush()
    _history(session, appeal, actor.label)
    _audit(
        session,
        actor,
        "appeal.answer",
        appeal,
        document_id=str(doc.id),
        files=len(files),
    )
    excerpt = text if len(text) <= 300 else text[:297] + "…"
    _publish(
        session,
        appeal,
        "appeal.answered",
        base_url=runtime.base_url,
        users=users_with_right(session, appeal.contract_id, Right.VIEW),
        title=f"Получен ответ на обращение № {appeal.number}",
        body=excerpt,
        answer_excerpt=excerpt,
        answer_document_id=str(doc.id),
    )
    return appeal


def close_appeal(
    session: Session, *, actor: Actor, appeal_id: uuid.UUID, runtime: Runtime
) -> Appeal:
    """«Закрыть» an answered appeal (a clerk)."""
    appeal = _require_handler(session, actor, appeal_id)
    if appeal.status != AppealStatus.ANSWERED:
        raise InvalidTransitionError(
            f"Обращение в статусе «{appeal.status_title}»: закрыть можно только "
            "обращение, на которое дан ответ."
        )
    appeal.status, appeal.closed_at = AppealStatus.CLOSED, utcnow()
    session.flush()
    _history(session, appeal, actor.label)
    _audit(session, actor, "appeal.close", appeal)
    _publish(
        session,
        appeal,
        "appeal.closed",
        base_url=runtime.base_url,
        title=f"Обращение № {appeal.number} закрыто",
    )
    return appeal


def withdraw_appeal(
    session: Session,
    *,
    actor: Actor,
    appeal_id: uuid.UUID,
    reason: str = "",
    runtime: Runtime,
) -> Appeal:
    """«Отозвать» (the customer), while no answer is given."""
    sync_signatures(session, runtime=runtime)
    appeal = get_appeal(session, actor=actor, appeal_id=appeal_id, lock=True)
    if handles_appeals(actor) or (
        actor.user_id != appeal.created_by_id
        and not contract_rights(session, actor, appeal.contract_id).register
    ):
        raise PermissionDeniedError(
            "Отозвать обращение может заявитель или подписант по договору."
        )
    if appeal.status not in (AppealStatus.AWAITING_SIGNATURE, *OPEN):
        raise InvalidTransitionError(
            f"Обращение в статусе «{appeal.status_title}»: отозвать его нельзя."
        )
    reason = _clean_text(
        reason, field_name="reason", label="Причина", min_len=0, max_len=2000
    )
    if appeal.status == AppealStatus.AWAITING_SIGNATURE and appeal.document_id:
        # The unsigned appeal is not to be signed any more.
        doc = session.get(Document, appeal.document_id)
        if doc is not None and may(session, actor, Action.DELETE, doc):
            delete_document(session, actor=actor, document_id=doc.id)
    appeal.status, appeal.withdrawn_at = AppealStatus.WITHDRAWN, utcnow()
    session.flush()
    _history(session, appeal, actor.label, reason)
    _audit(session, actor, "appeal.withdraw", appeal, reason=reason)
    _publish(
        session,
        appeal,
        "appeal.withdrawn",
        base_url=runtime.base_url,
        title=f"Обращение № {appeal.number} отозвано заявителем",
    )
    return appeal


def offers(session: Session, *, actor: Actor, appeal: Appeal) -> dict[str, bool]:
    """Which actions a page offers for the appeal."""
    staff = handles_appeals(actor)
    return {
        "take": staff and appeal.status == AppealStatus.REGISTERED,
        "answer": staff and appeal.status in OPEN,
        "close": staff and appeal.status == AppealStatus.ANSWERED,
        "withdraw": not staff
        and appeal.status in (AppealStatus.AWAITING_SIGNATURE, *OPEN)
        and (
            actor.user_id == appeal.created_by_id
            or contract_rights(session, actor, appeal.contract_id).register
        ),
        "sign": not staff and appeal.status == AppealStatus.AWAITING_SIGNATURE,
    }
