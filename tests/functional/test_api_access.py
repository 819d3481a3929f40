"""The access matrix through the API: keys, scopes, organisations, rate limit,
and the OpenAPI description against the routes that exist."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import uuid
from typing import Any

import pytest

from docflow.api.openapi import openapi_spec
from docflow.readings.hourly_formats import write_80020
from docflow.readings.hourly_models import Channel
from signing.mchd import Organisation as Principal
from tests.functional.api_support import api_for, error_code, make_key, sign_cms
from tests.functional.power_support import signed_power
from tests.functional.test_api_appeals import meta, topics
from tests.functional.test_api_appeals import post as post_appeal
from tests.functional.test_api_service_orders import b_order_id
from tests.functional.world import World, act_pdf, keys, world

__all__ = ["keys", "world"]

SPEC = openapi_spec()


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "delete"}  # put: ППП
    ]


def _body(method: str, path: str, ids: dict[str, str]) -> dict[str, Any]:
    """A well-formed request for the operation, so that only access decides."""
    if path == "/powers-of-attorney/{power_id}" and method == "DELETE":
        return {"json": {"reason": "Причина для теста"}}
    if path.endswith("/signatures") and method == "POST":
        return {"json": {"signature": base64.b64encode(b"\x30\x00").decode()}}
    if path.endswith(("/refuse", "/revocation")):
        return {"json": {"reason": "Причина для теста"}}
    if path.endswith("/pades/prepare"):
        return {"json": {"certificate_id": ids["certificate_id"]}}
    if path.endswith("/readings"):
        return {"json": {"rows": [{"meter": "0001", "value": 1}]}}
    if path.endswith("/planned/{date}"):  # ППП
        return {"json": {"hours": [1] * 24}}
    if "/prom10" in path:
        return {"query_string": {"period": "2026-11"}}
    if path.endswith("/pades/complete"):
        return {
            "json": {
                "session_id": ids["session_id"],
                "signatures": {"cms": "AAAA", "pades": "AAAA"},
            }
        }
    return {}


def _url(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


@pytest.fixture()
def b_objects(world: World) -> dict[str, str]:
    """A document of АО «Василёк» with a signature, a PDF revision, a
    certificate, a signing session and a webhook — all B's."""
    b = api_for(world, world.org_b)
    pdf = act_pdf()
    cert = b.register_certificate(world.keys.signer_b.der).get_json()["certificate"]
    doc = b.post_document(contract_number="50-0100-ЮЛ", pdf=pdf).get_json()
    signature = b.sign(doc["id"], sign_cms(world.keys.signer_b, pdf)).get_json()
    doc2 = b.post_document(contract_number="50-0100-ЮЛ").get_json()
    session = b.post(
        f"/documents/{doc2['id']}/pades/prepare", json={"certificate_id": cert["id"]}
    ).get_json()
    vasilek = Principal("АО «Василёк»", "5003012345", "1035000712345", "500301001")
    _, xml, mchd_sig = signed_power(
        world, principal=vasilek, signed_by=world.keys.signer_b
    )
    power = b.post(
        "/powers-of-attorney",
        data={
            "file": (io.BytesIO(xml), "mchd.xml"),
            "signature": (io.BytesIO(mchd_sig), "mchd.xml.sig"),
        },
        content_type="multipart/form-data",
    ).get_json()
    world.app.config["ALLOW_PRIVATE_WEBHOOKS"] = True
    try:
        hook = b.post("/webhooks", json={"url": "http://127.0.0.1:9/hook"}).get_json()
    finally:
        world.app.config["ALLOW_PRIVATE_WEBHOOKS"] = False
    return {
        "document_id": doc["id"],
        "file_id": doc["files"][0]["id"],
        "signature_id": signature["signature"]["id"],
        "certificate_id": cert["id"],
        "session_id": session["session_id"],
        "webhook_id": hook["id"],
        "power_id": power["id"],
        "number": "50-0100-ЮЛ",
        "order_id": b_order_id(world),
        "appeal_id": b_appeal_id(world, b),
        # B's online payment: none is made here; an unknown id answers the
        # same 404 (the payments tests check B's real payment).
        "payment_id": str(uuid.uuid4()),
        "date": "2099-01-01",  # ППП: a day of B's contract
        "upload_id": b_hourly_upload_id(world),  # hourly volumes: B's file
    }


