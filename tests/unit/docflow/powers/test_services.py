"""Powers of attorney (МЧД) without HTTP: their status as shown, who holds one,
withdrawing one, and the supplier's map of powers per document type."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session

from docflow.access import Actor
from docflow.errors import NotFoundError, PermissionDeniedError, ValidationError
from docflow.powers.models import PowerStatus
from docflow.powers.services import (
    DEFAULT_POWER_CODES,
    Holder,
    holder_keys,
    is_personal,
    moscow_date,
    power_codes,
    revoke_power,
    set_power_codes,
    status_of,
)
from tests import factories
from tests.unit.docflow.conftest import Cast

TODAY = dt.date(2026, 11, 20)


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        ({}, ("ok", "действует")),
        ({"valid_until": TODAY}, ("ok", "действует")),
        ({"valid_until": TODAY - dt.timedelta(days=1)}, ("bad", "срок истёк")),
        ({"issued_on": TODAY + dt.timedelta(days=1)}, ("warn", "ещё не действует")),
        ({"status": PowerStatus.REVOKED}, ("bad", "отозвана")),
    ],
)
def test_status_of_a_power_on_a_day(
    session: Session, cast: Cast, changes: dict[str, object], shown: tuple[str, str]
) -> None:
    values: dict[str, object] = {
        "issued_on": TODAY - dt.timedelta(days=30),
        "valid_until": TODAY + dt.timedelta(days=30),
        **changes,
    }
    power = factories.make_power_of_attorney(
        session,
        organisation=cast.customer,
        **values,  # type: ignore[arg-type]
    )
    assert status_of(power, today=TODAY) == shown


def test_moscow_date_turns_at_moscow_midnight() -> None:
    assert moscow_date(dt.datetime(2026, 11, 19, 20, 59, tzinfo=dt.UTC)) == dt.date(
        2026, 11, 19
    )
    assert moscow_date(dt.datetime(2026, 11, 19, 21, 0)) == TODAY  # naive: UTC


def test_holder_keys_list_every_identifier_of_every_representative() -> None:
    people: list[dict[str, Any]] = [
        {"snils": "12345678964", "inn": "500301234560"},
        {"snils": None, "inn": "772800123456"},
        {},
    ]
    assert holder_keys(people) == "|s:12345678964|i:500301234560|i:772800123456|"
    assert holder_keys([]) == "|"


@dataclasses.dataclass
class _Cert:
    snils: str | None
    inn: str | None
    inn_le: str | None = None
    owner: str = "Сидорова Анна Павловна"


def test_a_holder_matches_when_no_identifier_disagrees() -> None:
    holder = Holder.of(_Cert(snils="123-456-789 64", inn="500301234560"))
    assert holder == Holder("Сидорова Анна Павловна", "12345678964", "500301234560")
    assert holder.matches({"snils": "12345678964", "inn": None})
    assert holder.matches({"snils": "123 456 789 64", "inn": "500301234560"})
    assert not holder.matches({"snils": "12345678964", "inn": "772800123456"})
    assert not holder.matches({"snils": None, "inn": None})


def test_is_personal_unless_the_certificate_names_the_organisation(
    session: Session, cast: Cast
) -> None:
    org = cast.customer
    assert is_personal(_Cert(snils=None, inn="500301234560"), org)
    assert not is_personal(_Cert(snils=None, inn=None, inn_le=org.inn), org)
    # Before 2021 the ИНН ЮЛ was written into the INN attribute.
    assert not is_personal(_Cert(snils=None, inn=org.inn), org)
    assert is_personal(_Cert(snils=None, inn=None, inn_le="5003012345"), org)


def test_revoke_power_by_its_uploader_records_the_reason(
    session: Session, cast: Cast
) -> None:
    power = factories.make_power_of_attorney(
        session, organisation=cast.customer, uploaded_by=cast.viewer
    )
    uploader = Actor.for_user(cast.viewer)
    revoke_power(session, actor=uploader, power_id=power.id, reason="  уволена ")
    assert (power.status, power.revocation_reason, power.revoked_by_id) == (
        PowerStatus.REVOKED,
        "уволена",
        cast.viewer.id,
    )
    revoked_at = power.revoked_at
    revoke_power(session, actor=uploader, power_id=power.id, reason="ещё раз")
    assert (power.revoked_at, power.revocation_reason) == (revoked_at, "уволена")


def test_revoke_power_by_others(session: Session, cast: Cast) -> None:
    power = factories.make_power_of_attorney(
        session, organisation=cast.customer, uploaded_by=cast.viewer
    )
    with pytest.raises(PermissionDeniedError):
        revoke_power(session, actor=Actor.for_user(cast.signer), power_id=power.id)
    with pytest.raises(NotFoundError):
        revoke_power(session, actor=Actor.for_user(cast.stranger), power_id=power.id)
    assert power.status == PowerStatus.ACTIVE


def test_the_map_of_powers_falls_back_to_the_defaults(
    session: Session, cast: Cast
) -> None:
    admin = Actor.for_user(cast.admin)
    assert power_codes(session, "prom10") == DEFAULT_POWER_CODES["prom10"]
    assert set_power_codes(
        session, actor=admin, doc_type="prom10", codes=[" 01.002 ", "", "01.002", "X-1"]
    ) == ("01.002", "X-1")
    assert power_codes(session, "prom10") == ("01.002", "X-1")
    assert (
        set_power_codes(session, actor=admin, doc_type="prom10", codes=[])
        == (DEFAULT_POWER_CODES["prom10"])
    )
    with pytest.raises(ValidationError) as refused:
        set_power_codes(session, actor=admin, doc_type="prom10", codes=["02.001; DROP"])
    assert refused.value.code == "power_code_invalid"
