"""``docflow trust import-tsl``: the Минцифры list of accredited centres, and
the qualified status of registered certificates (issue 13, item 3)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from docflow.certificates.models import AccreditedCentre, AnchorKind, TrustAnchor
from signing import CertificateInfo, inspect_certificate, pki
from tests.functional.test_document_access import client_for
from tests.functional.world import World, keys, world
from tests.tsl_data import BILLION_LAUGHS, ENTITY_XML, Centre, tsl_xml

__all__ = ["keys", "world"]

ACTIVE = "ООО «УЦ Аккредитованный»"
ENDED = "АО «УЦ Бывший»"
TOOL = "СКЗИ «КриптоПро CSP» (версия 5.0)"


@dataclass(frozen=True)
class Centres:
    root: pki.Issued
    ca: pki.Issued
    old_root: pki.Issued

    def xml(self, *, active_status: str = "Действует", version: str = "1") -> bytes:
        return tsl_xml(
            [
                Centre(ACTIVE, "1027700000001", active_status, [self.root, self.ca]),
                Centre(ENDED, "1027700000002", "Прекращена", [self.old_root]),
            ],
            version=version,
        )


@pytest.fixture(scope="module")
def centres() -> Centres:
    root = pki.make_root_ca("Корневой УЦ Тест")
    return Centres(
        root=root,
        ca=pki.make_intermediate_ca(root, "УЦ Аккредитованный"),
        old_root=pki.make_root_ca("УЦ АО «Бывший»"),
    )


def _import(world: World, tmp_path: Path, data: bytes) -> tuple[int, str]:
    path = tmp_path / "tsl.xml"
    path.write_bytes(data)
    result = world.app.test_cli_runner().invoke(args=["trust", "import-tsl", str(path)])
    return result.exit_code, result.output


def _register(world: World, issued: pki.Issued) -> str:
    client = client_for(world, "signer_a")
    resp = client.post(
        "/certificates/",
        data={"certificate": (io.BytesIO(issued.pem), "cert.crt")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_data(as_text=True)


def _info(issued: pki.Issued) -> CertificateInfo:
    return inspect_certificate(issued.der)


def _qualified(issuer: pki.Issued) -> pki.Issued:
    return pki.make_signer(
        issuer, subject_sign_tool=TOOL, issuer_sign_tool=pki.ISSUER_SIGN_TOOL
    )


def test_import_stores_centres_and_trusts_their_certificates(
    world: World, centres: Centres, tmp_path: Path
) -> None:
    code, output = _import(world, tmp_path, centres.xml())
    assert code == 0, output
    assert "Перечень версии 1: УЦ 2, сертификатов 3" in output
    assert (
        "Импортировано УЦ: 2 (аккредитация действует: 1), сертификатов УЦ: 3 "
        "(новых в списке доверенных: 3)"
    ) in output
    with world.app.app_context():
        s = world.session()
        rows = {c.name: c for c in s.scalars(select(AccreditedCentre))}
        assert rows[ACTIVE].is_accredited and rows[ACTIVE].status == "Действует"
        assert not rows[ENDED].is_accredited and rows[ENDED].inn == "7700000000"
        anchors = {
            a.sha1: a
            for a in s.scalars(
                select(TrustAnchor).where(TrustAnchor.accredited_centre_id.is_not(None))
            )
        }
        kinds = {
            name: (anchors[info.sha1].kind, anchors[info.sha1].accredited_centre_id)
            for name, info in (
                ("root", _info(centres.root)),
                ("ca", _info(centres.ca)),
                ("old", _info(centres.old_root)),
            )
        }
        assert kinds == {
            "root": (AnchorKind.ROOT, rows[ACTIVE].id),
            "ca": (AnchorKind.INTERMEDIATE, rows[ACTIVE].id),
            "old": (AnchorKind.ROOT, rows[ENDED].id),
        }
        store = world.trust(s)
        assert store.accredited_centre(centres.ca.der) == ACTIVE
        assert store.accredited_centre(centres.root.der) == ACTIVE
        # The centre whose accreditation ended: trusted, but not accredited.
        assert store.accredited_centre(centres.old_root.der) is None
        s.close()


def test_reimport_is_idempotent_and_updates_statuses(
    world: World, centres: Centres, tmp_path: Path
) -> None:
    assert _import(world, tmp_path, centres.xml())[0] == 0
    signer = _qualified(centres.ca)
    page = _register(world, signer)
    assert f"Квалифицированный сертификат: выдан аккредитованным УЦ «{ACTIVE}»" in page
    code, output = _import(
        world, tmp_path, centres.xml(active_status="Прекращена", version="2")
    )
    assert code == 0, output
    assert "(новых в списке доверенных: 0)" in output
    assert f"Статус изменился: {ACTIVE}: Действует → Прекращена" in output
    with world.app.app_context():
        s = world.session()
        row = s.scalar(select(AccreditedCentre).where(AccreditedCentre.name == ACTIVE))
        assert row is not None and row.status == "Прекращена"
        assert not row.is_accredited
        assert world.trust(s).accredited_centre(centres.ca.der) is None
        s.close()
    # The certificate page says so now.
    client = client_for(world, "signer_a")
    listing = client.get("/certificates/").get_data(as_text=True)
    card_path = next(
        part.split('"')[0]
        for part in listing.split('href="')[1:]
        if part.startswith("/certificates/") and len(part.split('"')[0]) > 30
    )
    card = client.get(card_path).get_data(as_text=True)
    assert "Неквалифицированный: цепочка не ведёт к аккредитованному" in card


def test_registration_report_says_qualified_with_the_centre(
    world: World, centres: Centres, tmp_path: Path
) -> None:
    assert _import(world, tmp_path, centres.xml())[0] == 0
    page = _register(world, _qualified(centres.ca))
    assert "Сертификат зарегистрирован" in page
    assert (
        f"Квалифицированный сертификат: выдан аккредитованным УЦ «{ACTIVE}», "
        "класс средства КС1"
    ) in page
    assert f"Средство ЭП: {TOOL}" in page


def test_certificate_without_sign_tools_is_not_qualified_with_the_reason(
    world: World, centres: Centres, tmp_path: Path
) -> None:
    assert _import(world, tmp_path, centres.xml())[0] == 0
    page = _register(world, pki.make_signer(centres.ca))
    assert (
        "Неквалифицированный: нет сведений о средстве ЭП владельца (subjectSignTool); "
        "нет сведений о средствах УЦ (issuerSignTool)"
    ) in page


def test_refusal_page_shows_the_qualified_status(
    world: World, centres: Centres, tmp_path: Path
) -> None:
    assert _import(world, tmp_path, centres.xml())[0] == 0
    # A qualified certificate of another organisation's ИНН: refused, but
    # the report still says what the certificate is.
    foreign = pki.make_signer(
        centres.ca,
        inn_le="7812345678",
        subject_sign_tool=TOOL,
        issuer_sign_tool=pki.ISSUER_SIGN_TOOL,
    )
    client = client_for(world, "signer_a")
    resp = client.post(
        "/certificates/",
        data={"certificate": (io.BytesIO(foreign.pem), "cert.crt")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    assert f"выдан аккредитованным УЦ «{ACTIVE}»" in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (ENTITY_XML, "DOCTYPE или ENTITY"),
        (BILLION_LAUGHS, "DOCTYPE или ENTITY"),
        (b"<html><body>503</body></html>", "Это не перечень"),
    ],
)
def test_hostile_xml_is_refused_with_a_clear_message(
    world: World, tmp_path: Path, data: bytes, message: str
) -> None:
    code, output = _import(world, tmp_path, data)
    assert code != 0 and message in output
    assert "Traceback" not in output


def test_a_100_mb_file_is_refused_before_reading(world: World, tmp_path: Path) -> None:
    path = tmp_path / "huge.xml"
    with path.open("wb") as fh:  # sparse: 100 MB on paper, nothing on disk
        fh.truncate(100 * 1024 * 1024)
    result = world.app.test_cli_runner().invoke(args=["trust", "import-tsl", str(path)])
    assert result.exit_code != 0
    assert "Файл слишком велик (100 МБ)" in result.output
