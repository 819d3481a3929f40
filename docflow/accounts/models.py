"""Users, their one-time tokens (e-mail confirmation, password recovery) and
the captcha challenges already used."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from docflow.db import Base, TimestampMixin, created_at, uuid_pk

if TYPE_CHECKING:

    class UserMixin:
        """Flask-Login's ``UserMixin`` as the checker sees it: Flask-Login ships
        no annotations, and a base of type ``Any`` would let any attribute of a
        ``User`` pass unchecked. These are the members it gives (``User``
        overrides ``is_active`` and ``get_id``)."""

        @property
        def is_active(self) -> bool: ...
        @property
        def is_authenticated(self) -> bool: ...
        @property
        def is_anonymous(self) -> bool: ...
        def get_id(self) -> str: ...

else:
    from flask_login import UserMixin


class Role(enum.StrEnum):
    CUSTOMER = "customer"  # a user of a customer organisation
    CLERK = "clerk"  # the supplier's employee
    ADMIN = "admin"  # the supplier's administrator (trust store, news, users)


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[uuid_pk]
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    phone_confirmed: Mapped[bool] = mapped_column(default=False)
    role: Mapped[Role] = mapped_column(default=Role.CUSTOMER)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    email_confirmed_at: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]
    # Bumped on logout, on a password change and on a password reset: sessions
    # and remember-me cookies made with an older value stop working (it is part
    # of the flask-login id, see get_id and services.load_user).
    session_version: Mapped[int] = mapped_column(default=1)

    @property
    def full_name(self) -> str:
        return " ".join(
            p for p in (self.last_name, self.first_name, self.middle_name) if p
        )

    @property
    def short_name(self) -> str:
        initials = "".join(f"{p[0]}." for p in (self.first_name, self.middle_name) if p)
        return f"{self.last_name} {initials}".strip()

    @property
    def is_active(self) -> bool:  # flask-login
        return self.is_active_account

    @property
    def is_email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.CLERK, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class TokenPurpose(enum.StrEnum):
    CONFIRM_EMAIL = "confirm_email"
    RESET_PASSWORD = "reset_password"
    CHANGE_EMAIL = "change_email"
    INVITATION = "invitation"
    PHONE_CODE = "phone_code"


class AccountToken(Base):
    """A single-use secret sent to a user. Only its SHA-256 is stored."""

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_user_purpose", "user_id", "purpose"),)

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    purpose: Mapped[TokenPurpose]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class UsedCaptchaChallenge(Base):
    """A solved «Я не робот» challenge that has been spent.

    A challenge is signed and expires by itself, so only its reuse needs state:
    the signature's SHA-256 is kept until the challenge expires, then pruned.
    """

    __tablename__ = "used_captcha_challenges"

    id: Mapped[uuid_pk]
    signature_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    created_at: Mapped[created_at]
