"""Reading a machine-readable power of attorney (ЕФ МЧД 003 and 002)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import pytest

from signing import pki
from signing.cms import sign_cms, verify_cms
from signing.errors import MchdFormatError
from signing.mchd import (
    FormatVersion,
    Organisation,
    Person,
    Power,
    PowerOfAttorney,
    Redelegation,
    read_power_of_attorney,
    write_power_of_attorney,
)
from signing.reports import Verdict
from signing.signers import GostSigner, Pkcs12Signer
from signing.trust import TrustStore

from . import gost_pki
from .mchd_samples import (
    NUMBER,
    POWER_CODE,
    POWER_NAME,
    POWER_TEXT,
    Sample,
    mchd_002,
    mchd_003,
)

Builder = Callable[[Sample], bytes]
BUILDERS = [
    pytest.param(mchd_003, FormatVersion.V003, id="003"),
    pytest.param(mchd_002, FormatVersion.V002, id="002"),
]


@pytest.mark.parametrize("encoding", ["UTF-8", "windows-1251"])
@pytest.mark.parametrize(("build", "version"), BUILDERS)
def test_read_power_of_attorney_reads_every_field(
    build: Builder, version: FormatVersion, encoding: str
) -> None:
    poa = read_power_of_attorney(build(Sample(encoding=encoding)))

    assert poa.format_version is version
    assert poa.number == NUMBER
    assert poa.internal_number == "МЧД-2026/17"
    assert poa.issued_on == dt.date(2026, 1, 15)
    assert poa.valid_until == dt.date(2026, 12, 31)
    assert poa.principal == Organisation(
        name="ООО «Ромашка»", inn="7701234567", ogrn="1027700132195", kpp="770101001"
    )
    assert poa.representatives == (
        Person(
            last_name="Иванова",
            first_name="Мария",
            patronymic="Сергеевна",
            snils="123-456-789 01",
            inn="772800123456",
        ),
    )
    assert poa.powers == (
        Power(code=None, text=POWER_TEXT),
        Power(code=POWER_CODE, text=POWER_NAME),
    )
    assert poa.coded_powers == (POWER_CODE,)
    assert poa.redelegation is Redelegation.ONCE
    assert poa.file_id is not None
    assert NUMBER in poa.file_id


@pytest.mark.parametrize(("build", "version"), BUILDERS)
@pytest.mark.parametrize(
    ("sample", "words"),
    [
        pytest.param(Sample(with_principal=False), "СвДоверит", id="no-principal"),
        pytest.param(Sample(org_inn="77012345"), "77012345", id="short-inn"),
        pytest.param(Sample(valid_until="2026-13-45"), "2026-13-45", id="bad-date"),
    ],
)
def test_read_power_of_attorney_refuses_invalid_with_message(
    build: Builder, version: FormatVersion, sample: Sample, words: str
) -> None:
    with pytest.raises(MchdFormatError, match=words) as caught:
        read_power_of_attorney(build(sample))
    if version is FormatVersion.V003:
        assert "не соответствует схеме ФНС" in str(caught.value)
        assert "строка" in str(caught.value)


def test_read_power_of_attorney_refuses_doctype_with_entity() -> None:
    xml = mchd_003().replace(
        b"<\xd0\x94",  # the root «<Д»
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<\xd0\x94',
        1,
    )
    with pytest.raises(MchdFormatError, match="DOCTYPE"):
        read_power_of_attorney(xml)


def test_read_power_of_attorney_refuses_billion_laughs() -> None:
    lol = "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10)
    )
    xml = f'<?xml version="1.0"?><!DOCTYPE d [{lol}]><d>&l9;</d>'.encode()
    with pytest.raises(MchdFormatError, match="ENTITY"):
        read_power_of_attorney(xml)


def test_read_power_of_attorney_refuses_over_size_cap() -> None:
    xml = mchd_003().replace(b"</", b"<!--" + b"x" * (2 * 1024 * 1024) + b"--></", 1)
    with pytest.raises(MchdFormatError, match="слишком велик"):
        read_power_of_attorney(xml)


@pytest.mark.parametrize(
    ("xml", "words"),
    [
        pytest.param(b"<broken", "не является корректным XML", id="not-xml"),
        pytest.param(
            b'<?xml version="1.0" encoding="koi8-r"?><a/>',
            "koi8-r",
            id="encoding",
        ),
        pytest.param("<Акт/>".encode(), "корневой элемент «Акт»", id="not-mchd"),
        pytest.param(
            '<Доверенность ВерсФорм="001"/>'.encode(), "«001»", id="old-version"
        ),
        pytest.param("\ufeff<a/>".encode("utf-16"), "UTF-16", id="utf-16"),
    ],
)
def test_read_power_of_attorney_refuses_unusable_input(xml: bytes, words: str) -> None:
    with pytest.raises(MchdFormatError, match=words):
        read_power_of_attorney(xml)


def test_mchd_detached_signature_verifies_over_xml_bytes(
    signer_rsa: pki.Issued, trust_store: TrustStore
) -> None:
    xml = mchd_003()
    signer = Pkcs12Signer(signer_rsa.key, signer_rsa.cert, signer_rsa.chain)
    sig = sign_cms(xml, signer)

    assert verify_cms(xml, sig, trust_store).verdict is Verdict.VALID
    tampered = xml.replace(b"2026-12-31", b"2027-12-31")
    assert not verify_cms(tampered, sig, trust_store).signers[0].intact


def test_read_power_of_attorney_reads_the_head_who_signs_it() -> None:
    poa = read_power_of_attorney(mchd_003())

    assert poa.head == Person(
        last_name="Петров",
        first_name="Пётр",
        patronymic="Петрович",
        snils="111-222-333 44",
        inn="770100000011",
    )
    assert poa.head.snils_digits == "11122233344"
    assert read_power_of_attorney(mchd_002()).head is None


def _value(**changes: object) -> PowerOfAttorney:
    base = PowerOfAttorney(
        format_version=FormatVersion.V003,
        number="0b3c9d2e-1f4a-4b5c-8d6e-7f8091a2b3c4",
        internal_number="МЧД <1> & «2»",
        issued_on=dt.date(2026, 11, 1),
        valid_until=dt.date(2027, 10, 31),
        principal=Organisation(
            'ООО "Кавычки" & <Скобки>', "7701234567", "1027700132195", "770101001"
        ),
        representatives=(
            Person("Сидорова", "Анна", "Павловна", "123-456-789 64", "500301234560"),
            Person("Орлов", "Олег", None, None, "772800123456"),
        ),
        powers=(
            Power("02.001", "Подписание актов ПРОМ10"),
            Power(None, "Подписывать <всё> & всегда"),
        ),
        redelegation=Redelegation.NONE,
        file_id=None,
        head=Person("Иванов", "Иван", "Иванович", "112-233-445 95", "500100732259"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_write_power_of_attorney_is_schema_valid_and_reads_back() -> None:
    poa = _value()
    back = read_power_of_attorney(write_power_of_attorney(poa, head_title="Директор"))

    assert back.format_version is FormatVersion.V003
    assert back.file_id == f"ON_EMCHD_20261101_{poa.number}"
    # Free-text powers come first in the file, as the schema orders them.
    assert set(back.powers) == set(poa.powers)
    assert dataclasses.replace(back, file_id=None, powers=poa.powers) == poa


def test_write_power_of_attorney_without_internal_number_or_patronymic() -> None:
    poa = _value(internal_number=None)
    back = read_power_of_attorney(write_power_of_attorney(poa))

    assert back.internal_number == "б/н"  # the schema requires one
    assert back.representatives[1].patronymic is None
    with pytest.raises(ValueError, match="ЛицоБезДов"):
        write_power_of_attorney(_value(head=None))


def test_gost_signed_power_of_attorney_verifies(
    gpki: gost_pki.GostPki, gost_store: TrustStore
) -> None:
    """Real МЧД are signed with GOST R 34.10-2012: the same detached check."""
    xml = write_power_of_attorney(_value())
    signer = GostSigner(
        gpki.signer_256.key, gpki.signer_256.cert, gpki.signer_256.chain_certs
    )
    sig = sign_cms(xml, signer)

    report = verify_cms(xml, sig, gost_store, at=gpki.now)
    assert report.verdict is Verdict.VALID, report.summary_ru()
    assert report.signers[0].signature_algorithm.startswith("ГОСТ Р 34.10-2012")
    assert (
        verify_cms(xml + b" ", sig, gost_store, at=gpki.now).verdict is Verdict.INVALID
    )
