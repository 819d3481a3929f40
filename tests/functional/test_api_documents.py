"""The REST API's document flow, route by route: status codes, shapes, codes."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest

from tests.functional.api_support import Api, api_for, error_code, sign_cms
from tests.functional.test_document_flow import sign_tbs
from tests.functional.world import World, act_pdf, keys, world

__all__ = ["keys", "world"]


def _customer(world: World, scopes: str = "read,write,sign") -> Api:
    return api_for(world, world.org_a, scopes)


def test_customer_posts_signs_and_supplier_countersigns_through_the_api(
    world: World,
) -> None:
    customer, supplier = _customer(world), api_for(world, None)
    registered = customer.register_certificate(world.keys.signer_a.der)
    assert registered.status_code == 201, registered.get_json()
    cert = registered.get_json()["certificate"]
    assert cert["inn_le"] == "7701234567" and cert["status"] == "active"
    assert registered.get_json()["validation"]["verdict"] == "valid"
    again = customer.register_certificate(world.keys.signer_a.der)
    assert again.status_code == 200
    assert again.get_json()["certificate"]["id"] == cert["id"]

    pdf = act_pdf()
    created = customer.post_document(
        pdf=pdf, attachments=(("расчёт.xlsx", b"PK\x03\x04 not really"),)
    )
    assert created.status_code == 201, created.get_json()
    doc = created.get_json()
    assert created.headers["Location"] == f"/api/v1/documents/{doc['id']}"
    assert doc["status"] == "awaiting"
    assert doc["source"] == "api"
    assert doc["status_label"] == "Ожидает подписи клиента"
    assert [f["role"] for f in doc["files"]] == ["main", "attachment"]
    assert [s["party"] for s in doc["route"]] == ["customer", "supplier"]

    content = customer.get(f"/documents/{doc['id']}/content")
    assert content.status_code == 200
    assert content.data == pdf
    assert content.headers["X-Content-SHA256"] == doc["files"][0]["sha256"]

    signed = customer.sign(doc["id"], sign_cms(world.keys.signer_a, pdf))
    assert signed.status_code == 201, signed.get_json()
    body = signed.get_json()
    assert body["signature"]["verdict"] == "valid"
    assert body["signature"]["report"]["cms"]["verdict"] == "valid"
    assert body["document"]["status"] == "partly_signed"

    assert supplier.register_certificate(world.keys.supplier.der).status_code == 201
    counter = supplier.post(
        f"/documents/{doc['id']}/signatures",
        json={
            "signature": base64.b64encode(sign_cms(world.keys.supplier, pdf)).decode()
        },
    )
    assert counter.status_code == 201, counter.get_json()
    assert counter.get_json()["document"]["status"] == "signed"

    listed = customer.get(f"/documents/{doc['id']}/signatures").get_json()["items"]
    assert [s["party"] for s in listed] == ["customer", "supplier"]
    sig_file = customer.get(f"/documents/{doc['id']}/signatures/{listed[0]['id']}")
    assert sig_file.status_code == 200
    assert sig_file.mimetype == "application/pkcs7-signature"
    report = customer.get(
        f"/documents/{doc['id']}/signatures/{listed[0]['id']}",
        headers={"Accept": "application/json"},
    )
    assert report.get_json()["report"]["cms"]["verdict"] == "valid"

    package = customer.get(f"/documents/{doc['id']}/package")
    assert package.status_code == 200 and package.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(package.data)).namelist()
    assert "manifest.json" in names
    sealed = [n for n in names if n.endswith(".sig") and "/as-received/" not in n]
    as_received = [n for n in names if "/signatures/as-received/" in n]
    assert len(sealed) == 2  # CAdES-LTA, one per party
    assert len(as_received) == 2  # the bytes as each party sent them


def test_idempotency_key_returns_the_same_document(world: World) -> None:
    api = _customer(world)
    first = api.post_document(headers={"Idempotency-Key": "billing-2026-10-0001"})
    second = api.post_document(headers={"Idempotency-Key": "billing-2026-10-0001"})
    assert first.status_code == 201 and second.status_code == 200
    assert first.get_json()["id"] == second.get_json()["id"]
    third = api.post_document(headers={"Idempotency-Key": "billing-2026-10-0002"})
    assert third.status_code == 201 and third.get_json()["id"] != first.get_json()["id"]
    bad = api.post_document(headers={"Idempotency-Key": "пробел и кириллица"})
    assert bad.status_code == 422 and error_code(bad) == "validation_error"


def test_pades_two_phase_signing_over_the_api(world: World) -> None:
    api = _customer(world)
    cert_id = api.register_certificate(world.keys.signer_a.der).get_json()[
        "certificate"
    ]["id"]
    doc_id = api.post_document().get_json()["id"]
    prepared = api.post(
        f"/documents/{doc_id}/pades/prepare", json={"certificate_id": cert_id}
    )
    assert prepared.status_code == 200, prepared.get_json()
    items = prepared.get_json()["items"]
    assert {i["kind"] for i in items} == {"cms", "pades"}
    values = {
        i["kind"]: base64.b64encode(
            sign_tbs(world.keys.signer_a, base64.b64decode(i["tbs"]), i["hash"])
        ).decode()
        for i in items
    }
    session_id = prepared.get_json()["session_id"]
    # Another key of the same organisation cannot complete this key's session.
    other = api_for(world, world.org_a)
    stolen = other.post(
        f"/documents/{doc_id}/pades/complete",
        json={"session_id": session_id, "signatures": values},
    )
    assert stolen.status_code == 404 and error_code(stolen) == "not_found"
    done = api.post(
        f"/documents/{doc_id}/pades/complete",
        json={"session_id": session_id, "signatures": values},
    )
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["signature"]["has_pades"] is True
    files = api.get(f"/documents/{doc_id}/files").get_json()["items"]
    revision = next(f for f in files if f["role"] == "revision")
    pdf = api.get(f"/documents/{doc_id}/files/{revision['id']}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    replay = api.post(
        f"/documents/{doc_id}/pades/complete",
        json={"session_id": session_id, "signatures": values},
    )
    assert replay.status_code == 422
    assert error_code(replay) == "signing_session_used"


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("unregistered", 422, "certificate_not_registered"),
        ("other_content", 422, "signature_invalid"),
        ("garbage", 422, "signature_format"),
        ("revoked_registration", 422, "certificate_not_registered"),
        ("empty", 422, "validation_error"),
        ("bad_base64", 422, "validation_error"),
        ("wrong_media_type", 415, "unsupported_media_type"),
        ("too_large", 413, "payload_too_large"),
    ],
)
def test_signature_refusals_have_stable_codes(
    world: World, case: str, status: int, code: str
) -> None:
    api = _customer(world)
    pdf = act_pdf()
    doc_id = api.post_document(pdf=pdf).get_json()["id"]
    if case != "unregistered":
        cert_id = api.register_certificate(world.keys.signer_a.der).get_json()[
            "certificate"
        ]["id"]
    if case == "revoked_registration":
        revoked = api.delete(f"/certificates/{cert_id}")
        assert revoked.status_code == 200
        assert revoked.get_json()["status"] == "revoked"
    sig = sign_cms(world.keys.signer_a, pdf)
    if case in ("unregistered", "revoked_registration"):
        resp = api.sign(doc_id, sig)
    elif case == "other_content":
        resp = api.sign(doc_id, sign_cms(world.keys.signer_a, act_pdf("другой акт")))
    elif case == "garbage":
        resp = api.sign(doc_id, b"\x30\x03\x02\x01\x00 not a cms")
    elif case == "empty":
        resp = api.sign(doc_id, b"")
    elif case == "bad_base64":
        resp = api.post(f"/documents/{doc_id}/signatures", json={"signature": "%%%"})
    elif case == "wrong_media_type":
        resp = api.post(
            f"/documents/{doc_id}/signatures", data=sig, content_type="text/html"
        )
    else:
        resp = api.sign(doc_id, b"\x00" * (1024 * 1024 + 1))
    assert resp.status_code == status, resp.get_json()
    assert error_code(resp) == code
    doc = api.get(f"/documents/{doc_id}").get_json()
    assert doc["status"] == "awaiting" and doc["signatures"] == []


def test_certificate_registration_answers(world: World) -> None:
    api = _customer(world)
    foreign = api.register_certificate(world.keys.foreign_a.der)
    assert foreign.status_code == 422 and error_code(foreign) == "certificate_invalid"
    assert foreign.get_json()["error"]["details"]["problems"]
    expired = api.register_certificate(world.keys.expired_a.der)
    assert error_code(expired) == "certificate_invalid"
    other_org = api.register_certificate(world.keys.signer_b.der)
    assert other_org.status_code == 422
    assert error_code(other_org) == "certificate_refused"
    assert "ИНН" in other_org.get_json()["error"]["message"]
    garbage = api.register_certificate(b"not a certificate at all")
    assert error_code(garbage) == "certificate_invalid"
    pem = api.post(
        "/certificates",
        data=world.keys.signer_a.pem,
        content_type="application/x-pem-file",
    )
    assert pem.status_code == 201
    multipart = api.post(
        "/certificates",
        data={"file": (io.BytesIO(world.keys.signer_a_ec.der), "ec.cer")},
        content_type="multipart/form-data",
    )
    assert multipart.status_code == 201
    assert len(api.get("/certificates").get_json()["items"]) == 2
    cert_id = pem.get_json()["certificate"]["id"]
    assert api.get(f"/certificates/{cert_id}").get_json()["id"] == cert_id
    assert (
        error_code(api.post("/certificates", json={"x": 1})) == "unsupported_media_type"
    )
    huge = api.post(
        "/certificates", data=b"0" * (65 * 1024), content_type="application/pkix-cert"
    )
    assert huge.status_code == 413 and error_code(huge) == "payload_too_large"


def test_refusal_revocation_and_deletion(world: World) -> None:
    customer, supplier = _customer(world), api_for(world, None)
    refused_id = customer.post_document().get_json()["id"]
    short = customer.post(f"/documents/{refused_id}/refuse", json={"reason": "no"})
    assert short.status_code == 422
    refused = customer.post(
        f"/documents/{refused_id}/refuse", json={"reason": "Неверные показания"}
    )
    assert refused.status_code == 200
    assert refused.get_json()["status"] == "refused"
    assert refused.get_json()["refusal_reason"] == "Неверные показания"
    again = customer.post(f"/documents/{refused_id}/refuse", json={"reason": "ещё раз"})
    assert again.status_code == 409 and error_code(again) == "document_state_conflict"

    pdf = act_pdf()
    doc_id = customer.post_document(pdf=pdf).get_json()["id"]
    customer.register_certificate(world.keys.signer_a.der)
    supplier.register_certificate(world.keys.supplier.der)
    assert customer.sign(doc_id, sign_cms(world.keys.signer_a, pdf)).status_code == 201
    assert supplier.sign(doc_id, sign_cms(world.keys.supplier, pdf)).status_code == 201
    deleted = customer.delete(f"/documents/{doc_id}")
    assert (
        deleted.status_code == 409 and error_code(deleted) == "document_state_conflict"
    )

    asked = customer.post(
        f"/documents/{doc_id}/revocation", json={"reason": "Ошибка в периоде"}
    )
    assert asked.status_code == 200
    assert asked.get_json()["status"] == "revocation_requested"
    own = customer.post(f"/documents/{doc_id}/revocation/accept")
    assert own.status_code == 409
    declined = supplier.post(f"/documents/{doc_id}/revocation/decline")
    assert declined.get_json()["status"] == "signed"
    customer.post(
        f"/documents/{doc_id}/revocation", json={"reason": "Ошибка в периоде"}
    )
    accepted = supplier.post(f"/documents/{doc_id}/revocation/accept")
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "revoked"

    draft_id = customer.post_document().get_json()["id"]
    assert customer.delete(f"/documents/{draft_id}").status_code == 204
    assert customer.get(f"/documents/{draft_id}").status_code == 404


def test_listing_pages_with_a_cursor_and_filters(world: World) -> None:
    api = _customer(world)
    ids = [
        api.post_document(number=f"N-{i}", type=t).get_json()["id"]
        for i, t in enumerate(["prom10", "invoice", "prom10"])
    ]
    page1 = api.get("/documents?limit=2")
    assert page1.status_code == 200
    body = page1.get_json()
    assert [d["id"] for d in body["items"]] == ids[::-1][:2]
    page2 = api.get(f"/documents?limit=2&cursor={body['next_cursor']}").get_json()
    assert [d["id"] for d in page2["items"]] == [ids[0]]
    assert page2["next_cursor"] is None
    invoices = api.get("/documents?type=invoice").get_json()["items"]
    assert [d["id"] for d in invoices] == [ids[1]]
    alias = api.get("/documents?doc_type=invoice").get_json()["items"]
    assert [d["id"] for d in alias] == [ids[1]]
    assert error_code(api.get("/documents?stauts=signed")) == "validation_error"
    assert api.get("/documents?number=N-2").get_json()["items"][0]["id"] == ids[2]
    for bad in (
        "limit=0",
        "limit=abc",
        "limit=201",
        "type=nonsense",
        "status=lost",
        "date_from=31.10.2026",
        "contract_id=xyz",
        "counterparty_inn=77a",
        "contract_number=" + "7" * 51,  # the documented maxLength is 50
        "signer=" + "я" * 301,
    ):
        resp = api.get(f"/documents?{bad}")
        assert resp.status_code == 422, bad
        assert error_code(resp) == "validation_error"
    cursor = api.get("/documents?cursor=not-a-cursor")
    assert cursor.status_code == 422 and error_code(cursor) == "invalid_cursor"


def test_bad_input_is_a_4xx_with_a_code_and_leaves_nothing(world: World) -> None:
    api = _customer(world)
    meta = {
        "type": "prom10",
        "number": "1",
        "date": "2026-10-31",
        "contract_number": "77-0001-ЮЛ",
        "title": "Акт",
    }

    def post(data: dict[str, object], **kw: object) -> object:
        return api.post(
            "/documents", data=data, content_type="multipart/form-data", **kw
        )

    pdf = act_pdf()
    cases = [
        (post({"file": (io.BytesIO(pdf), "a.pdf")}), 422, "validation_error"),
        (
            post({"meta": "{not json", "file": (io.BytesIO(pdf), "a.pdf")}),
            400,
            "invalid_json",
        ),
        (
            post({"meta": "[1, 2]", "file": (io.BytesIO(pdf), "a.pdf")}),
            422,
            "validation_error",
        ),
        (
            post(
                {
                    "meta": json.dumps({**meta, "extra": 1}),
                    "file": (io.BytesIO(pdf), "a.pdf"),
                }
            ),
            422,
            "validation_error",
        ),
        (post({"meta": json.dumps(meta)}), 422, "validation_error"),
        (
            post(
                {
                    "meta": json.dumps({**meta, "date": "31.10.2026"}),
                    "file": (io.BytesIO(pdf), "a.pdf"),
                }
            ),
            422,
            "validation_error",
        ),
        (
            post(
                {
                    "meta": json.dumps({**meta, "number": 5}),
                    "file": (io.BytesIO(pdf), "a.pdf"),
                }
            ),
            422,
            "validation_error",
        ),
        (
            post(
                {
                    "meta": json.dumps({**meta, "route": "customer,customer"}),
                    "file": (io.BytesIO(pdf), "a.pdf"),
                }
            ),
            422,
            "validation_error",
        ),
        (
            post(
                {
                    "meta": json.dumps({**meta, "type": "poem"}),
                    "file": (io.BytesIO(pdf), "a.pdf"),
                }
            ),
            422,
            "validation_error",
        ),
        (
            post(
                {"meta": json.dumps(meta), "file": (io.BytesIO(b"MZ\x90\x00"), "a.exe")}
            ),
            422,
            "unsupported_media_type",
        ),
        (
            post(
                {"meta": json.dumps(meta), "file": (io.BytesIO(b"MZ\x90\x00"), "a.pdf")}
            ),
            422,
            "validation_error",
        ),
        (
            post(
                {
                    "meta": json.dumps({**meta, "contract_number": "50-0100-ЮЛ"}),
                    "file": (io.BytesIO(pdf), "a.pdf"),
                }
            ),
            404,
            "not_found",
        ),
        (api.post("/documents", json=meta), 415, "unsupported_media_type"),
        (
            api.post(
                "/documents/00000000-0000-0000-0000-000000000000/refuse",
                data="{",
                content_type="application/json",
            ),
            400,
            "invalid_json",
        ),
        (
            api.post(
                "/documents/00000000-0000-0000-0000-000000000000/refuse",
                json={"reason": 12},
            ),
            422,
            "validation_error",
        ),
        (api.get("/documents/not-a-uuid"), 404, "not_found"),
        (api.get("/documents/00000000-0000-0000-0000-000000000000"), 404, "not_found"),
        (api.get("/no-such-route"), 404, "not_found"),
        (
            api.post(
                "/documents/00000000-0000-0000-0000-000000000000/pades/prepare",
                json={"certificate_id": "x"},
            ),
            422,
            "validation_error",
        ),
    ]
    for resp, status, code in cases:
        assert resp.status_code == status, (resp.status_code, resp.get_json())  # type: ignore[attr-defined]
        assert error_code(resp) == code, resp.get_json()  # type: ignore[attr-defined]
    assert api.get("/documents").get_json()["items"] == []


def test_verify_reports_without_storing_anything(world: World) -> None:
    api = _customer(world)
    pdf = act_pdf()
    sig = sign_cms(world.keys.signer_a, pdf)

    def verify(**parts: bytes) -> object:
        data = {k: (io.BytesIO(v), f"{k}.bin") for k, v in parts.items()}
        return api.post("/verify", data=data, content_type="multipart/form-data")

    good = verify(file=pdf, signature=sig)
    assert good.status_code == 200  # type: ignore[attr-defined]
    assert good.get_json()["verdict"] == "valid"  # type: ignore[attr-defined]
    assert good.get_json()["kind"] == "cms"  # type: ignore[attr-defined]
    tampered = verify(file=pdf[:-2] + b"X\n", signature=sig)
    assert tampered.status_code == 200  # type: ignore[attr-defined]
    assert tampered.get_json()["verdict"] == "invalid"  # type: ignore[attr-defined]
    unsigned = verify(file=pdf)
    assert unsigned.get_json()["kind"] == "pdf"  # type: ignore[attr-defined]
    assert unsigned.get_json()["verdict"] != "valid"  # type: ignore[attr-defined]
    assert error_code(verify(signature=b"junk")) == "signature_format"
    assert error_code(verify(file=b"plain text")) == "validation_error"
    assert error_code(verify()) == "validation_error"
    assert api.get("/documents").get_json()["items"] == []


def test_an_oversized_upload_is_413_and_leaves_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = _customer(world)
    monkeypatch.setitem(world.app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    big = act_pdf() + b"%" + b"0" * (80 * 1024)
    resp = api.post_document(pdf=big)
    assert resp.status_code == 413, resp.get_json()
    assert error_code(resp) == "payload_too_large"
    monkeypatch.setitem(world.app.config, "MAX_CONTENT_LENGTH", 50 * 1024 * 1024)
    assert api.get("/documents").get_json()["items"] == []