def b_hourly_upload_id(world: World) -> str:
    """A file of hourly values АО «Василёк» sent (its new point code is taken)."""

    data = write_80020(
        dt.date(2026, 11, 3), [("500100000000000001", "Ввод", {Channel.AP: [1] * 48})]
    )
    made = api_for(world, world.org_b, "readings").post(
        "/contracts/50-0100-ЮЛ/hourly",
        data={"file": (io.BytesIO(data), "80020.xml")},
        content_type="multipart/form-data",
    )
    assert made.status_code == 201, made.get_json()
    return str(made.get_json()["id"])


def b_appeal_id(world: World, b: Any) -> str:
    """An appeal of АО «Василёк» filed through the API."""
    bill = topics(world)["bill"]
    made = post_appeal(b, meta(bill, contract_number="50-0100-ЮЛ"))
    assert made.status_code == 201, made.get_json()
    return str(made.get_json()["id"])


def test_every_route_with_another_organisations_object_is_not_found(
    world: World, b_objects: dict[str, str]
) -> None:
    a = api_for(world, world.org_a, "read,write,sign,readings")
    checked = 0
    for method, path, _op in _operations():
        if "{" not in path:
            continue
        resp = a.client.open(
            "/api/v1" + _url(path, b_objects),
            method=method,
            headers={"Authorization": f"Bearer {a.key}"},
            **_body(method, path, b_objects),
        )
        assert resp.status_code == 404, (method, path, resp.get_json())
        expected = (
            "power_of_attorney_not_found"
            if path.startswith("/powers-of-attorney/")
            else "not_found"
        )
        assert error_code(resp) == expected, (method, path)
        checked += 1
    assert checked >= 25
    # Lists and the event feed do not show B's objects either.
    assert a.get("/documents").get_json()["items"] == []
    assert a.get("/certificates").get_json()["items"] == []
    assert a.get("/webhooks").get_json()["items"] == []
    assert a.get("/powers-of-attorney").get_json()["items"] == []
    assert a.get("/events").get_json()["items"] == []
    assert a.get(f"/documents?contract_id={uuid.uuid4()}").get_json()["items"] == []


def test_the_suppliers_key_sees_every_organisation(
    world: World, b_objects: dict[str, str]
) -> None:
    supplier = api_for(world, None, "read")
    a = api_for(world, world.org_a)
    a_doc = a.post_document().get_json()["id"]
    listed = {d["id"] for d in supplier.get("/documents").get_json()["items"]}
    assert {a_doc, b_objects["document_id"]} <= listed
    assert supplier.get(f"/documents/{b_objects['document_id']}").status_code == 200
    kinds = [e["kind"] for e in supplier.get("/events").get_json()["items"]]
    assert "document.to_sign" in kinds and "document.signed" in kinds
    orgs = {e["organisation_id"] for e in supplier.get("/events").get_json()["items"]}
    assert {str(world.org_a.id), str(world.org_b.id)} <= orgs


def test_a_read_only_key_is_forbidden_on_every_other_route(world: World) -> None:
    reader = api_for(world, world.org_a, "read")
    ids = {
        name: str(uuid.uuid4())
        for name in (
            "document_id",
            "file_id",
            "signature_id",
            "certificate_id",
            "session_id",
            "webhook_id",
            "power_id",
            "number",
            "order_id",
            "appeal_id",
            "payment_id",
            "date",  # ППП
            "upload_id",  # hourly volumes
        )
    }
    forbidden = 0
    for method, path, op in _operations():
        if op.get("x-required-scope") in (None, "read"):
            continue
        resp = reader.client.open(
            "/api/v1" + _url(path, ids),
            method=method,
            headers={"Authorization": f"Bearer {reader.key}"},
            **_body(method, path, ids),
        )
        assert resp.status_code == 403, (method, path, resp.get_json())
        assert error_code(resp) == "forbidden"
        assert (
            resp.get_json()["error"]["details"]["required_scope"]
            == op["x-required-scope"]
        )
        forbidden += 1
    assert forbidden == 21 + 4 + 2  # + hourly volumes (docflow.api.hourly), + ППП


