"""``docflow mchd …``: the powers of attorney (МЧД) on file and the registry
double.

* ``docflow mchd list`` — every МЧД on file: number, principal,
  representatives, period, status;
* ``docflow mchd revoke <id|номер> --reason …`` — revoke one in the cabinet
  (as the supplier's administrator);
* ``docflow mchd registry publish|revoke|status`` — the embedded registry
  double (``MCHD_REGISTRY_URL=embedded``, the default of the embedded mode),
  edited as a principal edits the ФНС registry at m4d.nalog.gov.ru. A remote
  registry, or none, is refused: the cabinet does not write to the real one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import select

import signing
from docflow.access import Actor
from docflow.accounts.models import Role, User
from docflow.audit import RequestInfo
from docflow.context import current_runtime, db_session, settings
from docflow.db import transaction
from docflow.errors import DocflowError
from docflow.powers.models import PowerOfAttorney, PowerStatus
from docflow.powers.registry import FileRegistry, RegistryState
from docflow.powers.services import MOSCOW, revoke_power, status_of

_GUID = re.compile(r"[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}")
_INN = re.compile(r"\d{10}|\d{12}")


@click.group("mchd", help="Machine-readable powers of attorney (МЧД).")
def mchd_group() -> None:
    pass


def _period(power: Any) -> str:
    return f"{power.issued_on:%d.%m.%Y}–{power.valid_until:%d.%m.%Y}"


@mchd_group.command(
    "list",
    help="List the МЧД on file: id, number, principal, representatives, "
    "period of validity, status.",
)
@with_appcontext
def mchd_list() -> None:
    powers = list(
        db_session().scalars(
            select(PowerOfAttorney).order_by(PowerOfAttorney.created_at)
        )
    )
    if not powers:
        click.echo("Доверенностей (МЧД) в кабинете нет.")
        return
    click.echo("id\tномер\tдоверитель\tпредставители\tсрок действия\tстатус")
    for p in powers:
        internal = f"{p.internal_number} " if p.internal_number else ""
        principal = f"{p.principal.get('name', '')} (ИНН {p.principal.get('inn', '')})"
        status = status_of(p)[1]
        if p.revocation_reason:
            status += f": {p.revocation_reason}"
        click.echo(
            f"{p.id}\t№ {internal}({p.number})\t{principal}\t"
            f"{p.representative_names or '—'}\t{_period(p)}\t{status}"
        )


def _find(session: Any, ident: str) -> Any:
    """The МЧД by its id in the cabinet or by its number (``НомДовер``)."""
    text = ident.strip().lower()
    try:
        as_uuid = uuid.UUID(text)
    except ValueError:
        as_uuid = None
    if as_uuid is not None:
        power = session.get(PowerOfAttorney, as_uuid)
        if power is not None:
            return power
    found = list(
        session.scalars(select(PowerOfAttorney).where(PowerOfAttorney.number == text))
    )
    if not found:
        raise click.ClickException(
            f"МЧД «{ident}» в кабинете нет (см. «docflow mchd list»)."
        )
    if len(found) > 1:
        ids = ", ".join(str(p.id) for p in found)
        raise click.ClickException(
            f"МЧД с номером {text} загружены нескольких доверителей; укажите id: {ids}."
        )
    return found[0]


def _admin(session: Any, email: str | None) -> Any:
    stmt = select(User).where(User.role == Role.ADMIN, User.is_active_account)
    if email:
        stmt = stmt.where(User.email == email.strip().lower())
    admin = session.scalar(stmt.order_by(User.created_at).limit(1))
    if admin is None:
        raise click.ClickException(
            f"Администратора поставщика {email} нет."
            if email
            else "В кабинете нет администратора поставщика: отзыв МЧД записывается от "
            "его имени. Создайте его («docflow user create --role admin …»)."
        )
    return admin


@mchd_group.command(
    "revoke",
    help="Revoke an МЧД in the cabinet (as the supplier's administrator): "
    "signatures under it are refused from now on.",
)
@click.argument("ident", metavar="ID|NUMBER")
@click.option(
    "--reason", required=True, help="Why (kept with the МЧД and in the audit log)."
)
@click.option(
    "--admin",
    "admin_email",
    help="The administrator's e-mail to record (default: the first administrator).",
)
@with_appcontext
def mchd_revoke(ident: str, reason: str, admin_email: str | None) -> None:
    s = db_session()
    power = _find(s, ident)
    if power.status == PowerStatus.REVOKED:
        when = (
            f" {_moscow(power.revoked_at):%d.%m.%Y %H:%M} МСК"
            if power.revoked_at is not None
            else ""
        )
        click.echo(f"МЧД {power.label} уже отозвана{when}.")
        return
    admin = _admin(s, admin_email)
    actor = dataclasses.replace(
        Actor.for_user(admin, RequestInfo(via="cli")),
        label=f"{admin.full_name} <{admin.email}> (командная строка)",
    )
    try:
        with transaction(s):
            power = revoke_power(s, actor=actor, power_id=power.id, reason=reason)
            label, revoked_at = power.label, power.revoked_at
    except DocflowError as exc:
        raise click.ClickException(exc.message) from None
    assert revoked_at is not None, "revoke_power stamps the moment of revocation"
    click.echo(
        f"МЧД {label} отозвана в кабинете {_moscow(revoked_at):%d.%m.%Y %H:%M} МСК: "
        "подписи по ней после этого момента не принимаются. В реестре ФНС "
        "доверенность отзывает её доверитель."
    )


def _moscow(moment: dt.datetime) -> dt.datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(MOSCOW)


# -- the registry double -----------------------------------------------------------


@mchd_group.group(
    "registry",
    help="The embedded registry double (MCHD_REGISTRY_URL=embedded): publish, "
    "revoke and ask the status of an МЧД as its principal does in the ФНС "
    "registry.",
)
def registry_group() -> None:
    pass


def _double() -> Any:
    registry = current_runtime().registry
    if isinstance(registry, FileRegistry):
        return registry
    if registry is None:
        raise click.ClickException(
            "Реестр доверенностей не подключён (MCHD_REGISTRY_URL=off): статус МЧД "
            "ведёт сам кабинет («docflow mchd revoke»). Команды «docflow mchd "
            "registry» работают со встроенным двойником реестра "
            "(MCHD_REGISTRY_URL=embedded)."
        )
    raise click.ClickException(
        f"MCHD_REGISTRY_URL={settings().signatures.mchd_registry_url} — внешний реестр "
        "доверенностей: регистрирует и отзывает МЧД её доверитель (в реестре ФНС, "
        "m4d.nalog.gov.ru), а не кабинет. Команды «docflow mchd registry» работают "
        "только со встроенным двойником реестра (MCHD_REGISTRY_URL=embedded)."
    )


def _guid(value: str) -> str:
    number = value.strip().lower()
    if not _GUID.fullmatch(number):
        raise click.ClickException(
            f"«{value}» — не номер МЧД: ожидается GUID вида "
            "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (или файл МЧД .xml)."
        )
    return number


def _inn(number: str, inn: str | None) -> str:
    """The principal's ИНН: given, else the one of the МЧД on file."""
    if inn:
        inn = inn.strip()
        if not _INN.fullmatch(inn):
            raise click.ClickException(
                f"ИНН доверителя «{inn}»: ожидается 10 цифр (ИНН ЮЛ) или 12 (ИНН ФЛ)."
            )
        return inn
    known = {
        str(p.principal.get("inn", ""))
        for p in db_session().scalars(
            select(PowerOfAttorney).where(PowerOfAttorney.number == number)
        )
    } - {""}
    if len(known) != 1:
        raise click.ClickException(
            f"МЧД {number} в кабинете "
            + ("нет" if not known else "несколько, у разных доверителей")
            + ": укажите ИНН доверителя (--inn)."
        )
    return known.pop()


