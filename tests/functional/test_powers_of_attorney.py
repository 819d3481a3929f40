"""Signing for a company under a machine-readable power of attorney (МЧД).

An employee's personal certificate carries no ИНН ЮЛ: it signs for the
organisation only under an МЧД, signed by the organisation's head, that is
valid at the proven moment of the signature, names the certificate's holder,
has the organisation as principal, grants a power mapped to the document's
type and is not revoked. Each failed condition is refused with its own code.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
import zipfile
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

import signing
from docflow.access import Actor
from docflow.audit.models import AuditRecord
from docflow.certificates.services import add_trust_anchor
from docflow.db import transaction
from docflow.documents.models import Document, FileRole
from docflow.errors import DocflowError
from docflow.powers import services as powers
from docflow.powers.models import PowerOfAttorney, PowerStatus
from docflow.powers.registry import FileRegistry, open_registry
from signing import cades, pki
from signing.mchd import Organisation as Principal
from signing.signers import Pkcs12Signer
from signing.tsa import TimeStampAuthority
from tests.functional.api_support import Api, api_for, error_code
from tests.functional.power_support import (
    PowerKeys,
    power_keys,
    power_xml,
    sign_detached,
    signed_power,
)
from tests.functional.world import World, act_pdf, keys, world

__all__ = ["keys", "power_keys", "world"]


def _upload(
    world: World, xml: bytes, sig: bytes, *, user: Any = None
) -> PowerOfAttorney:
    with world.app.app_context():
        s = world.session()
        actor = Actor.for_user(s.merge(user or world.signer_a))
        with transaction(s):
            power, _ = powers.upload_power(
                s,
                actor=actor,
                xml=xml,
                signature=sig,
                runtime=world.runtime.replace(registry=_registry(world)),
            )
            s.expunge(power)
        s.close()
    return power


def _registry(world: World) -> Any:
    settings = world.app.extensions["docflow"].settings
    return open_registry(
        settings.signatures.mchd_registry_url, var_dir=settings.var_dir
    )


def _refused_upload(world: World, xml: bytes, sig: bytes, **kw: Any) -> DocflowError:
    with pytest.raises(DocflowError) as caught:
        _upload(world, xml, sig, **kw)
    return caught.value


def _api(world: World) -> Api:
    return api_for(world, world.org_a, "read,write,sign")


def _document(api: Api, **meta: Any) -> str:
    created = api.post_document(pdf=act_pdf(), **meta)
    assert created.status_code == 201, created.get_json()
    return str(created.get_json()["id"])


def _sign_as_employee(
    world: World, power_keys: PowerKeys, api: Api, doc_id: str
) -> Any:
    with world.app.app_context():
        s = world.session()
        doc = s.get(Document, uuid.UUID(doc_id))
        assert doc is not None
        original = world.storage.read_bytes(doc.main_file.blob_key)
        s.close()
    return api.sign(doc_id, sign_detached(power_keys.employee, original))


def test_an_employee_signs_a_prom10_act_under_a_power_of_attorney(
    world: World, power_keys: PowerKeys
) -> None:
    number, xml, sig = signed_power(world)
    _upload(world, xml, sig)
    api = _api(world)
    registered = api.register_certificate(power_keys.employee.der)
    assert registered.status_code == 201, registered.get_json()
    assert registered.get_json()["certificate"]["organisation"]["inn"] == "7701234567"
    doc_id = _document(api)
    signed = _sign_as_employee(world, power_keys, api, doc_id)
    assert signed.status_code == 201, signed.get_json()
    with world.app.app_context():
        s = world.session()
        doc = s.get(Document, uuid.UUID(doc_id))
        assert doc is not None
        signature = doc.signatures[0]
        assert signature.power_of_attorney_id is not None
        evidence = signature.report["power_of_attorney"]
        assert evidence["number"] == number
        assert evidence["status_source"].startswith("встроенный реестр")
        kept = {
            f.filename: f for f in doc.files if f.role == FileRole.POWER_OF_ATTORNEY
        }
        assert len(kept) == 2
        xml_file = next(f for n, f in kept.items() if n.endswith(".xml"))
        assert world.storage.read_bytes(xml_file.blob_key) == xml
        s.close()


def test_a_personal_certificate_without_a_power_is_refused_at_registration(
    world: World, power_keys: PowerKeys
) -> None:
    refused = _api(world).register_certificate(power_keys.employee.der)
    assert refused.status_code == 422
    body = refused.get_json()["error"]
    assert body["code"] == "power_of_attorney_required", body
    assert "МЧД" in body["message"]


def test_the_signature_of_the_power_must_be_the_principals_head(
    world: World, power_keys: PowerKeys
) -> None:
    # Signed by the head of another organisation (АО «Василёк»).
    _, xml, sig = signed_power(world, signed_by=world.keys.signer_b)
    assert _refused_upload(world, xml, sig).code == "power_of_attorney_signer"
    # Signed by the employee themself.
    _, xml, sig = signed_power(world, signed_by=power_keys.employee)
    assert _refused_upload(world, xml, sig).code == "power_of_attorney_signer"
    # Over other bytes.
    _, xml, sig = signed_power(world)
    assert (
        _refused_upload(world, xml.replace(b"7/2026", b"8/2026"), sig).code
        == "power_of_attorney_signature"
    )


def test_a_foreign_principal_is_refused(world: World, power_keys: PowerKeys) -> None:
    vasilek = Principal("АО «Василёк»", "5003012345", "1035000712345", "500301001")
    _, xml, sig = signed_power(world, principal=vasilek, signed_by=world.keys.signer_b)
    # Ромашка's signatory cannot file Василёк's power of attorney.
    assert _refused_upload(world, xml, sig).code == "power_of_attorney_principal"
    # Filed by Василёк's signatory, it still does not let the employee sign
    # for Ромашка.
    _upload(world, xml, sig, user=world.signer_b)
    api = _api(world)
    refused = api.register_certificate(power_keys.employee.der)
    assert error_code(refused) == "power_of_attorney_required"


def test_an_expired_power_is_refused(world: World, power_keys: PowerKeys) -> None:
    today = dt.date.today()
    _, xml, sig = signed_power(
        world,
        issued_on=today - dt.timedelta(days=400),
        valid_until=today - dt.timedelta(days=1),
    )
    assert _refused_upload(world, xml, sig).code == "power_of_attorney_expired"


def test_a_power_expired_after_registration_is_refused_at_signing(
    world: World, power_keys: PowerKeys
) -> None:
    _, xml, sig = signed_power(world)
    power = _upload(world, xml, sig)
    api = _api(world)
    assert api.register_certificate(power_keys.employee.der).status_code == 201
    doc_id = _document(api)
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            row = s.get(PowerOfAttorney, power.id)
            assert row is not None
            row.valid_until = dt.date.today() - dt.timedelta(days=2)
        s.close()
    refused = _sign_as_employee(world, power_keys, api, doc_id)
    assert error_code(refused) == "power_of_attorney_expired"


def test_a_revoked_power_is_refused(world: World, power_keys: PowerKeys) -> None:
    _, xml, sig = signed_power(world)
    power = _upload(world, xml, sig)
    api = _api(world)
    assert api.register_certificate(power_keys.employee.der).status_code == 201
    doc_id = _document(api)
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            powers.revoke_power(
                s, actor=Actor.for_user(s.merge(world.signer_a)), power_id=power.id,
                reason="сотрудник уволен",
            )  # fmt: skip
        s.close()
    refused = _sign_as_employee(world, power_keys, api, doc_id)
    assert error_code(refused) == "power_of_attorney_revoked"
    assert refused.get_json()["error"]["message"].startswith("МЧД")


def test_a_power_revoked_in_the_registry_is_refused(
    world: World, power_keys: PowerKeys
) -> None:
    number, xml, sig = signed_power(world)
    _upload(world, xml, sig)
    api = _api(world)
    assert api.register_certificate(power_keys.employee.der).status_code == 201
    doc_id = _document(api)
    registry = _registry(world)
    assert isinstance(registry, FileRegistry)
    registry.revoke(number)
    refused = _sign_as_employee(world, power_keys, api, doc_id)
    assert error_code(refused) == "power_of_attorney_revoked"
    assert "реестр" in refused.get_json()["error"]["message"]


def test_a_power_unknown_to_the_registry_is_refused(world: World) -> None:
    _, xml = power_xml()  # never published
    sig = sign_detached(world.keys.signer_a, xml)
    assert _refused_upload(world, xml, sig).code == "power_of_attorney_not_registered"


def test_a_power_without_the_right_power_is_refused(
    world: World, power_keys: PowerKeys
) -> None:
    _, xml, sig = signed_power(world, codes=("99.999",))
    _upload(world, xml, sig)
    api = _api(world)
    assert api.register_certificate(power_keys.employee.der).status_code == 201
    doc_id = _document(api)
    refused = _sign_as_employee(world, power_keys, api, doc_id)
    assert error_code(refused) == "power_of_attorney_power"
    assert refused.get_json()["error"]["details"]["required"] == ["02.001", "02.002"]


def test_a_representative_mismatch_is_refused(
    world: World, power_keys: PowerKeys
) -> None:
    _, xml, sig = signed_power(world)
    _upload(world, xml, sig)
    # Another person's personal certificate: the МЧД does not name them.
    refused = _api(world).register_certificate(power_keys.stranger.der)
    assert error_code(refused) == "power_of_attorney_required"
    # Uploaded for a certificate whose holder it does not name.
    with world.app.app_context():
        s = world.session()
        actor = Actor.for_user(s.merge(world.signer_a))
        _, xml2, sig2 = signed_power(world)
        with pytest.raises(DocflowError) as caught, transaction(s):
            powers.upload_power(
                s, actor=actor, xml=xml2, signature=sig2,
                runtime=world.runtime.replace(registry=_registry(world)),
                certificate=__import__("signing").inspect_certificate(power_keys.stranger.der),
            )  # fmt: skip
        s.close()
    assert caught.value.code == "power_of_attorney_representative"


def test_the_same_number_with_other_content_is_a_conflict(world: World) -> None:
    number, xml, sig = signed_power(world)
    _upload(world, xml, sig)
    again = _upload(world, xml, sig)  # the same file: the row on file
    _, other, other_sig = signed_power(world, number=number, codes=("02.002",))
    assert (
        _refused_upload(world, other, other_sig).code == "power_of_attorney_duplicate"
    )
    with world.app.app_context():
        s = world.session()
        count = len(s.scalars(select(PowerOfAttorney)).all())
        s.close()
    assert count == 1 and again.status == PowerStatus.ACTIVE


def test_the_package_and_the_audit_carry_the_power(
    world: World, power_keys: PowerKeys
) -> None:
    number, xml, sig = signed_power(world)
    _upload(world, xml, sig)
    api = _api(world)
    assert api.register_certificate(power_keys.employee.der).status_code == 201
    doc_id = _document(api)
    assert _sign_as_employee(world, power_keys, api, doc_id).status_code == 201
    package = api.get(f"/documents/{doc_id}/package")
    assert package.status_code == 200, package.data[:300]
    with zipfile.ZipFile(io.BytesIO(package.data)) as zf:
        names = zf.namelist()
        mchd = [n for n in names if n.endswith(f"mchd-{number}.xml")]
        assert mchd and zf.read(mchd[0]) == xml
        report_name = next(n for n in names if n.endswith("report.json"))
        report = json.loads(zf.read(report_name))
    assert report["signatures"][0]["report"]["power_of_attorney"]["number"] == number

    with world.app.app_context():
        s = world.session()
        actions = {r.action: r for r in s.scalars(select(AuditRecord))}
        s.close()
    assert "power_of_attorney.upload" in actions
    assert number in actions["document.sign"].details["power_of_attorney"]


def test_the_power_is_judged_at_the_proven_moment_never_the_claim(
    world: World,
) -> None:
    """A signature time-stamped while the МЧД was in force stands after it
    ends; one that only *claims* that moment is judged at receipt."""

    now = dt.datetime.now(dt.UTC)
    old_root = pki.make_root_ca("УЦ с историей", not_before=now - dt.timedelta(days=60))
    employee = pki.make_signer(
        old_root, surname="Сидорова", given_name="Анна Павловна", organization=None,
        title=None, inn="500301234560", inn_le=None, ogrn=None, snils="12345678964",
        not_before=now - dt.timedelta(days=30),
    )  # fmt: skip
    tsa_cert = pki.make_tsa(old_root, not_before=now - dt.timedelta(days=30))
    five_days_ago = now - dt.timedelta(days=5)
    tsa = TimeStampAuthority(
        Pkcs12Signer(tsa_cert.key, tsa_cert.cert, list(tsa_cert.chain)),
        policy="2.25.1",
        clock=lambda: five_days_ago,
    )
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            add_trust_anchor(s, actor=None, data=old_root.der)
        s.close()
    _, xml, sig = signed_power(world)
    power = _upload(world, xml, sig)
    api = _api(world)
    assert api.register_certificate(employee.der).status_code == 201
    first, second = _document(api), _document(api, number="П-11/2026")
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            row = s.get(PowerOfAttorney, power.id)
            assert row is not None
            row.valid_until = (now - dt.timedelta(days=3)).date()
        originals = {
            d: world.storage.read_bytes(
                s.get(Document, uuid.UUID(d)).main_file.blob_key
            )  # type: ignore[union-attr]
            for d in (first, second)
        }
        s.close()
    # Claimed five days ago, proven only by receipt today: refused.
    claimed = sign_detached_at(employee, originals[first], five_days_ago)
    assert error_code(api.sign(first, claimed)) == "power_of_attorney_expired"
    # Time-stamped five days ago by a trusted authority: in force then.
    stamped = cades.add_signature_timestamp(
        sign_detached_at(employee, originals[second], five_days_ago), tsa
    )
    accepted = api.sign(second, stamped)
    assert accepted.status_code == 201, accepted.get_json()
    with world.app.app_context():
        s = world.session()
        doc = s.get(Document, uuid.UUID(second))
        assert doc is not None
        valid_at = dt.datetime.fromisoformat(
            doc.signatures[0].report["power_of_attorney"]["valid_at"]
        )
        s.close()
    assert abs(valid_at - five_days_ago) < dt.timedelta(seconds=2)


def sign_detached_at(issued: Any, content: bytes, moment: dt.datetime) -> bytes:
    signer = signing.Pkcs12Signer.load(issued.pkcs12("pw"), "pw")  # type: ignore[attr-defined]
    return signing.sign_cms(content, signer, signing_time=moment)  # type: ignore[attr-defined, no-any-return]


def test_an_organisation_certificate_of_the_old_kind_needs_no_power() -> None:
    """Before 2021 a certificate carried the ИНН ЮЛ in the INN attribute (10
    digits): it signs for its organisation without an МЧД, as it registers."""

    org = SimpleNamespace(inn="7701234567")
    old_kind = SimpleNamespace(inn_le=None, inn="7701234567")
    personal = SimpleNamespace(inn_le=None, inn="500301234560")
    other_company = SimpleNamespace(inn_le="5003012345", inn="500100732259")
    assert not powers.is_personal(old_kind, org)  # type: ignore[arg-type]
    assert powers.is_personal(personal, org)  # type: ignore[arg-type]
    assert powers.is_personal(other_company, org)  # type: ignore[arg-type]
