"""``docflow api-key create|revoke|list``: API keys from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from docflow.access import supplier_organisation
from docflow.api.services import (
    create_api_key,
    find_api_key,
    list_api_keys,
    revoke_api_key,
)
from docflow.audit import RequestInfo
from docflow.context import db_session
from docflow.contracts.models import Organisation
from docflow.db import transaction
from docflow.errors import DocflowError


@click.group("api-key", help="API keys of integrations.")
def api_key_group() -> None:
    pass


def _organisation(inn: str | None, supplier: bool) -> object:
    s = db_session()
    if supplier == bool(inn):
        raise click.UsageError("Give either --org <ИНН> or --supplier.")
    if supplier:
        org = supplier_organisation(s)
        if org is None:
            raise click.ClickException("the supplier's organisation is not set up")
        return org
    org = s.scalar(select(Organisation).where(Organisation.inn == (inn or "").strip()))
    if org is None:
        raise click.ClickException(f"no organisation with ИНН {inn}")
    return org


@api_key_group.command("create", help="Make a key and print it (shown only now).")
@click.option("--org", "inn", help="ИНН of the customer organisation.")
@click.option("--supplier", is_flag=True, help="A key of the supplier (sees all).")
@click.option(
    "--scopes",
    default="read",
    show_default=True,
    help="Comma-separated: read, write, sign, readings.",
)
@click.option(
    "--name", default="интеграция", show_default=True, help="What the key is for."
)
@with_appcontext
def create(inn: str | None, supplier: bool, scopes: str, name: str) -> None:
    org = _organisation(inn, supplier)
    s = db_session()
    try:
        with transaction(s):
            made = create_api_key(
                s,
                user=None,
                organisation=org,  # type: ignore[arg-type]
                name=name,
                scopes=scopes,
                request_info=RequestInfo(via="cli"),
            )
    except DocflowError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(made.secret)
    who = (
        "supplier"
        if made.key.organisation_id is None
        else f"{org.name} (ИНН {org.inn})"  # type: ignore[attr-defined]
    )
    click.echo(
        f"key {made.key.display} for {who}, scopes: "
        f"{','.join(sorted(made.key.scope_set))}. Store it now: it is shown once.",
        err=True,
    )


@api_key_group.command("revoke", help="Revoke a key by its prefix, id or value.")
@click.argument("reference")
@with_appcontext
def revoke(reference: str) -> None:
    s = db_session()
    try:
        with transaction(s):
            key = revoke_api_key(
                s,
                user=None,
                key_id=find_api_key(s, reference).id,
                request_info=RequestInfo(via="cli"),
            )
    except DocflowError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"revoked {key.display} ({key.name})")


@api_key_group.command("list", help="List keys (of one organisation with --org).")
@click.option("--org", "inn", help="ИНН of the organisation.")
@click.option("--supplier", is_flag=True, help="Only the supplier's keys.")
@with_appcontext
def list_keys(inn: str | None, supplier: bool) -> None:
    org = _organisation(inn, supplier) if inn or supplier else None
    for key in list_api_keys(db_session(), user=None, organisation=org):  # type: ignore[arg-type]
        owner = key.organisation.inn if key.organisation else "supplier"
        state = "revoked" if key.revoked_at else "active"
        used = (
            key.last_used_at.isoformat(timespec="seconds")
            if key.last_used_at
            else "never"
        )
        click.echo(
            f"{key.display:<16} {state:<8} {owner:<12} "
            f"{','.join(sorted(key.scope_set)):<26} used {used:<25} {key.name}"
        )
