"""Powers of attorney on file and the supplier's map of powers to documents."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docflow.contracts.models import Organisation
from docflow.db import Base, created_at, uuid_pk


class PowerStatus(enum.StrEnum):
    ACTIVE = "active"
    #: Revoked here: by the user who uploaded it or by the supplier's
    #: administrator (the principal revokes it in the ФНС registry as well).
    REVOKED = "revoked"


class PowerOfAttorney(Base):
    """An МЧД as uploaded: the XML and its detached signature (the source of
    truth, kept verbatim), the fields read from it and the verdict on its
    signature. Never edited; only its status changes."""

    __tablename__ = "powers_of_attorney"
    __table_args__ = (
        UniqueConstraint("organisation_id", "number"),
        Index("ix_powers_of_attorney_number", "number"),
    )

    id: Mapped[uuid_pk]
    #: The principal, an organisation of the cabinet.
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    #: ``НомДовер``, the GUID the registry knows it by (lower case).
    number: Mapped[str] = mapped_column(String(36))
    internal_number: Mapped[str | None] = mapped_column(String(255))
    format_version: Mapped[str] = mapped_column(String(10))
    issued_on: Mapped[dt.date]
    valid_until: Mapped[dt.date]
    #: ``{name, inn, ogrn, kpp}`` as written in the МЧД.
    principal: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: ``[{last_name, first_name, patronymic, snils, inn}]``, СНИЛС as digits.
    representatives: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: ``|s:<СНИЛС>|i:<ИНН ФЛ>|…`` of every representative: to find a
    #: holder's МЧД with one LIKE, without reading every row's JSON.
    holder_keys: Mapped[str] = mapped_column(String(2000), default="|")
    #: ``[{code, text}]``: coded powers of the ФНС classifier and free text.
    powers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: ``ПрПередов``: 1 — without re-delegation, 2 — once, 3 — onward.
    redelegation: Mapped[str] = mapped_column(String(1))
    #: The head who signed it, as the МЧД names them (``ЛицоБезДов``).
    head: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    xml_sha256: Mapped[str] = mapped_column(String(64))
    #: The certificate that signed the МЧД.
    signer_name: Mapped[str] = mapped_column(String(300))
    signer_serial: Mapped[str] = mapped_column(String(80))
    signer_inn_le: Mapped[str | None] = mapped_column(String(12))
    signer_qualified: Mapped[bool] = mapped_column(default=False)
    #: The verification report of the МЧД's signature at upload.
    signature_report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[PowerStatus] = mapped_column(default=PowerStatus.ACTIVE)
    revoked_at: Mapped[dt.datetime | None]
    revoked_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    revocation_reason: Mapped[str | None] = mapped_column(String(500))
    #: The last status check: ``registry`` (the ФНС registry answered) or
    #: ``local`` (no registry connected: the cabinet's own status counted).
    status_source: Mapped[str] = mapped_column(String(20), default="local")
    status_checked_at: Mapped[dt.datetime | None]
    #: The personal certificate it was uploaded with, when it was.
    certificate_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="SET NULL")
    )
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]

    organisation: Mapped[Organisation] = relationship()

    @property
    def coded_powers(self) -> list[str]:
        return [p["code"] for p in self.powers if p.get("code")]

    @property
    def representative_names(self) -> str:
        return ", ".join(
            " ".join(
                x
                for x in (p.get("last_name"), p.get("first_name"), p.get("patronymic"))
                if x
            )
            for p in self.representatives
        )

    @property
    def label(self) -> str:
        """«№ МЧД-2026/17 (4f1c…) от 15.01.2026» — how a stamp names it."""
        internal = f"{self.internal_number} " if self.internal_number else ""
        return f"№ {internal}({self.number}) от {self.issued_on:%d.%m.%Y}"


class PowerRule(Base):
    """A power of the ФНС classifier that allows signing a type of document
    («которые полномочия дают право подписать акт ПРОМ10»). Set by the
    supplier's administrator; a type without rows uses the defaults in
    :data:`docflow.powers.services.DEFAULT_POWER_CODES`."""

    __tablename__ = "power_rules"
    __table_args__ = (UniqueConstraint("doc_type", "code"),)

    id: Mapped[uuid_pk]
    doc_type: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(50))
    title: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[created_at]
