"""``docflow readings …``: the supplier's loads (objects and meters, transit
volumes, files of hourly values) with a progress bar, the decision on sent
readings, and the window announcement."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from docflow.access import Actor
from docflow.audit import RequestInfo
from docflow.context import current_runtime, db_session, settings
from docflow.contracts.common import normalize_contract_number
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.errors import DocflowError
from docflow.readings import calc, excel
from docflow.readings import hourly_services as hs
from docflow.readings import services as svc
from docflow.readings.models import Meter, Reading, ReadingStatus
from docflow.spreadsheets import ImportFailed


@click.group("readings", help="Meters, readings and the submission window.")
def readings_group() -> None:
    pass


def _run_import(kind: str, path: Path) -> None:
    run = excel.import_meters if kind == "meters" else excel.import_transit
    s = db_session()
    data = path.read_bytes()
    with click.progressbar(
        length=1, label=path.name, show_pos=True, file=click.get_text_stream("stderr")
    ) as bar:
        done_before = 0

        def progress(done: int, total: int) -> None:
            nonlocal done_before
            bar.length = total
            bar.update(done - done_before)
            done_before = done

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
        except ImportFailed as exc:
            bar.finish()
            click.echo("", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            raise click.ClickException(exc.message) from None
    click.echo(f"{path.name}: {summary}")


@readings_group.command(
    "import-meters",
    help="Load objects and meters from .xlsx or CSV "
    "(columns Номер договора, Код объекта, Объект, Адрес объекта, "
    "Уровень напряжения, № счётчика, Тип счётчика, Значность, "
    "Коэффициент трансформации, Статус, Дата следующей поверки).",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_meters_command(file: Path) -> None:
    _run_import("meters", file)


@readings_group.command(
    "import-transit",
    help="Load transit volumes (columns Номер "
    "договора, Код объекта, Период, Транзитный потребитель, Объём, кВт·ч).",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_transit_command(file: Path) -> None:
    _run_import("transit", file)


@readings_group.command(
    "decide",
    help="Accept the readings sent for a contract and period "
    "into the calculation, or refuse them with --reject REASON.",
)
@click.option("--contract", "number", required=True, help="Contract number.")
@click.option("--period", required=True, help="YYYY-MM")
@click.option("--reject", "reason", default=None, help="Refuse, with this reason.")
@click.option("--meter", "meters", multiple=True, help="Only these meter numbers.")
@with_appcontext
def decide_command(
    number: str, period: str, reason: str | None, meters: tuple[str, ...]
) -> None:

    when = calc.parse_period(period)
    if when is None:
        raise click.BadParameter("expected YYYY-MM", param_hint="--period")
    s = db_session()
    contract = s.scalar(select(Contract).where(Contract.number == number))
    if contract is None:
        raise click.ClickException(f"no contract {number}")
    stmt = (
        select(Reading.id)
        .join(Meter, Meter.id == Reading.meter_id)
        .where(
            Reading.contract_id == contract.id,
            Reading.period == when,
            Reading.status == ReadingStatus.SENT,
        )
    )
    if meters:
        stmt = stmt.where(Meter.number.in_(meters))
    ids = list(s.scalars(stmt))
    try:
        with transaction(s):
            count = svc.decide_readings(
                s,
                actor=Actor.system("поставщик (командная строка)"),
                reading_ids=ids,
                accept=reason is None,
                reason=reason or "",
            )
    except DocflowError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{'accepted' if reason is None else 'rejected'}: {count}")


@readings_group.command(
    "announce-window",
    help="Notify the users who submit readings "
    "that the window is open (once per contract and period).",
)
@with_appcontext
def announce_window_command() -> None:
    st = settings()
    s = db_session()
    with transaction(s):
        count = svc.announce_window(
            s,
            window_days=svc.WindowDays(
                st.readings.window_start, st.readings.window_end
            ),
            runtime=current_runtime(),
        )
    click.echo(f"announced for {count} contracts")


@readings_group.group("hourly", help="Hourly volumes (XML 80020, Excel, CSV).")
def hourly_group() -> None:
    pass


HOURLY_SUFFIXES = (".xml", ".xlsx", ".csv", ".txt")


def _readable(files: Iterator[Any]) -> Iterator[Any]:
    """The received files; a file that cannot be read stops the import with
    its name (the files before it are loaded, each in its own transaction)."""
    try:
        yield from files
    except OSError as exc:
        raise click.ClickException(
            f"cannot read {exc.filename}: {exc.strerror}"
        ) from None


def _hourly_paths(items: tuple[Path, ...]) -> list[Path]:
    """The files given, a directory standing for its files of the known kinds
    (recursively, in name order)."""
    paths: list[Path] = []
    for item in items:
        if item.is_dir():
            paths.extend(
                sorted(
                    p
                    for p in item.rglob("*")
                    if p.is_file() and p.suffix.lower() in HOURLY_SUFFIXES
                )
            )
        else:
            paths.append(item)
    return paths


@hourly_group.command(
    "import",
    help="Load files of hourly values for a contract, each taken whole or not at "
    "all (a repeated period becomes a new version); FILE may be a directory. "
    "Files are parsed in parallel processes and kept in the blob store.",
)
@click.argument("number")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path)
)
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=None,
    help="Parsing processes (default: one per core; 0 or 1: in this process).",
)
@with_appcontext
def hourly_import_command(
    number: str, files: tuple[Path, ...], workers: int | None
) -> None:

    s = db_session()
    contract = s.scalar(
        select(Contract).where(Contract.number == normalize_contract_number(number))
    )
    if contract is None:
        raise click.ClickException(f"no contract {number}")
    paths = _hourly_paths(files)
    if not paths:
        raise click.ClickException("no .xml, .xlsx, .csv or .txt files given")
    store = current_runtime().storage
    count = (os.cpu_count() or 1) if workers is None else workers
    accepted = values = 0
    refused: list[tuple[str, list[str]]] = []
    err = click.get_text_stream("stderr")
    received_files = hs.receive_files(
        paths, storage_url=settings().storage_url, workers=count
    )
    # closing(): a failure stops the workers and drops the files they kept.
    with (
        closing(received_files),
        click.progressbar(
            length=len(paths), label="hourly files", show_pos=True, file=err
        ) as bar,
    ):
        for received in _readable(received_files):
            with transaction(s):
                upload = hs.load_file(
                    s,
                    contract,
                    received,
                    storage=store,
                    source="cli",
                    request_info=RequestInfo(via="cli"),
                )
                ok, taken = upload.is_accepted, upload.values_taken
                problems = [e["text"] for e in upload.errors[:10]]
            if ok:
                accepted += 1
                values += taken
            else:
                refused.append((received.filename, problems))
            bar.update(1)
    for filename, problems in refused:
        click.echo(f"{filename}: refused", err=True)
        for problem in problems:
            click.echo(f"  {problem}", err=True)
    click.echo(
        f"contract {contract.number}: {len(paths)} files, {accepted} accepted "
        f"({values} values), {len(refused)} refused"
    )
    if refused:
        raise SystemExit(1)
