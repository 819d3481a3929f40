"""``docflow readings …``: the supplier's loads (objects and meters, transit
volumes) with a progress bar, the decision on sent readings, and the window
announcement."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext


@click.group("readings", help="Meters, readings and the submission window.")
def readings_group() -> None:
    pass


def _run_import(kind: str, path: Path) -> None:
    from docflow.audit import RequestInfo
    from docflow.db import transaction
    from docflow.readings import excel
    from docflow.spreadsheets import ImportFailed
    from docflow.web import db_session

    run = excel.import_meters if kind == "meters" else excel.import_transit
    s = db_session()
    data = path.read_bytes()
    with click.progressbar(length=1, label=path.name, show_pos=True,
                           file=click.get_text_stream("stderr")) as bar:
        done_before = 0

        def progress(done: int, total: int) -> None:
            nonlocal done_before
            bar.length = total
            bar.update(done - done_before)
            done_before = done

        try:
            with transaction(s):
                summary = run(s, filename=path.name, data=data, actor=None,
                              progress=progress, request_info=RequestInfo(via="cli"))
        except ImportFailed as exc:
            bar.finish()
            click.echo("", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            raise click.ClickException(exc.message) from None
    click.echo(f"{path.name}: {summary}")


@readings_group.command("import-meters", help="Load objects and meters from .xlsx or CSV "
                        "(columns Номер договора, Код объекта, Объект, Адрес объекта, "
                        "Уровень напряжения, № счётчика, Тип счётчика, Значность, "
                        "Коэффициент трансформации, Статус, Дата следующей поверки).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_meters_command(file: Path) -> None:
    _run_import("meters", file)


@readings_group.command("import-transit", help="Load transit volumes (columns Номер "
                        "договора, Код объекта, Период, Транзитный потребитель, Объём, кВт·ч).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_transit_command(file: Path) -> None:
    _run_import("transit", file)


@readings_group.command("decide", help="Accept the readings sent for a contract and period "
                        "into the calculation, or refuse them with --reject REASON.")
@click.option("--contract", "number", required=True, help="Contract number.")
@click.option("--period", required=True, help="YYYY-MM")
@click.option("--reject", "reason", default=None, help="Refuse, with this reason.")
@click.option("--meter", "meters", multiple=True, help="Only these meter numbers.")
@with_appcontext
def decide_command(number: str, period: str, reason: str | None,
                   meters: tuple[str, ...]) -> None:
    from sqlalchemy import select

    from docflow.access import Actor
    from docflow.contracts.models import Contract
    from docflow.db import transaction
    from docflow.errors import DocflowError
    from docflow.readings import calc
    from docflow.readings import services as svc
    from docflow.readings.models import Meter, Reading, ReadingStatus
    from docflow.web import db_session

    when = calc.parse_period(period)
    if when is None:
        raise click.BadParameter("expected YYYY-MM", param_hint="--period")
    s = db_session()
    contract = s.scalar(select(Contract).where(Contract.number == number))
    if contract is None:
        raise click.ClickException(f"no contract {number}")
    stmt = select(Reading.id).join(Meter, Meter.id == Reading.meter_id).where(
        Reading.contract_id == contract.id, Reading.period == when,
        Reading.status == ReadingStatus.SENT)
    if meters:
        stmt = stmt.where(Meter.number.in_(meters))
    ids = list(s.scalars(stmt))
    try:
        with transaction(s):
            count = svc.decide_readings(s, actor=Actor.system("поставщик (командная строка)"),
                                        reading_ids=ids, accept=reason is None,
                                        reason=reason or "")
    except DocflowError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{'accepted' if reason is None else 'rejected'}: {count}")


@readings_group.command("announce-window", help="Notify the users who submit readings "
                        "that the window is open (once per contract and period).")
@with_appcontext
def announce_window_command() -> None:
    from docflow.db import transaction
    from docflow.readings import services as svc
    from docflow.web import db_session, settings

    st = settings()
    s = db_session()
    with transaction(s):
        count = svc.announce_window(
            s, window_days=svc.WindowDays(st.readings_window_start, st.readings_window_end),
            base_url=st.base_url)
    click.echo(f"announced for {count} contracts")
