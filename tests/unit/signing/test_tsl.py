"""Reading the Минцифры list of accredited certification centres, and
refusing hostile XML."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from signing import pki
from signing.errors import TslFormatError
from signing.tsl import parse_tsl, read_tsl
from tests.tsl_data import BILLION_LAUGHS, ENTITY_XML, Centre, tsl_xml


def _centres(root: pki.Issued, intermediate: pki.Issued) -> list[Centre]:
    return [
        Centre(
            "ООО «УЦ Действующий»", "1027700000001", "Действует", [root, intermediate]
        ),
        Centre("АО «УЦ Прекративший»", "1027700000002", "Прекращена", [intermediate]),
    ]


def test_parse_reads_centres_statuses_and_certificates(
    pki_root: pki.Issued, pki_intermediate: pki.Issued
) -> None:
    tsl = parse_tsl(tsl_xml(_centres(pki_root, pki_intermediate), version="777"))
    assert tsl.version == "777"
    assert tsl.date == dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)
    active, ended = tsl.centres
    assert (active.name, active.ogrn, active.inn) == (
        "ООО «УЦ Действующий»",
        "1027700000001",
        "7700000000",
    )
    assert active.is_accredited and not ended.is_accredited
    assert ended.status == "Прекращена" and ended.key == "1027700000002"
    assert active.status_since == dt.datetime(2021, 6, 30, 21, 0, tzinfo=dt.UTC)
    assert [c.der for c in active.certificates] == [pki_root.der, pki_intermediate.der]
    first = active.certificates[0]
    assert first.not_after == pki_root.cert.not_valid_after_utc
    assert first.complex_alias == "ООО «УЦ Действующий» ПАК 1"
    assert first.serial == f"{pki_root.cert.serial_number:X}"
    assert tsl.certificate_count == 3 and tsl.problems == ()


def test_a_wrong_thumbprint_or_bad_data_skips_the_certificate(
    pki_root: pki.Issued,
) -> None:
    xml = tsl_xml([Centre("УЦ", "1", "Действует", [pki_root])], bad_thumbprint=True)
    tsl = parse_tsl(xml)
    assert tsl.centres[0].certificates == ()
    assert "отпечаток не совпадает" in tsl.problems[0]
    broken = xml.replace("<Данные>".encode(), "<Данные>!!".encode())
    assert "не являются сертификатом" in parse_tsl(broken).problems[0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (ENTITY_XML, "DOCTYPE или ENTITY"),
        (BILLION_LAUGHS, "DOCTYPE или ENTITY"),
        (b"<not-closed", "не является корректным XML"),
        (b"<root/>", "корневой элемент «root»"),
        ("<?xml version='1.0' encoding='UTF-16'?><a/>".encode("utf-16"), "UTF-8"),
        (b"<?xml version='1.0' encoding='UTF-7'?><a/>", "объявляет «UTF-7»"),
    ],
)
def test_hostile_or_foreign_xml_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(TslFormatError, match=message):
        parse_tsl(data)


def test_too_large_input_is_refused_before_parsing(tmp_path: Path) -> None:
    with pytest.raises(TslFormatError, match="слишком велик"):
        parse_tsl(b"<a/>" * 10, max_bytes=16)
    big = tmp_path / "tsl.xml"
    with big.open("wb") as fh:  # sparse: 100 MB on paper, nothing on disk
        fh.truncate(100 * 1024 * 1024)
    with pytest.raises(TslFormatError, match=r"слишком велик \(100 МБ\)"):
        read_tsl(big)


def test_read_tsl_reads_a_file_and_names_an_unreadable_one(
    tmp_path: Path, pki_root: pki.Issued
) -> None:
    path = tmp_path / "tsl.xml"
    path.write_bytes(tsl_xml([Centre("УЦ", "1", "Действует", [pki_root])]))
    assert read_tsl(path).centres[0].certificates[0].der == pki_root.der
    with pytest.raises(TslFormatError, match="не читается"):
        read_tsl(tmp_path / "missing.xml")


def test_a_centre_without_complexes_or_ogrn_is_kept_by_name() -> None:
    xml = (
        "<АккредитованныеУдостоверяющиеЦентры><УдостоверяющийЦентр>"
        "<Название>УЦ без ПАК</Название><СтатусАккредитации><Статус>Аннулирована"
        "</Статус><ДействуетС>не дата</ДействуетС></СтатусАккредитации>"
        "</УдостоверяющийЦентр></АккредитованныеУдостоверяющиеЦентры>"
    ).encode()
    (centre,) = parse_tsl(xml).centres
    assert centre.key == "УЦ без ПАК" and centre.certificates == ()
    assert centre.status_since is None and not centre.is_accredited
