"""The whole OpenAPI description, property-based, against the running API.

A live server (a thread, PostgreSQL) with a customer organisation, a document
signed through the API and a valid key: schemathesis generates requests for
every operation (valid and invalid) and checks that none answers 5xx and every
answer — status, content type, headers, body — is the one the description
promises. A deterministic walk through the document flow then checks the
success answers, which random ids rarely reach, against the same description.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode, checks

from tests.functional.api_support import make_key, sign_cms
from tests.functional.test_document_flow import sign_tbs
from tests.functional.world import act_pdf, keys
from tests.integration.api_live import live_api

__all__ = ["keys"]

pytestmark = pytest.mark.integration

# Media types of the description that schemathesis has no serializer for: the
# generated value (bytes or text) is the body as it is.
for _media_type in (
    "application/pkix-cert",
    "application/x-pem-file",
    "application/pkcs7-signature",
):

    @schemathesis.serializer(_media_type)
    def _raw(ctx: Any, value: Any) -> bytes:
        if isinstance(value, bytes):
            return value
        return (
            json.dumps(value).encode() if not isinstance(value, str) else value.encode()
        )


@dataclass
class Live:
    app: Flask
    url: str
    key: str
    document_id: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, keys: Any) -> Iterator[Live]:
    with live_api(tmp_path_factory.mktemp("var-api"), keys, "api") as server:
        key = make_key(server.app, server.customer, "read,write,sign,readings")
        auth = {"Authorization": f"Bearer {key}"}
        pdf = act_pdf()
        requests.post(
            f"{server.url}/api/v1/certificates",
            data=keys.signer_a.der,
            headers={**auth, "Content-Type": "application/pkix-cert"},
            timeout=30,
        ).raise_for_status()
        doc = _post_document(server.url, auth, pdf)
        requests.post(
            f"{server.url}/api/v1/documents/{doc['id']}/signatures",
            data=sign_cms(keys.signer_a, pdf),
            headers={**auth, "Content-Type": "application/pkcs7-signature"},
            timeout=30,
        ).raise_for_status()
        yield Live(server.app, server.url, key, doc["id"])


def _post_document(url: str, auth: dict[str, str], pdf: bytes, **meta: Any) -> Any:
    body = {
        "type": "prom10",
        "number": "П-1",
        "date": "2026-10-31",
        "contract_number": "77-0001-ЮЛ",
        "title": "Акт ПРОМ10 за октябрь 2026",
        **meta,
    }
    resp = requests.post(
        f"{url}/api/v1/documents",
        files={
            "file": ("act.pdf", io.BytesIO(pdf), "application/pdf"),
            "meta": (None, json.dumps(body, ensure_ascii=False), "application/json"),
        },
        headers=auth,
        timeout=30,
    )
    resp.raise_for_status()
    return resp.json()


@pytest.fixture(scope="module")
def api_schema(live: Live) -> Any:
    return schemathesis.openapi.from_url(f"{live.url}/api/v1/openapi.json")


# Per operation and generation mode (data that fits the description, and data
# that does not). Bounded so that the whole run stays well under 90 s.
EXAMPLES = 20


def test_every_operation_answers_within_its_description(
    live: Live, api_schema: Any
) -> None:
    # Operations are driven one by one with hypothesis rather than through
    # schemathesis' pytest plugin (``schema.parametrize``), whose node-id
    # handling does not work with pytest 9.
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 26
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                case.call_and_validate(
                    base_url=f"{live.url}/api/v1",
                    headers={"Authorization": f"Bearer {live.key}"},
                    # Schema-valid is not always acceptable: random bytes fit
                    # "a binary body" but are no certificate, a random
                    # contract number names no contract. Every other check
                    # (no 5xx, documented status, content type, headers and
                    # body; invalid data refused) stays on.
                    excluded_checks=[checks.positive_data_acceptance],
                    timeout=30,
                )

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported together
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert not failures, "\n\n".join(failures)


def test_the_success_answers_match_the_description(
    live: Live, api_schema: Any, keys: Any
) -> None:
    auth = {"Authorization": f"Bearer {live.key}"}

    def call(method: str, template: str, status: int, **kw: Any) -> Any:
        ids = kw.pop("ids", {})
        url = f"{live.url}/api/v1" + template.format(**ids) + kw.pop("query", "")
        headers = {**auth, **kw.pop("headers", {})}
        resp = requests.request(method, url, headers=headers, timeout=60, **kw)
        assert resp.status_code == status, (method, template, resp.text[:500])
        api_schema[template][method].validate_response(resp)
        if resp.headers.get("Content-Type", "").startswith("application/json"):
            return resp.json()
        return resp.content

    doc = {"document_id": live.document_id}
    pdf = act_pdf()
    meta = {
        "type": "invoice",
        "number": "С-7",
        "date": "2026-11-01",
        "contract_number": "77-0001-ЮЛ",
        "title": "Счёт",
    }
    new = call(
        "POST",
        "/documents",
        201,
        files={
            "file": ("act.pdf", io.BytesIO(pdf), "application/pdf"),
            "meta": (None, json.dumps(meta), "application/json"),
        },
        headers={"Idempotency-Key": "schema-walk-1"},
    )
    call("GET", "/documents", 200, query="?limit=1")
    call("GET", "/documents/{document_id}", 200, ids=doc)
    call("GET", "/documents/{document_id}/content", 200, ids=doc)
    files = call("GET", "/documents/{document_id}/files", 200, ids=doc)
    file_id = {**doc, "file_id": files["items"][0]["id"]}
    call("GET", "/documents/{document_id}/files/{file_id}", 200, ids=file_id)
    call("GET", "/documents/{document_id}/package", 200, ids=doc)
    sigs = call("GET", "/documents/{document_id}/signatures", 200, ids=doc)
    sig = {**doc, "signature_id": sigs["items"][0]["id"]}
    call("GET", "/documents/{document_id}/signatures/{signature_id}", 200, ids=sig)
    call(
        "GET",
        "/documents/{document_id}/signatures/{signature_id}",
        200,
        ids=sig,
        headers={"Accept": "application/json"},
    )
    cert_id = call("GET", "/certificates", 200)["items"][0]["id"]
    cert = {"certificate_id": cert_id}
    call("GET", "/certificates/{certificate_id}", 200, ids=cert)
    prepared = call(
        "POST",
        "/documents/{document_id}/pades/prepare",
        200,
        ids={"document_id": new["id"]},
        json={"certificate_id": cert_id},
    )
    values = {
        i["kind"]: base64.b64encode(
            sign_tbs(keys.signer_a, base64.b64decode(i["tbs"]), i["hash"])
        ).decode()
        for i in prepared["items"]
    }
    call(
        "POST",
        "/documents/{document_id}/pades/complete",
        201,
        ids={"document_id": new["id"]},
        json={"session_id": prepared["session_id"], "signatures": values},
    )
    third = _post_document(live.url, auth, act_pdf(), number="П-3")
    call(
        "POST",
        "/documents/{document_id}/refuse",
        200,
        ids={"document_id": third["id"]},
        json={"reason": "Не тот период"},
    )
    fourth = _post_document(live.url, auth, act_pdf(), number="П-4")
    call("DELETE", "/documents/{document_id}", 204, ids={"document_id": fourth["id"]})
    call(
        "POST",
        "/verify",
        200,
        files={
            "file": ("a.pdf", pdf),
            "signature": ("a.sig", sign_cms(keys.signer_a, pdf)),
        },
    )
    live.app.config["ALLOW_PRIVATE_WEBHOOKS"] = True
    try:
        hook = call("POST", "/webhooks", 201, json={"url": "http://127.0.0.1:9/h"})
    finally:
        live.app.config["ALLOW_PRIVATE_WEBHOOKS"] = False
    call("GET", "/webhooks", 200)
    call("DELETE", "/webhooks/{webhook_id}", 204, ids={"webhook_id": hook["id"]})
    call("GET", "/events", 200)
    call("DELETE", "/certificates/{certificate_id}", 200, ids=cert)
