"""Registered signing certificates and the trust store's anchors."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docflow.contracts.models import Organisation
from docflow.db import Base, created_at, uuid_pk


class CertificateStatus(enum.StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"  # the registration was revoked by its user (or an admin)


class Certificate(Base):
    """A certificate a user registered to sign for an organisation.

    The parsed fields are kept for search and display; the DER is the source
    of truth and is re-validated at every signature.
    """

    __tablename__ = "certificates"
    __table_args__ = (
        Index("ix_certificates_organisation_id_sha256", "organisation_id", "sha256"),
        Index("ix_certificates_user_id", "user_id"),
    )

    id: Mapped[uuid_pk]
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    der: Mapped[bytes] = mapped_column(LargeBinary)
    sha1: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    serial_hex: Mapped[str] = mapped_column(String(80))
    owner: Mapped[str] = mapped_column(String(300))
    organisation_name: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(300))
    inn: Mapped[str | None] = mapped_column(String(12))
    inn_le: Mapped[str | None] = mapped_column(String(12))
    ogrn: Mapped[str | None] = mapped_column(String(15))
    snils: Mapped[str | None] = mapped_column(String(14))
    issuer: Mapped[str] = mapped_column(String(500))
    not_before: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime]
    status: Mapped[CertificateStatus] = mapped_column(default=CertificateStatus.ACTIVE)
    verdict: Mapped[str] = mapped_column(String(20))
    validation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    registered_at: Mapped[created_at]
    revoked_at: Mapped[dt.datetime | None]

    organisation: Mapped[Organisation] = relationship()


class AccreditedCentre(Base):
    """A certification centre of the Минцифры list of accredited centres, as
    of its last import (``docflow trust import-tsl``). Its CA certificates are
    :class:`TrustAnchor` rows pointing here; they count as accredited while
    :attr:`is_accredited` holds."""

    __tablename__ = "accredited_centres"

    id: Mapped[uuid_pk]
    #: ОГРН, or the name for a centre listed without one: the identity across
    #: versions of the list.
    key: Mapped[str] = mapped_column(String(300), unique=True)
    name: Mapped[str] = mapped_column(String(1000))
    short_name: Mapped[str | None] = mapped_column(String(500))
    inn: Mapped[str | None] = mapped_column(String(12))
    ogrn: Mapped[str | None] = mapped_column(String(15))
    registry_number: Mapped[str | None] = mapped_column(String(50))
    #: ``СтатусАккредитации/Статус`` verbatim («Действует», «Прекращена»...).
    status: Mapped[str] = mapped_column(String(100))
    is_accredited: Mapped[bool]
    status_since: Mapped[dt.datetime | None]
    #: ``Версия`` of the list this row was last seen in.
    list_version: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime]


class AnchorKind(enum.StrEnum):
    ROOT = "root"
    INTERMEDIATE = "intermediate"


class TrustAnchor(Base):
    """A CA certificate the administrator added to the trust store in the UI or
    with ``docflow trust add``. Files in ``TRUST_STORE`` are trusted as well."""

    __tablename__ = "trust_anchors"

    id: Mapped[uuid_pk]
    kind: Mapped[AnchorKind]
    der: Mapped[bytes] = mapped_column(LargeBinary)
    sha1: Mapped[str] = mapped_column(String(40), unique=True)
    subject: Mapped[str] = mapped_column(String(500))
    not_after: Mapped[dt.datetime]
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]
    #: The accredited centre whose CA certificate this is (imported from the
    #: Минцифры list); ``None`` for an anchor added by hand.
    accredited_centre_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accredited_centres.id", ondelete="SET NULL"), index=True
    )

    accredited_centre: Mapped[AccreditedCentre | None] = relationship()
