"""Document search without HTTP: the filters read from a query string, the
conditions built from them for each actor, and paging by cursor (SQLite; the
full-text part, which needs the migrations' FTS5 table, is left to the
functional tests)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from docflow.access import Actor
from docflow.accounts.models import User
from docflow.documents.models import DocStatus, DocType, Document
from docflow.documents.search import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    SearchFilters,
    decode_cursor,
    encode_cursor,
    fts5_query,
    search_documents,
)
from docflow.documents.services import delete_document
from docflow.errors import ValidationError
from docflow.runtime import Runtime
from tests import factories
from tests.unit.docflow.conftest import Cast

# -- filters from a query string ----------------------------------------------------


def test_from_args_reads_every_filter() -> None:
    contract_id = uuid.uuid4()
    filters = SearchFilters.from_args(
        {
            "q": "  акт  ",
            "number": "П-1",
            "type": "prom10",
            "status": "signed",
            "contract": str(contract_id),
            "inn": "77 01-23",
            "date_from": "31.10.2026",
            "date_to": "2026-11-30",
            "awaiting_me": "да",
            "sort": "-date",
            "page": "3",
            "per_page": "50",
        }
    )
    assert filters == SearchFilters(
        q="акт",
        number="П-1",
        doc_type=DocType.PROM10,
        status=DocStatus.SIGNED,
        contract_id=contract_id,
        counterparty_inn="770123",
        date_from=dt.date(2026, 10, 31),
        date_to=dt.date(2026, 11, 30),
        awaiting_me=True,
        sort="-date",
        page=3,
        per_page=50,
    )


def test_from_args_ignores_what_is_malformed() -> None:
    filters = SearchFilters.from_args(
        {
            "type": "contraband",
            "status": "lost",
            "contract_id": "not-a-uuid",
            "date_from": "31/10/2026",
            "sort": "-price",
            "page": "abc",
            "per_page": "many",
            "awaiting_me": "maybe",
            "after": "not a cursor!",
        }
    )
    assert filters == SearchFilters()
    assert filters.is_empty


def test_from_args_bounds_numbers_and_orders_dates() -> None:
    filters = SearchFilters.from_args(
        {"page": "-5", "per_page": "100000", "date_from": "2026-12-01",
         "date_to": "2026-01-01", "q": "акт\x00\x1f ПРОМ10"}
    )  # fmt: skip
    assert (filters.page, filters.per_page) == (1, MAX_PER_PAGE)
    assert (filters.date_from, filters.date_to) == (
        dt.date(2026, 1, 1),
        dt.date(2026, 12, 1),
    )
    assert filters.q == "акт   ПРОМ10"


def test_to_args_keeps_only_what_differs_and_reads_back() -> None:
    filters = SearchFilters(
        doc_type=DocType.INVOICE,
        awaiting_me=True,
        date_from=dt.date(2026, 1, 1),
        page=2,
    )
    args = filters.to_args()
    assert args == {
        "doc_type": "invoice",
        "awaiting_me": "1",
        "date_from": "2026-01-01",
        "page": "2",
    }
    assert SearchFilters.from_args(args) == filters
    assert filters.to_args(page=1, awaiting_me=False) == {
        "doc_type": "invoice",
        "date_from": "2026-01-01",
    }
    assert not filters.is_empty
    assert SearchFilters(sort="title", page=4, per_page=DEFAULT_PER_PAGE).is_empty


def test_fts5_query_quotes_every_word_as_a_stemmed_prefix() -> None:
    assert fts5_query('акты "OR" договоров (NEAR) ёлка') == (
        '"акт"* "or"* "договор"* "near"* "елк"*'
    )
    assert fts5_query("*** ()") == ""


# -- searching ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Shelf:
    """Documents of two customers: Ромашка's (the cast's contract) and Василёк's."""

    cast: Cast
    other_signer: User
    docs: dict[str, Document]  # by number


