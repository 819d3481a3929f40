"""Queueing the outbox relay once a transaction has committed.

The services write events and outbox rows; one
:func:`~docflow.outbox.tasks.relay_outbox` task delivers them. It is queued by
its name through the current application's Celery app (not Celery's
process-wide default, which is the last app created), so that the services
that write rows need not import the task bodies, which call them.
"""

from __future__ import annotations

import logging

from celery import Celery
from celery import current_app as default_celery
from flask import current_app, has_app_context

log = logging.getLogger(__name__)

#: The relay task's name: queued messages and the beat schedule use it.
RELAY_TASK = "docflow.relay_outbox"


def enqueue_relay() -> bool:
    """Queue one relay task through the current application's Celery app.

    A broker that is down costs one failed connection, and the rows wait for
    the next relay or the sweep. Returns whether the task was queued.
    """
    celery: Celery | None = (
        current_app.extensions.get("celery") if has_app_context() else None
    )
    app = celery if celery is not None else default_celery
    try:
        app.tasks[RELAY_TASK].delay()
    except Exception as exc:  # kombu's OperationalError and friends
        log.warning(
            "could not queue the outbox relay, the next one or the sweep will: %s", exc
        )
        return False
    return True
