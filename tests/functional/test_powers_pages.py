"""The pages of powers of attorney (МЧД): upload, card, downloads, revocation,
the administrator's map of powers, the certificate registered with its МЧД in
one form, and the МЧД named on the document's card and printable stamp."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import uuid
from html import unescape
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from docflow.accounts.models import Role
from docflow.certificates.models import Certificate
from docflow.db import transaction
from docflow.documents.models import Document, Party
from docflow.documents.printable import StampText
from docflow.powers.models import PowerOfAttorney, PowerRule, PowerStatus
from signing import Verdict, pki
from signing.mchd import Organisation as Principal
from tests.factories import make_user
from tests.functional.api_support import api_for
from tests.functional.power_support import (
    PowerKeys,
    power_keys,
    power_xml,
    sign_detached,
    signed_power,
)
from tests.functional.test_russian_pages import english_words
from tests.functional.world import PASSWORD, World, act_pdf, keys, world

__all__ = ["keys", "power_keys", "world"]


def _client(world: World, email: str) -> FlaskClient:
    client = world.app.test_client()
    resp = client.post("/account/login", data={"email": email, "password": PASSWORD})
    assert resp.status_code == 302, email
    return client


def _admin(world: World) -> str:
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            make_user(
                s,
                email="admin@energosbyt.example",
                last_name="Кузнецов",
                first_name="Андрей",
                role=Role.ADMIN,
            )
        s.close()
    return "admin@energosbyt.example"


def _upload(client: FlaskClient, xml: bytes, sig: bytes) -> Any:
    return client.post(
        "/powers-of-attorney/",
        data={
            "xml": (io.BytesIO(xml), "mchd.xml"),
            "signature": (io.BytesIO(sig), "mchd.xml.sig"),
        },
        content_type="multipart/form-data",
    )


def _text(resp: Any) -> str:
    """The page's text, tags and entities removed, spaces collapsed."""
    html = resp.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _russian(resp: Any) -> Any:
    """The page, checked to say everything in Russian (as test_russian_pages)."""
    assert resp.status_code in (200, 422), resp.status_code
    assert english_words(resp.get_data(as_text=True)) == []
    return resp


def _errors(resp: Any) -> list[str]:
    return [
        unescape(e)
        for e in re.findall(
            r'<small class="error">(.*?)</small>', resp.get_data(as_text=True)
        )
    ]


def _power_id(world: World, number: str) -> uuid.UUID:
    with world.app.app_context():
        s = world.session()
        ident = s.scalar(
            select(PowerOfAttorney.id).where(PowerOfAttorney.number == number)
        )
        s.close()
    assert ident is not None
    return ident


def _uploaded(world: World) -> tuple[str, uuid.UUID]:
    """An МЧД uploaded by signer_a through the page: (number, id)."""
    number, xml, sig = signed_power(world)
    resp = _upload(_client(world, world.signer_a.email), xml, sig)
    assert resp.status_code == 302, _errors(resp)
    return number, _power_id(world, number)


# -- upload --------------------------------------------------------------------------


def test_a_signatory_uploads_a_power_and_reads_its_card(world: World) -> None:
    client = _client(world, world.signer_a.email)
    page = client.get("/powers-of-attorney/")
    assert page.status_code == 200
    assert 'data-testid="power-upload"' in page.get_data(as_text=True)
    number, xml, sig = signed_power(world)
    resp = _upload(client, xml, sig)
    assert resp.status_code == 302
    ident = _power_id(world, number)
    assert resp.headers["Location"].endswith(f"/powers-of-attorney/{ident}")
    card = _russian(client.get(f"/powers-of-attorney/{ident}"))
    text = _text(card)
    for expected in (
        "Доверенность проверена и загружена",
        number,
        "МЧД-7/2026",
        "ООО «Ромашка»",
        "7701234567",
        "1027700132195",
        "770101001",
        "Сидорова Анна Павловна",
        "123-456-789 64",
        "500301234560",
        "02.001",
        "Полномочие 02.001",
        "Подписывать акты снятия показаний",
        "без права передоверия",
        "Иванов Иван Иванович",
        "действует",
        "реестр доверенностей ФНС",
        "Отозвать доверенность",
    ):
        assert expected in text, expected
    listing = _text(_russian(client.get("/powers-of-attorney/")))
    assert "МЧД-7/2026" in listing and "Сидорова Анна Павловна" in listing
    xml_file = client.get(f"/powers-of-attorney/{ident}/xml")
    assert xml_file.status_code == 200 and xml_file.data == xml
    assert f"mchd-{number}.xml" in xml_file.headers["Content-Disposition"]
    assert "attachment" in xml_file.headers["Content-Disposition"]
    sig_file = client.get(f"/powers-of-attorney/{ident}/signature")
    assert sig_file.status_code == 200 and sig_file.data == sig
    assert f"mchd-{number}.xml.sig" in sig_file.headers["Content-Disposition"]


