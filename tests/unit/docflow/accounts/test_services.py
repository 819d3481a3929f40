"""Accounts without HTTP: registration rules, sign-in, one-time tokens and the
session version that ends every session at once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from docflow.accounts.models import TokenPurpose
from docflow.accounts.services import (
    authenticate,
    check_password_rule,
    consume_token,
    create_token,
    end_sessions,
    load_user,
    peek_token,
    register_user,
    revoke_tokens,
)
from docflow.errors import ValidationError
from tests import factories


def test_register_user_normalises_the_email_and_the_names(session: Session) -> None:
    user = register_user(
        session,
        email="  Ivanov@Romashka.Example ",
        password="secret123",
        last_name=" Иванов ",
        first_name="Иван\t",
    )
    assert (user.email, user.last_name, user.first_name) == (
        "ivanov@romashka.example",
        "Иванов",
        "Иван",
    )
    assert not user.is_email_confirmed


def test_register_user_refuses_a_taken_email_in_any_case(session: Session) -> None:
    factories.make_user(session, email="boss@romashka.example")
    with pytest.raises(ValidationError) as refused:
        factories.make_user(session, email="BOSS@romashka.example")
    assert refused.value.code == "email_taken"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"email": "ivanov@romashka"}, "email"),
        ({"email": "иванов ромашка@example.ru"}, "email"),
        ({"password": "short1"}, "password"),
        ({"password": "no digits here"}, "password"),
        ({"last_name": "  "}, "last_name"),
        ({"first_name": ""}, "last_name"),
    ],
)
def test_register_user_names_the_field_at_fault(
    session: Session, values: dict[str, str], field: str
) -> None:
    given = {
        "email": "ivanov@romashka.example",
        "password": "secret123",
        "last_name": "Иванов",
        "first_name": "Иван",
        **values,
    }
    with pytest.raises(ValidationError) as refused:
        register_user(
            session,
            email=given["email"],
            password=given["password"],
            last_name=given["last_name"],
            first_name=given["first_name"],
        )
    assert refused.value.details == {"field": field}


def test_check_password_rule_says_everything_the_password_lacks() -> None:
    with pytest.raises(ValidationError) as refused:
        check_password_rule("abc")
    assert str(refused.value) == (
        "Пароль не подходит: в нём 3 символа, а нужно не меньше 8; нет ни одной цифры."
    )
    check_password_rule("пароль2026")


def test_authenticate_by_email_in_any_case(session: Session) -> None:
    user = factories.make_user(session, email="boss@romashka.example")
    assert (
        authenticate(
            session, email="Boss@Romashka.Example", password=factories.PASSWORD
        )
        is user
    )
    assert authenticate(session, email=user.email, password="wrong-123") is None
    assert authenticate(session, email="nobody@example.ru", password="x") is None


def test_a_token_works_once_and_for_its_purpose_only(session: Session) -> None:
    user = factories.make_user(session)
    raw = create_token(session, purpose=TokenPurpose.RESET_PASSWORD, user=user)
    with pytest.raises(ValidationError) as wrong:
        peek_token(session, raw, TokenPurpose.CONFIRM_EMAIL)
    assert wrong.value.code == "token_invalid"
    assert consume_token(session, raw, TokenPurpose.RESET_PASSWORD).user_id == user.id
    with pytest.raises(ValidationError) as again:
        consume_token(session, raw, TokenPurpose.RESET_PASSWORD)
    assert again.value.code == "token_used"


def test_an_expired_or_revoked_token_is_refused_with_its_reason(
    session: Session,
) -> None:
    user = factories.make_user(session)
    expired = create_token(
        session,
        purpose=TokenPurpose.CONFIRM_EMAIL,
        user=user,
        ttl=dt.timedelta(seconds=-1),
    )
    with pytest.raises(ValidationError) as late:
        peek_token(session, expired, TokenPurpose.CONFIRM_EMAIL)
    assert late.value.code == "token_expired"
    older = create_token(session, purpose=TokenPurpose.RESET_PASSWORD, user=user)
    assert revoke_tokens(session, user=user, purpose=TokenPurpose.RESET_PASSWORD) == 1
    with pytest.raises(ValidationError) as revoked:
        peek_token(session, older, TokenPurpose.RESET_PASSWORD)
    assert revoked.value.code == "token_revoked"


def test_end_sessions_makes_every_earlier_session_id_unknown(
    session: Session,
) -> None:
    user = factories.make_user(session)
    before = user.get_id()
    assert load_user(session, before) is user
    end_sessions(session, user=user)
    assert load_user(session, before) is None
    assert load_user(session, user.get_id()) is user
    assert load_user(session, "not-a-uuid:1") is None
