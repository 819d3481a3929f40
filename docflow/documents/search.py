"""Document search: filters, full text, sorting, paging, cursor and Excel export.

Every query is scoped by :func:`docflow.access.visible_contract_ids`: a customer
finds only documents of contracts they may view; the supplier's staff find all.
Deleted documents are never found by customers, and by staff only when they ask
for them (``status=deleted``).

Full text runs on the database: on PostgreSQL the Russian text-search
configuration (``websearch_to_tsquery``: «акты» finds «акт») over title, number
and comment, backed by a GIN expression index; on SQLite the FTS5 table
``documents_fts`` with prefix terms and a light suffix stripping. Either way a
fragment of a number («0001» of «77-0001/2026») is found with ``LIKE`` (a
pg_trgm index on PostgreSQL). The indexes are made by migration 0005.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import QueryableAttribute, Session, selectinload

from docflow.access import (
    Actor,
    Right,
    document_filter,
    party_of,
    sees_deleted_documents,
)
from docflow.contracts.models import Organisation
from docflow.documents.models import (
    PARTY_TITLES,
    DocStatus,
    DocType,
    Document,
    Party,
    RouteStep,
    Signature,
    StepStatus,
)
from docflow.errors import ValidationError

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 25
MAX_PAGE = 100_000  # beyond any real result list; keeps OFFSET inside 64 bits
EXPORT_LIMIT = 10_000
_MAX_QUERY = 200

SORTS = (
    "created",
    "-created",
    "date",
    "-date",
    "number",
    "-number",
    "title",
    "-title",
    "status",
    "-status",
)

_TRUE_WORDS = frozenset({"1", "true", "yes", "on", "да", "y"})

# The same expression as the GIN index of migration 0005, character for
# character in meaning: PostgreSQL uses an expression index only for a query
# expression that parses to the same tree.
_PG_TSVECTOR: ColumnElement[Any] = literal_column(
    "to_tsvector('russian'::regconfig, coalesce(documents.title, '') || ' ' || "
    "coalesce(documents.number, '') || ' ' || coalesce(documents.comment, ''))"
)

_MSK = dt.timezone(dt.timedelta(hours=3), "МСК")


# -- filters -------------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean(value: object, limit: int = _MAX_QUERY) -> str:
    """User text fit for a query: no control characters (PostgreSQL refuses NUL
    in text), trimmed, bounded."""
    return _CONTROL.sub(" ", str(value or "")).strip()[:limit]


def _text(value: object, limit: int) -> str:
    return _clean(value, limit)


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value).strip()) if value else None
    except ValueError:
        return None


def _date(value: object) -> dt.date | None:
    raw = str(value or "").strip()
    if not raw:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    return None


def _int(value: object, default: int, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return number if low <= number <= high else min(max(number, low), high)


def _enum(kind: type[DocType] | type[DocStatus], value: object) -> Any:
    try:
        return kind(str(value).strip()) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class SearchFilters:
    q: str = ""  # full text over title, number and comment
    number: str = ""  # a number or a fragment of it
    doc_type: DocType | None = None
    status: DocStatus | None = None
    contract_id: uuid.UUID | None = None
    counterparty_inn: str = ""  # the customer organisation's ИНН (exact or prefix)
    date_from: dt.date | None = None  # doc_date range, inclusive
    date_to: dt.date | None = None
    signer: str = ""  # a signer's name, substring, case-insensitive
    awaiting_me: bool = False  # the current route step is the actor's party
    sort: str = "-created"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> SearchFilters:
        """Filters from query-string values. Anything malformed is ignored (an
        unknown type, a bad date, a page of «abc»), never an error: a search
        form must not answer 500 to a mistyped URL."""

        def get(*names: str) -> str:
            for name in names:
                value = args.get(name)
                if value not in (None, ""):
                    return str(value)
            return ""

        date_from, date_to = _date(get("date_from")), _date(get("date_to"))
        if date_from and date_to and date_from > date_to:
            date_from, date_to = date_to, date_from
        sort = get("sort")
        return cls(
            q=_text(get("q"), _MAX_QUERY),
            number=_text(get("number"), 100),
            doc_type=_enum(DocType, get("doc_type", "type")),
            status=_enum(DocStatus, get("status")),
            contract_id=_uuid(get("contract_id", "contract")),
            counterparty_inn=re.sub(r"\D", "", get("counterparty_inn", "inn"))[:12],
            date_from=date_from,
            date_to=date_to,
            signer=_text(get("signer"), 300),
            awaiting_me=get("awaiting_me").strip().lower() in _TRUE_WORDS,
            sort=sort if sort in SORTS else "-created",
            page=_int(get("page") or 1, 1, 1, MAX_PAGE),
            per_page=_int(
                get("per_page") or DEFAULT_PER_PAGE, DEFAULT_PER_PAGE, 1, MAX_PER_PAGE
            ),
        )

    def to_args(self, **changes: Any) -> dict[str, str]:
        """The non-default values as query-string arguments (for paging and
        sorting links): ``url_for(".index", **filters.to_args(page=2))``."""
        current = replace(self, **changes) if changes else self
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(current, f.name)
            if value == f.default:
                continue
            if isinstance(value, bool):
                out[f.name] = "1"
            elif isinstance(value, dt.date):
                out[f.name] = value.isoformat()
            else:
                out[f.name] = str(value)
        return out

    @property
    def is_empty(self) -> bool:
        """No filter set (sorting and paging aside)."""
        return not self.to_args(sort="-created", page=1, per_page=DEFAULT_PER_PAGE)


@dataclass(frozen=True)
class SearchPage:
    items: list[Document]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


# -- conditions ----------------------------------------------------------------


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _like_pattern(fragment: str) -> str:
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _casefold(value: object) -> str | None:
    return None if value is None else str(value).casefold()


def _contains_ci(
    session: Session, column: QueryableAttribute[str], fragment: str
) -> ColumnElement[bool]:
    """``column`` contains ``fragment``, ignoring case in any alphabet.

    SQLite's ``lower()`` and ``LIKE`` fold ASCII only, so on SQLite a Python
    ``casefold`` is registered on the connection for the query (cheap and
    idempotent); PostgreSQL's ILIKE folds Cyrillic under a UTF-8 ctype.
    """
    pattern = _like_pattern(fragment)
    if _is_postgres(session):
        return column.ilike(pattern, escape="\\")
    raw = session.connection().connection.dbapi_connection
    raw.create_function("docflow_casefold", 1, _casefold, deterministic=True)  # type: ignore[union-attr]
    return func.docflow_casefold(column).like(pattern.casefold(), escape="\\")


# Inflectional endings of Russian nouns and adjectives, longest first. FTS5 has
# no Russian stemmer; cutting an ending and searching the stem as a prefix makes
# «акты» find «акт» and «договоров» find «договор», as the PostgreSQL side does.
_ENDINGS = tuple(
    sorted(
        {
            "иями",
            "ями",
            "ами",
            "иях",
            "ях",
            "ах",
            "ией",
            "ий",
            "ия",
            "ие",
            "ью",
            "ья",
            "ье",
            "ого",
            "его",
            "ому",
            "ему",
            "ыми",
            "ими",
            "ой",
            "ей",
            "ый",
            "ая",
            "яя",
            "ое",
            "ее",
            "ые",
            "ов",
            "ев",
            "ом",
            "ем",
            "ам",
            "ям",
            "ую",
            "юю",
            "ы",
            "и",
            "а",
            "я",
            "о",
            "е",
            "у",
            "ю",
            "ь",
            "й",
        },
        key=lambda e: (-len(e), e),
    )
)
_CYRILLIC = re.compile(r"[а-я]+")
_WORD = re.compile(r"\w+", re.UNICODE)


def _stem(term: str) -> str:
    if len(term) < 4 or not _CYRILLIC.fullmatch(term):
        return term
    for ending in _ENDINGS:
        if term.endswith(ending) and len(term) - len(ending) >= 3:
            return term[: -len(ending)]
    return term


def fts5_query(q: str) -> str:
    """A safe FTS5 MATCH expression for what a user typed: every word becomes a
    quoted prefix term (``"акт"*``), all of them required. Quotes, operators
    and brackets in the input are just separators, so no input can make the
    expression invalid. Empty when the input has no word at all."""
    words = _WORD.findall(q.casefold().replace("ё", "е"))
    terms = [f'"{_stem(w)}"*' for w in words[:20] if w.strip("_")]
    return " ".join(terms)


def _full_text(session: Session, q: str) -> ColumnElement[bool]:
    number_fragment = Document.number.ilike(_like_pattern(q), escape="\\")
    if _is_postgres(session):
        query = func.websearch_to_tsquery(literal_column("'russian'::regconfig"), q)
        return or_(_PG_TSVECTOR.op("@@")(query), number_fragment)
    match = fts5_query(q)
    if not match:
        return number_fragment
    hits: Select[Any] = (
        select(literal_column("doc_id"))
        .select_from(text("documents_fts"))
        .where(text("documents_fts MATCH :fts_query").bindparams(fts_query=match))
    )
    return or_(Document.id.in_(hits), number_fragment)


def _actor_party(actor: Actor) -> Party:
    return party_of(actor)


def _conditions(
    session: Session, actor: Actor, filters: SearchFilters
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [document_filter(actor)]
    if filters.status == DocStatus.DELETED:
        if not sees_deleted_documents(actor):
            return [false()]
        where.append(Document.status == DocStatus.DELETED)
    else:
        where.append(Document.status != DocStatus.DELETED)
        if filters.status is not None:
            where.append(Document.status == filters.status)
    q, number, signer = (
        _clean(filters.q),
        _clean(filters.number),
        _clean(filters.signer),
    )
    if q:
        where.append(_full_text(session, q))
    if number:
        where.append(_contains_ci(session, Document.number, number))
    if filters.doc_type is not None:
        where.append(Document.doc_type == filters.doc_type)
    if filters.contract_id is not None:
        where.append(Document.contract_id == filters.contract_id)
    inn = re.sub(r"\D", "", filters.counterparty_inn)
    if inn:
        where.append(
            Document.organisation_id.in_(
                select(Organisation.id).where(Organisation.inn.like(f"{inn}%"))
            )
        )
    if filters.date_from is not None:
        where.append(Document.doc_date >= filters.date_from)
    if filters.date_to is not None:
        where.append(Document.doc_date <= filters.date_to)
    if signer:
        where.append(
            exists().where(
                Signature.document_id == Document.id,
                _contains_ci(session, Signature.signer_name, signer),
            )
        )
    if filters.awaiting_me:
        where.append(Document.status.in_([DocStatus.AWAITING, DocStatus.PARTLY_SIGNED]))
        where.append(
            exists().where(
                RouteStep.document_id == Document.id,
                RouteStep.status == StepStatus.CURRENT,
                RouteStep.party == _actor_party(actor),
            )
        )
        where.append(document_filter(actor, Right.SIGN))
    return where


_STATUS_ORDER = case(
    {s.value: i for i, s in enumerate(DocStatus)},
    value=Document.status,
    else_=len(DocStatus),
)


def _order(sort: str) -> list[Any]:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    column: Any = {
        "created": Document.created_at,
        "date": Document.doc_date,
        "number": Document.number,
        "title": Document.title,
        "status": _STATUS_ORDER,
    }.get(key, Document.created_at)
    order = [column.desc() if descending else column.asc()]
    if key != "created":
        order.append(Document.created_at.desc())
    # A unique last key: pages never repeat or skip a row of equal keys.
    order.append(Document.id.desc() if descending else Document.id.asc())
    return order


def _listing(stmt: Select[Any]) -> Select[Any]:
    return stmt.options(
        selectinload(Document.contract),
        selectinload(Document.organisation),
        selectinload(Document.steps),
        selectinload(Document.signatures),
    )


def _base(session: Session, actor: Actor, filters: SearchFilters) -> Select[Any]:
    return select(Document).where(and_(true(), *_conditions(session, actor, filters)))


# -- the three ways to read a result list --------------------------------------


def search_documents(
    session: Session, *, actor: Actor, filters: SearchFilters
) -> SearchPage:
    """One page of the documents ``actor`` may see that match ``filters``.

    :param actor: whose view: customers see only the contracts they hold the
        view right on, and never deleted documents.
    :param filters: the filters, the sort order and the page.
    :returns: the page's documents (contract, organisation, route and
        signatures loaded) and the total count.
    """
    per_page = min(max(filters.per_page, 1), MAX_PER_PAGE)
    page = min(max(filters.page, 1), MAX_PAGE)
    stmt = _base(session, actor, filters)
    total = session.scalar(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    )
    items = list(
        session.scalars(
            _listing(stmt)
            .order_by(*_order(filters.sort))
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return SearchPage(items=items, total=total or 0, page=page, per_page=per_page)


def _utc(moment: dt.datetime) -> dt.datetime:
    # SQLite gives back the stored UTC time without its zone.
    return (
        moment.replace(tzinfo=dt.UTC)
        if moment.tzinfo is None
        else moment.astimezone(dt.UTC)
    )


def encode_cursor(doc: Document) -> str:
    raw = f"{_utc(doc.created_at).isoformat()}|{doc.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    """:raises ValidationError: a cursor this service did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, ident = raw.partition("|")
        return _utc(dt.datetime.fromisoformat(moment)), uuid.UUID(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError(
            "Некорректный курсор постраничного вывода.",
            code="invalid_cursor",
            details={"field": "after"},
        ) from None


def iter_documents_after(
    session: Session,
    *,
    actor: Actor,
    filters: SearchFilters,
    after: str | None,
    limit: int,
) -> tuple[list[Document], str | None]:
    """Keyset pagination for the API, newest first (``created_at`` desc, then id
    desc): rows inserted meanwhile never shift a page, unlike OFFSET.
    ``filters.sort``/``page``/``per_page`` are ignored.

    :param after: the cursor returned with the previous page; None for the first.
    :param limit: page size, 1…200.
    :returns: the documents and the cursor of the next page (None at the end).
    :raises ValidationError: a malformed cursor.
    """
    limit = min(max(int(limit), 1), MAX_PER_PAGE)
    stmt = _base(session, actor, filters)
    if after:
        moment, ident = decode_cursor(after)
        if not _is_postgres(session):
            # Stored as naive UTC text; compare like with like.
            moment = moment.replace(tzinfo=None)
        stmt = stmt.where(
            or_(
                Document.created_at < moment,
                and_(Document.created_at == moment, Document.id < ident),
            )
        )
    rows = list(
        session.scalars(
            _listing(stmt)
            .order_by(Document.created_at.desc(), Document.id.desc())
            .limit(limit + 1)
        )
    )
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1])


