"""The audit chain: its head on a new database (the first entries, written by
two transactions at once, both land and the chain verifies); entries chained
at commit and dropped with what rolls back; an edit found. Concurrent writers
on PostgreSQL: ``tests/integration/test_write_path_pg.py``."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, update

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
                        s, user=None, action="test.race", object_type="test",
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


def _actions(app: Flask) -> list[str]:
    with app.extensions["docflow"].sessionmaker() as s:
        return list(s.scalars(select(AuditRecord.action).order_by(AuditRecord.id)))


def test_entries_are_chained_at_commit_and_dropped_with_what_rolls_back(
    app: Flask,
) -> None:
    """An entry has no place in the chain until its transaction commits; a
    rolled back transaction or savepoint, or a session closed without a
    commit, leaves none behind, and a later commit brings none back."""
    make = app.extensions["docflow"].sessionmaker
    with app.app_context():
        s = make()
        try:
            kept = record(s, user=None, action="kept", object_type="t", object_id="1")
            assert kept.id is None and kept.hash == ""
            with pytest.raises(RuntimeError), s.begin_nested():
                record(s, user=None, action="savepoint", object_type="t", object_id="2")
                raise RuntimeError("the savepoint rolls back")
            s.commit()
            assert kept.id is not None and len(kept.hash) == 64

            record(s, user=None, action="rolled-back", object_type="t", object_id="3")
            s.rollback()
            record(s, user=None, action="closed", object_type="t", object_id="4")
        finally:
            s.close()
        s = make()
        with transaction(s):
            record(s, user=None, action="later", object_type="t", object_id="5")
        s.close()
    assert _actions(app) == ["kept", "later"]
    with app.extensions["docflow"].sessionmaker() as s:
        assert verify_chain(s) == (2, [])


def test_an_edited_entry_is_found(app: Flask) -> None:
    make = app.extensions["docflow"].sessionmaker
    with app.app_context():
        s = make()
        with transaction(s):
            for n in range(3):
                record(
                    s, user=None, action="test.edit", object_type="t", object_id=str(n)
                )
        with transaction(s):
            s.execute(
                update(AuditRecord)
                .where(AuditRecord.object_id == "1")
                .values(details={"via": "forged"})
            )
        checked, problems = verify_chain(s)
        s.close()
    assert checked == 3
    assert [p.problem for p in problems] == ["content does not match its hash"]
