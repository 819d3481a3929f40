"""``docflow contracts import FILE`` and ``docflow contracts import-payments FILE``:
the supplier's records from Excel (.xlsx) or CSV, with a progress bar."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click
from flask.cli import with_appcontext

from docflow import spreadsheets
from docflow.audit import RequestInfo
from docflow.context import db_session
from docflow.contracts import importer
from docflow.db import transaction


@click.group("contracts", help="The supplier's contracts and payments.")
def contracts_group() -> None:
    pass


def _run(kind: str, path: Path) -> None:
    run: Callable[..., object] = (
        importer.import_contracts if kind == "contracts" else importer.import_payments
    )
    s = db_session()
    data = path.read_bytes()
    err = sys.stderr
    interactive = err.isatty()
    bar = click.progressbar(length=1, label=path.name, show_pos=True, file=err)
    state = {"done": 0}

    def progress(done: int, total: int) -> None:
        if interactive:
            bar.length = total
            bar.update(done - state["done"])
        elif done == total or done % 1000 == 0:
            # Not a terminal (a log, a pipe): a line now and then instead of a bar.
            click.echo(f"{path.name}: {done}/{total}", err=True)
        state["done"] = done

    try:
        with transaction(s):
            summary = run(
                s,
                filename=path.name,
                data=data,
                user=None,
                progress=progress,
                request_info=RequestInfo(via="cli"),
            )
    except spreadsheets.ImportFailed as exc:
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise click.ClickException(exc.message) from None
    finally:
        if interactive:
            bar.render_finish()
    click.echo(f"{path.name}: {summary}")


@contracts_group.command(
    "import",
    help="Load organisations and contracts (columns "
    "ИНН, КПП, ОГРН, Наименование, E-mail, Адрес, Номер договора, "
    "Дата договора, Соглашение об ЭДО; optionally the contacts).",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_contracts_command(file: Path) -> None:
    _run("contracts", file)


@contracts_group.command(
    "import-payments",
    help="Load payments (columns Номер договора, "
    "Дата платежа, Сумма, Номер документа, Назначение платежа).",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_payments_command(file: Path) -> None:
    _run("payments", file)
