"""Document search at a supplier's scale, on PostgreSQL.

Makes a fresh database (migrated to head) and loads it with COPY: 20,000
customer organisations with 1-3 contracts each, their signatories (each with
the rights on the organisation's contracts), the supplier's clerks, and
``--documents`` documents (default a million) spread over the contracts the
way real ones are (a few large customers, many small ones): ПРОМ10 acts,
invoices, agreements, letters, reconciliation acts, claims and offers with
Russian titles and numbers, over seven years, in every status, each with its
two-step route (customer, then supplier) and the signatures its status
implies (signer names, certificates).

Then it times, ``--queries`` times each with random parameters, the questions
a clerk and a customer ask the search (``docflow.documents.search``, the whole
page: the capped total, the 25 rows, their contracts, organisations, routes
and signatures): the newest documents, full text, a number fragment, a
contract, a status, a signer, «ожидают моей подписи», a combination, the next
page — and the clerk's and the customer's search page rendered through the
real view (Flask test client, logged in). Prints p50/p95 in milliseconds
(goal p95 < 50 ms) and the plan (EXPLAIN ANALYZE, BUFFERS) of the slowest
statement of the slowest query.

    python benchmarks/search.py                         # a million documents
    python benchmarks/search.py --documents 50000       # a smoke run
    python benchmarks/search.py --keep                  # keep the database, then
    python benchmarks/search.py --reuse postgresql+psycopg://…/docflow_bench_search_N

Needs PostgreSQL: ``DOCFLOW_TEST_DATABASE_URL`` (default postgres@127.0.0.1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from sqlalchemy import Engine, create_engine, event, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import docflow.models  # noqa: E402, F401 - every mapper, as the application has them
from docflow.access import Actor  # noqa: E402
from docflow.accounts.models import Role, User  # noqa: E402
from docflow.accounts.services import hash_password, register_user  # noqa: E402
from docflow.db import transaction  # noqa: E402
from docflow.documents.models import DocStatus, DocType  # noqa: E402
from docflow.documents.search import SearchFilters, search_documents  # noqa: E402
from docflow.migrate import upgrade  # noqa: E402
from tests.appfixtures import build_app, make_settings  # noqa: E402

PG_ADMIN = os.environ.get(
    "DOCFLOW_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
GOAL_MS = 50.0
ORGANISATIONS = 20_000
CLERKS = 20
PASSWORD = "bench-password-1"

SURNAMES = (
    "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков "
    "Фёдоров Морозов Волков Алексеев Лебедев Семёнов Егоров Павлов Козлов "
    "Степанов Николаев Орлов Андреев Макаров Никитин Захаров Зайцев Соловьёв "
    "Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кузьмин Фролов "
    "Александров Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков Сорокин "
    "Виноградов Ковалёв Белов Медведев Антонов Тарасов Жуков Баранов Филиппов "
    "Комаров Давыдов Беляев Герасимов Богданов Осипов Сидоров"
).split()
MALE = "Иван Алексей Сергей Дмитрий Андрей Михаил Николай Павел Олег Юрий".split()
FEMALE = "Анна Мария Ольга Елена Наталья Татьяна Ирина Светлана Юлия Ксения".split()
PATRONYMIC = "Иванович Петрович Сергеевич Алексеевич Николаевич Андреевич".split()
MONTHS = (
    "январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь"
).split()
COMPANY = (
    "Ромашка Василёк Берёзка Энергомаш Стройтех Агрокомплекс Молокозавод "
    "Хлебозавод Теплосеть Водоканал Механика Полимер Логистик Торговый дом "
    "Медцентр Гостиница Автопарк Типография Пекарня Фабрика"
).split()
FORMS = ("ООО", "АО", "ПАО", "ИП", "МУП", "ГБУ")
AGREEMENT_TOPICS = (
    "порядке расчётов",
    "изменении договорных величин",
    "точках поставки",
    "ценовой категории",
    "сроках оплаты",
)
LETTER_TOPICS = (
    "смене реквизитов",
    "переносе сроков оплаты",
    "графике ограничения потребления",
    "показаниях приборов учёта",
    "замене прибора учёта",
)
SERVICES = (
    "замена прибора учёта",
    "опломбировка",
    "проверка схемы учёта",
    "допуск прибора учёта",
)
# type, weight: what a supplier's registry is made of
TYPES = (
    ("prom10", 52),
    ("invoice", 20),
    ("agreement", 8),
    ("letter", 7),
    ("other", 6),
    ("contract", 3),
    ("appeal", 2),
    ("service_offer", 2),
)
# status, weight
STATUSES = (
    ("signed", 70),
    ("awaiting", 11),
    ("partly_signed", 8),
    ("deleted", 5),
    ("refused", 3),
    ("revoked", 2),
    ("revocation_requested", 1),
)
SIGNERS_BY_STATUS = {  # how many route steps are signed
    "signed": 2,
    "awaiting": 0,
    "partly_signed": 1,
    "deleted": 0,
    "refused": 0,
    "revoked": 2,
    "revocation_requested": 2,
}
FIRST_DAY = dt.datetime(2019, 12, 1, tzinfo=dt.UTC)
LAST_DAY = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _person(rng: random.Random) -> tuple[str, str, str]:
    surname = rng.choice(SURNAMES)
    if rng.random() < 0.45:
        first = rng.choice(FEMALE)
        surname = surname[:-2] + "ёва" if surname.endswith("ёв") else surname + "а"
        patronymic = rng.choice(PATRONYMIC)[:-2] + "на"
    else:
        first = rng.choice(MALE)
        patronymic = rng.choice(PATRONYMIC)
    return surname, first, patronymic


def _ts(moment: dt.datetime) -> str:
    return moment.isoformat()


@dataclass
class World:
    """What the load made, for choosing query parameters."""

    clerk_id: uuid.UUID
    clerk_email: str
    customers: list[tuple[uuid.UUID, str]] = field(default_factory=list)  # id, email
    contract_numbers: list[str] = field(default_factory=list)
    document_numbers: list[str] = field(default_factory=list)
    inns: list[str] = field(default_factory=list)


class _Copy:
    """Rows into a table through COPY, in chunks of tab-separated text
    (flushed by the caller, parents before children)."""

    def __init__(self, cursor: Any, table: str, columns: tuple[str, ...]) -> None:
        self._cursor = cursor
        self._sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        self._buffer = io.StringIO()
        self._rows = 0
        self.total = 0

    def row(self, *values: object) -> None:
        self._buffer.write(
            "\t".join(r"\N" if v is None else str(v) for v in values) + "\n"
        )
        self._rows += 1

    def flush(self) -> None:
        if self._rows:
            with self._cursor.copy(self._sql) as copy:
                copy.write(self._buffer.getvalue())
            self.total += self._rows
            self._buffer = io.StringIO()
            self._rows = 0


def _load(engine: Engine, documents: int, seed: int) -> World:
    """The organisations, contracts, people, documents, routes and signatures."""

    rng = random.Random(seed)
    with Session(engine) as s, transaction(s):
        clerk = register_user(
            s,
            email="clerk@energosbyt.example",
            password=PASSWORD,
            last_name="Кузнецова",
            first_name="Анна",
            role=Role.CLERK,
            confirmed=True,
        )
        world = World(clerk.id, clerk.email)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        now = _ts(dt.datetime.now(dt.UTC))
        supplier_id = uuid.uuid4()
        orgs = _Copy(
            cur, "organisations", ("id", "name", "inn", "kpp", "is_supplier", "created_at", "updated_at")
        )  # fmt: skip
        orgs.row(
            supplier_id, "АО «Энергосбыт»", "7736520080", "773601001", "t", now, now
        )
        contracts = _Copy(
            cur, "contracts", ("id", "number", "signed_on", "organisation_id", "esign_agreement", "is_active", "created_at", "updated_at")
        )  # fmt: skip
        users = _Copy(
            cur, "users", ("id", "email", "password_hash", "last_name", "first_name", "middle_name", "phone_confirmed", "role", "is_active_account", "session_version", "created_at", "updated_at")
        )  # fmt: skip
        access = _Copy(
            cur, "contract_access", ("id", "user_id", "contract_id", "can_view", "can_submit_readings", "can_sign", "can_manage", "created_at", "updated_at")
        )  # fmt: skip
        contract_rows: list[tuple[uuid.UUID, uuid.UUID, str, str]] = []
        signatory_of: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}
        for n in range(1, ORGANISATIONS + 1):
            org_id = uuid.uuid4()
            inn = f"77{n:08d}"
            name = f"{rng.choice(FORMS)} «{rng.choice(COMPANY)}-{n}»"
            orgs.row(org_id, name, inn, f"77{n:05d}01", "f", now, now)
            world.inns.append(inn)
            user_id = uuid.uuid4()
            surname, first, patronymic = _person(rng)
            email = f"signer{n}@customer.example"
            users.row(user_id, email, "!", surname, first, patronymic, "f", "customer", "t", 1, now, now)  # fmt: skip
            signatory_of[org_id] = (user_id, f"{surname} {first} {patronymic}")
            world.customers.append((user_id, email))
            for k in range(rng.choice((1, 1, 1, 2, 2, 3))):
                contract_id = uuid.uuid4()
                number = f"{rng.choice(('77', '50', '40', '69'))}-{n:05d}{k}-ЮЛ"
                contracts.row(contract_id, number, "2019-01-15", org_id, "t", "t", now, now)  # fmt: skip
                access.row(uuid.uuid4(), user_id, contract_id, "t", "t", "t", "t", now, now)  # fmt: skip
                contract_rows.append((contract_id, org_id, number, name))
                world.contract_numbers.append(number)
        for c in range(CLERKS):
            surname, first, patronymic = _person(rng)
            users.row(uuid.uuid4(), f"clerk{c}@energosbyt.example", "!", surname, first, patronymic, "f", "clerk", "t", 1, now, now)  # fmt: skip
        for table in (orgs, contracts, users, access):
            table.flush()
        raw.commit()
        clerks = [" ".join(_person(rng)) for _ in range(CLERKS)]
        _load_documents(cur, rng, documents, contract_rows, signatory_of, clerks, world)
        raw.commit()
    finally:
        raw.close()
    return world


def _title_and_number(
    rng: random.Random, doc_type: str, day: dt.date, seq: int, contract: str
) -> tuple[str, str, str]:
    month, year = MONTHS[day.month - 1], day.year
    comment = ""
    if doc_type == "prom10":
        title = f"Акт снятия показаний (ПРОМ10) за {month} {year} г."
        number = f"{contract[:2]}-{seq:07d}/{year}"
        if rng.random() < 0.2:
            comment = "показания расчётных приборов учёта"
    elif doc_type == "invoice":
        title = f"Счёт на оплату электроэнергии за {month} {year} г."
        number = f"СЧ-{seq:07d}"
    elif doc_type == "agreement":
        title = f"Дополнительное соглашение № {rng.randint(1, 9)} о {rng.choice(AGREEMENT_TOPICS)}"
        number = f"ДС-{seq}/{year}"
    elif doc_type == "letter":
        title = f"Письмо о {rng.choice(LETTER_TOPICS)}"
        number = f"П-{seq}"
    elif doc_type == "other":
        title = (
            f"Акт сверки взаиморасчётов за {(day.month - 1) // 3 + 1} квартал {year} г."
        )
        number = f"АС-{seq}"
    elif doc_type == "contract":
        title = f"Договор энергоснабжения № {contract}"
        number = f"Д-{contract}-{seq}"
    elif doc_type == "appeal":
        title = f"Претензия по объёму потребления за {month} {year} г."
        number = f"ОБР-{year}-{seq:06d}"
    else:
        title = f"Предложение на оказание услуги: {rng.choice(SERVICES)}"
        number = f"ЗУ-{year}-{seq:06d}"
    return title, number, comment


def _load_documents(
    cur: Any,
    rng: random.Random,
    count: int,
    contract_rows: list[tuple[uuid.UUID, uuid.UUID, str, str]],
    signatory_of: dict[uuid.UUID, tuple[uuid.UUID, str]],
    clerks: list[str],
    world: World,
) -> None:
    docs = _Copy(
        cur, "documents", ("id", "organisation_id", "contract_id", "doc_type", "number", "doc_date", "title", "comment", "status", "source", "created_by_party", "refusal_reason", "refused_by", "completed_at", "deleted_at", "version", "created_at", "updated_at")
    )  # fmt: skip
    steps = _Copy(
        cur, "route_steps", ("id", "document_id", "position", "party", "status", "completed_at")
    )  # fmt: skip
    sigs = _Copy(
        cur, "signatures", ("id", "document_id", "step_id", "party", "signer_name", "signer_organisation", "certificate_serial", "certificate_not_before", "certificate_not_after", "signing_time", "received_at", "verdict", "report", "evidence_level", "created_at")
    )  # fmt: skip
    # A few large customers, many small ones (Zipf-like weights).
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(contract_rows))]
    rng.shuffle(weights)
    chosen = rng.choices(contract_rows, weights=weights, k=count)
    types = rng.choices([t for t, _ in TYPES], weights=[w for _, w in TYPES], k=count)
    statuses = rng.choices(
        [t for t, _ in STATUSES], weights=[w for _, w in STATUSES], k=count
    )
    span = (LAST_DAY - FIRST_DAY).total_seconds()
    began = time.perf_counter()
    for n in range(count):
        contract_id, org_id, contract_number, org_name = chosen[n]
        created = FIRST_DAY + dt.timedelta(seconds=rng.random() * span)
        doc_type, status = types[n], statuses[n]
        if created > LAST_DAY - dt.timedelta(days=60) and status == "signed":
            status = rng.choice(("awaiting", "partly_signed", "signed"))
        day = (created - dt.timedelta(days=rng.randint(0, 5))).date()
        title, number, comment = _title_and_number(
            rng, doc_type, day, n + 1, contract_number
        )
        if n % 97 == 0:
            world.document_numbers.append(number)
        doc_id = uuid.uuid4()
        signed = SIGNERS_BY_STATUS[status]
        completed = _ts(created + dt.timedelta(days=3)) if signed == 2 else None
        refused = status == "refused"
        docs.row(
            doc_id, org_id, contract_id, doc_type, number, day.isoformat(), title,
            comment, status, "web", "supplier",
            "Неверные показания" if refused else None, "customer" if refused else None,
            completed, _ts(created + dt.timedelta(hours=1)) if status == "deleted" else None,
            1, _ts(created), _ts(created),
        )  # fmt: skip
        for position, party in ((1, "customer"), (2, "supplier")):
            step_id = uuid.uuid4()
            if position <= signed:
                step_status = "signed"
            elif refused and position == 1:
                step_status = "refused"
            elif position == signed + 1 and status in ("awaiting", "partly_signed"):
                step_status = "current"
            else:
                step_status = "waiting"
            when = created + dt.timedelta(days=position, hours=rng.randint(0, 20))
            steps.row(
                step_id, doc_id, position, party, step_status,
                _ts(when) if step_status in ("signed", "refused") else None,
            )  # fmt: skip
            if step_status == "signed":
                if party == "customer":
                    name, organisation = signatory_of[org_id][1], org_name
                else:
                    name, organisation = rng.choice(clerks), "АО «Энергосбыт»"
                sigs.row(
                    uuid.uuid4(), doc_id, step_id, party, name, organisation,
                    f"{rng.getrandbits(128):032X}", "2019-01-01T00:00:00+00:00",
                    "2030-01-01T00:00:00+00:00", _ts(when), _ts(when), "valid", "{}",
                    "CAdES-LTA + PAdES B-LTA", _ts(when),
                )  # fmt: skip
        if (n + 1) % 20_000 == 0:
            for table in (docs, steps, sigs):
                table.flush()
        if (n + 1) % 100_000 == 0:
            rate = (n + 1) / (time.perf_counter() - began)
            print(f"  {n + 1:,} documents loaded ({rate:,.0f}/s)", flush=True)
    for table in (docs, steps, sigs):
        table.flush()
    print(
        f"loaded {docs.total:,} documents, {steps.total:,} route steps, "
        f"{sigs.total:,} signatures in {time.perf_counter() - began:.0f} s"
    )


# -- the queries ----------------------------------------------------------------------


@dataclass
class Statements:
    """The SQL statements of the query being timed, with their durations."""

    active: bool = False
    seen: list[tuple[float, str, Any]] = field(default_factory=list)

    def attach(self, engine: Engine) -> None:
        @event.listens_for(engine, "before_cursor_execute")
        def _before(
            conn: Any, cursor: Any, statement: str, params: Any, *_: Any
        ) -> None:
            conn.info["bench_started"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(
            conn: Any, cursor: Any, statement: str, params: Any, *_: Any
        ) -> None:
            if self.active:
                took = time.perf_counter() - conn.info.pop("bench_started", 0.0)
                self.seen.append((took, statement, params))


@dataclass
class Result:
    label: str
    times: list[float] = field(default_factory=list)
    slowest: list[tuple[float, str, Any]] = field(default_factory=list)
    slowest_time: float = 0.0


def _actor(session: Session, user_id: uuid.UUID) -> Any:
    user = session.get(User, user_id)
    assert user is not None
    return Actor.for_user(user)


def _time_queries(
    engine: Engine,
    world: World,
    runs: int,
    rng: random.Random,
    statements: Statements,
) -> list[Result]:
    big_customers = _big_customers(engine, world)
    words = ("акт", "акты сверки", "соглашение о порядке расчётов", "счёт октябрь",
             "претензия", "письмо реквизитов", "договор", "замена прибора учёта")  # fmt: skip
    # Words of one year's documents only: the page's rows lie far down the
    # newest-first order.
    years = ("показаний 2025", "акт 2024", "счёт 2023", "соглашение 2022")
    statuses = (DocStatus.AWAITING, DocStatus.PARTLY_SIGNED, DocStatus.SIGNED,
                DocStatus.REFUSED, DocStatus.REVOKED)  # fmt: skip

    cases: list[tuple[str, Callable[[], tuple[uuid.UUID, Any]]]] = [
        ("clerk: newest documents", lambda: (world.clerk_id, SearchFilters())),
        ("clerk: full text", lambda: (world.clerk_id, SearchFilters(q=rng.choice(words)))),
        ("clerk: full text, one year's words", lambda: (
            world.clerk_id, SearchFilters(q=rng.choice(years)),
        )),
        ("clerk: number fragment", lambda: (
            world.clerk_id,
            SearchFilters(number=rng.choice(world.document_numbers)[-9:]),
        )),
        ("clerk: contract number", lambda: (
            world.clerk_id,
            SearchFilters(contract_number=rng.choice(world.contract_numbers)),
        )),
        ("clerk: status", lambda: (world.clerk_id, SearchFilters(status=rng.choice(statuses)))),
        ("clerk: signer", lambda: (world.clerk_id, SearchFilters(signer=rng.choice(SURNAMES)))),
        ("clerk: ожидают моей подписи", lambda: (world.clerk_id, SearchFilters(awaiting_me=True))),
        ("clerk: combined", lambda: (world.clerk_id, SearchFilters(
            q="акт", status=DocStatus.SIGNED, doc_type=DocType.PROM10,
            date_from=dt.date(2024, 1, 1), date_to=dt.date(2024, 12, 31),
            counterparty_inn=rng.choice(world.inns),
        ))),
        ("customer: newest documents", lambda: (rng.choice(big_customers), SearchFilters())),
        ("customer: full text", lambda: (
            rng.choice(big_customers), SearchFilters(q=rng.choice(words)),
        )),
        ("customer: ожидают моей подписи", lambda: (
            rng.choice(big_customers), SearchFilters(awaiting_me=True),
        )),
        ("customer: combined", lambda: (rng.choice(big_customers), SearchFilters(
            q="акт", date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 12, 31),
        ))),
        ("customer: sorted by number", lambda: (
            rng.choice(big_customers), SearchFilters(sort="number"),
        )),
    ]  # fmt: skip
    results = []
    for label, make in cases:
        result = Result(label)
        for n in range(runs + 3):
            user_id, filters = make()
            with Session(engine) as s:
                actor = _actor(s, user_id)
                statements.seen = []
                statements.active = True
                began = time.perf_counter()
                page = search_documents(s, actor=actor, filters=filters)
                for d in page.items:  # what the page shows of each row
                    _ = d.contract.number, d.organisation.name, d.steps, d.signatures
                took = time.perf_counter() - began
                statements.active = False
            if n < 3:
                continue  # warm-up
            result.times.append(took)
            if took > result.slowest_time:
                result.slowest_time, result.slowest = took, list(statements.seen)
        results.append(result)
    results.append(_next_pages(engine, world, runs, rng, statements))
    return results


def _next_pages(
    engine: Engine, world: World, runs: int, rng: random.Random, statements: Statements
) -> Result:
    """Page 2..40 of the clerk's newest documents, each after the cursor of the
    page before (the «Далее →» link)."""

    result = Result("clerk: next page (cursor), pages 2-40")
    with Session(engine) as s:
        actor = _actor(s, world.clerk_id)
        filters = SearchFilters(status=None)
        cursor = search_documents(s, actor=actor, filters=filters).next_cursor
        for n in range(2, min(runs, 39) + 2):
            assert cursor is not None
            statements.seen = []
            statements.active = True
            began = time.perf_counter()
            page = search_documents(
                s, actor=actor, filters=replace(filters, after=cursor, page=n)
            )
            took = time.perf_counter() - began
            statements.active = False
            result.times.append(took)
            if took > result.slowest_time:
                result.slowest_time, result.slowest = took, list(statements.seen)
            cursor = page.next_cursor
            s.expunge_all()
    return result


def _big_customers(engine: Engine, world: World) -> list[uuid.UUID]:
    """Signatories of the customers with the most documents (the slowest
    lists a customer gets), and a few ordinary ones."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT ca.user_id FROM contract_access ca "
                "JOIN documents d ON d.contract_id = ca.contract_id "
                "GROUP BY ca.user_id ORDER BY count(*) DESC LIMIT 20"
            )
        ).scalars()
        big = [uuid.UUID(str(r)) for r in rows]
    return big + [uid for uid, _ in random.Random(3).sample(world.customers, 20)]