def test_refused_uploads_say_why_in_russian(world: World) -> None:
    client = _client(world, world.signer_a.email)
    # Not an МЧД at all.
    broken = _upload(client, b"<Power/>", b"\x30\x03\x02\x01\x00")
    assert broken.status_code == 422
    assert _errors(broken) and all(re.search("[а-яА-Я]", e) for e in _errors(broken)), (
        _errors(broken)
    )
    garbage = _upload(client, b"\xff\xfe" * 10, b"x")
    assert garbage.status_code == 422 and _errors(garbage)
    # Signed by someone else (the head of АО «Василёк»).
    _, xml, sig = signed_power(world, signed_by=world.keys.signer_b)
    other = _upload(client, xml, sig)
    assert other.status_code == 422
    assert "не сертификатом доверителя" in " ".join(_errors(other))
    # Over other bytes: the signature does not verify.
    _, xml, sig = signed_power(world)
    tampered = _upload(client, xml.replace(b"7/2026", b"8/2026"), sig)
    assert tampered.status_code == 422
    assert "Подпись МЧД" in " ".join(_errors(tampered))
    # A principal Ромашка's signatory does not sign for.
    vasilek = Principal("АО «Василёк»", "5003012345", "1035000712345", "500301001")
    _, xml, sig = signed_power(world, principal=vasilek, signed_by=world.keys.signer_b)
    foreign = _upload(client, xml, sig)
    assert foreign.status_code == 422
    assert "за которую вы подписываете" in " ".join(_errors(foreign))
    # Missing files and oversized ones.
    empty = client.post(
        "/powers-of-attorney/", data={}, content_type="multipart/form-data"
    )
    assert empty.status_code == 422
    assert "Выберите файл МЧД (.xml)." in _errors(empty)
    big = _upload(client, b"<" + b"x" * (1024 * 1024 + 10), b"x")
    assert big.status_code == 413
    assert any("слишком велик" in e for e in _errors(big))
    with world.app.app_context():
        s = world.session()
        assert s.scalars(select(PowerOfAttorney)).all() == []
        s.close()


# -- who sees and revokes ----------------------------------------------------------------


def test_the_card_is_seen_by_the_uploader_and_the_supplier_not_by_others(
    world: World,
) -> None:
    _, ident = _uploaded(world)
    admin = _client(world, _admin(world))
    for who, expected in (
        (world.signer_a.email, 200),
        (world.clerk.email, 200),
        (world.signer_b.email, 404),
        (world.viewer_a.email, 404),
    ):
        client = _client(world, who)
        for path in ("", "/xml", "/signature"):
            got = client.get(f"/powers-of-attorney/{ident}{path}").status_code
            assert got == expected, (who, path, got)
    assert admin.get(f"/powers-of-attorney/{ident}").status_code == 200
    # Another organisation's list does not name it.
    listing = _client(world, world.signer_b.email).get("/powers-of-attorney/")
    assert "Ромашка" not in listing.get_data(as_text=True)
    # The clerk is not offered the revocation.
    clerk_card = _client(world, world.clerk.email).get(f"/powers-of-attorney/{ident}")
    assert 'data-testid="power-revoke"' not in clerk_card.get_data(as_text=True)


