"""The time of a signature in the flow, and its long-term evidence.

A signature is validated at its proof of existence — its time-stamp, else the
moment the service received it — never at the time the signer wrote into it.
Every accepted signature is time-stamped, given its long-term validation data
(CAdES-LTA, PAdES B-LTA), kept beside the bytes as received, and renewed by
archive time-stamps before they age out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import subprocess
import uuid

import pytest
from sqlalchemy import select

import signing
from docflow.db import transaction
from docflow.documents.archive import archive_status, renew_due
from docflow.documents.models import Document, FileRole, Signature
from signing import _cms_asn1 as der
from signing import cades
from signing.signers import Pkcs12Signer
from tests.functional.api_support import Api, api_for, error_code
from tests.functional.world import World, act_pdf, keys, world
from tests.services import require_command

__all__ = ["keys", "world"]


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _customer(world: World) -> Api:
    return api_for(world, world.org_a, "read,write,sign")


def _signer(issued: signing.pki.Issued) -> Pkcs12Signer:
    return Pkcs12Signer(issued.key, issued.cert, list(issued.chain))


def _document(api: Api, pdf: bytes) -> str:
    created = api.post_document(pdf=pdf)
    assert created.status_code == 201, created.get_json()
    return str(created.get_json()["id"])


def _registered(world: World, api: Api) -> None:
    registered = api.register_certificate(world.keys.signer_a.der)
    assert registered.status_code in (200, 201), registered.get_json()


def _signed_document(world: World) -> str:
    """A document of organisation A signed through the API by its signatory."""
    api = _customer(world)
    _registered(world, api)
    pdf = act_pdf()
    doc_id = _document(api, pdf)
    posted = signing.sign_cms(pdf, _signer(world.keys.signer_a))  # type: ignore[attr-defined]
    resp = api.sign(doc_id, posted)
    assert resp.status_code == 201, resp.get_json()
    return doc_id


def _stored(world: World, doc_id: str) -> tuple[Signature, bytes, bytes, bytes]:
    """The first signature, its sealed .sig, the bytes as received, the original."""
    with world.app.app_context():
        s = world.session()
        doc = s.get(Document, uuid.UUID(doc_id))
        assert doc is not None
        sig = doc.signatures[0]
        store = world.storage
        assert sig.sig_file is not None and sig.received_file is not None
        result = (
            sig,
            store.read_bytes(sig.sig_file.blob_key),
            store.read_bytes(sig.received_file.blob_key),
            store.read_bytes(doc.main_file.blob_key),
        )
        s.expunge_all()
        s.close()
    return result


def test_a_backdated_signature_of_an_expired_certificate_is_refused(
    world: World,
) -> None:
    # The certificate expired 35 days ago; the signature claims 40 days back.
    api = _customer(world)
    pdf = act_pdf()
    doc_id = _document(api, pdf)
    claimed = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    backdated = signing.sign_cms(  # type: ignore[attr-defined]
        pdf, _signer(world.keys.expired_a), signing_time=claimed
    )

    resp = api.sign(doc_id, backdated)

    assert resp.status_code == 422
    assert error_code(resp) == "certificate_expired"
    message = resp.get_json()["error"]["message"]
    assert "истёк" in message
    assert "момент получения подписи сервисом" in message
    assert "не подтверждено штампом времени" in message
    # Nothing was recorded, no blob left behind by the refusal.
    listed = api.get(f"/documents/{doc_id}/signatures").get_json()["items"]
    assert listed == []


def test_an_accepted_signature_is_time_stamped_and_sealed(world: World) -> None:
    api = _customer(world)
    _registered(world, api)
    pdf = act_pdf()
    doc_id = _document(api, pdf)
    claimed = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=2)
    posted = signing.sign_cms(pdf, _signer(world.keys.signer_a), signing_time=claimed)  # type: ignore[attr-defined]
    before = dt.datetime.now(dt.UTC)

    resp = api.sign(doc_id, posted)

    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()["signature"]
    assert body["signing_time_source"] == "timestamp"
    assert body["timestamp"]["serial"] and body["timestamp"]["tsa"]
    assert _parse(body["claimed_time"]) == claimed
    assert body["evidence_level"] == "CAdES-LTA"
    assert _parse(body["received_at"]) >= before.replace(microsecond=0)
    assert _parse(body["signing_time"]) >= before.replace(microsecond=0)

    sig, sealed, received, original = _stored(world, doc_id)
    assert received == posted  # the bytes exactly as they came
    assert sig.archive_until is not None
    tokens = cades.signature_timestamp_tokens(sealed)
    assert len(tokens) == 1
    (archive,) = cades.archive_timestamps(sealed, original)
    assert archive.imprint_matches
    data = cades.validation_data(sealed)
    assert world.keys.signer_a.der in data.certificates
    assert world.keys.root.der in data.certificates


def test_a_stored_signature_verifies_after_the_signer_certificate_expired(
    world: World,
) -> None:
    doc_id = _signed_document(world)
    _, sealed, received, original = _stored(world, doc_id)
    with world.app.app_context():
        s = world.session()
        trust = world.trust(s)
        s.close()
    later = world.keys.signer_a.cert.not_valid_after_utc + dt.timedelta(days=30)

    kept = signing.verify_cms(original, sealed, trust, at=later)  # type: ignore[attr-defined]
    bare = signing.verify_cms(original, received, trust, at=later)  # type: ignore[attr-defined]

    assert kept.verdict is signing.Verdict.VALID, kept.summary_ru()
    assert kept.signers[0].poe_source == "timestamp"
    assert bare.verdict is signing.Verdict.INVALID
    assert "expired" in bare.signers[0].codes


def test_openssl_verifies_the_sealed_signature_and_its_time_stamp(
    world: World, tmp_path: pytest.TempPathFactory
) -> None:
    openssl = require_command("openssl")
    doc_id = _signed_document(world)
    _, sealed, _, original = _stored(world, doc_id)
    root_pem = world.app.test_client().get("/tsa/root.crt")
    assert root_pem.status_code == 200
    folder = tmp_path  # type: ignore[assignment]
    (folder / "doc.pdf").write_bytes(original)  # type: ignore[operator]
    (folder / "x.sig").write_bytes(sealed)  # type: ignore[operator]
    (folder / "root.pem").write_bytes(world.keys.root.pem)  # type: ignore[operator]
    (folder / "tsa-root.pem").write_bytes(root_pem.data)  # type: ignore[operator]
    cms = subprocess.run(
        [
            openssl,
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(folder / "x.sig"),
            "-content",
            str(folder / "doc.pdf"),  # type: ignore[operator]
            "-CAfile",
            str(folder / "root.pem"),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],  # type: ignore[operator]
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Verification successful" in cms.stderr, cms.stderr

    signed_data = der.load_signed_data(sealed)
    value = signed_data["signer_infos"][0]["signature"].native
    tokens = [cades.signature_timestamp_tokens(sealed)[0]] + [
        a.token for a in cades.archive_timestamps(sealed, original)
    ]
    digests = [hashlib.sha256(value).hexdigest()]
    digests += [
        signing.tsa.read_token(t).imprint.hex()
        for t in tokens[1:]  # type: ignore[attr-defined]
    ]
    for n, (token, digest) in enumerate(zip(tokens, digests, strict=True)):
        path = folder / f"token{n}.der"  # type: ignore[operator]
        path.write_bytes(token)
        checked = subprocess.run(
            [
                openssl,
                "ts",
                "-verify",
                "-token_in",
                "-in",
                str(path),
                "-digest",
                digest,
                "-CAfile",
                str(folder / "tsa-root.pem"),
            ],  # type: ignore[operator]
            capture_output=True,
            text=True,
            check=False,
        )
        assert "Verification: OK" in checked.stdout, checked.stderr


def test_the_embedded_authority_answers_openssl_over_http(
    world: World, tmp_path: pytest.TempPathFactory
) -> None:
    openssl = require_command("openssl")
    folder = tmp_path
    (folder / "data").write_bytes(b"a document")  # type: ignore[operator]
    subprocess.run(
        [
            openssl,
            "ts",
            "-query",
            "-data",
            str(folder / "data"),
            "-sha256",
            "-cert",  # type: ignore[operator]
            "-out",
            str(folder / "q.tsq"),
        ],  # type: ignore[operator]
        check=True,
        capture_output=True,
    )
    client = world.app.test_client()
    query = (folder / "q.tsq").read_bytes()  # type: ignore[operator]

    answer = client.post("/tsa", data=query, content_type="application/timestamp-query")

    assert answer.status_code == 200
    assert answer.mimetype == "application/timestamp-reply"
    (folder / "r.tsr").write_bytes(answer.data)  # type: ignore[operator]
    (folder / "root.pem").write_bytes(client.get("/tsa/root.crt").data)  # type: ignore[operator]
    checked = subprocess.run(
        [
            openssl,
            "ts",
            "-verify",
            "-in",
            str(folder / "r.tsr"),
            "-queryfile",  # type: ignore[operator]
            str(folder / "q.tsq"),
            "-CAfile",
            str(folder / "root.pem"),
        ],  # type: ignore[operator]
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Verification: OK" in checked.stdout, checked.stderr
    wrong = client.post("/tsa", data=query, content_type="text/plain")
    assert wrong.status_code == 415
    garbage = client.post(
        "/tsa", data=b"\x30\x03\x02\x01\x05", content_type="application/timestamp-query"
    )
    assert garbage.status_code == 200  # RFC 3161: a refusal is an answer
    assert b"malformed" in garbage.data


def test_client_unsigned_attributes_are_refused_but_zero_padding_is_read(
    world: World,
) -> None:
    api = _customer(world)
    _registered(world, api)
    pdf = act_pdf()
    doc_id = _document(api, pdf)
    signer = _signer(world.keys.signer_a)
    template = signer.template_for("sha256")
    attrs = template.signed_attributes(
        hashlib.sha256(pdf).digest(), dt.datetime.now(dt.UTC)
    )
    value = signer.sign_raw(attrs, "sha256")
    # A countersignature attribute (RFC 5652 §11.4) by whatever key: stored
    # unchecked it would claim a second signer nobody verified.
    counter = der.seq(der.oid("1.2.840.113549.1.9.6"), der.der_set([der.seq()]))
    with_counter = template.content_info(attrs, value, [counter])

    refused = api.sign(doc_id, with_counter)

    assert refused.status_code == 422
    assert error_code(refused) == "signature_format"
    padded = template.content_info(attrs, value) + bytes(2048)
    accepted = api.sign(doc_id, padded)
    assert accepted.status_code == 201, accepted.get_json()


def test_a_claimed_time_in_the_future_is_a_warning_on_the_card(world: World) -> None:
    api = _customer(world)
    _registered(world, api)
    pdf = act_pdf()
    doc_id = _document(api, pdf)
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    resp = api.sign(
        doc_id,
        signing.sign_cms(pdf, _signer(world.keys.signer_a), signing_time=future),  # type: ignore[attr-defined]
    )
    assert resp.status_code == 201, resp.get_json()
    reasons = resp.get_json()["signature"]["report"]["cms"]["signers"][0]["reasons"]
    assert any(r["code"] == "claimed_time_implausible" for r in reasons)


def test_archive_renewal_adds_an_archive_time_stamp_when_due(world: World) -> None:
    doc_id = _signed_document(world)
    with world.app.app_context():
        s = world.session()
        sig = s.scalars(
            select(Signature).where(Signature.document_id == uuid.UUID(doc_id))
        ).one()
        ends = sig.archive_until
        # As if the authority's certificate ended in ten days.
        with transaction(s):
            sig.archive_until = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
        status = archive_status(s, horizon_days=90)
        assert status.due >= 1
        trust = world.trust(s)
        renewed = renew_due(
            s,
            runtime=world.runtime.replace(
                trust_source=lambda _session: trust, revocation="soft"
            ),
            horizon_days=90,
        )
        assert renewed >= 1
        s.expire_all()
        sig = s.get(Signature, sig.id)
        assert sig is not None and sig.sig_file is not None
        assert sig.archive_renewed_at is not None
        assert sig.archive_until is not None and ends is not None
        assert sig.archive_until.replace(tzinfo=dt.UTC) >= ends.replace(tzinfo=dt.UTC)
        sealed = world.storage.read_bytes(sig.sig_file.blob_key)
        original = world.storage.read_bytes(sig.document.main_file.blob_key)
        files = [f.role for f in sig.document.files]
        s.close()
    stamps = cades.archive_timestamps(sealed, original)
    assert len(stamps) == 2 and all(a.imprint_matches for a in stamps)
    assert files.count(FileRole.SIGNATURE) == 2  # the earlier one is kept
    report = signing.verify_cms(original, sealed, trust)  # type: ignore[attr-defined]
    assert report.verdict is signing.Verdict.VALID
    assert [t.kind for t in report.signers[0].timestamps] == [
        "signature",
        "archive",
        "archive",
    ]


def test_verify_names_the_moment_it_checked_a_backdated_signature_for(
    world: World,
) -> None:
    api = _customer(world)
    pdf = act_pdf()
    backdated = signing.sign_cms(  # type: ignore[attr-defined]
        pdf,
        _signer(world.keys.expired_a),
        signing_time=dt.datetime.now(dt.UTC) - dt.timedelta(days=40),
    )

    resp = api.post(
        "/verify",
        data={
            "file": (io.BytesIO(pdf), "act.pdf"),
            "signature": (io.BytesIO(backdated), "act.pdf.sig"),
        },
        content_type="multipart/form-data",
    )

    assert resp.status_code == 200
    report = resp.get_json()["report"]
    signer = report["signers"][0]
    assert report["verdict"] == "invalid"
    assert signer["poe_source"] == "receipt"
    assert any(r["code"] == "expired" for r in signer["reasons"])
    assert "момент получения подписи сервисом" in signer["summary"]
