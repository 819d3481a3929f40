"""What a hostile tester found in the account pages, each pinned by a test:
open redirects through ``next``, sessions that outlive a logout, reset links
that outlive a newer one, a captcha that could be read and replayed, and a
registration page that told which addresses have accounts."""

from __future__ import annotations

import base64
import datetime as dt
import re
import threading
from typing import Any

import pytest
from altcha import (
    Challenge,
    Payload,
    create_challenge,
    solve_challenge,
    verify_solution,
)
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from docflow.accounts import captcha
from docflow.accounts import services as accounts
from docflow.accounts.models import TokenPurpose, UsedCaptchaChallenge, User
from docflow.accounts.redirects import safe_redirect_target
from docflow.accounts.services import create_token, register_user
from docflow.outbox.models import OutboxMessage
from notifications.render import render
from tests.appfixtures import TEST_SECRET
from tests.functional.conftest import outbox_links, register, solve_captcha

EMAIL = "sidorov@example.ru"
PASSWORD = "secret123"


def _make_user(app: Flask, email: str = EMAIL, password: str = PASSWORD) -> None:
    with app.app_context(), app.extensions["docflow"].sessionmaker() as s:
        register_user(
            s,
            email=email,
            password=password,
            last_name="Сидоров",
            first_name="Пётр",
            confirmed=True,
        )
        s.commit()


def _login(client: FlaskClient, **extra: str) -> object:
    resp = client.post(
        "/account/login", data={"email": EMAIL, "password": PASSWORD, **extra}
    )
    assert resp.status_code == 302
    return resp


def _is_anonymous(client: FlaskClient) -> bool:
    resp = client.get("/account/profile")
    return resp.status_code == 302 and resp.headers["Location"].startswith(
        "/account/login"
    )


def _path(link: str) -> str:
    return link.replace("http://localhost", "")


# -- 1. Open redirect through ``next`` ------------------------------------------

HOSTILE_TARGETS = [
    "/\t/evil.example/phish",
    "/\r\n/evil.example/phish",
    "/\n/evil.example/phish",
    "/\x00/evil.example/phish",
    "/\x0b/evil.example/phish",
    "/ /evil.example/phish",
    "//evil.example/phish",
    "///evil.example/phish",
    "/\\evil.example/phish",
    "\\/evil.example/phish",
    "/\\/evil.example/phish",
    "/a\\b",
    "https://evil.example/phish",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example/phish",
    " /documents/",
    "",
]
SAFE_TARGETS = ["/documents/?page=2", "/contracts/invitation/abc", "/"]


@pytest.mark.parametrize("target", HOSTILE_TARGETS, ids=repr)
def test_safe_redirect_target_refuses_anything_but_a_local_path(target: str) -> None:
    assert safe_redirect_target(target, default="/home") == "/home"
    assert safe_redirect_target(None, default="/home") == "/home"


@pytest.mark.parametrize("target", SAFE_TARGETS)
def test_safe_redirect_target_keeps_a_local_path(target: str) -> None:
    assert safe_redirect_target(target, default="/home") == target


def test_login_with_a_tab_in_next_does_not_redirect_off_site(
    app: Flask, client: FlaskClient
) -> None:
    _make_user(app)
    resp = client.post(
        "/account/login?next=/%09/evil.example/phish",
        data={"email": EMAIL, "password": PASSWORD},
    )
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


@pytest.mark.parametrize("target", HOSTILE_TARGETS[:12], ids=repr)
def test_login_refuses_every_hostile_next(
    app: Flask, client: FlaskClient, target: str
) -> None:
    _make_user(app)
    resp = client.post(
        "/account/login",
        query_string={"next": target},
        data={"email": EMAIL, "password": PASSWORD},
    )
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_login_keeps_a_local_next(app: Flask, client: FlaskClient) -> None:
    _make_user(app)
    resp = client.post(
        "/account/login",
        query_string={"next": "/documents/?page=2"},
        data={"email": EMAIL, "password": PASSWORD},
    )
    assert resp.headers["Location"] == "/documents/?page=2"


