"""The trust store every node builds from the database.

Anchors (``trust_anchors``), CRLs (``revocation_lists``) and downloaded CRLs
(``crl_downloads``, :mod:`docflow.certificates.crls`) live in the database;
nothing a node trusts comes from its own disk. Each process keeps one
:class:`signing.TrustStore` (its validation cache makes the thousandth
signature by a certificate cheap) and, before each use, reads the version
stamp of ``trust_state`` — one primary-key read — which every change of the
trust store bumps in its own transaction. A CA added or a CRL uploaded on one
node is therefore used by every other node at its next validation.

The ``TRUST_STORE`` directory is an import source only: the CA certificates and
CRLs a process finds there are imported into the database (when it first
looks, and again whenever the directory changes); ``docflow trust import DIR``
does the same by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import signing
from docflow.access import Actor
from docflow.audit import record
from docflow.certificates.crls import (
    RefreshOutcome,
    SharedCRLFetcher,
    SharedCrls,
    guarded_download,
)
from docflow.certificates.models import (
    AccreditedCentre,
    AnchorKind,
    CrlDownload,
    RevocationList,
    TrustAnchor,
    TrustState,
)
from docflow.db import utcnow
from docflow.errors import NotFoundError, ValidationError
from signing.revocation import CrlFetcherFactory, FetchGuard

log = logging.getLogger(__name__)

STATE_ID = 1
#: Seconds per download of «Обновить списки отзыва» (as a validation's).
FETCH_TIMEOUT = 5.0

Stamp = tuple[int, dt.datetime]


# -- the version stamp ------------------------------------------------------------


def read_stamp(session: Session) -> Stamp | None:
    """The trust store's version: one read by primary key. ``None`` before the
    first change of a database emptied by hand (the tests do)."""
    row = session.execute(
        select(TrustState.version, TrustState.changed_at).where(
            TrustState.id == STATE_ID
        )
    ).one_or_none()
    return (row.version, row.changed_at) if row is not None else None


def bump_trust_version(session: Session) -> None:
    """Mark the trust store changed, in the caller's transaction: every process
    drops its cached trust store and validation results at its next look."""
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(TrustState).values(id=STATE_ID, version=1, changed_at=now)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[TrustState.id],
            set_={"version": TrustState.version + 1, "changed_at": now},
        )
    )


# -- anchors and CRLs -------------------------------------------------------------


#: Who changed the trust store when no user did.
COMMAND_LINE = "командная строка"
DIRECTORY_IMPORT = "импорт из каталога TRUST_STORE"


def _actor_fields(actor: Actor | None, label: str) -> dict[str, Any]:
    return {
        "user": actor.user if actor else None,
        "request_info": actor.request_info if actor else None,
        "actor_label": actor.label if actor else label,
    }


def _ca_info(data: bytes) -> signing.CertificateInfo:
    try:
        info = signing.inspect_certificate(data)
    except signing.CertificateFormatError:
        raise ValidationError(
            "Файл не является сертификатом X.509 (DER или PEM).",
            code="certificate_invalid",
        ) from None
    if not info.is_ca:
        raise ValidationError(
            "Это не сертификат удостоверяющего центра (нет признака CA).",
            code="not_a_ca",
        )
    return info


def _new_anchor(
    info: signing.CertificateInfo, *, actor: Actor | None, source: str | None
) -> TrustAnchor:
    return TrustAnchor(
        kind=AnchorKind.ROOT if info.is_self_signed else AnchorKind.INTERMEDIATE,
        der=info.der,
        sha1=info.sha1,
        subject=info.subject[:500],
        not_after=info.not_after,
        added_by_id=actor.user_id if actor else None,
        source=source[:300] if source else None,
    )


def add_trust_anchor(
    session: Session,
    *,
    actor: Actor | None,
    data: bytes,
    source: str | None = None,
    label: str = COMMAND_LINE,
) -> TrustAnchor:
    """Trust a root (self-signed) or an intermediate CA certificate — again, if
    it was removed.

    :raises ValidationError: not a certificate, or not a CA's.
    """
    info = _ca_info(data)
    anchor = session.scalar(select(TrustAnchor).where(TrustAnchor.sha1 == info.sha1))
    if anchor is not None and anchor.removed_at is None:
        return anchor
    if anchor is None:
        anchor = _new_anchor(info, actor=actor, source=source)
        session.add(anchor)
    else:
        anchor.removed_at = None
        anchor.source = source[:300] if source else None
        anchor.added_by_id = actor.user_id if actor else None
    session.flush()
    bump_trust_version(session)
    record(
        session,
        action="trust.add",
        object_type="trust_anchor",
        object_id=anchor.sha1,
        details={"subject": info.subject, "kind": anchor.kind.value, "source": source},
        **_actor_fields(actor, label),
    )
    return anchor


def remove_trust_anchor(
    session: Session, *, actor: Actor | None, thumbprint: str
) -> None:
    """Stop trusting a CA certificate. Its row stays as a tombstone, so that a
    file it came from is not imported again unasked."""
    anchor = session.scalar(
        select(TrustAnchor).where(
            TrustAnchor.sha1 == thumbprint.replace(":", "").upper(),
            TrustAnchor.removed_at.is_(None),
        )
    )
    if anchor is None:
        raise NotFoundError("Такого сертификата в списке доверенных нет.")
    anchor.removed_at = utcnow()
    bump_trust_version(session)
    record(
        session,
        action="trust.remove",
        object_type="trust_anchor",
        object_id=anchor.sha1,
        details={"subject": anchor.subject},
        **_actor_fields(actor, COMMAND_LINE),
    )
    session.flush()


@dataclass(frozen=True)
class CrlInfo:
    """What is kept about a CRL besides its bytes."""

    der: bytes
    issuer: str
    scope: str
    sha256: str
    number: str | None
    this_update: dt.datetime
    next_update: dt.datetime | None
    revoked_count: int


def _extension_bytes(crl: x509.CertificateRevocationList, kind: type[Any]) -> bytes:
    try:
        value = crl.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return b""
    if isinstance(value, x509.AuthorityKeyIdentifier):
        return value.key_identifier or b""
    return bytes(value.public_bytes())


def inspect_crl(data: bytes) -> CrlInfo:
    """Read a CRL (DER or PEM).

    :raises ValidationError: not a CRL.
    """
    try:
        crl = (
            x509.load_pem_x509_crl(data)
            if data.lstrip().startswith(b"-----")
            else x509.load_der_x509_crl(data)
        )
        issuer_der = crl.issuer.public_bytes()
        # As certificates' subjects are shown: "CN=…, O=…, C=RU".
        issuer = ", ".join(rdn.rfc4514_string() for rdn in reversed(crl.issuer.rdns))
        number: str | None
        try:
            number = str(
                crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
            )
        except x509.ExtensionNotFound:
            number = None
        scope = hashlib.sha256(
            issuer_der
            + b"\0"
            + _extension_bytes(crl, x509.AuthorityKeyIdentifier)
            + b"\0"
            + _extension_bytes(crl, x509.IssuingDistributionPoint)
        ).hexdigest()
        der = crl.public_bytes(Encoding.DER)
        revoked = len(crl)
        this_update = crl.last_update_utc
        next_update = crl.next_update_utc
    except ValueError:
        raise ValidationError(
            "Файл не является списком отзыва сертификатов (CRL в DER или PEM).",
            code="crl_invalid",
        ) from None
    return CrlInfo(
        der=der,
        issuer=issuer[:500],
        scope=scope,
        sha256=hashlib.sha256(der).hexdigest(),
        number=number[:80] if number else None,
        this_update=this_update,
        next_update=next_update,
        revoked_count=revoked,
    )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class CrlAdded:
    """The outcome of adding a CRL: the row now in force for its scope, and
    whether it is the one just given (``False``: the stored one is as new or
    newer)."""

    row: RevocationList
    added: bool


def add_revocation_list(
    session: Session,
    *,
    actor: Actor | None,
    data: bytes,
    source: str | None = None,
    label: str = COMMAND_LINE,
) -> CrlAdded:
    """Use a CRL before anything is downloaded, on every node; it replaces the
    older CRL of the same scope (issuer, key, distribution point).

    :raises ValidationError: not a CRL.
    """
    info = inspect_crl(data)
    current = list(
        session.scalars(
            select(RevocationList).where(
                (RevocationList.scope == info.scope)
                | (RevocationList.sha256 == info.sha256)
            )
        )
    )
    newest = max(current, key=lambda r: _aware(r.this_update), default=None)
    if newest is not None and (
        newest.sha256 == info.sha256 or _aware(newest.this_update) >= info.this_update
    ):
        return CrlAdded(newest, False)
    if current:
        session.execute(
            delete(RevocationList).where(RevocationList.id.in_([r.id for r in current]))
        )
    row = RevocationList(
        issuer=info.issuer,
        scope=info.scope,
        der=info.der,
        sha256=info.sha256,
        number=info.number,
        this_update=info.this_update,
        next_update=info.next_update,
        revoked_count=info.revoked_count,
        source=source[:300] if source else None,
        added_by_id=actor.user_id if actor else None,
    )
    session.add(row)
    session.flush()
    bump_trust_version(session)
    record(
        session,
        action="trust.add_crl",
        object_type="revocation_list",
        object_id=info.sha256,
        details={
            "issuer": info.issuer,
            "number": info.number,
            "revoked": info.revoked_count,
            "source": source,
        },
        **_actor_fields(actor, label),
    )
    return CrlAdded(row, True)


def list_revocation_lists(session: Session) -> list[RevocationList]:
    return list(
        session.scalars(
            select(RevocationList).order_by(
                RevocationList.issuer, RevocationList.this_update.desc()
            )
        )
    )


def list_crl_downloads(session: Session) -> list[CrlDownload]:
    return list(session.scalars(select(CrlDownload).order_by(CrlDownload.url)))


def refresh_downloaded_crls(
    session: Session, *, actor: Actor | None, allow_private_fetch: bool
) -> list[RefreshOutcome]:
    """Download every CRL the cluster keeps again, now and once (each row
    under its lock), and make every node forget what it remembered: the
    administrator's answer to «the CA has just revoked a certificate».

    The embedded mode (SQLite) keeps no downloaded CRLs: there the next
    validation downloads afresh.
    """
    outcomes: list[RefreshOutcome] = []
    engine = _engine(session)
    if engine.dialect.name == "postgresql":
        shared = SharedCrls(sessionmaker(bind=engine, expire_on_commit=False))
        guard = FetchGuard(timeout=FETCH_TIMEOUT, allow_private=allow_private_fetch)
        outcomes = shared.refresh_all(guarded_download(guard))
    bump_trust_version(session)
    record(
        session,
        action="trust.refresh_crls",
        object_type="crl_downloads",
        object_id="—",
        details={"urls": {o.url: o.detail for o in outcomes}},
        **_actor_fields(actor, COMMAND_LINE),
    )
    return outcomes


# -- importing a directory --------------------------------------------------------


@dataclass
class TrustImport:
    """What ``docflow trust import`` (or a node finding files in
    ``TRUST_STORE``) did, file by file."""

    anchors: list[str] = field(default_factory=list)
    crls: list[str] = field(default_factory=list)
    known: int = 0
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.anchors or self.crls)


def trust_files(directory: Path) -> list[Path]:
    """The files of a directory an import reads (hidden ones left alone)."""
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")
    )


def _import_certificates(
    session: Session,
    certs: list[Any],
    name: str,
    *,
    actor: Actor | None,
    revive: bool,
    summary: TrustImport,
) -> None:
    label = COMMAND_LINE if revive else DIRECTORY_IMPORT
    for cert in certs:
        try:
            info = _ca_info(cert.dump())
        except ValidationError as exc:
            summary.skipped.append(f"{name}: {exc.message}")
            continue
        anchor = session.scalar(
            select(TrustAnchor).where(TrustAnchor.sha1 == info.sha1)
        )
        if anchor is not None and (anchor.removed_at is None or not revive):
            summary.known += 1
            continue
        add_trust_anchor(
            session, actor=actor, data=info.der, source=f"file:{name}", label=label
        )
        summary.anchors.append(info.subject)


def import_trust_file(
    session: Session,
    path: Path,
    *,
    actor: Actor | None,
    revive: bool,
    summary: TrustImport,
) -> None:
    """Import the CA certificates (DER, PEM, a bundle, PKCS#7) or the CRL of one
    file into ``summary``. ``revive``: trust again a certificate an
    administrator removed (the operator's own import does; a node finding the
    file in ``TRUST_STORE`` does not)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        summary.skipped.append(f"{path.name}: не читается ({exc.strerror or exc})")
        return
    try:
        certs = signing.load_certificates(data)
    except signing.CertificateFormatError:
        certs = []
    if certs:
        _import_certificates(
            session, certs, path.name, actor=actor, revive=revive, summary=summary
        )
        return
    try:
        added = add_revocation_list(
            session,
            actor=actor,
            data=data,
            source=f"file:{path.name}",
            label=COMMAND_LINE if revive else DIRECTORY_IMPORT,
        )
    except ValidationError:
        summary.skipped.append(
            f"{path.name}: не сертификат УЦ и не список отзыва (CRL)"
        )
        return
    if added.added:
        summary.crls.append(f"{added.row.issuer} № {added.row.number or '—'}")
    else:
        summary.known += 1


def _orphan_warnings(session: Session, summary: TrustImport) -> None:
    """An intermediate CA whose issuer nobody trusts leads nowhere: say so."""
    anchors = list(
        session.scalars(select(TrustAnchor).where(TrustAnchor.removed_at.is_(None)))
    )
    subjects = {
        x509.load_der_x509_certificate(a.der).subject.rfc4514_string() for a in anchors
    }
    for anchor in anchors:
        if (
            anchor.kind != AnchorKind.INTERMEDIATE
            or anchor.subject not in summary.anchors
        ):
            continue
        issuer = x509.load_der_x509_certificate(anchor.der).issuer.rfc4514_string()
        if issuer not in subjects:
            summary.warnings.append(
                f"Промежуточный УЦ «{anchor.subject}»: его издателя «{issuer}» нет "
                "среди доверенных — подписи его сертификатов не пройдут проверку, "
                "пока не добавлен корневой сертификат."
            )


def import_trust_directory(
    session: Session,
    directory: Path,
    *,
    actor: Actor | None,
    revive: bool,
    progress: Callable[[Path], None] | None = None,
) -> TrustImport:
    """Import every CA certificate and CRL of ``directory`` (idempotent)."""
    summary = TrustImport()
    for path in trust_files(directory):
        import_trust_file(session, path, actor=actor, revive=revive, summary=summary)
        if progress is not None:
            progress(path)
    if summary.anchors:
        _orphan_warnings(session, summary)
    return summary


def ensure_trust_anchor(session: Session, *, der: bytes, source: str) -> bool:
    """Trust a certificate the system itself vouches for (the embedded
    time-stamping authority's root), unless it is trusted or was removed."""
    info = _ca_info(der)
    if session.scalar(select(TrustAnchor.id).where(TrustAnchor.sha1 == info.sha1)):
        return False
    add_trust_anchor(
        session, actor=None, data=der, source=source, label="служба штампов времени"
    )
    return True


# -- the store each process keeps -------------------------------------------------


def shared_crl_fetchers(shared: SharedCrls) -> CrlFetcherFactory:
    """The trust store's CRL fetcher through the cluster's
    :class:`~docflow.certificates.crls.SharedCrls` (PostgreSQL), so that one
    process downloads a CRL and every other reads it; the validation's guard
    (public addresses only, refused downloads reported) is kept."""
    return lambda guard: SharedCRLFetcher(shared, guard)


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _holds_write_lock(session: Session) -> bool:
    """Whether the caller's SQLite connection is in a write transaction: then a
    second connection could not write until it ends (SQLite has one writer),
    so the import joins the caller's transaction instead."""
    if session.get_bind().dialect.name != "sqlite" or not session.in_transaction():
        return False
    raw = session.connection().connection.driver_connection
    return bool(getattr(raw, "in_transaction", False))


class TrustStoreCache:
    """One trust store per process, rebuilt from the database when the trust
    version changes, after importing the files of ``TRUST_STORE`` when they
    change (see the module docstring)."""

    def __init__(self, directory: str, *, allow_private_fetch: bool = False) -> None:
        self.directory = Path(directory)
        self.allow_private_fetch = allow_private_fetch
        self._lock = threading.Lock()
        self._store: signing.TrustStore | None = None
        self._stamp: Stamp | None = None
        self._files: tuple[tuple[str, int, int], ...] | None = None

    def _files_stamp(self) -> tuple[tuple[str, int, int], ...]:
        found = []
        for path in trust_files(self.directory):
            stat = path.stat()
            found.append((path.name, stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def get(self, session: Session) -> signing.TrustStore:
        stamp = read_stamp(session)
        files = self._files_stamp()
        with self._lock:
            if self._store is not None and (stamp, files) == (self._stamp, self._files):
                return self._store
            source: Session | None = session
            joined = False
            if files and (files != self._files or stamp is None):
                source = self._import(session)
                joined = source is session
            if source is session:
                self._store, self._stamp = self._build(session)
            else:
                with Session(_engine(session)) as fresh:
                    self._store, self._stamp = self._build(fresh)
            # An import that joined the caller's transaction may yet be rolled
            # back with it: look at the directory again next time.
            self._files = None if joined else files
            return self._store

    def _import(self, session: Session) -> Session | None:
        """Import the directory; the session to build from then: the caller's
        when the import joined its transaction, ``None`` (a fresh one) when it
        committed on its own."""
        if _holds_write_lock(session):
            import_trust_directory(session, self.directory, actor=None, revive=False)
            return session
        for _attempt in range(2):
            try:
                with Session(_engine(session)) as own, own.begin():
                    summary = import_trust_directory(
                        own, self.directory, actor=None, revive=False
                    )
            except IntegrityError:
                continue  # another process imported the same file: look again
            if summary.changed:
                log.warning(
                    "imported from %s: %d CA certificate(s), %d CRL(s)",
                    self.directory,
                    len(summary.anchors),
                    len(summary.crls),
                )
            break
        return None

    def _build(self, session: Session) -> tuple[signing.TrustStore, Stamp | None]:
        stamp = read_stamp(session)
        engine = _engine(session)
        shared = (
            SharedCrls(sessionmaker(bind=engine, expire_on_commit=False))
            if engine.dialect.name == "postgresql"
            else None
        )
        store = signing.TrustStore(
            allow_private_fetch=self.allow_private_fetch,
            crl_fetcher_factory=shared_crl_fetchers(shared) if shared else None,
        )
        for der in session.scalars(select(RevocationList.der)):
            try:
                store.add_crl(der)
            except signing.TrustStoreError as exc:
                log.error("a stored CRL cannot be read, left out: %s", exc)
        rows = session.execute(
            select(TrustAnchor, AccreditedCentre.name)
            .outerjoin(
                AccreditedCentre,
                (AccreditedCentre.id == TrustAnchor.accredited_centre_id)
                & AccreditedCentre.is_accredited,
            )
            .where(TrustAnchor.removed_at.is_(None))
        )
        for anchor, accredited in rows:
            if anchor.kind == AnchorKind.ROOT:
                store.add_root(anchor.der, accredited=accredited)
            else:
                store.add_intermediate(anchor.der, accredited=accredited)
        return store, stamp