@pytest.fixture()
def shelf(session: Session, cast: Cast, runtime: Runtime) -> Shelf:
    clerk = Actor.for_user(cast.clerk)
    other_org = factories.make_organisation(
        session, name="АО «Василёк»", inn="5003012345"
    )
    other = factories.make_contract(session, organisation=other_org, number="50-0100")
    other_signer = factories.make_user(session)
    factories.grant(session, user=other_signer, contract=other, can_sign=True)

    def doc(number: str, on: dt.date, contract: object = cast.contract) -> Document:
        return factories.make_document(
            session,
            actor=clerk,
            runtime=runtime,
            contract=contract,  # type: ignore[arg-type]
            number=number,
            doc_date=on,
        )

    docs = [
        doc("Д-15/2026", dt.date(2026, 1, 15)),
        doc("П-1", dt.date(2026, 10, 31)),
        doc("П-2", dt.date(2026, 11, 30)),
        doc("В-1", dt.date(2026, 10, 31), other),
        doc("Удалённый", dt.date(2026, 10, 31)),
    ]
    factories.make_signature(
        session, doc=docs[1], actor=Actor.for_user(cast.signer), runtime=runtime
    )
    delete_document(session, actor=clerk, document_id=docs[4].id)
    return Shelf(cast, other_signer, {d.number: d for d in docs})


def _numbers(session: Session, user: User, **args: str) -> list[str]:
    page = search_documents(
        session,
        actor=Actor.for_user(user),
        filters=SearchFilters.from_args({"sort": "number", **args}),
    )
    return [d.number for d in page.items]


def test_search_scopes_each_actor_to_its_contracts(
    session: Session, shelf: Shelf
) -> None:
    cast = shelf.cast
    assert _numbers(session, cast.viewer) == ["Д-15/2026", "П-1", "П-2"]
    assert _numbers(session, shelf.other_signer) == ["В-1"]
    assert _numbers(session, cast.stranger) == []
    assert _numbers(session, cast.clerk) == ["В-1", "Д-15/2026", "П-1", "П-2"]


def test_search_shows_deleted_documents_to_the_supplier_only(
    session: Session, shelf: Shelf
) -> None:
    assert _numbers(session, shelf.cast.clerk, status="deleted") == ["Удалённый"]
    assert _numbers(session, shelf.cast.signer, status="deleted") == []


def test_search_awaiting_me_follows_the_turn_and_the_right_to_sign(
    session: Session, shelf: Shelf
) -> None:
    cast = shelf.cast
    assert _numbers(session, cast.signer, awaiting_me="1") == ["Д-15/2026", "П-2"]
    assert _numbers(session, cast.viewer, awaiting_me="1") == []
    assert _numbers(session, cast.clerk, awaiting_me="1") == ["П-1"]


def test_search_by_number_ignores_the_case_of_cyrillic(
    session: Session, shelf: Shelf
) -> None:
    assert _numbers(session, shelf.cast.clerk, number="д-15") == ["Д-15/2026"]
    assert _numbers(session, shelf.cast.clerk, number="%") == []  # not a wildcard


def test_search_by_contract_number_inn_and_dates(
    session: Session, shelf: Shelf
) -> None:
    clerk = shelf.cast.clerk
    assert _numbers(session, clerk, contract_number="50-01") == ["В-1"]
    assert _numbers(session, clerk, inn="500301") == ["В-1"]
    assert _numbers(session, clerk, date_from="2026-10-01", date_to="2026-10-31") == [
        "В-1",
        "П-1",
    ]


def test_search_pages_by_cursor_without_repeating_a_row(
    session: Session, shelf: Shelf
) -> None:
    actor = Actor.for_user(shelf.cast.clerk)
    first = search_documents(
        session, actor=actor, filters=SearchFilters(sort="number", per_page=3)
    )
    assert (first.total, first.pages, first.has_prev) == (4, 2, False)
    assert first.next_cursor is not None
    second = search_documents(
        session,
        actor=actor,
        filters=SearchFilters(sort="number", per_page=3, after=first.next_cursor),
    )
    assert [d.number for d in first.items + second.items] == [
        "В-1",
        "Д-15/2026",
        "П-1",
        "П-2",
    ]
    assert second.next_cursor is None


def test_api_cursor_round_trip_and_refusal(session: Session, shelf: Shelf) -> None:
    doc = shelf.docs["П-1"]
    moment, ident = decode_cursor(encode_cursor(doc))
    assert ident == doc.id
    assert moment.tzinfo is not None
    with pytest.raises(ValidationError) as refused:
        decode_cursor("bm90LWEtY3Vyc29y")
    assert refused.value.code == "invalid_cursor"
