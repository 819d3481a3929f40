"""Powers of attorney (МЧД) through the API: upload (multipart and JSON), the
list, the JSON and the files, revocation, access by organisation and scope,
hostile bodies, concurrent uploads, and the МЧД named in a signature's JSON."""

from __future__ import annotations

import base64
import io
import threading
import uuid
from typing import Any

import pytest
import schemathesis
from sqlalchemy import func, select

from docflow.api.openapi import openapi_spec
from docflow.powers import services as powers_services
from docflow.powers.models import PowerOfAttorney
from signing.mchd import Organisation as Principal
from tests.functional.api_support import Api, api_for, error_code
from tests.functional.power_support import (
    PowerKeys,
    power_keys,
    power_xml,
    sign_detached,
    signed_power,
)
from tests.functional.world import World, act_pdf, keys, world

__all__ = ["keys", "power_keys", "world"]

PATH = "/powers-of-attorney"


def _conforms(path: str, method: str, resp: Any) -> None:
    """The answer is the one the OpenAPI description promises."""

    schema = schemathesis.openapi.from_dict(openapi_spec())
    schema[path][method].validate_response(resp)


def _multipart(api: Api, xml: bytes, sig: bytes, **fields: Any) -> Any:
    data: dict[str, Any] = {
        "file": (io.BytesIO(xml), "mchd.xml"),
        "signature": (io.BytesIO(sig), "mchd.xml.sig"),
        **fields,
    }
    return api.post(PATH, data=data, content_type="multipart/form-data")


def _json(api: Api, xml: bytes, sig: bytes, **fields: Any) -> Any:
    return api.post(
        PATH,
        json={
            "xml": base64.b64encode(xml).decode(),
            "signature": base64.b64encode(sig).decode(),
            **fields,
        },
    )


def _api(world: World, scopes: str = "read,write,sign") -> Api:
    return api_for(world, world.org_a, scopes)


def _rows(world: World) -> int:
    with world.app.app_context():
        s = world.session()
        count = s.scalar(select(func.count()).select_from(PowerOfAttorney))
        s.close()
    return int(count or 0)


def _refused(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.data[:500])
    assert error_code(resp) == code, resp.get_json()
    return resp.get_json()["error"]  # type: ignore[no-any-return]


def test_upload_by_multipart_and_json_then_list_get_and_download(
    world: World, power_keys: PowerKeys
) -> None:
    api = _api(world)
    number, xml, sig = signed_power(world)
    created = _multipart(api, xml, sig)
    assert created.status_code == 201, created.get_json()
    _conforms(PATH, "POST", created)
    body = created.get_json()
    assert body["number"] == number
    assert body["status"] == "active" and body["status_label"] == "действует"
    assert body["status_source"] in ("registry", "local")
    assert body["organisation"]["inn"] == "7701234567"
    assert body["principal"]["inn"] == "7701234567"
    assert body["internal_number"] == "МЧД-7/2026"
    assert body["representatives"][0]["last_name"] == "Сидорова"
    assert body["representatives"][0]["snils"] == "12345678964"
    assert body["head"]["last_name"] == "Иванов"
    assert body["signer"]["inn_le"] == "7701234567"
    assert {"code": "02.001", "text": "Полномочие 02.001"} in body["powers"]
    assert body["certificate_id"] is None and body["revoked_at"] is None

    again = _multipart(api, xml, sig)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["id"] == body["id"]
    # The same file sent as JSON is the same МЧД too.
    as_json = _json(api, xml, sig)
    assert as_json.status_code == 200, as_json.get_json()
    assert as_json.get_json()["id"] == body["id"]

    number2, xml2, sig2 = signed_power(world)
    second = _json(api, xml2, sig2)
    assert second.status_code == 201, second.get_json()
    _conforms(PATH, "POST", second)
    assert _json(api, xml2, sig2).status_code == 200
    assert _rows(world) == 2

    listed = api.get(PATH)
    assert listed.status_code == 200
    _conforms(PATH, "GET", listed)
    assert {p["number"] for p in listed.get_json()["items"]} == {number, number2}

    one = api.get(f"{PATH}/{body['id']}")
    assert one.status_code == 200 and one.get_json() == body
    _conforms(PATH + "/{power_id}", "GET", one)
    as_xml = api.get(f"{PATH}/{body['id']}", headers={"Accept": "application/xml"})
    assert as_xml.status_code == 200
    assert as_xml.mimetype == "application/xml" and as_xml.data == xml
    assert as_xml.headers["X-Content-SHA256"] == body["xml_sha256"]
    assert "attachment" in as_xml.headers["Content-Disposition"]
    _conforms(PATH + "/{power_id}", "GET", as_xml)
    signature = api.get(f"{PATH}/{body['id']}/signature")
    assert signature.status_code == 200
    assert signature.mimetype == "application/pkcs7-signature"
    assert signature.data == sig
    _conforms(PATH + "/{power_id}/signature", "GET", signature)
    # JSON stays the default for a client that takes anything.
    anything = api.get(f"{PATH}/{body['id']}", headers={"Accept": "*/*"})
    assert anything.mimetype == "application/json"