def test_the_uploader_revokes_and_a_clerk_may_not(world: World) -> None:
    _, ident = _uploaded(world)
    clerk = _client(world, world.clerk.email)
    refused = clerk.post(f"/powers-of-attorney/{ident}/revoke", data={"reason": "x"})
    assert refused.status_code == 403
    signer = _client(world, world.signer_a.email)
    done = signer.post(
        f"/powers-of-attorney/{ident}/revoke", data={"reason": "сотрудник уволен"}
    )
    assert done.status_code == 302
    card = _text(signer.get(f"/powers-of-attorney/{ident}"))
    assert "отозвана" in card and "сотрудник уволен" in card
    assert "Доверенность отозвана в кабинете" in card
    with world.app.app_context():
        s = world.session()
        row = s.get(PowerOfAttorney, ident)
        assert row is not None and row.status == PowerStatus.REVOKED
        s.close()


def test_the_supplier_administrator_revokes(world: World) -> None:
    _, ident = _uploaded(world)
    admin = _client(world, _admin(world))
    assert 'data-testid="power-revoke"' in admin.get(
        f"/powers-of-attorney/{ident}"
    ).get_data(as_text=True)
    # A control character in the reason is refused with the form.
    bad = admin.post(f"/powers-of-attorney/{ident}/revoke", data={"reason": "a\x01"})
    assert bad.status_code == 422
    done = admin.post(f"/powers-of-attorney/{ident}/revoke", data={"reason": ""})
    assert done.status_code == 302
    with world.app.app_context():
        s = world.session()
        row = s.get(PowerOfAttorney, ident)
        assert row is not None and row.status == PowerStatus.REVOKED
        s.close()


# -- the map of powers ---------------------------------------------------------------------


def test_only_the_administrator_edits_the_map_of_powers(world: World) -> None:
    clerk = _client(world, world.clerk.email)
    assert clerk.get("/powers-of-attorney/rules").status_code == 403
    assert clerk.post("/powers-of-attorney/rules", data={}).status_code == 403
    # A customer does not learn the supplier's page exists.
    customer = _client(world, world.signer_a.email)
    assert customer.get("/powers-of-attorney/rules").status_code == 404
    assert customer.post("/powers-of-attorney/rules", data={}).status_code == 404
    admin = _client(world, _admin(world))
    page = _russian(admin.get("/powers-of-attorney/rules"))
    html = page.get_data(as_text=True)
    assert 'value="02.001, 02.002"' in html  # the defaults of ПРОМ10
    assert "Акт ПРОМ10" in html
    # Saved as shown: the defaults stay defaults, nothing is written.
    unchanged = admin.post(
        "/powers-of-attorney/rules",
        data={"prom10": "02.001, 02.002", "contract": "01.001", "letter": ""},
    )
    assert unchanged.status_code == 302
    with world.app.app_context():
        s = world.session()
        assert s.scalars(select(PowerRule)).all() == []
        s.close()
    saved = admin.post(
        "/powers-of-attorney/rules",
        data={"prom10": "02.003; 02.004 02.003", "letter": "", "invoice": "02.001"},
    )
    assert saved.status_code == 302
    with world.app.app_context():
        s = world.session()
        rules = {(r.doc_type, r.code) for r in s.scalars(select(PowerRule))}
        s.close()
    assert ("prom10", "02.003") in rules and ("prom10", "02.004") in rules
    assert not any(t == "prom10" and c == "02.001" for t, c in rules)
    assert 'value="02.003, 02.004"' in admin.get("/powers-of-attorney/rules").get_data(
        as_text=True
    )
    wrong = admin.post("/powers-of-attorney/rules", data={"prom10": "02.001 <b>"})
    assert wrong.status_code == 422
    assert any("не код классификатора" in e for e in _errors(wrong))


# -- the certificate with its МЧД ----------------------------------------------------------


def _register(
    client: FlaskClient, cert: bytes, xml: bytes | None = None, sig: bytes | None = None
) -> Any:
    data: dict[str, Any] = {"certificate": (io.BytesIO(cert), "employee.cer")}
    if xml is not None:
        data["power_xml"] = (io.BytesIO(xml), "mchd.xml")
    if sig is not None:
        data["power_signature"] = (io.BytesIO(sig), "mchd.xml.sig")
    return client.post("/certificates/", data=data, content_type="multipart/form-data")


