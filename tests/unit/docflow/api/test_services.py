"""API keys without HTTP: scopes, who may make and revoke a key, finding a key
by what an integration sends."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from docflow.api.services import (
    authenticate,
    find_api_key,
    parse_scopes,
    revoke_api_key,
)
from docflow.errors import NotFoundError, PermissionDeniedError, ValidationError
from tests import factories
from tests.unit.docflow.conftest import Cast


@pytest.mark.parametrize(
    ("raw", "scopes"),
    [
        ("sign", {"read", "sign"}),
        (" Write , READINGS ,", {"read", "write", "readings"}),
        (["read"], {"read"}),
    ],
)
def test_parse_scopes_implies_reading(raw: str | list[str], scopes: set[str]) -> None:
    assert parse_scopes(raw) == scopes


@pytest.mark.parametrize("raw", ["admin", "read,delete", "", " , "])
def test_parse_scopes_refuses_unknown_or_none(raw: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_scopes(raw)
    assert refused.value.details == {"field": "scopes"}


def test_a_contract_administrator_makes_keys_of_its_organisation_only(
    session: Session, cast: Cast
) -> None:
    made = factories.make_api_key(
        session, organisation=cast.customer, user=cast.signer, name="  1С:  ERP "
    )
    assert (made.key.organisation_id, made.key.name) == (cast.customer.id, "1С: ERP")
    assert made.secret.startswith("dfk_" + made.key.prefix + "_")
    for who in ("viewer", "clerk"):
        with pytest.raises(PermissionDeniedError):
            factories.make_api_key(
                session, organisation=cast.customer, user=getattr(cast, who)
            )


def test_only_the_suppliers_administrator_makes_supplier_keys(
    session: Session, cast: Cast
) -> None:
    with pytest.raises(PermissionDeniedError):
        factories.make_api_key(session, organisation=None, user=cast.clerk)
    made = factories.make_api_key(session, organisation=cast.supplier, user=cast.admin)
    assert made.key.organisation_id is None  # the supplier's key


def test_authenticate_by_the_secret_until_revoked(session: Session, cast: Cast) -> None:
    made = factories.make_api_key(session, organisation=cast.customer)
    assert authenticate(session, made.secret) is made.key
    assert authenticate(session, made.secret + "x") is None
    assert authenticate(session, "Bearer " + made.secret) is None
    revoke_api_key(session, user=None, key_id=made.key.id)
    assert authenticate(session, made.secret) is None


def test_find_api_key_by_id_prefix_or_secret(session: Session, cast: Cast) -> None:
    made = factories.make_api_key(session, organisation=cast.customer)
    key = made.key
    for reference in (str(key.id), key.prefix, made.secret, f" {key.prefix} "):
        assert find_api_key(session, reference) is key
    with pytest.raises(NotFoundError):
        find_api_key(session, "dfk_00000000_unknown")


def test_revoking_a_key_of_another_organisation_is_not_found(
    session: Session, cast: Cast
) -> None:
    other = factories.make_api_key(
        session, organisation=factories.make_organisation(session)
    )
    with pytest.raises(NotFoundError):
        revoke_api_key(session, user=cast.signer, key_id=other.key.id)
    assert other.key.revoked_at is None