def test_another_organisation_neither_sees_nor_uploads_the_power(
    world: World, power_keys: PowerKeys
) -> None:
    _, xml, sig = signed_power(world)
    power_id = _multipart(_api(world), xml, sig).get_json()["id"]
    vasilek = api_for(world, world.org_b)
    for resp in (
        vasilek.get(f"{PATH}/{power_id}"),
        vasilek.get(f"{PATH}/{power_id}", headers={"Accept": "application/xml"}),
        vasilek.get(f"{PATH}/{power_id}/signature"),
        vasilek.delete(f"{PATH}/{power_id}"),
        vasilek.get(f"{PATH}/{uuid.uuid4()}"),
    ):
        _refused(resp, 404, "power_of_attorney_not_found")
    assert vasilek.get(PATH).get_json() == {"items": []}
    # Ромашка's МЧД is not Василёк's to file (a new one, and the one on file).
    _, xml2, sig2 = signed_power(world)
    for xml_, sig_ in ((xml2, sig2), (xml, sig)):
        error = _refused(
            _multipart(vasilek, xml_, sig_), 422, "power_of_attorney_principal"
        )
        assert error["details"]["principal_inn"] == "7701234567"
    # Василёк files its own.
    own = Principal("АО «Василёк»", "5003012345", "1035000712345", "500301001")
    _, xml3, sig3 = signed_power(world, principal=own, signed_by=world.keys.signer_b)
    assert _multipart(vasilek, xml3, sig3).status_code == 201
    assert len(vasilek.get(PATH).get_json()["items"]) == 1
    assert len(_api(world).get(PATH).get_json()["items"]) == 1
    # The supplier's key sees every organisation's, but revokes none.
    supplier = api_for(world, None, "read,sign")
    assert len(supplier.get(PATH).get_json()["items"]) == 2
    assert supplier.get(f"{PATH}/{power_id}").status_code == 200
    _refused(supplier.delete(f"{PATH}/{power_id}"), 403, "forbidden")


def test_a_key_without_the_sign_scope_reads_but_neither_uploads_nor_revokes(
    world: World, power_keys: PowerKeys
) -> None:
    _, xml, sig = signed_power(world)
    power_id = _multipart(_api(world), xml, sig).get_json()["id"]
    reader = _api(world, "read,write")
    for resp in (
        _multipart(reader, xml, sig),
        _json(reader, xml, sig),
        reader.delete(f"{PATH}/{power_id}"),
        reader.delete(f"{PATH}/{power_id}", json={"reason": "уволен"}),
    ):
        error = _refused(resp, 403, "forbidden")
        assert error["details"]["required_scope"] == "sign"
    assert reader.get(f"{PATH}/{power_id}").get_json()["status"] == "active"
    assert reader.get(f"{PATH}/{power_id}/signature").data == sig