def _counts(world: World) -> tuple[int, int]:
    with world.app.app_context():
        s = world.session()
        counts = (
            len(s.scalars(select(PowerOfAttorney)).all()),
            len(s.scalars(select(Certificate)).all()),
        )
        s.close()
    return counts


def test_a_personal_certificate_is_registered_with_its_power_in_one_form(
    world: World, power_keys: PowerKeys
) -> None:
    client = _client(world, world.signer_a.email)
    form = client.get("/certificates/").get_data(as_text=True)
    assert "Машиночитаемая доверенность (МЧД), .xml" in form
    assert "Подпись МЧД, .sig" in form
    # Without the МЧД: refused, saying to attach it.
    refused = _russian(_register(client, power_keys.employee.der))
    assert refused.status_code == 422
    assert "МЧД" in _text(refused)
    # Only one of the two files.
    number, xml, sig = signed_power(world)
    half = _register(client, power_keys.employee.der, xml=xml)
    assert half.status_code == 422
    assert any("подпись МЧД (.sig)" in e for e in _errors(half))
    other_half = _register(client, power_keys.employee.der, sig=sig)
    assert other_half.status_code == 422
    assert any("файл МЧД (.xml)" in e for e in _errors(other_half))
    assert _counts(world) == (0, 0)
    # Both: the МЧД is filed and the certificate registered, bound together.
    done = _register(client, power_keys.employee.der, xml=xml, sig=sig)
    assert done.status_code == 302, _errors(done) or _text(done)[:500]
    card = _russian(client.get(done.headers["Location"]))
    ident = _power_id(world, number)
    html = card.get_data(as_text=True)
    assert f"/powers-of-attorney/{ident}" in html
    assert "по доверенности" in _text(card)
    with world.app.app_context():
        s = world.session()
        power = s.get(PowerOfAttorney, ident)
        cert = s.scalar(select(Certificate))
        assert power is not None and cert is not None
        assert power.certificate_id == cert.id
        assert cert.organisation_id == world.org_a.id
        s.close()


def test_a_refused_registration_keeps_nothing_of_its_power(
    world: World, power_keys: PowerKeys
) -> None:
    client = _client(world, world.signer_a.email)
    # An МЧД for the employee, posted with a stranger's certificate.
    _, xml, sig = signed_power(world)
    refused = _register(client, power_keys.stranger.der, xml=xml, sig=sig)
    assert refused.status_code == 422
    assert "не владелец сертификата" in " ".join(_errors(refused))
    # A valid МЧД, but the certificate itself is refused (not trusted).
    _, xml, sig = signed_power(world)
    untrusted = _register(client, world.keys.foreign_a.der, xml=xml, sig=sig)
    assert untrusted.status_code == 422
    # A broken МЧД with a good certificate: nothing is registered either.
    broken = _register(client, power_keys.employee.der, xml=b"<x/>", sig=b"x")
    assert broken.status_code == 422
    assert _errors(broken)
    assert _counts(world) == (0, 0)


def test_a_refused_certificate_rolls_its_power_back(
    world: World, power_keys: PowerKeys
) -> None:
    # An МЧД that names the employee, but the employee's certificate comes
    # from an untrusted CA: the registration is refused after the МЧД passed.
    untrusted = pki.make_signer(
        world.keys.foreign_root, surname="Сидорова", given_name="Анна Павловна",
        organization=None, title=None, inn="500301234560", inn_le=None, ogrn=None,
        snils="12345678964",
    )  # fmt: skip
    client = _client(world, world.signer_a.email)
    _, xml, sig = signed_power(world)
    refused = _register(client, untrusted.der, xml=xml, sig=sig)
    assert refused.status_code == 422
    assert 'data-testid="refusal"' in refused.get_data(as_text=True)
    assert "не сохранена" in _text(refused)
    assert _counts(world) == (0, 0)


# -- the document signed under an МЧД ----------------------------------------------------


