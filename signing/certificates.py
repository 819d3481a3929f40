"""Reading X.509 certificates: the fields a Russian qualified certificate carries.

:func:`inspect_certificate` never validates anything; it tells who the
certificate names and what it may be used for. Validation lives in
:mod:`signing.trust`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Literal

from asn1crypto import x509

from signing import _asn1, gost
from signing._asn1 import load_certificate, load_certificates
from signing.errors import CertificateFormatError

__all__ = [
    "SIGN_TOOL_CLASSES",
    "CertificateInfo",
    "QualifiedStatus",
    "ValidityStatus",
    "inspect_certificate",
    "load_certificate",
    "load_certificates",
    "plural_days_ru",
]

#: A certificate closer than this to its end is reported as ``expiring``.
EXPIRING_WITHIN = dt.timedelta(days=30)

ValidityState = Literal["valid", "expiring", "expired", "not_yet_valid"]

#: The class of the holder's signature tool, as certificatePolicies name it
#: (Приказ ФСБ России № 795, п. 3; Приказ ФСБ № 796 for the classes).
SIGN_TOOL_CLASSES = {
    "1.2.643.100.113.1": "КС1",
    "1.2.643.100.113.2": "КС2",
    "1.2.643.100.113.3": "КС3",
    "1.2.643.100.113.4": "КВ1",
    "1.2.643.100.113.5": "КВ2",
    "1.2.643.100.113.6": "КА1",
}


def plural_days_ru(n: int) -> str:
    """«1 день», «3 дня», «11 дней», «21 день»."""
    n_abs = abs(n)
    if n_abs % 10 == 1 and n_abs % 100 != 11:
        word = "день"
    elif n_abs % 10 in (2, 3, 4) and n_abs % 100 not in (12, 13, 14):
        word = "дня"
    else:
        word = "дней"
    return f"{n} {word}"


def format_date_ru(moment: dt.datetime) -> str:
    """dd.mm.yyyy in UTC, as the messages show dates."""
    return moment.astimezone(dt.UTC).strftime("%d.%m.%Y")


@dataclass(frozen=True)
class ValidityStatus:
    """Where a moment falls in a certificate's validity period (no chain check)."""

    state: ValidityState
    #: Whole days from the moment to notAfter (negative once expired).
    days_left: int

    @property
    def message_ru(self) -> str:
        if self.state == "expired":
            return "срок действия истёк"
        if self.state == "not_yet_valid":
            return "срок действия ещё не начался"
        if self.state == "expiring":
            if self.days_left == 0:
                return "истекает сегодня"
            return f"истекает через {plural_days_ru(self.days_left)}"
        return "действителен"


@dataclass(frozen=True)
class QualifiedStatus:
    """Whether a certificate is qualified (УКЭП, 63-ФЗ ст. 5 ч. 4, ст. 17):
    it names the holder's and the issuer's certified signature tools
    (subjectSignTool, issuerSignTool), the tool's class, and it chains to a
    certification centre accredited by Минцифры."""

    #: subjectSignTool (1.2.643.100.111): the holder's signature tool.
    subject_sign_tool: str | None
    #: issuerSignTool (1.2.643.100.112): the CA's signature tool, its CA
    #: software and their two conformity certificates.
    issuer_sign_tool: tuple[str, ...] | None
    #: «КС1»..«КА1», from certificatePolicies 1.2.643.100.113.x.
    classes: tuple[str, ...]
    #: The accredited centre the certificate chains to; ``None`` when none
    #: (or when nothing is known about accreditation).
    accredited_ca: str | None

    @property
    def is_qualified(self) -> bool:
        return not self.missing

    @property
    def missing(self) -> tuple[str, ...]:
        """What keeps the certificate from being qualified, in Russian."""
        found = []
        if self.subject_sign_tool is None:
            found.append("нет сведений о средстве ЭП владельца (subjectSignTool)")
        if self.issuer_sign_tool is None:
            found.append("нет сведений о средствах УЦ (issuerSignTool)")
        if not self.classes:
            found.append("не указан класс средства ЭП (КС1–КС3, КВ, КА)")
        if self.accredited_ca is None:
            found.append("цепочка не ведёт к аккредитованному удостоверяющему центру")
        return tuple(found)

    def summary_ru(self) -> str:
        if self.is_qualified:
            word = "класс" if len(self.classes) == 1 else "классы"
            return (
                "Квалифицированный сертификат: выдан аккредитованным УЦ "
                f"«{self.accredited_ca}», {word} средства {', '.join(self.classes)}"
            )
        return "Неквалифицированный: " + "; ".join(self.missing)

    def to_json(self) -> dict[str, object]:
        return {
            "is_qualified": self.is_qualified,
            "subject_sign_tool": self.subject_sign_tool,
            "issuer_sign_tool": (
                list(self.issuer_sign_tool) if self.issuer_sign_tool else None
            ),
            "classes": list(self.classes),
            "accredited_ca": self.accredited_ca,
            "missing": list(self.missing),
            "summary": self.summary_ru(),
        }


