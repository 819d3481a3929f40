"""GOST R 34.10-2012 in the document flow: a GOST certificate registers like
any other, a customer's GOST ``.sig`` made by another stack (OpenSSL with the
GOST engine) is verified, sealed and recorded, and the supplier countersigns
with a GOST key file (``SUPPLIER_SIGNER_KEY`` + ``SUPPLIER_SIGNER_CERT``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

import signing
from docflow.certificates.services import add_trust_anchor
from docflow.config import ConfigError, Settings
from docflow.db import transaction
from docflow.documents.models import DocStatus, Document
from docflow.documents.tasks import countersign_document, key_file_signer
from signing import cades, gost
from signing.signers import GostSigner
from tests.functional.api_support import Api, api_for, error_code
from tests.functional.world import (
    Keys,
    World,
    act_pdf,
    keys,
    register_cert,
    world,
)
from tests.unit.signing import gost_pki
from tests.unit.signing.gost_openssl import find_gost_openssl, gost_openssl

__all__ = ["keys", "world"]

ROMASHKA = {
    "organization": "ООО «Ромашка»",
    "surname": "Иванов",
    "given_name": "Иван Иванович",
    "inn_le": "7701234567",
}


@dataclass(frozen=True)
class GostKeys:
    pki: gost_pki.GostPki
    supplier: gost_pki.GostIssued  # АО «Энергосбыт», 512-bit
    foreign_a: gost_pki.GostIssued  # Ромашка's ИНН ЮЛ, from a foreign GOST CA


@pytest.fixture(scope="session")
def gost_keys() -> GostKeys:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    pki = gost_pki.make_pki(now)
    day = dt.timedelta(days=1)
    supplier = gost_pki.issue(
        gost.GostPrivateKey.generate(gost_pki.TC26_512_A),
        issuer=pki.intermediate,
        common_name="АО «Энергосбыт»",
        organization="АО «Энергосбыт»",
        surname="Смирнова",
        given_name="Ольга Петровна",
        inn_le="7736520080",
        not_before=now - 30 * day,
        not_after=now + 335 * day,
        serial=0x3001,
        crl_url=gost_pki.CRL_URL,
    )
    foreign_a = gost_pki.issue(
        gost.GostPrivateKey.generate(gost_pki.CRYPTOPRO_A),
        issuer=pki.foreign_root,
        common_name="ООО «Ромашка»",
        not_before=now - 30 * day,
        not_after=now + 335 * day,
        serial=0x3002,
        **ROMASHKA,
    )
    return GostKeys(pki, supplier, foreign_a)


@pytest.fixture()
def gost_world(world: World, gost_keys: GostKeys) -> Iterator[World]:
    """The world, with the GOST root in the app's trust directory (as the RSA
    root), its CRLs beside it and its intermediate a registered anchor."""
    trust_dir = Path(world.app.extensions["docflow"].settings.signatures.trust_store)
    files = {
        trust_dir / "test-gost-root.crt": gost_keys.pki.root.pem,
        trust_dir / "test-gost-root.crl": gost_keys.pki.root_crl,
        trust_dir / "test-gost-intermediate.crl": gost_keys.pki.crl,
    }
    for path, data in files.items():
        path.write_bytes(data)
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            add_trust_anchor(s, actor=None, data=gost_keys.pki.intermediate.der)
        s.close()
    yield world
    # The anchor row goes with the tables (the app fixture empties them).
    for path in files:
        path.unlink(missing_ok=True)


def _customer(world: World) -> Api:
    return api_for(world, world.org_a, "read,write,sign")


def _document(api: Api, pdf: bytes) -> str:
    created = api.post_document(pdf=pdf)
    assert created.status_code == 201, created.get_json()
    return str(created.get_json()["id"])


def _register_customer_key(api: Api, gost_keys: GostKeys) -> None:
    registered = api.register_certificate(gost_keys.pki.signer_256.der)
    assert registered.status_code in (200, 201), registered.get_json()


def _customer_sig(content: bytes, gost_keys: GostKeys, folder: Path) -> bytes:
    """A GOST CAdES-BES by OpenSSL with the GOST engine (another stack than
    ours); by :class:`GostSigner` where the engine is not installed."""
    issued = gost_keys.pki.signer_256
    openssl = find_gost_openssl(folder)
    if openssl is None:
        signer = GostSigner(issued.key, issued.cert, issued.chain_certs)
        return signing.sign_cms(content, signer)  # type: ignore[attr-defined,no-any-return]
    return openssl.sign(
        content, issued.key.pem(), issued.pem, gost_keys.pki.intermediate.pem,
        "md_gost12_256",
    )  # fmt: skip


def test_gost_certificate_registers_for_its_organisation(
    gost_world: World, gost_keys: GostKeys
) -> None:
    api = _customer(gost_world)

    registered = api.register_certificate(gost_keys.pki.signer_256.der)

    assert registered.status_code in (200, 201), registered.get_json()
    body = registered.get_json()
    assert body["validation"]["verdict"] == "valid"
    assert body["certificate"]["inn_le"] == "7701234567"
    assert body["certificate"]["organisation"]["inn"] == "7701234567"


def test_gost_certificate_of_a_foreign_gost_ca_is_refused(
    gost_world: World, gost_keys: GostKeys
) -> None:
    api = _customer(gost_world)

    foreign = api.register_certificate(gost_keys.foreign_a.der)

    assert foreign.status_code == 422, foreign.get_json()
    assert error_code(foreign) == "certificate_invalid"
    assert foreign.get_json()["error"]["details"]["problems"]


def test_customer_gost_sig_is_verified_sealed_and_recorded(
    gost_world: World, gost_keys: GostKeys, tmp_path: Path
) -> None:
    api = _customer(gost_world)
    _register_customer_key(api, gost_keys)
    pdf = act_pdf()
    doc_id = _document(api, pdf)
    posted = _customer_sig(pdf, gost_keys, tmp_path)

    resp = api.sign(doc_id, posted)

    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()["signature"]
    assert body["verdict"] == "valid"
    assert body["signing_time_source"] == "timestamp"
    assert body["evidence_level"] == "CAdES-LTA"
    with gost_world.app.app_context():
        s = gost_world.session()
        doc = s.get(Document, uuid.UUID(doc_id))
        assert doc is not None and doc.status == DocStatus.PARTLY_SIGNED
        (sig,) = doc.signatures
        assert sig.sig_file is not None and sig.received_file is not None
        sealed = gost_world.storage.read_bytes(sig.sig_file.blob_key)
        received = gost_world.storage.read_bytes(sig.received_file.blob_key)
        s.close()
    assert received == posted
    (archive,) = cades.archive_timestamps(sealed, pdf)
    assert archive.imprint_matches
    assert len(cades.signature_timestamp_tokens(sealed)) == 1
    # Shown with its qualified status: the test certificate carries no
    # sign-tool fields and its CA is not in the accredited list, so it says so.
    signer = body["report"]["cms"]["signers"][0]
    assert signer["qualified"]["is_qualified"] is False
    assert signer["qualified"]["summary"].startswith("Неквалифицированный")


def test_gost_sig_of_a_changed_document_is_refused(
    gost_world: World, gost_keys: GostKeys, tmp_path: Path
) -> None:
    api = _customer(gost_world)
    _register_customer_key(api, gost_keys)
    pdf = act_pdf()
    doc_id = _document(api, pdf)
    changed = bytearray(pdf)
    changed[len(changed) // 2] ^= 0x01

    resp = api.sign(doc_id, _customer_sig(bytes(changed), gost_keys, tmp_path))

    assert resp.status_code == 422, resp.get_json()
    assert error_code(resp) == "signature_invalid"
    assert api.get(f"/documents/{doc_id}/signatures").get_json()["items"] == []


def test_supplier_countersigns_with_a_gost_key_file(
    gost_world: World,
    gost_keys: GostKeys,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = _customer(gost_world)
    _register_customer_key(api, gost_keys)
    pdf = act_pdf()
    doc_id = _document(api, pdf)
    assert api.sign(doc_id, _customer_sig(pdf, gost_keys, tmp_path)).status_code == 201
    supplier = register_cert(gost_world, gost_world.clerk, gost_keys.supplier)  # type: ignore[arg-type]
    assert supplier.accepted, supplier.problems
    key_file, cert_file = tmp_path / "supplier.key", tmp_path / "supplier.pem"
    key_file.write_bytes(gost_keys.supplier.key.pem())
    cert_file.write_bytes(gost_keys.supplier.pem + gost_keys.pki.intermediate.pem)
    state = gost_world.app.extensions["docflow"]
    monkeypatch.setattr(
        state,
        "settings",
        state.settings.replace(
            supplier_signer_p12=None,
            supplier_signer_key=str(key_file),
            supplier_signer_cert=str(cert_file),
        ),
    )

    with gost_world.app.app_context():
        assert countersign_document(doc_id, str(gost_world.clerk.id)) == "signed"

    with gost_world.app.app_context():
        s = gost_world.session()
        doc = s.get(Document, uuid.UUID(doc_id))
        assert doc is not None and doc.status == DocStatus.SIGNED
        countersignature = doc.signatures[-1]
        assert countersignature.verdict.value == "valid"
        sealed = gost_world.storage.read_bytes(countersignature.sig_file.blob_key)
        latest = doc.latest_pdf
        assert latest is not None
        signed_pdf = gost_world.storage.read_bytes(latest.blob_key)
        trust = gost_world.trust(s)
        cms = signing.verify_cms(pdf, sealed, trust)  # type: ignore[attr-defined]
        report = signing.verify_pdf(signed_pdf, trust)  # type: ignore[attr-defined]
        s.close()
    assert cms.verdict is signing.Verdict.VALID, cms.summary_ru()
    assert cms.signers[0].digest_algorithm == "streebog512"
    assert report.verdict is signing.Verdict.VALID, report.summary_ru()
    assert report.signatures[-1].signer.digest_algorithm == "streebog512"
    assert report.signatures[-1].certificate.organization == "АО «Энергосбыт»"
    # The supplier's .sig, as stored, is accepted by OpenSSL's GOST engine.
    openssl = gost_openssl(tmp_path)
    assert openssl.verifies(sealed, pdf, gost_keys.pki.root.pem)


def test_supplier_key_file_settings_go_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPLIER_SIGNER_KEY", str(tmp_path / "supplier.key"))
    with pytest.raises(ConfigError, match="SUPPLIER_SIGNER_CERT"):
        Settings.from_env(var_dir=tmp_path)

    monkeypatch.setenv("SUPPLIER_SIGNER_CERT", str(tmp_path / "supplier.pem"))
    settings = Settings.from_env(var_dir=tmp_path)
    assert settings.supplier.signer_key == str(tmp_path / "supplier.key")
    assert settings.supplier.signer_cert == str(tmp_path / "supplier.pem")


def test_supplier_key_file_may_hold_an_rsa_key(keys: Keys, gost_keys: GostKeys) -> None:

    rsa_key = keys.supplier.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    rsa = key_file_signer(rsa_key, keys.supplier.pem + keys.root.pem, "pw")
    issued = gost_keys.supplier
    gost_signer = key_file_signer(issued.key.pem(), issued.pem, None)

    assert isinstance(rsa, signing.Pkcs12Signer)  # type: ignore[attr-defined]
    assert len(rsa.chain) == 1
    assert isinstance(gost_signer, GostSigner)
    assert gost_signer.default_digest == "streebog512"