@pytest.mark.parametrize(
    "target", ["/\t/evil.example/phish", "/\\/evil.example", "//evil.example"]
)
def test_marking_notifications_read_does_not_redirect_off_site(
    app: Flask, client: FlaskClient, target: str
) -> None:
    _make_user(app)
    _login(client)
    resp = client.post("/notifications/read", data={"next": target})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/notifications"
    ok = client.post("/notifications/read", data={"next": "/documents/"})
    assert ok.headers["Location"] == "/documents/"


# -- 2. Logout and password changes end sessions on the server -------------------


def test_logout_ends_the_session_and_the_remember_cookie_on_the_server(
    app: Flask, client: FlaskClient
) -> None:
    _make_user(app)
    _login(client, remember="y")
    assert client.get("/account/profile").status_code == 200
    session_cookie = client.get_cookie("session")
    remember_cookie = client.get_cookie("remember_token")
    assert session_cookie is not None and remember_cookie is not None
    # Before the logout each saved cookie alone opens the cabinet.
    probe = app.test_client()
    probe.set_cookie("remember_token", remember_cookie.value)
    assert probe.get("/account/profile").status_code == 200

    out = client.post("/account/logout")
    assert out.status_code == 302
    # The browser is told to forget the remember-me cookie as well.
    assert any(
        c.startswith("remember_token=;") and "Expires=Thu, 01 Jan 1970" in c
        for c in out.headers.getlist("Set-Cookie")
    )
    assert client.get_cookie("remember_token") is None

    replay_session = app.test_client()
    replay_session.set_cookie("session", session_cookie.value)
    assert _is_anonymous(replay_session)
    replay_remember = app.test_client()
    replay_remember.set_cookie("remember_token", remember_cookie.value)
    assert _is_anonymous(replay_remember)
    # Logging in again works as before.
    fresh = app.test_client()
    _login(fresh)
    assert fresh.get("/account/profile").status_code == 200


def test_password_change_ends_other_remember_cookies_and_keeps_this_session(
    app: Flask, client: FlaskClient
) -> None:
    _make_user(app)
    other = app.test_client()
    _login(other, remember="y")
    other_remember = other.get_cookie("remember_token")
    assert other_remember is not None
    _login(client, remember="y")
    resp = client.post(
        "/account/password",
        data={
            "pw-old_password": PASSWORD,
            "pw-password": "brandnew1",
            "pw-password2": "brandnew1",
        },
    )
    assert resp.status_code == 302
    assert client.get("/account/profile").status_code == 200
    assert _is_anonymous(other)
    replay = app.test_client()
    replay.set_cookie("remember_token", other_remember.value)
    assert _is_anonymous(replay)
    # This browser asked to be remembered: its new remember cookie works.
    mine = client.get_cookie("remember_token")
    assert mine is not None
    again = app.test_client()
    again.set_cookie("remember_token", mine.value)
    assert again.get("/account/profile").status_code == 200


def test_password_reset_ends_existing_sessions(app: Flask, client: FlaskClient) -> None:
    _make_user(app)
    _login(client, remember="y")
    saved = client.get_cookie("session")
    assert saved is not None
    stranger = app.test_client()
    stranger.post("/account/forgot", data={"email": EMAIL})
    link = _path(outbox_links(app, "account.password_reset")[-1])
    resp = stranger.post(
        link, data={"password": "newpass123", "password2": "newpass123"}
    )
    assert resp.status_code == 302
    assert _is_anonymous(client)
    replay = app.test_client()
    replay.set_cookie("session", saved.value)
    assert _is_anonymous(replay)


# -- 3. Password reset links ------------------------------------------------------


def test_a_new_reset_request_revokes_the_earlier_link(
    app: Flask, client: FlaskClient
) -> None:
    _make_user(app)
    client.post("/account/forgot", data={"email": EMAIL})
    client.post("/account/forgot", data={"email": EMAIL})
    first, second = (_path(x) for x in outbox_links(app, "account.password_reset"))
    old = client.get(first)
    assert old.status_code == 400
    assert "Ссылка больше не действует" in old.get_data(as_text=True)
    refused = client.post(
        first, data={"password": "hacked123", "password2": "hacked123"}
    )
    assert refused.status_code == 400
    ok = client.post(second, data={"password": "newpass123", "password2": "newpass123"})
    assert ok.status_code == 302
    _login_with(client, "newpass123")


