"""Webhook endpoints and the event feed.

Webhooks are delivered through the outbox (at least once, signed with the
endpoint's secret); the feed returns the same events in order, so that a
receiver that missed deliveries catches up from the last id it saw.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify, request
from sqlalchemy import select

from docflow.access import acts_for_supplier
from docflow.api.blueprint import api_actor, bp, scope
from docflow.api.errors import int_arg, json_body, string_field
from docflow.api.serialize import event_json, webhook_json
from docflow.api.services import create_webhook, delete_webhook, list_webhooks
from docflow.db import transaction
from docflow.errors import ValidationError
from docflow.notify.models import Event
from docflow.notify.webhooks import allow_private_webhooks
from docflow.web import db_session, settings


@bp.post("/webhooks")
@scope("write")
def post_webhook() -> Any:
    payload = json_body()
    url = string_field(payload, "url", max_length=1000)
    events = payload.get("events", [])
    if not isinstance(events, list) or not all(isinstance(k, str) for k in events):
        raise ValidationError(
            "Поле «events»: список типов событий (пустой — все события).",
            details={"field": "events"},
        )
    secret = payload.get("secret")
    if secret is not None and not isinstance(secret, str):
        raise ValidationError(
            "Поле «secret» должно быть строкой.", details={"field": "secret"}
        )
    description = string_field(payload, "description", required=False, max_length=200)
    s = db_session()
    with transaction(s):
        created = create_webhook(
            s,
            actor=api_actor(),
            url=url,
            kinds=events,
            secret=secret,
            description=description,
            secret_key=settings().secret_key,
            allow_private=allow_private_webhooks(),
        )
        body = webhook_json(created.webhook, secret=created.secret)
    response = jsonify(body)
    response.status_code = 201
    return response


@bp.get("/webhooks")
@scope("read")
def get_webhooks() -> Any:
    hooks = list_webhooks(db_session(), actor=api_actor())
    return jsonify({"items": [webhook_json(h) for h in hooks]})


@bp.delete("/webhooks/<uuid:webhook_id>")
@scope("write")
def remove_webhook(webhook_id: uuid.UUID) -> Any:
    s = db_session()
    with transaction(s):
        delete_webhook(s, actor=api_actor(), webhook_id=webhook_id)
    return "", 204


@bp.get("/events")
@scope("read")
def list_events() -> Any:
    """Events after the cursor, oldest first. ``next_cursor`` is the id of the
    last event returned (or the given cursor when there is none): pass it as
    ``after`` next time."""
    raw = request.args.get("after", "0")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ValidationError(
            "Параметр «after»: курсор из прошлого ответа (next_cursor).",
            code="invalid_cursor",
            details={"field": "after"},
        )
    after = int(raw)
    limit = int_arg("limit", 100, 1, 500)
    actor = api_actor()
    stmt = select(Event).where(Event.id > after).order_by(Event.id).limit(limit + 1)
    if not acts_for_supplier(actor):
        stmt = stmt.where(Event.organisation_id == actor.organisation_id)
    rows = list(db_session().scalars(stmt))
    has_more = len(rows) > limit
    rows = rows[:limit]
    return jsonify(
        {
            "items": [event_json(e) for e in rows],
            "next_cursor": str(rows[-1].id) if rows else str(after),
            "has_more": has_more,
        }
    )
