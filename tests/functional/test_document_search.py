"""Document search: filters, Russian full text, hostile input, scoping, sorting,
paging, the API cursor and the Excel export — on PostgreSQL and on SQLite."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import text as sql

from docflow.access import Actor
from docflow.accounts.models import Role, User
from docflow.accounts.services import hash_password
from docflow.contracts.models import Contract
from docflow.documents import search as search_module
from docflow.documents import views as views_module
from docflow.documents.models import DocStatus, DocType, Document
from docflow.documents.search import (
    SORTS,
    SearchFilters,
    export_xlsx,
    fts5_query,
    iter_documents_after,
    search_documents,
)
from docflow.documents.services import delete_document, status_label
from docflow.errors import ValidationError
from tests.appfixtures import empty_tables
from tests.factories import (
    grant,
    make_contract,
    make_document,
    make_organisation,
    make_signature,
    make_user,
)
from tests.functional.documents_support import actor, app_runtime, db


@dataclass
class World:
    app: Flask
    clerk: User
    alice: User  # ООО «Ромашка», contract 77-000101 only (not 77-000102)
    boris: User  # ООО «Василёк»
    docs: dict[str, Document]  # by number
    org_a_id: uuid.UUID


@pytest.fixture(
    scope="module",
    params=[pytest.param("postgresql", marks=pytest.mark.integration), "sqlite"],
)
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """One data set per database for the whole module: the tests only read it
    (a test that changes something rolls its change back)."""
    app: Flask = request.getfixturevalue(
        "pg_app" if request.param == "postgresql" else "sqlite_app"
    )
    empty_tables(app)
    try:
        yield build_world(app)
    finally:
        empty_tables(app)


def build_world(app: Flask) -> World:
    runtime = app_runtime(app)
    with db(app) as s:
        supplier = make_organisation(
            s, name="АО «Энергосбыт»", inn="7705000001", is_supplier=True
        )
        assert supplier.is_supplier
        org_a = make_organisation(s, name="ООО «Ромашка»", inn="7701234567")
        org_b = make_organisation(s, name="ООО «Василёк»", inn="5001234567")
        a1 = make_contract(s, organisation=org_a, number="77-000101")
        a2 = make_contract(s, organisation=org_a, number="77-000102")
        b1 = make_contract(s, organisation=org_b, number="50-000201")
        clerk = make_user(
            s,
            email="clerk@energosbyt.example",
            last_name="Кузнецова",
            first_name="Анна",
            middle_name="Ильич",
            role=Role.CLERK,
        )
        alice = make_user(
            s,
            email="alice@romashka.example",
            last_name="Иванов",
            first_name="Иван",
            middle_name="Иванович",
        )
        boris = make_user(
            s, email="boris@vasilek.example", last_name="Борисов", middle_name="Ильич"
        )
        grant(s, user=alice, contract=a1, can_sign=True)
        grant(s, user=boris, contract=b1, can_sign=True)
        staff = actor(clerk)

        def doc(
            contract: Contract,
            number: str,
            title: str,
            doc_type: DocType,
            date: dt.date,
            comment: str = "",
        ) -> Document:
            return make_document(
                s,
                actor=staff,
                runtime=runtime,
                contract=contract,
                number=number,
                title=title,
                doc_type=doc_type,
                doc_date=date,
                comment=comment,
            )

        docs = [
            doc(
                a1,
                "77-0001/2026",
                "Акт снятия показаний за октябрь",
                DocType.PROM10,
                dt.date(2026, 10, 31),
                "показания расчётных ПУ",
            ),
            doc(
                a1,
                "Д-15/2026",
                "Договор энергоснабжения",
                DocType.CONTRACT,
                dt.date(2026, 1, 15),
            ),
            doc(
                a1,
                "ДС-3",
                "Дополнительное соглашение о порядке расчётов",
                DocType.AGREEMENT,
                dt.date(2026, 3, 1),
                "отчёт по платежам",
            ),
            doc(
                a2,
                "СЧ-77-0002",
                "Счёт на оплату за октябрь",
                DocType.INVOICE,
                dt.date(2026, 11, 1),
            ),
            doc(
                b1,
                "50-0001/2026",
                "Акты сверки взаиморасчётов",
                DocType.PROM10,
                dt.date(2026, 10, 31),
            ),
            doc(
                a1,
                "П-9",
                "Письмо о смене реквизитов",
                DocType.LETTER,
                dt.date(2026, 2, 2),
            ),
        ]
        # Alice signs the act; the supplier has not countersigned yet.
        make_signature(
            s,
            doc=docs[0],
            actor=actor(alice),
            runtime=runtime,
            signer_name="Иванов Иван Иванович",
            organisation="ООО «Ромашка»",
        )
        delete_document(s, actor=staff, document_id=docs[5].id)
        return World(app, clerk, alice, boris, {d.number: d for d in docs}, org_a.id)


def _numbers(world: World, user: User, **filters: object) -> list[str]:
    with db(world.app) as s:
        page = search_documents(
            s,
            actor=actor(s.merge(user)),
            filters=SearchFilters(per_page=200, **filters),
        )
        return [d.number for d in page.items]


def _set(world: World, user: User, **filters: object) -> set[str]:
    return set(_numbers(world, user, **filters))


VISIBLE_TO_CLERK = {"77-0001/2026", "Д-15/2026", "ДС-3", "СЧ-77-0002", "50-0001/2026"}


def test_search_scopes_customers_to_their_contracts(world: World) -> None:
    assert _set(world, world.clerk) == VISIBLE_TO_CLERK
    assert _set(world, world.alice) == {"77-0001/2026", "Д-15/2026", "ДС-3"}
    assert _set(world, world.boris) == {"50-0001/2026"}
    # Naming a foreign contract or organisation does not widen the scope.
    foreign = world.docs["50-0001/2026"].contract_id
    assert _set(world, world.alice, contract_id=foreign) == set()
    assert _set(world, world.alice, counterparty_inn="5001234567") == set()
    assert _set(world, world.alice, q="сверки") == set()


def test_search_by_an_organisations_api_key_sees_all_its_contracts(
    world: World,
) -> None:
    with db(world.app) as s:
        key = Actor(
            user=None, is_supplier=False, label="ERP", organisation_id=world.org_a_id
        )
        found = {
            d.number
            for d in search_documents(s, actor=key, filters=SearchFilters()).items
        }
        assert found == {"77-0001/2026", "Д-15/2026", "ДС-3", "СЧ-77-0002"}
        no_read = Actor(
            user=None,
            is_supplier=False,
            label="ERP",
            organisation_id=world.org_a_id,
            scopes=frozenset({"sign"}),
        )
        assert search_documents(s, actor=no_read, filters=SearchFilters()).total == 0


def test_search_deleted_documents_only_for_staff_who_ask(world: World) -> None:
    assert "П-9" not in _set(world, world.clerk)
    assert _set(world, world.clerk, status=DocStatus.DELETED) == {"П-9"}
    assert _set(world, world.alice, status=DocStatus.DELETED) == set()
    assert _set(world, world.alice, q="реквизитов") == set()


def test_search_full_text_in_russian_with_morphology(world: World) -> None:
    # «акты» finds «Акт …» and «Акты …»; «показаний» the act by its title.
    assert _set(world, world.clerk, q="акты") == {"77-0001/2026", "50-0001/2026"}
    assert _set(world, world.clerk, q="показаний") == {"77-0001/2026"}
    assert _set(world, world.clerk, q="договоров") == {"Д-15/2026"}
    # Every word must match; the comment is searched too, ё equals е.
    assert _set(world, world.clerk, q="акт октябрь") == {"77-0001/2026"}
    assert _set(world, world.clerk, q="отчет") == {"ДС-3"}
    assert _set(world, world.clerk, q="ПЛАТЕЖАМ") == {"ДС-3"}
    assert _set(world, world.clerk, q="несуществующее") == set()


def test_search_finds_a_number_by_its_fragment(world: World) -> None:
    assert _set(world, world.clerk, q="0001") == {"77-0001/2026", "50-0001/2026"}
    assert _set(world, world.clerk, q="77-0001/2026") == {"77-0001/2026"}
    assert _set(world, world.clerk, number="0001") == {"77-0001/2026", "50-0001/2026"}
    assert _set(world, world.clerk, number="77-0001") == {"77-0001/2026"}
    assert _set(world, world.clerk, number="дс-3") == {"ДС-3"}
    assert _set(world, world.clerk, number="%") == set()
    assert _set(world, world.clerk, number="_") == set()


HOSTILE = [
    '"',
    '""',
    "AND OR (",
    ")))",
    "*",
    "NEAR(",
    "title:акт",
    "^акт",
    '"акт',
    'a"b*c',
    "'; DROP TABLE documents; --",
    "%",
    "_",
    "\\",
    "-",
    "!",
    "|",
    "&",
    ":*",
    "<->",
    "акт & | !",
    "(акт OR",
    "NOT",
    "\x00",
    "🙂",
    "a" * 500,
]


def test_search_survives_hostile_queries(world: World) -> None:
    with db(world.app) as s:
        who = actor(s.merge(world.clerk))
        for q in HOSTILE:
            search_documents(s, actor=who, filters=SearchFilters.from_args({"q": q}))
            search_documents(s, actor=who, filters=SearchFilters(number=q, signer=q))
    # The documents are still there, and a quote around a word still finds it.
    assert _set(world, world.clerk, q='"акт"') == {"77-0001/2026", "50-0001/2026"}


def test_fts5_query_quotes_every_term() -> None:
    assert fts5_query('акты "сверки" AND (2026') == '"акт"* "сверк"* "and"* "2026"*'
    assert fts5_query('"  ( ) * ^ :') == ""
    assert fts5_query("Отчёт") == '"отчет"*'


def test_search_filters_by_type_status_contract_inn_dates(world: World) -> None:
    clerk = world.clerk
    assert _set(world, clerk, doc_type=DocType.PROM10) == {
        "77-0001/2026",
        "50-0001/2026",
    }
    assert _set(world, clerk, status=DocStatus.PARTLY_SIGNED) == {"77-0001/2026"}
    assert _set(world, clerk, status=DocStatus.AWAITING) == {
        "Д-15/2026",
        "ДС-3",
        "СЧ-77-0002",
        "50-0001/2026",
    }
    a2 = world.docs["СЧ-77-0002"].contract_id
    assert _set(world, clerk, contract_id=a2) == {"СЧ-77-0002"}
    assert _set(world, clerk, counterparty_inn="5001234567") == {"50-0001/2026"}
    assert _set(world, clerk, counterparty_inn="7701") == {
        "77-0001/2026",
        "Д-15/2026",
        "ДС-3",
        "СЧ-77-0002",
    }
    assert _set(world, clerk, date_from=dt.date(2026, 10, 31)) == {
        "77-0001/2026",
        "СЧ-77-0002",
        "50-0001/2026",
    }
    assert _set(
        world, clerk, date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 3, 1)
    ) == {"Д-15/2026", "ДС-3"}
    assert _set(world, clerk, doc_type=DocType.PROM10, counterparty_inn="7701") == {
        "77-0001/2026"
    }


def test_search_by_signer_ignores_case(world: World) -> None:
    assert _set(world, world.clerk, signer="иванов") == {"77-0001/2026"}
    assert _set(world, world.clerk, signer="ИВАН ИВАНОВИЧ") == {"77-0001/2026"}
    assert _set(world, world.alice, signer="Иванов") == {"77-0001/2026"}
    assert _set(world, world.clerk, signer="Петров") == set()


def test_search_awaiting_me_follows_the_route(world: World) -> None:
    # The act waits for the supplier; the rest of Alice's documents for her.
    assert _set(world, world.alice, awaiting_me=True) == {"Д-15/2026", "ДС-3"}
    assert _set(world, world.clerk, awaiting_me=True) == {"77-0001/2026"}
    assert _set(world, world.boris, awaiting_me=True) == {"50-0001/2026"}


def test_search_sorts_by_every_key_both_ways(world: World) -> None:
    order = list(DocStatus)
    with db(world.app) as s:
        who = actor(s.merge(world.clerk))
        for sort in SORTS:
            found = search_documents(s, actor=who, filters=SearchFilters(sort=sort))
            key = sort.lstrip("-")
            values = [
                {
                    "created": d.created_at,
                    "date": d.doc_date,
                    "number": d.number,
                    "title": d.title,
                    "status": order.index(d.status),
                }[key]
                for d in found.items
            ]
            assert len(values) == 5, sort
            assert values == sorted(values, reverse=sort.startswith("-")), sort


def test_search_pages_without_duplicates_or_gaps(world: World) -> None:
    with db(world.app) as s:
        who = actor(s.merge(world.clerk))
        seen: list[str] = []
        for page_no in (1, 2, 3):
            page = search_documents(
                s,
                actor=who,
                filters=SearchFilters(sort="-date", page=page_no, per_page=2),
            )
            assert (page.total, page.pages, page.page) == (5, 3, page_no)
            seen += [d.number for d in page.items]
        assert sorted(seen) == sorted(VISIBLE_TO_CLERK)
        assert len(seen) == 5
        beyond = search_documents(
            s, actor=who, filters=SearchFilters(page=9, per_page=2)
        )
        assert beyond.items == [] and beyond.total == 5


def test_cursor_iteration_visits_every_document_once(world: World) -> None:
    with db(world.app) as s:
        who = actor(s.merge(world.clerk))
        seen: list[Document] = []
        cursor: str | None = None
        for _ in range(10):
            items, cursor = iter_documents_after(
                s, actor=who, filters=SearchFilters(), after=cursor, limit=2
            )
            seen += items
            if cursor is None:
                break
        assert [d.number for d in seen] == [
            d.number
            for d in search_documents(
                s, actor=who, filters=SearchFilters(sort="-created")
            ).items
        ]
        assert len({d.id for d in seen}) == 5
        # The cursor respects the filters and the actor's scope.
        alice = actor(s.merge(world.alice))
        items, cursor = iter_documents_after(
            s, actor=alice, filters=SearchFilters(q="акт"), after=None, limit=50
        )
        assert [d.number for d in items] == ["77-0001/2026"] and cursor is None
        for bad in ("!!!", "bm90IGEgY3Vyc29y", "MjAyNnww"):
            with pytest.raises(ValidationError):
                iter_documents_after(
                    s, actor=who, filters=SearchFilters(), after=bad, limit=2
                )


def test_filters_from_args_are_lenient() -> None:
    f = SearchFilters.from_args(
        {
            "q": "  акт  ",
            "doc_type": "nonsense",
            "status": "signed",
            "contract_id": "x",
            "date_from": "2026-13-45",
            "date_to": "31.10.2026",
            "page": "-3",
            "per_page": "100000",
            "sort": "; DROP",
            "awaiting_me": "1",
            "counterparty_inn": "77 01",
        }
    )
    assert f.q == "акт" and f.doc_type is None and f.status == DocStatus.SIGNED
    assert f.contract_id is None and f.date_from is None
    assert f.date_to == dt.date(2026, 10, 31)
    assert (f.page, f.per_page, f.sort, f.awaiting_me) == (1, 200, "-created", True)
    assert f.counterparty_inn == "7701"
    swapped = SearchFilters.from_args(
        {
            "date_from": "2026-12-01",
            "date_to": "2026-01-01",
            "page": "99999999999999999999999",
        }
    )
    assert swapped.date_from == dt.date(2026, 1, 1) and swapped.page == 100_000
    assert SearchFilters.from_args({}) == SearchFilters()
    assert SearchFilters(q="акт", page=2).to_args() == {"q": "акт", "page": "2"}
    assert SearchFilters.from_args(
        SearchFilters(q="x", date_to=dt.date(2026, 1, 2), awaiting_me=True).to_args()
    ) == SearchFilters(q="x", date_to=dt.date(2026, 1, 2), awaiting_me=True)


def test_export_xlsx_has_headers_rows_and_real_dates(world: World) -> None:
    s = world.app.extensions["docflow"].sessionmaker()
    try:  # the title change is rolled back: the data set is shared
        d = s.merge(world.docs["ДС-3"])
        d.title = '=HYPERLINK("http://evil.example","click")'
        s.flush()
        data = export_xlsx(
            s,
            actor=actor(s.merge(world.clerk)),
            filters=SearchFilters(sort="number", per_page=1),
        )
    finally:
        s.rollback()
        s.close()
    ws = load_workbook(io.BytesIO(data)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == (
        "№",
        "Тип",
        "Номер",
        "Дата",
        "Название",
        "Договор",
        "Контрагент",
        "ИНН",
        "Статус",
        "Подписи",
        "Зарегистрирован",
    )
    assert ws["A1"].font.bold
    assert ws.auto_filter.ref == "A1:K6"
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["E"].width > 20
    body = rows[1:]
    assert len(body) == 5  # paging is ignored
    assert [r[0] for r in body] == [1, 2, 3, 4, 5]
    by_number = {r[2]: r for r in body}
    act = by_number["77-0001/2026"]
    assert act[3] == dt.datetime(2026, 10, 31)  # a real date cell
    assert ws.cell(row=body.index(act) + 2, column=4).is_date
    assert act[1].startswith("Акт ПРОМ10")
    assert (act[5], act[6], act[7]) == ("77-000101", "ООО «Ромашка»", "7701234567")
    assert act[8] == "Подписан клиентом, ожидает подписи поставщика"
    assert act[9] == "Иванов Иван Иванович (Клиент, 02.11.2026)"
    assert isinstance(act[10], dt.datetime)
    # A formula-looking title stays text.
    assert by_number["ДС-3"][4].startswith("=HYPERLINK")
    assert (
        ws.cell(row=[r[2] for r in body].index("ДС-3") + 2, column=5).data_type == "s"
    )


def test_export_xlsx_is_scoped(world: World) -> None:
    with db(world.app) as s:
        data = export_xlsx(
            s, actor=actor(s.merge(world.boris)), filters=SearchFilters()
        )
        label = status_label(s.merge(world.docs["50-0001/2026"]))
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert [r[2] for r in rows[1:]] == ["50-0001/2026"]
    assert rows[1][8] == label


# -- at scale: cursors, capped counts, the contract by its number ---------------------


def test_cursor_pages_follow_the_offset_pages_in_every_sort(world: World) -> None:
    with db(world.app) as s:
        who = actor(s.merge(world.clerk))
        for sort in SORTS:
            everything = [
                d.number
                for d in search_documents(
                    s, actor=who, filters=SearchFilters(sort=sort)
                ).items
            ]
            seen: list[str] = []
            filters = SearchFilters(sort=sort, per_page=2)
            page = search_documents(s, actor=who, filters=filters)
            pages = [page]
            while True:
                seen += [d.number for d in page.items]
                if page.next_cursor is None:
                    break
                page = search_documents(
                    s,
                    actor=who,
                    filters=replace(
                        filters, after=page.next_cursor, page=page.page + 1
                    ),
                )
                pages.append(page)
            assert seen == everything, sort
            # And back again from the last page, before its first row.
            back = search_documents(
                s,
                actor=who,
                filters=replace(filters, before=pages[-1].prev_cursor or "", page=2),
            )
            assert [d.number for d in back.items] == [
                d.number for d in pages[-2].items
            ], sort


def test_a_cursor_of_another_sort_or_a_forged_one_reads_the_first_page(
    world: World,
) -> None:
    with db(world.app) as s:
        who = actor(s.merge(world.clerk))
        first = search_documents(s, actor=who, filters=SearchFilters(per_page=2))
        assert first.next_cursor is not None
        for cursor in (first.next_cursor, "bm90LWEtY3Vyc29y", "!!"):
            filters = SearchFilters.from_args(
                {"after": cursor, "sort": "number", "per_page": "2"}
            )
            page = search_documents(s, actor=who, filters=filters)
            assert [d.number for d in page.items] == [
                d.number
                for d in search_documents(
                    s, actor=who, filters=SearchFilters(sort="number", per_page=2)
                ).items
            ]
    assert SearchFilters.from_args({"after": "a b;c"}).after == ""
    assert SearchFilters.from_args({"after": "x" * 2000}).after == ""


def test_the_total_is_counted_only_so_far(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "COUNT_LIMIT", 3)
    with db(world.app) as s:
        who = actor(s.merge(world.clerk))
        many = search_documents(s, actor=who, filters=SearchFilters(per_page=2))
        few = search_documents(
            s, actor=who, filters=SearchFilters(doc_type=DocType.PROM10)
        )
    assert (many.total, many.counted_to, many.total_is_exact) == (4, 3, False)
    assert [d.number for d in many.items] and many.has_next
    assert (few.total, few.total_is_exact) == (2, True)


def test_a_count_that_takes_too_long_gives_way_to_the_rows_shown(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "_count", lambda *_args: None)
    with db(world.app) as s:
        who = actor(s.merge(world.clerk))
        first = search_documents(s, actor=who, filters=SearchFilters(per_page=2))
        last = search_documents(s, actor=who, filters=SearchFilters(per_page=2, page=3))
    # More than the two shown; the last page knows the total exactly.
    assert (first.counted_to, first.total, first.total_is_exact) == (2, 3, False)
    assert (last.counted_to, last.total, last.total_is_exact) == (5, 5, True)


def test_the_counts_budget_cancels_the_count_and_keeps_the_transaction(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "COUNT_BUDGET_MS", 1)
    with db(world.app) as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite has no statement timeout: it counts to the limit")
        slow = sql("pg_sleep(0.2) IS NOT NULL")  # for each document
        assert search_module._count(s, [slow]) is None
        # The transaction goes on, with the statement timeout as before.
        assert s.scalar(sql("SELECT current_setting('statement_timeout')")) == "0"
        assert s.scalar(sql("SELECT 1")) == 1
        assert search_module._count(s, [sql("true")]) == 6


def test_search_by_contract_number_or_its_beginning(world: World) -> None:
    assert _set(world, world.clerk, contract_number="77-000102") == {"СЧ-77-0002"}
    assert _set(world, world.clerk, contract_number="77-0001") == {
        "77-0001/2026",
        "Д-15/2026",
        "ДС-3",
        "СЧ-77-0002",
    }
    assert _set(world, world.clerk, contract_number="50-") == {"50-0001/2026"}
    assert _set(world, world.clerk, contract_number="%") == set()
    assert _set(world, world.clerk, contract_number="000101") == set()  # a beginning
    # Scoped as everything else: Alice names Василёк's contract in vain.
    assert _set(world, world.alice, contract_number="50-000201") == set()


def test_the_search_page_links_pages_by_cursor_and_counts_modestly(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "COUNT_LIMIT", 3)
    monkeypatch.setattr(views_module, "CONTRACT_LIST_LIMIT", 1)

    with db(world.app) as s:  # the factory's users have no password to sign in
        s.merge(world.clerk).password_hash = hash_password("password-123")
    client = world.app.test_client()
    signed_in = client.post(
        "/account/login",
        data={"email": "clerk@energosbyt.example", "password": "password-123"},
    )
    assert signed_in.status_code == 302
    resp = client.get("/documents/?per_page=2")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "Найдено: более 3" in page
    # Too many contracts for a list: the contract is asked for by number.
    assert 'name="contract_number"' in page and 'name="contract_id"' not in page
    (next_link,) = re.findall(r'href="([^"]*after=[^"]*)" rel="next"', page)
    second = client.get(next_link.replace("&amp;", "&")).get_data(as_text=True)
    assert "Страница 2" in second and 'rel="prev"' in second
