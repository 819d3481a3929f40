"""Documents, their files and revisions, signing routes and signatures."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from docflow.contracts.models import Contract, Organisation
from docflow.db import Base, TimestampMixin, created_at, uuid_pk


class DocType(enum.StrEnum):
    PROM10 = "prom10"
    CONTRACT = "contract"
    AGREEMENT = "agreement"
    INVOICE = "invoice"
    LETTER = "letter"
    OTHER = "other"
    APPEAL = "appeal"  # a customer's appeal (docflow.appeals)
    APPEAL_ANSWER = "appeal_answer"  # the supplier's answer to an appeal
    SERVICE_OFFER = (
        "service_offer"  # the offer of an ordered service (docflow.service_orders)
    )


DOC_TYPE_TITLES = {
    DocType.PROM10: "Акт ПРОМ10 (показания расчётных приборов учёта)",
    DocType.CONTRACT: "Договор",
    DocType.AGREEMENT: "Дополнительное соглашение",
    DocType.INVOICE: "Счёт",
    DocType.LETTER: "Письмо",
    DocType.OTHER: "Прочее",
    DocType.APPEAL: "Обращение",
    DocType.APPEAL_ANSWER: "Ответ на обращение",
    DocType.SERVICE_OFFER: "Предложение на оказание услуги",
}


class DocStatus(enum.StrEnum):
    DRAFT = "draft"
    AWAITING = "awaiting"  # nobody has signed yet; the first party's turn
    PARTLY_SIGNED = "partly_signed"
    SIGNED = "signed"  # every party of the route signed
    REFUSED = "refused"
    REVOCATION_REQUESTED = "revocation_requested"
    REVOKED = "revoked"
    DELETED = "deleted"


class Party(enum.StrEnum):
    CUSTOMER = "customer"
    SUPPLIER = "supplier"


PARTY_TITLES = {Party.CUSTOMER: "Клиент", Party.SUPPLIER: "Поставщик"}


class StepStatus(enum.StrEnum):
    WAITING = "waiting"  # a later step
    CURRENT = "current"
    SIGNED = "signed"
    REFUSED = "refused"


class FileRole(enum.StrEnum):
    MAIN = "main"  # the original, unchanged
    ATTACHMENT = "attachment"
    REVISION = "revision"  # the PDF with one more PAdES signature (incremental update)
    SIGNATURE = "signature"  # a detached CMS (.sig) over the original, with its
    # time-stamps and long-term validation data (CAdES-LTA)
    # The signature bytes exactly as the party sent them (or as the service
    # assembled them from the party's signature value): what was submitted.
    RECEIVED = "received"
    # The machine-readable power of attorney (МЧД) a signature was made under,
    # and its detached signature: kept with the document as evidence.
    POWER_OF_ATTORNEY = "power_of_attorney"


class Document(TimestampMixin, Base):
    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_contract_id_status", "contract_id", "status"),
        Index(
            "ix_documents_organisation_id_created_at", "organisation_id", "created_at"
        ),
        UniqueConstraint("organisation_id", "idempotency_key"),
    )

    id: Mapped[uuid_pk]
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"))
    doc_type: Mapped[DocType]
    number: Mapped[str] = mapped_column(String(100))
    doc_date: Mapped[dt.date]
    title: Mapped[str] = mapped_column(String(500))
    comment: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[DocStatus] = mapped_column(default=DocStatus.AWAITING)
    source: Mapped[str] = mapped_column(String(30), default="web")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_by_party: Mapped[Party]
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    refused_by: Mapped[Party | None]
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    revocation_requested_by: Mapped[Party | None]
    completed_at: Mapped[dt.datetime | None]
    deleted_at: Mapped[dt.datetime | None]
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # Optimistic concurrency: every transition bumps it; a stale writer fails.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    organisation: Mapped[Organisation] = relationship()
    contract: Mapped[Contract] = relationship()
    files: Mapped[list[DocumentFile]] = relationship(
        back_populates="document", order_by="DocumentFile.created_at"
    )
    steps: Mapped[list[RouteStep]] = relationship(
        back_populates="document", order_by="RouteStep.position"
    )
    signatures: Mapped[list[Signature]] = relationship(
        back_populates="document", order_by="Signature.created_at"
    )

    @property
    def type_title(self) -> str:
        return DOC_TYPE_TITLES[self.doc_type]

    @property
    def main_file(self) -> DocumentFile:
        return next(f for f in self.files if f.role == FileRole.MAIN)

    @property
    def attachments(self) -> list[DocumentFile]:
        return [f for f in self.files if f.role == FileRole.ATTACHMENT]

    @property
    def latest_pdf(self) -> DocumentFile | None:
        """The newest revision of a PDF (the original when nobody signed in it)."""
        if not self.main_file.is_pdf:
            return None
        revisions = [f for f in self.files if f.role == FileRole.REVISION]
        return max(revisions, key=lambda f: f.revision) if revisions else self.main_file

    @property
    def current_step(self) -> RouteStep | None:
        return next((s for s in self.steps if s.status == StepStatus.CURRENT), None)


class DocumentFile(Base):
    __tablename__ = "document_files"
    __table_args__ = (Index("ix_document_files_document_id", "document_id"),)

    id: Mapped[uuid_pk]
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"))
    role: Mapped[FileRole]
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[created_at]

    document: Mapped[Document] = relationship(back_populates="files")

    @property
    def is_pdf(self) -> bool:
        return self.content_type == "application/pdf"


class RouteStep(Base):
    __tablename__ = "route_steps"
    __table_args__ = (UniqueConstraint("document_id", "position"),)

    id: Mapped[uuid_pk]
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"))
    position: Mapped[int]
    party: Mapped[Party]
    status: Mapped[StepStatus] = mapped_column(default=StepStatus.WAITING)
    completed_at: Mapped[dt.datetime | None]

    document: Mapped[Document] = relationship(back_populates="steps")

    @property
    def party_title(self) -> str:
        return PARTY_TITLES[self.party]


class Verdict(enum.StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    INDETERMINATE = "indeterminate"


class Signature(Base):
    """A party's signature: a detached CMS over the original and, for a PDF,
    the PAdES revision that embeds it. Verified on receipt; the report kept."""

    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("step_id"),)

    id: Mapped[uuid_pk]
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"))
    step_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("route_steps.id"))
    party: Mapped[Party]
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    certificate_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("certificates.id")
    )
    sig_file_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("document_files.id")
    )
    pdf_file_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("document_files.id")
    )
    signer_name: Mapped[str] = mapped_column(String(300))
    signer_organisation: Mapped[str | None] = mapped_column(String(300))
    certificate_serial: Mapped[str] = mapped_column(String(80))
    certificate_not_before: Mapped[dt.datetime]
    certificate_not_after: Mapped[dt.datetime]
    #: The proven moment of signing: the signature's time-stamp (else receipt).
    signing_time: Mapped[dt.datetime]
    #: When the service received the signature.
    received_at: Mapped[dt.datetime | None]
    #: The signer's own claim (signing-time, /M): shown, never trusted.
    claimed_time: Mapped[dt.datetime | None]
    #: The time-stamp over the signature: time, serial, authority.
    timestamp_time: Mapped[dt.datetime | None]
    timestamp_serial: Mapped[str | None] = mapped_column(String(80))
    tsa_name: Mapped[str | None] = mapped_column(String(300))
    #: The level of the stored evidence (``CAdES-LTA``, ``PAdES B-LTA``...).
    evidence_level: Mapped[str | None] = mapped_column(String(40))
    #: When the newest time-stamp over the signature stops proving anything
    #: (its authority's certificate or its algorithm ends): archive renewal
    #: adds a new one before that.
    archive_until: Mapped[dt.datetime | None] = mapped_column(index=True)
    archive_renewed_at: Mapped[dt.datetime | None]
    received_file_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("document_files.id")
    )
    #: The power of attorney (МЧД) the signer signed under, when the
    #: certificate is a personal one; the report keeps what it said.
    power_of_attorney_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("powers_of_attorney.id")
    )
    verdict: Mapped[Verdict]
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[created_at]

    document: Mapped[Document] = relationship(back_populates="signatures")
    sig_file: Mapped[DocumentFile | None] = relationship(foreign_keys=[sig_file_id])
    pdf_file: Mapped[DocumentFile | None] = relationship(foreign_keys=[pdf_file_id])
    received_file: Mapped[DocumentFile | None] = relationship(
        foreign_keys=[received_file_id]
    )

    @property
    def party_title(self) -> str:
        return PARTY_TITLES[self.party]

    @property
    def signing_time_source(self) -> str:
        """What proves ``signing_time``: ``timestamp``, ``receipt``, or
        ``validation_time`` for a signature recorded before the flow
        time-stamped (the moment it was verified)."""
        if self.timestamp_time is not None:
            return "timestamp"
        return "receipt" if self.received_at is not None else "validation_time"


class SigningSession(Base):
    """The server's half of a two-phase signature between ``prepare`` and
    ``complete``: the prepared PDF revision and signed attributes. The private
    key stays with the signer; this holds nothing secret."""

    __tablename__ = "signing_sessions"

    id: Mapped[uuid_pk]
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    # The API key that prepared it (an integration has no user): only the
    # same key may complete it.
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE")
    )
    certificate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("certificates.id"))
    kind: Mapped[str] = mapped_column(String(10))  # cms | pades
    state: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