@dataclass(frozen=True)
class CertificateInfo:
    """What a certificate says about its holder, its issuer and its key."""

    subject_cn: str | None
    #: ФИО (surname + given names), falling back to the CN.
    owner: str | None
    organization: str | None
    title: str | None
    email: str | None
    inn: str | None
    #: ИНН юридического лица, normalised to 10 digits.
    inn_le: str | None
    ogrn: str | None
    ogrnip: str | None
    snils: str | None
    #: Uppercase hex, no separators.
    serial_hex: str
    issuer: str
    issuer_cn: str | None
    subject: str
    sha1: str
    sha256: str
    not_before: dt.datetime
    not_after: dt.datetime
    key_usage: tuple[str, ...]
    extended_key_usage: tuple[str, ...]
    policies: tuple[str, ...]
    #: ``rsa``, ``ec``, ``dsa``, ``ed25519``, ``gost2012-256``, ``gost2012-512``
    #: or the dotted OID of an algorithm not known here.
    public_key_algorithm: str
    key_size: int | None
    signature_algorithm: str
    is_ca: bool
    is_self_signed: bool
    der: bytes = field(repr=False, compare=False)
    #: The key's parameter set, for GOST keys: its RFC 4357 / TC26 name
    #: (``id-tc26-gost-3410-2012-256-paramSetA``...) or its OID; else ``None``.
    public_key_parameters: str | None = None
    #: subjectSignTool (1.2.643.100.111), when present and well formed.
    subject_sign_tool: str | None = None
    #: issuerSignTool (1.2.643.100.112): four names, when present and well formed.
    issuer_sign_tool: tuple[str, ...] | None = None
    #: Signature tool classes named by certificatePolicies (``КС1``...).
    sign_tool_classes: tuple[str, ...] = ()

    def qualified_status(self, accredited_ca: str | None = None) -> QualifiedStatus:
        """The qualified status, given the accredited centre the certificate
        chains to (:func:`signing.validate_certificate` finds it from the
        trust store; ``None``: not accredited, or not known)."""
        return QualifiedStatus(
            subject_sign_tool=self.subject_sign_tool,
            issuer_sign_tool=self.issuer_sign_tool,
            classes=self.sign_tool_classes,
            accredited_ca=accredited_ca,
        )

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict with stable keys; datetimes in ISO 8601 (UTC)."""
        return {
            "subject_cn": self.subject_cn,
            "owner": self.owner,
            "organization": self.organization,
            "title": self.title,
            "email": self.email,
            "inn": self.inn,
            "inn_le": self.inn_le,
            "ogrn": self.ogrn,
            "ogrnip": self.ogrnip,
            "snils": self.snils,
            "serial_hex": self.serial_hex,
            "issuer": self.issuer,
            "issuer_cn": self.issuer_cn,
            "subject": self.subject,
            "sha1": self.sha1,
            "sha256": self.sha256,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "key_usage": list(self.key_usage),
            "extended_key_usage": list(self.extended_key_usage),
            "policies": list(self.policies),
            "public_key_algorithm": self.public_key_algorithm,
            "key_size": self.key_size,
            "public_key_parameters": self.public_key_parameters,
            "signature_algorithm": self.signature_algorithm,
            "is_ca": self.is_ca,
            "is_self_signed": self.is_self_signed,
            "subject_sign_tool": self.subject_sign_tool,
            "issuer_sign_tool": (
                list(self.issuer_sign_tool) if self.issuer_sign_tool else None
            ),
            "sign_tool_classes": list(self.sign_tool_classes),
        }

    def status_at(self, now: dt.datetime | None = None) -> ValidityStatus:
        """The validity state at ``now`` (aware; default: the current time).

        ``expiring`` when fewer than 30 days are left: the UI shows
        «истекает через N дней».
        """
        moment = now or dt.datetime.now(dt.UTC)
        if moment.tzinfo is None:
            raise ValueError("now must be an aware datetime (for example in UTC)")
        left = self.not_after - moment
        days = left.days if left >= dt.timedelta(0) else -((-left).days + 1)
        if moment < self.not_before:
            return ValidityStatus("not_yet_valid", days)
        if moment > self.not_after:
            return ValidityStatus("expired", days)
        if left < EXPIRING_WITHIN:
            return ValidityStatus("expiring", days)
        return ValidityStatus("valid", days)


def _digits(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = "".join(ch for ch in value.strip() if not ch.isspace())
    return cleaned or None


def _normalise_inn_le(value: str | None) -> str | None:
    # The profile gives ИНН ЮЛ as NumericString(SIZE(10)), but some CAs wrote it
    # as 12 characters padded with zeros ("007701234567").
    value = _digits(value)
    if (
        value
        and len(value) > 10
        and value.isdigit()
        and value[: len(value) - 10] == "0" * (len(value) - 10)
    ):
        return value[-10:]
    return value


def _serial_hex(serial: int) -> str:
    # Even number of digits, as OpenSSL prints serials and its index.txt holds them.
    text = format(serial, "X")
    return text if len(text) % 2 == 0 else "0" + text


def _extension(cert: x509.Certificate, name: str) -> object | None:
    for ext in cert["tbs_certificate"]["extensions"]:
        if ext["extn_id"].native == name:
            parsed: object = ext["extn_value"].parsed
            return parsed
    return None


def _key_algorithm(cert: x509.Certificate) -> tuple[str, int | None, str | None]:
    """(algorithm, key size, parameter set) of the certificate's key."""
    spki = cert["tbs_certificate"]["subject_public_key_info"]
    oid = spki["algorithm"]["algorithm"].dotted
    if oid in _asn1.GOST_KEY_ALGORITHMS:
        # asn1crypto does not know the GOST key OIDs (RFC 9215 §2): read the
        # parameter set from the DER.
        described = gost.key_parameters(spki.dump())
        if described is not None:
            return described
        gost_name, gost_size = _asn1.GOST_KEY_ALGORITHMS[oid]
        return gost_name, gost_size, _gost_parameter_oid(spki)
    name = spki["algorithm"]["algorithm"].native
    if name == oid:
        return oid, None, None
    try:
        size: int | None = spki.bit_size
    except (ValueError, TypeError, KeyError):
        size = None
    return {"rsassa_pss": "rsa"}.get(name, name), size, None