def _login_with(client: FlaskClient, password: str) -> None:
    resp = client.post("/account/login", data={"email": EMAIL, "password": password})
    assert resp.status_code == 302


def test_using_a_reset_link_revokes_every_other_outstanding_link(
    app: Flask, client: FlaskClient
) -> None:
    _make_user(app)
    # Two live links at once (issued before this rule, or by a race).
    with app.app_context(), app.extensions["docflow"].sessionmaker() as s:
        user = s.scalar(select(User).where(User.email == EMAIL))
        raws = [
            create_token(s, purpose=TokenPurpose.RESET_PASSWORD, user=user)
            for _ in range(2)
        ]
        s.commit()
    used = client.post(
        f"/account/reset/{raws[0]}",
        data={"password": "newpass123", "password2": "newpass123"},
    )
    assert used.status_code == 302
    other = client.get(f"/account/reset/{raws[1]}")
    assert other.status_code == 400
    assert "Ссылка больше не действует" in other.get_data(as_text=True)


def test_a_password_change_revokes_outstanding_reset_links(
    app: Flask, client: FlaskClient
) -> None:
    _make_user(app)
    client.post("/account/forgot", data={"email": EMAIL})
    link = _path(outbox_links(app, "account.password_reset")[-1])
    _login(client)
    changed = client.post(
        "/account/password",
        data={
            "pw-old_password": PASSWORD,
            "pw-password": "brandnew1",
            "pw-password2": "brandnew1",
        },
    )
    assert changed.status_code == 302
    client.post("/account/logout")
    stale = client.post(link, data={"password": "hacked123", "password2": "hacked123"})
    assert stale.status_code == 400
    _login_with(client, "brandnew1")


# -- 4. Captcha: proof of work, signed, expiring, single use ----------------------


def _registration(email: str, payload: str | None) -> dict[str, str]:
    data = {
        "last_name": "Сидоров",
        "first_name": "Пётр",
        "email": email,
        "password": PASSWORD,
        "password2": PASSWORD,
    }
    if payload is not None:
        data["altcha"] = payload
    return data


def _user_count(app: Flask) -> int:
    with app.app_context(), app.extensions["docflow"].sessionmaker() as s:
        return int(s.scalar(select(func.count()).select_from(User)) or 0)


def test_registration_page_shows_the_local_altcha_widget_and_no_answer(
    app: Flask, client: FlaskClient
) -> None:
    resp = client.get("/account/register")
    page = resp.get_data(as_text=True)
    assert "<altcha-widget" in page
    assert 'challenge="/account/captcha"' in page
    assert "data:image" not in page and "<svg" not in page.split("<main")[1]
    for src in re.findall(r'<script[^>]+src="([^"]+)"', page):
        assert src.startswith("/static/"), src
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe" not in csp
    for path in (
        "/static/vendor/altcha/altcha.min.js",
        "/static/vendor/altcha/altcha.css",
        "/static/vendor/altcha/workers/pbkdf2.js",
        "/static/vendor/altcha/i18n/ru.js",
        "/static/vendor/altcha/LICENSE.txt",
        "/static/js/altcha-setup.js",
    ):
        static = client.get(path)
        assert static.status_code == 200, path
        static.close()


def test_captcha_challenge_is_signed_costly_and_expires_in_ten_minutes(
    app: Flask, client: FlaskClient
) -> None:
    resp = client.get("/account/captcha")
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    body = resp.get_json()
    params = body["parameters"]
    assert params["algorithm"] == "PBKDF2/SHA-256"
    assert params["cost"] >= 5000
    now = dt.datetime.now(dt.UTC).timestamp()
    assert now + 590 <= params["expiresAt"] <= now + 610
    assert re.fullmatch(r"[0-9a-f]{64}", body["signature"])
    # Signed with a key derived from SECRET_KEY, not with SECRET_KEY itself.
    challenge = Challenge.from_dict(body)
    solution = solve_challenge(challenge)
    assert solution is not None
    payload = Payload(challenge, solution)
    assert verify_solution(payload, captcha.hmac_key(TEST_SECRET)).verified
    raw = verify_solution(payload, TEST_SECRET)
    assert not raw.verified and raw.invalid_signature


