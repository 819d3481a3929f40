"""Signing a document: every way a signature reaches the route.

1. A detached CMS posted by an integration (:func:`accept_cms_signature`).
2. Two-phase in the browser (:func:`prepare_signing`, :func:`complete_signing`):
   the server prepares the signed attributes of a detached CAdES-BES over the
   original and, for a PDF, of a PAdES signature with a visible stamp on the
   newest revision; the page signs them with the key it opened from the user's
   PKCS#12 file; the server completes, verifies and records both.
3. The supplier's countersignature with its own key (:func:`countersign`),
   run by a Celery task.

Each signature is verified on receipt against the stored original; the signer's
certificate must be registered for the signing party's organisation and valid
at the moment the signature is proven to exist — its time-stamp, else the
moment the service received it; never the time the signer wrote into it — or
the signature is refused with the reason. An accepted signature is sealed
(:mod:`docflow.documents.evidence`: time-stamped, with its long-term validation
data, CAdES-LTA and PAdES B-LTA) before it is recorded; the bytes exactly as
received are kept beside it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import signing
from docflow.access import Actor, signs_with_own_certificate, supplier_organisation
from docflow.certificates.models import Certificate, CertificateStatus
from docflow.contracts.models import Organisation
from docflow.db import utcnow
from docflow.documents.evidence import (
    CADES_LEVEL,
    PADES_LEVEL,
    ContentDigest,
    Verifier,
    archive_until,
    etsi_xml,
    seal_cms,
    seal_pdf,
    stamp_facts,
    store_retained,
)
from docflow.documents.evidence import (
    unavailable as _unavailable,
)
from docflow.documents.models import (
    Document,
    FileRole,
    Party,
    RouteStep,
    Signature,
    SigningSession,
    Verdict,
)
from docflow.documents.services import (
    get_document,
    record_signature,
    require_turn,
)
from docflow.errors import DocflowError, NotFoundError, ValidationError
from docflow.powers.services import Authority, authorise
from docflow.runtime import Runtime
from signing import cades
from signing.tsa import Timestamper
from signing.verification import reason_verdict
from storage import BlobStorage

SESSION_TTL = dt.timedelta(minutes=15)


class SignatureRejectedError(DocflowError):
    """A signature that does not verify, or a certificate that may not sign."""

    status = 422
    code = "signature_invalid"


# Reason codes of :mod:`signing` → the API's stable error codes.
_REASON_CODES = {
    "expired": "certificate_expired",
    "not_yet_valid": "certificate_expired",
    "revoked": "certificate_revoked",
    "untrusted_root": "certificate_untrusted",
    "no_path": "certificate_untrusted",
    "chain_incomplete": "certificate_untrusted",
    "bad_chain_signature": "certificate_untrusted",
    "key_usage": "certificate_key_usage",
    "revocation_unavailable": "revocation_unavailable",
}


def _refuse_report(report: Any, what: str) -> SignatureRejectedError:
    found = list(getattr(report, "reasons", ()))
    for signer in getattr(report, "signers", ()):
        found += list(signer.reasons)
    # Warnings (revocation data unreachable in soft mode, say) explain nothing
    # about a refusal: name the errors.
    errors = [r for r in found if reason_verdict(r) != signing.Verdict.VALID]
    reasons = [r for r in (errors or found) if getattr(r, "message", None)]
    codes = [str(getattr(r, "code", "")) for r in reasons]
    code = next(
        (_REASON_CODES[c] for c in codes if c in _REASON_CODES), "signature_invalid"
    )
    text = "; ".join(dict.fromkeys(r.message for r in reasons)) or report.summary_ru()
    # Name the moment the verdict holds for, and whether the signer's claimed
    # time was used (it never is): "expired" means nothing without a time.
    signers = list(getattr(report, "signers", ()))
    signer = signers[0] if signers else getattr(report, "signer", None)
    if signer is not None:
        text += f" ({signer.time_ru()})"
    return SignatureRejectedError(
        f"{what} отклонена: {text}",
        code=code,
        details={"reasons": codes, "report": report.to_json()},
    )


def party_organisation_id(session: Session, doc: Document, party: Party) -> uuid.UUID:
    """The organisation that signs for ``party``: the customer's or the supplier's."""
    if party == Party.CUSTOMER:
        return doc.organisation_id
    supplier = supplier_organisation(session)
    if supplier is None:
        raise NotFoundError("Организация поставщика не настроена.")
    return supplier.id


def _registered(
    session: Session, *, actor: Actor, organisation_id: uuid.UUID, sha256: str
) -> Certificate:
    stmt = select(Certificate).where(
        Certificate.organisation_id == organisation_id,
        Certificate.sha256 == sha256,
        Certificate.status == CertificateStatus.ACTIVE,
    )
    own = signs_with_own_certificate(actor)
    if own and actor.user is not None:
        # A person signs with a certificate they registered themselves.
        stmt = stmt.where(Certificate.user_id == actor.user.id)
    cert = session.scalars(stmt.limit(1)).first()
    if cert is None:
        raise SignatureRejectedError(
            "Сертификат подписанта не зарегистрирован для этой организации"
            + (" вами" if own else "")
            + ". Зарегистрируйте сертификат в разделе «Сертификаты» и повторите.",
            code="certificate_not_registered",
        )
    return cert


def _authority(
    session: Session,
    *,
    doc: Document,
    step: RouteStep,
    cert: Certificate,
    moment: dt.datetime,
    runtime: Runtime,
) -> Authority | None:
    """The power of attorney a personal certificate signs under, valid at
    ``moment`` (the proof of existence of the signature); ``None`` for a
    certificate of the organisation itself."""
    org = session.get(Organisation, party_organisation_id(session, doc, step.party))
    assert org is not None
    return authorise(
        session,
        organisation=org,
        certificate=cert,
        doc_type=doc.doc_type.value,
        moment=moment,
        runtime=runtime,
    )


def _original(storage: BlobStorage, doc: Document) -> bytes:
    return storage.read_bytes(doc.main_file.blob_key)


def _signed_content(
    storage: BlobStorage, doc: Document, sig: bytes
) -> bytes | ContentDigest:
    """What a party's detached signature is checked against: the original's
    SHA-256 recorded at registration when the signer hashed with SHA-256 (the
    blob is not read back), else the original itself (a GOST signature hashes
    with Streebog)."""
    if doc.main_file.sha256 and signing.signer_digest_algorithm(sig) == "sha256":
        return ContentDigest("sha256", bytes.fromhex(doc.main_file.sha256))
    return _original(storage, doc)


#: Unsigned attributes a party may send: its own signature time-stamp (a
#: CAdES-T from CryptoPro, say), which is verified like ours. Anything else —
#: a countersignature by another key, unknown data — the service did not add
#: and will not store unchecked.
_CLIENT_UNSIGNED = frozenset({"1.2.840.113549.1.9.16.2.14"})


def _verify_cms(content: bytes | ContentDigest, sig: bytes, verifier: Verifier) -> Any:
    try:
        report = verifier.cms(content, sig)
    except signing.SignatureFormatError:
        raise ValidationError(
            "Файл не является подписью CMS/PKCS#7 (.sig) в DER, PEM или base64.",
            code="signature_format",
        ) from None
    if len(report.signers) != 1:
        raise ValidationError(
            "Подпись должна содержать ровно одного подписанта.", code="signature_format"
        )
    try:
        present = cades.unsigned_attribute_types(signing.signature_der(sig))
    except signing.SignatureFormatError:
        raise ValidationError(
            "Файл подписи повреждён: структура CMS не читается.",
            code="signature_format",
        ) from None
    extra = [t for t in present if t not in _CLIENT_UNSIGNED]
    if extra:
        raise ValidationError(
            "Подпись содержит неподписанные атрибуты, которые сервис не принимает "
            f"(например, заверяющую подпись другим ключом): {', '.join(extra)}.",
            code="signature_format",
            details={"unsigned_attributes": extra},
        )
    return report


def _check_revision(report: Any) -> Any:
    """A new PDF revision: its newest signature must be valid, and every
    earlier one still intact (difference analysis, structure checks)."""
    if not report.signatures:
        raise _refuse_report(report, "Подпись PDF")
    for embedded in report.signatures:
        if embedded.verdict != signing.Verdict.VALID:
            raise _refuse_report(embedded, "Подпись PDF")
    return report


def _seal(
    *,
    sig: bytes,
    content: bytes | ContentDigest,
    pdf: bytes | None,
    timestamper: Timestamper,
    verifier: Verifier,
) -> tuple[bytes, Any, bytes | None, Any]:
    """Time-stamp and complete with long-term data; refuse if that changes
    the verdict (a certificate revoked in between, an authority distrusted)."""
    sealed, cms_report = seal_cms(
        sig, content, timestamper=timestamper, verifier=verifier
    )
    if cms_report.verdict != signing.Verdict.VALID:
        raise _refuse_report(cms_report, "Подпись")
    pdf_sealed = pdf_report = None
    if pdf is not None:
        _check_revision(verifier.pdf(pdf))
        pdf_sealed, pdf_report = seal_pdf(
            pdf, timestamper=timestamper, verifier=verifier
        )
        _check_revision(pdf_report)
    return sealed, cms_report, pdf_sealed, pdf_report


def _record(
    session: Session,
    *,
    actor: Actor,
    runtime: Runtime,
    doc: Document,
    step: RouteStep,
    sig: bytes,
    received: bytes,
    received_at: dt.datetime,
    cms_report: Any,
    cert: Certificate,
    pdf: bytes | None,
    pdf_report: Any,
    authority: Authority | None = None,
) -> Signature:
    storage = runtime.storage
    signer = cms_report.signers[0]
    stem = doc.main_file.filename
    sig_type = "application/pkcs7-signature"
    party = step.party.value
    received_file = store_retained(
        session, storage, doc=doc, data=received, role=FileRole.RECEIVED,
        filename=f"{stem}.{party}.received.sig", content_type=sig_type,
    )  # fmt: skip
    sig_file = store_retained(
        session, storage, doc=doc, data=sig, role=FileRole.SIGNATURE,
        filename=f"{stem}.{party}.sig", content_type=sig_type,
    )  # fmt: skip
    pdf_file = None
    if pdf is not None:
        revision = 1 + max(
            (f.revision for f in doc.files if f.role == FileRole.REVISION), default=0
        )
        base = stem[:-4] if stem.lower().endswith(".pdf") else stem
        pdf_file = store_retained(
            session, storage, doc=doc, data=pdf, role=FileRole.REVISION,
            filename=f"{base}.signed-{revision}.pdf", content_type="application/pdf",
            revision=revision,
        )  # fmt: skip
    if authority is not None:
        # The МЧД the signature relies on travels with the document.
        power = authority.power
        store_retained(
            session, storage, doc=doc, data=power.xml, role=FileRole.POWER_OF_ATTORNEY,
            filename=f"{stem}.{party}.mchd-{power.number}.xml",
            content_type="application/xml",
        )  # fmt: skip
        store_retained(
            session, storage, doc=doc, data=power.signature,
            role=FileRole.POWER_OF_ATTORNEY,
            filename=f"{stem}.{party}.mchd-{power.number}.xml.sig",
            content_type=sig_type,
        )  # fmt: skip
    session.flush()
    info = signer.certificate
    report: dict[str, Any] = {
        "cms": cms_report.to_json(),
        "cms_summary": cms_report.summary_ru(),
    }
    if pdf_report is not None:
        report["pdf"] = pdf_report.to_json()
        report["pdf_summary"] = pdf_report.summary_ru()
    if authority is not None:
        report["power_of_attorney"] = authority.evidence()
    report["etsi_xml"] = etsi_xml(
        cms_report, pdf_report, name=doc.main_file.filename, sha256=doc.main_file.sha256
    )
    signature = Signature(
        document=doc,
        step_id=step.id,
        party=step.party,
        user_id=actor.user_id,
        certificate_id=cert.id,
        power_of_attorney_id=authority.power.id if authority else None,
        sig_file_id=sig_file.id,
        pdf_file_id=pdf_file.id if pdf_file else None,
        received_file_id=received_file.id,
        signer_name=info.owner or info.subject_cn or cert.owner,
        signer_organisation=info.organization,
        certificate_serial=info.serial_hex,
        certificate_not_before=info.not_before,
        certificate_not_after=info.not_after,
        # The proven moment: the signature's time-stamp (never the claim).
        signing_time=signer.validation_time,
        received_at=received_at,
        claimed_time=signer.signing_time,
        evidence_level=CADES_LEVEL + (f" + {PADES_LEVEL}" if pdf_file else ""),
        archive_until=archive_until(cms_report, pdf_report),
        verdict=Verdict(cms_report.verdict.value),
        report=report,
        **stamp_facts(cms_report),
    )
    record_signature(
        session, actor=actor, doc=doc, step=step, signature=signature, runtime=runtime
    )
    return signature


def accept_cms_signature(
    session: Session,
    *,
    actor: Actor,
    document_id: uuid.UUID,
    signature: bytes,
    runtime: Runtime,
) -> Signature:
    """Take a detached CMS over the original from the party whose turn it is.

    The signer's certificate is validated at the moment of receipt (or at the
    signature's own time-stamp from a trusted authority), never at the time
    the signer claims.
    """
    received_at = runtime.now()
    doc = get_document(session, actor=actor, document_id=document_id, lock=True)
    step = require_turn(session, actor, doc)
    verifier = _verifier(doc, runtime.trust(session), runtime.revocation, received_at)
    content = _signed_content(runtime.storage, doc, signature)
    report = _verify_cms(content, signature, verifier)
    if report.verdict != signing.Verdict.VALID:
        raise _refuse_report(report, "Подпись")
    cert = _registered(
        session,
        actor=actor,
        organisation_id=party_organisation_id(session, doc, step.party),
        sha256=report.signers[0].certificate.sha256,
    )
    authority = _authority(
        session, doc=doc, step=step, cert=cert,
        moment=report.signers[0].validation_time, runtime=runtime,
    )  # fmt: skip
    sealed, sealed_report, _, _ = _seal(
        # DER as read (PEM and base64 decoded, /Contents padding dropped).
        sig=signing.signature_der(signature),
        content=content,
        pdf=None,
        timestamper=runtime.timestamper,
        verifier=verifier,
    )
    return _record(
        session,
        actor=actor,
        runtime=runtime,
        doc=doc,
        step=step,
        sig=sealed,
        received=signature,
        received_at=received_at,
        cms_report=sealed_report,
        cert=cert,
        pdf=None,
        pdf_report=None,
        authority=authority,
    )


def _verifier(
    doc: Document, trust: signing.TrustStore, revocation: str, received_at: dt.datetime
) -> Verifier:
    registered = doc.created_at
    if registered is not None and registered.tzinfo is None:
        registered = registered.replace(tzinfo=dt.UTC)
    return Verifier(
        trust=trust,
        revocation=revocation,
        received_at=received_at,
        registered_at=registered,
    )


def _scheme(algorithm: dict[str, Any]) -> str:
    """How the page signs an item: WebCrypto's ``pkcs1``/``pss``/``ecdsa``, or
    ``gost`` (GOST R 34.10-2012, with the Streebog named in ``hash``: only the
    CryptoPro browser plug-in signs it in a browser)."""
    name = str(algorithm.get("name", ""))
    return {
        "RSASSA-PKCS1-v1_5": "pkcs1",
        "RSA-PSS": "pss",
        "ECDSA": "ecdsa",
        "GOST R 34.10-2012": "gost",
    }.get(name, name)


@dataclass(frozen=True)
class PreparedItems:
    session_id: uuid.UUID
    items: list[dict[str, Any]]


def prepare_signing(
    session: Session,
    *,
    actor: Actor,
    document_id: uuid.UUID,
    certificate_id: uuid.UUID,
    runtime: Runtime,
    pades: bool = True,
) -> PreparedItems:
    """Phase one: the bytes the signer's key must sign (CMS, and PAdES for a PDF)."""
    doc = get_document(session, actor=actor, document_id=document_id, lock=True)
    step = require_turn(session, actor, doc)
    cert = session.get(Certificate, certificate_id)
    org_id = party_organisation_id(session, doc, step.party)
    if (
        cert is None
        or cert.organisation_id != org_id
        or cert.status != CertificateStatus.ACTIVE
        or (signs_with_own_certificate(actor) and cert.user_id != actor.user_id)
    ):
        raise SignatureRejectedError(
            "Выберите действующий сертификат, зарегистрированный вами для организации "
            "по этому договору.",
            code="certificate_not_registered",
        )
    # Refused now rather than after the signer has signed; checked again, at
    # the proven moment, when the signature arrives.
    authority = _authority(
        session, doc=doc, step=step, cert=cert, moment=utcnow(), runtime=runtime
    )
    stamp: Any = True
    if authority is not None:
        stamp = signing.StampInfo(
            extra_lines=(f"По доверенности {authority.power.label}",)
        )
    external = signing.ExternalSigner(cert.der)
    storage = runtime.storage
    state: dict[str, str] = {}
    items: list[dict[str, Any]] = []
    try:
        cms_prepared = external.prepare_cms(_original(storage, doc))
        state["cms"] = cms_prepared.to_json()
        items.append(
            {
                "kind": "cms",
                "tbs": base64.b64encode(cms_prepared.to_be_signed).decode(),
                "hash": cms_prepared.signature_algorithm.get("hash", "SHA-256"),
                "scheme": _scheme(cms_prepared.signature_algorithm),
                "algorithm": cms_prepared.signature_algorithm,
            }
        )
        latest = doc.latest_pdf
        if pades and latest is not None:
            pdf_prepared = external.prepare_pdf(
                storage.read_bytes(latest.blob_key),
                stamp=stamp,
                reason="Подписание документа",
                # Room for the signature time-stamp added at completion.
                timestamper=runtime.timestamper,
            )
            state["pades"] = pdf_prepared.to_json()
            items.append(
                {
                    "kind": "pades",
                    "tbs": base64.b64encode(pdf_prepared.to_be_signed).decode(),
                    "hash": pdf_prepared.signature_algorithm.get("hash", "SHA-256"),
                    "scheme": _scheme(pdf_prepared.signature_algorithm),
                    "algorithm": pdf_prepared.signature_algorithm,
                }
            )
    except signing.WeakAlgorithmError as exc:
        raise SignatureRejectedError(
            f"Сертификат использует слабый алгоритм: {exc}", code="weak_algorithm"
        ) from None
    except signing.SigningError as exc:
        raise ValidationError(
            f"Не удалось подготовить подпись: {exc}", code="signing_failed"
        ) from None

    signing_session = SigningSession(
        document_id=doc.id,
        user_id=actor.user_id,
        api_key_id=actor.api_key_id,
        certificate_id=cert.id,
        kind="pades" if "pades" in state else "cms",
        state=json.dumps(state).encode(),
        expires_at=utcnow() + SESSION_TTL,
    )
    session.add(signing_session)
    session.flush()
    return PreparedItems(signing_session.id, items)


