"""The Celery app: eager in the embedded mode, a real broker otherwise.

Tasks live in ``docflow/<module>/tasks.py`` as ``shared_task``s with explicit
names; they take ids, re-fetch, and call one service. The worker process is
started with ``celery -A wsgi:celery worker`` (and ``beat`` for the sweeps).

Beat runs once by construction: its scheduler (:class:`SingleBeatScheduler`)
takes the beat lock (:class:`docflow.cluster.BeatLock`) before it schedules
anything; a second beat, on this node or another, waits for the lock and says
so in its log.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.beat import PersistentScheduler
from celery.schedules import crontab
from flask import Flask, has_app_context

from docflow.cluster import BeatLock

log = logging.getLogger(__name__)

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
    "planned-remind": {
        "task": "docflow.planned_remind",
        "schedule": crontab(hour=8, minute=0),
    },
}

TASK_MODULES = [
    "docflow.outbox.tasks",
    "docflow.documents.tasks",
    "docflow.readings.tasks",
    "docflow.readings.planned_tasks",  # ППП
]


def beat_schedule(app: Flask) -> dict[str, dict[str, Any]]:
    """:data:`BEAT_SCHEDULE` with the sweep's period from ``OUTBOX_SWEEP_INTERVAL_SECONDS``
    (read here, at start-up, so that a malformed value fails fast)."""
    policy = app.extensions["docflow"].settings.outbox
    schedule = {name: dict(entry) for name, entry in BEAT_SCHEDULE.items()}
    schedule["sweep-outbox"]["schedule"] = policy.sweep_interval
    return schedule


#: How often the beat holding the lock checks that it still does.
LOCK_CHECK_SECONDS = 30.0


class SingleBeatScheduler(PersistentScheduler):  # type: ignore[misc]
    """Beat's scheduler, holding the beat lock for as long as it runs.

    The lock is taken before the schedule is even read: a waiting beat sends
    nothing. Should the lock's connection die (a restarted database), the
    beat stops scheduling until it holds the lock again.
    """

    _beat_lock: BeatLock | None = None
    _next_check = 0.0

    def setup_schedule(self) -> None:
        # Not in __init__: `celery beat` also makes a lazy scheduler, to print
        # its banner, which must not take (and keep) the lock.
        self._beat_lock = BeatLock(
            self.app.conf["docflow_database_url"],
            Path(self.app.conf["docflow_var_dir"]),
        )
        self._beat_lock.acquire()
        self._next_check = time.monotonic() + LOCK_CHECK_SECONDS
        super().setup_schedule()

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if self._beat_lock is not None and time.monotonic() >= self._next_check:
            if not self._beat_lock.still_held():
                log.error("beat: the beat lock was lost; waiting to hold it again")
                self._beat_lock.release()
                self._beat_lock.acquire()
            self._next_check = time.monotonic() + LOCK_CHECK_SECONDS
        return float(super().tick(*args, **kwargs))

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._beat_lock is not None:
                self._beat_lock.release()


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
    eager = settings.celery.eager
    celery.conf.update(
        broker_url="memory://" if eager else settings.celery.broker_url,
        result_backend=settings.celery.result_backend,
        task_always_eager=eager,
        task_default_queue=settings.celery.queue,
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
        beat_scheduler="docflow.worker:SingleBeatScheduler",
        # Each beat keeps its own schedule file (never shared between nodes:
        # only the beat holding the lock reads and writes it).
        beat_schedule_filename=str(settings.var_dir / "celerybeat-schedule"),
        docflow_database_url=settings.database_url,
        docflow_var_dir=str(settings.var_dir),
        timezone="Europe/Moscow",
        enable_utc=True,
    )
    celery.set_default()
    celery.autodiscover_tasks(lambda: [m.rsplit(".", 1)[0] for m in TASK_MODULES])
    for module in TASK_MODULES:
        __import__(module)
    app.extensions["celery"] = celery
    return celery