def _world_of(engine: Engine) -> World:
    """What a kept database holds (``--reuse``), for choosing parameters."""
    with engine.connect() as conn:
        clerk_id, clerk_email = conn.execute(
            text("SELECT id, email FROM users WHERE email = 'clerk@energosbyt.example'")
        ).one()
        world = World(uuid.UUID(str(clerk_id)), clerk_email)
        world.customers = [
            (uuid.UUID(str(i)), e)
            for i, e in conn.execute(
                text("SELECT id, email FROM users WHERE role = 'customer'")
            )
        ]
        world.contract_numbers = list(
            conn.execute(text("SELECT number FROM contracts")).scalars()
        )
        world.document_numbers = list(
            conn.execute(
                text("SELECT number FROM documents TABLESAMPLE SYSTEM (1) LIMIT 5000")
            ).scalars()
        )
        world.inns = list(
            conn.execute(
                text("SELECT inn FROM organisations WHERE NOT is_supplier")
            ).scalars()
        )
    return world


def _time_pages(
    app: Any, world: World, engine: Engine, runs: int, rng: random.Random
) -> list[Result]:
    """The search page through the real view, for the clerk and for a big
    customer, with random text queries."""

    with engine.begin() as conn:  # the customer signs in with a password too
        big = _big_customers(engine, world)[0]
        conn.execute(
            text("UPDATE users SET password_hash = :h, email_confirmed_at = now() WHERE id = :id"),
            {"h": hash_password(PASSWORD), "id": big},
        )  # fmt: skip
        email = conn.execute(
            text("SELECT email FROM users WHERE id = :id"), {"id": big}
        ).scalar_one()
    results = []
    for label, login in (
        ("search page rendered (clerk)", world.clerk_email),
        ("search page rendered (customer)", email),
    ):
        client = app.test_client()
        resp = client.post(
            "/account/login", data={"email": login, "password": PASSWORD}
        )
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
        result = Result(label)
        queries = ["", "q=акт", "q=счёт+октябрь", "status=awaiting", "awaiting_me=1",
                   "signer=Иванов", "q=соглашение&sort=-date"]  # fmt: skip
        for n in range(runs + 3):
            query = rng.choice(queries)
            began = time.perf_counter()
            resp = client.get(f"/documents/?{query}")
            took = time.perf_counter() - began
            assert resp.status_code == 200, resp.status_code
            if n >= 3:
                result.times.append(took)
        results.append(result)
    return results


