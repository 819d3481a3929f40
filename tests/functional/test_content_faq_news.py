"""FAQ, news and contacts: public pages, edited by the supplier's administrator
only, with a safe markup (no HTML gets through)."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from docflow.accounts.models import Role
from docflow.content.markup import preview, render_text
from tests.functional.contract_world import (
    audit_actions,
    build_world,
    grant,
    login,
    make_user,
)

EVIL = (
    "<script>alert(1)</script> **Важно**: https://example.ru/a?b=1&c=2.\n\n- раз\n- два"
)


def test_markup_escapes_html_and_keeps_paragraphs_lists_bold_and_links() -> None:
    html = str(render_text(EVIL))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<strong>Важно</strong>" in html
    assert '<a href="https://example.ru/a?b=1&amp;c=2" rel="nofollow noopener"' in html
    assert html.count("<p>") == 1 and "<ul><li>раз</li><li>два</li></ul>" in html
    assert str(render_text('"><img src=x onerror=alert(1)>')).count("<img") == 0
    cut = str(preview("слово " * 100, 30))
    assert cut.startswith("<p>слово слово") and cut.endswith("слово…</p>")
    assert len(cut) <= len("<p></p>") + 31


def test_news_preview_draws_lists_as_the_full_page_does() -> None:
    body = "Что нужно сделать:\n- привязать договор;\n- зарегистрировать сертификат."
    html = str(preview(body, 320))
    assert html == str(render_text(body))
    assert "<li>привязать договор;</li>" in html and "- " not in html
    # Cut inside the list: the items that fit, the next one cut at a word.
    longer = body + "\n- подписать документы в разделе «Документы»"
    short = str(preview(longer, 95))
    assert short.endswith("<li>подписать документы в разделе…</li></ul>"), short
    assert str(preview(longer, 70)).endswith(
        "<li>зарегистрировать сертификат…</li></ul>"
    )


def test_news_and_faq_are_edited_by_the_administrator_only(
    app: Flask, client: FlaskClient
) -> None:
    make_user(app, "clerk@energosbyt.example", role=Role.CLERK)
    make_user(app, "boss@romashka.example")
    for email in ("clerk@energosbyt.example", "boss@romashka.example"):
        other = app.test_client()
        login(other, email)
        assert other.get("/news/new").status_code == 403
        assert (
            other.post("/faq/new", data={"question": "?", "answer": "!"}).status_code
            == 403
        )
        assert other.get("/contacts/edit").status_code == 403
    assert client.get("/news/new").status_code == 302  # anonymous: to the login page

    make_user(app, "admin@energosbyt.example", role=Role.ADMIN)
    login(client, "admin@energosbyt.example")
    resp = client.post(
        "/news/new",
        data={
            "title": "Плановые работы",
            "body": EVIL,
            "published_on": "2026-11-20",
            "is_published": "y",
        },
    )
    assert resp.status_code == 302
    news_path = resp.headers["Location"]
    anonymous = app.test_client()
    listing = anonymous.get("/news").get_data(as_text=True)
    assert "Плановые работы" in listing and "20.11.2026" in listing
    page = anonymous.get(news_path).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "<strong>Важно</strong>" in page
    # Hidden news: only the administrator sees it.
    news_id = news_path.rsplit("/", 1)[1]
    client.post(
        f"/news/{news_id}/edit", data={"title": "Плановые работы", "body": "Текст"}
    )
    assert anonymous.get(news_path).status_code == 404
    assert client.get(news_path).status_code == 200
    empty = client.post("/news/new", data={"title": "", "body": ""})
    assert empty.status_code == 200 and "Заполните это поле" in empty.get_data(
        as_text=True
    )

    client.post(
        "/faq/new",
        data={
            "question": "Второй?",
            "answer": "Да.",
            "position": "20",
            "is_published": "y",
        },
    )
    client.post(
        "/faq/new",
        data={
            "question": "Первый?",
            "answer": EVIL,
            "position": "10",
            "is_published": "y",
        },
    )
    faq = anonymous.get("/faq").get_data(as_text=True)
    assert re.findall(r"<summary>([^<]+)</summary>", faq) == ["Первый?", "Второй?"]
    assert "&lt;script&gt;" in faq
    faq_id = re.search(
        r"/faq/([0-9a-f-]{36})/edit", client.get("/faq").get_data(as_text=True)
    ).group(1)  # type: ignore[union-attr]
    assert client.post(f"/faq/{faq_id}/delete").status_code == 302
    assert client.post(f"/news/{news_id}/delete").status_code == 302
    assert client.get(news_path).status_code == 404
    actions = [a for a, _ in audit_actions(app)]
    assert {
        "news.created",
        "news.changed",
        "news.deleted",
        "faq.created",
        "faq.deleted",
    } <= set(actions)


def test_contacts_are_general_until_a_contract_is_bound(
    app: Flask, client: FlaskClient
) -> None:
    world = build_world(app)
    make_user(app, "admin@energosbyt.example", role=Role.ADMIN)
    admin = app.test_client()
    login(admin, "admin@energosbyt.example")
    assert (
        admin.post(
            "/contacts/edit",
            data={
                "organisation": "АО «Энергосбыт», отдел ЮЛ",
                "phone": "+7 495 600-10-00",
                "email": "corp@energosbyt.example",
                "hours": "пн–пт 9–18",
                "note": "<b>Аварийная</b> служба",
            },
        ).status_code
        == 302
    )
    assert "contacts.general_changed" in [a for a, _ in audit_actions(app)]
    page = app.test_client().get("/contacts").get_data(as_text=True)
    assert "+7 495 600-10-00" in page and "&lt;b&gt;Аварийная" in page
    uid = make_user(app, "boss@romashka.example")
    login(client, "boss@romashka.example")
    assert "Привяжите договор" in client.get("/contacts").get_data(as_text=True)
    grant(app, uid, world.c1)
    admin.post(
        f"/supplier/contracts/{world.c1}/contacts",
        data={
            "head_name": "Соколов А. В.",
            "curator_name": "Смирнова О. П.",
            "curator_phone": "+7 495 600-10-35",
        },
    )
    page = client.get("/contacts").get_data(as_text=True)
    assert "Договор № 77-0001-ЮЛ" in page and "Смирнова О. П." in page
    assert "Общие контакты поставщика" in page
