"""The demo world a newcomer logs in with (``docflow demo``), for the tests of
issue 17: its users, contracts, documents waiting for signature and key files,
with the supplier's demo key configured for the countersignature (as
``make run`` does), and the steps a browser takes, done with the test client.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from flask import Flask
from flask.testing import FlaskClient

from docflow.demo import create_demo_world
from tests.functional.contract_world import login

DEMO_PASSWORD = "demo12345"
SIGNER = "signer@romashka.example"
OTHER_SIGNER = "signer@vasilek.example"
CLERK = "clerk@energosbyt.example"
ADMIN = "admin@energosbyt.example"


@dataclass
class Demo:
    app: Flask
    world: dict[str, Any]

    def client(self, email: str) -> FlaskClient:
        client = self.app.test_client()
        login(client, email, DEMO_PASSWORD)
        return client

    def key(self, email: str) -> dict[str, str]:
        return next(k for k in self.world["keys"] if k["email"] == email)

    def document(self, contract: str = "77-0001-ЮЛ") -> dict[str, str]:
        """The first demo document of ``contract`` waiting for signature."""
        return next(d for d in self.world["documents"] if d["contract"] == contract)

    def upload_certificate(self, client: FlaskClient, email: str) -> Any:
        """«Проверить и зарегистрировать» with the certificate of ``email``'s key."""
        with Path(self.key(email)["cert"]).open("rb") as fh:
            return client.post(
                "/certificates/", data={"certificate": (fh, f"{email}.crt")}
            )

    def sign_as_customer(self, client: FlaskClient, email: str, doc_id: str) -> None:
        """What the signing page does with the PKCS#12 file: register the
        certificate, prepare, sign each item with the key, complete."""
        registered = self.upload_certificate(client, email)
        assert registered.status_code == 302, registered.get_data(as_text=True)[:300]
        cert_id = registered.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        key = self.key(email)
        private_key, _, _ = pkcs12.load_key_and_certificates(
            Path(key["p12"]).read_bytes(), key["password"].encode()
        )
        assert isinstance(private_key, rsa.RSAPrivateKey)
        prepared = client.post(
            f"/documents/{doc_id}/sign/prepare",
            json={"certificate_id": str(uuid.UUID(cert_id))},
        )
        assert prepared.status_code == 200, prepared.get_data(as_text=True)
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
        done = client.post(
            f"/documents/{doc_id}/sign/complete",
            json={"session_id": body["session_id"], "signatures": values},
        )
        assert done.status_code == 200, done.get_data(as_text=True)


@pytest.fixture()
def demo(app: Flask) -> Iterator[Demo]:
    with app.app_context():
        world = create_demo_world()
    state = app.extensions["docflow"]
    saved = state.settings
    state.settings = saved.replace(
        supplier_signer_p12=str(
            Path(world["trust"]["root"]).parent / "supplier-signer.p12"
        ),
        supplier_signer_password="demo1234",
    )
    try:
        yield Demo(app, world)
    finally:
        state.settings = saved
