"""Reading a machine-readable power of attorney (МЧД) in the single ФНС format.

Since 2024 an employee signs for a company with a personal certificate plus an
МЧД: XML in the single format (ЕФ МЧД, ФНС), signed by the head with a detached
CMS signature (``.sig``, checked with :func:`signing.cms.verify_cms` over the
XML bytes). This module only *reads* the XML into a frozen value.

Formats read:

* version 003 (``ВерсФорм="EMCHD_1"``, namespace ``urn://x-artefacts/EMCHD_1``),
  validated against the ФНС XSD ``ON_EMCHD_1_928_00_01_01_01.xsd`` vendored in
  ``signing/schemas/mchd/`` (its source is noted there);
* version 002 (``ВерсФорм="002"``, no namespace): no official XSD is vendored,
  so the fields read are checked here (presence, ИНН/ОГРН/КПП/СНИЛС lengths,
  dates, the number being a GUID). TODO(#20): vendor the 002 XSD.

Only a power of attorney issued by a Russian organisation (``РосОргДовер``) to
natural persons is read; re-delegated ones (``Передов``), foreign principals
and organisations as representatives are refused with a message.

The XML is untrusted: it is refused over :data:`MAX_MCHD_BYTES`, with a DOCTYPE
or an entity declaration («billion laughs», external entities), or in an
encoding other than UTF-8 and windows-1251 (the two the format allows).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from signing.errors import MchdFormatError

__all__ = [
    "MAX_MCHD_BYTES",
    "FormatVersion",
    "Organisation",
    "Person",
    "Power",
    "PowerOfAttorney",
    "Redelegation",
    "read_power_of_attorney",
    "write_power_of_attorney",
]

MAX_MCHD_BYTES = 1024 * 1024
"""An МЧД is a few kilobytes; a megabyte leaves room for long free-text powers."""

_SCHEMA_DIR = Path(__file__).parent / "schemas" / "mchd"
_NS_003 = "urn://x-artefacts/EMCHD_1"


class FormatVersion(enum.StrEnum):
    """The version of the single format, as in the ``ВерсФорм`` attribute."""

    V002 = "002"
    V003 = "EMCHD_1"


# Version → vendored XSD; a version without an entry is checked field by field.
_SCHEMAS: dict[FormatVersion, str] = {
    FormatVersion.V003: "ON_EMCHD_1_928_00_01_01_01.xsd",
}


class Redelegation(enum.StrEnum):
    """``ПрПередов``: may the representative re-delegate the powers."""

    NONE = "1"  # без права передоверия
    ONCE = "2"  # с правом однократного передоверия
    ONWARD = "3"  # с правом последующего передоверия


@dataclass(frozen=True, slots=True)
class Organisation:
    """The principal: a Russian organisation (``СвРосОрг``)."""

    name: str
    inn: str
    ogrn: str | None
    kpp: str | None


@dataclass(frozen=True, slots=True)
class Person:
    """A representative: a natural person (``СведФизЛ``)."""

    last_name: str
    first_name: str
    patronymic: str | None
    snils: str | None
    inn: str | None

    @property
    def full_name(self) -> str:
        return " ".join(
            p for p in (self.last_name, self.first_name, self.patronymic) if p
        )

    @property
    def snils_digits(self) -> str | None:
        """The СНИЛС as the certificate carries it: eleven digits."""
        return re.sub(r"\D", "", self.snils) if self.snils else None


@dataclass(frozen=True, slots=True)
class Power:
    """One power: a code of the ФНС classifier (``МашПолн``, with ``code`` and
    its ``name``) or a free-text power (``ТекстПолн``, ``code`` is ``None``)."""

    code: str | None
    text: str


@dataclass(frozen=True, slots=True)
class PowerOfAttorney:
    """What an МЧД says; the values are as written, checked but not normalised."""

    format_version: FormatVersion
    number: str
    internal_number: str | None
    issued_on: dt.date
    valid_until: dt.date
    principal: Organisation
    representatives: tuple[Person, ...]
    powers: tuple[Power, ...]
    redelegation: Redelegation
    file_id: str | None
    #: The principal's head who signs the МЧД («лицо, действующее без
    #: доверенности», ``ЛицоБезДов/СвФЛ``), when the file names one.
    head: Person | None = None

    @property
    def coded_powers(self) -> tuple[str, ...]:
        """The classifier codes of the powers (``КодПолн``)."""
        return tuple(p.code for p in self.powers if p.code is not None)


def read_power_of_attorney(xml: bytes) -> PowerOfAttorney:
    """Read an МЧД (the XML file, not its ``.sig``).

    :param xml: the file's bytes, UTF-8 or windows-1251 as declared.
    :raises MchdFormatError: too large, hostile or broken XML, an unsupported
        format or version, not valid against the ФНС schema, or a power of
        attorney of a kind not read here; the message (Russian) names what.
    """
    if len(xml) > MAX_MCHD_BYTES:
        raise MchdFormatError(
            f"Файл МЧД слишком велик ({len(xml)} байт): допустимо не более "
            f"{MAX_MCHD_BYTES} байт."
        )
    _check_safe(xml)
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(xml, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise MchdFormatError(
            f"Файл МЧД не является корректным XML (строка {exc.lineno}): {exc.msg}"
        ) from None
    version = _version(root)
    schema = _schema(version)
    if schema is not None and not schema.validate(root):
        error = schema.error_log[0]
        raise MchdFormatError(
            f"МЧД не соответствует схеме ФНС (формат {version.value}), строка "
            f"{error.line}: {error.message}"
        )
    ns = _NS_003 if version is FormatVersion.V003 else ""
    return _Reader(ns, version).read(root)


_DECLARATION = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ENCODINGS = {b"utf-8", b"utf8", b"windows-1251", b"cp1251"}


def _check_safe(data: bytes) -> None:
    """Refuse what could make the parser expand entities or fetch anything.

    The format has no document type declaration; with one, entities become
    possible, so any is refused. Both allowed encodings keep ASCII as is, so
    the byte search below sees ``<!DOCTYPE`` in either.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4]:
        raise MchdFormatError(
            "МЧД должна быть в кодировке UTF-8 или windows-1251 (а не UTF-16)."
        )
    declared = _DECLARATION.match(data.removeprefix(b"\xef\xbb\xbf"))
    if declared and declared.group(1).lower() not in _ENCODINGS:
        raise MchdFormatError(
            "МЧД должна быть в кодировке UTF-8 или windows-1251, а файл объявляет "
            f"«{declared.group(1).decode('ascii')}»."
        )
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise MchdFormatError(
            "Файл МЧД отклонён: он содержит объявление DOCTYPE или ENTITY. В формате "
            "МЧД их нет, а через них XML может раздуться до гигабайтов или "
            "прочитать чужие файлы."
        )


