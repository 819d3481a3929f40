"""Binding a contract to an account by the organisation's e-mail, ИНН and the
contract's number, as typed."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.accounts.models import Role
from docflow.contracts.binding import BIND_FAILED, BindOutcome, bind_contract
from docflow.contracts.models import (
    Contract,
    ContractAccess,
    ContractAccessRequest,
    Organisation,
)
from docflow.errors import PermissionDeniedError, ValidationError
from tests import factories

EMAIL, INN, NUMBER = "office@lutik.example", "7712345678", "77-0042-ЮЛ"


@pytest.fixture()
def contract(session: Session) -> Contract:
    org = factories.make_organisation(
        session, name="ООО «Лютик»", inn=INN, email="Office@Lutik.Example"
    )
    return factories.make_contract(session, organisation=org, number=NUMBER)


def _bind(session: Session, user: object, **typed: str) -> object:
    values = {"email": EMAIL, "inn": INN, "number": NUMBER, **typed}
    return bind_contract(session, user=user, **values)  # type: ignore[arg-type]


def test_the_first_user_to_bind_becomes_the_administrator(
    session: Session, contract: Contract
) -> None:
    user = factories.make_user(session)
    result = bind_contract(
        session, user=user, email=f" {EMAIL.upper()} ", inn="77 1234 5678",
        number="77 – 0042 – юл",
    )  # fmt: skip
    assert (result.outcome, result.contract.id) == (BindOutcome.BOUND, contract.id)
    access = session.scalars(
        select(ContractAccess).where(ContractAccess.user_id == user.id)
    ).one()
    assert access.rights == (
        "can_view",
        "can_submit_readings",
        "can_sign",
        "can_manage",
    )
    assert _bind(session, user).outcome == BindOutcome.ALREADY_BOUND  # type: ignore[attr-defined]


def test_a_later_user_asks_the_administrator_once(
    session: Session, contract: Contract
) -> None:
    _bind(session, factories.make_user(session))
    later = factories.make_user(session)
    assert _bind(session, later).outcome == BindOutcome.REQUESTED  # type: ignore[attr-defined]
    assert _bind(session, later).outcome == BindOutcome.ALREADY_REQUESTED  # type: ignore[attr-defined]
    requests = session.scalars(
        select(ContractAccessRequest).where(ContractAccessRequest.user_id == later.id)
    ).all()
    assert len(requests) == 1
    assert (
        session.scalar(select(ContractAccess).where(ContractAccess.user_id == later.id))
        is None
    )


@pytest.mark.parametrize(
    "typed",
    [
        {"email": "other@lutik.example"},
        {"inn": "7712345679"},
        {"number": "77-0043-ЮЛ"},
        {"number": "   "},
    ],
    ids=["email", "inn", "number", "blank number"],
)
def test_any_wrong_detail_gets_the_same_answer(
    session: Session, contract: Contract, typed: dict[str, str]
) -> None:
    with pytest.raises(ValidationError) as refused:
        _bind(session, factories.make_user(session), **typed)
    assert str(refused.value) == BIND_FAILED
    assert refused.value.code == "contract_not_found"


def test_an_inactive_contract_or_the_suppliers_own_is_not_bound(
    session: Session, contract: Contract
) -> None:
    contract.is_active = False
    session.flush()
    with pytest.raises(ValidationError):
        _bind(session, factories.make_user(session))
    supplier = factories.make_organisation(
        session, inn="7736520080", email="info@energosbyt.example", is_supplier=True
    )
    factories.make_contract(session, organisation=supplier, number="00-0001")
    with pytest.raises(ValidationError):
        _bind(
            session,
            factories.make_user(session),
            email="info@energosbyt.example",
            inn="7736520080",
            number="00-0001",
        )
    assert session.get(Organisation, supplier.id) is not None


def test_the_suppliers_people_do_not_bind(session: Session, contract: Contract) -> None:
    with pytest.raises(PermissionDeniedError):
        _bind(session, factories.make_user(session, role=Role.CLERK))