def _sign_setup(world: World, power_keys: PowerKeys) -> tuple[Api, dict[str, Any]]:
    """Ромашка's key with the МЧД uploaded and the employee's certificate
    registered under it."""
    api = _api(world)
    number, xml, sig = signed_power(world)
    power = _multipart(api, xml, sig).get_json()
    registered = api.register_certificate(power_keys.employee.der)
    assert registered.status_code == 201, registered.get_json()
    power["certificate"] = registered.get_json()["certificate"]
    power["xml_bytes"], power["sig_bytes"] = xml, sig
    assert power["number"] == number
    return api, power


def _document(api: Api) -> tuple[str, bytes]:
    pdf = act_pdf()
    created = api.post_document(pdf=pdf)
    assert created.status_code == 201, created.get_json()
    return str(created.get_json()["id"]), pdf


def test_a_signature_under_the_power_names_it(
    world: World, power_keys: PowerKeys
) -> None:
    api, power = _sign_setup(world, power_keys)
    doc_id, pdf = _document(api)
    signed = api.sign(doc_id, sign_detached(power_keys.employee, pdf))
    assert signed.status_code == 201, signed.get_json()
    _conforms("/documents/{document_id}/signatures", "POST", signed)
    named = signed.get_json()["signature"]["power_of_attorney"]
    assert named["number"] == power["number"] and named["id"] == power["id"]
    assert named["principal"]["inn"] == "7701234567"
    assert named["signer"]["inn_le"] == "7701234567"
    assert named["xml_sha256"] == power["xml_sha256"]
    assert "representatives" not in named and "powers" not in named
    listed = api.get(f"/documents/{doc_id}/signatures")
    _conforms("/documents/{document_id}/signatures", "GET", listed)
    assert (
        listed.get_json()["items"][0]["power_of_attorney"]["number"] == power["number"]
    )
    document = api.get(f"/documents/{doc_id}").get_json()
    assert document["signatures"][0]["power_of_attorney"]["id"] == power["id"]
    # A signature with the organisation's own certificate needs no МЧД.
    other = api_for(world, world.org_a)
    assert other.register_certificate(world.keys.signer_a.der).status_code == 201
    doc2, pdf2 = _document(other)
    plain = other.sign(doc2, sign_detached(world.keys.signer_a, pdf2))
    assert plain.status_code == 201, plain.get_json()
    assert plain.get_json()["signature"]["power_of_attorney"] is None


def test_a_revoked_power_refuses_the_employees_signature(
    world: World, power_keys: PowerKeys
) -> None:
    api, power = _sign_setup(world, power_keys)
    doc_id, pdf = _document(api)
    revoked = api.delete(f"{PATH}/{power['id']}", json={"reason": "Сотрудник уволен"})
    assert revoked.status_code == 200, revoked.get_json()
    _conforms(PATH + "/{power_id}", "DELETE", revoked)
    body = revoked.get_json()
    assert body["status"] == "revoked" and body["status_label"] == "отозвана"
    assert body["revocation_reason"] == "Сотрудник уволен"
    assert body["revoked_at"] is not None
    # Revoking again changes nothing.
    twice = api.delete(f"{PATH}/{power['id']}")
    assert (
        twice.status_code == 200
        and twice.get_json()["revoked_at"] == body["revoked_at"]
    )
    refused = api.sign(doc_id, sign_detached(power_keys.employee, pdf))
    _refused(refused, 422, "power_of_attorney_revoked")
    # The revoked file cannot be brought back by uploading it again.
    _refused(
        _multipart(api, power["xml_bytes"], power["sig_bytes"]),
        422,
        "power_of_attorney_revoked",
    )


