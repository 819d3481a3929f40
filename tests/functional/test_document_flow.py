"""The document flow through its services, on PostgreSQL and SQLite."""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from sqlalchemy import select, update

import signing
from docflow.access import Actor
from docflow.audit.models import AuditRecord
from docflow.audit.services import verify_chain
from docflow.certificates.services import register_certificate
from docflow.db import transaction
from docflow.documents import services as svc
from docflow.documents import signing_flow as flow
from docflow.documents.models import DocStatus, Document, Signature
from docflow.errors import (
    DocflowError,
    InvalidTransitionError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationError,
)
from tests.functional.world import (
    World,
    act_pdf,
    keys,
    new_document,
    register_cert,
    world,
)

__all__ = ["keys", "world"]


def sign_tbs(
    issued: signing.pki.Issued, tbs: bytes, hash_name: str = "SHA-256"
) -> bytes:
    algo = {
        "SHA-256": hashes.SHA256(),
        "SHA-384": hashes.SHA384(),
        "SHA-512": hashes.SHA512(),
    }[hash_name]
    key = issued.key
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(tbs, padding.PKCS1v15(), algo)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key.sign(tbs, ec.ECDSA(algo))


def sign_in_browser(
    w: World,
    user: Any,
    doc_id: uuid.UUID,
    issued: signing.pki.Issued,
    cert_id: uuid.UUID,
) -> Signature:
    """What the page does: prepare, sign each item with the key, complete."""
    with w.app.app_context():
        s = w.session()
        actor = Actor.for_user(s.merge(user))
        with transaction(s):
            prepared = flow.prepare_signing(
                s,
                actor=actor,
                document_id=doc_id,
                certificate_id=cert_id,
                runtime=w.runtime,
            )
        values = {
            item["kind"]: sign_tbs(issued, base64.b64decode(item["tbs"]), item["hash"])
            for item in prepared.items
        }
        with transaction(s):
            sig = flow.complete_signing(
                s,
                actor=actor,
                session_id=prepared.session_id,
                signatures=values,
                runtime=w.runtime,
            )
        s.expunge_all()
        s.close()
    return sig


def load(w: World, doc_id: uuid.UUID) -> Document:
    with w.app.app_context():
        s = w.session()
        doc = s.get(Document, doc_id)
        assert doc is not None
        _ = doc.steps, doc.files, doc.contract
        for signature in doc.signatures:
            _ = signature.sig_file, signature.pdf_file
        s.expunge_all()
        s.close()
    return doc


def countersign(w: World, doc_id: uuid.UUID) -> Signature:
    signer = signing.Pkcs12Signer.load(w.keys.supplier.pkcs12("pw"), "pw")
    with w.app.app_context():
        s = w.session()
        with transaction(s):
            sig = flow.countersign(
                s,
                actor=Actor.for_user(s.merge(w.clerk)),
                document_id=doc_id,
                signer=signer,
                runtime=w.runtime,
            )
        s.close()
    return sig


# -- certificates ---------------------------------------------------------------


def test_valid_certificate_of_a_contract_organisation_is_registered(
    world: World,
) -> None:
    result = register_cert(world, world.signer_a, world.keys.signer_a)
    assert result.accepted
    assert result.organisation.inn == "7701234567"
    assert result.info.owner == "Иванов Иван Иванович"
    assert result.validation.verdict == signing.Verdict.VALID


@pytest.mark.parametrize(
    ("who", "which", "expected"),
    [
        ("signer_a", "foreign_a", "нет сертификата издателя"),
        ("signer_a", "expired_a", "истёк"),
        ("signer_a", "signer_b", "не совпадает ни с одним договором"),
        ("viewer_a", "signer_a", "не совпадает ни с одним договором"),
    ],
)
def test_certificate_registration_refusals_say_why(
    world: World, who: str, which: str, expected: str
) -> None:
    result = register_cert(world, getattr(world, who), getattr(world.keys, which))
    assert not result.accepted
    assert any(expected in p.lower() or expected in p for p in result.problems), (
        result.problems
    )


