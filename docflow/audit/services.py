"""Writing and verifying the audit chain.

Entries are chained at commit, not when they are recorded (issue #18).
:func:`record` only keeps the entry with the session; the session's
``before_commit`` hook then takes the chain's head (one row, locked by the
``UPDATE`` that reads it), links every entry of the transaction to it and
writes them, and the ``COMMIT`` follows at once. The head is therefore held
for two statements and the commit, whatever the request did before: signature
checks, uploads, time-stamps, the events of the outbox. Unrelated writes still
pass through the head one at a time, but no longer queue behind each other's
slow parts.

Why one chain with a late lock rather than a chain per document or
organisation with periodic anchors of the heads: one chain keeps verification
what it was (one pass, every entry, a gap or an edit anywhere is found, the
head's length and hash catch a cut at the end) and keeps every entry covered
the moment it is committed, where per-object chains leave the newest entries
of each chain unprotected until the next anchor and make "an entry was
removed" a question of which chain it was in. Measured, the late lock is
enough: under 16 concurrent writers the wait on the head is a small part of a
request (``benchmarks/api.py``).

A savepoint's release is a commit too (SQLAlchemy sends ``before_commit`` for
it): entries pending then are chained inside the savepoint, and a savepoint
that rolls back drops the entries recorded in it. A transaction that rolls
back, or a session closed without a commit, drops its entries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction

from docflow.audit.models import AuditHead, AuditRecord
from docflow.db import utcnow

if TYPE_CHECKING:
    from docflow.accounts.models import User

GENESIS = "0" * 64

#: ``session.info`` key: the entries recorded and not chained yet, each with
#: the (innermost) transaction it was recorded in.
_PENDING = "docflow.audit.pending"


@dataclass(frozen=True)
class RequestInfo:
    ip: str | None = None
    user_agent: str | None = None
    via: str = "web"  # web | api | cli | task


def _canonical(rec: AuditRecord) -> bytes:
    at = rec.at if rec.at.tzinfo else rec.at.replace(tzinfo=dt.UTC)
    body = {
        "id": rec.id,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": str(rec.actor_id) if rec.actor_id else None,
        "actor_label": rec.actor_label,
        "action": rec.action,
        "object_type": rec.object_type,
        "object_id": rec.object_id,
        "ip": rec.ip,
        "user_agent": rec.user_agent,
        "details": rec.details,
    }
    return json.dumps(
        body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    ).encode()


def compute_hash(prev_hash: str, rec: AuditRecord) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + _canonical(rec)).hexdigest()


def _lock_head(session: Session, count: int) -> tuple[int, str]:
    """Take ``count`` numbers from the head, which stays locked until the
    transaction ends: (the last number taken, the hash before them)."""
    row = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + count)
        .returning(AuditHead.seq, AuditHead.last_hash)
    ).one_or_none()
    if row is None:
        # The first entry of a new database. Two transactions may get here at
        # once: the second insert waits for the first and then does nothing,
        # and both go on to lock the one head row in turn.
        insert_head = (
            pg_insert
            if session.get_bind().dialect.name == "postgresql"
            else sqlite_insert
        )
        session.execute(
            insert_head(AuditHead)
            .values(id=1, seq=0, last_hash=GENESIS)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        return _lock_head(session, count)
    return int(row[0]), str(row[1])


def record(
    session: Session,
    *,
    user: User | None,
    action: str,
    object_type: str,
    object_id: str | uuid.UUID,
    details: dict[str, Any] | None = None,
    request_info: RequestInfo | None = None,
    actor_label: str | None = None,
) -> AuditRecord:
    """Add an entry to the caller's transaction.

    It is chained and written when the transaction commits (see the module's
    docstring); until then it has no ``id`` or ``hash`` and no query finds it.
    """
    label = actor_label or (f"{user.full_name} <{user.email}>" if user else "система")
    info = request_info or RequestInfo(via="system")
    rec = AuditRecord(
        at=utcnow(),
        actor_id=user.id if user else None,
        actor_label=label[:300],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        ip=info.ip,
        user_agent=(info.user_agent or "")[:400] or None,
        details={**(details or {}), "via": info.via},
        prev_hash="",
        hash="",
    )
    # An explicit begin when nothing has run yet (it takes no connection):
    # the entry needs a transaction whose end it is dropped with.
    root = session.get_transaction() or session.begin()
    owner = session.get_nested_transaction() or root
    session.info.setdefault(_PENDING, []).append((owner, rec))
    return rec


def _columns(rec: AuditRecord) -> dict[str, Any]:
    return {
        "id": rec.id,
        "at": rec.at,
        "actor_id": rec.actor_id,
        "actor_label": rec.actor_label,
        "action": rec.action,
        "object_type": rec.object_type,
        "object_id": rec.object_id,
        "ip": rec.ip,
        "user_agent": rec.user_agent,
        "details": rec.details,
        "prev_hash": rec.prev_hash,
        "hash": rec.hash,
    }


def _append(session: Session, records: list[AuditRecord]) -> None:
    """Chain ``records`` to the head and write them with the new head."""
    last, prev = _lock_head(session, len(records))
    for number, rec in enumerate(records, start=last - len(records) + 1):
        rec.id, rec.prev_hash = number, prev
        rec.hash = prev = compute_hash(rec.prev_hash, rec)
    rows = insert(AuditRecord).values([_columns(r) for r in records])
    move_head = update(AuditHead).where(AuditHead.id == 1).values(last_hash=prev)
    if session.get_bind().dialect.name == "postgresql":
        # One round trip while the head is held: the insert rides along as a
        # data-modifying CTE, which PostgreSQL runs to completion whether or
        # not the UPDATE reads it.
        session.execute(move_head.add_cte(rows.cte("appended")))
    else:
        session.execute(rows)
        session.execute(move_head)


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        _append(session, [rec for _, rec in pending])


def _within(owner: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while owner is not None:
        if owner is ended:
            return True
        owner = owner.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [(o, r) for o, r in pending if not _within(o, previous)]


@event.listens_for(Session, "after_transaction_end")
def _drop_with_the_transaction(session: Session, ended: SessionTransaction) -> None:
    if ended.parent is None:
        # Chained at the commit already; anything left was never committed
        # (the session was closed with its transaction open).
        session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class ChainProblem:
    record_id: int
    problem: str


def iter_records(session: Session, batch: int = 1000) -> Iterator[AuditRecord]:
    last = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditRecord)
                .where(AuditRecord.id > last)
                .order_by(AuditRecord.id)
                .limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()


def verify_chain(session: Session) -> tuple[int, list[ChainProblem]]:
    """Recompute every hash. Returns (entries checked, problems found)."""
    problems: list[ChainProblem] = []
    prev = GENESIS
    expected_id = 1
    count = 0
    for rec in iter_records(session):
        count += 1
        if rec.id != expected_id:
            problems.append(
                ChainProblem(rec.id, f"entries {expected_id}..{rec.id - 1} missing")
            )
        if rec.prev_hash != prev:
            problems.append(ChainProblem(rec.id, "link to the previous entry broken"))
        if compute_hash(rec.prev_hash, rec) != rec.hash:
            problems.append(ChainProblem(rec.id, "content does not match its hash"))
        prev = rec.hash
        expected_id = rec.id + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_hash != prev or head.seq != count):
        if not problems or head.seq != count:
            problems.append(
                ChainProblem(
                    count,
                    "the last entries were removed"
                    if head.seq > count
                    else "the head does not match",
                )
            )
    return count, problems


def history(
    session: Session, *, object_type: str, object_id: str | uuid.UUID
) -> list[AuditRecord]:
    return list(
        session.scalars(
            select(AuditRecord)
            .where(
                AuditRecord.object_type == object_type,
                AuditRecord.object_id == str(object_id),
            )
            .order_by(AuditRecord.id)
        )
    )
