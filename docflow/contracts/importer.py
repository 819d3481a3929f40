"""Loading the supplier's records from Excel (.xlsx) or CSV: organisations with
their contracts, and payments.

A file is taken whole or not at all: every row is checked first, and any
problem — named by its row (as Excel numbers them: the header is row 1) and
column — refuses the file before anything is written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.accounts.models import User
from docflow.audit import RequestInfo, record
from docflow.contracts.details import CONTACT_FIELDS
from docflow.contracts.models import Contract, ContractContacts, Organisation, Payment
from docflow.spreadsheets import (
    Column,
    ImportFailed,
    ImportProblem,
    Progress,
    Table,
    cell_text,
    column_letter,
    read_table,
)

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _canon(text: str) -> str:
    text = str(text).lower().replace("ё", "е")
    return re.sub(r"[^a-zа-я0-9]+", " ", text).strip()


CONTRACT_COLUMNS: tuple[Column, ...] = (
    Column("inn", "ИНН", ("инн", "inn"), required=True),
    Column("kpp", "КПП", ("кпп", "kpp")),
    Column("ogrn", "ОГРН", ("огрн", "ogrn")),
    Column(
        "name",
        "Наименование",
        ("наименование", "наименование организации", "организация", "название", "name"),
        required=True,
    ),
    Column(
        "email",
        "E-mail",
        ("e mail", "email", "электронная почта", "эл почта", "адрес электронной почты"),
        required=True,
    ),
    Column("address", "Адрес", ("адрес", "юридический адрес", "address")),
    Column(
        "number",
        "Номер договора",
        ("номер договора", "договор", "договора", "contract number", "contract"),
        required=True,
    ),
    Column("date", "Дата договора", ("дата договора", "дата", "contract date")),
    Column(
        "esign",
        "Соглашение об ЭДО",
        (
            "соглашение об эдо",
            "соглашение об эп",
            "эдо",
            "e sign agreement",
            "esign agreement",
            "esign",
        ),
    ),
    Column(
        "head_name", "Руководитель", ("руководитель", "фио руководителя", "head name")
    ),
    Column(
        "branch_address", "Адрес филиала", ("адрес филиала", "филиал", "branch address")
    ),
    Column("phone", "Телефон", ("телефон", "телефон филиала", "phone")),
    Column("fax", "Факс", ("факс", "fax")),
    Column(
        "curator_name",
        "Куратор",
        ("куратор", "фио куратора", "curator name", "curator"),
    ),
    Column("curator_phone", "Телефон куратора", ("телефон куратора", "curator phone")),
)

PAYMENT_COLUMNS: tuple[Column, ...] = (
    Column(
        "number",
        "Номер договора",
        ("номер договора", "договор", "договора", "contract number", "contract"),
        required=True,
    ),
    Column(
        "date",
        "Дата платежа",
        ("дата платежа", "дата оплаты", "дата", "date", "paid on"),
        required=True,
    ),
    Column(
        "amount",
        "Сумма",
        ("сумма", "сумма руб", "сумма платежа", "amount"),
        required=True,
    ),
    Column(
        "document",
        "Номер документа",
        (
            "номер документа",
            "платежное поручение",
            "номер платежного поручения",
            "документ",
            "document",
            "document number",
        ),
    ),
    Column(
        "purpose",
        "Назначение платежа",
        ("назначение платежа", "назначение", "комментарий", "purpose"),
    ),
)


def _map_columns(
    table: Table, columns: Sequence[Column]
) -> tuple[dict[str, int], dict[str, str], list[ImportProblem]]:
    """Which cell holds which field, the title to report for each, and what is missing."""
    index: dict[str, int] = {}
    titles: dict[str, str] = {}
    canon = [_canon(h) for h in table.header]
    for column in columns:
        wanted = {_canon(a) for a in column.aliases} | {_canon(column.title)}
        for i, head in enumerate(canon):
            if head and head in wanted and i not in index.values():
                index[column.key] = i
                titles[column.key] = f"{table.header[i]} ({column_letter(i)})"
                break
    problems = [
        ImportProblem(1, column.title, "в файле нет такого столбца")
        for column in columns
        if column.required and column.key not in index
    ]
    return index, titles, problems


class _Row:
    """One row's cells by field, collecting the problems found in it."""

    def __init__(
        self,
        number: int,
        cells: list[Any],
        index: dict[str, int],
        titles: dict[str, str],
        problems: list[ImportProblem],
    ) -> None:
        self.number, self._cells, self._index = number, cells, index
        self._titles, self._problems = titles, problems

    def raw(self, key: str) -> Any:
        i = self._index.get(key)
        if i is None or i >= len(self._cells):
            return None
        return self._cells[i]

    def text(self, key: str) -> str:
        return cell_text(self.raw(key))

    def problem(self, key: str, message: str) -> None:
        self._problems.append(
            ImportProblem(self.number, self._titles.get(key, key), message)
        )

    def digits(
        self, key: str, lengths: tuple[int, ...], what: str, *, required: bool = False
    ) -> str | None:
        value = re.sub(r"\s+", "", self.text(key))
        if not value:
            if required:
                self.problem(key, f"укажите {what}")
            return None
        if not value.isdigit() or len(value) not in lengths:
            counts = " или ".join(str(n) for n in lengths)
            self.problem(
                key, f"{what} должен состоять из {counts} цифр, а не «{value}»"
            )
            return None
        return value

    def required_text(self, key: str, what: str, max_len: int) -> str | None:
        value = self.text(key)
        if not value:
            self.problem(key, f"укажите {what}")
            return None
        return self.limited(key, value, max_len)

    def optional_text(self, key: str, max_len: int) -> str | None:
        value = self.text(key)
        return self.limited(key, value, max_len) if value else None

    def limited(self, key: str, value: str, max_len: int) -> str | None:
        if len(value) > max_len:
            self.problem(key, f"не длиннее {max_len} символов (сейчас {len(value)})")
            return None
        return value

    def date(self, key: str, *, required: bool) -> dt.date | None:
        value = self.raw(key)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = self.text(key)
        if not text:
            if required:
                self.problem(key, "укажите дату")
            return None
        for fmt in ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y", "%d/%m/%Y"):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        self.problem(key, f"дата «{text}» не распознана: укажите её как ДД.ММ.ГГГГ")
        return None

    def flag(self, key: str) -> bool | None:
        value = self.raw(key)
        if isinstance(value, bool):
            return value
        text = _canon(self.text(key))
        if text in {"", "нет", "no", "false", "0", "n", "н"}:
            return False
        if text in {"да", "yes", "true", "1", "y", "д", "есть"}:
            return True
        if self.text(key) in {"+", "-"}:
            return self.text(key) == "+"
        self.problem(key, f"ожидается «да» или «нет», а не «{self.text(key)}»")
        return None

    def amount(self, key: str) -> int | None:
        """Kopecks from «12 345,67», 12345.67 or «12345.67 руб.»."""
        value = self.raw(key)
        if isinstance(value, bool):
            value = None
        if isinstance(value, int | float):
            text = repr(value) if isinstance(value, float) else str(value)
        else:
            text = re.sub(r"[\s\u00a0\u202f]|руб\.?|₽", "", self.text(key)).replace(
                ",", "."
            )
        if not text:
            self.problem(key, "укажите сумму")
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            self.problem(key, f"сумма «{self.text(key)}» не распознана")
            return None
        kopecks = number * 100
        if kopecks != kopecks.to_integral_value() or not number.is_finite():
            self.problem(key, "сумма указывается с точностью до копеек")
            return None
        if number == 0:
            self.problem(key, "сумма не может быть нулевой")
            return None
        return int(kopecks)