def _gost_parameter_oid(spki: object) -> str | None:
    """The parameter set named by a key this library cannot use (2001, or an
    unknown set): its name if known, else its OID."""
    try:
        params = spki["algorithm"]["parameters"].parsed  # type: ignore[index]
        first = params[0] if hasattr(params, "__getitem__") else params
        return gost.parameter_set_name(first.dotted)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


def _sign_tools(cert: x509.Certificate) -> tuple[str | None, tuple[str, ...] | None]:
    """(subjectSignTool, issuerSignTool); a malformed value counts as absent."""
    subject_der = _asn1.extension_der(cert, _asn1.OID_SUBJECT_SIGN_TOOL)
    issuer_der = _asn1.extension_der(cert, _asn1.OID_ISSUER_SIGN_TOOL)
    subject_tool: str | None = None
    issuer_tool: tuple[str, ...] | None = None
    if subject_der is not None:
        try:
            subject_tool = _asn1.subject_sign_tool(subject_der).strip() or None
        except (ValueError, TypeError):
            subject_tool = None
    if issuer_der is not None:
        try:
            issuer_tool = _asn1.issuer_sign_tool(issuer_der)
        except (ValueError, TypeError):
            issuer_tool = None
    return subject_tool, issuer_tool


def signature_algorithm_name(cert: x509.Certificate) -> str:
    algo = cert["signature_algorithm"]
    oid = algo["algorithm"].dotted
    if oid in _asn1.GOST_SIGNATURE_ALGORITHMS:
        return _asn1.GOST_SIGNATURE_ALGORITHMS[oid]
    native = algo["algorithm"].native
    if native == "rsassa_pss":
        try:
            return f"rsassa_pss_{algo.hash_algo}"
        except ValueError:
            return "rsassa_pss"
    return str(native)


