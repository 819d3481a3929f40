"""Registered signing certificates and the trust store: its anchors, its CRLs,
the CRLs downloaded for the whole cluster, and the version stamp every node
checks before it trusts what it has cached."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String
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
    """A CA certificate of the trust store: added by the administrator (the UI,
    ``docflow trust add``), imported from a directory (``docflow trust import``,
    the files a node finds in ``TRUST_STORE``), from the Минцифры list
    (``docflow trust import-tsl``), or the root of the embedded time-stamping
    authority. The database is the only source every node builds its trust
    store from."""

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

    #: Where it came from: ``None`` (added by an administrator),
    #: ``file:<name>`` (imported from a directory), ``tsa`` (the embedded
    #: time-stamping authority's root).
    source: Mapped[str | None] = mapped_column(String(300))
    #: Removed by an administrator: kept as a tombstone, so that the file it
    #: was imported from, still lying in some node's ``TRUST_STORE``, is not
    #: imported again behind the administrator's back.
    removed_at: Mapped[dt.datetime | None]

    accredited_centre: Mapped[AccreditedCentre | None] = relationship()


class RevocationList(Base):
    """A CRL the administrator uploaded or imported (``*.crl`` files of
    ``TRUST_STORE``), used before anything is downloaded. One per scope (the
    issuer, its key and its distribution point): a newer one replaces it."""

    __tablename__ = "revocation_lists"

    id: Mapped[uuid_pk]
    issuer: Mapped[str] = mapped_column(String(500))
    #: SHA-256 of the issuer's name, key identifier and issuing distribution
    #: point: CRLs of one scope supersede each other.
    scope: Mapped[str] = mapped_column(String(64), index=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    number: Mapped[str | None] = mapped_column(String(80))
    this_update: Mapped[dt.datetime]
    next_update: Mapped[dt.datetime | None]
    revoked_count: Mapped[int] = mapped_column(Integer)
    #: ``file:<name>`` when imported from a directory; ``None`` when uploaded.
    source: Mapped[str | None] = mapped_column(String(300))
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]


class CrlDownload(Base):
    """A CRL downloaded from a distribution point, kept for the whole cluster:
    the process that holds this row's lock downloads it, every other process
    uses the stored bytes (see :mod:`docflow.certificates.crls`)."""

    __tablename__ = "crl_downloads"

    id: Mapped[uuid_pk]
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    der: Mapped[bytes | None] = mapped_column(LargeBinary)
    sha256: Mapped[str | None] = mapped_column(String(64))
    this_update: Mapped[dt.datetime | None]
    next_update: Mapped[dt.datetime | None]
    fetched_at: Mapped[dt.datetime | None]
    #: The last attempt and, when it failed, why: a dead distribution point is
    #: not asked again by every process at every validation.
    attempted_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[created_at]


class TrustState(Base):
    """The trust store's version stamp (one row): bumped in the transaction of
    every change of anchors, CRLs or accredited centres. Each process reads it
    before it uses its cached trust store and validation results, so a change
    made on one node counts on every node at once."""

    __tablename__ = "trust_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[dt.datetime]
