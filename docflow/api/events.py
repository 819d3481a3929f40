"""Webhook endpoints and the event feed.

Webhooks are delivered through the outbox (at least once, signed with the
endpoint's secret); the feed returns the same events in order, so that a
receiver that missed deliveries catches up from the last id it saw.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify
from sqlalchemy import select

from docflow.access import acts_for_supplier
from docflow.api.base import (
    BODY_ERRORS,
    Answer,
    api_actor,
    json_answer,
    json_request,
    operation,
)
from docflow.api.errors import read_json, read_query
from docflow.api.schemas import events as out
from docflow.api.serialize import event_json, webhook_json
from docflow.context import db_session, settings
from docflow.db import transaction
from docflow.outbox.models import Event
from docflow.outbox.webhooks import (
    allow_private_webhooks,
    create_webhook,
    delete_webhook,
    list_webhooks,
)

EVENTS = "События"


@operation(
    "GET",
    "/webhooks",
    id="listWebhooks",
    summary="Вебхуки организации",
    tag=EVENTS,
    scopes=("read",),
    answers={200: json_answer(out.WebhookList, "Вебхуки.")},
)
def get_webhooks() -> Any:
    hooks = list_webhooks(db_session(), actor=api_actor())
    return jsonify({"items": [webhook_json(h) for h in hooks]})


@operation(
    "POST",
    "/webhooks",
    id="createWebhook",
    summary="Регистрация вебхука",
    tag=EVENTS,
    scopes=("write",),
    answers={201: json_answer(out.WebhookCreated, "Вебхук и его секрет.")},
    errors=BODY_ERRORS,
    body=json_request(out.WebhookRequest),
    description="Только http(s); адреса внутренних сетей и локального "
    "узла отклоняются (`webhook_url_forbidden`).",
)
def post_webhook() -> Any:
    body = read_json(out.WebhookRequest)
    s = db_session()
    with transaction(s):
        created = create_webhook(
            s,
            actor=api_actor(),
            url=body.url,
            kinds=body.events,
            secret=body.secret,
            description=body.description,
            secret_key=settings().secret_key,
            allow_private=allow_private_webhooks(),
        )
        answer = webhook_json(created.webhook, secret=created.secret)
    response = jsonify(answer)
    response.status_code = 201
    return response


@operation(
    "DELETE",
    "/webhooks/<uuid:webhook_id>",
    id="deleteWebhook",
    summary="Удаление вебхука",
    tag=EVENTS,
    scopes=("write",),
    answers={204: Answer("Удалён.")},
    errors=("NotFound",),
)
def remove_webhook(webhook_id: uuid.UUID) -> Any:
    s = db_session()
    with transaction(s):
        delete_webhook(s, actor=api_actor(), webhook_id=webhook_id)
    return "", 204


@operation(
    "GET",
    "/events",
    id="listEvents",
    summary="Лента событий по порядку",
    tag=EVENTS,
    scopes=("read",),
    answers={200: json_answer(out.EventList, "События после курсора.")},
    errors=("Unprocessable",),
    query=out.EventFeed,
)
def list_events() -> Any:
    """Events after the cursor, oldest first. ``next_cursor`` is the id of the
    last event returned (or the given cursor when there is none): pass it as
    ``after`` next time."""
    query = read_query(out.EventFeed)
    after, limit = query.after, query.limit
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