def _rows(
    table: Table, columns: Sequence[Column], problems: list[ImportProblem]
) -> Iterator[_Row]:
    index, titles, missing = _map_columns(table, columns)
    problems.extend(missing)
    if missing:
        return
    for number, cells in table.rows:
        yield _Row(number, cells, index, titles, problems)


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


# -- contracts ----------------------------------------------------------------------


@dataclass(frozen=True)
class ContractsImportSummary:
    rows: int
    organisations_created: int
    organisations_updated: int
    contracts_created: int
    contracts_updated: int

    def __str__(self) -> str:
        return (
            f"строк: {self.rows}; организаций добавлено: {self.organisations_created}, "
            f"обновлено: {self.organisations_updated}; договоров добавлено: "
            f"{self.contracts_created}, обновлено: {self.contracts_updated}"
        )


@dataclass
class _ContractRow:
    row: int
    org: dict[str, Any]
    number: str
    signed_on: dt.date | None
    esign: bool
    contacts: dict[str, str | None]


def _check_contract_rows(
    table: Table,
) -> tuple[list[_ContractRow], list[ImportProblem]]:
    problems: list[ImportProblem] = []
    parsed: list[_ContractRow] = []
    for row in _rows(table, CONTRACT_COLUMNS, problems):
        before = len(problems)
        inn = row.digits("inn", (10, 12), "ИНН", required=True)
        kpp = row.text("kpp").replace(" ", "")
        if kpp and not re.fullmatch(r"\d{4}[0-9A-Z]{2}\d{3}", kpp):
            row.problem("kpp", f"КПП должен состоять из 9 знаков, а не «{kpp}»")
        ogrn = row.digits("ogrn", (13, 15), "ОГРН")
        name = row.required_text("name", "наименование организации", 300)
        email = row.text("email").lower()
        if not email:
            row.problem("email", "укажите адрес электронной почты организации")
        elif not _EMAIL_RE.match(email) or len(email) > 254:
            row.problem("email", f"некорректный адрес электронной почты «{email}»")
        address = row.optional_text("address", 500)
        number = row.required_text("number", "номер договора", 50)
        signed_on = row.date("date", required=False)
        esign = row.flag("esign")
        contacts = {
            key: row.optional_text(
                key,
                500 if key == "branch_address" else 200 if key.endswith("name") else 50,
            )
            for key in CONTACT_FIELDS
        }
        if len(problems) == before:
            parsed.append(
                _ContractRow(
                    row.number,
                    {
                        "inn": inn,
                        "kpp": kpp or None,
                        "ogrn": ogrn,
                        "name": name,
                        "email": email,
                        "address": address,
                    },
                    str(number),
                    signed_on,
                    bool(esign),
                    contacts,
                )
            )
    seen_numbers: dict[str, int] = {}
    seen_orgs: dict[str, _ContractRow] = {}
    for item in parsed:
        key = item.number.upper()
        if key in seen_numbers:
            problems.append(
                ImportProblem(
                    item.row,
                    "Номер договора",
                    f"договор «{item.number}» уже есть в строке {seen_numbers[key]}",
                )
            )
        seen_numbers.setdefault(key, item.row)
        first = seen_orgs.setdefault(item.org["inn"], item)
        for attr, title in (("name", "Наименование"), ("email", "E-mail")):
            if first.org[attr] != item.org[attr]:
                problems.append(
                    ImportProblem(
                        item.row,
                        title,
                        f"у организации с ИНН {item.org['inn']} в строке "
                        f"{first.row} указано другое значение: «{first.org[attr]}»",
                    )
                )
    return parsed, problems