def _version(root: Any) -> FormatVersion:
    tag = etree.QName(root)
    if tag.localname != "Доверенность":
        raise MchdFormatError(
            f"Это не МЧД: корневой элемент «{tag.localname}», а не «Доверенность»."
        )
    declared = str(root.get("ВерсФорм", ""))
    expected_ns = {FormatVersion.V003: _NS_003, FormatVersion.V002: None}
    for version, namespace in expected_ns.items():
        if declared == version.value and tag.namespace == namespace:
            return version
    raise MchdFormatError(
        f"Версия формата МЧД «{declared}» (пространство имён "
        f"«{tag.namespace or 'нет'}») не поддерживается: читаются версии 003 "
        "(EMCHD_1) и 002."
    )


@functools.cache
def _schema(version: FormatVersion) -> Any:
    name = _SCHEMAS.get(version)
    if name is None or not (_SCHEMA_DIR / name).is_file():
        return None
    # The XSD is ours (vendored), yet parsed as strictly as the input.
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(_SCHEMA_DIR / name), parser=parser))


_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_SNILS = re.compile(r"\d{3}-\d{3}-\d{3}[- ]\d{2}")
_DIGITS = {"ИННЮЛ": 10, "ИННФЛ": 12, "ОГРН": 13, "КПП": 9}


