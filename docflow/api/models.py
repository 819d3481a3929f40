"""API keys of integrations (their webhook endpoints are the outbox's:
:class:`docflow.outbox.models.Webhook`)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docflow.contracts.models import Organisation
from docflow.db import Base, created_at, uuid_pk


class ApiKey(Base):
    """A bearer key of an integration: a customer organisation's (its ERP) or,
    with ``organisation_id`` empty, the supplier's own (its billing system).

    Only the SHA-256 of the key is kept: the key is 256 random bits, so a
    plain hash is as good as a password hash here and costs nothing per
    request. ``prefix`` is the visible part (``dfk_<prefix>_…``) that lets a
    person tell keys apart in lists and logs.
    """

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_organisation_id", "organisation_id"),)

    id: Mapped[uuid_pk]
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(100))  # "read,sign,write"
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    organisation: Mapped[Organisation | None] = relationship()

    @property
    def is_supplier(self) -> bool:
        return self.organisation_id is None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(s for s in self.scopes.split(",") if s)

    @property
    def display(self) -> str:
        """How the key is shown: ``dfk_ab12cd34_…``."""
        return f"dfk_{self.prefix}_…"
