"""«Подписка на оповещения»: e-mail and SMS switches per event kind, and the
phone confirmation by a code sent by SMS."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from docflow.accounts.models import AccountToken, TokenPurpose, User
from docflow.outbox.models import Channel, OutboxMessage, Subscription
from docflow.profile.services import offered_kinds
from notifications import EventKind
from tests.functional.contract_world import audit_actions, login, make_user, session


def _sms_codes(app: Flask) -> list[OutboxMessage]:
    with session(app) as s:
        return list(
            s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "phone.confirm_code")
                .order_by(OutboxMessage.created_at)
            )
        )


def _user(app: Flask, email: str) -> User:
    with session(app) as s:
        user = s.scalar(select(User).where(User.email == email))
        assert user is not None
        return user


def test_switches_are_saved_and_sms_stays_off_until_the_phone_is_confirmed(
    app: Flask, client: FlaskClient
) -> None:
    make_user(app, "boss@romashka.example")
    login(client, "boss@romashka.example")
    page = client.get("/profile/subscriptions").get_data(as_text=True)
    for kind in offered_kinds():
        assert kind.label in page
    # The appeals module sends answers to appeals: its switch is offered.
    assert EventKind.APPEAL_ANSWERED.label in page
    assert page.count('disabled data-testid="sms-switch"') == len(offered_kinds())
    assert "SMS станут доступны после подтверждения" in page
    # Document to sign: e-mail off; SMS asked for but refused without a phone.
    form = {
        f"email:{k.value}": "on"
        for k in offered_kinds()
        if k != EventKind.DOCUMENT_TO_SIGN
    }
    form["sms:document.to_sign"] = "on"
    resp = client.post("/profile/subscriptions", data=form, follow_redirects=True)
    assert "сначала подтвердите номер телефона" in resp.get_data(as_text=True)
    with session(app) as s:
        sub = s.scalar(
            select(Subscription).where(Subscription.kind == "document.to_sign")
        )
        assert sub is not None and (sub.email, sub.sms) == (False, False)
    assert "profile.subscriptions_changed" in [a for a, _ in audit_actions(app)]

    # Confirm the phone with the code from the SMS (read from the outbox row).
    resp = client.post("/profile/phone", data={"phone": "8 (916) 123-45-67"})
    assert resp.status_code == 302
    codes = _sms_codes(app)
    assert len(codes) == 1 and codes[0].channel == Channel.SMS
    assert codes[0].recipient == "+79161234567"
    code = str(codes[0].context["code"])
    assert len(code) == 6 and code.isdigit()
    with session(app) as s:
        token = s.scalar(
            select(AccountToken).where(AccountToken.purpose == TokenPurpose.PHONE_CODE)
        )
        assert token is not None and code not in token.token_hash + str(token.payload)
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    resp = client.post("/profile/phone/confirm", data={"code": wrong})
    assert resp.status_code == 422 and "Осталось попыток: 4" in resp.get_data(
        as_text=True
    )
    resp = client.post("/profile/phone/confirm", data={"code": code})
    assert resp.status_code == 302
    assert _user(app, "boss@romashka.example").phone_confirmed
    page = client.get("/profile/subscriptions").get_data(as_text=True)
    assert 'disabled data-testid="sms-switch"' not in page and "подтверждён" in page
    form["sms:document.to_sign"] = "on"
    client.post("/profile/subscriptions", data=form)
    with session(app) as s:
        sub = s.scalar(
            select(Subscription).where(Subscription.kind == "document.to_sign")
        )
        assert sub is not None and (sub.email, sub.sms) == (False, True)
    assert "profile.phone_confirmed" in [a for a, _ in audit_actions(app)]


def test_phone_code_allows_five_attempts_and_ten_minutes(
    app: Flask, client: FlaskClient
) -> None:
    make_user(app, "boss@romashka.example")
    login(client, "boss@romashka.example")
    bad = client.post("/profile/phone", data={"phone": "+7 495 600-10-20"})
    assert bad.status_code == 422 and "мобильного телефона" in bad.get_data(
        as_text=True
    )
    client.post("/profile/phone", data={"phone": "+7 916 123-45-67"})
    code = str(_sms_codes(app)[-1].context["code"])
    wrong = "000000" if code != "000000" else "111111"
    answers = [
        client.post("/profile/phone/confirm", data={"code": wrong}).get_data(
            as_text=True
        )
        for _ in range(5)
    ]
    assert "Осталось попыток: 1" in answers[3]
    assert "пять раз" in answers[4]
    # The right code no longer helps: that code is used up.
    resp = client.post("/profile/phone/confirm", data={"code": code})
    assert resp.status_code == 422 and "Запросите код" in resp.get_data(as_text=True)
    assert not _user(app, "boss@romashka.example").phone_confirmed
    # A new code may be asked for; another one only after a minute.
    assert (
        client.post("/profile/phone", data={"phone": "+79161234567"}).status_code == 302
    )
    too_soon = client.post("/profile/phone", data={"phone": "+79161234567"})
    assert too_soon.status_code == 422 and "через минуту" in too_soon.get_data(
        as_text=True
    )
    assert len(_sms_codes(app)) == 2
    code = str(_sms_codes(app)[-1].context["code"])
    with session(app) as s:
        s.execute(
            update(AccountToken)
            .where(AccountToken.used_at.is_(None))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
        s.commit()
    resp = client.post("/profile/phone/confirm", data={"code": code})
    assert resp.status_code == 422 and "истёк" in resp.get_data(as_text=True)
    assert not _user(app, "boss@romashka.example").phone_confirmed