def test_garbage_certificate_is_a_clear_validation_error(world: World) -> None:
    with world.app.app_context():
        s = world.session()
        with pytest.raises(ValidationError, match="не является сертификатом"):
            register_certificate(
                s,
                actor=Actor.for_user(s.merge(world.signer_a)),
                data=b"not a certificate",
                runtime=world.runtime,
            )
        s.close()


# -- registration ---------------------------------------------------------------


def test_registration_keeps_the_original_bytes_and_their_digest(world: World) -> None:
    pdf = act_pdf()
    doc_id = new_document(world, pdf=pdf)
    doc = load(world, doc_id)
    assert doc.status == DocStatus.AWAITING
    assert doc.main_file.sha256 == hashlib.sha256(pdf).hexdigest()
    assert world.storage.read_bytes(doc.main_file.blob_key) == pdf
    assert [s.party.value for s in doc.steps] == ["customer", "supplier"]
    assert svc.status_label(doc) == "Ожидает подписи клиента"


@pytest.mark.parametrize(
    ("filename", "data", "error", "text"),
    [
        ("virus.exe", b"MZ\x90\x00", ValidationError, "такой тип не принимается"),
        (
            "act.pdf",
            b"GIF89a not a pdf",
            ValidationError,
            "не соответствует расширению",
        ),
        ("empty.pdf", b"", ValidationError, "пуст"),
        (
            "big.pdf",
            b"%PDF-1.7\n" + b"0" * 3000,
            PayloadTooLargeError,
            "больше допустимых",
        ),
    ],
)
def test_bad_uploads_are_refused_and_leave_nothing(
    world: World, filename: str, data: bytes, error: type[DocflowError], text: str
) -> None:
    before = set(world.storage.iter_keys())
    with pytest.raises(error, match=text):
        new_document(world, pdf=data, filename=filename, max_bytes=2048)
    assert set(world.storage.iter_keys()) == before
    with world.app.app_context():
        s = world.session()
        assert s.scalar(select(Document)) is None
        s.close()


def test_customer_cannot_register_for_a_foreign_contract(world: World) -> None:
    with pytest.raises(NotFoundError):
        new_document(world, by=world.signer_a, contract=world.contract_b)


def test_idempotency_key_returns_the_same_document(world: World) -> None:
    first = new_document(world, idempotency_key="erp-42")
    second = new_document(world, idempotency_key="erp-42")
    assert first == second


# -- signing ----------------------------------------------------------------------


@pytest.mark.parametrize("key_name", ["signer_a", "signer_a_ec"])
def test_two_phase_signing_then_countersign_gives_two_valid_pdf_signatures(
    world: World, key_name: str
) -> None:
    issued = getattr(world.keys, key_name)
    cert = register_cert(world, world.signer_a, issued).certificate
    doc_id = new_document(world)
    sig = sign_in_browser(world, world.signer_a, doc_id, issued, cert.id)
    assert sig.verdict.value == "valid"
    doc = load(world, doc_id)
    assert doc.status == DocStatus.PARTLY_SIGNED
    assert svc.status_label(doc) == "Подписан клиентом, ожидает подписи поставщика"

    register_cert(world, world.clerk, world.keys.supplier)
    countersign(world, doc_id)
    doc = load(world, doc_id)
    assert doc.status == DocStatus.SIGNED
    latest = doc.latest_pdf
    assert latest is not None and latest.revision == 2
    with world.app.app_context():
        s = world.session()
        report = signing.verify_pdf(
            world.storage.read_bytes(latest.blob_key), world.trust(s)
        )
        original = world.storage.read_bytes(doc.main_file.blob_key)
        for signature in doc.signatures:
            sig_bytes = world.storage.read_bytes(signature.sig_file.blob_key)
            cms = signing.verify_cms(original, sig_bytes, world.trust(s))
            assert cms.verdict == signing.Verdict.VALID
        s.close()
    assert report.verdict == signing.Verdict.VALID
    assert len(report.signatures) == 2
    assert {x.certificate.organization for x in report.signatures} == {
        "ООО «Ромашка»",
        "АО «Энергосбыт»",
    }