def _signed_by_the_employee(world: World, power_keys: PowerKeys) -> tuple[str, str]:
    """A document of Ромашка signed by the employee under an МЧД uploaded by
    the signatory: (document id, МЧД number)."""
    number, ident = _uploaded(world)
    api = api_for(world, world.org_a, "read,write,sign")
    assert api.register_certificate(power_keys.employee.der).status_code == 201
    created = api.post_document(pdf=act_pdf())
    assert created.status_code == 201, created.get_json()
    doc_id = str(created.get_json()["id"])

    with world.app.app_context():
        s = world.session()
        doc = s.get(Document, uuid.UUID(doc_id))
        assert doc is not None
        original = world.storage.read_bytes(doc.main_file.blob_key)
        s.close()
    signed = api.sign(doc_id, sign_detached(power_keys.employee, original))
    assert signed.status_code == 201, signed.get_json()
    return doc_id, number


def test_the_document_card_and_the_printable_name_the_power(
    world: World, power_keys: PowerKeys, tmp_path: Path
) -> None:
    doc_id, number = _signed_by_the_employee(world, power_keys)
    ident = _power_id(world, number)
    signer = _client(world, world.signer_a.email)
    card = signer.get(f"/documents/{doc_id}")
    assert card.status_code == 200
    # (The history names the API key in Latin letters: only the new line here.)
    line = re.search(
        r'<dd data-testid="power-of-attorney">.*?</dd>', card.get_data(as_text=True)
    )
    assert line is not None and english_words(line.group(0)) == []
    text = _text(card)
    assert f"По доверенности № МЧД-7/2026 ({number}) от" in text
    assert "Доверитель: ООО «Ромашка»" in text
    assert f'href="/powers-of-attorney/{ident}"' in card.get_data(as_text=True)
    # The viewer sees the document, not the МЧД: its name without a link.
    viewer = _client(world, world.viewer_a.email).get(f"/documents/{doc_id}")
    assert viewer.status_code == 200
    assert f"По доверенности № МЧД-7/2026 ({number})" in _text(viewer)
    assert f'href="/powers-of-attorney/{ident}"' not in viewer.get_data(as_text=True)
    printable = signer.get(f"/documents/{doc_id}/printable.pdf")
    assert printable.status_code == 200
    path = tmp_path / "printable.pdf"
    path.write_bytes(printable.data)
    sheet = subprocess.run(
        ["pdftotext", str(path), "-"],  # noqa: S607 - poppler-utils
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    flat = " ".join(sheet.split())
    assert "По доверенности № МЧД-7/2026" in flat
    assert number.replace("-", "") in "".join(sheet.split()).replace("-", "")
    assert "Доверитель: ООО «Ромашка»" in flat
    assert flat.index("Владелец: Сидорова Анна Павловна") < flat.index(
        "По доверенности"
    )


def test_the_stamp_lines_name_the_power() -> None:
    now = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    sig = SimpleNamespace(
        certificate_serial="0A1B", signer_name="Сидорова Анна Павловна",
        signer_organisation=None, certificate_not_before=now,
        certificate_not_after=now, signing_time=now, timestamp_time=None,
        timestamp_serial=None, tsa_name=None, signing_time_source="receipt",
        received_at=None, claimed_time=None, party=Party.CUSTOMER,
        verdict=Verdict.VALID,
        report={"power_of_attorney": {
            "label": "№ МЧД-7/2026 (abc) от 15.01.2026",
            "principal": {"name": "ООО «Ромашка»"},
        }},
    )  # fmt: skip
    lines = StampText.of(sig).lines  # type: ignore[arg-type]
    owner = lines.index("Владелец: Сидорова Анна Павловна")
    assert lines[owner + 1] == "По доверенности № МЧД-7/2026 (abc) от 15.01.2026"
    assert lines[owner + 2] == "Доверитель: ООО «Ромашка»"
    sig.report = {}
    assert not any("доверенност" in line for line in StampText.of(sig).lines)  # type: ignore[arg-type]


def test_an_unpublished_power_is_refused_on_the_page(world: World) -> None:
    _, xml = power_xml()  # never registered in the registry
    resp = _upload(
        _client(world, world.signer_a.email),
        xml,
        sign_detached(world.keys.signer_a, xml),
    )
    assert resp.status_code == 422
    assert "не найдена в реестре" in " ".join(_errors(resp))
