"""Account flows through the web pages, on PostgreSQL and on SQLite."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from docflow.accounts.models import AccountToken, User
from tests.functional.conftest import outbox_links, register, solve_captcha


def _user(app: Flask, email: str) -> User | None:
    with app.app_context():
        with app.extensions["docflow"].sessionmaker() as s:
            return s.scalar(select(User).where(User.email == email))


def _login(client: FlaskClient, email: str, password: str, **extra: str) -> object:
    return client.post(
        "/account/login", data={"email": email, "password": password, **extra}
    )


def _registered_and_confirmed(
    app: Flask, client: FlaskClient, email: str = "sidorov@example.ru"
) -> None:
    assert register(client, email=email).status_code == 200
    link = outbox_links(app, "account.confirm_email")[-1]
    assert client.get(link.replace("http://localhost", "")).status_code == 302


def test_registration_stores_argon2_hash_and_sends_a_confirmation_link(
    app: Flask, client: FlaskClient
) -> None:
    resp = register(client)
    assert resp.status_code == 200
    assert "Почти готово" in resp.get_data(as_text=True)
    user = _user(app, "sidorov@example.ru")
    assert user is not None
    assert user.password_hash.startswith("$argon2")
    assert user.email_confirmed_at is None
    links = outbox_links(app, "account.confirm_email")
    assert len(links) == 1 and "/account/confirm/" in links[0]


def test_unconfirmed_account_cannot_log_in_until_the_link_is_followed(
    app: Flask, client: FlaskClient
) -> None:
    register(client)
    resp = _login(client, "sidorov@example.ru", "secret123")
    assert resp.status_code == 200
    assert "ещё не подтверждён" in resp.get_data(as_text=True)
    link = outbox_links(app, "account.confirm_email")[-1].replace(
        "http://localhost", ""
    )
    assert client.get(link).status_code == 302
    # The link is single use.
    again = client.get(link)
    assert again.status_code == 400
    assert "уже была использована" in again.get_data(as_text=True)
    resp = _login(client, "SIDOROV@example.ru", "secret123")
    assert resp.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Добрый день, Пётр" in page


def test_confirmation_link_expires_after_72_hours(
    app: Flask, client: FlaskClient
) -> None:
    register(client)
    with app.app_context(), app.extensions["docflow"].sessionmaker() as s:
        s.execute(
            update(AccountToken).values(
                expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
        s.commit()
    link = outbox_links(app, "account.confirm_email")[-1].replace(
        "http://localhost", ""
    )
    resp = client.get(link)
    assert resp.status_code == 400
    assert "Срок действия ссылки истёк" in resp.get_data(as_text=True)


def test_registration_refuses_weak_password_and_wrong_captcha_hides_known_email(
    app: Flask, client: FlaskClient
) -> None:
    weak = register(client, password="abcdefgh", password2="abcdefgh")
    assert "не короче 8 символов" in weak.get_data(as_text=True)
    mismatch = register(client, password="secret123", password2="secret124")
    assert "Пароли не совпадают" in mismatch.get_data(as_text=True)
    solve_captcha(client)
    wrong = client.post(
        "/account/register",
        data={
            "last_name": "А",
            "first_name": "Б",
            "email": "x@example.ru",
            "password": "secret123",
            "password2": "secret123",
            "altcha": "999",
        },
    )
    assert "Проверка «Я не робот» не пройдена" in wrong.get_data(as_text=True)
    assert _user(app, "x@example.ru") is None
    register(client)
    # A known address is not revealed: the same page as for a new one, and its
    # owner hears of the attempt by e-mail (test_accounts_security has the rest).
    dup = register(client)
    assert dup.status_code == 200
    assert "Почти готово" in dup.get_data(as_text=True)
    assert "уже зарегистрирован" not in dup.get_data(as_text=True)
    assert outbox_links(app, "account.registration_attempt") == [
        "http://localhost/account/forgot"
    ]


def test_wrong_password_is_refused_without_saying_which_field(
    app: Flask, client: FlaskClient
) -> None:
    _registered_and_confirmed(app, client)
    for email in ("sidorov@example.ru", "nobody@example.ru"):
        page = _login(client, email, "wrong-pass1").get_data(as_text=True)  # type: ignore[attr-defined]
        assert "Неверный адрес электронной почты или пароль" in page


def test_login_is_rate_limited_per_account(app: Flask, client: FlaskClient) -> None:
    _registered_and_confirmed(app, client)
    codes = [
        _login(client, "sidorov@example.ru", "wrong-pass1").status_code  # type: ignore[attr-defined]
        for _ in range(6)
    ]
    assert codes[:5] == [200] * 5
    assert codes[5] == 429
    # Even the right password waits now: the account is being guessed at.
    assert _login(client, "sidorov@example.ru", "secret123").status_code == 429  # type: ignore[attr-defined]


def test_password_recovery_does_not_reveal_accounts_and_link_is_single_use(
    app: Flask, client: FlaskClient
) -> None:
    _registered_and_confirmed(app, client)
    known = client.post(
        "/account/forgot", data={"email": "sidorov@example.ru"}, follow_redirects=True
    ).get_data(as_text=True)
    unknown = client.post(
        "/account/forgot", data={"email": "ghost@example.ru"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Если учётная запись с этим адресом существует" in known
    assert "Если учётная запись с этим адресом существует" in unknown
    links = outbox_links(app, "account.password_reset")
    assert len(links) == 1
    path = links[0].replace("http://localhost", "")
    mismatch = client.post(
        path, data={"password": "newpass123", "password2": "other123"}
    )
    assert "Пароли не совпадают" in mismatch.get_data(as_text=True)
    assert (
        client.post(
            path, data={"password": "newpass123", "password2": "newpass123"}
        ).status_code
        == 302
    )
    assert client.get(path).status_code == 400
    assert _login(client, "sidorov@example.ru", "secret123").status_code == 200  # type: ignore[attr-defined]
    assert _login(client, "sidorov@example.ru", "newpass123").status_code == 302  # type: ignore[attr-defined]


def test_profile_edit_and_email_change_needs_confirmation(
    app: Flask, client: FlaskClient
) -> None:
    _registered_and_confirmed(app, client)
    _login(client, "sidorov@example.ru", "secret123")
    resp = client.post(
        "/account/profile",
        data={
            "last_name": "Сидоров",
            "first_name": "Пётр",
            "middle_name": "Ильич",
            "phone": "+7 916 000-00-00",
            "email": "new@example.ru",
        },
    )
    assert resp.status_code == 302
    user = _user(app, "sidorov@example.ru")
    assert user is not None and user.phone == "+7 916 000-00-00"
    assert _user(app, "new@example.ru") is None
    link = [
        x for x in outbox_links(app, "account.confirm_email") if "confirm-email" in x
    ][-1]
    assert client.get(link.replace("http://localhost", "")).status_code == 302
    assert _user(app, "new@example.ru") is not None


def test_password_change_asks_for_the_old_password_and_ends_other_sessions(
    app: Flask, client: FlaskClient
) -> None:
    _registered_and_confirmed(app, client)
    other = app.test_client()
    _login(other, "sidorov@example.ru", "secret123")
    _login(client, "sidorov@example.ru", "secret123")
    bad = client.post(
        "/account/password",
        data={
            "pw-old_password": "wrong-one1",
            "pw-password": "brandnew1",
            "pw-password2": "brandnew1",
        },
    )
    assert bad.status_code == 422
    assert "Текущий пароль указан неверно" in bad.get_data(as_text=True)
    ok = client.post(
        "/account/password",
        data={
            "pw-old_password": "secret123",
            "pw-password": "brandnew1",
            "pw-password2": "brandnew1",
        },
    )
    assert ok.status_code == 302
    assert client.get("/account/profile").status_code == 200
    # The other browser's session was made with the old password: it is over.
    assert other.get("/account/profile").status_code == 302


def test_logout_ends_the_session(app: Flask, client: FlaskClient) -> None:
    _registered_and_confirmed(app, client)
    _login(client, "sidorov@example.ru", "secret123")
    assert client.get("/account/profile").status_code == 200
    assert client.post("/account/logout").status_code == 302
    assert client.get("/account/profile").status_code == 302


def test_session_cookie_is_httponly_and_samesite(
    app: Flask, client: FlaskClient
) -> None:
    _registered_and_confirmed(app, client)
    resp = _login(client, "sidorov@example.ru", "secret123", remember="y")
    cookies = resp.headers.getlist("Set-Cookie")  # type: ignore[attr-defined]
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    remember = next(c for c in cookies if c.startswith("remember_token="))
    assert "HttpOnly" in remember


def test_open_redirect_after_login_is_refused(app: Flask, client: FlaskClient) -> None:
    _registered_and_confirmed(app, client)
    resp = client.post(
        "/account/login?next=//evil.example/x",
        data={"email": "sidorov@example.ru", "password": "secret123"},
    )
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"
