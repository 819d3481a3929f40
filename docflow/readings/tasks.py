"""Background work of the readings module."""

from __future__ import annotations

import logging

from celery import shared_task

from docflow.context import current_runtime, settings, state
from docflow.db import transaction
from docflow.readings import services as svc

log = logging.getLogger(__name__)


@shared_task(
    name="docflow.readings_announce_window", acks_late=True, ignore_result=True
)
def announce_window() -> int:
    """«Открыт приём показаний»: run daily (beat); each window is announced once."""
    st = settings()
    session = state().sessionmaker()
    try:
        with transaction(session):
            count = svc.announce_window(
                session,
                window_days=svc.WindowDays(
                    st.readings.window_start, st.readings.window_end
                ),
                runtime=current_runtime(),
            )
    finally:
        session.close()
    if count:
        log.info("readings window announced for %d contracts", count)
    return count