def _explain(engine: Engine, slowest: list[tuple[float, str, Any]]) -> str:
    took, statement, params = max(slowest, key=lambda item: item[0])
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        cur = raw.cursor()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
        plan = "\n".join(row[0] for row in cur.fetchall())
    return f"statement ({took * 1000:.1f} ms when timed):\n{statement}\n\n{plan}"


def _database(name: str, *, create: bool) -> str:
    """Create a fresh database ``name`` (its URL), or drop it."""
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return admin.url.set(database=name).render_as_string(hide_password=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--reuse", metavar="URL", help="time the queries on a database kept before"
    )
    args = parser.parse_args()

    name = f"docflow_bench_search_{os.getpid()}"
    url = args.reuse or _database(name, create=True)
    failed = False
    try:
        upgrade(url)
        engine = create_engine(url)
        began = time.perf_counter()
        world = (
            _world_of(engine)
            if args.reuse
            else _load(engine, args.documents, args.seed)
        )
        auto = create_engine(url, isolation_level="AUTOCOMMIT")
        with auto.connect() as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
        auto.dispose()
        print(f"database ready in {time.perf_counter() - began:.0f} s")
        statements = Statements()
        statements.attach(engine)
        rng = random.Random(args.seed)
        results = _time_queries(engine, world, args.queries, rng, statements)
        with tempfile.TemporaryDirectory(prefix="search-bench-") as var:
            app = build_app(make_settings(Path(var), url))
            results += _time_pages(app, world, engine, args.queries, rng)
            app.extensions["docflow"].engine.dispose()
        print()
        header = f"{'query':<40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  goal p95 < {GOAL_MS:.0f} ms"
        print(header)
        print("-" * len(header))
        for r in results:
            p50 = statistics.median(r.times) * 1000
            p95 = percentile(r.times, 0.95) * 1000
            verdict = "PASS" if p95 < GOAL_MS else "FAIL"
            failed |= verdict == "FAIL"
            print(
                f"{r.label:<40} {p50:>8.1f} {p95:>8.1f} {max(r.times) * 1000:>8.1f}  {verdict}"
            )
        timed = [r for r in results if r.slowest]
        worst = max(timed, key=lambda r: percentile(r.times, 0.95))
        print()
        print(
            f"The slowest query at p95: {worst.label}; EXPLAIN of its slowest statement"
        )
        print(_explain(engine, worst.slowest))
        engine.dispose()
    finally:
        if args.keep or args.reuse:
            print(f"database kept: {url}")
        else:
            _database(name, create=False)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
