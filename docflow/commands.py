"""The application's commands: ``docflow db upgrade``, ``docflow demo [--json]``,
``docflow user create``, and the modules' command groups, registered on the
app by :func:`register_commands` (``create_app`` calls it). The ``docflow``
program itself is :func:`docflow.cli.main`."""

from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import with_appcontext

from docflow.accounts.models import Role
from docflow.accounts.services import register_user
from docflow.api.cli import api_key_group
from docflow.certificates.cli import (
    cluster_group,
    trust_import,
    trust_refresh_crls,
)
from docflow.context import db_session, settings
from docflow.contracts.cli import contracts_group
from docflow.db import transaction
from docflow.demo import create_demo_world
from docflow.documents.cli import archive_group, audit_group, fsck, trust_group
from docflow.errors import DocflowError
from docflow.migrate import upgrade
from docflow.powers.cli import mchd_group
from docflow.readings.cli import readings_group


def register_commands(app: Flask) -> None:
    """The commands of ``docflow``: this module's and each module's group."""
    app.cli.add_command(db_group)
    app.cli.add_command(demo_command)
    app.cli.add_command(user_group)
    trust_group.add_command(trust_import)
    trust_group.add_command(trust_refresh_crls)
    app.cli.add_command(archive_group)
    app.cli.add_command(trust_group)
    app.cli.add_command(cluster_group)
    app.cli.add_command(audit_group)
    app.cli.add_command(fsck)
    app.cli.add_command(contracts_group)
    app.cli.add_command(api_key_group)
    app.cli.add_command(readings_group)
    app.cli.add_command(mchd_group)


@click.group("db", help="Database schema.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Apply the migrations up to the newest.")
@with_appcontext
def db_upgrade() -> None:
    upgrade(settings().database_url)
    click.echo("database is up to date")


@click.command("demo", help="Create the demo world (idempotent) and print it.")
@click.option("--json", "as_json", is_flag=True, help="Print the demo world as JSON.")
@with_appcontext
def demo_command(as_json: bool) -> None:
    world = create_demo_world()
    if as_json:
        click.echo(json.dumps(world, ensure_ascii=False, indent=2))
        return
    click.echo(render_demo_text(world))


def render_demo_text(world: dict) -> str:  # type: ignore[type-arg]
    lines = ["", "Демо-мир личного кабинета готов.", ""]
    lines.append("Пользователи (e-mail / пароль):")
    for u in world["users"]:
        lines.append(f"  {u['role_title']:<34} {u['email']:<28} {u['password']}")
    lines.append("")
    lines.append("Организации:")
    for org in world["organisations"]:
        contracts = ", ".join(c["number"] for c in org["contracts"]) or "—"
        lines.append(f"  {org['name']:<34} ИНН {org['inn']:<12} договоры: {contracts}")
    lines.append("")
    if world.get("bindable"):
        lines.append(
            "Договоры, которые ещё никто не привязал (попробуйте «Привязать договор»):"
        )
        for b in world["bindable"]:
            lines.append(
                f"  № {b['number']:<14} ИНН {b['inn']:<12} e-mail {b['email']}"
                f"  ({b['organisation']})"
            )
        lines.append("")
    if world.get("readings"):
        lines.append(
            f"Показания: договор № {world['readings']['contract']} — объекты, приборы "
            "учёта и история за год; передача с 15 по 26 число (READINGS_WINDOW_START/"
            "READINGS_WINDOW_END)."
        )
        lines.append("")
    lines.append("Ключи электронной подписи (PKCS#12 / пароль):")
    for k in world["keys"]:
        lines.append(f"  {k['owner']:<34} {k['p12']}  пароль: {k['password']}")
    lines.append(f"  Корневой сертификат тестового УЦ: {world['trust']['root']}")
    lines.append("")
    lines.append(
        "REST API (документация: /api/v1/docs). Ключ интеграции (показывается один раз):"
    )
    lines.append(
        "  docflow api-key create --org 7701234567 --scopes read,write,sign --name ERP"
    )
    lines.append(
        "  python examples/integration.py --key <ключ> "
        "--p12 var/demo/romashka-signer.p12 --password demo1234"
    )
    lines.append("")
    return "\n".join(lines)


@click.group("user", help="Users.")
def user_group() -> None:
    pass


@user_group.command("create", help="Create a user with a confirmed e-mail.")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--last-name", required=True)
@click.option("--first-name", required=True)
@click.option("--middle-name", default="")
@click.option(
    "--role", type=click.Choice(["customer", "clerk", "admin"]), default="customer"
)
@with_appcontext
def user_create(
    email: str,
    password: str,
    last_name: str,
    first_name: str,
    middle_name: str,
    role: str,
) -> None:
    s = db_session()
    try:
        with transaction(s):
            user = register_user(
                s,
                email=email,
                password=password,
                last_name=last_name,
                first_name=first_name,
                middle_name=middle_name,
                role=Role(role),
                confirmed=True,
            )
    except DocflowError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created {user.email} ({role})")
