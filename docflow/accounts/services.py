"""Accounts: registration, confirmation, login, recovery, profile.

Flask-free: the routes pass the session and the acting user; the route owns the
transaction. Tokens sent to users are random, single use, and stored hashed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from blinker import Namespace
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from docflow.accounts.models import AccountToken, Role, TokenPurpose, User
from docflow.db import utcnow
from docflow.errors import NotFoundError, ValidationError
from docflow.runtime import Runtime

_signals = Namespace()

#: An account e-mail is due (confirmation, recovery, a registration attempt):
#: sent with the session as sender and ``kind``, ``user``, ``email`` and
#: ``context``. The outbox receives it (``create_app`` connects
#: :func:`docflow.outbox.services.send_account_message`) and writes the message
#: in the caller's transaction: accounts sit below the outbox and do not
#: import it.
account_message = _signals.signal("account-message")

TOKEN_TTL = dt.timedelta(hours=72)
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so that a login for a missing
# account costs as much as one for an existing account (no timing oracle).
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

PASSWORD_RULE = "Пароль должен быть не короче 8 символов и содержать буквы и цифры."
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _send_account_message(
    session: Session,
    *,
    kind: str,
    user: User | None,
    email: str,
    context: dict[str, Any],
) -> None:
    """Hand an account e-mail to the outbox (see :data:`account_message`)."""
    if not account_message.receivers:
        # A silently dropped confirmation or recovery link would be a bug.
        raise RuntimeError("no outbox receives account e-mails: create_app connects it")
    account_message.send(session, kind=kind, user=user, email=email, context=context)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_password_rule(password: str) -> None:
    """:raises ValidationError: what this password lacks — not the rule again,
    which the form shows as the field's hint."""
    problems = []
    if len(password) < 8:
        problems.append(f"в нём {_plural_chars(len(password))}, а нужно не меньше 8")
    if not any(c.isalpha() for c in password):
        problems.append("нет ни одной буквы")
    if not any(c.isdigit() for c in password):
        problems.append("нет ни одной цифры")
    if problems:
        raise ValidationError(
            "Пароль не подходит: " + "; ".join(problems) + ".",
            details={"field": "password"},
        )


def _plural_chars(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} символ"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return f"{n} символа"
    return f"{n} символов"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def load_user(session: Session, user_id: str) -> User | None:
    """Load a user by the flask-login id ``"<uuid>:<session_version>"``."""
    raw_id, _, version = user_id.partition(":")
    try:
        uid = uuid.UUID(raw_id)
    except ValueError:
        return None
    user = session.get(User, uid)
    if user is None or str(user.session_version) != version:
        return None
    return user


def create_token(
    session: Session,
    *,
    purpose: TokenPurpose,
    user: User | None,
    ttl: dt.timedelta = TOKEN_TTL,
    payload: dict[str, Any] | None = None,
    raw: str | None = None,
) -> str:
    """Store a new single-use token and return its secret (shown or sent once)."""
    raw = raw or secrets.token_urlsafe(32)
    session.add(
        AccountToken(
            user_id=user.id if user else None,
            purpose=purpose,
            token_hash=_hash_token(raw),
            payload=payload or {},
            expires_at=utcnow() + ttl,
        )
    )
    session.flush()
    return raw


def peek_token(session: Session, raw: str, purpose: TokenPurpose) -> AccountToken:
    """The live token for ``raw``, without using it up."""
    token = session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == _hash_token(raw), AccountToken.purpose == purpose
        )
    )
    if token is None:
        raise ValidationError("Ссылка недействительна.", code="token_invalid")
    if token.payload.get("revoked"):
        raise ValidationError(
            "Ссылка больше не действует: была запрошена новая ссылка или пароль уже изменён.",
            code="token_revoked",
        )
    if token.used_at is not None:
        raise ValidationError("Ссылка уже была использована.", code="token_used")
    expires = token.expires_at
    if expires.tzinfo is None:  # SQLite returns naive datetimes
        expires = expires.replace(tzinfo=dt.UTC)
    if expires < utcnow():
        raise ValidationError("Срок действия ссылки истёк.", code="token_expired")
    return token


def consume_token(session: Session, raw: str, purpose: TokenPurpose) -> AccountToken:
    """Use up a token: a second use of the same link is refused.

    The row is locked so that two concurrent clicks cannot both succeed.
    """
    token = peek_token(session, raw, purpose)
    session.refresh(token, with_for_update=True)
    if token.used_at is not None:
        raise ValidationError("Ссылка уже была использована.", code="token_used")
    token.used_at = utcnow()
    session.flush()
    return token