def info_from_asn1(cert: x509.Certificate) -> CertificateInfo:
    """:class:`CertificateInfo` of an already parsed certificate."""
    der = cert.dump()
    subject = cert.subject

    def get(key: str) -> str | None:
        return _asn1.first_attribute(subject, key)

    cn = get("common_name")
    surname, given = get("surname"), get("given_name")
    owner = " ".join(p for p in (surname, given) if p) or cn

    email = get("email_address")
    san = _extension(cert, "subject_alt_name")
    if email is None and san is not None:
        for general_name in san:  # type: ignore[attr-defined]
            if general_name.name == "rfc822_name":
                email = str(general_name.native)
                break

    ku = _extension(cert, "key_usage")
    key_usage = tuple(sorted(ku.native)) if ku is not None else ()  # type: ignore[attr-defined]
    eku = _extension(cert, "extended_key_usage")
    ext_key_usage = tuple(eku.native) if eku is not None else ()  # type: ignore[attr-defined]
    cp = _extension(cert, "certificate_policies")
    policies = (
        tuple(p["policy_identifier"].dotted for p in cp)  # type: ignore[attr-defined]
        if cp is not None
        else ()
    )
    bc = _extension(cert, "basic_constraints")
    is_ca = bool(bc["ca"].native) if bc is not None else False  # type: ignore[index]

    validity = cert["tbs_certificate"]["validity"]
    algorithm, size, parameters = _key_algorithm(cert)
    subject_tool, issuer_tool = _sign_tools(cert)
    return CertificateInfo(
        subject_cn=cn,
        owner=owner,
        organization=get("organization_name"),
        title=get("title"),
        email=email,
        inn=_digits(get(_asn1.OID_INN)),
        inn_le=_normalise_inn_le(get(_asn1.OID_INN_LE)),
        ogrn=_digits(get(_asn1.OID_OGRN)),
        ogrnip=_digits(get(_asn1.OID_OGRNIP)),
        snils=_digits(get(_asn1.OID_SNILS)),
        serial_hex=_serial_hex(cert.serial_number),
        issuer=_asn1.readable_name(cert.issuer),
        issuer_cn=_asn1.first_attribute(cert.issuer, "common_name"),
        subject=_asn1.readable_name(subject),
        sha1=hashlib.sha1(der, usedforsecurity=False).hexdigest().upper(),
        sha256=hashlib.sha256(der).hexdigest().upper(),
        not_before=validity["not_before"].native.astimezone(dt.UTC),
        not_after=validity["not_after"].native.astimezone(dt.UTC),
        key_usage=key_usage,
        extended_key_usage=tuple(str(e) for e in ext_key_usage),
        policies=policies,
        public_key_algorithm=algorithm,
        key_size=size,
        signature_algorithm=signature_algorithm_name(cert),
        is_ca=is_ca,
        is_self_signed=cert.self_signed in {"yes", "maybe"},
        der=der,
        public_key_parameters=parameters,
        subject_sign_tool=subject_tool,
        issuer_sign_tool=issuer_tool,
        sign_tool_classes=tuple(
            SIGN_TOOL_CLASSES[p] for p in policies if p in SIGN_TOOL_CLASSES
        ),
    )


def inspect_certificate(data: bytes) -> CertificateInfo:
    """Read a certificate (DER or PEM) without validating it.

    :param data: the certificate bytes.
    :raises CertificateFormatError: the bytes are not an X.509 certificate.
    """
    cert = load_certificate(data)
    try:
        return info_from_asn1(cert)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CertificateFormatError(f"the certificate cannot be read: {exc}") from None
