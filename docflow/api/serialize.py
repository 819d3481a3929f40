"""The API's JSON shapes of documents, signatures, certificates, powers of
attorney, webhooks and events, built as plain dicts (the GET path is hot: no
model is validated per answer). Field names are part of the public contract:
the models of :mod:`docflow.api.schemas` describe these shapes in the
generated document, and the tests hold real answers against it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from docflow.certificates.models import Certificate
from docflow.documents.models import Document, DocumentFile, Signature
from docflow.documents.services import status_label
from docflow.outbox.models import Event, Webhook
from docflow.powers.models import PowerOfAttorney
from docflow.powers.services import status_of


def iso(moment: dt.datetime | None) -> str | None:
    """UTC ISO 8601 (SQLite gives back naive UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def file_json(f: DocumentFile) -> dict[str, Any]:
    return {
        "id": str(f.id),
        "role": f.role.value,
        "filename": f.filename,
        "content_type": f.content_type,
        "size": f.size,
        "sha256": f.sha256,
        "revision": f.revision,
    }


def signature_json(sig: Signature, *, report: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(sig.id),
        "document_id": str(sig.document_id),
        "party": sig.party.value,
        "signer_name": sig.signer_name,
        "signer_organisation": sig.signer_organisation,
        "certificate_id": str(sig.certificate_id) if sig.certificate_id else None,
        "certificate_serial": sig.certificate_serial,
        "certificate_not_before": iso(sig.certificate_not_before),
        "certificate_not_after": iso(sig.certificate_not_after),
        "signing_time": iso(sig.signing_time),
        "signing_time_source": sig.signing_time_source,
        "received_at": iso(sig.received_at),
        "claimed_time": iso(sig.claimed_time),
        "timestamp": {
            "time": iso(sig.timestamp_time),
            "serial": sig.timestamp_serial,
            "tsa": sig.tsa_name,
        }
        if sig.timestamp_time is not None and sig.timestamp_serial
        else None,
        "evidence_level": sig.evidence_level,
        "archive_until": iso(sig.archive_until),
        "verdict": sig.verdict.value,
        "has_pades": sig.pdf_file_id is not None,
        "power_of_attorney": signature_power(sig.report),
        "created_at": iso(sig.created_at),
    }
    if report:
        # The XML validation report travels in the package, not in JSON.
        out["report"] = {k: v for k, v in (sig.report or {}).items() if k != "etsi_xml"}
    return out


#: What a signature's JSON shows of the МЧД it was made under: enough to name
#: it and see how its status was checked; its representatives and powers are
#: at ``GET /powers-of-attorney/{id}``.
SIGNATURE_POWER_FIELDS = (
    "id",
    "number",
    "internal_number",
    "label",
    "issued_on",
    "valid_until",
    "principal",
    "signer",
    "xml_sha256",
    "status_source",
    "status_checked_at",
    "valid_at",
)


def signature_power(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The МЧД a signature was made under (``report["power_of_attorney"]``,
    the evidence kept at signing), or ``None`` for a signature that needed none."""
    evidence = (report or {}).get("power_of_attorney")
    if not isinstance(evidence, dict):
        return None
    return {name: evidence.get(name) for name in SIGNATURE_POWER_FIELDS}


def document_json(doc: Document) -> dict[str, Any]:
    return {
        "id": str(doc.id),
        "type": doc.doc_type.value,
        "type_title": doc.type_title,
        "number": doc.number,
        "date": doc.doc_date.isoformat(),
        "title": doc.title,
        "comment": doc.comment,
        "status": doc.status.value,
        "status_label": status_label(doc),
        "source": doc.source,
        "contract": {"id": str(doc.contract_id), "number": doc.contract.number},
        "organisation": {
            "id": str(doc.organisation_id),
            "name": doc.organisation.name,
            "inn": doc.organisation.inn,
        },
        "route": [
            {
                "position": s.position,
                "party": s.party.value,
                "status": s.status.value,
                "completed_at": iso(s.completed_at),
            }
            for s in doc.steps
        ],
        "files": [file_json(f) for f in doc.files],
        "signatures": [signature_json(s) for s in doc.signatures],
        "refusal_reason": doc.refusal_reason,
        "revocation_reason": doc.revocation_reason,
        "created_at": iso(doc.created_at),
        "updated_at": iso(doc.updated_at),
        "completed_at": iso(doc.completed_at),
    }


def certificate_json(cert: Certificate) -> dict[str, Any]:
    return {
        "id": str(cert.id),
        "organisation": {
            "id": str(cert.organisation_id),
            "name": cert.organisation.name,
            "inn": cert.organisation.inn,
        },
        "owner": cert.owner,
        "organisation_name": cert.organisation_name,
        "title": cert.title,
        "inn": cert.inn,
        "inn_le": cert.inn_le,
        "ogrn": cert.ogrn,
        "snils": cert.snils,
        "serial": cert.serial_hex,
        "issuer": cert.issuer,
        "sha1": cert.sha1,
        "sha256": cert.sha256,
        "not_before": iso(cert.not_before),
        "not_after": iso(cert.not_after),
        "status": cert.status.value,
        "verdict": cert.verdict,
        "registered_at": iso(cert.registered_at),
        "revoked_at": iso(cert.revoked_at),
    }


def _person_json(person: dict[str, Any]) -> dict[str, Any]:
    return {
        name: person.get(name)
        for name in ("last_name", "first_name", "patronymic", "snils", "inn")
    }


def power_json(power: PowerOfAttorney) -> dict[str, Any]:
    """An МЧД on file: what was read from its XML, who signed it, its status."""
    principal = power.principal or {}
    return {
        "id": str(power.id),
        "number": power.number,
        "internal_number": power.internal_number,
        "label": power.label,
        "format_version": power.format_version,
        "issued_on": power.issued_on.isoformat(),
        "valid_until": power.valid_until.isoformat(),
        "principal": {
            name: principal.get(name) for name in ("name", "inn", "ogrn", "kpp")
        },
        "organisation": {
            "id": str(power.organisation_id),
            "name": power.organisation.name,
            "inn": power.organisation.inn,
        },
        "representatives": [_person_json(p) for p in power.representatives or []],
        "powers": [
            {"code": p.get("code"), "text": p.get("text") or ""}
            for p in power.powers or []
        ],
        "redelegation": power.redelegation,
        "head": _person_json(power.head) if power.head else None,
        "signer": {
            "name": power.signer_name,
            "serial": power.signer_serial,
            "inn_le": power.signer_inn_le,
            "qualified": bool(power.signer_qualified),
        },
        "status": power.status.value,
        "status_label": status_of(power)[1],
        "status_source": power.status_source,
        "status_checked_at": iso(power.status_checked_at),
        "revoked_at": iso(power.revoked_at),
        "revocation_reason": power.revocation_reason,
        "certificate_id": str(power.certificate_id) if power.certificate_id else None,
        "xml_sha256": power.xml_sha256,
        "created_at": iso(power.created_at),
    }


def webhook_json(hook: Webhook, *, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(hook.id),
        "url": hook.url,
        "events": hook.kind_list,
        "description": hook.description,
        "created_at": iso(hook.created_at),
    }
    if secret is not None:
        out["secret"] = secret
    return out


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "kind": event.kind,
        "organisation_id": str(event.organisation_id)
        if event.organisation_id
        else None,
        "created_at": iso(event.created_at),
        "data": event.payload,
    }
