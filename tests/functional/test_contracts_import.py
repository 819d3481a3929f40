"""Loading the supplier's records from Excel and CSV: the admin page, the CLI,
the contract registry and its editing by the supplier's administrator."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select

from docflow.accounts.models import Role
from docflow.contracts.models import (
    Contract,
    ContractContacts,
    Organisation,
    Payment,
    RestrictionEntry,
)
from tests.functional.contract_world import (
    audit_actions,
    build_world,
    grant,
    login,
    make_user,
    session,
)

HEADER = [
    "ИНН",
    "КПП",
    "ОГРН",
    "Наименование",
    "E-mail",
    "Адрес",
    "Номер договора",
    "Дата договора",
    "Соглашение об ЭДО",
    "Куратор",
    "Телефон куратора",
]
GOOD_ROWS = [
    [
        "7705123456",
        "770501001",
        "1157746123456",
        "ООО «Одуванчик»",
        "office@oduvanchik.example",
        "г. Москва",
        "77-0150-ЮЛ",
        dt.date(2024, 11, 5),
        "да",
        "Смирнова О. П.",
        "+7 495 600-10-35",
    ],
    [
        "7705123456",
        "770501001",
        "1157746123456",
        "ООО «Одуванчик»",
        "office@oduvanchik.example",
        "г. Москва",
        "77-0151-ЮЛ",
        "01.02.2025",
        "нет",
        "",
        "",
    ],
    [
        501234567890,
        "",
        "",
        "ИП Сорокин А. А.",
        "sorokin@example.ru",
        "",
        "50-0300-ИП",
        "",
        "",
        "",
        "",
    ],
]


def _xlsx(rows: list[list[object]], header: list[str] = HEADER) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _upload(client: FlaskClient, kind: str, name: str, data: bytes) -> object:
    return client.post(
        "/supplier/contracts/import",
        data={"kind": kind, f"{kind}-file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _admin(app: Flask, client: FlaskClient) -> None:
    make_user(app, "admin@energosbyt.example", role=Role.ADMIN, last_name="Кузнецов")
    login(client, "admin@energosbyt.example")


def _count(app: Flask, model: type) -> int:
    with session(app) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_good_xlsx_creates_organisations_contracts_and_contacts(
    app: Flask, client: FlaskClient
) -> None:
    _admin(app, client)
    resp = _upload(client, "contracts", "registry.xlsx", _xlsx(GOOD_ROWS))
    assert resp.status_code == 302  # type: ignore[attr-defined]
    page = client.get("/supplier/contracts/import").get_data(as_text=True)
    assert "организаций добавлено: 2" in page and "договоров добавлено: 3" in page
    with session(app) as s:
        org = s.scalar(select(Organisation).where(Organisation.inn == "7705123456"))
        assert org is not None and org.email == "office@oduvanchik.example"
        c = s.scalar(select(Contract).where(Contract.number == "77-0150-ЮЛ"))
        assert (
            c is not None and c.signed_on == dt.date(2024, 11, 5) and c.esign_agreement
        )
        contacts = s.get(ContractContacts, c.id)
        assert contacts is not None and contacts.curator_phone == "+7 495 600-10-35"
        ip = s.scalar(select(Organisation).where(Organisation.inn == "501234567890"))
        assert ip is not None
    assert "contracts.imported" in [a for a, _ in audit_actions(app)]
    # Loading the same file again changes nothing and duplicates nothing.
    assert (
        _upload(client, "contracts", "registry.xlsx", _xlsx(GOOD_ROWS)).status_code
        == 302
    )  # type: ignore[attr-defined]
    assert _count(app, Contract) == 3 and _count(app, Organisation) == 2
    registry = client.get("/supplier/contracts/?q=одуванч").get_data(as_text=True)
    assert "77-0150-ЮЛ" in registry and "50-0300-ИП" not in registry


def test_good_csv_in_windows_1251_with_semicolons(
    app: Flask, client: FlaskClient
) -> None:
    _admin(app, client)
    text = (
        "ИНН;Наименование;Эл. почта;Номер договора;Дата договора\r\n"
        "7705123456;ООО «Одуванчик»;office@oduvanchik.example;77-0150-ЮЛ;05.11.2024\r\n"
    )
    resp = _upload(client, "contracts", "registry.csv", text.encode("cp1251"))
    assert resp.status_code == 302  # type: ignore[attr-defined]
    assert _count(app, Contract) == 1


def test_bad_file_is_refused_whole_with_row_and_column(
    app: Flask, client: FlaskClient
) -> None:
    _admin(app, client)
    build_world(app)  # 50-0100-ЮЛ belongs to АО «Василёк» (ИНН 5003012345)
    rows = [list(r) for r in GOOD_ROWS]
    rows[0][0] = "77051234"  # row 2: a short ИНН
    rows[1][4] = "not-an-email"  # row 3
    rows[1][7] = "31.02.2025"  # row 3: no such date
    rows[2][6] = "50-0100-ЮЛ"  # row 4: another organisation's contract
    before = _count(app, Contract)
    resp = _upload(client, "contracts", "bad.xlsx", _xlsx(rows))
    assert resp.status_code == 422  # type: ignore[attr-defined]
    page = resp.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "из этого файла ничего не сохранено" in page
    found = re.findall(
        r'<tr><td class="num">(\d+)</td><td>([^<]+)</td><td>([^<]+)</td>', page
    )
    by_row = {(int(r), c.split(" (")[0]) for r, c, _m in found}
    assert {
        (2, "ИНН"),
        (3, "E-mail"),
        (3, "Дата договора"),
        (4, "Номер договора"),
    } <= by_row
    assert "ИНН (A)" in page  # the column letter, as Excel shows it
    assert _count(app, Contract) == before
    assert _count(app, Organisation) == 2
    # Missing columns, an old .xls, garbage.
    resp = _upload(client, "contracts", "x.xlsx", _xlsx([["1"]], header=["ИНН"]))
    assert "в файле нет такого столбца" in resp.get_data(as_text=True)  # type: ignore[attr-defined]
    resp = _upload(client, "contracts", "old.xls", b"\xd0\xcf\x11\xe0junk")
    assert ".xls (Excel 97–2003) не поддерживается" in resp.get_data(as_text=True)  # type: ignore[attr-defined]
    resp = _upload(client, "contracts", "broken.xlsx", b"PK\x03\x04 broken zip")
    assert resp.status_code == 422  # type: ignore[attr-defined]
    assert "не удалось прочитать как Excel" in resp.get_data(as_text=True)  # type: ignore[attr-defined]


def test_payments_load_once_and_show_on_the_card(
    app: Flask, client: FlaskClient
) -> None:
    _admin(app, client)
    world = build_world(app)
    data = _xlsx(
        [
            ["77-0001-ЮЛ", "10.02.2026", "125 000,50", "1542", "Январь"],
            ["77-0001-ЮЛ", dt.date(2026, 3, 10), 99.9, "", ""],
        ],
        header=[
            "Номер договора",
            "Дата платежа",
            "Сумма",
            "Номер документа",
            "Назначение платежа",
        ],
    )
    assert _upload(client, "payments", "pay.xlsx", data).status_code == 302  # type: ignore[attr-defined]
    assert _upload(client, "payments", "pay.xlsx", data).status_code == 302  # type: ignore[attr-defined]
    page = client.get("/supplier/contracts/import").get_data(as_text=True)
    assert "платежей добавлено: 0, уже были загружены ранее: 2" in page
    with session(app) as s:
        amounts = sorted(p.amount_kopecks for p in s.scalars(select(Payment)))
    assert amounts == [9990, 12_500_050]
    bad = _xlsx(
        [
            ["77-0001-ЮЛ", "10.02.2026", "abc", "", ""],
            ["77-0404-ЮЛ", "10.02.2026", "10", "", ""],
        ],
        header=["Номер договора", "Дата платежа", "Сумма", "Документ", "Назначение"],
    )
    resp = _upload(client, "payments", "bad.xlsx", bad)
    page = resp.get_data(as_text=True)  # type: ignore[attr-defined]
    assert resp.status_code == 422 and "сумма «abc» не распознана" in page  # type: ignore[attr-defined]
    assert "договора «77-0404-ЮЛ» нет в базе поставщика" in page
    customer = app.test_client()
    uid = make_user(app, "boss@romashka.example")
    grant(app, uid, world.c1, can_manage=True)
    login(customer, "boss@romashka.example")
    card = customer.get(f"/contracts/{world.c1}/payments").get_data(as_text=True)
    assert "125\u202f000,50\u00a0₽" in card and "99,90\u00a0₽" in card


def test_cli_import_shows_progress_and_refuses_bad_files(
    app: Flask, tmp_path: object
) -> None:
    folder = Path(str(tmp_path))
    good, bad = folder / "good.xlsx", folder / "bad.csv"
    good.write_bytes(_xlsx(GOOD_ROWS))
    bad.write_text(
        "ИНН;Наименование;E-mail;Номер договора\n123;X;x@example.ru;1\n",
        encoding="utf-8",
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["contracts", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "договоров добавлено: 3" in result.output
    assert "3/3" in result.output  # the progress bar's position
    result = runner.invoke(args=["contracts", "import", str(bad)])
    assert result.exit_code == 1
    assert (
        "строка 2, столбец «ИНН (A)»: ИНН должен состоять из 10 или 12 цифр"
        in result.output
    )
    assert _count(app, Contract) == 3


def test_registry_is_for_staff_and_only_administrators_edit(
    app: Flask, client: FlaskClient
) -> None:
    world = build_world(app)
    make_user(app, "clerk@energosbyt.example", role=Role.CLERK)
    clerk = app.test_client()
    login(clerk, "clerk@energosbyt.example")
    page = clerk.get(f"/supplier/contracts/{world.c1}").get_data(as_text=True)
    assert "77-0001-ЮЛ" in page and 'data-testid="contacts-form"' not in page
    assert clerk.get("/supplier/contracts/").status_code == 200
    assert clerk.get("/supplier/contracts/import").status_code == 403
    assert (
        clerk.post(
            f"/supplier/contracts/{world.c1}/contacts", data={"phone": "1"}
        ).status_code
        == 403
    )
    _admin(app, client)
    resp = client.post(
        f"/supplier/contracts/{world.c1}/contacts",
        data={
            "head_name": "Соколов А. В.",
            "branch_address": "ул. Электрозаводская, 21",
            "phone": "+7 495 600-10-20",
            "fax": "",
            "curator_name": "Смирнова О. П.",
            "curator_phone": "+7 495 600-10-35",
        },
    )
    assert resp.status_code == 302
    resp = client.post(
        f"/supplier/contracts/{world.c1}/schedule",
        data={"date_from": "2026-12-01", "date_to": "2026-11-30", "reason": "Ремонт"},
    )
    assert resp.status_code == 422 and "раньше даты начала" in resp.get_data(
        as_text=True
    )
    resp = client.post(
        f"/supplier/contracts/{world.c1}/schedule",
        data={
            "date_from": "2026-12-01",
            "date_to": "2026-12-02",
            "time_from": "25:00",
            "reason": "Ремонт",
        },
    )
    assert resp.status_code == 422
    assert "Неверное значение времени" in resp.get_data(as_text=True)
    resp = client.post(
        f"/supplier/contracts/{world.c1}/schedule",
        data={
            "date_from": "2026-12-01",
            "date_to": "2026-12-02",
            "time_from": "09:00",
            "time_to": "17:00",
            "limit_kw": "150",
            "reason": "Ремонт ТП-1452",
        },
    )
    assert resp.status_code == 302
    with session(app) as s:
        entry = s.scalar(select(RestrictionEntry))
        assert entry is not None and entry.limit_kw == 150
    customer = app.test_client()
    uid = make_user(app, "boss@romashka.example")
    grant(app, uid, world.c1)
    login(customer, "boss@romashka.example")
    card = customer.get(f"/contracts/{world.c1}").get_data(as_text=True)
    assert "Соколов А. В." in card and "+7 495 600-10-35" in card
    schedule = customer.get(f"/contracts/{world.c1}/schedule").get_data(as_text=True)
    assert "Ремонт ТП-1452" in schedule and "09:00–17:00" in schedule
    assert (
        client.post(
            f"/supplier/contracts/{world.c1}/schedule/{entry.id}/delete"
        ).status_code
        == 302
    )
    actions = [a for a, _ in audit_actions(app)]
    assert {
        "contract.contacts_changed",
        "contract.restriction_added",
        "contract.restriction_deleted",
    } <= set(actions)
    template = client.get("/supplier/contracts/import/template/contracts.xlsx")
    assert template.status_code == 200 and template.data.startswith(b"PK")