def test_a_solved_captcha_is_accepted_once(app: Flask, client: FlaskClient) -> None:
    payload = solve_captcha(client)
    first = client.post("/account/register", data=_registration(EMAIL, payload))
    assert "Почти готово" in first.get_data(as_text=True)
    for email in ("second@example.ru", "third@example.ru"):
        again = app.test_client().post(
            "/account/register", data=_registration(email, payload)
        )
        assert again.status_code == 200
        assert "Проверка «Я не робот» не пройдена" in again.get_data(as_text=True)
    assert _user_count(app) == 1


def test_a_failed_registration_still_uses_up_its_captcha(
    app: Flask, client: FlaskClient
) -> None:
    payload = solve_captcha(client)
    weak = _registration(EMAIL, payload) | {"password": "abc", "password2": "abc"}
    assert "не короче 8 символов" in client.post(
        "/account/register", data=weak
    ).get_data(as_text=True)
    retry = client.post("/account/register", data=_registration(EMAIL, payload))
    assert "Проверка «Я не робот» не пройдена" in retry.get_data(as_text=True)
    assert _user_count(app) == 0


def _forged_payloads(client: FlaskClient) -> dict[str, str | None]:
    genuine = Payload.from_base64(solve_captcha(client))
    # A cheaper challenge under the genuine signature.
    cheap = create_challenge("PBKDF2/SHA-256", 1, hmac_secret="whatever")
    cheap.signature = genuine.challenge.signature
    cheap.parameters.expires_at = genuine.challenge.parameters.expires_at
    cheap_solution = solve_challenge(cheap)
    assert cheap_solution is not None
    # Signed with the raw SECRET_KEY or another key and solved honestly.
    raw_key = create_challenge(
        "PBKDF2/SHA-256",
        5000,
        hmac_secret=TEST_SECRET,
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5),
    )
    raw_solution = solve_challenge(raw_key)
    assert raw_solution is not None
    # The right challenge with a wrong counter.
    wrong = Payload.from_base64(solve_captcha(client))
    wrong.solution.counter += 1
    return {
        "missing": None,
        "empty": "",
        "garbage": "not-base64!",
        "json garbage": base64.b64encode(b'{"challenge": 1}').decode(),
        "huge": "A" * 20000,
        "cheaper challenge": Payload(cheap, cheap_solution).to_base64(),
        "foreign key": Payload(raw_key, raw_solution).to_base64(),
        "wrong counter": wrong.to_base64(),
        "old arithmetic answer": "12",
    }


def test_a_missing_or_forged_captcha_is_refused(
    app: Flask, client: FlaskClient
) -> None:
    for name, payload in _forged_payloads(client).items():
        resp = client.post("/account/register", data=_registration(EMAIL, payload))
        assert resp.status_code == 200, name
        assert "Проверка «Я не робот» не пройдена" in resp.get_data(as_text=True), name
    assert _user_count(app) == 0


def test_an_expired_captcha_is_refused(app: Flask, client: FlaskClient) -> None:
    old = captcha.new_challenge(
        TEST_SECRET, now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11)
    )
    challenge = Challenge.from_dict(old)
    solution = solve_challenge(challenge)
    assert solution is not None
    resp = client.post(
        "/account/register",
        data=_registration(EMAIL, Payload(challenge, solution).to_base64()),
    )
    assert "Проверка «Я не робот» не пройдена" in resp.get_data(as_text=True)
    assert _user_count(app) == 0


