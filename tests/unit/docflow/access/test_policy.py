"""Access decisions for each role: the supplier's clerk and administrator, a
customer's signer (who manages the contract), its viewer, a user of nobody's
contract, and API keys of the customer and of the supplier — 404 for what the
actor cannot see, 403 for what it sees but may not do."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.access import (
    FULL,
    NONE,
    Action,
    Actor,
    Right,
    Rights,
    contract_rights,
    document_filter,
    may,
    may_revoke_power,
    may_sign_for,
    require,
    require_appeal_filing,
    require_pay_online,
    require_planned_filing,
    require_visible,
    visible_contract_ids,
    visible_powers,
)
from docflow.documents.models import Document
from docflow.documents.services import delete_document
from docflow.errors import NotFoundError, PermissionDeniedError
from docflow.powers.models import PowerOfAttorney
from docflow.runtime import Runtime
from tests import factories
from tests.unit.docflow.conftest import Cast

SIGNER = Rights(view=True, sign=True, manage=True, register=True)
VIEWER = Rights(view=True)


@pytest.mark.parametrize(
    ("who", "rights"),
    [
        ("signer", SIGNER),
        ("viewer", VIEWER),
        ("stranger", NONE),
        ("clerk", FULL),
        ("admin", FULL),
    ],
)
def test_contract_rights_of_each_role(
    session: Session, cast: Cast, who: str, rights: Rights
) -> None:
    actor = Actor.for_user(getattr(cast, who))
    assert contract_rights(session, actor, cast.contract.id) == rights


def test_contract_rights_need_the_view_right_first(
    session: Session, cast: Cast
) -> None:
    # A row with rights but without viewing gives nothing at all.
    other = factories.make_contract(session, organisation=cast.customer)
    factories.grant(
        session, user=cast.stranger, contract=other, can_view=False, can_sign=True
    )
    assert contract_rights(session, Actor.for_user(cast.stranger), other.id) == NONE


def test_a_customer_keys_scopes_become_its_rights_on_its_contracts_only(
    session: Session, cast: Cast
) -> None:
    made = factories.make_api_key(session, organisation=cast.customer, scopes="sign")
    key = Actor.for_api_key(made.key)
    assert not key.is_supplier
    # ``read`` comes with every scope; ``write`` (register) was not given.
    assert contract_rights(session, key, cast.contract.id) == Rights(
        view=True, sign=True
    )
    foreign = factories.make_contract(session)
    assert contract_rights(session, key, foreign.id) == NONE


def test_a_supplier_key_sees_every_contract_but_manages_none(
    session: Session, cast: Cast
) -> None:
    made = factories.make_api_key(session, organisation=None, scopes="read,write")
    key = Actor.for_api_key(made.key)
    assert key.is_supplier
    assert contract_rights(session, key, cast.contract.id) == Rights(
        view=True, register=True
    )


def test_visible_contract_ids_by_right(session: Session, cast: Cast) -> None:
    def ids(who: str, right: Right) -> list[object]:
        actor = Actor.for_user(getattr(cast, who))
        return list(session.scalars(visible_contract_ids(actor, right)))

    assert ids("signer", Right.SIGN) == [cast.contract.id]
    assert ids("viewer", Right.VIEW) == [cast.contract.id]
    assert ids("viewer", Right.SIGN) == []
    assert ids("stranger", Right.VIEW) == []


# -- documents ------------------------------------------------------------------------


@pytest.fixture()
def doc(session: Session, cast: Cast, runtime: Runtime) -> Document:
    """A document the supplier's clerk registered on the customer's contract."""
    return factories.make_document(
        session,
        actor=Actor.for_user(cast.clerk),
        runtime=runtime,
        contract=cast.contract,
    )


def test_require_hides_a_document_from_an_actor_without_the_contract(
    session: Session, cast: Cast, doc: Document
) -> None:
    with pytest.raises(NotFoundError):
        require(session, Actor.for_user(cast.stranger), Action.SIGN, doc)


def test_require_refuses_signing_to_a_viewer_with_the_reason(
    session: Session, cast: Cast, doc: Document
) -> None:
    viewer = Actor.for_user(cast.viewer)
    require_visible(session, viewer, doc)  # sees it
    with pytest.raises(PermissionDeniedError, match="нет права подписи"):
        require(session, viewer, Action.SIGN, doc)
    require(session, Actor.for_user(cast.signer), Action.SIGN, doc)


def test_only_the_registering_party_may_delete(
    session: Session, cast: Cast, doc: Document
) -> None:
    assert may(session, Actor.for_user(cast.clerk), Action.DELETE, doc)
    assert not may(session, Actor.for_user(cast.signer), Action.DELETE, doc)
    assert not may(session, Actor.for_user(cast.viewer), Action.DELETE, doc)


def test_a_deleted_document_stays_in_the_suppliers_view_only(
    session: Session, cast: Cast, doc: Document
) -> None:
    delete_document(session, actor=Actor.for_user(cast.clerk), document_id=doc.id)
    assert require_visible(session, Actor.for_user(cast.admin), doc) is doc
    with pytest.raises(NotFoundError):
        require_visible(session, Actor.for_user(cast.signer), doc)


def test_a_key_without_the_read_scope_finds_no_documents(
    session: Session, cast: Cast, doc: Document
) -> None:
    made = factories.make_api_key(session, organisation=cast.customer)
    key = Actor.for_api_key(made.key)
    assert session.scalars(select(Document.id).where(document_filter(key))).all() == [
        doc.id
    ]
    blind = Actor(
        user=None,
        is_supplier=False,
        label="без чтения",
        organisation_id=cast.customer.id,
        scopes=frozenset({"readings"}),
    )
    assert (
        session.scalars(select(Document.id).where(document_filter(blind))).all() == []
    )


# -- signing for an organisation, powers of attorney ------------------------------------


def test_may_sign_for_the_organisation_of_a_signed_contract(
    session: Session, cast: Cast
) -> None:
    assert may_sign_for(session, Actor.for_user(cast.signer), cast.customer)
    assert not may_sign_for(session, Actor.for_user(cast.viewer), cast.customer)
    assert may_sign_for(session, Actor.for_user(cast.clerk), cast.supplier)
    assert not may_sign_for(session, Actor.for_user(cast.clerk), cast.customer)


def test_who_may_revoke_a_power_of_attorney(session: Session, cast: Cast) -> None:
    power = factories.make_power_of_attorney(
        session, organisation=cast.customer, uploaded_by=cast.viewer
    )

    def key(scopes: str) -> Actor:
        made = factories.make_api_key(
            session, organisation=cast.customer, scopes=scopes
        )
        return Actor.for_api_key(made.key)

    assert may_revoke_power(Actor.for_user(cast.admin), power)
    assert may_revoke_power(Actor.for_user(cast.viewer), power)  # uploaded it
    assert not may_revoke_power(Actor.for_user(cast.signer), power)
    assert not may_revoke_power(Actor.for_user(cast.clerk), power)
    assert may_revoke_power(key("sign"), power)
    assert not may_revoke_power(key("read"), power)


def test_visible_powers_by_role(session: Session, cast: Cast) -> None:
    power = factories.make_power_of_attorney(
        session, organisation=cast.customer, uploaded_by=cast.viewer
    )

    def sees(who: str) -> bool:
        condition = visible_powers(Actor.for_user(getattr(cast, who)))
        found = session.scalars(select(PowerOfAttorney.id).where(condition)).all()
        return power.id in found

    assert sees("viewer")  # the uploader
    assert sees("signer")  # manages a contract of the principal
    assert sees("clerk")
    assert not sees("stranger")


# -- appeals, payments, ППП ------------------------------------------------------------------


def test_appeal_filing_by_role(session: Session, cast: Cast) -> None:
    contract_id = cast.contract.id
    with pytest.raises(PermissionDeniedError, match="Обращения подают клиенты"):
        require_appeal_filing(
            session, Actor.for_user(cast.clerk), contract_id, significant=False
        )
    with pytest.raises(NotFoundError):
        require_appeal_filing(
            session, Actor.for_user(cast.stranger), contract_id, significant=False
        )
    viewer = Actor.for_user(cast.viewer)
    assert require_appeal_filing(session, viewer, contract_id, significant=False)
    with pytest.raises(PermissionDeniedError, match="право подписи"):
        require_appeal_filing(session, viewer, contract_id, significant=True)
    signer = Actor.for_user(cast.signer)
    assert require_appeal_filing(session, signer, contract_id, significant=True).sign


def test_online_payment_by_role(session: Session, cast: Cast) -> None:
    contract_id = cast.contract.id
    assert require_pay_online(session, Actor.for_user(cast.viewer), contract_id).view
    with pytest.raises(PermissionDeniedError):
        require_pay_online(session, Actor.for_user(cast.clerk), contract_id)
    with pytest.raises(NotFoundError):
        require_pay_online(session, Actor.for_user(cast.stranger), contract_id)


def test_planned_consumption_is_filed_with_the_right_to_submit_readings(
    session: Session, cast: Cast
) -> None:
    contract_id = cast.contract.id
    for who in ("viewer", "signer", "clerk"):
        with pytest.raises(PermissionDeniedError):
            require_planned_filing(
                session, Actor.for_user(getattr(cast, who)), contract_id
            )
    reader = factories.make_user(session)
    factories.grant(
        session, user=reader, contract=cast.contract, can_submit_readings=True
    )
    rights = require_planned_filing(session, Actor.for_user(reader), contract_id)
    assert rights.submit_readings
