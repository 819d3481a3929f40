"""Helpers for the REST API tests: keys made with the service, a client that
sends them, and the multipart upload of a document."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from docflow.contracts.models import Organisation
from docflow.db import transaction
from signing import cms
from signing.signers import Pkcs12Signer
from tests.factories import act_pdf, make_api_key
from tests.functional.world import World


def make_key(
    app: Flask,
    organisation: Organisation | None,
    scopes: str = "read,write,sign",
    name: str = "тестовая интеграция",
) -> str:
    """The secret of a new API key, committed (``organisation`` None: the
    supplier's)."""
    with app.app_context():
        s = app.extensions["docflow"].sessionmaker()
        with transaction(s):
            org = s.merge(organisation) if organisation is not None else None
            made = make_api_key(s, organisation=org, scopes=scopes, name=name)
        s.close()
    return made.secret


@dataclass
class Api:
    """The test client with ``Authorization: Bearer <key>``."""

    client: FlaskClient
    key: str

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", **(extra or {})}

    def get(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.get("/api/v1" + path, headers=self._headers(headers), **kw)

    def post(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.post("/api/v1" + path, headers=self._headers(headers), **kw)

    def delete(
        self, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> Any:
        return self.client.delete(
            "/api/v1" + path, headers=self._headers(headers), **kw
        )

    def post_document(
        self,
        *,
        contract_number: str = "77-0001-ЮЛ",
        pdf: bytes | None = None,
        filename: str = "act.pdf",
        attachments: tuple[tuple[str, bytes], ...] = (),
        headers: dict[str, str] | None = None,
        **meta: Any,
    ) -> Any:
        body = {
            "type": "prom10",
            "number": "П-10/2026",
            "date": "2026-10-31",
            "contract_number": contract_number,
            "title": "Акт ПРОМ10 за октябрь 2026",
            **meta,
        }
        data: dict[str, Any] = {
            "meta": json.dumps(body, ensure_ascii=False),
            "file": (io.BytesIO(pdf if pdf is not None else act_pdf()), filename),
        }
        if attachments:
            data["attachments"] = [(io.BytesIO(b), n) for n, b in attachments]
        return self.post(
            "/documents",
            data=data,
            content_type="multipart/form-data",
            headers=headers,
        )

    def register_certificate(self, der: bytes) -> Any:
        return self.post(
            "/certificates", data=der, content_type="application/pkix-cert"
        )

    def sign(self, document_id: str, signature: bytes) -> Any:
        return self.post(
            f"/documents/{document_id}/signatures",
            data=signature,
            content_type="application/pkcs7-signature",
        )


def api_for(
    world: World, organisation: Organisation | None, scopes: str = "read,write,sign"
) -> Api:
    return Api(world.app.test_client(), make_key(world.app, organisation, scopes))


def sign_cms(issued: Any, content: bytes) -> bytes:
    """A detached CMS signature of ``content`` with ``issued``'s key."""
    signer = Pkcs12Signer.load(issued.pkcs12("pw"), "pw")
    return cms.sign_cms(content, signer)


def error_code(resp: Any) -> str:
    body = resp.get_json()
    assert body is not None, resp.data[:300]
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return str(body["error"]["code"])
