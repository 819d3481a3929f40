"""``docflow mchd``: the list of МЧД on file, a revocation in the cabinet, and
the registry double (``docflow mchd registry publish|revoke|status``), which a
remote registry or none refuses, in Russian."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from docflow.audit.models import AuditRecord
from docflow.demo import EMPLOYEE_POWER, create_demo_world
from docflow.powers.models import PowerOfAttorney, PowerStatus
from docflow.powers.registry import FileRegistry, RegistryState, open_registry
from tests.functional.contract_world import session

NUMBER = str(EMPLOYEE_POWER["number"])
INN = "7701234567"


@pytest.fixture()
def world(app: Flask) -> dict[str, Any]:
    with app.app_context():
        return create_demo_world()


@pytest.fixture()
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def _registry(app: Flask) -> FileRegistry:
    settings = app.extensions["docflow"].settings
    registry = open_registry(
        settings.signatures.mchd_registry_url, var_dir=settings.var_dir
    )
    assert isinstance(registry, FileRegistry)
    return registry


def _run(runner: FlaskCliRunner, *args: str, ok: bool = True) -> str:
    result = runner.invoke(args=["mchd", *args])
    assert (result.exit_code == 0) == ok, (result.output, result.exception)
    return result.output


def test_list_shows_number_principal_representative_period_and_status(
    world: dict[str, Any], runner: FlaskCliRunner
) -> None:
    out = _run(runner, "list")
    entry = world["powers_of_attorney"][0]
    line = next(row for row in out.splitlines() if NUMBER in row)
    assert entry["id"] in line
    assert "МЧД-1/2026" in line and "ООО «Ромашка» (ИНН 7701234567)" in line
    assert "Сидорова Анна Павловна" in line and line.endswith("действует")
    assert "–" in line  # the period, «dd.mm.yyyy–dd.mm.yyyy»


def test_list_of_nothing_says_so(app: Flask, runner: FlaskCliRunner) -> None:
    assert "нет" in _run(runner, "list")


def test_registry_revoke_status_and_publish(
    app: Flask, world: dict[str, Any], runner: FlaskCliRunner, tmp_path: Any
) -> None:
    assert "действует" in _run(runner, "registry", "status", NUMBER, "--inn", INN)
    # Without --inn: the principal of the МЧД on file.
    assert "действует" in _run(runner, "registry", "status", NUMBER)

    out = _run(runner, "registry", "revoke", NUMBER.upper())
    assert "отозвана во встроенном реестре" in out
    assert _registry(app).status(NUMBER, INN).state is RegistryState.REVOKED
    assert "отозвана" in _run(runner, "registry", "status", NUMBER, "--inn", INN)
    assert "нет" in _run(runner, "registry", "status", NUMBER, "--inn", "7705123456")

    # Published again from the МЧД file: the principal is read from it.
    out = _run(runner, "registry", "publish", world["powers_of_attorney"][0]["xml"])
    assert "зарегистрирована" in out and INN in out
    assert _registry(app).status(NUMBER, INN).state is RegistryState.ACTIVE

    other = str(uuid.uuid4())
    assert "зарегистрирована" in _run(
        runner, "registry", "publish", other, "--inn", "7705123456"
    )
    assert _registry(app).status(other, "7705123456").state is RegistryState.ACTIVE


def test_registry_refusals_are_explained(
    world: dict[str, Any], runner: FlaskCliRunner, tmp_path: Any
) -> None:
    assert "не номер МЧД" in _run(runner, "registry", "revoke", "МЧД-1", ok=False)
    missing = str(uuid.uuid4())
    assert "нет" in _run(runner, "registry", "revoke", missing, ok=False)
    assert "--inn" in _run(runner, "registry", "publish", missing, ok=False)
    assert "--inn" in _run(runner, "registry", "status", missing, ok=False)
    assert "ИНН" in _run(
        runner, "registry", "publish", missing, "--inn", "12", ok=False
    )
    broken = tmp_path / "broken.xml"
    broken.write_text("<нет/>", encoding="utf-8")
    assert "broken.xml" in _run(runner, "registry", "publish", str(broken), ok=False)
    xml = world["powers_of_attorney"][0]["xml"]
    assert "доверитель" in _run(
        runner, "registry", "publish", xml, "--inn", "7705123456", ok=False
    )


@pytest.fixture()
def registry_url(app: Flask) -> Iterator[Any]:
    """Set ``MCHD_REGISTRY_URL`` for the test, restored after."""
    state = app.extensions["docflow"]
    saved = state.settings

    def set_url(url: str | None) -> None:
        state.settings = saved.replace(mchd_registry_url=url)  # a new runtime

    yield set_url
    state.settings = saved


def test_a_remote_registry_or_none_is_refused(
    world: dict[str, Any], runner: FlaskCliRunner, registry_url: Any
) -> None:
    registry_url(None)
    out = _run(runner, "registry", "revoke", NUMBER, ok=False)
    assert "не подключён" in out and "MCHD_REGISTRY_URL=off" in out
    registry_url("https://mchd-gateway.example")
    out = _run(runner, "registry", "status", NUMBER, "--inn", INN, ok=False)
    assert "внешний реестр" in out and "https://mchd-gateway.example" in out
    assert "MCHD_REGISTRY_URL=embedded" in out
    # The list and the cabinet's revocation do not need the double.
    assert NUMBER in _run(runner, "list")


def test_revoke_in_the_cabinet_as_the_administrator(
    app: Flask, world: dict[str, Any], runner: FlaskCliRunner
) -> None:
    assert "--reason" in _run(runner, "revoke", NUMBER, ok=False)
    assert "нет" in _run(runner, "revoke", str(uuid.uuid4()), "--reason", "x", ok=False)
    out = _run(runner, "revoke", NUMBER, "--reason", "Сотрудник уволен")
    assert "МЧД-1/2026" in out and "отозвана в кабинете" in out
    with session(app) as s:
        power = s.scalar(
            select(PowerOfAttorney).where(PowerOfAttorney.number == NUMBER)
        )
        assert power is not None and power.status == PowerStatus.REVOKED
        assert power.revocation_reason == "Сотрудник уволен"
        audit = s.scalar(
            select(AuditRecord).where(AuditRecord.action == "power_of_attorney.revoke")
        )
        assert audit is not None and "командная строка" in (audit.actor_label or "")
    # Again (by its id now): already revoked, nothing changes.
    again = _run(
        runner, "revoke", world["powers_of_attorney"][0]["id"], "--reason", "x"
    )
    assert "уже отозвана" in again
    assert "отозвана: Сотрудник уволен" in _run(runner, "list")
    # The registry double is another matter: the principal revokes it there.
    assert _registry(app).status(NUMBER, INN).state is RegistryState.ACTIVE


def test_revoke_names_an_administrator_that_exists(
    world: dict[str, Any], runner: FlaskCliRunner
) -> None:
    out = _run(
        runner,
        "revoke",
        NUMBER,
        "--reason",
        "x",
        "--admin",
        "nobody@example.ru",
        ok=False,
    )
    assert "nobody@example.ru" in out