def test_used_captchas_are_remembered_until_they_expire_then_pruned(
    app: Flask, client: FlaskClient
) -> None:
    register(client)
    with app.app_context(), app.extensions["docflow"].sessionmaker() as s:
        rows = s.scalars(select(UsedCaptchaChallenge)).all()
        assert len(rows) == 1
        expires = rows[0].expires_at.replace(tzinfo=dt.UTC)
        assert expires > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=9)
        s.execute(
            update(UsedCaptchaChallenge).values(
                expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
        s.commit()
    register(client, email="second@example.ru")
    with app.app_context(), app.extensions["docflow"].sessionmaker() as s:
        assert len(s.scalars(select(UsedCaptchaChallenge)).all()) == 1


# -- 5. Registration does not reveal accounts -------------------------------------


def _normalized(page: str) -> str:
    page = re.sub(r'(name="csrf-token" content=)"[^"]*"', r'\1""', page)
    return re.sub(r'(name="csrf_token" type="hidden" value=)"[^"]*"', r'\1""', page)


def _cookie_names(resp: object) -> list[str]:
    headers = resp.headers.getlist("Set-Cookie")  # type: ignore[attr-defined]
    return sorted(h.split("=", 1)[0] for h in headers)


def test_registering_a_known_email_answers_exactly_like_a_new_one(
    app: Flask, client: FlaskClient
) -> None:
    new = register(client)
    with app.app_context(), app.extensions["docflow"].sessionmaker() as s:
        before = s.scalar(select(User.password_hash).where(User.email == EMAIL))
    known = register(
        app.test_client(),
        email="SIDOROV@example.ru",
        last_name="Иванов",
        password="another123",
        password2="another123",
    )
    assert known.status_code == new.status_code == 200
    assert _normalized(known.get_data(as_text=True)) == _normalized(
        new.get_data(as_text=True)
    )
    assert "уже зарегистрирован" not in known.get_data(as_text=True)
    assert _cookie_names(known) == _cookie_names(new)
    with app.app_context(), app.extensions["docflow"].sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 1
        after = s.scalar(select(User.password_hash).where(User.email == EMAIL))
        assert after == before
        notices = s.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == "account.registration_attempt"
            )
        ).all()
    assert len(notices) == 1
    assert notices[0].recipient == EMAIL
    assert notices[0].context["url"] == "http://localhost/account/forgot"
    # Only the one confirmation link, for the first registration.
    assert len(outbox_links(app, "account.confirm_email")) == 1


def test_registration_attempt_notice_renders_in_russian() -> None:
    rendered = render(
        "account.registration_attempt", {"url": "https://lk.example.ru/account/forgot"}
    )
    assert "зарегистрироваться" in rendered.text
    assert "https://lk.example.ru/account/forgot" in rendered.text
    assert "https://lk.example.ru/account/forgot" in rendered.html
    assert rendered.subject


def test_two_registrations_of_one_new_address_at_once_give_one_account(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both requests pass the «address free» check; the second finds it taken
    at commit and is answered as for a known address — the same page, no 500."""

    if not app.extensions["docflow"].settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writing transaction at a time: no race")
    both_checked = threading.Barrier(2)
    original = accounts.register_user

    def register_after_both_checked(*args: Any, **kwargs: Any) -> Any:
        both_checked.wait(timeout=10)
        return original(*args, **kwargs)

    monkeypatch.setattr(accounts, "register_user", register_after_both_checked)
    clients = [app.test_client(), app.test_client()]
    payloads = [solve_captcha(c) for c in clients]
    answers: list[Any] = [None, None]

    def post(n: int) -> None:
        answers[n] = clients[n].post(
            "/account/register",
            data={
                "last_name": "Сидоров", "first_name": "Пётр", "middle_name": "",
                "email": "twice@example.ru", "password": "secret123",
                "password2": "secret123", "altcha": payloads[n],
            },
        )  # fmt: skip

    threads = [threading.Thread(target=post, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert [a.status_code for a in answers] == [200, 200]
    assert all("twice@example.ru" in a.get_data(as_text=True) for a in answers)
    with app.app_context():
        s = app.extensions["docflow"].sessionmaker()
        users = s.scalars(select(User).where(User.email == "twice@example.ru")).all()
        s.close()
    assert len(users) == 1
