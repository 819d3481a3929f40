"""``docflow trust …``, ``docflow audit verify`` and ``docflow fsck``."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from docflow.audit.services import verify_chain
from docflow.blobrefs import referenced_blob_keys
from docflow.certificates.services import (
    add_trust_anchor,
    import_accredited_centres,
    list_trust_anchors,
    remove_trust_anchor,
)
from docflow.context import current_runtime, db_session, settings
from docflow.db import transaction
from docflow.documents.archive import archive_status, renew_due
from docflow.documents.models import DocumentFile
from docflow.errors import DocflowError
from signing.errors import TslFormatError
from signing.tsl import read_tsl


@click.group("trust", help="The trust store: trusted root and intermediate CAs.")
def trust_group() -> None:
    pass


@trust_group.command("add", help="Trust a CA certificate (DER or PEM).")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def trust_add(path: Path) -> None:
    s = db_session()
    try:
        with transaction(s):
            anchor = add_trust_anchor(s, actor=None, data=path.read_bytes())
    except DocflowError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{anchor.kind.value}\t{anchor.sha1}\t{anchor.subject}")


@trust_group.command("list", help="List the trusted CAs (files and database).")
@with_appcontext
def trust_list() -> None:
    for a in list_trust_anchors(db_session(), current_runtime().trust(db_session())):
        click.echo(
            f"{a.kind}\t{a.sha1}\t{a.not_after:%Y-%m-%d}\t{a.source}\t{a.subject}"
        )


@trust_group.command("remove", help="Stop trusting a CA added with 'trust add'.")
@click.argument("thumbprint")
@with_appcontext
def trust_remove(thumbprint: str) -> None:
    s = db_session()
    try:
        with transaction(s):
            remove_trust_anchor(s, actor=None, thumbprint=thumbprint)
    except DocflowError as exc:
        raise click.ClickException(exc.message) from None
    click.echo("removed")


@trust_group.command(
    "import-tsl",
    help="Import the Минцифры list of accredited certification centres (the XML "
    "of e-trust.gosuslugi.ru): their CA certificates become trust anchors "
    "marked accredited; a re-import updates the centres' statuses.",
)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def trust_import_tsl(path: Path) -> None:
    try:
        tsl = read_tsl(path)
    except TslFormatError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Перечень версии {tsl.version or '—'}: УЦ {len(tsl.centres)}, "
        f"сертификатов {tsl.certificate_count}"
    )
    s = db_session()
    with (
        click.progressbar(length=len(tsl.centres), label="Импорт УЦ") as bar,
        transaction(s),
    ):
        summary = import_accredited_centres(
            s, actor=None, tsl=tsl, progress=lambda _name: bar.update(1)
        )
    click.echo(
        f"Импортировано УЦ: {summary.centres} (аккредитация действует: "
        f"{summary.accredited}), сертификатов УЦ: {summary.certificates} "
        f"(новых в списке доверенных: {summary.new_anchors})"
    )
    for change in summary.status_changes:
        click.echo(f"Статус изменился: {change}")
    for problem in summary.skipped:
        click.echo(f"Пропущено: {problem}", err=True)


@click.group("audit", help="The hash-chained audit log.")
def audit_group() -> None:
    pass


@audit_group.command("verify", help="Recompute every hash of the audit chain.")
@with_appcontext
def audit_verify() -> None:
    count, problems = verify_chain(db_session())
    for p in problems:
        click.echo(f"entry {p.record_id}: {p.problem}", err=True)
    if problems:
        click.echo(
            f"audit chain BROKEN: {len(problems)} problem(s) in {count} entries",
            err=True,
        )
        sys.exit(1)
    click.echo(f"audit chain intact: {count} entries")


@click.command(
    "fsck",
    help="Re-hash every stored blob against the database; list "
    "mismatches, missing blobs and orphans.",
)
@click.option("--delete-orphans", is_flag=True, help="Remove blobs no row points to.")
@with_appcontext
def fsck(delete_orphans: bool) -> None:
    s = db_session()
    store = current_runtime().storage
    total = s.scalar(select(func.count()).select_from(DocumentFile)) or 0
    known: set[str] = set()
    bad = 0
    with click.progressbar(
        s.scalars(select(DocumentFile)).yield_per(200),
        length=total,
        label="re-hashing blobs",
        file=sys.stderr,
    ) as rows:
        for row in rows:
            known.add(row.blob_key)
            try:
                digest = hashlib.sha256()
                with store.open(row.blob_key) as reader:
                    for chunk in iter(lambda: reader.read(1024 * 1024), b""):
                        digest.update(chunk)
            except Exception as exc:  # noqa: BLE001 - every kind of failure is reported
                click.echo(
                    f"BAD\t{row.blob_key}\t{row.filename}\t{type(exc).__name__}: {exc}"
                )
                bad += 1
                continue
            if digest.hexdigest() != row.sha256:
                click.echo(
                    f"MISMATCH\t{row.blob_key}\t{row.filename}\tdatabase {row.sha256}"
                )
                bad += 1
    extra = sorted(set(_referenced_elsewhere(s)))
    known.update(extra)
    orphans = [k for k in store.iter_keys() if k not in known]
    for key in orphans:
        click.echo(f"ORPHAN\t{key}")
        if delete_orphans:
            try:
                store.delete(key)
            except Exception as exc:  # noqa: BLE001
                click.echo(f"  not removed: {exc}")
    click.echo(f"{total} blobs checked, {bad} bad, {len(orphans)} orphans")
    if bad:
        sys.exit(1)


def _referenced_elsewhere(session: object) -> list[str]:
    """Blob keys held by other modules (uploaded Excel forms, appeals...)."""
    return referenced_blob_keys(session)  # type: ignore[arg-type]


@click.group("archive", help="Long-term evidence: archive time-stamps of signatures.")
def archive_group() -> None:
    pass


@archive_group.command("status", help="How the signatures' time-stamps stand.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def archive_status_command(as_json: bool) -> None:

    status = archive_status(
        db_session(), horizon_days=settings().signatures.archive_horizon_days
    )
    if as_json:
        click.echo(json.dumps(status.to_json(), ensure_ascii=False))
        return
    click.echo(f"signatures with long-term evidence: {status.with_evidence}")
    click.echo(
        f"signatures without (recorded before time-stamps): {status.without_evidence}"
    )
    click.echo(f"due within {status.horizon_days} days: {status.due}")
    click.echo(f"overdue: {status.overdue}")
    if status.next_due:
        click.echo(f"next renewal due: {status.next_due:%Y-%m-%d}")


@archive_group.command("renew", help="Add archive time-stamps where they are due.")
@click.option(
    "--horizon-days",
    type=click.IntRange(min=1),
    default=None,
    help="Renew what ends within this many days (default ARCHIVE_HORIZON_DAYS).",
)
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True)
@with_appcontext
def archive_renew_command(horizon_days: int | None, limit: int) -> None:
    horizon = horizon_days or settings().signatures.archive_horizon_days

    def progress(done: int, total: int) -> None:
        click.echo(f"\r  {done}/{total}", nl=done == total, err=True)

    try:
        renewed = renew_due(
            db_session(),
            runtime=current_runtime(),
            horizon_days=horizon,
            limit=limit,
            progress=progress,
        )
    except DocflowError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"renewed: {renewed}")