def test_an_upload_binds_to_a_registered_certificate_of_its_representative(
    world: World, power_keys: PowerKeys
) -> None:
    api, power = _sign_setup(world, power_keys)
    cert_id = power["certificate"]["id"]
    bound = _multipart(
        api, power["xml_bytes"], power["sig_bytes"], certificate_id=cert_id
    )
    assert bound.status_code == 200, bound.get_json()
    assert bound.get_json()["certificate_id"] == cert_id
    _, xml, sig = signed_power(world)
    by_json = _json(api, xml, sig, certificate_id=cert_id)
    assert by_json.status_code == 201, by_json.get_json()
    assert by_json.get_json()["certificate_id"] == cert_id
    # The head's certificate: registered, but not the МЧД's representative.
    head = api.register_certificate(world.keys.signer_a.der).get_json()
    _, xml2, sig2 = signed_power(world)
    _refused(
        _multipart(api, xml2, sig2, certificate_id=head["certificate"]["id"]),
        422,
        "power_of_attorney_representative",
    )
    error = _refused(
        _json(api, xml2, sig2, certificate_id=str(uuid.uuid4())),
        422,
        "certificate_not_registered",
    )
    assert error["details"]["field"] == "certificate_id"
    for value in ("не-uuid", 5):
        error = _refused(
            _json(api, xml2, sig2, certificate_id=value), 422, "validation_error"
        )
        assert error["details"]["field"] == "certificate_id"
    # Another organisation's certificate is not visible to the key.
    vasilek = api_for(world, world.org_b)
    b_cert = vasilek.register_certificate(world.keys.signer_b.der).get_json()
    _refused(
        _multipart(api, xml2, sig2, certificate_id=b_cert["certificate"]["id"]),
        422,
        "certificate_not_registered",
    )