class _Reader:
    """Walks one document; the checks matter for 002, which has no XSD here,
    and are harmless for 003, which the schema has already checked."""

    def __init__(self, ns: str, version: FormatVersion) -> None:
        self.ns = ns
        self.version = version

    def _q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}" if self.ns else name

    def child(self, parent: Any, path: str) -> Any:
        element = parent
        for name in path.split("/"):
            found = element.find(self._q(name))
            if found is None:
                raise MchdFormatError(
                    f"В МЧД нет обязательного элемента «{name}» "
                    f"(в «{etree.QName(element).localname}»)."
                )
            element = found
        return element

    def children(self, parent: Any, name: str) -> list[Any]:
        return list(parent.findall(self._q(name)))

    def attr(self, element: Any, name: str) -> str:
        value = self.opt(element, name)
        if value is None:
            raise MchdFormatError(
                f"В МЧД у элемента «{etree.QName(element).localname}» нет "
                f"обязательного атрибута «{name}»."
            )
        return value

    def opt(self, element: Any, name: str) -> str | None:
        value = element.get(name)
        if value is None or not str(value).strip():
            return None
        value = str(value)
        digits = _DIGITS.get(name)
        if digits is not None and not (value.isdigit() and len(value) == digits):
            raise MchdFormatError(
                f"В МЧД {name} «{value}» должен состоять из {digits} цифр."
            )
        if name == "СНИЛС" and not _SNILS.fullmatch(value):
            raise MchdFormatError(
                f"В МЧД СНИЛС «{value}» записан не в виде «123-456-789 01»."
            )
        return value

    def date(self, element: Any, name: str) -> dt.date:
        value = self.attr(element, name)
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise MchdFormatError(
                f"В МЧД {name} «{value}» — не дата в виде ГГГГ-ММ-ДД."
            ) from None

    def read(self, root: Any) -> PowerOfAttorney:
        document = self.child(root, "Документ")
        if document.find(self._q("Довер")) is None and (
            document.find(self._q("Передов")) is not None
        ):
            raise MchdFormatError(
                "МЧД в порядке передоверия («Передов») пока не поддерживается "
                "(TODO(#20))."
            )
        power = self.child(document, "Довер")
        details = self.child(power, "СвДов")
        number = self.attr(details, "НомДовер")
        if not _GUID.fullmatch(number):
            raise MchdFormatError(f"Номер МЧД «{number}» — не GUID.")
        end_attr = "СрокДейст" if self.version is FormatVersion.V003 else "ДатаКонДовер"
        issued_on = self.date(details, "ДатаВыдДовер")
        valid_until = self.date(details, end_attr)
        if valid_until < issued_on:
            raise MchdFormatError(
                f"Срок действия МЧД ({valid_until}) кончается раньше даты её "
                f"выдачи ({issued_on})."
            )
        redelegation = self.attr(details, "ПрПередов")
        try:
            right = Redelegation(redelegation)
        except ValueError:
            raise MchdFormatError(
                f"В МЧД признак передоверия «{redelegation}» не из 1, 2, 3."
            ) from None
        return PowerOfAttorney(
            format_version=self.version,
            number=number,
            internal_number=self.opt(details, "ВнНомДовер"),
            issued_on=issued_on,
            valid_until=valid_until,
            principal=self.principal(power),
            representatives=self.representatives(power),
            powers=self.powers(power),
            redelegation=right,
            file_id=self.opt(root, "ИдФайл"),
            head=self.head(power),
        )

    def head(self, power: Any) -> Person | None:
        """``СвДоверит/Доверит/РосОргДовер/ЛицоБезДов/СвФЛ`` (003) or
        ``СвДоверит/РосОргДовер/ЛицоБезДов/СвФЛ`` (002), when present."""
        path = (
            "СвДоверит/Доверит" if self.version is FormatVersion.V003 else "СвДоверит"
        )
        holder = power.find(
            "/".join(
                self._q(n)
                for n in (*path.split("/"), "РосОргДовер", "ЛицоБезДов", "СвФЛ")
            )
        )
        if holder is None:
            return None
        fio = holder.find(f"{self._q('СведФЛ')}/{self._q('ФИО')}")
        if fio is None:
            fio = holder.find(self._q("ФИО"))
        if fio is None:
            return None
        return Person(
            last_name=self.attr(fio, "Фамилия"),
            first_name=self.attr(fio, "Имя"),
            patronymic=self.opt(fio, "Отчество"),
            snils=self.opt(holder, "СНИЛС"),
            inn=self.opt(holder, "ИННФЛ"),
        )

    def principal(self, power: Any) -> Organisation:
        principals = self.children(power, "СвДоверит")
        if len(principals) != 1:
            raise MchdFormatError(
                "В МЧД должен быть ровно один доверитель («СвДоверит»), а их "
                f"{len(principals)}."
            )
        (holder,) = principals
        if self.version is FormatVersion.V003:
            holder = self.child(holder, "Доверит")
        if holder.find(self._q("РосОргДовер")) is None:
            raise MchdFormatError(
                "Доверитель в МЧД — не российская организация («РосОргДовер»): "
                "такие доверенности пока не поддерживаются."
            )
        org = self.child(holder, "РосОргДовер/СвРосОрг")
        return Organisation(
            name=self.attr(org, "НаимОрг"),
            inn=self.attr(org, "ИННЮЛ"),
            ogrn=self.opt(org, "ОГРН"),
            kpp=self.opt(org, "КПП"),
        )

    def representatives(self, power: Any) -> tuple[Person, ...]:
        people: list[Person] = []
        for block in self.children(power, "СвУпПред"):
            holder = self.child(block, "Пред") if self.ns else block
            person = holder.find(self._q("СведФизЛ"))
            if person is None:
                raise MchdFormatError(
                    "Представитель в МЧД — не физическое лицо («СведФизЛ»): такие "
                    "доверенности пока не поддерживаются."
                )
            name_path = "СведФЛ/ФИО" if self.ns else "ФИО"
            fio = self.child(person, name_path)
            people.append(
                Person(
                    last_name=self.attr(fio, "Фамилия"),
                    first_name=self.attr(fio, "Имя"),
                    patronymic=self.opt(fio, "Отчество"),
                    snils=self.opt(person, "СНИЛС"),
                    inn=self.opt(person, "ИННФЛ"),
                )
            )
        if not people:
            raise MchdFormatError("В МЧД нет представителя («СвУпПред»).")
        return tuple(people)

    def powers(self, power: Any) -> tuple[Power, ...]:
        found: list[Power] = []
        for block in self.children(power, "СвПолн"):
            for text in self.children(block, "ТекстПолн"):
                if text.text and text.text.strip():
                    found.append(Power(code=None, text=str(text.text).strip()))
            for coded in self.children(block, "МашПолн"):
                found.append(
                    Power(
                        code=self.attr(coded, "КодПолн"),
                        text=self.opt(coded, "НаимПолн") or "",
                    )
                )
        if not found:
            raise MchdFormatError("В МЧД не указано ни одного полномочия («СвПолн»).")
        return tuple(found)


