"""The audit chain: how an entry's hash links it to the one before, entries
chained at the commit (and dropped with what rolls back), and the check that
finds an edited, removed or missing entry."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from docflow.audit.models import AuditRecord
from docflow.audit.services import (
    GENESIS,
    RequestInfo,
    compute_hash,
    history,
    record,
    verify_chain,
)
from tests import factories

AT = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def _entry(**changes: object) -> AuditRecord:
    values: dict[str, object] = {
        "id": 7,
        "at": AT,
        "actor_id": None,
        "actor_label": "система",
        "action": "document.sign",
        "object_type": "document",
        "object_id": "42",
        "ip": "192.0.2.1",
        "user_agent": "pytest",
        "details": {"number": "П-1", "via": "web"},
    }
    values.update(changes)
    return AuditRecord(**values)


def _add(session: Session, n: int) -> list[AuditRecord]:
    return [
        record(
            session,
            user=None,
            action="test.step",
            object_type="test",
            object_id="chain",
            details={"n": i},
        )
        for i in range(n)
    ]


def test_compute_hash_is_the_same_for_the_same_entry() -> None:
    assert compute_hash(GENESIS, _entry()) == compute_hash(GENESIS, _entry())
    assert len(compute_hash(GENESIS, _entry())) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"id": 8},
        {"at": AT + dt.timedelta(microseconds=1)},
        {"actor_label": "Иванов Иван <ivanov@example.ru>"},
        {"action": "document.refuse"},
        {"object_id": "43"},
        {"ip": "192.0.2.2"},
        {"details": {"number": "П-2", "via": "web"}},
    ],
    ids=lambda change: next(iter(change)),
)
def test_compute_hash_covers_every_field(change: dict[str, object]) -> None:
    assert compute_hash(GENESIS, _entry(**change)) != compute_hash(GENESIS, _entry())


def test_compute_hash_links_to_the_previous_hash() -> None:
    assert compute_hash(GENESIS, _entry()) != compute_hash("f" * 64, _entry())


def test_compute_hash_reads_a_stored_naive_time_as_utc() -> None:
    # SQLite gives the stored moment back without its zone.
    naive = _entry(at=AT.replace(tzinfo=None))
    moscow = _entry(at=AT.astimezone(dt.timezone(dt.timedelta(hours=3))))
    assert compute_hash(GENESIS, naive) == compute_hash(GENESIS, _entry())
    assert compute_hash(GENESIS, moscow) == compute_hash(GENESIS, _entry())


def test_entries_are_chained_at_the_commit(session: Session) -> None:
    first, second = _add(session, 2)
    assert (first.hash, history(session, object_type="test", object_id="chain")) == (
        "",
        [],
    )
    session.commit()
    assert [first.id, second.id] == [1, 2]
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.hash == compute_hash(GENESIS, first)
    assert verify_chain(session) == (2, [])


def test_an_entry_recorded_in_a_rolled_back_savepoint_is_dropped(
    session: Session,
) -> None:
    kept = _add(session, 1)[0]
    savepoint = session.begin_nested()
    _add(session, 1)
    savepoint.rollback()
    session.commit()
    entries = history(session, object_type="test", object_id="chain")
    assert [e.details["n"] for e in entries] == [0]
    assert entries[0].hash == kept.hash


def test_record_names_the_actor_and_the_channel(session: Session) -> None:
    user = factories.make_user(session, last_name="Иванов", first_name="Иван")
    by_user = record(
        session,
        user=user,
        action="x",
        object_type="test",
        object_id="1",
        request_info=RequestInfo(ip="192.0.2.7", user_agent="UA", via="api"),
    )
    by_system = record(
        session, user=None, action="x", object_type="test", object_id="2"
    )
    assert by_user.actor_label == f"Иванов Иван <{user.email}>"
    assert (by_user.ip, by_user.details["via"]) == ("192.0.2.7", "api")
    assert (by_system.actor_label, by_system.details) == ("система", {"via": "system"})


def test_verify_chain_finds_an_edited_entry(session: Session) -> None:
    _add(session, 3)
    session.commit()
    session.execute(
        update(AuditRecord).where(AuditRecord.id == 2).values(details={"n": 99})
    )
    count, problems = verify_chain(session)
    assert count == 3
    assert [(p.record_id, p.problem) for p in problems] == [
        (2, "content does not match its hash")
    ]


def test_verify_chain_finds_a_removed_entry(session: Session) -> None:
    _add(session, 3)
    session.commit()
    session.execute(delete(AuditRecord).where(AuditRecord.id == 2))
    _, problems = verify_chain(session)
    assert {(p.record_id, p.problem) for p in problems} == {
        (3, "entries 2..2 missing"),
        (3, "link to the previous entry broken"),
        # The head counted three entries: two are left.
        (2, "the last entries were removed"),
    }


def test_verify_chain_finds_the_last_entries_cut_off(session: Session) -> None:
    _add(session, 3)
    session.commit()
    session.execute(delete(AuditRecord).where(AuditRecord.id == 3))
    _, problems = verify_chain(session)
    assert [(p.record_id, p.problem) for p in problems] == [
        (2, "the last entries were removed")
    ]
