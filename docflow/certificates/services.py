"""Certificate registration and the trust store.

Everything said about a certificate comes from :mod:`signing`; this module adds
who may register which certificate for which organisation, and keeps the
registrations.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import requests
from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

import signing
from docflow.access import (
    Actor,
    Right,
    may_sign_for,
    party_of,
    supplier_organisation,
    visible_certificates,
    visible_contract_ids,
)
from docflow.audit import record
from docflow.certificates.models import (
    AccreditedCentre,
    AnchorKind,
    Certificate,
    CertificateStatus,
    TrustAnchor,
)
from docflow.certificates.truststore import (  # the services' names for them
    add_trust_anchor as add_trust_anchor,
)
from docflow.certificates.truststore import (
    bump_trust_version,
)
from docflow.certificates.truststore import (
    remove_trust_anchor as remove_trust_anchor,
)
from docflow.contracts.models import Contract, Organisation
from docflow.db import utcnow
from docflow.documents.models import Party
from docflow.errors import NotFoundError, ValidationError
from docflow.powers.models import PowerOfAttorney, PowerStatus
from docflow.powers.services import Holder, moscow_date
from docflow.runtime import Runtime
from signing.certificates import plural_days_ru
from signing.tsl import AccreditedList

EXPIRING_DAYS = 30


# -- the trust store (kept in the database: docflow.certificates.truststore) -------


@dataclass(frozen=True)
class AnchorView:
    #: "manual" (an administrator added it), "file" (imported from a
    #: directory: ``origin`` names the file), "tsl" (the Минцифры list), "tsa"
    #: (the embedded time-stamping authority's root).
    source: str
    kind: str
    subject: str
    sha1: str
    not_after: dt.datetime
    crl_urls: tuple[str, ...]
    ocsp_urls: tuple[str, ...]
    origin: str | None = None


def _source_of(anchor: TrustAnchor | None) -> tuple[str, str | None]:
    if anchor is None or anchor.source is None:
        if anchor is not None and anchor.accredited_centre_id is not None:
            return "tsl", None
        return "manual", None
    if anchor.source.startswith("file:"):
        return "file", anchor.source[len("file:") :]
    return anchor.source, None


def list_trust_anchors(session: Session, store: signing.TrustStore) -> list[AnchorView]:
    """The CA certificates ``store`` trusts, and where each came from."""
    rows = {
        a.sha1: a
        for a in session.scalars(
            select(TrustAnchor).where(TrustAnchor.removed_at.is_(None))
        )
    }
    views = []
    for kind, infos in (("root", store.roots), ("intermediate", store.intermediates)):
        for info in infos:
            crl, ocsp = _revocation_urls(info.der)
            source, origin = _source_of(rows.get(info.sha1))
            views.append(
                AnchorView(
                    source,
                    kind,
                    info.subject,
                    info.sha1,
                    info.not_after,
                    crl,
                    ocsp,
                    origin,
                )
            )
    return views


def _revocation_urls(der: bytes) -> tuple[tuple[str, ...], tuple[str, ...]]:
    cert = x509.load_der_x509_certificate(der)
    crl: list[str] = []
    ocsp: list[str] = []
    try:
        for dp in cert.extensions.get_extension_for_class(
            x509.CRLDistributionPoints
        ).value:
            crl += [
                n.value
                for n in dp.full_name or []
                if isinstance(n, x509.UniformResourceIdentifier)
            ]
    except x509.ExtensionNotFound:
        pass
    try:
        for ad in cert.extensions.get_extension_for_class(
            x509.AuthorityInformationAccess
        ).value:
            if ad.access_method == AuthorityInformationAccessOID.OCSP:
                ocsp.append(str(ad.access_location.value))
    except x509.ExtensionNotFound:
        pass
    return tuple(crl), tuple(ocsp)


@dataclass(frozen=True)
class EndpointStatus:
    kind: str  # "CRL" | "OCSP"
    url: str
    ok: bool
    detail: str


def check_revocation_endpoints(
    anchors: list[AnchorView], timeout: float = 4.0
) -> list[EndpointStatus]:
    """Fetch each CRL named by the trust store's CAs and probe each OCSP responder:
    what an administrator wants to know before customers' signatures start
    failing as «revocation_unavailable»."""
    results: list[EndpointStatus] = []
    seen: set[str] = set()
    for anchor in anchors:
        for url in anchor.crl_urls:
            if url in seen:
                continue
            seen.add(url)
            try:
                resp = requests.get(url, timeout=timeout)
                resp.raise_for_status()
                crl = (
                    x509.load_der_x509_crl(resp.content)
                    if not resp.content.startswith(b"-----")
                    else x509.load_pem_x509_crl(resp.content)
                )
                next_update = crl.next_update_utc
                stale = next_update is not None and next_update < utcnow()
                detail = (
                    f"{len(list(crl))} отозванных, следующее обновление "
                    f"{next_update:%d.%m.%Y %H:%M} UTC"
                    if next_update
                    else "без даты обновления"
                )
                results.append(
                    EndpointStatus(
                        "CRL", url, not stale, ("УСТАРЕЛ: " if stale else "") + detail
                    )
                )
            except (requests.RequestException, ValueError) as exc:
                results.append(EndpointStatus("CRL", url, False, _unreachable(exc)))
        for url in anchor.ocsp_urls:
            if url in seen:
                continue
            seen.add(url)
            try:
                resp = requests.get(url, timeout=timeout)
                results.append(
                    EndpointStatus(
                        "OCSP",
                        url,
                        resp.status_code < 500,
                        f"отвечает (HTTP {resp.status_code})",
                    )
                )
            except requests.RequestException as exc:
                results.append(EndpointStatus("OCSP", url, False, _unreachable(exc)))
    return results


def _unreachable(exc: Exception) -> str:
    """Why an endpoint did not answer, in words (not an exception's class)."""
    if isinstance(exc, requests.Timeout):
        return "недоступен: не ответил вовремя"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"недоступен: ответ HTTP {exc.response.status_code}"
    if isinstance(exc, requests.ConnectionError):
        return "недоступен: нет соединения"
    if isinstance(exc, ValueError):
        return "ответ не является списком отзыва (CRL)"
    return "недоступен"


# -- the Минцифры list of accredited certification centres ----------------------

#: The status given to a centre that is no longer in the list at all.
NOT_LISTED = "Нет в перечне"


@dataclass(frozen=True)
class TslImport:
    """What ``import_accredited_centres`` did."""

    version: str | None
    centres: int
    accredited: int
    certificates: int
    new_anchors: int
    #: «ООО «УЦ»: Действует → Прекращена», one per centre whose status changed.
    status_changes: tuple[str, ...]
    #: Entries not imported, with the reason (from the parser and from here).
    skipped: tuple[str, ...]


def import_accredited_centres(
    session: Session,
    *,
    actor: Actor | None,
    tsl: AccreditedList,
    progress: Callable[[str], None] | None = None,
) -> TslImport:
    """Store the centres of the Минцифры list and trust their CA certificates.

    Idempotent: a centre is found again by its ОГРН, its status and details
    are updated, its certificates are added once (self-signed ones as roots,
    the others as intermediates) and linked to it. A centre whose
    accreditation ended (or that left the list) keeps its anchors, which stop
    counting as accredited.

    :param tsl: the parsed list (:func:`signing.tsl.read_tsl`).
    :param progress: called with each centre's name once it is stored.
    """
    now = utcnow()
    centres = {c.key: c for c in session.scalars(select(AccreditedCentre))}
    anchors = {a.sha1: a for a in session.scalars(select(TrustAnchor))}
    changes: list[str] = []
    skipped = list(tsl.problems)
    seen: set[str] = set()
    certificates = new_anchors = accredited = 0
    for entry in tsl.centres:
        if entry.key in seen:
            skipped.append(f"УЦ «{entry.name}»: повторная запись с ОГРН {entry.key}")
            continue
        seen.add(entry.key)
        accredited += entry.is_accredited
        fields = {
            "name": entry.name[:1000],
            "short_name": entry.short_name[:500] if entry.short_name else None,
            "inn": entry.inn[:12] if entry.inn else None,
            "ogrn": entry.ogrn[:15] if entry.ogrn else None,
            "registry_number": (
                entry.registry_number[:50] if entry.registry_number else None
            ),
            "status": entry.status[:100],
            "is_accredited": entry.is_accredited,
            "status_since": entry.status_since,
        }
        row = centres.get(entry.key)
        if row is None:
            row = AccreditedCentre(key=entry.key[:300], updated_at=now, **fields)
            session.add(row)
            session.flush()
            centres[entry.key] = row
        else:
            if row.status != entry.status:
                changes.append(f"{entry.name}: {row.status} → {entry.status}")
            changed = [k for k, v in fields.items() if getattr(row, k) != v]
            for name in changed:
                setattr(row, name, fields[name])
            if changed:
                row.updated_at = now
        row.list_version = tsl.version[:50] if tsl.version else None
        for item in entry.certificates:
            try:
                info = signing.inspect_certificate(item.der)
            except signing.CertificateFormatError:
                skipped.append(f"УЦ «{entry.name}», {item.sha1}: не сертификат")
                continue
            if not info.is_ca:
                skipped.append(
                    f"УЦ «{entry.name}», {item.sha1}: не сертификат "
                    "удостоверяющего центра (нет признака CA)"
                )
                continue
            certificates += 1
            anchor = anchors.get(info.sha1)
            if anchor is None:
                anchor = TrustAnchor(
                    kind=AnchorKind.ROOT
                    if info.is_self_signed
                    else AnchorKind.INTERMEDIATE,
                    der=info.der,
                    sha1=info.sha1,
                    subject=info.subject[:500],
                    not_after=info.not_after,
                    added_by_id=actor.user_id if actor else None,
                    accredited_centre_id=row.id,
                    source="tsl",
                )
                session.add(anchor)
                anchors[info.sha1] = anchor
                new_anchors += 1
            elif anchor.accredited_centre_id != row.id:
                anchor.accredited_centre_id = row.id
                row.updated_at = now
        session.flush()
        if progress is not None:
            progress(entry.name)
    for key, row in centres.items():
        if key not in seen and row.status != NOT_LISTED:
            changes.append(f"{row.name}: {row.status} → {NOT_LISTED}")
            row.status, row.is_accredited, row.updated_at = NOT_LISTED, False, now
    session.flush()
    # A re-import may change no anchor but a centre's status: every node must
    # rebuild its store either way.
    bump_trust_version(session)
    summary = TslImport(
        version=tsl.version,
        centres=len(seen),
        accredited=accredited,
        certificates=certificates,
        new_anchors=new_anchors,
        status_changes=tuple(changes),
        skipped=tuple(skipped),
    )
    record(
        session,
        user=actor.user if actor else None,
        action="trust.import_tsl",
        object_type="accredited_centres",
        object_id=tsl.version or "—",
        details={
            "centres": summary.centres,
            "accredited": summary.accredited,
            "certificates": summary.certificates,
            "new_anchors": summary.new_anchors,
            "status_changes": list(summary.status_changes),
        },
        request_info=actor.request_info if actor else None,
        actor_label=actor.label if actor else "командная строка",
    )
    return summary


def qualified_status(
    cert: Certificate, *, trust: signing.TrustStore
) -> signing.QualifiedStatus | None:
    """Whether a registered certificate is qualified *now*: its sign-tool
    fields, and the accredited centre its chain leads to in today's trust
    store (an offline check: no revocation data is fetched)."""
    validation = signing.validate_certificate(
        cert.der, trust, revocation="off", usage="any"
    )
    return validation.qualified


# -- registrations --------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    """The outcome of a registration attempt: details and verdict always, the
    stored certificate only when it was accepted."""

    info: signing.CertificateInfo
    validation: signing.CertificateValidation
    organisation: Organisation | None
    problems: tuple[str, ...]
    certificate: Certificate | None
    #: Why it was refused, for the API: ``certificate_invalid`` (the
    #: certificate itself), ``power_of_attorney_required`` (a personal
    #: certificate without an МЧД), ``certificate_refused`` (another
    #: organisation's).
    code: str | None = None

    @property
    def accepted(self) -> bool:
        return self.certificate is not None


def _organisation_by_power(
    session: Session, actor: Actor, info: signing.CertificateInfo
) -> Organisation | None:
    """The organisation whose active, unexpired МЧД names the certificate's
    holder as representative and for which ``actor`` signs."""
    holder = Holder.of(info)
    if not (holder.snils or holder.inn):
        return None
    powers = session.scalars(
        select(PowerOfAttorney)
        .where(
            holder.conditions(),
            PowerOfAttorney.status == PowerStatus.ACTIVE,
            PowerOfAttorney.valid_until >= moscow_date(utcnow()),
        )
        .order_by(PowerOfAttorney.created_at.desc())
    )
    for power in powers:
        if any(holder.matches(r) for r in power.representatives) and may_sign_for(
            session, actor, power.organisation
        ):
            return power.organisation
    return None


#: The refusal of a personal certificate without a power of attorney.
NEEDS_POWER = (
    "Сертификат выдан {owner} как физическому лицу (в нём нет ИНН организации{inn}). "
    "Подписывать им за организацию можно по машиночитаемой доверенности (МЧД): "
    "приложите файл МЧД (.xml) и её подпись (.sig) при регистрации сертификата."
)


def _organisation_for(
    session: Session, actor: Actor, info: signing.CertificateInfo
) -> tuple[Organisation | None, str | None]:
    """The organisation this certificate may sign for on behalf of ``actor``:
    the one whose ИНН ЮЛ it carries, else the principal of an МЧД naming its
    holder."""
    inn = info.inn_le or (info.inn if info.inn and len(info.inn) == 10 else None)
    if inn:
        org, problem = _organisation_by_inn(session, actor, inn)
        if org is not None:
            return org, None
    else:
        problem = NEEDS_POWER.format(
            owner=info.owner or info.subject_cn or "лицу", inn=""
        )
    by_power = _organisation_by_power(session, actor, info)
    if by_power is not None:
        return by_power, None
    return None, problem


def _refusal_code(
    validation: signing.CertificateValidation, info: signing.CertificateInfo
) -> str:
    if validation.verdict != signing.Verdict.VALID:
        return "certificate_invalid"
    if not info.inn_le and not (info.inn and len(info.inn) == 10):
        return "power_of_attorney_required"
    return "certificate_refused"


def _organisation_by_inn(
    session: Session, actor: Actor, inn: str
) -> tuple[Organisation | None, str]:
    if party_of(actor) == Party.SUPPLIER:
        supplier = supplier_organisation(session)
        if supplier is None or supplier.inn != inn:
            return None, f"ИНН в сертификате ({inn}) не совпадает с ИНН поставщика."
        return supplier, ""
    if actor.organisation_id is not None:
        org = session.get(Organisation, actor.organisation_id)
        if org is None or org.inn != inn:
            return (
                None,
                f"ИНН в сертификате ({inn}) не совпадает с ИНН организации ключа API.",
            )
        return org, ""
    org = session.scalar(
        select(Organisation)
        .join(Contract, Contract.organisation_id == Organisation.id)
        .where(
            Organisation.inn == inn,
            Contract.id.in_(visible_contract_ids(actor, Right.SIGN)),
        )
        .limit(1)
    )
    if org is None:
        return None, (
            f"ИНН организации в сертификате ({inn}) не совпадает ни с одним договором, "
            "по которому у вас есть право подписи. Если вы подписываете за другую "
            "организацию по доверенности, приложите её МЧД."
        )
    return org, ""


def inspect_upload(data: bytes) -> signing.CertificateInfo:
    """Read a certificate from an upload: DER, PEM, or the signer's certificate
    inside a detached signature (.sig / .p7s)."""
    try:
        return signing.inspect_certificate(data)
    except signing.CertificateFormatError:
        pass
    try:
        certs = signing.cms_signer_certificates(data)
    except (signing.SigningError, ValueError, TypeError, KeyError, IndexError):
        certs = []  # unreadable input gets the one clear message below
    if certs:
        return certs[0]
    raise ValidationError(
        "Файл не является сертификатом (.cer в DER или PEM) или подписью с сертификатом (.sig).",
        code="certificate_invalid",
    )


def register_certificate(
    session: Session,
    *,
    actor: Actor,
    data: bytes,
    runtime: Runtime,
    at: dt.datetime | None = None,
) -> Registration:
    """Validate a certificate and, when it is valid and names an organisation the
    actor may sign for, register it for that organisation."""
    info = inspect_upload(data)
    validation = signing.validate_certificate(
        info.der,
        runtime.trust(session),
        at=at,
        revocation=runtime.revocation,
        usage="signing",
    )
    org, org_problem = _organisation_for(session, actor, info)
    problems = [r.message for r in validation.errors]
    if org_problem:
        problems.append(org_problem)
    if validation.verdict != signing.Verdict.VALID or org is None:
        if validation.verdict != signing.Verdict.VALID and not problems:
            problems.append(validation.summary_ru())
        return Registration(
            info, validation, org, tuple(problems), None,
            _refusal_code(validation, info),
        )  # fmt: skip
    existing = session.scalar(
        select(Certificate).where(
            Certificate.organisation_id == org.id,
            Certificate.sha256 == info.sha256,
            Certificate.user_id == actor.user_id,
            Certificate.status == CertificateStatus.ACTIVE,
        )
    )
    if existing is not None:
        return Registration(info, validation, org, (), existing)
    cert = Certificate(
        organisation_id=org.id,
        user_id=actor.user_id,
        der=info.der,
        sha1=info.sha1,
        sha256=info.sha256,
        serial_hex=info.serial_hex,
        owner=info.owner or info.subject_cn or "",
        organisation_name=info.organization,
        title=info.title,
        inn=info.inn,
        inn_le=info.inn_le,
        ogrn=info.ogrn,
        snils=info.snils,
        issuer=info.issuer[:500],
        not_before=info.not_before,
        not_after=info.not_after,
        verdict=validation.verdict.value,
        validation=validation.to_json(),
    )
    session.add(cert)
    session.flush()
    record(
        session,
        user=actor.user,
        action="certificate.register",
        object_type="certificate",
        object_id=cert.id,
        details={
            "serial": info.serial_hex,
            "sha1": info.sha1,
            "organisation_inn": org.inn,
            "owner": cert.owner,
        },
        request_info=actor.request_info,
        actor_label=actor.label,
    )
    return Registration(info, validation, org, (), cert)


def _visible_certificates(actor: Actor) -> Select[Certificate]:
    return select(Certificate).where(visible_certificates(actor))


def list_certificates(session: Session, *, actor: Actor) -> list[Certificate]:
    return list(
        session.scalars(
            _visible_certificates(actor).order_by(Certificate.registered_at.desc())
        )
    )


def get_certificate(
    session: Session, *, actor: Actor, certificate_id: uuid.UUID
) -> Certificate:
    cert = session.scalar(
        _visible_certificates(actor).where(Certificate.id == certificate_id)
    )
    if cert is None:
        raise NotFoundError("Сертификат не найден.")
    return cert


def revoke_certificate(
    session: Session, *, actor: Actor, certificate_id: uuid.UUID
) -> Certificate:
    """Withdraw a registration: the certificate can no longer sign here."""
    cert = get_certificate(session, actor=actor, certificate_id=certificate_id)
    if cert.status == CertificateStatus.REVOKED:
        return cert
    cert.status = CertificateStatus.REVOKED
    cert.revoked_at = utcnow()
    record(
        session,
        user=actor.user,
        action="certificate.revoke",
        object_type="certificate",
        object_id=cert.id,
        details={"serial": cert.serial_hex},
        request_info=actor.request_info,
        actor_label=actor.label,
    )
    session.flush()
    return cert


def status_of(cert: Certificate, now: dt.datetime | None = None) -> tuple[str, str]:
    """(css class, Russian label): действителен, истекает через N дней, истёк, отозван."""
    if cert.status == CertificateStatus.REVOKED:
        return "bad", "отозван"
    now = now or utcnow()
    not_after = (
        cert.not_after
        if cert.not_after.tzinfo
        else cert.not_after.replace(tzinfo=dt.UTC)
    )
    not_before = (
        cert.not_before
        if cert.not_before.tzinfo
        else cert.not_before.replace(tzinfo=dt.UTC)
    )
    if now > not_after:
        return "bad", "истёк"
    if now < not_before:
        return "warn", "ещё не действует"
    days = (not_after - now).days
    if days < EXPIRING_DAYS:
        return "warn", f"истекает через {plural_days_ru(days)}"
    return "ok", "действителен"


def usable_certificates(
    session: Session, *, actor: Actor, organisation_id: uuid.UUID
) -> list[Certificate]:
    """The actor's active registrations for one organisation, still in validity."""
    now = utcnow()
    certs = session.scalars(
        _visible_certificates(actor).where(
            Certificate.organisation_id == organisation_id,
            Certificate.status == CertificateStatus.ACTIVE,
        )
    )
    result = []
    for c in certs:
        na = c.not_after if c.not_after.tzinfo else c.not_after.replace(tzinfo=dt.UTC)
        if na > now:
            result.append(c)
    return result
