"""The Минцифры list of accredited certification centres (the «TSL»).

The list is the public XML served at
``https://e-trust.gosuslugi.ru/app/scc/portal/api/v1/portal/ca/getxml``
(formerly ``/CA/DownloadTSL?schemaVersion=0``)::

    АккредитованныеУдостоверяющиеЦентры
      Версия, Дата
      УдостоверяющийЦентр*
        Название, КраткоеНазвание, ИНН, ОГРН, РеестровыйНомер
        СтатусАккредитации / Статус («Действует», «Прекращена», «Аннулирована»),
                             ДействуетС
        ПрограммноАппаратныеКомплексы / ПрограммноАппаратныйКомплекс*
          Псевдоним
          КлючиУполномоченныхЛиц / Ключ* / Сертификаты / ДанныеСертификата*
            Отпечаток (SHA-1), КемВыдан, КомуВыдан, СерийныйНомер,
            ПериодДействияС, ПериодДействияДо, Данные (base64 DER)

The certificates are the centres' CA certificates. :func:`parse_tsl` reads
them without trusting anything: what to do with them is the caller's choice.

The XML comes from outside: a document type declaration (and so any entity,
the «billion laughs» among them) is refused before parsing, only UTF-8 is
accepted (so that the check sees every byte as the parser will), and the
size is bounded.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import xml.etree.ElementTree as ET  # noqa: S405 - DTDs refused before parsing (_check_safe)
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from signing._asn1 import load_certificate
from signing.errors import CertificateFormatError, TslFormatError

__all__ = [
    "ACCREDITED",
    "MAX_TSL_BYTES",
    "AccreditedCentre",
    "AccreditedList",
    "TslCertificate",
    "parse_tsl",
    "read_tsl",
]

#: The status of a centre whose accreditation is in force.
ACCREDITED = "Действует"

#: The published list is some tens of megabytes; anything far larger is not it.
MAX_TSL_BYTES = 64 * 1024 * 1024

_DECLARATION = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


@dataclass(frozen=True)
class TslCertificate:
    """One CA certificate of a centre (``ДанныеСертификата``)."""

    der: bytes
    #: SHA-1 of the DER, uppercase hex (what ``Отпечаток`` states).
    sha1: str
    #: ``КомуВыдан`` and ``КемВыдан`` as the list writes them.
    subject: str | None
    issuer: str | None
    serial: str | None
    not_before: dt.datetime | None
    not_after: dt.datetime | None
    #: ``Псевдоним`` of the hardware-software complex holding the key.
    complex_alias: str | None


@dataclass(frozen=True)
class AccreditedCentre:
    """A certification centre of the list, with its accreditation status."""

    name: str
    short_name: str | None
    inn: str | None
    ogrn: str | None
    registry_number: str | None
    #: ``СтатусАккредитации/Статус`` verbatim.
    status: str
    status_since: dt.datetime | None
    certificates: tuple[TslCertificate, ...]

    @property
    def is_accredited(self) -> bool:
        return self.status == ACCREDITED

    @property
    def key(self) -> str:
        """A stable identity across versions of the list: ОГРН, else the name."""
        return self.ogrn or self.name


@dataclass(frozen=True)
class AccreditedList:
    version: str | None
    date: dt.datetime | None
    centres: tuple[AccreditedCentre, ...]
    #: Entries skipped, in Russian (a certificate that is not one, a
    #: thumbprint that does not match its data...).
    problems: tuple[str, ...] = ()

    @property
    def certificate_count(self) -> int:
        return sum(len(c.certificates) for c in self.centres)


def read_tsl(path: str | Path, *, max_bytes: int = MAX_TSL_BYTES) -> AccreditedList:
    """Read and parse the list from a file, refusing one over ``max_bytes``
    before reading it.

    :raises TslFormatError: unreadable, too large, hostile or not the list.
    """
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > max_bytes:
            raise TslFormatError(_too_large(size, max_bytes))
        with file.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise TslFormatError(f"Файл {file} не читается: {exc.strerror}") from None
    return parse_tsl(data, max_bytes=max_bytes)


def parse_tsl(data: bytes, *, max_bytes: int = MAX_TSL_BYTES) -> AccreditedList:
    """Parse the list of accredited certification centres.

    :param data: the XML, UTF-8.
    :param max_bytes: refuse larger input.
    :raises TslFormatError: too large, hostile (DTD, entities), not UTF-8, not
        well formed, or not the list.
    """
    if len(data) > max_bytes:
        raise TslFormatError(_too_large(len(data), max_bytes))
    _check_safe(data)
    try:
        root = ET.fromstring(data)  # noqa: S314 - checked by _check_safe
    except ET.ParseError as exc:
        raise TslFormatError(f"Файл не является корректным XML: {exc}") from None
    if _local(root.tag) != "АккредитованныеУдостоверяющиеЦентры":
        raise TslFormatError(
            "Это не перечень аккредитованных удостоверяющих центров: корневой "
            f"элемент «{_local(root.tag)}», а не «АккредитованныеУдостоверяющиеЦентры»."
        )
    problems: list[str] = []
    centres = tuple(
        _centre(el, problems) for el in _children(root, "УдостоверяющийЦентр")
    )
    return AccreditedList(
        version=_text(root, "Версия"),
        date=_datetime(_text(root, "Дата")),
        centres=centres,
        problems=tuple(problems),
    )


def _too_large(size: int, limit: int) -> str:
    return (
        f"Файл слишком велик ({size // (1024 * 1024)} МБ): перечень "
        f"аккредитованных УЦ не бывает больше {limit // (1024 * 1024)} МБ."
    )


def _check_safe(data: bytes) -> None:
    """Refuse what could make the parser expand entities or fetch anything.

    The list has no document type declaration; with one, entities (the
    «billion laughs», external entities) become possible, so any is refused.
    The check runs on the bytes the parser will read, so the input must be
    UTF-8 (or ASCII): in another encoding ``<!DOCTYPE`` could hide.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4]:
        raise TslFormatError("Перечень должен быть в кодировке UTF-8 (а не UTF-16).")
    declared = _DECLARATION.match(data.removeprefix(b"\xef\xbb\xbf"))
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii"):
        raise TslFormatError(
            "Перечень должен быть в кодировке UTF-8, а файл объявляет "
            f"«{declared.group(1).decode('ascii')}»."
        )
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise TslFormatError(
            "Файл отклонён: он содержит объявление DOCTYPE или ENTITY. В перечне "
            "аккредитованных УЦ их нет, а через них XML может раздуться до "
            "гигабайтов или прочитать чужие файлы."
        )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(parent: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in parent if _local(child.tag) == name)


