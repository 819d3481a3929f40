"""Issue 17 «What a newcomer hit», items 2–6, through the web pages.

2. a refused certificate gets one verdict, each reason once, coloured by it;
3. the countersignature and «Удалить все» ask first, the countersignature says
   what happened, and a link to a deleted (or no longer visible) document says so;
4. e-mail links follow ``HOST``/``PORT`` in the embedded mode, and a folded
   subject keeps its spaces («договору № …»);
5. the registration page's instructions, the binding form's check box, and no
   promise of appeals or services the cabinet does not have;
6. the printable form's one numbering, the password error that is not the
   hint again, the news preview drawn as the news.
"""

from __future__ import annotations

import email
import io
import os
import re
import subprocess
from email import policy
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import delete, select

from docflow.accounts.models import User
from docflow.config import ConfigError, Settings
from docflow.contracts.models import Contract, ContractAccess
from docflow.documents.models import DocStatus, Document
from docflow.documents.tasks import countersign_document
from tests.functional.conftest import register, solve_captcha
from tests.functional.contract_world import build_world, login, make_user, session
from tests.functional.newcomer_world import (
    CLERK,
    OTHER_SIGNER,
    SIGNER,
    Demo,
    demo,
)
from tests.functional.test_readings_acts import pdf_text, send_two
from tests.functional.test_readings_world import PERIOD_KEY, Readings, readings
from tests.functional.world import PASSWORD, World, keys, world

__all__ = ["demo", "keys", "readings", "world"]

ROOT = Path(__file__).resolve().parents[2]


def _client(w: World, user: object) -> FlaskClient:
    client = w.app.test_client()
    resp = client.post(
        "/account/login",
        data={"email": user.email, "password": PASSWORD},  # type: ignore[attr-defined]
    )
    assert resp.status_code == 302
    return client


def _upload(client: FlaskClient, pem: bytes) -> object:
    return client.post(
        "/certificates/", data={"certificate": (io.BytesIO(pem), "cert.crt")}
    )


# -- 2. one verdict per certificate page -------------------------------------------


def test_refused_certificate_has_one_red_verdict_with_each_reason_once(
    world: World,
) -> None:
    # Valid in itself (revocation unknown: a warning), but of another company.
    resp = _upload(_client(world, world.signer_a), world.keys.signer_b.pem)
    assert resp.status_code == 422  # type: ignore[attr-defined]
    page = resp.get_data(as_text=True)  # type: ignore[attr-defined]
    assert page.count('class="verdict ') == 1
    assert "verdict--bad" in page and "verdict--ok" not in page
    assert "Сертификат действителен" not in page
    assert page.count("не совпадает ни с одним договором") == 1
    assert page.count("Не удалось получить сведения об отзыве сертификата") == 1
    assert "цифровая подпись, неотрекаемость" in page
    assert "digital" not in page and "non repudiation" not in page


