"""Powers of attorney: upload, status, revocation, and the one question the
signing flow asks — may this personal certificate sign this document for this
organisation at this moment (:func:`authorise`).

Every refusal names the failed condition in Russian and carries a stable code
``power_of_attorney_*`` (the API's error code):

=================================== =============================================
``power_of_attorney_format``        not an МЧД of a supported format / schema
``power_of_attorney_signature``     its signature does not verify
``power_of_attorney_signer``        signed by someone other than the principal's head
``power_of_attorney_principal``     the principal is not the organisation signing
``power_of_attorney_representative`` the certificate's holder is not its representative
``power_of_attorney_required``      a personal certificate without any МЧД on file
``power_of_attorney_expired``       not valid at the moment of signing
``power_of_attorney_revoked``       revoked (here or in the ФНС registry)
``power_of_attorney_not_registered`` the ФНС registry does not know it
``power_of_attorney_power``         no power allowing this type of document
``power_of_attorney_duplicate``     the same number with other content
``power_of_attorney_registry_unavailable`` (503) the registry did not answer
=================================== =============================================
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

import signing
from docflow.access import Actor, may_revoke_power, may_sign_for, visible_powers
from docflow.audit import record
from docflow.contracts.models import Organisation
from docflow.db import utcnow
from docflow.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from docflow.powers.models import PowerOfAttorney, PowerRule, PowerStatus
from docflow.powers.registry import Registry, RegistryAnswer, RegistryState
from docflow.runtime import Runtime

MOSCOW = ZoneInfo("Europe/Moscow")
MAX_SIGNATURE_BYTES = 256 * 1024

#: Which powers of the ФНС classifier (``КодПолн``) allow signing a type of
#: document, until the supplier's administrator sets its own list («Доверенности
#: → Полномочия»). The codes are this cabinet's defaults; check them against the
#: classifier the principals' software uses.
DEFAULT_POWER_CODES: dict[str, tuple[str, ...]] = {
    "prom10": ("02.001", "02.002"),
    "contract": ("01.001",),
    "agreement": ("01.001", "01.002"),
    "invoice": ("02.001",),
    "letter": ("03.001",),
    "other": ("03.001",),
    "appeal": ("03.001", "03.002"),
    "appeal_answer": ("03.001",),
    "service_offer": ("01.001", "01.003"),
}

REDELEGATION_TITLES = {
    "1": "без права передоверия",
    "2": "с правом однократного передоверия",
    "3": "с правом последующего передоверия",
}


class PowerOfAttorneyError(ValidationError):
    """An МЧД refused, or a signature under one refused: ``code`` says which
    condition failed (the table in the module's text)."""


def _refuse(code: str, message: str, **details: Any) -> PowerOfAttorneyError:
    return PowerOfAttorneyError(
        message, code=f"power_of_attorney_{code}", details=details
    )


def moscow_date(moment: dt.datetime) -> dt.date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(MOSCOW).date()


def _digits(value: str | None) -> str | None:
    if not value:
        return None
    only = "".join(ch for ch in value if ch.isdigit())
    return only or None


@dataclass(frozen=True)
class Holder:
    """Who holds a certificate, as the МЧД identifies a person."""

    name: str
    snils: str | None
    inn: str | None

    @classmethod
    def of(cls, cert: Any) -> Holder:
        """From a :class:`signing.CertificateInfo` or a registered
        :class:`~docflow.certificates.models.Certificate` (same field names)."""
        name = getattr(cert, "owner", None) or getattr(cert, "subject_cn", None) or ""
        inn = getattr(cert, "inn", None)
        return cls(
            str(name), _digits(cert.snils), inn if inn and len(inn) == 12 else None
        )

    def conditions(self) -> Any:
        """A query condition: МЧД naming a representative with one of this
        holder's identifiers (:meth:`matches` then decides)."""
        keys = [f"%|s:{self.snils}|%" if self.snils else None,
                f"%|i:{self.inn}|%" if self.inn else None]  # fmt: skip
        return or_(*(PowerOfAttorney.holder_keys.like(k) for k in keys if k))

    def matches(self, person: dict[str, Any]) -> bool:
        """A representative is this holder when an identifier both carry agrees
        and none of them disagrees (СНИЛС, ИНН ФЛ)."""
        pairs = [
            (self.snils, _digits(person.get("snils"))),
            (self.inn, person.get("inn")),
        ]
        known = [(a, b) for a, b in pairs if a and b]
        return bool(known) and all(a == b for a, b in known)


def is_personal(cert: Any, organisation: Organisation) -> bool:
    """Whether a certificate needs an МЧД to sign for ``organisation``: it does
    not carry that organisation's ИНН ЮЛ (a personal certificate of an
    employee, or one issued to another company)."""
    inn = getattr(cert, "inn", None)
    # Certificates issued before 2021 put the ИНН ЮЛ (10 digits) into the
    # INN attribute; registration accepts them the same way.
    own = cert.inn_le or (inn if inn and len(inn) == 10 else None)
    return (own or "") != organisation.inn


# -- reading and storing ---------------------------------------------------------


def _person_json(person: Any) -> dict[str, Any]:
    return {
        "last_name": person.last_name,
        "first_name": person.first_name,
        "patronymic": person.patronymic,
        "snils": _digits(person.snils),
        "inn": person.inn,
    }


def holder_keys(people: Iterable[dict[str, Any]]) -> str:
    keys = "|"
    for p in people:
        if p.get("snils"):
            keys += f"s:{p['snils']}|"
        if p.get("inn"):
            keys += f"i:{p['inn']}|"
    return keys[:2000]


def _read(xml: bytes) -> Any:
    try:
        return signing.read_power_of_attorney(xml)
    except signing.MchdFormatError as exc:
        raise _refuse("format", str(exc)) from None


def _verify_signature(
    xml: bytes,
    sig: bytes,
    poa: Any,
    *,
    trust: signing.TrustStore,
    revocation: signing.RevocationMode,
    received_at: dt.datetime,
) -> tuple[Any, Any]:
    """The МЧД's detached signature: valid, by a certificate of the principal
    (its ИНН ЮЛ), of the head the МЧД names when it names one."""
    if len(sig) > MAX_SIGNATURE_BYTES:
        raise _refuse("signature", "Файл подписи МЧД слишком велик.")
    try:
        report = signing.verify_cms(
            xml,
            sig,
            trust,
            received_at=received_at,
            revocation=revocation,
        )
    except signing.SigningError:
        raise _refuse(
            "signature",
            "Файл подписи МЧД не является подписью CMS (.sig) в DER, PEM или base64.",
        ) from None
    if len(report.signers) != 1:
        raise _refuse("signature", "Подпись МЧД должна содержать одного подписанта.")
    signer = report.signers[0]
    if report.verdict != signing.Verdict.VALID:
        raise _refuse(
            "signature",
            "Подпись МЧД не прошла проверку: " + report.summary_ru(),
            report=report.to_json(),
        )
    info = signer.certificate
    # A valid verdict needs the signer's certificate: a signature without one
    # carries SIGNER_CERTIFICATE_MISSING, an error (signing.cms).
    assert info is not None, "a valid signer report names its certificate"
    if info.inn_le != poa.principal.inn:
        raise _refuse(
            "signer",
            "МЧД подписана не сертификатом доверителя: в сертификате подписавшего "
            f"ИНН ЮЛ {info.inn_le or 'не указан'}, а доверитель в МЧД — ИНН "
            f"{poa.principal.inn}. Доверенность подписывает руководитель "
            "организации-доверителя своей квалифицированной подписью.",
        )
    if poa.head is not None and not Holder.of(info).matches(_person_json(poa.head)):
        if Holder.of(info).snils or Holder.of(info).inn:
            raise _refuse(
                "signer",
                f"МЧД подписал не тот, кто назван в ней лицом без доверенности "
                f"({poa.head.full_name}): СНИЛС и ИНН в сертификате подписавшего "
                "не совпадают.",
            )
    return report, signer


def _qualified(signer: Any) -> bool:
    validation = getattr(signer, "certificate_validation", None)
    status = getattr(validation, "qualified", None)
    return bool(status is not None and status.is_qualified)


def registry_status(power: PowerOfAttorney, *, runtime: Runtime) -> RegistryAnswer:
    """The status of ``power``: the registry's answer, else the local one."""
    return _registry_status(runtime.registry, power)


def _registry_status(
    registry: Registry | None, power: PowerOfAttorney
) -> RegistryAnswer:
    if registry is not None:
        return registry.status(power.number, power.principal.get("inn", ""))
    local = (
        RegistryState.REVOKED
        if power.status == PowerStatus.REVOKED
        else RegistryState.ACTIVE
    )
    return RegistryAnswer(
        local,
        power.revoked_at,
        utcnow(),
        "данные кабинета (реестр доверенностей ФНС не подключён)",
    )


def upload_power(
    session: Session,
    *,
    actor: Actor,
    xml: bytes,
    signature: bytes,
    runtime: Runtime,
    certificate: Any = None,
) -> tuple[PowerOfAttorney, bool]:
    """Check and keep an МЧД with its signature; ``(row, created)``.

    The same file again returns the row on file. ``certificate`` (a registered
    certificate or a :class:`signing.CertificateInfo`) binds it to the
    personal certificate it was uploaded for: its holder must be a
    representative.
    """
    now = utcnow()
    poa = _read(xml)
    org = session.scalar(
        select(Organisation).where(Organisation.inn == poa.principal.inn)
    )
    if org is None or not may_sign_for(session, actor, org):
        raise _refuse(
            "principal",
            f"Доверитель в МЧД — «{poa.principal.name}», ИНН {poa.principal.inn}: это "
            "не организация, за которую вы подписываете документы в кабинете.",
            principal_inn=poa.principal.inn,
        )
    report, signer = _verify_signature(
        xml,
        signature,
        poa,
        trust=runtime.trust(session),
        revocation=runtime.revocation,
        received_at=now,
    )
    people = [_person_json(p) for p in poa.representatives]
    if certificate is not None:
        holder = Holder.of(certificate)
        if not any(holder.matches(p) for p in people):
            raise _refuse(
                "representative",
                f"Представитель в МЧД ({', '.join(p.full_name for p in poa.representatives)}) "
                f"— не владелец сертификата ({holder.name}): СНИЛС и ИНН ФЛ не совпадают.",
            )
    if poa.valid_until < moscow_date(now):
        raise _refuse(
            "expired",
            f"Срок действия МЧД истёк {poa.valid_until:%d.%m.%Y}.",
            valid_until=poa.valid_until.isoformat(),
        )
    number = poa.number.lower()
    sha256 = hashlib.sha256(xml).hexdigest()
    existing = session.scalar(
        select(PowerOfAttorney).where(
            PowerOfAttorney.organisation_id == org.id,
            PowerOfAttorney.number == number,
        )
    )
    if existing is not None:
        if existing.xml_sha256 != sha256:
            raise ConflictError(
                f"МЧД № {number} уже загружена с другим содержимым. Доверенность с "
                "тем же номером не может отличаться: проверьте файл.",
                code="power_of_attorney_duplicate",
            )
        if existing.status == PowerStatus.REVOKED:
            raise _refuse(
                "revoked",
                f"МЧД № {number} отозвана {existing.revoked_at:%d.%m.%Y}"
                if existing.revoked_at
                else f"МЧД № {number} отозвана.",
            )
        if certificate is not None and existing.certificate_id is None:
            existing.certificate_id = getattr(certificate, "id", None)
        return existing, False
    power = PowerOfAttorney(
        organisation_id=org.id,
        number=number,
        internal_number=(poa.internal_number or "")[:255] or None,
        format_version=poa.format_version.value,
        issued_on=poa.issued_on,
        valid_until=poa.valid_until,
        principal={
            "name": poa.principal.name,
            "inn": poa.principal.inn,
            "ogrn": poa.principal.ogrn,
            "kpp": poa.principal.kpp,
        },
        representatives=people,
        holder_keys=holder_keys(people),
        powers=[{"code": p.code, "text": p.text} for p in poa.powers],
        redelegation=poa.redelegation.value,
        head=_person_json(poa.head) if poa.head else None,
        xml=xml,
        signature=signature,
        xml_sha256=sha256,
        signer_name=(signer.certificate.owner or signer.certificate.subject_cn or "")[
            :300
        ],
        signer_serial=signer.certificate.serial_hex,
        signer_inn_le=signer.certificate.inn_le,
        signer_qualified=_qualified(signer),
        signature_report=report.to_json(),
        certificate_id=getattr(certificate, "id", None),
        uploaded_by_id=actor.user_id,
        api_key_id=actor.api_key_id,
    )
    answer = registry_status(power, runtime=runtime)
    _check_registry(power, answer, moment=now)
    power.status_source = "registry" if runtime.registry is not None else "local"
    power.status_checked_at = answer.checked_at
    session.add(power)
    session.flush()
    record(
        session,
        user=actor.user,
        action="power_of_attorney.upload",
        object_type="power_of_attorney",
        object_id=power.id,
        details={
            "number": power.number,
            "internal_number": power.internal_number,
            "principal_inn": org.inn,
            "representatives": power.representative_names,
            "valid_until": power.valid_until.isoformat(),
            "status_source": answer.source,
        },
        request_info=actor.request_info,
        actor_label=actor.label,
    )
    return power, True


def _check_registry(
    power: PowerOfAttorney, answer: RegistryAnswer, *, moment: dt.datetime
) -> None:
    if answer.state is RegistryState.NOT_FOUND:
        raise _refuse(
            "not_registered",
            f"МЧД {power.label} не найдена в реестре ({answer.source}): "
            "доверенность действует только после регистрации в реестре ФНС.",
            status_source=answer.source,
        )
    if answer.state is RegistryState.REVOKED and (
        answer.revoked_at is None or answer.revoked_at <= moment
    ):
        when = (
            f" {answer.revoked_at.astimezone(MOSCOW):%d.%m.%Y %H:%M} МСК"
            if answer.revoked_at
            else ""
        )
        raise _refuse(
            "revoked",
            f"МЧД {power.label} отозвана{when} (источник: {answer.source}).",
            status_source=answer.source,
        )


# -- reading what is on file -----------------------------------------------------


def list_powers(session: Session, *, actor: Actor) -> list[PowerOfAttorney]:
    return list(
        session.scalars(
            select(PowerOfAttorney)
            .where(visible_powers(actor))
            .order_by(PowerOfAttorney.created_at.desc())
        )
    )


def get_power(
    session: Session, *, actor: Actor, power_id: uuid.UUID, lock: bool = False
) -> PowerOfAttorney:
    stmt = select(PowerOfAttorney).where(
        visible_powers(actor), PowerOfAttorney.id == power_id
    )
    if lock:
        stmt = stmt.with_for_update()
    power = session.scalar(stmt)
    if power is None:
        raise NotFoundError(
            "Доверенность не найдена.", code="power_of_attorney_not_found"
        )
    return power


def revoke_power(
    session: Session, *, actor: Actor, power_id: uuid.UUID, reason: str = ""
) -> PowerOfAttorney:
    power = get_power(session, actor=actor, power_id=power_id, lock=True)
    if not may_revoke_power(actor, power):
        raise PermissionDeniedError(
            "Отозвать доверенность может загрузивший её пользователь или "
            "администратор поставщика."
        )
    if power.status == PowerStatus.REVOKED:
        return power
    power.status = PowerStatus.REVOKED
    power.revoked_at = utcnow()
    power.revoked_by_id = actor.user_id
    power.revocation_reason = reason.strip()[:500] or None
    record(
        session,
        user=actor.user,
        action="power_of_attorney.revoke",
        object_type="power_of_attorney",
        object_id=power.id,
        details={"number": power.number, "reason": power.revocation_reason},
        request_info=actor.request_info,
        actor_label=actor.label,
    )
    session.flush()
    return power


def status_of(power: PowerOfAttorney, today: dt.date | None = None) -> tuple[str, str]:
    """(css class, Russian label) for lists and cards."""
    today = today or moscow_date(utcnow())
    if power.status == PowerStatus.REVOKED:
        return "bad", "отозвана"
    if power.valid_until < today:
        return "bad", "срок истёк"
    if power.issued_on > today:
        return "warn", "ещё не действует"
    return "ok", "действует"


# -- the supplier's map of powers --------------------------------------------------


def power_codes(session: Session, doc_type: str) -> tuple[str, ...]:
    """The powers that allow signing ``doc_type``: the administrator's list,
    else :data:`DEFAULT_POWER_CODES`."""
    codes = session.scalars(
        select(PowerRule.code)
        .where(PowerRule.doc_type == doc_type)
        .order_by(PowerRule.code)
    ).all()
    return tuple(codes) if codes else DEFAULT_POWER_CODES.get(doc_type, ())


def set_power_codes(
    session: Session, *, actor: Actor, doc_type: str, codes: Iterable[str]
) -> tuple[str, ...]:
    cleaned: list[str] = []
    for raw in codes:
        code = raw.strip()
        if not code:
            continue
        if len(code) > 50 or not all(ch.isalnum() or ch in "._-" for ch in code):
            raise ValidationError(
                f"Код полномочия «{code[:60]}» — не код классификатора (буквы, цифры, "
                "точки; до 50 символов).",
                code="power_code_invalid",
            )
        if code not in cleaned:
            cleaned.append(code)
    session.execute(delete(PowerRule).where(PowerRule.doc_type == doc_type))
    for code in cleaned:
        session.add(PowerRule(doc_type=doc_type, code=code))
    record(
        session,
        user=actor.user,
        action="power_of_attorney.rules",
        object_type="power_rules",
        object_id=doc_type,
        details={"codes": cleaned},
        request_info=actor.request_info,
        actor_label=actor.label,
    )
    session.flush()
    return tuple(cleaned) or DEFAULT_POWER_CODES.get(doc_type, ())


# -- the question of the signing flow ---------------------------------------------


@dataclass(frozen=True)
class Authority:
    """The МЧД a signature relies on, and how its status was checked."""

    power: PowerOfAttorney
    status_source: str
    checked_at: dt.datetime
    moment: dt.datetime

    def evidence(self) -> dict[str, Any]:
        """What the signature's report keeps of it."""
        p = self.power
        return {
            "id": str(p.id),
            "number": p.number,
            "internal_number": p.internal_number,
            "issued_on": p.issued_on.isoformat(),
            "valid_until": p.valid_until.isoformat(),
            "principal": p.principal,
            "representatives": p.representatives,
            "powers": p.powers,
            "label": p.label,
            "signer": {"name": p.signer_name, "serial": p.signer_serial,
                       "inn_le": p.signer_inn_le, "qualified": p.signer_qualified},
            "xml_sha256": p.xml_sha256,
            "status_source": self.status_source,
            "status_checked_at": self.checked_at.isoformat(),
            "valid_at": self.moment.isoformat(),
        }  # fmt: skip


def authorise(
    session: Session,
    *,
    organisation: Organisation,
    certificate: Any,
    doc_type: str,
    moment: dt.datetime,
    runtime: Runtime,
) -> Authority | None:
    """May ``certificate`` sign a ``doc_type`` for ``organisation`` at
    ``moment`` (the proof of existence of the signature, never its claim)?

    ``None`` when it needs no МЧД (it carries the organisation's ИНН ЮЛ); the
    МЧД relied on otherwise; :class:`PowerOfAttorneyError` naming the first
    condition no МЧД on file meets.
    """
    if not is_personal(certificate, organisation):
        return None
    holder = Holder.of(certificate)
    mine = (
        [
            p
            for p in session.scalars(
                select(PowerOfAttorney)
                .where(holder.conditions())
                .order_by(PowerOfAttorney.valid_until.desc())
            )
            if any(holder.matches(r) for r in p.representatives)
        ]
        if holder.snils or holder.inn
        else []
    )
    if not mine:
        others = session.scalar(
            select(PowerOfAttorney.id)
            .where(PowerOfAttorney.organisation_id == organisation.id)
            .limit(1)
        )
        if others is not None:
            raise _refuse(
                "representative",
                f"Сертификат выдан {holder.name} лично (без ИНН организации), а ни "
                f"одна МЧД организации «{organisation.name}» не называет его "
                "представителем (СНИЛС и ИНН ФЛ из сертификата).",
            )
        raise _refuse(
            "required",
            f"Сертификат выдан {holder.name} лично (в нём нет ИНН организации "
            f"«{organisation.name}»): подписывать им за организацию можно только по "
            "машиночитаемой доверенности (МЧД). Загрузите МЧД в разделе «Сертификаты».",
        )
    own = [p for p in mine if p.organisation_id == organisation.id]
    if not own:
        raise _refuse(
            "principal",
            f"МЧД на {holder.name} выданы другими организациями: доверителем должна "
            f"быть «{organisation.name}» (ИНН {organisation.inn}).",
        )
    return _first_valid(
        session, own, doc_type=doc_type, moment=moment, registry=runtime.registry
    )


def _first_valid(
    session: Session,
    candidates: Sequence[PowerOfAttorney],
    *,
    doc_type: str,
    moment: dt.datetime,
    registry: Registry | None,
) -> Authority:
    day = moscow_date(moment)
    allowed = power_codes(session, doc_type)
    failure: PowerOfAttorneyError | None = None
    rank = {"expired": 1, "revoked": 2, "not_registered": 2, "power": 3}

    def worse(err: PowerOfAttorneyError) -> None:
        nonlocal failure
        key = err.code.removeprefix("power_of_attorney_")
        if (
            failure is None
            or rank[key] > rank[failure.code.removeprefix("power_of_attorney_")]
        ):
            failure = err

    for power in candidates:
        if not power.issued_on <= day <= power.valid_until:
            worse(_refuse(
                "expired",
                f"МЧД {power.label} действует с {power.issued_on:%d.%m.%Y} по "
                f"{power.valid_until:%d.%m.%Y}, а подпись сделана {day:%d.%m.%Y}.",
                number=power.number,
            ))  # fmt: skip
            continue
        if power.status == PowerStatus.REVOKED and (
            power.revoked_at is None or _aware(power.revoked_at) <= moment
        ):
            worse(_refuse(
                "revoked",
                f"МЧД {power.label} отозвана"
                + (f" {_aware(power.revoked_at).astimezone(MOSCOW):%d.%m.%Y %H:%M} МСК"
                   if power.revoked_at else "") + ".",
                number=power.number,
            ))  # fmt: skip
            continue
        granted = set(power.coded_powers) & set(allowed)
        if not granted:
            worse(_refuse(
                "power",
                f"МЧД {power.label} не даёт полномочия подписывать этот вид документа: "
                f"нужно одно из полномочий {', '.join(allowed) or '(не настроены)'}, "
                f"а в доверенности — {', '.join(power.coded_powers) or 'только текстовые'}.",
                number=power.number, required=list(allowed),
            ))  # fmt: skip
            continue
        answer = _registry_status(registry, power)
        try:
            _check_registry(power, answer, moment=moment)
        except PowerOfAttorneyError as exc:
            worse(exc)
            continue
        power.status_source = "registry" if registry is not None else "local"
        power.status_checked_at = answer.checked_at
        return Authority(power, answer.source, answer.checked_at, moment)
    assert failure is not None
    raise failure


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