def test_missing_unknown_and_revoked_keys_are_unauthorized(world: World) -> None:
    client = world.app.test_client()
    key = make_key(world.app, world.org_a)
    ok = client.get("/api/v1/documents", headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer dfk_00000000_unknownunknownunknown"},
        {"Authorization": f"Bearer {key}x"},
    ):
        resp = client.get("/api/v1/documents", headers=headers)
        assert resp.status_code == 401, headers
        assert error_code(resp) == "unauthorized"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")

    runner = world.app.test_cli_runner()
    result = runner.invoke(args=["api-key", "revoke", key.split("_")[1]])
    assert result.exit_code == 0, result.output
    for method, path, _op in _operations():
        ids = {n: str(uuid.uuid4()) for n in re.findall(r"\{(\w+)\}", path)}
        resp = client.open(
            "/api/v1" + _url(path, ids),
            method=method,
            headers={"Authorization": f"Bearer {key}"},
        )
        assert resp.status_code == 401, (method, path)


def test_the_rate_limit_is_per_key_and_answers_json(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = api_for(world, world.org_a), api_for(world, world.org_a)
    monkeypatch.setitem(world.app.config, "API_RATE_LIMIT", "3/minute")
    # Knowing a key's visible prefix is not enough to spend its allowance.
    prefix = first.key.split("_")[1]
    for _ in range(4):
        spoof = first.client.get(
            "/api/v1/events", headers={"Authorization": f"Bearer dfk_{prefix}_forged"}
        )
        assert spoof.status_code in (401, 429)
    for _ in range(3):
        assert first.get("/events").status_code == 200
    limited = first.get("/events")
    assert limited.status_code == 429
    assert error_code(limited) == "rate_limited"
    assert "Retry-After" in limited.headers
    assert second.get("/events").status_code == 200


def test_an_address_that_keeps_failing_authentication_is_slowed_down(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(world.app.config, "API_AUTH_FAILURE_LIMIT", "3/minute")
    client = world.app.test_client()
    good = make_key(world.app, world.org_a)
    ok = client.get("/api/v1/events", headers={"Authorization": f"Bearer {good}"})
    assert ok.status_code == 200  # successes are not counted
    for i in range(3):
        resp = client.get(
            "/api/v1/events", headers={"Authorization": f"Bearer dfk_guess{i}"}
        )
        assert resp.status_code == 401
    blocked = client.get("/api/v1/events", headers={"Authorization": "Bearer dfk_x"})
    assert blocked.status_code == 429 and error_code(blocked) == "rate_limited"


def test_openapi_describes_exactly_the_routes_and_the_docs_page_is_local(
    world: World,
) -> None:
    client = world.app.test_client()
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    served = spec.get_json()
    assert served["openapi"].startswith("3.")
    described = {
        (m.upper(), "/api/v1" + re.sub(r"\{(\w+)\}", r"<\1>", p))
        for p, item in served["paths"].items()
        for m in item
        if m in {"get", "post", "put", "delete"}  # put: ППП
    }
    routed = {
        (m, re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", r.rule))
        for r in world.app.url_map.iter_rules()
        if r.rule.startswith("/api/v1/")
        and r.endpoint not in {"api.openapi_json", "api.docs"}
        for m in (r.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert described == routed
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    page = docs.get_data(as_text=True)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page
    assert "<script>" not in page  # no inline script
    csp = docs.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp
    for asset in (
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css",
        "/static/vendor/swagger-ui/LICENSE",
        "/static/js/api-docs.js",
    ):
        resp = client.get(asset)
        assert resp.status_code == 200, asset
        resp.close()