def _billion_laughs() -> bytes:
    """Ten entities, each ten of the one before: 10⁹ «lol» if ever expanded."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE lolz ['
        + "".join(entities)
        + "]>\n<lolz>&lol9;</lolz>"
    ).encode()


def test_hostile_bodies_are_refused_with_stable_codes(
    world: World, power_keys: PowerKeys
) -> None:
    api = _api(world)
    _, xml, sig = signed_power(world)
    power_id = _multipart(api, xml, sig).get_json()["id"]
    _, xml_doctype = power_xml()
    xml_doctype = xml_doctype.replace(
        b"?>", b'?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>', 1
    )
    big = b"<a>" + b"x" * (2 * 1024 * 1024) + b"</a>"
    just_over = b"<a>" + b"x" * (1024 * 1024) + b"</a>"
    deep = b"[" * 1000 + b"]" * 1000
    laughs = _billion_laughs()
    b64 = base64.b64encode
    cases: list[tuple[str, Any, int, str, str | None]] = [
        ("broken base64", _json_raw(api, {"xml": "не base64!", "signature": b64(sig).decode()}), 422, "validation_error", "xml"),
        ("base64 of a number", _json_raw(api, {"xml": 12, "signature": b64(sig).decode()}), 422, "validation_error", "xml"),
        ("no signature (JSON)", _json_raw(api, {"xml": b64(xml).decode()}), 422, "validation_error", "signature"),
        ("no file (multipart)", api.post(PATH, data={"signature": (io.BytesIO(sig), "a.sig")}, content_type="multipart/form-data"), 422, "validation_error", "file"),
        ("no signature (multipart)", api.post(PATH, data={"file": (io.BytesIO(xml), "a.xml")}, content_type="multipart/form-data"), 422, "validation_error", "signature"),
        ("empty file", _multipart(api, b"", sig), 422, "validation_error", "file"),
        ("billion laughs", _multipart(api, laughs, sign_detached(world.keys.signer_a, laughs)), 422, "power_of_attorney_format", None),
        ("external entity", _json(api, xml_doctype, sign_detached(world.keys.signer_a, xml_doctype)), 422, "power_of_attorney_format", None),
        ("not XML", _multipart(api, b"\x00\x01 garbage", sig), 422, "power_of_attorney_format", None),
        ("not a signature", _multipart(api, xml, b"not a CMS signature"), 422, "power_of_attorney_signature", None),
        ("2 MB XML (multipart)", _multipart(api, big, sig), 413, "payload_too_large", None),
        ("just over 1 MiB XML", _multipart(api, just_over, sig), 413, "payload_too_large", "file"),
        ("300 KB signature", _multipart(api, xml, b"0" * 300 * 1024), 413, "payload_too_large", "signature"),
        ("2 MB XML (JSON)", _json(api, big, sig), 413, "json_too_large", None),
        ("1 MiB XML in JSON", _json(api, just_over, sig), 413, "payload_too_large", "file"),
        ("JSON 1000 deep", api.post(PATH, data=deep, content_type="application/json"), 400, "json_too_deep", None),
        ("JSON array", api.post(PATH, json=[1, 2]), 422, "validation_error", None),
        ("empty JSON", api.post(PATH, data=b"", content_type="application/json"), 400, "invalid_json", None),
        ("lone surrogate", api.post(PATH, data=b'{"xml": "\\ud800", "signature": "AA=="}', content_type="application/json"), 400, "invalid_json", None),
        ("raw XML body", api.post(PATH, data=xml, content_type="application/xml"), 415, "unsupported_media_type", None),
        ("text body", api.post(PATH, data=b"hello", content_type="text/plain"), 415, "unsupported_media_type", None),
        ("no content type", api.post(PATH, data=b"hello"), 415, "unsupported_media_type", None),
        ("NUL in reason", api.delete(f"{PATH}/{power_id}", json={"reason": "уволен\x00"}), 400, "invalid_json", None),
        ("BEL in reason", api.delete(f"{PATH}/{power_id}", json={"reason": "уволен\x07"}), 400, "invalid_json", None),
        ("long reason", api.delete(f"{PATH}/{power_id}", json={"reason": "я" * 501}), 422, "validation_error", "reason"),
        ("reason a number", api.delete(f"{PATH}/{power_id}", json={"reason": 7}), 422, "validation_error", "reason"),
        ("reason as text", api.delete(f"{PATH}/{power_id}", data=b"reason", content_type="text/plain"), 415, "unsupported_media_type", None),
        ("deep reason", api.delete(f"{PATH}/{power_id}", data=deep, content_type="application/json"), 400, "json_too_deep", None),
        ("not a uuid", api.get(f"{PATH}/not-a-uuid"), 404, "not_found", None),
        ("NUL in the path", api.get(f"{PATH}/%00"), 404, "not_found", None),
    ]  # fmt: skip
    for label, resp, status, code, field in cases:
        assert resp.status_code == status, (label, resp.status_code, resp.data[:300])
        assert error_code(resp) == code, (label, resp.get_json())
        if field is not None:
            assert resp.get_json()["error"]["details"]["field"] == field, label
    # Nothing was revoked or added by any of them.
    assert _api(world).get(f"{PATH}/{power_id}").get_json()["status"] == "active"
    assert _rows(world) == 1


def _json_raw(api: Api, payload: Any) -> Any:
    return api.post(PATH, json=payload)


def test_the_same_number_with_other_content_is_a_conflict(
    world: World, power_keys: PowerKeys
) -> None:
    api = _api(world)
    number, xml, sig = signed_power(world)
    assert _multipart(api, xml, sig).status_code == 201
    _, other, other_sig = signed_power(world, number=number, codes=("02.002",))
    resp = _json(api, other, other_sig)
    _refused(resp, 409, "power_of_attorney_duplicate")
    _conforms(PATH, "POST", resp)


def test_identical_uploads_at_once_give_one_row(
    world: World, power_keys: PowerKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both requests pass the service's look-up before either inserts (the
    barrier in the registry check between them): the loser of the unique
    constraint answers with the winner's row, never a 500."""
    _, xml, sig = signed_power(world)
    barrier = threading.Barrier(2, timeout=20)
    original = powers_services.registry_status

    def in_step(*args: Any, **kwargs: Any) -> Any:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return original(*args, **kwargs)

    monkeypatch.setattr(powers_services, "registry_status", in_step)
    answers: list[tuple[int, Any]] = []

    def upload(api: Api) -> None:
        resp = _multipart(api, xml, sig)
        answers.append((resp.status_code, resp.get_json()))

    threads = [threading.Thread(target=upload, args=(_api(world),)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = sorted(code for code, _ in answers)
    assert codes == [200, 201], answers
    assert answers[0][1]["id"] == answers[1][1]["id"]
    assert _rows(world) == 1