def import_contracts(
    session: Session,
    *,
    filename: str,
    data: bytes,
    user: User | None,
    progress: Progress | None = None,
    request_info: RequestInfo | None = None,
) -> ContractsImportSummary:
    """Create or update organisations (by ИНН) and contracts (by number).

    :raises ImportFailed: any problem in the file; nothing is written then.
    """
    table = read_table(filename, data)
    parsed, problems = _check_contract_rows(table)
    orgs = {
        o.inn: o
        for o in session.scalars(
            select(Organisation).where(
                Organisation.inn.in_({p.org["inn"] for p in parsed})
            )
        )
    }
    contracts = {
        c.number.upper(): c
        for c in session.scalars(
            select(Contract).where(Contract.number.in_({p.number for p in parsed}))
        )
    }
    org_by_id = {o.id: o for o in orgs.values()}
    for item in parsed:
        existing = contracts.get(item.number.upper())
        if existing is not None:
            owner = org_by_id.get(existing.organisation_id) or session.get(
                Organisation, existing.organisation_id
            )
            if owner is not None and owner.inn != item.org["inn"]:
                problems.append(
                    ImportProblem(
                        item.row,
                        "Номер договора",
                        f"договор «{item.number}» уже заключён с организацией ИНН {owner.inn}",
                    )
                )
    if problems:
        raise ImportFailed(sorted(problems, key=lambda p: p.row))

    total = len(parsed)
    created_orgs = updated_orgs = created = updated = 0
    for done, item in enumerate(parsed, start=1):
        org = orgs.get(item.org["inn"])
        if org is None:
            org = Organisation(**item.org)
            session.add(org)
            session.flush()
            orgs[org.inn] = org
            created_orgs += 1
        elif any(getattr(org, k) != v for k, v in item.org.items() if v is not None):
            for k, v in item.org.items():
                if v is not None:
                    setattr(org, k, v)
            updated_orgs += 1
        contract = contracts.get(item.number.upper())
        if contract is None:
            contract = Contract(
                number=item.number,
                organisation_id=org.id,
                signed_on=item.signed_on,
                esign_agreement=item.esign,
            )
            session.add(contract)
            session.flush()
            contracts[item.number.upper()] = contract
            created += 1
        else:
            if (contract.signed_on, contract.esign_agreement) != (
                item.signed_on,
                item.esign,
            ):
                updated += 1
            contract.signed_on = item.signed_on or contract.signed_on
            contract.esign_agreement = item.esign
        if any(item.contacts.values()):
            contacts = session.get(ContractContacts, contract.id)
            if contacts is None:
                contacts = ContractContacts(contract_id=contract.id)
                session.add(contacts)
            for key, value in item.contacts.items():
                if value is not None:
                    setattr(contacts, key, value)
        if done % 500 == 0:
            session.flush()
        _tick(progress, done, total)
    session.flush()
    summary = ContractsImportSummary(
        total, created_orgs, updated_orgs, created, updated
    )
    record(
        session,
        user=user,
        action="contracts.imported",
        object_type="import",
        object_id=filename[:64] or "-",
        details={"filename": filename, "rows": total, "summary": str(summary)},
        request_info=request_info,
    )
    return summary


