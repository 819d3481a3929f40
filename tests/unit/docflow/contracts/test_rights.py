"""Managing access to a contract: rights change, are revoked, are added; the
contract is never left without an administrator."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.contracts.models import ContractAccess
from docflow.contracts.rights import grant_rights, revoke_access, set_rights
from docflow.errors import NotFoundError, ValidationError
from docflow.runtime import Runtime
from tests import factories
from tests.unit.docflow.conftest import Cast


def _access(session: Session, cast: Cast, who: str) -> ContractAccess:
    user = getattr(cast, who)
    return session.scalars(
        select(ContractAccess).where(
            ContractAccess.user_id == user.id,
            ContractAccess.contract_id == cast.contract.id,
        )
    ).one()


def test_set_rights_replaces_them_and_always_keeps_viewing(
    session: Session, cast: Cast, runtime: Runtime
) -> None:
    viewer = _access(session, cast, "viewer")
    set_rights(
        session,
        contract=cast.contract,
        user=cast.signer,
        access_id=viewer.id,
        rights={"can_view": False, "can_submit_readings": True},
        runtime=runtime,
    )
    assert viewer.rights == ("can_view", "can_submit_readings")


def test_the_last_administrator_keeps_the_right_to_manage(
    session: Session, cast: Cast, runtime: Runtime
) -> None:
    signer = _access(session, cast, "signer")
    with pytest.raises(ValidationError) as refused:
        set_rights(
            session,
            contract=cast.contract,
            user=cast.signer,
            access_id=signer.id,
            rights={"can_sign": True},
            runtime=runtime,
        )
    assert refused.value.code == "last_administrator"
    with pytest.raises(ValidationError):
        revoke_access(
            session,
            contract=cast.contract,
            user=cast.signer,
            access_id=signer.id,
            runtime=runtime,
        )
    assert signer.can_manage


def test_a_second_administrator_lets_the_first_go(
    session: Session, cast: Cast, runtime: Runtime
) -> None:
    viewer = _access(session, cast, "viewer")
    viewer.can_manage = True
    session.flush()
    revoke_access(
        session,
        contract=cast.contract,
        user=cast.viewer,
        access_id=_access(session, cast, "signer").id,
        runtime=runtime,
    )
    assert (
        session.scalar(
            select(ContractAccess).where(ContractAccess.user_id == cast.signer.id)
        )
        is None
    )


def test_rights_of_another_contract_are_not_found(
    session: Session, cast: Cast, runtime: Runtime
) -> None:
    other = factories.make_contract(session, organisation=cast.customer)
    stranger = factories.grant(session, user=cast.stranger, contract=other)
    with pytest.raises(NotFoundError):
        revoke_access(
            session,
            contract=cast.contract,
            user=cast.signer,
            access_id=stranger.id,
            runtime=runtime,
        )


def test_grant_rights_only_adds(session: Session, cast: Cast) -> None:
    access, before = grant_rights(
        session, contract=cast.contract, user=cast.viewer, rights={"can_sign": True}
    )
    assert before == ["can_view"]
    assert access.rights == ("can_view", "can_sign")
    access, before = grant_rights(
        session, contract=cast.contract, user=cast.viewer, rights={"can_sign": False}
    )
    assert access.rights == ("can_view", "can_sign")
    new, before = grant_rights(
        session, contract=cast.contract, user=cast.stranger, rights={}
    )
    assert (before, new.rights) == ([], ("can_view",))
