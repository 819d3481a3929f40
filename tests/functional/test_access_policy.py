"""Who may do what, decided in one place (docflow.access): the holes a hostile
tester found inside an organisation, each closed.

* a member with the view right only reads, and changes nothing;
* only the party that registered a document deletes it, while unsigned, with
  the right to register;
* a one-party route that is signed is not «signed by both»;
* the certificate inside a .sig registers (it answered 500);
* a «PDF» that does not parse is refused at registration, not at signing.
"""

from __future__ import annotations

import io
import pathlib
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

import signing
from docflow.access import Action, Actor, contract_rights, may
from docflow.documents.models import DocStatus, Document
from docflow.documents.services import (
    Upload,
    check_pdf,
    delete_document,
    register_document,
    status_label,
)
from docflow.errors import NotFoundError, PermissionDeniedError, ValidationError
from tests.functional.api_support import api_for, error_code, sign_cms
from tests.functional.test_document_access import client_for
from tests.functional.test_document_flow import load
from tests.functional.world import World, act_pdf, keys, new_document, world

__all__ = ["keys", "world"]


def test_a_member_with_the_view_right_cannot_delete_or_register(world: World) -> None:
    doc_id = new_document(world, by=world.signer_a)
    client = client_for(world, "viewer_a")

    deleted = client.post(f"/documents/{doc_id}/delete")
    card = client.get(f"/documents/{doc_id}").get_data(as_text=True)

    assert deleted.status_code == 403
    assert load(world, doc_id).status == DocStatus.AWAITING
    assert f"/documents/{doc_id}/delete" not in card  # no button offered
    with world.app.app_context():
        s = world.session()
        viewer = Actor.for_user(s.merge(world.viewer_a))
        assert contract_rights(s, viewer, world.contract_a.id).register is False
        with pytest.raises(PermissionDeniedError):
            register_document(
                s,
                actor=viewer,
                runtime=world.runtime,
                contract_id=world.contract_a.id,
                doc_type="letter",
                number="В-1",
                doc_date=load(world, doc_id).doc_date,
                title="Письмо от наблюдателя",
                main_file=Upload.from_bytes("a.pdf", act_pdf()),
            )
        s.rollback()
        s.close()
    page = client.post(
        "/documents/new",
        data={
            "contract_id": str(world.contract_a.id),
            "doc_type": "letter",
            "number": "В-2",
            "doc_date": "2026-11-01",
            "title": "Ещё письмо",
            "route": "customer",
            "file": (io.BytesIO(act_pdf()), "a.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert page.status_code in (200, 403, 422)
    with world.app.app_context():
        s = world.session()
        titles = set(s.scalars(select(Document.title)))
        s.close()
    assert "Ещё письмо" not in titles


def test_a_customer_cannot_delete_what_the_supplier_registered(world: World) -> None:
    doc_id = new_document(world)  # registered by the clerk
    client = client_for(world, "signer_a")

    resp = client.post(f"/documents/{doc_id}/delete")

    assert resp.status_code == 403
    assert load(world, doc_id).status == DocStatus.AWAITING
    clerk_search = client_for(world, "clerk").get("/documents/").get_data(as_text=True)
    assert "Акт ПРОМ10 за октябрь 2026" in clerk_search
    api = api_for(world, world.org_a)
    answer = api.delete(f"/documents/{doc_id}")
    assert answer.status_code == 403 and error_code(answer) == "forbidden"


def test_the_registering_party_deletes_its_unsigned_document(world: World) -> None:
    doc_id = new_document(world, by=world.signer_a)
    with world.app.app_context():
        s = world.session()
        doc = s.get(Document, doc_id)
        owner = Actor.for_user(s.merge(world.signer_a))
        clerk = Actor.for_user(s.merge(world.clerk))
        assert may(s, owner, Action.DELETE, doc)
        assert not may(s, clerk, Action.DELETE, doc)  # the other party
        s.close()
    assert (
        client_for(world, "clerk").post(f"/documents/{doc_id}/delete").status_code
        == 403
    )
    assert client_for(world, "signer_a").post(
        f"/documents/{doc_id}/delete"
    ).status_code in (
        200,
        302,
    )
    assert load(world, doc_id).status == DocStatus.DELETED


def test_another_organisation_gets_404_not_403(world: World) -> None:
    doc_id = new_document(world)
    with world.app.app_context():
        s = world.session()
        outsider = Actor.for_user(s.merge(world.signer_b))

        with pytest.raises(NotFoundError):
            delete_document(s, actor=outsider, document_id=doc_id)
        s.rollback()
        s.close()


def test_a_signed_customer_only_route_is_not_signed_by_both(world: World) -> None:
    api = api_for(world, world.org_a)
    assert api.register_certificate(world.keys.signer_a.der).status_code in (200, 201)
    pdf = act_pdf()
    created = api.post_document(pdf=pdf, route=["customer"])
    assert created.status_code == 201, created.get_json()
    doc_id = created.get_json()["id"]

    signed = api.sign(doc_id, sign_cms(world.keys.signer_a, pdf))

    assert signed.status_code == 201, signed.get_json()
    body = signed.get_json()["document"]
    assert body["status"] == "signed"
    assert body["status_label"] == "Подписан клиентом"
    doc = load(world, uuid.UUID(doc_id))
    assert status_label(doc) == "Подписан клиентом"


def test_a_certificate_is_registered_from_a_sig(world: World) -> None:
    api = api_for(world, world.org_a)
    sig = signing.sign_cms(  # type: ignore[attr-defined]
        b"any content",
        signing.Pkcs12Signer.load(world.keys.signer_a.pkcs12("pw"), "pw"),  # type: ignore[attr-defined]
    )

    resp = api.post(
        "/certificates", data=sig, content_type="application/pkcs7-signature"
    )

    assert resp.status_code in (200, 201), resp.get_json()
    assert resp.get_json()["certificate"]["inn_le"] == "7701234567"
    page = client_for(world, "signer_a").post(
        "/certificates/",
        data={"certificate": (io.BytesIO(sig), "подпись.p7s")},
        content_type="multipart/form-data",
    )
    assert page.status_code in (200, 302)


@pytest.mark.parametrize(
    "body",
    [
        b"%PDF-1.4\ngarbage",
        b"%PDF-1.7\n" + b"\x00" * 64,
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
    ],
)
def test_an_unparseable_pdf_is_refused_at_registration(
    world: World, body: bytes
) -> None:
    api = api_for(world, world.org_a)
    before = _blob_count(world)

    resp = api.post_document(pdf=body)

    assert resp.status_code == 422
    assert error_code(resp) == "document_format"
    assert "не является корректным PDF" in resp.get_json()["error"]["message"]
    assert _blob_count(world) == before  # nothing left behind


def _blob_count(world: World) -> int:
    root = world.app.extensions["docflow"].settings.storage_url.removeprefix("file://")

    # A blob is a directory holding its bytes and meta.json.
    return sum(1 for p in pathlib.Path(root).rglob("meta.json"))


def test_validation_error_is_the_document_format_code(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        check_pdf(b"%PDF-1.4\ngarbage", "a.pdf")
    assert caught.value.code == "document_format"


def test_identical_signatures_posted_at_once_give_one_and_no_orphans(
    world: World,
) -> None:
    api = api_for(world, world.org_a)
    assert api.register_certificate(world.keys.signer_a.der).status_code in (200, 201)
    pdf = act_pdf()
    created = api.post_document(pdf=pdf)
    doc_id = created.get_json()["id"]
    sig = sign_cms(world.keys.signer_a, pdf)
    before = _blob_count(world)

    def post(_: int) -> int:
        return int(api_for(world, world.org_a).sign(doc_id, sig).status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = sorted(pool.map(post, range(8)))

    assert codes.count(201) == 1, codes
    assert set(codes) <= {201, 409}, codes  # never a 500
    listed = api.get(f"/documents/{doc_id}/signatures").get_json()["items"]
    assert len(listed) == 1
    # The one signature's blobs (as received and sealed), nothing else.
    assert _blob_count(world) == before + 2
