"""Looking a contract up for a user: «not found» whether it exists or not."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from docflow.contracts.lookup import get_contract_for, list_user_contracts
from docflow.errors import NotFoundError, PermissionDeniedError
from tests import factories
from tests.unit.docflow.conftest import Cast


def test_get_contract_for_answers_the_same_for_missing_and_foreign(
    session: Session, cast: Cast
) -> None:
    with pytest.raises(NotFoundError) as missing:
        get_contract_for(session, contract_id=uuid.uuid4(), user=cast.signer)
    with pytest.raises(NotFoundError) as foreign:
        get_contract_for(session, contract_id=cast.contract.id, user=cast.stranger)
    assert str(missing.value) == str(foreign.value)


def test_get_contract_for_names_the_missing_right(session: Session, cast: Cast) -> None:
    contract, access = get_contract_for(
        session, contract_id=cast.contract.id, user=cast.viewer
    )
    assert (contract.id, access.user_id) == (cast.contract.id, cast.viewer.id)
    with pytest.raises(PermissionDeniedError, match="«подписание документов»"):
        get_contract_for(
            session, contract_id=cast.contract.id, user=cast.viewer, right="can_sign"
        )


def test_list_user_contracts_by_number_without_hidden_ones(
    session: Session, cast: Cast
) -> None:
    user = factories.make_user(session)
    later = factories.make_contract(session, number="78-0002-ЮЛ")
    earlier = factories.make_contract(session, number="50-0001-ЮЛ")
    hidden = factories.make_contract(session, number="10-0001-ЮЛ")
    for contract in (later, earlier):
        factories.grant(session, user=user, contract=contract)
    factories.grant(session, user=user, contract=hidden, can_view=False)
    numbers = [a.contract.number for a in list_user_contracts(session, user=user)]
    assert numbers == ["50-0001-ЮЛ", "78-0002-ЮЛ"]