def test_certificate_card_says_the_registration_check_in_russian(
    world: World,
) -> None:
    client = _client(world, world.signer_a)
    resp = _upload(client, world.keys.signer_a.pem)
    assert resp.status_code == 302  # type: ignore[attr-defined]
    card = client.get(resp.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    check = re.search(r'data-testid="registration-check">(.*?)</dd>', card, re.S)
    assert check is not None
    assert check.group(1).startswith("пройдена")
    assert "Не удалось получить сведения об отзыве" in check.group(1)
    assert ">valid<" not in card and "digital signature" not in card
    assert "цифровая подпись, неотрекаемость" in card


# -- 3. confirmations and honest messages ------------------------------------------


def test_countersignature_asks_first_and_says_the_document_is_signed(
    demo: Demo,
) -> None:
    doc = demo.document()["id"]
    demo.sign_as_customer(demo.client(SIGNER), SIGNER, doc)
    clerk = demo.client(CLERK)
    card = clerk.get(f"/documents/{doc}").get_data(as_text=True)
    form = re.search(r'<form[^>]*/countersign"[^>]*>', card)
    assert (
        form is not None
        and 'data-confirm="Подписать документ ключом поставщика?' in (form.group(0))
    )
    done = clerk.post(f"/documents/{doc}/countersign", follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "Документ подписан ключом поставщика." in page
    assert "отправлен на подпись" not in page
    assert "Подписан обеими сторонами" in page


def test_queued_countersignature_says_the_status_will_change(demo: Demo) -> None:
    doc = demo.document()["id"]
    demo.sign_as_customer(demo.client(SIGNER), SIGNER, doc)

    # The task's Celery app (the current one: with several Flask apps in one
    # process, the last made), now with a broker in memory and no worker.
    celery = countersign_document.app
    celery.conf.task_always_eager = False
    try:
        page = (
            demo.client(CLERK)
            .post(f"/documents/{doc}/countersign", follow_redirects=True)
            .get_data(as_text=True)
        )
    finally:
        celery.conf.task_always_eager = True
    assert "поставлено в очередь" in page and "статус документа изменится" in page
    assert "Подписан клиентом, ожидает подписи поставщика" in page
    assert "Документ подписан ключом поставщика" not in page


def test_delete_all_notifications_asks_first(demo: Demo) -> None:
    page = demo.client(SIGNER).get("/notifications").get_data(as_text=True)
    form = re.search(r'<form[^>]*data-testid="delete-all"[^>]*>', page)
    assert form is not None
    assert 'data-confirm="Удалить все уведомления? Вернуть их будет нельзя."' in (
        form.group(0)
    )


def test_notification_of_a_deleted_document_leads_to_a_page_that_says_so(
    demo: Demo,
) -> None:
    doc = demo.document()
    signer = demo.client(SIGNER)
    notifications = signer.get("/notifications").get_data(as_text=True)
    assert f'href="/documents/{doc["id"]}"' in notifications
    deleted = demo.client(CLERK).post(f"/documents/{doc['id']}/delete")
    assert deleted.status_code == 302

    resp = signer.get(f"/documents/{doc['id']}")
    assert resp.status_code == 410
    page = resp.get_data(as_text=True)
    assert "Документ удалён" in page and doc["title"] in page
    assert "К уведомлениям" in page
    # Someone who may not see the contract learns nothing: the same 404 as for
    # a document that never was.
    assert demo.client(OTHER_SIGNER).get(f"/documents/{doc['id']}").status_code == 404


def test_notification_of_a_document_no_longer_visible_says_so(demo: Demo) -> None:
    doc = demo.document()
    with session(demo.app) as s:
        contract = s.scalar(select(Contract).where(Contract.number == doc["contract"]))
        assert contract is not None

        user = s.scalar(select(User).where(User.email == SIGNER))
        assert user is not None
        s.execute(
            delete(ContractAccess).where(
                ContractAccess.contract_id == contract.id,
                ContractAccess.user_id == user.id,
            )
        )
        s.commit()
    resp = demo.client(SIGNER).get(f"/documents/{doc['id']}")
    assert resp.status_code == 403
    page = resp.get_data(as_text=True)
    assert "Документ недоступен" in page and "обратитесь к администратору" in page
    assert doc["title"] not in page


def test_replaced_act_leads_to_its_new_version(
    readings: Readings, client: FlaskClient
) -> None:
    send_two(readings, client)
    first = client.post(readings.url("/act/send"), data={"period": PERIOD_KEY})
    client.post(readings.url("/act/send"), data={"period": PERIOD_KEY})
    resp = client.get(first.headers["Location"])
    assert resp.status_code == 410
    page = resp.get_data(as_text=True)
    assert "Документ заменён новой версией" in page
    with readings.app.app_context():
        s = readings.w.session()
        newest = s.scalar(
            select(Document)
            .where(Document.status != DocStatus.DELETED)
            .order_by(Document.created_at.desc())
        )
        s.close()
    assert newest is not None and f"/documents/{newest.id}" in page


# -- 4. links in e-mails -----------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PORT": "8123"}, "http://127.0.0.1:8123"),
        ({"HOST": "192.0.2.7", "PORT": "9000"}, "http://192.0.2.7:9000"),
        ({"HOST": "0.0.0.0", "PORT": "9000"}, "http://127.0.0.1:9000"),  # noqa: S104
        ({"HOST": "::1", "PORT": "9000"}, "http://[::1]:9000"),
        ({}, "http://127.0.0.1:8000"),
        (
            {"PORT": "8123", "BASE_URL": "https://lk.example.ru/"},
            "https://lk.example.ru",
        ),
    ],
)
def test_embedded_mode_links_follow_host_and_port(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    for name in ("HOST", "PORT", "BASE_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env(var_dir=tmp_path, secret_key="x" * 32).base_url == expected


def test_production_keeps_its_base_url_default_and_a_bad_port_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/docflow")
    monkeypatch.setenv("RATELIMIT_STORAGE_URL", "redis://redis:6379/1")
    settings = Settings.from_env(var_dir=tmp_path, secret_key="x" * 32)
    assert settings.base_url == "http://127.0.0.1:8000"
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("PORT", "80000")
    with pytest.raises(ConfigError, match="PORT=80000"):
        Settings.from_env(var_dir=tmp_path, secret_key="x" * 32)


def test_make_run_passes_host_and_port_to_the_processes(tmp_path: Path) -> None:
    """The Makefile's ``run`` with stand-ins for the programs it starts."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python", "docflow", "gunicorn"):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "{name} HOST=$HOST PORT=$PORT"\n')
        script.chmod(0o755)
    stamp = tmp_path / "stamp"
    stamp.touch()
    env = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT")}
    out = subprocess.run(
        ["make", "-s", "run", f"BIN={bin_dir}", f"STAMP={stamp}", "PORT=8123"],  # noqa: S607
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "docflow HOST=127.0.0.1 PORT=8123" in out
    assert "gunicorn HOST=127.0.0.1 PORT=8123" in out


def test_invitation_subject_keeps_the_space_before_the_number(
    app: Flask, client: FlaskClient, var_dir: Path
) -> None:
    world = build_world(app)
    make_user(app, "boss@romashka.example")
    login(client, "boss@romashka.example")
    client.post(
        "/contracts/bind",
        data={
            "email": "office@romashka.example",
            "inn": "7701234567",
            "number": "77-0001-ЮЛ",
        },
    )
    resp = client.post(
        f"/contracts/{world.c1}/access/invite", data={"email": "guest@example.ru"}
    )
    assert resp.status_code == 302
    subjects = []
    for path in (var_dir / "outbox").rglob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if msg["To"] == "guest@example.ru":
            subjects.append(str(msg["Subject"]))
    assert subjects == ["Приглашение к договору № 77-0001-ЮЛ"]


# -- 5. the manual's details -------------------------------------------------------


def test_registration_page_shows_the_instructions_on_the_right(
    client: FlaskClient,
) -> None:
    page = client.get("/account/register").get_data(as_text=True)
    aside = re.search(
        r'<aside[^>]*data-testid="registration-help".*?</aside>', page, re.S
    )
    assert aside is not None
    for step in ("Зарегистрироваться", "72 часа", "Привязать договор", "Я не робот"):
        assert step in aside.group(0)
    assert page.index('class="card auth-card"') < page.index("registration-help")


def test_the_cabinet_has_the_appeals_and_services_it_offers(demo: Demo) -> None:
    client = demo.client(SIGNER)
    subscriptions = client.get("/profile/subscriptions").get_data(as_text=True)
    assert "Получен ответ на обращение" in subscriptions
    assert client.get("/appeals/").status_code == 200
    assert client.get("/appeals/new").status_code == 200
    assert client.get("/services/").status_code == 200
    with session(demo.app) as s:
        contract = s.scalar(select(Contract).where(Contract.number == "77-0001-ЮЛ"))
        assert contract is not None
    card = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "Заказанные услуги" in card
    assert "Платежи" in card and "Документы по договору" in card


# -- 6. small ones ------------------------------------------------------------------


def test_printable_act_has_one_numbering(
    readings: Readings, client: FlaskClient
) -> None:
    send_two(readings, client)
    sent = client.post(readings.url("/act/send"), data={"period": PERIOD_KEY})
    printable = client.get(sent.headers["Location"] + "/printable.pdf")
    assert printable.status_code == 200
    reader = PdfReader(io.BytesIO(printable.data))
    total = len(reader.pages)
    assert total >= 2  # the act and the signing sheet
    for number, page in enumerate(reader.pages, start=1):
        text = re.sub(r"\s+", " ", page.extract_text())
        assert f"Стр. {number} из {total}" in text, (number, text[-200:])
        assert not re.search(r"лист \d+ из \d+", text), text[:200]
    assert "ПРОМ10-77-0001-ЮЛ-2026-11" in pdf_text(printable.data)


def test_password_error_says_what_is_wrong_not_the_hint_again(
    client: FlaskClient,
) -> None:
    page = register(client, password="abcdefgh", password2="abcdefgh").get_data(
        as_text=True
    )
    hint = "Пароль должен быть не короче 8 символов и содержать буквы и цифры."
    assert page.count(hint) == 1
    assert "Пароль не подходит: нет ни одной цифры." in page
    payload = solve_captcha(client)
    short = client.post(
        "/account/register",
        data={
            "last_name": "Сидоров",
            "first_name": "Пётр",
            "email": "p@example.ru",
            "password": "ab1",
            "password2": "ab1",
            "altcha": payload,
        },
    ).get_data(as_text=True)
    assert "в нём 3 символа, а нужно не меньше 8" in short


def test_news_preview_shows_the_list_as_a_list(demo: Demo) -> None:
    page = demo.client(SIGNER).get("/news").get_data(as_text=True)
    preview = re.search(r'data-testid="news-preview">(.*?)</div>', page, re.S)
    assert preview is not None
    assert "<li>привязать договор;</li>" in preview.group(0)
    assert "- привязать" not in preview.group(0)
