"""The Celery app: eager in the embedded mode, a real broker otherwise.

Tasks live in ``docflow/<module>/tasks.py`` as ``shared_task``s with explicit
names; they take ids, re-fetch, and call one service. The worker process is
started with ``celery -A wsgi:celery worker`` (and ``beat`` for the sweeps).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask, has_app_context

BEAT_SCHEDULE = {
    "sweep-outbox": {
        "task": "docflow.sweep_outbox",
        "schedule": dt.timedelta(seconds=60),
    },
    # Leftovers of interrupted uploads (temporary files, unfinished multipart).
    "storage-gc": {"task": "docflow.storage_gc", "schedule": dt.timedelta(hours=6)},
    # Signatures whose newest time-stamp nears its end get an archive one.
    "archive-renew": {
        "task": "docflow.archive_renew",
        "schedule": crontab(hour=3, minute=30),
    },
    # «Передача показаний» opens: tell the customers, once a day while it is open.
    "readings-window": {
        "task": "docflow.readings_announce_window",
        "schedule": crontab(hour=9, minute=0),
    },
    # ППП: on the deadline morning, remind of requests not filed for D (08:00 MSK).
    "planned-remind": {"task": "docflow.planned_remind", "schedule": crontab(hour=8, minute=0)},
}

TASK_MODULES = [
    "docflow.notify.tasks",
    "docflow.documents.tasks",
    "docflow.readings.tasks",
    "docflow.readings.planned_tasks",  # ППП
]


def beat_schedule(app: Flask) -> dict[str, dict[str, Any]]:
    """:data:`BEAT_SCHEDULE` with the sweep's period from ``OUTBOX_SWEEP_INTERVAL_SECONDS``
    (read here, at start-up, so that a malformed value fails fast)."""
    from docflow.notify.config import OutboxPolicy

    policy = OutboxPolicy.from_settings(app.extensions["docflow"].settings)
    schedule = {name: dict(entry) for name, entry in BEAT_SCHEDULE.items()}
    schedule["sweep-outbox"]["schedule"] = policy.sweep_interval
    return schedule


def make_celery(app: Flask) -> Celery:
    settings = app.extensions["docflow"].settings

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            # An eager task runs inside the request (or command) that queued it
            # and keeps that app: with several apps in one process (tests),
            # ``app`` here is the last one made, not necessarily the caller.
            if has_app_context():
                return self.run(*args, **kwargs)
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    eager = settings.celery_eager
    celery.conf.update(
        broker_url="memory://" if eager else settings.celery_broker_url,
        result_backend=settings.celery_result_backend,
        task_always_eager=eager,
        task_default_queue=settings.celery_queue,
        task_eager_propagates=False,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        # Publishing must not hang a web request when the broker is down: the
        # outbox row is already committed and the sweep will pick it up.
        broker_connection_timeout=3,
        broker_transport_options={
            "max_retries": 1,
            "interval_start": 0,
            "interval_step": 0.5,
        },
        beat_schedule=beat_schedule(app),
        timezone="Europe/Moscow",
        enable_utc=True,
    )
    celery.set_default()
    celery.autodiscover_tasks(lambda: [m.rsplit(".", 1)[0] for m in TASK_MODULES])
    for module in TASK_MODULES:
        __import__(module)
    app.extensions["celery"] = celery
    return celery
