"""Writing and verifying the audit chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from docflow.audit.models import AuditHead, AuditRecord
from docflow.db import utcnow

if TYPE_CHECKING:
    from docflow.accounts.models import User

GENESIS = "0" * 64


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


def _lock_head(session: Session) -> tuple[int, str]:
    row = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.last_hash)
    ).one_or_none()
    if row is None:
        # The first entry of a new database. Two transactions may get here at
        # once: the second insert waits for the first and then does nothing,
        # and both go on to lock the one head row in turn.
        insert = (
            pg_insert
            if session.get_bind().dialect.name == "postgresql"
            else sqlite_insert
        )
        session.execute(
            insert(AuditHead)
            .values(id=1, seq=0, last_hash=GENESIS)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        return _lock_head(session)
    return int(row[0]), str(row[1])


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: str | uuid.UUID,
    details: dict[str, Any] | None = None,
    request_info: RequestInfo | None = None,
    actor_label: str | None = None,
) -> AuditRecord:
    """Append an entry in the caller's transaction.

    The chain head stays locked until that transaction ends, so call this late
    in a unit of work, after the slow parts (signature checks, uploads).
    """
    seq, prev = _lock_head(session)
    label = actor_label or (
        f"{actor.full_name} <{actor.email}>" if actor else "система"
    )
    info = request_info or RequestInfo(via="system")
    rec = AuditRecord(
        id=seq,
        at=utcnow(),
        actor_id=actor.id if actor else None,
        actor_label=label[:300],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        ip=info.ip,
        user_agent=(info.user_agent or "")[:400] or None,
        details={**(details or {}), "via": info.via},
        prev_hash=prev,
        hash="",
    )
    rec.hash = compute_hash(prev, rec)
    session.add(rec)
    session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(last_hash=rec.hash)
    )
    session.flush()
    return rec


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