@registry_group.command(
    "publish",
    help="Register an МЧД in the registry double: by its number (GUID) with "
    "--inn of the principal, or from its file (.xml).",
)
@click.argument("source", metavar="GUID|FILE.xml")
@click.option("--inn", help="The principal's ИНН (read from the file when given one).")
@with_appcontext
def registry_publish(source: str, inn: str | None) -> None:
    registry = _double()
    path = Path(source)
    if path.suffix.lower() == ".xml" or path.is_file():
        if not path.is_file():
            raise click.ClickException(f"Файла {source} нет.")
        try:
            poa = signing.read_power_of_attorney(path.read_bytes())
        except signing.MchdFormatError as exc:
            raise click.ClickException(f"{source}: {exc}") from None
        number = poa.number.lower()
        if inn and inn.strip() != poa.principal.inn:
            raise click.ClickException(
                f"В МЧД доверитель — ИНН {poa.principal.inn}, а указан --inn {inn}."
            )
        inn = poa.principal.inn
    else:
        number = _guid(source)
        inn = _inn(number, inn)
    registry.publish(number, inn)
    click.echo(
        f"МЧД {number} зарегистрирована во встроенном реестре (доверитель ИНН {inn}): "
        "действует."
    )


@registry_group.command(
    "revoke", help="Revoke an МЧД in the registry double, as its principal does."
)
@click.argument("number", metavar="GUID")
@with_appcontext
def registry_revoke(number: str) -> None:
    registry = _double()
    number = _guid(number)
    now = dt.datetime.now(dt.UTC)
    if not registry.revoke(number, at=now):
        raise click.ClickException(f"МЧД {number} во встроенном реестре нет.")
    click.echo(
        f"МЧД {number} отозвана во встроенном реестре "
        f"{now.astimezone(MOSCOW):%d.%m.%Y %H:%M} МСК: подписи по ней после этого "
        "момента кабинет не примет."
    )


@registry_group.command(
    "status", help="The registry double's status of an МЧД of a principal."
)
@click.argument("number", metavar="GUID")
@click.option("--inn", help="The principal's ИНН (default: the МЧД on file's).")
@with_appcontext
def registry_status(number: str, inn: str | None) -> None:
    registry = _double()
    number = _guid(number)
    inn = _inn(number, inn)
    answer = registry.status(number, inn)
    if answer.state is RegistryState.NOT_FOUND:
        click.echo(f"МЧД {number} доверителя ИНН {inn} во встроенном реестре нет.")
    elif answer.state is RegistryState.REVOKED:
        when = (
            f" {answer.revoked_at.astimezone(MOSCOW):%d.%m.%Y %H:%M} МСК"
            if answer.revoked_at
            else ""
        )
        click.echo(f"МЧД {number} (доверитель ИНН {inn}): отозвана{when}.")
    else:
        click.echo(f"МЧД {number} (доверитель ИНН {inn}): действует.")