def _person_003(person: Person, *, tag: str, extra: str = "") -> str:
    ids = "".join(
        f" {name}={quoteattr(value)}"
        for name, value in (("ИННФЛ", person.inn), ("СНИЛС", person.snils))
        if value
    )
    patronymic = (
        f" Отчество={quoteattr(person.patronymic)}" if person.patronymic else ""
    )
    return (
        f"<{tag}{ids}{extra}><СведФЛ><ФИО Фамилия={quoteattr(person.last_name)} "
        f"Имя={quoteattr(person.first_name)}{patronymic}/></СведФЛ></{tag}>"
    )


def write_power_of_attorney(poa: PowerOfAttorney, *, head_title: str = "") -> bytes:
    """An МЧД of version 003 (EMCHD_1) in UTF-8 from a value: what a principal's
    software issues, for the demo world and tests. It is valid against the
    ФНС schema and reads back (:func:`read_power_of_attorney`) as ``poa``.

    :param head_title: the head's position (``Должность``).
    :raises ValueError: ``poa.head`` is not given (the schema requires it).
    """
    org = poa.principal
    org_attrs = "".join(
        f" {name}={quoteattr(value)}"
        for name, value in (
            ("НаимОрг", org.name),
            ("ИННЮЛ", org.inn),
            ("КПП", org.kpp),
            ("ОГРН", org.ogrn),
        )
        if value
    )
    if poa.head is None:
        raise ValueError(
            "МЧД формата 003 называет лицо, действующее без доверенности "
            "(«ЛицоБезДов»): укажите head."
        )
    head = ""
    if poa.head is not None:
        title = f" Должность={quoteattr(head_title)}" if head_title else ""
        head = (
            '<ЛицоБезДов ПолнЮЛ="1">'
            + _person_003(poa.head, tag="СвФЛ", extra=title)
            + "</ЛицоБезДов>"
        )
    representatives = "".join(
        '<СвУпПред ТипПред="3"><Пред>'
        + _person_003(p, tag="СведФизЛ")
        + "</Пред></СвУпПред>"
        for p in poa.representatives
    )
    texts = "".join(
        f"<ТекстПолн>{escape(p.text)}</ТекстПолн>" for p in poa.powers if p.code is None
    )
    coded = "".join(
        f"<МашПолн КодПолн={quoteattr(p.code)} НаимПолн={quoteattr(p.text or p.code)}/>"
        for p in poa.powers
        if p.code is not None
    )
    # Required by the schema of 003: «б/н» (без номера) when there is none.
    internal = f" ВнНомДовер={quoteattr(poa.internal_number or 'б/н')}"
    file_id = poa.file_id or f"ON_EMCHD_{poa.issued_on:%Y%m%d}_{poa.number}"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Доверенность xmlns="{_NS_003}" ВерсФорм="EMCHD_1" ПрЭлФорм="00000000" '
        f"ИдФайл={quoteattr(file_id)}><Документ><Довер>"
        f'<СвДов ВидДовер="1" ПрПередов="{poa.redelegation.value}"{internal} '
        f'НомДовер="{poa.number}" ДатаВыдДовер="{poa.issued_on.isoformat()}" '
        f'СрокДейст="{poa.valid_until.isoformat()}">'
        f"<СведСист>https://m4d.nalog.gov.ru/emchd/check-status?guid={poa.number}</СведСист>"
        "</СвДов>"
        '<СвДоверит ТипДоверит="1"><Доверит><РосОргДовер ЕИОУК="0" ЕИОФЛ="1" ЕИОИП="0">'
        f"<СвРосОрг{org_attrs}/>{head}</РосОргДовер></Доверит></СвДоверит>"
        f"{representatives}"
        f'<СвПолн ТипПолн="1" ПрСовмПолн="1">{texts}{coded}</СвПолн>'
        "</Довер></Документ></Доверенность>\n"
    )
    return xml.encode("utf-8")
