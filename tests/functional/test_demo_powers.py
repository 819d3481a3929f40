"""The demo world's employee who signs «по доверенности»: Сидорова Анна
Павловна of ООО «Ромашка», her personal certificate (no ИНН ЮЛ) registered, her
МЧД (format 003) signed by the head, published in the registry double and on
file; a ПРОМ10 act awaiting the customer's signature, which she signs at once.
Running ``docflow demo`` again changes nothing, and a revocation tried in the
registry double or in the cabinet survives it."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from flask import Flask
from sqlalchemy import func, select

from docflow.access import Actor
from docflow.accounts.models import User
from docflow.certificates.models import Certificate, CertificateStatus
from docflow.commands import render_demo_text
from docflow.contracts.models import Contract, ContractAccess, Organisation
from docflow.db import transaction
from docflow.demo import EMPLOYEE, EMPLOYEE_POWER, create_demo_world
from docflow.documents.models import DocStatus, Document
from docflow.models import Base
from docflow.powers.models import PowerOfAttorney, PowerStatus
from docflow.powers.registry import FileRegistry, RegistryState, open_registry
from docflow.powers.services import authorise, revoke_power
from signing import read_power_of_attorney
from signing.mchd import FormatVersion
from tests.functional.contract_world import session
from tests.functional.newcomer_world import CLERK, Demo, demo

__all__ = ["demo"]

EMAIL = "employee@romashka.example"
HEAD = "signer@romashka.example"
ROMASHKA_INN = "7701234567"


def _world(app: Flask) -> dict[str, Any]:
    with app.app_context():
        return create_demo_world()


def _registry(app: Flask) -> FileRegistry:
    settings = app.extensions["docflow"].settings
    registry = open_registry(
        settings.signatures.mchd_registry_url, var_dir=settings.var_dir
    )
    assert isinstance(registry, FileRegistry), settings.signatures.mchd_registry_url
    return registry


def _power(s: Any) -> PowerOfAttorney:
    power = s.scalar(
        select(PowerOfAttorney).where(
            PowerOfAttorney.number == EMPLOYEE_POWER["number"]
        )
    )
    assert power is not None
    return power


def test_the_demo_world_has_an_employee_with_a_power_of_attorney(
    app: Flask,
) -> None:
    world = _world(app)

    user_row = next(u for u in world["users"] if u["email"] == EMAIL)
    assert user_row["name"] == "Сидорова Анна Павловна"
    assert user_row["password"] == "demo12345"
    assert "по доверенности" in user_row["role_title"].lower()
    assert "МЧД-1/2026" in user_row["note"]
    key = next(k for k in world["keys"] if k["email"] == EMAIL)
    assert "по доверенности" in key["owner"] and key["password"] == "demo1234"
    assert Path(key["p12"]).is_file() and Path(key["cert"]).is_file()
    printed = render_demo_text(world)
    assert EMAIL in printed and "Сидорова Анна Павловна (по доверенности)" in printed

    (entry,) = world["powers_of_attorney"]
    assert entry["number"] == EMPLOYEE_POWER["number"]
    assert entry["status"] == "действует" and entry["registry"] == "active"
    assert entry["label"].startswith("№ МЧД-1/2026 (")
    poa = read_power_of_attorney(Path(entry["xml"]).read_bytes())
    assert Path(entry["signature"]).is_file()
    assert entry["xml"].endswith("romashka-employee-mchd.xml")
    assert entry["signature"].endswith("romashka-employee-mchd.xml.sig")
    assert poa.principal.inn == ROMASHKA_INN and poa.head is not None
    assert (poa.head.last_name, poa.head.inn) == ("Иванов", "500100732259")
    today = dt.date.today()
    assert poa.issued_on <= today - dt.timedelta(days=28)
    assert poa.valid_until >= today + dt.timedelta(days=300)

    with session(app) as s:
        user = s.scalar(select(User).where(User.email == EMAIL))
        head = s.scalar(select(User).where(User.email == HEAD))
        org = s.scalar(select(Organisation).where(Organisation.inn == ROMASHKA_INN))
        assert user is not None and head is not None and org is not None
        rights = s.execute(
            select(Contract.number, ContractAccess)
            .join(ContractAccess, ContractAccess.contract_id == Contract.id)
            .where(ContractAccess.user_id == user.id)
        ).all()
        assert sorted(n for n, _a in rights) == ["77-0001-ЮЛ", "77-0002-ЮЛ"]
        for _number, access in rights:
            assert access.can_view and access.can_sign and access.can_submit_readings
            assert not access.can_manage

        (cert,) = s.scalars(select(Certificate).where(Certificate.user_id == user.id))
        assert cert.status == CertificateStatus.ACTIVE
        assert cert.organisation_id == org.id
        assert cert.inn_le is None and cert.inn == EMPLOYEE["inn"]
        assert (
            cert.snils
            and "".join(ch for ch in cert.snils if ch.isdigit()) == (EMPLOYEE["snils"])
        )

        power = _power(s)
        assert power.organisation_id == org.id
        assert power.status == PowerStatus.ACTIVE
        assert power.internal_number == "МЧД-1/2026"
        assert power.format_version == FormatVersion.V003.value
        assert set(power.coded_powers) == {"02.001", "01.002"}
        assert any(p["code"] is None and p["text"] for p in power.powers)
        assert power.representative_names == "Сидорова Анна Павловна"
        assert power.uploaded_by_id == head.id
        assert power.certificate_id == cert.id
        assert power.status_source == "registry"
        assert (
            _registry(app).status(power.number, ROMASHKA_INN).state
            is RegistryState.ACTIVE
        )

        # A ПРОМ10 act awaits the customer's signature, and she may sign it.
        act = next(d for d in world["documents"] if d["type"] == "prom10")
        assert act["contract"] == "77-0001-ЮЛ"
        doc = s.get(Document, uuid.UUID(act["id"]))
        assert doc is not None and doc.doc_type == "prom10"
        assert doc.status == DocStatus.AWAITING
        with app.app_context():
            authority = authorise(
                s,
                organisation=org,
                certificate=cert,
                doc_type="prom10",
                moment=dt.datetime.now(dt.UTC),
                runtime=app.extensions["docflow"].runtime.replace(
                    registry=_registry(app)
                ),
            )
        assert authority is not None and authority.power.id == power.id

    # The documents the other tests pick first stay first.
    first = next(d for d in world["documents"] if d["contract"] == "77-0001-ЮЛ")
    assert first["number"] == "ДС-3/2026"


def _counts(app: Flask) -> dict[str, int]:
    with session(app) as s:
        return {
            t.name: s.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }


def test_running_the_demo_twice_changes_nothing(app: Flask) -> None:
    first = _world(app)
    counts = _counts(app)
    registry_file = _registry(app).path.read_bytes()
    demo_dir = Path(first["trust"]["root"]).parent
    files = {p.name: p.read_bytes() for p in demo_dir.iterdir()}

    second = _world(app)
    assert json.dumps(second, sort_keys=True) == json.dumps(first, sort_keys=True)
    assert _counts(app) == counts
    assert _registry(app).path.read_bytes() == registry_file
    assert {p.name: p.read_bytes() for p in demo_dir.iterdir()} == files


def test_a_revocation_in_the_registry_double_survives_a_rerun(app: Flask) -> None:
    _world(app)
    registry = _registry(app)
    assert registry.revoke(str(EMPLOYEE_POWER["number"]))
    world = _world(app)
    assert world["powers_of_attorney"][0]["registry"] == "revoked"
    state = registry.status(str(EMPLOYEE_POWER["number"]), ROMASHKA_INN).state
    assert state is RegistryState.REVOKED


def test_a_revocation_in_the_cabinet_survives_a_rerun(app: Flask) -> None:
    _world(app)
    with app.app_context():
        s = session(app)
        admin = s.scalar(select(User).where(User.email == "admin@energosbyt.example"))
        assert admin is not None
        with transaction(s):
            revoke_power(
                s,
                actor=Actor.for_user(admin),
                power_id=_power(s).id,
                reason="проверка",
            )
        s.close()
    world = _world(app)
    assert world["powers_of_attorney"][0]["status"] == "отозвана"
    with session(app) as s:
        assert _power(s).status == PowerStatus.REVOKED
        assert (
            s.scalar(
                select(func.count())
                .select_from(PowerOfAttorney)
                .where(PowerOfAttorney.number == EMPLOYEE_POWER["number"])
            )
            == 1
        )


def test_the_employee_signs_the_act_under_her_power_of_attorney(demo: Demo) -> None:
    act = next(d for d in demo.world["documents"] if d["type"] == "prom10")
    client = demo.client(EMAIL)
    demo.sign_as_customer(client, EMAIL, act["id"])
    with session(demo.app) as s:
        doc = s.get(Document, uuid.UUID(act["id"]))
        assert doc is not None and doc.status == DocStatus.PARTLY_SIGNED
        (signature,) = doc.signatures
        power = _power(s)
        assert signature.power_of_attorney_id == power.id
        assert "МЧД-1/2026" in signature.report["power_of_attorney"]["label"]
    card = demo.client(CLERK).get(f"/documents/{act['id']}").get_data(as_text=True)
    assert "Сидорова" in card
    # The package keeps the МЧД and its signature beside the signature it
    # backs, and its report names it.
    package = demo.client(CLERK).get(f"/documents/{act['id']}/package.zip")
    assert package.status_code == 200
    with zipfile.ZipFile(io.BytesIO(package.data)) as zf:
        names = zf.namelist()
        kept = [n for n in names if "/signatures/power-of-attorney/" in n]
        assert any(n.endswith(".xml") for n in kept), names
        assert any(n.endswith(".xml.sig") for n in kept), names
        report = next(n for n in names if n.endswith("/report.json"))
        assert "МЧД-1/2026" in zf.read(report).decode("utf-8")


def _try_to_sign(demo: Demo, email: str, doc_id: str) -> Any:
    """The signing page's steps with the key file; the first refusal, if any."""

    client = demo.client(email)
    with session(demo.app) as s:
        user = s.scalar(select(User).where(User.email == email))
        assert user is not None
        cert_id = s.scalar(select(Certificate.id).where(Certificate.user_id == user.id))
    prepared = client.post(
        f"/documents/{doc_id}/sign/prepare", json={"certificate_id": str(cert_id)}
    )
    if prepared.status_code != 200:
        return prepared
    key = demo.key(email)
    private_key, _, _ = pkcs12.load_key_and_certificates(
        Path(key["p12"]).read_bytes(), key["password"].encode()
    )
    assert isinstance(private_key, rsa.RSAPrivateKey)
    body = prepared.get_json()
    digests = {"SHA-256": hashes.SHA256(), "SHA-384": hashes.SHA384()}
    values = {
        item["kind"]: base64.b64encode(
            private_key.sign(
                base64.b64decode(item["tbs"]),
                padding.PKCS1v15(),
                digests[item["hash"]],
            )
        ).decode()
        for item in body["items"]
    }
    return client.post(
        f"/documents/{doc_id}/sign/complete",
        json={"session_id": body["session_id"], "signatures": values},
    )


def test_after_a_revocation_in_the_registry_double_her_signature_is_refused(
    demo: Demo,
) -> None:
    act = next(d for d in demo.world["documents"] if d["type"] == "prom10")
    runner = demo.app.test_cli_runner()
    revoked = runner.invoke(
        args=["mchd", "registry", "revoke", EMPLOYEE_POWER["number"]]
    )
    assert revoked.exit_code == 0, revoked.output
    refused = _try_to_sign(demo, EMAIL, act["id"])
    assert refused.status_code == 422, refused.get_data(as_text=True)
    error = refused.get_json()["error"]
    assert error["code"] == "power_of_attorney_revoked"
    assert EMPLOYEE_POWER["number"] in error["message"]
    assert "отозвана" in error["message"] and "реестр" in error["message"]
    with session(demo.app) as s:
        doc = s.get(Document, uuid.UUID(act["id"]))
        assert doc is not None and doc.status == DocStatus.AWAITING
        assert doc.signatures == []