def complete_signing(
    session: Session,
    *,
    actor: Actor,
    session_id: uuid.UUID,
    signatures: dict[str, bytes],
    runtime: Runtime,
) -> Signature:
    """Phase two: assemble, verify, seal and record the signature(s)."""
    received_at = runtime.now()
    timestamper = runtime.timestamper

    prepared = session.get(SigningSession, session_id, with_for_update=True)
    if (
        prepared is None
        or prepared.user_id != actor.user_id
        or prepared.api_key_id != actor.api_key_id
    ):
        raise NotFoundError("Сеанс подписания не найден.")
    if prepared.used_at is not None:
        raise ValidationError(
            "Сеанс подписания уже завершён.", code="signing_session_used"
        )
    expires = (
        prepared.expires_at
        if prepared.expires_at.tzinfo
        else prepared.expires_at.replace(tzinfo=dt.UTC)
    )
    if expires < utcnow():
        raise ValidationError(
            "Сеанс подписания истёк: начните подписание заново.",
            code="signing_session_expired",
        )
    prepared.used_at = utcnow()
    state = json.loads(prepared.state)
    doc = get_document(
        session, actor=actor, document_id=prepared.document_id, lock=True
    )
    step = require_turn(session, actor, doc)
    cert = session.get(Certificate, prepared.certificate_id)
    assert cert is not None
    missing = [k for k in state if not signatures.get(k)]
    if missing:
        raise ValidationError(
            "Не хватает значения подписи: " + ", ".join(missing),
            code="validation_error",
        )
    try:
        sig = signing.ExternalSigner.complete(state["cms"], signatures["cms"])
        pdf = (
            signing.ExternalSigner.complete(
                state["pades"], signatures["pades"], timestamper=timestamper
            )
            if "pades" in state
            else None
        )
    except signing.TimestampError as exc:
        raise _unavailable(exc) from exc
    except signing.SigningError:
        raise SignatureRejectedError(
            "Значение подписи не сходится с выбранным сертификатом: файл ключа не "
            "соответствует сертификату или данные повреждены."
        ) from None
    verifier = _verifier(doc, runtime.trust(session), runtime.revocation, received_at)
    content = _signed_content(runtime.storage, doc, sig)
    report = _verify_cms(content, sig, verifier)
    if report.verdict != signing.Verdict.VALID:
        raise _refuse_report(report, "Подпись")
    if report.signers[0].certificate.sha256 != cert.sha256:
        raise SignatureRejectedError(
            "Подпись сделана другим сертификатом.", code="certificate_not_registered"
        )
    authority = _authority(
        session, doc=doc, step=step, cert=cert,
        moment=report.signers[0].validation_time, runtime=runtime,
    )  # fmt: skip
    sealed, sealed_report, pdf_sealed, pdf_report = _seal(
        sig=sig, content=content, pdf=pdf, timestamper=timestamper, verifier=verifier
    )
    return _record(
        session,
        actor=actor,
        runtime=runtime,
        doc=doc,
        step=step,
        sig=sealed,
        received=sig,
        received_at=received_at,
        cms_report=sealed_report,
        cert=cert,
        pdf=pdf_sealed,
        pdf_report=pdf_report,
        authority=authority,
    )