# -- Excel ---------------------------------------------------------------------


def signers_text(doc: Document) -> str:
    """«Иванов Иван Иванович (Клиент, 22.11.2026); …»"""
    parts = []
    for sig in doc.signatures:
        when = _utc(sig.signing_time).astimezone(_MSK).strftime("%d.%m.%Y")
        parts.append(f"{sig.signer_name} ({PARTY_TITLES[sig.party]}, {when})")
    return "; ".join(parts)


_COLUMNS: tuple[tuple[str, float], ...] = (
    ("№", 6),
    ("Тип", 24),
    ("Номер", 18),
    ("Дата", 12),
    ("Название", 48),
    ("Договор", 16),
    ("Контрагент", 34),
    ("ИНН", 14),
    ("Статус", 30),
    ("Подписи", 48),
    ("Зарегистрирован", 18),
)


def export_xlsx(session: Session, *, actor: Actor, filters: SearchFilters) -> bytes:
    """The whole result list (up to 10 000 rows, in the filters' order, no
    paging) as an Excel workbook with Russian headers.

    Text cells are written as text even when they start with «=»: a document
    title must never become a formula in the clerk's Excel. A character a
    worksheet cannot carry (a control character stored before the edge refused
    them) is written as U+FFFD, so one such record never fails the export.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from docflow.documents.services import status_label
    from docflow.spreadsheets import xml_safe

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Документы")
    for index, (_, width) in enumerate(_COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"

    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DCE6F1")
    wrap = Alignment(vertical="top", wrap_text=True)
    top = Alignment(vertical="top")

    def cell(
        value: Any,
        *,
        number_format: str | None = None,
        wrapped: bool = False,
        header: bool = False,
    ) -> WriteOnlyCell:
        if isinstance(value, str):
            value = xml_safe(value)  # a control character stored earlier
        c = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            c.data_type = "s"  # never a formula
        if number_format:
            c.number_format = number_format
        if header:
            c.font, c.fill, c.alignment = (
                bold,
                fill,
                Alignment(vertical="center", wrap_text=True),
            )
        else:
            c.alignment = wrap if wrapped else top
        return c

    ws.append([cell(title, header=True) for title, _ in _COLUMNS])
    stmt = (
        _listing(_base(session, actor, filters))
        .order_by(*_order(filters.sort))
        .limit(EXPORT_LIMIT)
        .execution_options(yield_per=500)
    )
    count = 0
    for count, doc in enumerate(session.scalars(stmt), start=1):
        created = _utc(doc.created_at).astimezone(_MSK).replace(tzinfo=None)
        ws.append(
            [
                cell(count),
                cell(doc.type_title, wrapped=True),
                cell(doc.number),
                cell(doc.doc_date, number_format="DD.MM.YYYY"),
                cell(doc.title, wrapped=True),
                cell(doc.contract.number),
                cell(doc.organisation.name, wrapped=True),
                cell(doc.organisation.inn),
                cell(status_label(doc), wrapped=True),
                cell(signers_text(doc), wrapped=True),
                cell(created, number_format="DD.MM.YYYY HH:MM"),
            ]
        )
    ws.auto_filter.ref = f"A1:{get_column_letter(len(_COLUMNS))}{count + 1}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
