"""``docflow trust import DIR`` and ``docflow trust refresh-crls`` (joined to the
``docflow trust`` group), and ``docflow cluster nodes|forget``."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from docflow.certificates import truststore
from docflow.cluster import forget_node, list_nodes
from docflow.context import db_session, settings
from docflow.db import transaction


@click.command(
    "import",
    help="Import the CA certificates (DER, PEM, bundles, PKCS#7) and CRLs of a "
    "directory — a former TRUST_STORE, say — into the database, where every node "
    "reads the trust store from. Idempotent; trusts again a certificate removed "
    "by an administrator.",
)
@click.argument(
    "directory", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@with_appcontext
def trust_import(directory: Path) -> None:
    files = truststore.trust_files(directory)
    s = db_session()
    with (
        click.progressbar(files, label="Импорт", item_show_func=_name) as bar,
        transaction(s),
    ):
        summary = truststore.import_trust_directory(
            s, directory, actor=None, revive=True, progress=lambda _path: bar.update(1)
        )
    click.echo(
        f"Файлов: {len(files)}; новых сертификатов УЦ: {len(summary.anchors)}, "
        f"новых списков отзыва: {len(summary.crls)}, уже было: {summary.known}"
    )
    for subject in summary.anchors:
        click.echo(f"Доверенный УЦ: {subject}")
    for crl in summary.crls:
        click.echo(f"Список отзыва: {crl}")
    for warning in summary.warnings:
        click.echo(f"Внимание: {warning}", err=True)
    for problem in summary.skipped:
        click.echo(f"Пропущено: {problem}", err=True)


def _name(path: Path | None) -> str | None:
    return path.name if path is not None else None


@click.command(
    "refresh-crls",
    help="Download every CRL kept for the cluster again, now (once, whichever "
    "node runs it), and make every node drop the validation results it cached.",
)
@with_appcontext
def trust_refresh_crls() -> None:
    s = db_session()
    with transaction(s):
        outcomes = truststore.refresh_downloaded_crls(
            s, actor=None, allow_private_fetch=settings().signatures.allow_private_fetch
        )
    for outcome in outcomes:
        click.echo(
            f"{'ok' if outcome.ok else 'FAILED'}\t{outcome.url}\t{outcome.detail}"
        )
    if not outcomes:
        click.echo("no CRL is kept: each is downloaded at the next validation")
    if any(not o.ok for o in outcomes):
        raise SystemExit(1)


@click.group("cluster", help="The nodes of this cabinet.")
def cluster_group() -> None:
    pass


@cluster_group.command(
    "nodes",
    help="Nodes that ran in production with a filesystem blob store (each must "
    "see the others' marker in the shared blob directory).",
)
@with_appcontext
def cluster_nodes() -> None:
    for node in list_nodes(db_session()):
        click.echo(f"{node.name}\t{node.registered_at:%Y-%m-%d %H:%M}\t{node.blob_dir}")


@cluster_group.command(
    "forget", help="Drop a node that no longer runs from the shared-directory check."
)
@click.argument("name")
@with_appcontext
def cluster_forget(name: str) -> None:
    s = db_session()
    with transaction(s):
        found = forget_node(s, name)
    if not found:
        raise click.ClickException(f"no node named {name!r}")
    click.echo(f"forgot {name}")
