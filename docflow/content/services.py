"""News, FAQ and the general contacts: read by everyone, edited by the
supplier's administrator. Every change is written to the audit log."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.accounts.models import User
from docflow.audit import RequestInfo, record
from docflow.content.models import FaqEntry, NewsItem, SiteSetting
from docflow.errors import NotFoundError, ValidationError

GENERAL_CONTACTS = "contacts.general"
CONTACT_FIELDS = ("organisation", "address", "phone", "email", "hours", "note")
DEFAULT_CONTACTS: dict[str, str] = {
    "organisation": "",
    "address": "",
    "phone": "",
    "email": "",
    "hours": "пн–чт 8:30–17:30, пт 8:30–16:15",
    "note": "",
}


def _required(value: str, field: str, message: str, max_len: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(message, details={"field": field})
    if len(value) > max_len:
        raise ValidationError(
            f"Не длиннее {max_len} символов.", details={"field": field}
        )
    return value


# -- news -----------------------------------------------------------------------


def list_news(
    session: Session, *, include_hidden: bool = False, limit: int | None = None
) -> list[NewsItem]:
    stmt = select(NewsItem).order_by(
        NewsItem.published_on.desc(), NewsItem.created_at.desc()
    )
    if not include_hidden:
        stmt = stmt.where(NewsItem.is_published)
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def get_news(
    session: Session, news_id: uuid.UUID, *, include_hidden: bool = False
) -> NewsItem:
    item = session.get(NewsItem, news_id)
    if item is None or (not item.is_published and not include_hidden):
        raise NotFoundError("Новость не найдена.")
    return item


def save_news(
    session: Session,
    *,
    user: User,
    news_id: uuid.UUID | None,
    title: str,
    body: str,
    published_on: dt.date | None,
    is_published: bool,
    request_info: RequestInfo | None = None,
) -> NewsItem:
    title = _required(title, "title", "Укажите заголовок.", 300)
    body = _required(body, "body", "Напишите текст новости.", 20000)
    item = get_news(session, news_id, include_hidden=True) if news_id else NewsItem()
    if news_id is None:
        session.add(item)
    item.title, item.body = title, body
    item.published_on = published_on or dt.date.today()
    item.is_published = is_published
    session.flush()
    record(
        session,
        user=user,
        action="news.created" if news_id is None else "news.changed",
        object_type="news",
        object_id=item.id,
        details={"title": title, "published": is_published},
        request_info=request_info,
    )
    return item


def delete_news(
    session: Session,
    *,
    user: User,
    news_id: uuid.UUID,
    request_info: RequestInfo | None = None,
) -> None:
    item = get_news(session, news_id, include_hidden=True)
    session.delete(item)
    session.flush()
    record(
        session,
        user=user,
        action="news.deleted",
        object_type="news",
        object_id=news_id,
        details={"title": item.title},
        request_info=request_info,
    )


# -- FAQ ------------------------------------------------------------------------


def list_faq(session: Session, *, include_hidden: bool = False) -> list[FaqEntry]:
    stmt = select(FaqEntry).order_by(FaqEntry.position, FaqEntry.created_at)
    if not include_hidden:
        stmt = stmt.where(FaqEntry.is_published)
    return list(session.scalars(stmt))


def get_faq(session: Session, entry_id: uuid.UUID) -> FaqEntry:
    entry = session.get(FaqEntry, entry_id)
    if entry is None:
        raise NotFoundError("Вопрос не найден.")
    return entry


def save_faq(
    session: Session,
    *,
    user: User,
    entry_id: uuid.UUID | None,
    question: str,
    answer: str,
    position: int | None,
    is_published: bool,
    request_info: RequestInfo | None = None,
) -> FaqEntry:
    question = _required(question, "question", "Сформулируйте вопрос.", 500)
    answer = _required(answer, "answer", "Напишите ответ.", 20000)
    entry = get_faq(session, entry_id) if entry_id else FaqEntry()
    if entry_id is None:
        session.add(entry)
    entry.question, entry.answer, entry.is_published = question, answer, is_published
    entry.position = position if position is not None else 100
    session.flush()
    record(
        session,
        user=user,
        action="faq.created" if entry_id is None else "faq.changed",
        object_type="faq",
        object_id=entry.id,
        details={"question": question, "published": is_published},
        request_info=request_info,
    )
    return entry


def delete_faq(
    session: Session,
    *,
    user: User,
    entry_id: uuid.UUID,
    request_info: RequestInfo | None = None,
) -> None:
    entry = get_faq(session, entry_id)
    session.delete(entry)
    session.flush()
    record(
        session,
        user=user,
        action="faq.deleted",
        object_type="faq",
        object_id=entry_id,
        details={"question": entry.question},
        request_info=request_info,
    )


# -- the general contacts --------------------------------------------------------


def general_contacts(session: Session, *, supplier_name: str = "") -> dict[str, str]:
    row = session.get(SiteSetting, GENERAL_CONTACTS)
    values = {**DEFAULT_CONTACTS, "organisation": supplier_name}
    if row is not None:
        values.update({k: str(v) for k, v in row.value.items() if k in CONTACT_FIELDS})
    return values


def save_general_contacts(
    session: Session,
    *,
    user: User,
    values: dict[str, Any],
    request_info: RequestInfo | None = None,
) -> dict[str, str]:
    clean = {k: str(values.get(k) or "").strip()[:2000] for k in CONTACT_FIELDS}
    row = session.get(SiteSetting, GENERAL_CONTACTS)
    if row is None:
        row = SiteSetting(key=GENERAL_CONTACTS)
        session.add(row)
    row.value, row.updated_by_id = clean, user.id
    session.flush()
    record(
        session,
        user=user,
        action="contacts.general_changed",
        object_type="setting",
        object_id=GENERAL_CONTACTS,
        details=clean,
        request_info=request_info,
    )
    return clean