# -- payments -----------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentsImportSummary:
    rows: int
    created: int
    skipped: int

    def __str__(self) -> str:
        return (
            f"строк: {self.rows}; платежей добавлено: {self.created}, уже были "
            f"загружены ранее: {self.skipped}"
        )


def import_payments(
    session: Session,
    *,
    filename: str,
    data: bytes,
    user: User | None,
    progress: Progress | None = None,
    request_info: RequestInfo | None = None,
) -> PaymentsImportSummary:
    """Add payments; a payment already loaded (same contract, date, amount and
    document number) is skipped, so a file can be loaded again safely.

    :raises ImportFailed: any problem in the file; nothing is written then.
    """
    table = read_table(filename, data)
    problems: list[ImportProblem] = []
    parsed: list[tuple[int, str, dt.date, int, str | None, str | None]] = []
    for row in _rows(table, PAYMENT_COLUMNS, problems):
        before = len(problems)
        number = row.required_text("number", "номер договора", 50)
        paid_on = row.date("date", required=True)
        amount = row.amount("amount")
        document = row.optional_text("document", 50)
        purpose = row.optional_text("purpose", 500)
        if len(problems) == before:
            parsed.append(
                (
                    row.number,
                    str(number),
                    paid_on,
                    amount,
                    document,  # type: ignore[arg-type]
                    purpose,
                )
            )
    contracts = {
        c.number.upper(): c
        for c in session.scalars(
            select(Contract).where(Contract.number.in_({p[1] for p in parsed}))
        )
    }
    for row_number, number, *_rest in parsed:
        if number.upper() not in contracts:
            problems.append(
                ImportProblem(
                    row_number,
                    "Номер договора",
                    f"договора «{number}» нет в базе поставщика",
                )
            )
    if problems:
        raise ImportFailed(sorted(problems, key=lambda p: p.row))

    known = {
        (p.contract_id, p.paid_on, p.amount_kopecks, p.document_number or "")
        for p in session.scalars(
            select(Payment).where(
                Payment.contract_id.in_([c.id for c in contracts.values()])
            )
        )
    }
    created = skipped = 0
    total = len(parsed)
    for done, (_row, number, paid_on, amount, document, purpose) in enumerate(
        parsed, 1
    ):
        contract = contracts[number.upper()]
        key = (contract.id, paid_on, amount, document or "")
        if key in known:
            skipped += 1
        else:
            known.add(key)
            session.add(
                Payment(
                    contract_id=contract.id,
                    paid_on=paid_on,
                    amount_kopecks=amount,
                    document_number=document,
                    purpose=purpose,
                )
            )
            created += 1
        if done % 500 == 0:
            session.flush()
        _tick(progress, done, total)
    session.flush()
    summary = PaymentsImportSummary(total, created, skipped)
    record(
        session,
        user=user,
        action="payments.imported",
        object_type="import",
        object_id=filename[:64] or "-",
        details={"filename": filename, "rows": total, "summary": str(summary)},
        request_info=request_info,
    )
    return summary


CONTRACTS_EXAMPLE = [
    [
        "7701234567",
        "770101001",
        "1027700132195",
        "ООО «Ромашка»",
        "office@romashka.example",
        "г. Москва, ул. Энергетиков, д. 7",
        "77-0001-ЮЛ",
        "15.01.2024",
        "да",
        "Иванов Иван Иванович",
        "г. Москва, ул. Садовая, д. 1",
        "+7 495 100-00-01",
        "+7 495 100-00-02",
        "Смирнова Ольга Петровна",
        "+7 495 100-00-03",
    ]
]
PAYMENTS_EXAMPLE = [
    [
        "77-0001-ЮЛ",
        "10.02.2026",
        "125000,50",
        "1542",
        "Оплата электроэнергии за январь 2026",
    ]
]
