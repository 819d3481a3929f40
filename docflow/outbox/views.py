"""«Очередь уведомлений»: the outbox for the supplier's staff, and the
``docflow outbox`` command.

Clerks see the page; only administrators retry. Customers get 404, as on the
other supplier pages, so they do not learn that the page exists.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import click
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from docflow.access.web import admin_required, current_is_admin, staff_required
from docflow.context import db_session, request_info
from docflow.db import transaction
from docflow.outbox import services as svc
from docflow.outbox.models import Channel, OutboxMessage
from docflow.outbox.tasks import outbox_policy
from notifications import EventKind

bp = Blueprint(
    "notify_admin",
    __name__,
    url_prefix="/supplier/outbox",
    template_folder="templates",
    cli_group="outbox",
)

CHANNEL_TITLES = {
    Channel.EMAIL: "E-mail",
    Channel.SMS: "SMS",
    Channel.WEBHOOK: "Webhook",
}
STATUS_TITLES = {
    "pending": "В очереди",
    "sent": "Отправлено",
    "failed": "Не доставлено",
    "overdue": "В очереди с опозданием",
}


class RetryForm(FlaskForm):
    """The «Повторить» buttons: the row id (or none for all) comes in ``id``."""


def shown_recipient(row: OutboxMessage) -> str:
    """The recipient as shown to staff: a webhook URL without its query, which
    may carry a token."""
    if row.channel != Channel.WEBHOOK:
        return row.recipient
    parts = urlsplit(row.recipient)
    return urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))


def event_label(kind: str) -> str:
    """«Документ подписан стороной» for ``document.signed``; an unknown kind as is."""
    try:
        return EventKind(kind).label
    except ValueError:
        return kind


@bp.app_template_global("outbox_recipient")
def _outbox_recipient(row: OutboxMessage) -> str:
    return shown_recipient(row)


@bp.app_template_global("outbox_event_label")
def _outbox_event_label(kind: str) -> str:
    return event_label(kind)


@bp.get("/")
@staff_required
def queue() -> Any:
    s = db_session()
    policy = outbox_policy()
    return render_template(
        "outbox/outbox.html",
        counts=svc.outbox_counts(s, policy=policy),
        failed=svc.failed_messages(s, limit=200),
        overdue=svc.overdue_messages(s, limit=200, policy=policy),
        policy=policy,
        channel_titles=CHANNEL_TITLES,
        status_titles=STATUS_TITLES,
        form=RetryForm(),
        can_retry=current_is_admin(),
    )


@bp.post("/retry")
@admin_required
def retry() -> Any:
    if not RetryForm().validate_on_submit():
        abort(400)
    raw = request.form.get("id")
    ids: list[uuid.UUID] | None = None
    if raw:
        try:
            ids = [uuid.UUID(raw)]
        except ValueError:
            abort(404)
    s = db_session()
    with transaction(s):
        done = svc.retry_failed(
            s, user=current_user, message_ids=ids, request_info=request_info()
        )
    if ids is not None and not done:
        flash("Это сообщение уже не в списке недоставленных.", "warning")
    else:
        flash(f"Повторная отправка запланирована: {len(done)}.", "success")
    return redirect(url_for("notify_admin.queue"))


# -- docflow outbox status | retry-failed | sweep -------------------------------


def _row_line(row: OutboxMessage) -> str:
    created = row.created_at.strftime("%Y-%m-%d %H:%M:%S")
    error = " ".join((row.last_error or "—").split())[:160]
    return (
        f"  {row.id}  {created}  {row.kind:<28} {row.channel.value:<7} "
        f"{shown_recipient(row):<30} attempts={row.attempts}  {error}"
    )


@bp.cli.command("status", help="Counts by status, the failed and the overdue messages.")
@click.option("--limit", default=50, show_default=True, help="Rows listed per section.")
def status_command(limit: int) -> None:
    s = db_session()
    policy = outbox_policy()
    counts = svc.outbox_counts(s, policy=policy)
    click.echo(
        "  ".join(
            f"{name}={counts[name]}"
            for name in ("pending", "sent", "failed", "overdue")
        )
    )
    failed = svc.failed_messages(s, limit=limit)
    click.echo(f"failed ({counts['failed']}):")
    for row in failed:
        click.echo(_row_line(row))
    overdue = svc.overdue_messages(s, limit=limit, policy=policy)
    click.echo(
        f"overdue, pending for more than {int(policy.sweep_grace.total_seconds())} s "
        f"past their time ({counts['overdue']}):"
    )
    for row in overdue:
        click.echo(_row_line(row))


@bp.cli.command(
    "retry-failed",
    help="Put failed messages back in the queue (attempts start from zero).",
)
@click.option(
    "--id",
    "ids",
    multiple=True,
    type=click.UUID,
    help="Only these messages (repeatable); all failed ones by default.",
)
def retry_failed_command(ids: tuple[uuid.UUID, ...]) -> None:
    s = db_session()
    with transaction(s):
        done = svc.retry_failed(
            s,
            user=None,
            message_ids=list(ids) if ids else None,
            actor_label="командная строка (docflow outbox retry-failed)",
        )
    click.echo(f"queued {len(done)} failed message(s) again")


@bp.cli.command(
    "sweep",
    help="Queue a relay for every overdue pending message now "
    "(what Celery beat runs periodically).",
)
def sweep_command() -> None:
    s = db_session()
    with transaction(s):
        ids = svc.requeue_overdue(s, policy=outbox_policy())
    click.echo(f"re-queued {len(ids)} overdue message(s)")
