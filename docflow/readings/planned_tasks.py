"""Background work of ППП: the deadline-morning reminder."""

from __future__ import annotations

import logging

from celery import shared_task

from docflow.context import current_runtime, settings, state
from docflow.db import transaction
from docflow.readings import planned_services as ps

log = logging.getLogger(__name__)


@shared_task(name="docflow.planned_remind", acks_late=True, ignore_result=True)
def remind() -> int:
    """«Не подана заявка ППП»: run on the deadline morning (beat); once per
    contract and day."""
    st = settings()
    session = state().sessionmaker()
    try:
        with transaction(session):
            count = ps.send_reminders(
                session,
                deadline=ps.Deadline(
                    st.readings.ppp_deadline_hour, st.readings.ppp_days_ahead
                ),
                now=ps.utcnow(),
                runtime=current_runtime(),
            )
    finally:
        session.close()
    if count:
        log.info("planned reminders sent for %d contracts", count)
    return count
