"""Every document and certificate route, tried by everyone who might: the owner,
a user of another organisation, a user of the same organisation without the
right, a clerk and an anonymous visitor. Nothing leaks, nothing changes."""

from __future__ import annotations

import uuid

import pytest
from flask.testing import FlaskClient

from docflow.certificates.models import Certificate, CertificateStatus
from docflow.documents.models import DocStatus
from tests.functional.test_document_flow import load
from tests.functional.world import (
    PASSWORD,
    World,
    keys,
    new_document,
    register_cert,
    world,
)

__all__ = ["keys", "world"]


def client_for(w: World, who: str) -> FlaskClient:
    client = w.app.test_client()
    if who != "anonymous":
        email = getattr(w, who).email
        resp = client.post(
            "/account/login", data={"email": email, "password": PASSWORD}
        )
        assert resp.status_code == 302, f"{who} could not log in"
    return client


def doc_routes(doc_id: uuid.UUID, file_id: uuid.UUID) -> list[tuple[str, str, dict]]:
    base = f"/documents/{doc_id}"
    return [
        ("GET", base, {}),
        ("GET", f"{base}/files/{file_id}", {}),
        ("GET", f"{base}/printable.pdf", {}),
        ("GET", f"{base}/package.zip", {}),
        ("GET", f"{base}/sign", {}),
        (
            "POST",
            f"{base}/sign/prepare",
            {"json": {"certificate_id": str(uuid.uuid4())}},
        ),
        ("POST", f"{base}/refuse", {"data": {"reason": "проверка доступа"}}),
        ("POST", f"{base}/revocation", {"data": {"reason": "проверка доступа"}}),
        ("POST", f"{base}/revocation/accept", {}),
        ("POST", f"{base}/delete", {}),
        ("POST", f"{base}/countersign", {}),
    ]


@pytest.mark.parametrize("who", ["anonymous", "signer_b"])
def test_outsiders_get_nothing_from_document_routes(world: World, who: str) -> None:
    doc_id = new_document(world)
    doc = load(world, doc_id)
    client = client_for(world, who)
    for method, url, kwargs in doc_routes(doc_id, doc.main_file.id):
        resp = client.open(url, method=method, **kwargs)
        if who == "anonymous":
            assert resp.status_code in (302, 401), (url, resp.status_code)
            if resp.status_code == 302:
                assert "/account/login" in resp.headers["Location"], url
        else:
            assert resp.status_code in (403, 404), (url, resp.status_code)
        body = resp.get_data(as_text=True)
        assert doc.title not in body, url
    # A bulk download of foreign ids yields nothing either.
    resp = client.post("/documents/package.zip", data={"ids": [str(doc_id)]})
    assert resp.mimetype != "application/zip"
    assert load(world, doc_id).status == DocStatus.AWAITING


def test_member_without_sign_right_can_read_but_not_act(world: World) -> None:
    doc_id = new_document(world)
    doc = load(world, doc_id)
    client = client_for(world, "viewer_a")
    assert client.get(f"/documents/{doc_id}").status_code == 200
    assert (
        client.get(f"/documents/{doc_id}/files/{doc.main_file.id}").status_code == 200
    )
    assert client.get(f"/documents/{doc_id}/printable.pdf").status_code == 200
    # Not the signer's turn for this user: the sign page sends them back.
    assert client.get(f"/documents/{doc_id}/sign").status_code == 302
    prepare = client.post(
        f"/documents/{doc_id}/sign/prepare", json={"certificate_id": str(uuid.uuid4())}
    )
    assert prepare.status_code in (403, 422)
    assert prepare.json["error"]["code"] in ("forbidden", "certificate_not_registered")
    client.post(f"/documents/{doc_id}/refuse", data={"reason": "не согласен"})
    client.post(f"/documents/{doc_id}/delete")
    assert client.post(f"/documents/{doc_id}/countersign").status_code == 403
    assert load(world, doc_id).status == DocStatus.AWAITING


def test_owner_and_clerk_see_the_document(world: World) -> None:
    doc_id = new_document(world)
    for who in ("signer_a", "clerk"):
        client = client_for(world, who)
        assert client.get(f"/documents/{doc_id}").status_code == 200
        assert (
            client.get(f"/documents/{doc_id}/package.zip").mimetype == "application/zip"
        )
    assert (
        client_for(world, "signer_a").get(f"/documents/{doc_id}/sign").status_code
        == 200
    )


def test_search_lists_only_what_the_user_may_see(world: World) -> None:
    mine = new_document(world, title="Акт Ромашки")
    theirs = new_document(world, contract=world.contract_b, title="Акт Василька")
    page = client_for(world, "signer_a").get("/documents/").get_data(as_text=True)
    assert "Акт Ромашки" in page and "Акт Василька" not in page
    page = client_for(world, "clerk").get("/documents/").get_data(as_text=True)
    assert "Акт Ромашки" in page and "Акт Василька" in page
    assert mine != theirs


def test_certificate_routes_are_private_to_their_owner(world: World) -> None:
    cert = register_cert(world, world.signer_a, world.keys.signer_a).certificate
    url = f"/certificates/{cert.id}"
    assert client_for(world, "signer_a").get(url).status_code == 200
    for who in ("signer_b", "viewer_a"):
        client = client_for(world, who)
        assert client.get(url).status_code == 404
        assert client.post(f"{url}/revoke").status_code == 404
    anonymous = client_for(world, "anonymous")
    assert anonymous.get(url).status_code == 302
    # Trust store: staff may look, only an administrator may change it; for a
    # customer the supplier's page does not exist.
    assert client_for(world, "signer_a").get("/certificates/trust").status_code == 404
    assert client_for(world, "clerk").get("/certificates/trust").status_code == 200
    remove = client_for(world, "clerk").post("/certificates/trust/ABCDEF/remove")
    assert remove.status_code == 403
    with world.app.app_context():
        s = world.session()

        assert s.get(Certificate, cert.id).status == CertificateStatus.ACTIVE
        s.close()