def test_detached_signature_of_another_document_is_refused(world: World) -> None:
    register_cert(world, world.signer_a, world.keys.signer_a)
    doc_id = new_document(world)
    signer = signing.Pkcs12Signer.load(world.keys.signer_a.pkcs12("pw"), "pw")
    wrong = signing.sign_cms(b"another document", signer)
    with world.app.app_context():
        s = world.session()
        with pytest.raises(flow.SignatureRejectedError) as err:
            flow.accept_cms_signature(
                s,
                actor=Actor.for_user(s.merge(world.signer_a)),
                document_id=doc_id,
                signature=wrong,
                runtime=world.runtime,
            )
        assert err.value.code == "signature_invalid"
        s.rollback()
        s.close()
    assert load(world, doc_id).status == DocStatus.AWAITING


def test_signature_by_an_unregistered_certificate_is_refused(world: World) -> None:
    doc_id = new_document(world)
    original = world.storage.read_bytes(load(world, doc_id).main_file.blob_key)
    signer = signing.Pkcs12Signer.load(world.keys.signer_a.pkcs12("pw"), "pw")
    with world.app.app_context():
        s = world.session()
        with pytest.raises(flow.SignatureRejectedError) as err:
            flow.accept_cms_signature(
                s,
                actor=Actor.for_user(s.merge(world.signer_a)),
                document_id=doc_id,
                signature=signing.sign_cms(original, signer),
                runtime=world.runtime,
            )
        assert err.value.code == "certificate_not_registered"
        s.close()


def test_detached_cms_from_an_integration_advances_the_route(world: World) -> None:
    register_cert(world, world.signer_a, world.keys.signer_a)
    doc_id = new_document(world)
    original = world.storage.read_bytes(load(world, doc_id).main_file.blob_key)
    signer = signing.Pkcs12Signer.load(world.keys.signer_a.pkcs12("pw"), "pw")
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            flow.accept_cms_signature(
                s,
                actor=Actor.for_user(s.merge(world.signer_a)),
                document_id=doc_id,
                signature=signing.sign_cms(original, signer),
                runtime=world.runtime,
            )
        s.close()
    doc = load(world, doc_id)
    assert doc.status == DocStatus.PARTLY_SIGNED
    assert (
        doc.latest_pdf is not None and doc.latest_pdf.revision == 0
    )  # no PAdES from a .sig


def test_not_my_turn_and_no_sign_right_are_refused(world: World) -> None:
    cert = register_cert(world, world.signer_a, world.keys.signer_a).certificate
    doc_id = new_document(world, route=("supplier", "customer"))
    with world.app.app_context():
        s = world.session()
        with pytest.raises(
            InvalidTransitionError, match="очередь подписи другой стороны"
        ):
            flow.prepare_signing(
                s,
                actor=Actor.for_user(s.merge(world.signer_a)),
                document_id=doc_id,
                certificate_id=cert.id,
                runtime=world.runtime,
            )
        s.rollback()
        s.close()
    other = new_document(world)
    with world.app.app_context():
        s = world.session()
        with pytest.raises(DocflowError, match="нет права подписи"):
            svc.refuse(
                s,
                actor=Actor.for_user(s.merge(world.viewer_a)),
                document_id=other,
                reason="не согласен",
                runtime=world.runtime,
            )
        s.close()


