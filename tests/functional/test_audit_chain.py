"""The audit chain's head on a new database: the first entries, written by
two transactions at once, both land and the chain verifies."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from sqlalchemy import delete, func, select

from docflow.audit.models import AuditHead, AuditRecord
from docflow.audit.services import record, verify_chain
from docflow.db import transaction


def test_the_first_entries_of_a_new_database_race_safely(app: Flask) -> None:
    make = app.extensions["docflow"].sessionmaker
    with app.app_context():
        s = make()
        with transaction(s):
            s.execute(delete(AuditRecord))
            s.execute(delete(AuditHead))
        s.close()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        with app.app_context():
            s = make()
            try:
                start.wait(timeout=10)
                with transaction(s):
                    record(
                        s, actor=None, action="test.race", object_type="test",
                        object_id=str(n),
                    )  # fmt: skip
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                s.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    with app.app_context():
        s = make()
        count: Any = s.scalar(select(func.count()).select_from(AuditRecord))
        checked, problems = verify_chain(s)
        s.close()
    assert count == 2 and checked == 2 and problems == []
