"""Document search: filters, full text, sorting, paging, cursor and Excel export.

Every query is scoped by :func:`docflow.access.visible_contract_ids`: a customer
finds only documents of contracts they may view; the supplier's staff find all.
Deleted documents are never found by customers, and by staff only when they ask
for them (``status=deleted``).

Full text runs on the database: on PostgreSQL the Russian text-search
configuration (``websearch_to_tsquery``: «акты» finds «акт») over title, number
and comment, stored in ``documents.search_vector`` with a GIN index (0022); on
SQLite the FTS5 table
``documents_fts`` with prefix terms and a light suffix stripping. Either way a
fragment of a number («0001» of «77-0001/2026») is found with ``LIKE`` (a
pg_trgm index on PostgreSQL). The indexes are made by migration 0005.

At a supplier's scale (a million documents) a page must not cost what the
whole result costs: the total is counted up to :data:`COUNT_LIMIT` only (the
page says «более 1 000» beyond it), and the next and previous pages are read
after or before a cursor (the last or first row's sort key) rather than by
skipping rows with OFFSET. Migration 0022 adds the indexes those queries walk
on PostgreSQL (the default order, each status, the documents awaiting a
signature, a document's signatures).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
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
    tuple_,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import QueryableAttribute, Session, selectinload
from sqlalchemy.sql.elements import False_, True_
from sqlalchemy.sql.util import ClauseAdapter

from docflow.access import (
    Actor,
    Right,
    document_filter,
    party_of,
    sees_deleted_documents,
    visible_contract_ids,
)
from docflow.contracts.models import Contract, Organisation
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
from docflow.documents.services import status_label
from docflow.errors import ValidationError
from docflow.spreadsheets import xml_safe

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 25
MAX_PAGE = 100_000  # beyond any real result list; keeps OFFSET inside 64 bits
EXPORT_LIMIT = 10_000
#: The total is counted this far; beyond it a page says «более 1 000».
COUNT_LIMIT = 1_000
#: ... if that takes at most this long (PostgreSQL); when it does not (a
#: signer's name that a hundred thousand documents must be checked for), the
#: page says how many it has shown so far («более 50»).
COUNT_BUDGET_MS = 15
_QUERY_CANCELED = "57014"  # SQLSTATE query_canceled: the budget ran out
_MAX_QUERY = 200
_MAX_CURSOR = 1_000

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

# The Russian tsvector of title, number and comment, stored by PostgreSQL in
# a generated column with a GIN index (migration 0022; the models do not
# describe it, as SQLite has none).
_PG_TSVECTOR: ColumnElement[Any] = literal_column("documents.search_vector")

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
    contract_number: str = ""  # a contract's number or its beginning, any case
    sort: str = "-created"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    # The page after the row of ``after`` (or before the row of ``before``),
    # in the same sort: cursors of the page links (see :func:`page_cursor`).
    after: str = ""
    before: str = ""

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
            contract_number=_text(get("contract_number"), 50),
            sort=sort if sort in SORTS else "-created",
            page=_int(get("page") or 1, 1, 1, MAX_PAGE),
            per_page=_int(
                get("per_page") or DEFAULT_PER_PAGE, DEFAULT_PER_PAGE, 1, MAX_PER_PAGE
            ),
            after=_cursor_text(get("after")),
            before=_cursor_text(get("before")),
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
        return not self.to_args(
            sort="-created", page=1, per_page=DEFAULT_PER_PAGE, after="", before=""
        )


def _cursor_text(value: str) -> str:
    """A cursor as given, if it looks like one (it is checked when used)."""
    value = value.strip()
    return value if len(value) <= _MAX_CURSOR and _CURSOR_CHARS.fullmatch(value) else ""


_CURSOR_CHARS = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class SearchPage:
    """One page of results. ``total`` is exact up to ``counted_to``;
    ``counted_to + 1`` means more than that (:attr:`total_is_exact`)."""

    items: list[Document]
    total: int
    page: int
    per_page: int
    #: Cursors for the links to the next and the previous page, if any.
    next_cursor: str | None = None
    prev_cursor: str | None = None
    #: How far the total was counted: :data:`COUNT_LIMIT`, or the rows seen
    #: up to this page when counting took too long.
    counted_to: int = COUNT_LIMIT

    @property
    def total_is_exact(self) -> bool:
        return self.total <= self.counted_to

    @property
    def pages(self) -> int:
        """The number of pages (a lower bound when the total is not exact)."""
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


# -- conditions ----------------------------------------------------------------


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _like_pattern(fragment: str) -> str:
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _casefold(value: object) -> str | None:
    return None if value is None else str(value).casefold()


def _contains_ci(
    session: Session,
    column: QueryableAttribute[str],
    fragment: str,
    *,
    prefix: bool = False,
) -> ColumnElement[bool]:
    """``column`` contains ``fragment`` (or, with ``prefix``, starts with
    it), ignoring case in any alphabet.

    SQLite's ``lower()`` and ``LIKE`` fold ASCII only, so on SQLite a Python
    ``casefold`` is registered on the connection for the query (cheap and
    idempotent); PostgreSQL's ILIKE folds Cyrillic under a UTF-8 ctype.
    """
    pattern = _like_pattern(fragment)
    if prefix:
        pattern = pattern[1:]
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


#: Up to this many contracts the scope is written into the query as a list.
_SCOPE_LIST_LIMIT = 1_000


def _scope(session: Session, actor: Actor, right: Right) -> ColumnElement[bool]:
    """:func:`~docflow.access.document_filter`, with a customer's contracts
    read first and written into the query as a list of ids.

    The policy's condition is ``contract_id IN (the actor's contracts)``
    (everything, or nothing, for the supplier and for a key without the read
    scope). As a subquery the planner cannot tell a customer with one
    contract of fifty thousand documents from one with fifty documents, and
    picks the same plan for both; the list lets it use the statistics of
    each contract.
    """
    condition = document_filter(actor, right)
    if isinstance(condition, True_ | False_):
        return condition
    ids = list(
        session.scalars(visible_contract_ids(actor, right).limit(_SCOPE_LIST_LIMIT + 1))
    )
    if len(ids) > _SCOPE_LIST_LIMIT:
        return condition
    return Document.contract_id.in_(ids) if ids else false()


def _conditions(
    session: Session, actor: Actor, filters: SearchFilters, *, text: bool = True
) -> list[ColumnElement[bool]]:
    """The conditions of ``filters`` for ``actor`` (without the full-text one
    when not ``text``)."""
    # The sign right includes the view right: «ожидают моей подписи» needs the
    # one condition only (two would make the planner square its estimate).
    right = Right.SIGN if filters.awaiting_me else Right.VIEW
    where: list[ColumnElement[bool]] = [_scope(session, actor, right)]
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
    if q and text:
        where.append(_full_text(session, q))
    if number:
        where.append(_contains_ci(session, Document.number, number))
    if filters.doc_type is not None:
        where.append(Document.doc_type == filters.doc_type)
    if filters.contract_id is not None:
        where.append(Document.contract_id == filters.contract_id)
    contract_number = _clean(filters.contract_number)
    if contract_number:
        where.append(
            Document.contract_id.in_(
                select(Contract.id).where(
                    _contains_ci(session, Contract.number, contract_number, prefix=True)
                )
            )
        )
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
    return where


_STATUS_ORDER = case(
    {s.value: i for i, s in enumerate(DocStatus)},
    value=Document.status,
    else_=len(DocStatus),
)


@dataclass(frozen=True)
class _Key:
    """One key of a sort order: its name (which value of a row it is), the
    expression, the direction."""

    name: str
    expr: Any
    descending: bool


def _sort_keys(sort: str) -> list[_Key]:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    column: Any = {
        "created": Document.created_at,
        "date": Document.doc_date,
        "number": Document.number,
        "title": Document.title,
        "status": _STATUS_ORDER,
    }.get(key, Document.created_at)
    name = key if key in ("date", "number", "title", "status") else "created"
    keys = [_Key(name, column, descending)]
    if name != "created":
        keys.append(_Key("created", Document.created_at, True))
    # A unique last key: pages never repeat or skip a row of equal keys.
    keys.append(_Key("id", Document.id, descending))
    return keys


def _order(sort: str) -> list[Any]:
    return [k.expr.desc() if k.descending else k.expr.asc() for k in _sort_keys(sort)]


# -- page cursors ----------------------------------------------------------------

_STATUS_INDEX = {s: i for i, s in enumerate(DocStatus)}


def _key_value(doc: Document, name: str) -> Any:
    if name == "created":
        return _utc(doc.created_at)
    if name == "date":
        return doc.doc_date
    if name == "status":
        return _STATUS_INDEX.get(doc.status, len(DocStatus))
    if name == "id":
        return doc.id
    return doc.number if name == "number" else doc.title


def _plain(value: Any) -> int | str:
    if isinstance(value, dt.date):  # a datetime too
        return value.isoformat()
    return value if isinstance(value, int | str) else str(value)


def page_cursor(doc: Document, sort: str) -> str:
    """A cursor naming ``doc``'s place in the ``sort`` order (URL-safe)."""
    values = [_plain(_key_value(doc, key.name)) for key in _sort_keys(sort)]
    raw = json.dumps([sort, *values], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_value(name: str, raw: object) -> Any:
    if name == "created":
        return _utc(dt.datetime.fromisoformat(str(raw)))
    if name == "date":
        return dt.date.fromisoformat(str(raw))
    if name == "status":
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise ValueError(raw)
        return raw
    if name == "id":
        return uuid.UUID(str(raw))
    if not isinstance(raw, str):
        raise ValueError(raw)
    return raw


def _read_cursor(cursor: str, sort: str) -> list[Any] | None:
    """The key values of a cursor made for ``sort``; None for anything else
    (a cursor of another order, or no cursor of this service)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, *values = json.loads(raw.decode())
        keys = _sort_keys(sort)
        if made_for != sort or len(values) != len(keys):
            return None
        return [_read_value(k.name, v) for k, v in zip(keys, values, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None


def _beyond(
    session: Session, keys: list[_Key], values: list[Any], *, forward: bool
) -> ColumnElement[bool]:
    """The rows after (``forward``) or before the row with key ``values``."""
    if not _is_postgres(session):
        # Stored as naive UTC text; compare like with like.
        values = [
            v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v for v in values
        ]

    def later(key: _Key, value: Any) -> ColumnElement[bool]:
        beyond: ColumnElement[bool] = (
            key.expr < value if key.descending == forward else key.expr > value
        )
        return beyond

    if len({k.descending for k in keys}) == 1:
        # One direction: a row comparison, which walks an index range.
        row = tuple_(*(k.expr for k in keys))
        return later(_Key("row", row, keys[0].descending), tuple_(*values))
    first, value = keys[0], values[0]
    bound = first.expr <= value if first.descending == forward else first.expr >= value
    return and_(
        bound,  # what lets an index on the first key bound the scan
        or_(
            *(
                and_(
                    *(k.expr == v for k, v in zip(keys[:i], values[:i], strict=True)),
                    later(keys[i], values[i]),
                )
                for i in range(len(keys))
            )
        ),
    )


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


def _count(session: Session, conditions: list[ColumnElement[bool]]) -> int | None:
    """The number of matching documents, counted up to ``COUNT_LIMIT + 1``;
    None on PostgreSQL when that takes longer than :data:`COUNT_BUDGET_MS`.

    Counting to a thousand matches of a filter that one document in thirty
    passes means checking thirty thousand documents; the page must not wait
    for that. The budget is a statement timeout inside a savepoint, set back
    afterwards: a cancelled count leaves the transaction as it was.
    """
    matching = select(Document.id).where(and_(true(), *conditions))
    capped = select(func.count()).select_from(
        matching.limit(COUNT_LIMIT + 1).subquery()
    )
    if not _is_postgres(session):
        return int(session.scalar(capped) or 0)
    before = session.scalar(text("SELECT current_setting('statement_timeout')"))
    timeout = text("SELECT set_config('statement_timeout', :value, true)")
    try:
        with session.begin_nested():
            session.execute(timeout, {"value": f"{COUNT_BUDGET_MS}ms"})
            total = int(session.scalar(capped) or 0)
            session.execute(timeout, {"value": before})
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != _QUERY_CANCELED:
            raise
        return None
    return total


#: With more matches than the total is counted to, the newest rows of a
#: full-text search are looked for among the newest this many documents of the
#: other filters first (see :func:`_read_page`).
TEXT_WINDOW = 3_000
#: The orders an index of 0022 reads in (newest first, by the document's
#: date): only there is the window the first rows, not a sort of all of them.
_INDEXED_ORDERS = frozenset({"created", "date"})


def _ordering(keys: list[_Key], *, forward: bool, via_index: bool) -> list[Any]:
    """ORDER BY for ``keys`` read forward (or backward). Not ``via_index``,
    the first key is wrapped so that no index's order matches it: the rows
    are then found through the filters' indexes and sorted."""
    order = []
    for i, key in enumerate(keys):
        expr = key.expr if via_index or i else func.coalesce(key.expr, key.expr)
        order.append(expr.desc() if key.descending == forward else expr.asc())
    return order


def _read_page(
    session: Session,
    where: list[ColumnElement[bool]],
    keys: list[_Key],
    *,
    forward: bool,
    offset: int,
    limit: int,
    few: bool,
    text: ColumnElement[bool] | None,
    window: bool,
) -> list[Document]:
    """The rows of one page.

    The planner reads a page in the sort order along an index and filters as
    it goes when it expects many matches spread evenly; when matches are rare
    or clustered elsewhere in that order (a year's acts, one customer among a
    million documents) such a read passes hundreds of thousands of rows. So:

    * ``few`` (the count found at most :data:`COUNT_LIMIT` matches): the
      matches are found through the filters' indexes and sorted;
    * many matches of a full-text search (``text``): first among the newest
      :data:`TEXT_WINDOW` rows of the other filters, in order — where the
      page of a frequent word is — unless those filters hold a date range
      (whose rows lie anywhere in that order: no ``window``); then, newest
      first, among the last year's and the last three years' matches, and
      all matches through the text index, sorted;
    * otherwise as the planner chooses.
    """
    base = _listing(select(Document))
    if few:
        order = _ordering(keys, forward=forward, via_index=False)
        matching = [*where, *([text] if text is not None else [])]
        return list(
            session.scalars(
                base.where(and_(true(), *matching))
                .order_by(*order)
                .offset(offset)
                .limit(limit)
            )
        )
    if text is None:
        order = _ordering(keys, forward=forward, via_index=True)
        return list(
            session.scalars(
                base.where(and_(true(), *where))
                .order_by(*order)
                .offset(offset)
                .limit(limit)
            )
        )
    if window and offset + limit <= TEXT_WINDOW and keys[0].name in _INDEXED_ORDERS:
        found = _read_window(
            session, where, keys, text, forward=forward, offset=offset, limit=limit
        )
        if len(found) == limit:
            return found
    order = _ordering(keys, forward=forward, via_index=False)
    spans: tuple[dt.timedelta | None, ...] = (None,)
    if keys[0].name == "created" and keys[0].descending == forward:
        # Newest first: the matches of the last year, of three, then all (a
        # word of last year's acts is found without sorting every year's).
        spans = (dt.timedelta(days=366), dt.timedelta(days=3 * 366), None)
    now = _utc(dt.datetime.now(dt.UTC))
    for span in spans:
        recent = []
        if span is not None:
            since = now - span
            recent = [
                Document.created_at
                >= (since if _is_postgres(session) else since.replace(tzinfo=None))
            ]
        found = list(
            session.scalars(
                base.where(and_(true(), *where, text, *recent))
                .order_by(*order)
                .offset(offset)
                .limit(limit)
            )
        )
        if len(found) == limit or span is None:
            return found
    return []  # not reached: the last span is unbounded


def _read_window(
    session: Session,
    where: list[ColumnElement[bool]],
    keys: list[_Key],
    text: ColumnElement[bool],
    *,
    forward: bool,
    offset: int,
    limit: int,
) -> list[Document]:
    """The page among the first :data:`TEXT_WINDOW` rows (in the sort order)
    of the other filters: the text condition is checked on those rows only."""
    order = _ordering(keys, forward=forward, via_index=True)
    # Named "documents", as the text condition's expression names its
    # columns; with the stored vector it checks (PostgreSQL).
    vector = [_PG_TSVECTOR.label("search_vector")] if _is_postgres(session) else []
    window = (
        select(Document, *vector)
        .where(and_(true(), *where))
        .order_by(*order)
        .limit(TEXT_WINDOW)
        .subquery("documents")
    )
    adapt = ClauseAdapter(window).traverse
    ids = list(
        session.scalars(
            select(window.c.id)
            .where(adapt(text))
            .order_by(*(adapt(o) for o in order))
            .offset(offset)
            .limit(limit)
        )
    )
    if not ids:
        return []
    found = {
        d.id: d
        for d in session.scalars(_listing(select(Document)).where(Document.id.in_(ids)))
    }
    return [found[i] for i in ids if i in found]


def search_documents(
    session: Session, *, actor: Actor, filters: SearchFilters
) -> SearchPage:
    """One page of the documents ``actor`` may see that match ``filters``.

    The page is the one after ``filters.after`` (or before ``filters.before``)
    when a cursor of this sort order is given, else page ``filters.page``.

    :param actor: whose view: customers see only the contracts they hold the
        view right on, and never deleted documents.
    :param filters: the filters, the sort order and the page.
    :returns: the page's documents (contract, organisation, route and
        signatures loaded), the total (exact up to :data:`COUNT_LIMIT`) and
        the cursors of the neighbouring pages.
    """
    per_page = min(max(filters.per_page, 1), MAX_PER_PAGE)
    page = min(max(filters.page, 1), MAX_PAGE)
    where = _conditions(session, actor, filters, text=False)
    q = _clean(filters.q)
    text = _full_text(session, q) if q else None
    total = _count(session, [*where, *([text] if text is not None else [])])
    keys = _sort_keys(filters.sort)
    forward = not filters.before
    values = _read_cursor(filters.after or filters.before, filters.sort)
    if values is not None:
        where = [*where, _beyond(session, keys, values, forward=forward)]
    rows = _read_page(
        session,
        where,
        keys,
        forward=forward,
        offset=0 if values is not None else (page - 1) * per_page,
        limit=per_page + 1,
        few=total is not None and total <= COUNT_LIMIT,
        text=text,
        window=filters.date_from is None and filters.date_to is None,
    )
    more = len(rows) > per_page
    if values is None:
        more_after, more_before = more, page > 1
        items = rows[:per_page]
    else:
        # Read on from the cursor; backwards in reversed order, then turned.
        more_after, more_before = (more, True) if forward else (True, more)
        items = rows[:per_page] if forward else rows[:per_page][::-1]
    counted_to = COUNT_LIMIT
    if total is None:
        # Not counted in time: as many as this page shows and the ones before
        # it, and more if there is a next page.
        counted_to = (page - 1) * per_page + len(items)
        total = counted_to + 1 if more_after else counted_to
    return SearchPage(
        items=items,
        total=total,
        page=page,
        per_page=per_page,
        next_cursor=page_cursor(items[-1], filters.sort)
        if items and more_after
        else None,
        prev_cursor=page_cursor(items[0], filters.sort)
        if items and more_before
        else None,
        counted_to=counted_to,
    )


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
