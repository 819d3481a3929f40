"""Profile: subscriptions to notifications and the phone number for SMS.

A phone number is confirmed by a 6-digit code sent to it by SMS: the code is
kept only as a hash (an ``AccountToken`` of purpose ``phone_code``), lives ten
minutes and allows five attempts; a new code replaces the previous one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.accounts.models import AccountToken, TokenPurpose, User
from docflow.accounts.services import create_token
from docflow.audit import RequestInfo, record
from docflow.db import utcnow
from docflow.errors import ValidationError
from docflow.outbox.services import send_sms_message, set_subscription, subscription_for
from notifications import EventKind, InvalidPhoneNumberError, normalize_phone

CODE_TTL = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_AFTER = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class SubscriptionRow:
    kind: EventKind
    email: bool
    sms: bool


#: Kinds that only a cabinet module sends: offered once that module declares
#: it sends them (:func:`declare_sent_kinds`, when its blueprint is registered).
#: A list of switches for messages nothing sends would promise a service the
#: cabinet does not have.
MODULE_KINDS = frozenset({EventKind.APPEAL_ANSWERED})
_DECLARED: set[EventKind] = set()


def declare_sent_kinds(*kinds: EventKind) -> None:
    """A cabinet module sends these kinds: their switches are offered."""
    _DECLARED.update(kinds)


def offered_kinds() -> tuple[EventKind, ...]:
    """The kinds a user may switch on this installation."""
    return tuple(
        kind
        for kind in EventKind.subscribable()
        if kind not in MODULE_KINDS or kind in _DECLARED
    )


def subscriptions(session: Session, *, user: User) -> list[SubscriptionRow]:
    """Every kind a user may switch, with the current choice."""
    rows = []
    for kind in offered_kinds():
        email, sms = subscription_for(session, user.id, kind.value)
        rows.append(SubscriptionRow(kind, email, sms and user.phone_confirmed))
    return rows


def mandatory_kinds() -> list[EventKind]:
    return [kind for kind in EventKind if kind.is_mandatory]


def save_subscriptions(
    session: Session,
    *,
    user: User,
    email: set[str],
    sms: set[str],
    request_info: RequestInfo | None = None,
) -> None:
    """Save the switches; SMS stays off while the phone is not confirmed."""
    changed: dict[str, list[bool]] = {}
    for kind in offered_kinds():
        old = subscription_for(session, user.id, kind.value)
        new = (kind.value in email, kind.value in sms and user.phone_confirmed)
        if old != new:
            set_subscription(
                session, user=user, kind=kind.value, email=new[0], sms=new[1]
            )
            changed[kind.value] = list(new)
    if changed:
        record(
            session,
            user=user,
            action="profile.subscriptions_changed",
            object_type="user",
            object_id=user.id,
            details={"changed": changed},
            request_info=request_info,
        )


def _code_hash(nonce: str, code: str) -> str:
    return hashlib.sha256(f"{nonce}:{code}".encode()).hexdigest()


def _live_codes(session: Session, user: User) -> list[AccountToken]:
    return list(
        session.scalars(
            select(AccountToken)
            .where(
                AccountToken.user_id == user.id,
                AccountToken.purpose == TokenPurpose.PHONE_CODE,
                AccountToken.used_at.is_(None),
            )
            .order_by(AccountToken.created_at.desc())
        )
    )


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def set_phone(session: Session, *, user: User, phone: str) -> str:
    """Store a new number (normalised, +7XXXXXXXXXX); it needs confirming again.

    :raises ValidationError: not a Russian mobile number.
    """
    try:
        normalized = normalize_phone(phone or "")
    except InvalidPhoneNumberError:
        raise ValidationError(
            "Укажите номер мобильного телефона, например +7 916 123-45-67.",
            details={"field": "phone"},
        ) from None
    if normalized != user.phone:
        user.phone, user.phone_confirmed = normalized, False
        for token in _live_codes(session, user):
            token.used_at = utcnow()
        session.flush()
    return normalized


def send_phone_code(
    session: Session, *, user: User, now: dt.datetime | None = None
) -> str:
    """Send a new code by SMS to the user's number; returns the code (for logs
    of tests only: callers must not show it).

    :raises ValidationError: no valid number, or a code was sent under a minute ago.
    """
    now = now or utcnow()
    phone = set_phone(session, user=user, phone=user.phone or "")
    if user.phone_confirmed:
        raise ValidationError("Номер телефона уже подтверждён.", code="phone_confirmed")
    for token in _live_codes(session, user):
        if _aware(token.created_at) > now - RESEND_AFTER:
            raise ValidationError(
                "Код уже отправлен. Новый можно запросить через минуту.",
                code="code_recently_sent",
            )
        token.used_at = now  # only the newest code works
    code = f"{secrets.randbelow(1_000_000):06d}"
    nonce = secrets.token_urlsafe(16)
    # The raw value of the token is the nonce and the code: its SHA-256 is what
    # is stored, and the nonce makes it unique among users with the same code.
    create_token(
        session,
        purpose=TokenPurpose.PHONE_CODE,
        user=user,
        ttl=CODE_TTL,
        payload={"nonce": nonce, "phone": phone, "attempts": 0},
        raw=f"{nonce}:{code}",
    )
    send_sms_message(
        session,
        kind="phone.confirm_code",
        user=user,
        phone=phone,
        context={"code": code, "valid_minutes": 10},
    )
    return code


def confirm_phone(
    session: Session,
    *,
    user: User,
    code: str,
    request_info: RequestInfo | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Check the code; five wrong tries or ten minutes use it up.

    A wrong try is counted in the session before this raises: the caller
    commits even then, or the count would be rolled back with the error.

    :raises ValidationError: a wrong, expired or used-up code.
    """
    now = now or utcnow()
    tokens = _live_codes(session, user)
    token = tokens[0] if tokens else None
    if token is None or token.payload.get("phone") != user.phone:
        raise ValidationError(
            "Запросите код подтверждения.", code="no_code", details={"field": "code"}
        )
    session.refresh(token, with_for_update=True)
    if _aware(token.expires_at) < now:
        token.used_at = now
        session.flush()
        raise ValidationError(
            "Срок действия кода истёк. Запросите новый код.",
            code="code_expired",
            details={"field": "code"},
        )
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    expected = token.token_hash
    if not hmac.compare_digest(_code_hash(str(token.payload["nonce"]), code), expected):
        attempts = int(token.payload.get("attempts", 0)) + 1
        token.payload = {**token.payload, "attempts": attempts}
        left = MAX_ATTEMPTS - attempts
        if left <= 0:
            token.used_at = now
            session.flush()
            raise ValidationError(
                "Код введён неверно пять раз. Запросите новый код.",
                code="code_attempts",
                details={"field": "code"},
            )
        session.flush()
        raise ValidationError(
            f"Неверный код. Осталось попыток: {left}.",
            code="code_wrong",
            details={"field": "code"},
        )
    token.used_at = now
    user.phone_confirmed = True
    session.flush()
    record(
        session,
        user=user,
        action="profile.phone_confirmed",
        object_type="user",
        object_id=user.id,
        details={"phone": user.phone},
        request_info=request_info,
    )


def has_live_code(session: Session, *, user: User) -> bool:
    """Whether a code was sent to the current number and can still be entered."""
    now = utcnow()
    return any(
        _aware(t.expires_at) > now and t.payload.get("phone") == user.phone
        for t in _live_codes(session, user)
    )