def test_two_clerks_countersigning_at_once_give_one_signature(world: World) -> None:
    register_cert(world, world.signer_a, world.keys.signer_a)
    register_cert(world, world.clerk, world.keys.supplier)
    doc_id = new_document(world, route=("supplier",))
    results: list[str] = []

    def attempt() -> None:
        try:
            countersign(world, doc_id)
            results.append("signed")
        except DocflowError as exc:
            results.append(type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - a stale version is also a refusal
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("signed") == 1, results
    assert len(load(world, doc_id).signatures) == 1


# -- transitions ----------------------------------------------------------------


def test_refusal_needs_a_reason_and_ends_the_route(world: World) -> None:
    doc_id = new_document(world)
    with world.app.app_context():
        s = world.session()
        actor = Actor.for_user(s.merge(world.signer_a))
        with pytest.raises(ValidationError):
            svc.refuse(
                s, actor=actor, document_id=doc_id, reason=" ", runtime=world.runtime
            )
        with transaction(s):
            svc.refuse(
                s,
                actor=actor,
                document_id=doc_id,
                reason="Неверные показания",
                runtime=world.runtime,
            )
        s.close()
    doc = load(world, doc_id)
    assert (
        doc.status == DocStatus.REFUSED and doc.refusal_reason == "Неверные показания"
    )


def test_delete_only_before_any_signature_and_revocation_needs_both(
    world: World,
) -> None:
    register_cert(world, world.signer_a, world.keys.signer_a)
    register_cert(world, world.clerk, world.keys.supplier)
    unsigned = new_document(world)
    signed = new_document(world, route=("supplier",))
    countersign(world, signed)
    with world.app.app_context():
        s = world.session()
        customer = Actor.for_user(s.merge(world.signer_a))
        clerk = Actor.for_user(s.merge(world.clerk))
        with transaction(s):
            svc.delete_document(s, actor=clerk, document_id=unsigned)
        with pytest.raises(InvalidTransitionError, match="можно только аннулировать"):
            svc.delete_document(s, actor=clerk, document_id=signed)
        s.rollback()
        with transaction(s):
            svc.request_revocation(
                s,
                actor=customer,
                document_id=signed,
                reason="Ошибка в акте",
                runtime=world.runtime,
            )
        with pytest.raises(InvalidTransitionError, match="другая сторона"):
            svc.answer_revocation(
                s,
                actor=customer,
                document_id=signed,
                accept=True,
                runtime=world.runtime,
            )
        s.rollback()
        with transaction(s):
            svc.answer_revocation(
                s, actor=clerk, document_id=signed, accept=True, runtime=world.runtime
            )
        # Deleted documents vanish for customers.
        with pytest.raises(NotFoundError):
            svc.get_document(s, actor=customer, document_id=unsigned)
        s.close()
    assert load(world, signed).status == DocStatus.REVOKED


def test_replacing_a_signed_version_is_refused(world: World) -> None:
    register_cert(world, world.clerk, world.keys.supplier)
    first = new_document(world, route=("supplier", "customer"))
    countersign(world, first)
    with world.app.app_context():
        s = world.session()
        old = s.get(Document, first)
        with pytest.raises(InvalidTransitionError, match="уже подписана"):
            svc.register_document(
                s,
                actor=Actor.for_user(s.merge(world.clerk)),
                runtime=world.runtime,
                contract_id=world.contract_a.id,
                doc_type="prom10",
                number="П-1",
                doc_date=old.doc_date,
                title="Акт",
                replaces=old,
                main_file=svc.Upload.from_bytes("act.pdf", act_pdf()),
            )
        s.close()


# -- audit ---------------------------------------------------------------------------


def test_audit_chain_verifies_and_detects_tampering(world: World) -> None:
    register_cert(world, world.signer_a, world.keys.signer_a)
    doc_id = new_document(world)
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            svc.refuse(
                s,
                actor=Actor.for_user(s.merge(world.signer_a)),
                document_id=doc_id,
                reason="Не тот период",
                runtime=world.runtime,
            )
        count, problems = verify_chain(s)
        assert count >= 3 and problems == []
        s.execute(
            update(AuditRecord)
            .where(AuditRecord.action == "document.register")
            .values(actor_label="кто-то другой")
        )
        s.commit()
        count, problems = verify_chain(s)
        assert any("does not match" in p.problem for p in problems)
        s.close()
