"""In-app notifications in the cabinet, and «Очередь уведомлений» for staff."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from docflow.accounts.models import Role, User
from docflow.audit.models import AuditRecord
from docflow.config import ConfigError, OutboxPolicy
from docflow.db import transaction
from docflow.outbox.models import Notification, OutboxMessage, OutboxStatus
from docflow.outbox.services import publish
from docflow.worker import beat_schedule
from tests.functional.contract_world import login, make_user, session

CONTEXT = {
    "document_title": "Акт сверки",
    "document_number": "А-1",
    "contract_number": "77-0001-ЮЛ",
    "url": "http://localhost/documents/1",
    "signer_name": "Иванов И. И.",
}


def publish_to(app: Flask, user_id: uuid.UUID, title: str) -> None:
    with app.app_context(), session(app) as s, transaction(s):
        publish(
            s,
            kind="document.signed",
            users=[s.get(User, user_id)],
            context=CONTEXT,
            title=title,
            link="/documents/1",
        )


def titles(client: FlaskClient) -> list[str]:
    page = client.get("/notifications").get_data(as_text=True)
    return re.findall(r'<a href="/documents/1">([^<]+)</a>', page)


def unread_badge(client: FlaskClient) -> int:
    page = client.get("/").get_data(as_text=True)
    m = re.search(r'data-testid="unread-count">(\d+)<', page)
    return int(m.group(1)) if m else 0


def notification_ids(app: Flask, user_id: uuid.UUID) -> dict[str, uuid.UUID]:
    with session(app) as s:
        return {
            n.title: n.id
            for n in s.scalars(
                select(Notification).where(Notification.user_id == user_id)
            )
        }


def test_in_app_notifications_list_read_and_delete(
    app: Flask, client: FlaskClient
) -> None:
    me = make_user(app, "me@romashka.example")
    other = make_user(app, "other@vasilek.example")
    for title in ("Первое", "Второе", "Третье"):
        publish_to(app, me, title)
    publish_to(app, other, "Чужое")
    login(client, "me@romashka.example")

    assert titles(client) == ["Третье", "Второе", "Первое"]  # newest first
    assert unread_badge(client) == 3
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count("notif is-unread") == 3

    ids = notification_ids(app, me)
    client.post("/notifications/read", data={"id": str(ids["Второе"])})
    assert unread_badge(client) == 2
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count("notif is-unread") == 2

    # Someone else's notification: no effect, whatever the id.
    theirs = notification_ids(app, other)["Чужое"]
    client.post("/notifications/read", data={"id": str(theirs)})
    client.post("/notifications/delete", data={"id": str(theirs)})
    client.post("/notifications/read", data={"id": "not-a-uuid"})
    with session(app) as s:
        foreign = s.get(Notification, theirs)
        assert foreign is not None and foreign.read_at is None

    client.post("/notifications/read")  # all
    assert unread_badge(client) == 0
    assert "notif is-unread" not in client.get("/notifications").get_data(as_text=True)

    client.post("/notifications/delete", data={"id": str(ids["Первое"])})
    assert titles(client) == ["Третье", "Второе"]
    client.post("/notifications/delete")  # all
    assert titles(client) == []
    assert "Уведомлений нет" in client.get("/notifications").get_data(as_text=True)
    assert notification_ids(app, other) == {"Чужое": theirs}


def test_notifications_need_login(client: FlaskClient) -> None:
    assert client.get("/notifications").status_code == 302
    assert client.post("/notifications/delete").status_code == 302


# -- «Очередь уведомлений» ------------------------------------------------------


def failed_row(app: Flask, recipient: str, error: str) -> uuid.UUID:
    with session(app) as s:
        row = OutboxMessage(
            kind="document.signed",
            channel="email",
            recipient=recipient,
            context=CONTEXT,
            status=OutboxStatus.FAILED,
            attempts=8,
            last_error=error,
        )
        s.add(row)
        s.commit()
        return row.id


def staff_world(app: Flask) -> dict[str, Any]:
    make_user(app, "admin@energosbyt.example", role=Role.ADMIN)
    make_user(app, "clerk@energosbyt.example", role=Role.CLERK)
    make_user(app, "customer@romashka.example")
    return {
        "a": failed_row(app, "a@romashka.example", "SMTP 451: попробуйте позже"),
        "b": failed_row(app, "b@romashka.example", "cannot connect to SMTP server"),
    }


def test_outbox_page_is_for_staff_and_retry_for_admins(
    app: Flask, client: FlaskClient
) -> None:
    rows = staff_world(app)

    login(client, "customer@romashka.example")
    assert client.get("/supplier/outbox/").status_code == 404
    assert "Очередь уведомлений" not in client.get("/").get_data(as_text=True)
    client.post("/account/logout")

    login(client, "clerk@energosbyt.example")
    page = client.get("/supplier/outbox/").get_data(as_text=True)
    assert "Очередь уведомлений" in page
    assert "a@romashka.example" in page and "SMTP 451: попробуйте позже" in page
    assert "Повторить" not in page  # clerks read only
    assert (
        client.post("/supplier/outbox/retry", data={"id": str(rows["a"])}).status_code
        == 403
    )
    client.post("/account/logout")

    login(client, "admin@energosbyt.example")
    page = client.get("/supplier/outbox/").get_data(as_text=True)
    counts = dict(
        re.findall(
            r'data-status="(\w+)">\s*<div class="outbox-stat__value">(\d+)', page
        )
    )
    assert counts == {"pending": "0", "overdue": "0", "failed": "2", "sent": "0"}
    assert page.count(">Повторить</button>") == 2

    resp = client.post(
        "/supplier/outbox/retry", data={"id": str(rows["a"])}, follow_redirects=True
    )
    assert "Повторная отправка запланирована: 1" in resp.get_data(as_text=True)
    with session(app) as s:
        a = s.get(OutboxMessage, rows["a"])
        b = s.get(OutboxMessage, rows["b"])
        # Retried: the file channel of the test app delivered it at once.
        assert a is not None and a.status == OutboxStatus.SENT and a.attempts == 1
        assert b is not None and b.status == OutboxStatus.FAILED
        audit = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "outbox.retry")
        ).all()
        assert [r.object_id for r in audit] == [str(rows["a"])]
        assert audit[0].actor_label.endswith("<admin@energosbyt.example>")

    resp = client.post(
        "/supplier/outbox/retry", data={"id": str(rows["a"])}, follow_redirects=True
    )
    assert "уже не в списке недоставленных" in resp.get_data(as_text=True)
    client.post("/supplier/outbox/retry")  # all
    with session(app) as s:
        assert {r.status for r in s.scalars(select(OutboxMessage))} == {
            OutboxStatus.SENT
        }


def test_outbox_cli_status_retry_and_sweep(app: Flask) -> None:
    rows = staff_world(app)
    runner = app.test_cli_runner()

    out = runner.invoke(args=["outbox", "status"])
    assert out.exit_code == 0, out.output
    assert "pending=0  sent=0  failed=2  overdue=0" in out.output
    assert str(rows["a"]) in out.output and "SMTP 451" in out.output

    out = runner.invoke(args=["outbox", "retry-failed", "--id", str(rows["b"])])
    assert out.exit_code == 0 and "queued 1 failed" in out.output, out.output
    out = runner.invoke(args=["outbox", "retry-failed"])
    assert "queued 1 failed" in out.output
    out = runner.invoke(args=["outbox", "status"])
    assert "pending=0  sent=2  failed=0" in out.output

    out = runner.invoke(args=["outbox", "sweep"])
    assert out.exit_code == 0 and "re-queued 0 overdue" in out.output, out.output
    with session(app) as s:
        labels = {
            r.actor_label
            for r in s.scalars(
                select(AuditRecord).where(AuditRecord.action == "outbox.retry")
            )
        }
    assert labels == {"командная строка (docflow outbox retry-failed)"}


# -- the retry policy and the beat schedule ------------------------------------------


def test_outbox_policy_from_settings_and_beat_schedule(app: Flask) -> None:
    policy = OutboxPolicy.from_env(
        {"OUTBOX_BACKOFF_SECONDS": "0.5", "OUTBOX_MAX_ATTEMPTS": "3"}
    )
    assert policy.max_attempts == 3
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert OutboxPolicy.from_env({}).delay(99) == dt.timedelta(hours=2)
    for name, value in (
        ("OUTBOX_MAX_ATTEMPTS", "0"),
        ("OUTBOX_BACKOFF_SECONDS", "soon"),
        ("OUTBOX_SWEEP_GRACE_SECONDS", "-1"),
    ):
        with pytest.raises(ConfigError, match=name):
            OutboxPolicy.from_env({name: value})

    sweep = app.extensions["celery"].conf.beat_schedule["sweep-outbox"]
    assert sweep == {
        "task": "docflow.sweep_outbox",
        "schedule": dt.timedelta(seconds=60),
    }
    settings = app.extensions["docflow"].settings
    fast = Flask("fast")
    fast.extensions["docflow"] = SimpleNamespace(
        settings=settings.replace(
            outbox=OutboxPolicy.from_env({"OUTBOX_SWEEP_INTERVAL_SECONDS": "5"})
        )
    )
    assert beat_schedule(fast)["sweep-outbox"]["schedule"] == dt.timedelta(seconds=5)