def _child(parent: ET.Element, *path: str) -> ET.Element | None:
    node: ET.Element | None = parent
    for name in path:
        if node is None:
            return None
        node = next(_children(node, name), None)
    return node


def _text(parent: ET.Element, *path: str) -> str | None:
    node = _child(parent, *path)
    if node is None or node.text is None:
        return None
    return " ".join(node.text.split()) or None


def _datetime(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    # The list writes offsets (+03:00); a moment without one is taken as UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(
        dt.UTC
    )


def _centre(el: ET.Element, problems: list[str]) -> AccreditedCentre:
    name = _text(el, "Название") or _text(el, "КраткоеНазвание") or "(без названия)"
    certificates: list[TslCertificate] = []
    seen: set[str] = set()
    for complex_ in _children_of(el, "ПрограммноАппаратныеКомплексы"):
        alias = _text(complex_, "Псевдоним")
        # ДанныеСертификата sit under КлючиУполномоченныхЛиц/Ключ/Сертификаты;
        # found at any depth of the complex, so that a renamed wrapper does
        # not silently drop a centre's certificates.
        for data_el in complex_.iter():
            if _local(data_el.tag) != "ДанныеСертификата":
                continue
            cert = _certificate(data_el, alias, name, problems)
            if cert is not None and cert.sha1 not in seen:
                seen.add(cert.sha1)
                certificates.append(cert)
    return AccreditedCentre(
        name=name,
        short_name=_text(el, "КраткоеНазвание"),
        inn=_text(el, "ИНН"),
        ogrn=_text(el, "ОГРН"),
        registry_number=_text(el, "РеестровыйНомер"),
        status=_text(el, "СтатусАккредитации", "Статус") or "",
        status_since=_datetime(_text(el, "СтатусАккредитации", "ДействуетС")),
        certificates=tuple(certificates),
    )


def _children_of(el: ET.Element, wrapper: str) -> Iterator[ET.Element]:
    holder = _child(el, wrapper)
    return (
        iter(())
        if holder is None
        else _children(holder, "ПрограммноАппаратныйКомплекс")
    )


def _certificate(
    el: ET.Element, alias: str | None, centre: str, problems: list[str]
) -> TslCertificate | None:
    stated = (_text(el, "Отпечаток") or "").replace(" ", "").replace(":", "").upper()
    data_el = _child(el, "Данные")
    raw = "".join((data_el.text or "").split()) if data_el is not None else ""
    where = f"УЦ «{centre}», сертификат {stated or 'без отпечатка'}"
    try:
        der = base64.b64decode(raw, validate=True)
        load_certificate(der)
    except (binascii.Error, ValueError, CertificateFormatError):
        problems.append(f"{where}: данные не являются сертификатом X.509")
        return None
    sha1 = hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()
    if stated and stated != sha1:
        problems.append(f"{where}: отпечаток не совпадает с данными ({sha1})")
        return None
    return TslCertificate(
        der=der,
        sha1=sha1,
        subject=_text(el, "КомуВыдан"),
        issuer=_text(el, "КемВыдан"),
        serial=_text(el, "СерийныйНомер"),
        not_before=_datetime(_text(el, "ПериодДействияС")),
        not_after=_datetime(_text(el, "ПериодДействияДо")),
        complex_alias=alias,
    )