def countersign(
    session: Session,
    *,
    actor: Actor,
    document_id: uuid.UUID,
    signer: Any,
    runtime: Runtime,
) -> Signature:
    """Sign for the supplier with the supplier's own key (PKCS#12 or PKCS#11):
    a detached CMS over the original and, for a PDF, the next PAdES revision;
    both sealed like a customer's."""
    received_at = runtime.now()
    storage, timestamper = runtime.storage, runtime.timestamper
    doc = get_document(session, actor=actor, document_id=document_id, lock=True)
    step = require_turn(session, actor, doc)
    if step.party != Party.SUPPLIER:
        raise ValidationError("Сейчас очередь подписи клиента.")
    verifier = _verifier(doc, runtime.trust(session), runtime.revocation, received_at)
    content = _original(storage, doc)
    sig = signing.sign_cms(content, signer)
    report = _verify_cms(content, sig, verifier)
    if report.verdict != signing.Verdict.VALID:
        raise _refuse_report(report, "Подпись поставщика")
    cert = _registered(
        session,
        actor=actor,
        organisation_id=party_organisation_id(session, doc, step.party),
        sha256=report.signers[0].certificate.sha256,
    )
    authority = _authority(
        session, doc=doc, step=step, cert=cert,
        moment=report.signers[0].validation_time, runtime=runtime,
    )  # fmt: skip
    pdf = None
    latest = doc.latest_pdf
    if latest is not None:
        pdf = signing.sign_pdf(
            storage.read_bytes(latest.blob_key),
            signer,
            reason="Подписание документа поставщиком",
            timestamper=timestamper,
        )
    sealed, sealed_report, pdf_sealed, pdf_report = _seal(
        sig=sig, content=content, pdf=pdf, timestamper=timestamper, verifier=verifier
    )
    return _record(
        session,
        actor=actor,
        runtime=runtime,
        doc=doc,
        step=step,
        sig=sealed,
        received=sig,
        received_at=received_at,
        cms_report=sealed_report,
        cert=cert,
        pdf=pdf_sealed,
        pdf_report=pdf_report,
        authority=authority,
    )


def get_signature(
    session: Session, *, actor: Actor, document_id: uuid.UUID, signature_id: uuid.UUID
) -> Signature:
    get_document(session, actor=actor, document_id=document_id)
    sig = session.get(Signature, signature_id)
    if sig is None or sig.document_id != document_id:
        raise NotFoundError("Подпись не найдена.")
    return sig