def revoke_tokens(session: Session, *, user: User, purpose: TokenPurpose) -> int:
    """Make every unused ``purpose`` link of ``user`` stop working; the count.

    The rows are kept (marked used and revoked), so that a click on an old link
    says why it no longer works.
    """
    now = utcnow()
    tokens = session.scalars(
        select(AccountToken).where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
    ).all()
    for token in tokens:
        token.used_at = now
        token.payload = {**token.payload, "revoked": True}
    session.flush()
    return len(tokens)


def _check_registration(
    *, email: str, password: str, last_name: str, first_name: str
) -> str:
    """The normalized e-mail, once the form's values pass the rules."""
    email = normalize_email(email)
    if not _EMAIL_RE.match(email):
        raise ValidationError(
            "Укажите корректный адрес электронной почты.", details={"field": "email"}
        )
    check_password_rule(password)
    if not last_name.strip() or not first_name.strip():
        raise ValidationError("Укажите фамилию и имя.", details={"field": "last_name"})
    return email


def register_user(
    session: Session,
    *,
    email: str,
    password: str,
    last_name: str,
    first_name: str,
    middle_name: str = "",
    role: Role = Role.CUSTOMER,
    confirmed: bool = False,
) -> User:
    """Create an account; the caller sends the confirmation link (``send_confirmation``).

    For staff tools and the demo, which may say that an address is taken; the
    public registration page uses :func:`register_customer`, which does not.
    """
    email = _check_registration(
        email=email, password=password, last_name=last_name, first_name=first_name
    )
    if session.scalar(
        select(func.count()).select_from(User).where(User.email == email)
    ):
        raise ValidationError(
            "Пользователь с таким адресом электронной почты уже зарегистрирован. "
            "Войдите или восстановите пароль.",
            code="email_taken",
            details={"field": "email"},
        )
    user = User(
        email=email,
        password_hash=hash_password(password),
        last_name=last_name.strip(),
        first_name=first_name.strip(),
        middle_name=middle_name.strip(),
        role=role,
        email_confirmed_at=utcnow() if confirmed else None,
    )
    session.add(user)
    session.flush()
    return user


def register_customer(
    session: Session,
    *,
    email: str,
    password: str,
    last_name: str,
    first_name: str,
    middle_name: str = "",
    runtime: Runtime,
) -> str:
    """Self-registration that does not reveal which addresses have accounts.

    A new address gets an account and a confirmation link. A known address gets
    no account and no change to the existing one: its owner is told by e-mail
    that someone tried to register with it, with the password-recovery link.
    Either way the caller shows the same «Почти готово» page, and the work
    done (a password hash, one e-mail in the outbox) is the same.

    :returns: the normalized e-mail, for the page.
    :raises ValidationError: when a value breaks the rules (the same for new
        and known addresses).
    """
    email = _check_registration(
        email=email, password=password, last_name=last_name, first_name=first_name
    )
    existing = get_user_by_email(session, email)
    if existing is None:
        user = register_user(
            session,
            email=email,
            password=password,
            last_name=last_name,
            first_name=first_name,
            middle_name=middle_name,
        )
        send_confirmation(session, user=user, runtime=runtime)
        return email
    hash_password(password)  # the same cost as a registration: no timing oracle
    _send_account_message(
        session,
        kind="account.registration_attempt",
        user=existing,
        email=existing.email,
        context={
            "url": f"{runtime.base_url}/account/forgot",
            "user_name": existing.full_name,
        },
    )
    return email


def send_confirmation(session: Session, *, user: User, runtime: Runtime) -> str:
    raw = create_token(session, purpose=TokenPurpose.CONFIRM_EMAIL, user=user)
    link = f"{runtime.base_url}/account/confirm/{raw}"
    _send_account_message(
        session,
        kind="account.confirm_email",
        user=user,
        email=user.email,
        context={"url": link, "user_name": user.full_name, "valid_hours": 72},
    )
    return raw


