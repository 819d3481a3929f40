"""Powers of attorney (МЧД) for the flow tests: an employee of ООО «Ромашка»
with a personal certificate (no ИНН ЮЛ), and МЧД issued by its head (the
world's ``signer_a``, whose certificate carries Ромашка's ИНН ЮЛ)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest

import signing
from docflow.powers.registry import FileRegistry, open_registry
from signing import pki
from signing.mchd import (
    FormatVersion,
    Organisation,
    Person,
    Power,
    PowerOfAttorney,
    Redelegation,
)
from tests.functional.api_support import sign_cms as sign_detached
from tests.functional.world import Keys, World

EMPLOYEE_SNILS = "12345678964"
EMPLOYEE_INN = "500301234560"
#: The power the default map allows for ПРОМ10 acts.
PROM10_POWER = "02.001"


@dataclasses.dataclass(frozen=True)
class PowerKeys:
    employee: pki.Issued  # Сидорова Анна Павловна, personal: no ИНН ЮЛ
    stranger: pki.Issued  # another person, personal


@pytest.fixture(scope="session")
def power_keys(keys: Keys) -> PowerKeys:
    return PowerKeys(
        employee=pki.make_signer(
            keys.root, surname="Сидорова", given_name="Анна Павловна",
            organization=None, title=None, inn=EMPLOYEE_INN, inn_le=None, ogrn=None,
            snils=EMPLOYEE_SNILS, email="sidorova@romashka.example",
        ),
        stranger=pki.make_signer(
            keys.root, surname="Орлов", given_name="Олег Олегович",
            organization=None, title=None, inn="772800123456", inn_le=None,
            ogrn=None, snils="11122233396", email="orlov@example.ru",
        ),
    )  # fmt: skip


def head_of_a() -> Person:
    """Ромашка's head as the МЧД names them (pki.make_signer's defaults)."""
    return Person("Иванов", "Иван", "Иванович", "112-233-445 95", "500100732259")


def employee() -> Person:
    return Person("Сидорова", "Анна", "Павловна", "123-456-789 64", EMPLOYEE_INN)


def power_xml(
    *,
    principal: Organisation | None = None,
    representative: Person | None = None,
    codes: tuple[str, ...] = (PROM10_POWER,),
    issued_on: dt.date | None = None,
    valid_until: dt.date | None = None,
    number: str | None = None,
    head: Person | None = None,
) -> tuple[str, bytes]:
    """(number, XML) of an МЧД of ООО «Ромашка» for the employee, valid a year."""
    today = dt.date.today()
    number = number or str(uuid.uuid4())
    poa = PowerOfAttorney(
        format_version=FormatVersion.V003,
        number=number,
        internal_number="МЧД-7/2026",
        issued_on=issued_on or today - dt.timedelta(days=30),
        valid_until=valid_until or today + dt.timedelta(days=335),
        principal=principal
        or Organisation("ООО «Ромашка»", "7701234567", "1027700132195", "770101001"),
        representatives=(representative or employee(),),
        powers=tuple(Power(c, f"Полномочие {c}") for c in codes)
        + (Power(None, "Подписывать акты снятия показаний"),),
        redelegation=Redelegation.NONE,
        file_id=None,
        head=head if head is not None else head_of_a(),
    )
    return number, signing.write_power_of_attorney(
        poa, head_title="Генеральный директор"
    )


def publish(world: World, number: str, principal_inn: str = "7701234567") -> None:
    """Register the МЧД in the app's registry (the double), as its principal
    does before anyone relies on it."""
    settings = world.app.extensions["docflow"].settings
    registry = open_registry(
        settings.signatures.mchd_registry_url, var_dir=settings.var_dir
    )
    if isinstance(registry, FileRegistry):
        registry.publish(number, principal_inn)


def signed_power(world: World, **kw: Any) -> tuple[str, bytes, bytes]:
    """(number, XML, signature by Ромашка's head), published in the registry."""
    signer = kw.pop("signed_by", None) or world.keys.signer_a
    number, xml = power_xml(**kw)
    publish(
        world,
        number,
        (kw.get("principal") or Organisation("", "7701234567", None, None)).inn,
    )
    return number, xml, sign_detached(signer, xml)