def confirm_email(session: Session, raw: str) -> User:
    token = consume_token(session, raw, TokenPurpose.CONFIRM_EMAIL)
    user = session.get(User, token.user_id)
    if user is None:
        raise NotFoundError("Учётная запись не найдена.")
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    session.flush()
    return user


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The user for these credentials, or None. Rehashes outdated hashes."""
    user = get_user_by_email(session, email)
    if user is None:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def record_login(session: Session, user: User) -> None:
    user.last_login_at = utcnow()
    session.flush()


def request_password_reset(session: Session, *, email: str, runtime: Runtime) -> None:
    """Send a reset link if the account exists; say nothing either way."""
    user = get_user_by_email(session, email)
    if user is None or not user.is_active:
        return
    # Only the newest link works: an older e-mail left in a mailbox is no key.
    revoke_tokens(session, user=user, purpose=TokenPurpose.RESET_PASSWORD)
    raw = create_token(session, purpose=TokenPurpose.RESET_PASSWORD, user=user)
    _send_account_message(
        session,
        kind="account.password_reset",
        user=user,
        email=user.email,
        context={
            "url": f"{runtime.base_url}/account/reset/{raw}",
            "user_name": user.full_name,
            "valid_hours": 72,
        },
    )


def reset_password(session: Session, *, raw: str, password: str) -> User:
    check_password_rule(password)
    token = consume_token(session, raw, TokenPurpose.RESET_PASSWORD)
    user = session.get(User, token.user_id)
    if user is None:
        raise NotFoundError("Учётная запись не найдена.")
    _set_password(session, user, password)
    # Following a link from the mailbox proves the address.
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    session.flush()
    return user


def _set_password(session: Session, user: User, password: str) -> None:
    # A new password ends every session and every outstanding reset link.
    user.password_hash = hash_password(password)
    user.session_version += 1
    revoke_tokens(session, user=user, purpose=TokenPurpose.RESET_PASSWORD)


def end_sessions(session: Session, *, user: User) -> None:
    """End every session of ``user`` on the server (logout): session cookies and
    remember-me cookies carry the session version, which no longer matches."""
    user.session_version += 1
    session.flush()


def change_password(session: Session, *, user: User, old: str, new: str) -> None:
    try:
        _hasher.verify(user.password_hash, old)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise ValidationError(
            "Текущий пароль указан неверно.", details={"field": "old_password"}
        ) from None
    check_password_rule(new)
    _set_password(session, user, new)
    session.flush()


def update_profile(
    session: Session,
    *,
    user: User,
    last_name: str,
    first_name: str,
    middle_name: str,
    phone: str | None,
    email: str,
    runtime: Runtime,
) -> bool:
    """Save the profile. Returns True when a new e-mail awaits confirmation.

    A changed e-mail takes effect only once the link sent to the new address is
    followed; a changed phone must be confirmed again before SMS go to it.
    """
    if not last_name.strip() or not first_name.strip():
        raise ValidationError("Укажите фамилию и имя.", details={"field": "last_name"})
    user.last_name, user.first_name = last_name.strip(), first_name.strip()
    user.middle_name = middle_name.strip()
    phone = (phone or "").strip() or None
    if phone != user.phone:
        user.phone = phone
        user.phone_confirmed = False
    new_email = normalize_email(email)
    pending = False
    if new_email != user.email:
        if not _EMAIL_RE.match(new_email):
            raise ValidationError(
                "Укажите корректный адрес электронной почты.",
                details={"field": "email"},
            )
        if get_user_by_email(session, new_email) is not None:
            raise ValidationError(
                "Этот адрес электронной почты уже занят.", details={"field": "email"}
            )
        raw = create_token(
            session,
            purpose=TokenPurpose.CHANGE_EMAIL,
            user=user,
            payload={"email": new_email},
        )
        _send_account_message(
            session,
            kind="account.confirm_email",
            user=user,
            email=new_email,
            context={
                "url": f"{runtime.base_url}/account/confirm-email/{raw}",
                "user_name": user.full_name,
                "valid_hours": 72,
            },
        )
        pending = True
    session.flush()
    return pending


def confirm_email_change(session: Session, raw: str) -> User:
    token = consume_token(session, raw, TokenPurpose.CHANGE_EMAIL)
    user = session.get(User, token.user_id)
    if user is None:
        raise NotFoundError("Учётная запись не найдена.")
    new_email = str(token.payload["email"])
    if get_user_by_email(session, new_email) is not None:
        raise ValidationError("Этот адрес электронной почты уже занят.")
    user.email = new_email
    user.email_confirmed_at = utcnow()
    session.flush()
    return user
