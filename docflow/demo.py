"""The demo world: what a newcomer (or an integrator's script) logs in with.

A supplier and two customer organisations with contracts; a signatory of each,
a clerk and an administrator; a test certification authority trusted by the
cabinet, and each signatory's PKCS#12 key file with its password. Running it
again changes nothing and prints the same world.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any, TypedDict

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import signing
from docflow.access import Actor
from docflow.accounts.models import Role, User
from docflow.accounts.services import register_user
from docflow.appeals.demo import seed_demo as appeals
from docflow.audit import RequestInfo
from docflow.certificates.models import Certificate, CertificateStatus
from docflow.certificates.services import register_certificate
from docflow.config import DEMO_CA_NAME
from docflow.content.models import FaqEntry, NewsItem, SiteSetting
from docflow.content.services import GENERAL_CONTACTS as CONTACTS_KEY
from docflow.context import current_runtime, db_session, settings
from docflow.contracts.models import (
    Contract,
    ContractAccess,
    ContractContacts,
    Organisation,
    Payment,
    RestrictionEntry,
)
from docflow.contracts.registry import bindable_contracts
from docflow.db import transaction
from docflow.documents.demo import create_demo_documents
from docflow.documents.models import Document
from docflow.errors import DocflowError
from docflow.payments.demo import seed_demo as payments
from docflow.powers.models import PowerOfAttorney, PowerStatus
from docflow.powers.registry import FileRegistry, RegistryState
from docflow.powers.services import status_of, upload_power
from docflow.readings.demo import CONTRACT as READINGS_CONTRACT
from docflow.readings.demo import seed_readings
from docflow.readings.hourly_analysis_demo import seed_demo as analysis
from docflow.readings.hourly_demo import seed_demo as hourly
from docflow.readings.models import Reading, ReadingAct, ReadingKind, ReadingStatus
from docflow.readings.planned_demo import seed_demo as planned
from docflow.readings.services import send_act_to_docflow
from docflow.service_orders.demo import seed_demo as service_orders
from docflow.surveys.demo import seed_demo as surveys
from docflow.tours.demo import seed_demo as tours
from signing import mchd, pki

DEMO_PASSWORD = "demo12345"
P12_PASSWORD = "demo1234"

SUPPLIER = {
    "name": "АО «Энергосбыт»",
    "inn": "7736520080",
    "kpp": "773601001",
    "ogrn": "1057746557329",
    "email": "info@energosbyt.example",
}

CUSTOMERS: list[dict[str, Any]] = [
    {
        "key": "romashka",
        "name": "ООО «Ромашка»",
        "inn": "7701234567",
        "kpp": "770101001",
        "ogrn": "1027700132195",
        "email": "office@romashka.example",
        "address": "г. Москва, ул. Энергетиков, д. 7",
        "contracts": [
            ("77-0001-ЮЛ", dt.date(2024, 1, 15)),
            ("77-0002-ЮЛ", dt.date(2025, 3, 1)),
        ],
        "signatory": {
            "email": "signer@romashka.example",
            "last_name": "Иванов",
            "first_name": "Иван",
            "middle_name": "Иванович",
            "title": "Генеральный директор",
            "inn": "500100732259",
            "snils": "11223344595",
        },
    },
    {
        "key": "vasilek",
        "name": "АО «Василёк»",
        "inn": "5003012345",
        "kpp": "500301001",
        "ogrn": "1035000712345",
        "email": "office@vasilek.example",
        "address": "Московская обл., г. Видное, Промзона, стр. 3",
        "contracts": [("50-0100-ЮЛ", dt.date(2023, 6, 20))],
        "signatory": {
            "email": "signer@vasilek.example",
            "last_name": "Петрова",
            "first_name": "Мария",
            "middle_name": "Сергеевна",
            "title": "Главный энергетик",
            "inn": "500301234560",
            "snils": "12345678964",
        },
    },
]

#: An employee of ООО «Ромашка» with a personal certificate (no ИНН ЮЛ): she
#: signs for the company under a machine-readable power of attorney (МЧД)
#: its head, Иванов, issued and signed.
EMPLOYEE: dict[str, Any] = {
    "key": "romashka-employee",
    "organisation": "romashka",
    "email": "employee@romashka.example",
    "last_name": "Сидорова",
    "first_name": "Анна",
    "middle_name": "Павловна",
    "title": "Главный энергетик",
    "inn": "771203456789",
    "snils": "14523698776",
}

#: The employee's МЧД (format 003). Its number (``НомДовер``) is fixed, so that
#: reruns find it; a renewal, when the kept file has expired, gets a number of
#: its own (:func:`_power_number`).
EMPLOYEE_POWER: dict[str, Any] = {
    "number": "3f0e6a52-9c1d-4b7e-a2d4-6c1b8e0f9a71",
    "internal_number": "МЧД-1/2026",
    "head_title": "Генеральный директор",
    "powers": [
        ("02.001", "Подписание актов снятия показаний приборов учёта (ПРОМ10)"),
        ("01.002", "Подписание дополнительных соглашений"),
        (
            None,
            "Представлять интересы ООО «Ромашка» перед АО «Энергосбыт» в личном "
            "кабинете: передавать показания приборов учёта и подписывать акты "
            "снятия показаний и дополнительные соглашения к договорам "
            "энергоснабжения.",
        ),
    ],
    "xml": "romashka-employee-mchd.xml",
}


class _StaffMember(TypedDict):
    email: str
    last_name: str
    first_name: str
    middle_name: str
    role: Role
    title: str


STAFF: list[_StaffMember] = [
    {
        "email": "clerk@energosbyt.example",
        "last_name": "Смирнова",
        "first_name": "Ольга",
        "middle_name": "Петровна",
        "role": Role.CLERK,
        "title": "Сотрудник поставщика",
    },
    {
        "email": "admin@energosbyt.example",
        "last_name": "Кузнецов",
        "first_name": "Алексей",
        "middle_name": "Николаевич",
        "role": Role.ADMIN,
        "title": "Администратор",
    },
]


def demo_dir() -> Path:
    return settings().var_dir / "demo"


def _load_or_make_pki(directory: Path) -> dict[str, Any]:
    """The demo CA and keys, made once and kept under ``var/demo/``."""
    directory.mkdir(parents=True, exist_ok=True)
    root_key_path = directory / "ca-root.key.pem"
    root_cert_path = directory / "ca-root.crt"
    if root_key_path.exists() and root_cert_path.exists():
        key = serialization.load_pem_private_key(root_key_path.read_bytes(), None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise RuntimeError(f"{root_key_path}: neither an RSA nor an EC key")
        root = pki.Issued(
            x509.load_pem_x509_certificate(root_cert_path.read_bytes()), key
        )
    else:
        root = pki.make_root_ca(DEMO_CA_NAME)
        root_key_path.write_bytes(root.key_pem)
        root_key_path.chmod(0o600)
        root_cert_path.write_bytes(root.pem)
    trust_dir = Path(settings().signatures.trust_store)
    trust_dir.mkdir(parents=True, exist_ok=True)
    (trust_dir / "demo-root.crt").write_bytes(root.pem)
    # The demo CA's CRL, as a CA publishes one: the validation relies on it,
    # so it becomes part of each signature's long-term evidence. Re-issued
    # when a week old (each run of ``docflow demo``), valid for 30 days.
    crl_path = trust_dir / "demo-root.crl"
    now = dt.datetime.now(dt.UTC)
    if not crl_path.exists() or (
        now - dt.datetime.fromtimestamp(crl_path.stat().st_mtime, dt.UTC)
        > dt.timedelta(days=7)
    ):
        crl_path.write_bytes(
            pki.make_crl(
                root,
                this_update=now - dt.timedelta(minutes=5),
                next_update=now + dt.timedelta(days=30),
                number=int(now.timestamp()),
            )
        )

    keys: dict[str, Any] = {}
    people = [(c["key"], c["signatory"], c) for c in CUSTOMERS]
    for key_name, person, org in people:
        p12_path = directory / f"{key_name}-signer.p12"
        if not p12_path.exists():
            issued = pki.make_signer(
                root,
                surname=person["last_name"],
                given_name=f"{person['first_name']} {person['middle_name']}",
                organization=org["name"],
                title=person["title"],
                email=person["email"],
                inn=person["inn"],
                inn_le=org["inn"],
                ogrn=org["ogrn"],
                snils=person["snils"],
            )
            p12_path.write_bytes(issued.pkcs12(P12_PASSWORD))
            (directory / f"{key_name}-signer.crt").write_bytes(issued.pem)
        keys[key_name] = {
            "p12": str(p12_path),
            "cert": str(directory / f"{key_name}-signer.crt"),
        }
    employee_p12 = directory / f"{EMPLOYEE['key']}.p12"
    employee_crt = directory / f"{EMPLOYEE['key']}.crt"
    if not employee_p12.exists() or not employee_crt.exists():
        # A personal certificate, as a УЦ issues one to a person: ИНН ФЛ and
        # СНИЛС, no organisation, no ИНН ЮЛ, no ОГРН.
        issued = pki.make_signer(
            root,
            surname=EMPLOYEE["last_name"],
            given_name=f"{EMPLOYEE['first_name']} {EMPLOYEE['middle_name']}",
            organization=None,
            title=None,
            email=EMPLOYEE["email"],
            inn=EMPLOYEE["inn"],
            inn_le=None,
            ogrn=None,
            snils=EMPLOYEE["snils"],
        )
        employee_p12.write_bytes(issued.pkcs12(P12_PASSWORD))
        employee_crt.write_bytes(issued.pem)
    keys[EMPLOYEE["key"]] = {"p12": str(employee_p12), "cert": str(employee_crt)}
    supplier_p12 = directory / "supplier-signer.p12"
    if not supplier_p12.exists():
        clerk = STAFF[0]
        issued = pki.make_signer(
            root,
            surname=clerk["last_name"],
            given_name=f"{clerk['first_name']} {clerk['middle_name']}",
            organization=SUPPLIER["name"],
            title="Начальник отдела расчётов",
            email=clerk["email"],
            inn="770400112233",
            inn_le=SUPPLIER["inn"],
            ogrn=SUPPLIER["ogrn"],
            snils="98765432100",
        )
        supplier_p12.write_bytes(issued.pkcs12(P12_PASSWORD))
        (directory / "supplier-signer.crt").write_bytes(issued.pem)
    keys["supplier"] = {
        "p12": str(supplier_p12),
        "cert": str(directory / "supplier-signer.crt"),
    }
    return {"root": str(root_cert_path), "keys": keys}


def _snils(digits: str) -> str:
    """«14523698776» → «145-236-987 76», as an МЧД writes a СНИЛС."""
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:]}"


def _power_number(renewal_of: str | None, today: dt.date) -> str:
    """The fixed number of the demo МЧД; a renewal (the kept file has expired)
    gets one derived from it and the day of issue."""
    if renewal_of is None:
        return str(EMPLOYEE_POWER["number"])
    return str(uuid.uuid5(uuid.UUID(renewal_of), today.isoformat()))


def _load_or_make_power(directory: Path) -> dict[str, Any]:
    """The employee's МЧД (format 003) and its detached signature by Ромашка's
    head, made once and kept under ``var/demo/`` — the files a principal's
    software issues, which a newcomer can also upload by hand."""
    xml_path = directory / EMPLOYEE_POWER["xml"]
    sig_path = directory / f"{EMPLOYEE_POWER['xml']}.sig"
    org = next(c for c in CUSTOMERS if c["key"] == EMPLOYEE["organisation"])
    head = org["signatory"]
    head_cert = signing.inspect_certificate(
        (directory / f"{org['key']}-signer.crt").read_bytes()
    )
    today = dt.date.today()
    number = _power_number(None, today)
    if xml_path.exists() and sig_path.exists():
        try:
            kept = signing.read_power_of_attorney(xml_path.read_bytes())
            signers = signing.cms_signer_certificates(sig_path.read_bytes())
        except (signing.MchdFormatError, signing.SigningError, ValueError):
            kept, signers = None, []
        if kept is not None:
            fresh = kept.valid_until >= today
            if fresh and [c.sha256 for c in signers] == [head_cert.sha256]:
                return {
                    "number": kept.number.lower(),
                    "xml": str(xml_path),
                    "signature": str(sig_path),
                    "principal_inn": kept.principal.inn,
                }
            # Signed by a head's key made anew: signed again, same number.
            # Expired: a renewal, a number of its own.
            number = kept.number.lower() if fresh else _power_number(kept.number, today)
    poa = mchd.PowerOfAttorney(
        format_version=mchd.FormatVersion.V003,
        number=number,
        internal_number=EMPLOYEE_POWER["internal_number"],
        issued_on=today - dt.timedelta(days=30),
        valid_until=today - dt.timedelta(days=30) + dt.timedelta(days=365),
        principal=mchd.Organisation(org["name"], org["inn"], org["ogrn"], org["kpp"]),
        representatives=(
            mchd.Person(
                EMPLOYEE["last_name"],
                EMPLOYEE["first_name"],
                EMPLOYEE["middle_name"],
                _snils(EMPLOYEE["snils"]),
                EMPLOYEE["inn"],
            ),
        ),
        powers=tuple(mchd.Power(code, text) for code, text in EMPLOYEE_POWER["powers"]),
        redelegation=mchd.Redelegation.NONE,
        file_id=None,
        head=mchd.Person(
            head["last_name"],
            head["first_name"],
            head["middle_name"],
            _snils(head["snils"]),
            head["inn"],
        ),
    )
    xml = signing.write_power_of_attorney(poa, head_title=EMPLOYEE_POWER["head_title"])
    head_key = signing.Pkcs12Signer.load(
        (directory / f"{org['key']}-signer.p12").read_bytes(), P12_PASSWORD
    )
    sig_path.write_bytes(signing.sign_cms(xml, head_key))
    xml_path.write_bytes(xml)
    return {
        "number": poa.number,
        "xml": str(xml_path),
        "signature": str(sig_path),
        "principal_inn": org["inn"],
    }


def _user(
    s: Session,
    *,
    email: str,
    last_name: str,
    first_name: str,
    middle_name: str,
    role: Role,
) -> User:
    user = s.scalar(select(User).where(User.email == email))
    if user is None:
        user = register_user(
            s,
            email=email,
            password=DEMO_PASSWORD,
            last_name=last_name,
            first_name=first_name,
            middle_name=middle_name,
            role=role,
            confirmed=True,
        )
    return user


def _organisation(
    s: Session, data: dict[str, Any], *, is_supplier: bool = False
) -> Organisation:
    org = s.scalar(select(Organisation).where(Organisation.inn == data["inn"]))
    if org is None:
        org = Organisation(
            name=data["name"],
            inn=data["inn"],
            kpp=data.get("kpp"),
            ogrn=data.get("ogrn"),
            email=data.get("email"),
            address=data.get("address"),
            is_supplier=is_supplier,
        )
        s.add(org)
        s.flush()
    return org


def create_demo_world() -> dict[str, Any]:
    s = db_session()
    pki_info = _load_or_make_pki(demo_dir())
    pki_info["power"] = _load_or_make_power(demo_dir())
    # The demo CA and its CRL, just put into TRUST_STORE, go into the database
    # (where every node reads the trust store from) before anything is written.
    current_runtime().trust(db_session())
    world: dict[str, Any] = {
        "users": [],
        "organisations": [],
        "keys": [],
        "trust": {"root": pki_info["root"]},
        "url": settings().base_url,
    }
    with transaction(s):
        supplier = _organisation(s, SUPPLIER, is_supplier=True)
        world["organisations"].append(
            {
                "name": supplier.name,
                "inn": supplier.inn,
                "role": "supplier",
                "contracts": [],
            }
        )
        for c in CUSTOMERS:
            org = _organisation(s, c)
            person = c["signatory"]
            user = _user(
                s,
                email=person["email"],
                last_name=person["last_name"],
                first_name=person["first_name"],
                middle_name=person["middle_name"],
                role=Role.CUSTOMER,
            )
            contracts = []
            for number, signed_on in c["contracts"]:
                contract = s.scalar(select(Contract).where(Contract.number == number))
                if contract is None:
                    contract = Contract(
                        number=number,
                        signed_on=signed_on,
                        organisation_id=org.id,
                        esign_agreement=True,
                        esign_agreement_ref=f"Соглашение об ЭДО № ЭДО-{number}",
                    )
                    s.add(contract)
                    s.flush()
                access = s.scalar(
                    select(ContractAccess).where(
                        ContractAccess.user_id == user.id,
                        ContractAccess.contract_id == contract.id,
                    )
                )
                if access is None:
                    s.add(
                        ContractAccess(
                            user_id=user.id,
                            contract_id=contract.id,
                            can_view=True,
                            can_submit_readings=True,
                            can_sign=True,
                            can_manage=True,
                        )
                    )
                contracts.append({"number": number, "date": signed_on.isoformat()})
            world["organisations"].append(
                {
                    "name": org.name,
                    "inn": org.inn,
                    "kpp": org.kpp,
                    "role": "customer",
                    "contracts": contracts,
                }
            )
            world["users"].append(
                {
                    "email": user.email,
                    "password": DEMO_PASSWORD,
                    "role": "customer",
                    "role_title": f"Подписант, {org.name}",
                    "name": user.full_name,
                    "organisation_inn": org.inn,
                }
            )
            world["keys"].append(
                {
                    "owner": user.full_name,
                    "organisation_inn": org.inn,
                    "email": user.email,
                    "p12": pki_info["keys"][c["key"]]["p12"],
                    "cert": pki_info["keys"][c["key"]]["cert"],
                    "password": P12_PASSWORD,
                }
            )
        _employee(s, world, pki_info)
        for person in STAFF:
            user = _user(
                s,
                email=person["email"],
                last_name=person["last_name"],
                first_name=person["first_name"],
                middle_name=person["middle_name"],
                role=person["role"],
            )
            world["users"].append(
                {
                    "email": user.email,
                    "password": DEMO_PASSWORD,
                    "role": person["role"].value,
                    "role_title": person["title"],
                    "name": user.full_name,
                    "organisation_inn": supplier.inn,
                }
            )
        world["keys"].append(
            {
                "owner": "Смирнова Ольга Петровна (поставщик)",
                "organisation_inn": supplier.inn,
                "email": STAFF[0]["email"],
                "p12": pki_info["keys"]["supplier"]["p12"],
                "cert": pki_info["keys"]["supplier"]["cert"],
                "password": P12_PASSWORD,
            }
        )
        _extend_demo(s, world)
    with transaction(s):
        world["documents"] = create_demo_documents(s, world)
        act = _demo_act(s)
        if act is not None:
            world["documents"].append(act)
    # Each module's own demo material (topics of appeals, the services
    # catalogue, a survey...), each idempotent, each in its own transaction.
    for seed in _module_seeds():
        with transaction(s):
            seed(s, world)
    return world


def _module_seeds() -> list[Any]:
    return [
        appeals,
        service_orders,
        payments,
        surveys,
        tours,
        hourly,
        planned,
        analysis,
    ]


def _demo_act(s: Session) -> dict[str, str] | None:
    """A ПРОМ10 act awaiting the customer's signature: the demo readings' last
    month, sent into the document flow («Передать в ЮЗДО») by Ромашка's
    employee, who may then sign it at once under her МЧД. Made once: when the
    contract has any act already, the first one is the demo's."""
    contract = s.scalar(select(Contract).where(Contract.number == READINGS_CONTRACT))
    if contract is None:
        return None
    act = s.scalar(
        select(ReadingAct)
        .where(ReadingAct.contract_id == contract.id)
        .order_by(ReadingAct.created_at, ReadingAct.version)
        .limit(1)
    )
    if act is not None:
        doc = s.get(Document, act.document_id)
    else:
        period = s.scalar(
            select(func.max(Reading.period)).where(
                Reading.contract_id == contract.id,
                Reading.kind == ReadingKind.END,
                Reading.status == ReadingStatus.ACCEPTED,
            )
        )
        head = next(c for c in CUSTOMERS if c["key"] == EMPLOYEE["organisation"])
        sender = s.scalar(
            select(User).where(User.email == EMPLOYEE["email"])
        ) or s.scalar(select(User).where(User.email == head["signatory"]["email"]))
        if period is None or sender is None:
            return None
        doc = send_act_to_docflow(
            s,
            actor=Actor.for_user(sender, RequestInfo(via="cli")),
            runtime=current_runtime(),
            contract_id=contract.id,
            period=period,
            supplier_name=settings().supplier.name,
        )
    if doc is None:
        return None
    return {
        "id": str(doc.id),
        "number": doc.number,
        "title": doc.title,
        "type": "prom10",
        "contract": contract.number,
        "url": f"{settings().base_url}/documents/{doc.id}",
    }


def _employee(s: Session, world: dict[str, Any], pki_info: dict[str, Any]) -> None:
    """The employee who signs «по доверенности»: her account and rights on her
    company's contracts (all but managing them), her МЧД published in the
    registry double and uploaded by the head, her personal certificate
    registered. A revocation tried in the registry double or in the cabinet
    survives a rerun."""
    org_data = next(c for c in CUSTOMERS if c["key"] == EMPLOYEE["organisation"])
    org = _organisation(s, org_data)
    head = _user(
        s,
        email=org_data["signatory"]["email"],
        last_name=org_data["signatory"]["last_name"],
        first_name=org_data["signatory"]["first_name"],
        middle_name=org_data["signatory"]["middle_name"],
        role=Role.CUSTOMER,
    )
    user = _user(
        s,
        email=EMPLOYEE["email"],
        last_name=EMPLOYEE["last_name"],
        first_name=EMPLOYEE["first_name"],
        middle_name=EMPLOYEE["middle_name"],
        role=Role.CUSTOMER,
    )
    for number, _signed_on in org_data["contracts"]:
        contract = s.scalar(select(Contract).where(Contract.number == number))
        if contract is None:
            continue
        if (
            s.scalar(
                select(ContractAccess).where(
                    ContractAccess.user_id == user.id,
                    ContractAccess.contract_id == contract.id,
                )
            )
            is None
        ):
            s.add(
                ContractAccess(
                    user_id=user.id,
                    contract_id=contract.id,
                    can_view=True,
                    can_submit_readings=True,
                    can_sign=True,
                    can_manage=False,
                )
            )
    s.flush()

    files = pki_info["power"]
    number = files["number"]
    registry = current_runtime().registry
    power = s.scalar(
        select(PowerOfAttorney).where(
            PowerOfAttorney.organisation_id == org.id, PowerOfAttorney.number == number
        )
    )
    if isinstance(registry, FileRegistry) and (
        power is None
        or registry.status(number, org.inn).state is RegistryState.NOT_FOUND
    ):
        # What the principal does at m4d.nalog.gov.ru before anyone relies on it.
        registry.publish(number, org.inn)
    key = pki_info["keys"][EMPLOYEE["key"]]
    note = "по доверенности (МЧД)"
    world["users"].append(
        {
            "email": user.email,
            "password": DEMO_PASSWORD,
            "role": "customer",
            "role_title": f"По доверенности, {org.name}",
            "title": EMPLOYEE["title"],
            "name": user.full_name,
            "organisation_inn": org.inn,
            "note": note,
        }
    )
    world["keys"].append(
        {
            "owner": f"{user.full_name} (по доверенности)",
            "organisation_inn": org.inn,
            "email": user.email,
            "p12": key["p12"],
            "cert": key["cert"],
            "password": P12_PASSWORD,
            "note": note,
        }
    )
    entry: dict[str, Any] = {
        "number": number,
        "internal_number": EMPLOYEE_POWER["internal_number"],
        "principal": org.name,
        "principal_inn": org.inn,
        "representative": user.full_name,
        "representative_email": user.email,
        "xml": files["xml"],
        "signature": files["signature"],
    }
    world["powers_of_attorney"] = [entry]
    if power is None:
        try:
            power, _created = upload_power(
                s,
                actor=Actor.for_user(head, RequestInfo(via="cli")),
                xml=Path(files["xml"]).read_bytes(),
                signature=Path(files["signature"]).read_bytes(),
                # The demo's keys are checked for revocation, softly: the
                # world stands even where the demo CA's lists cannot be read.
                runtime=current_runtime().replace(revocation="soft"),
            )
        except DocflowError as exc:
            if isinstance(registry, FileRegistry) or registry is None:
                raise
            # A real registry (MCHD_REGISTRY_URL=https://…) does not know the
            # demo's МЧД: the rest of the world stands without it.
            entry["problem"] = exc.message
            return

    cert_data = Path(key["cert"]).read_bytes()
    sha256 = signing.inspect_certificate(cert_data).sha256
    cert = s.scalar(
        select(Certificate).where(
            Certificate.user_id == user.id,
            Certificate.organisation_id == org.id,
            Certificate.sha256 == sha256,
            Certificate.status == CertificateStatus.ACTIVE,
        )
    )
    if cert is None and power.status == PowerStatus.ACTIVE:
        registration = register_certificate(
            s,
            actor=Actor.for_user(user, RequestInfo(via="cli")),
            data=cert_data,
            runtime=current_runtime().replace(revocation="soft"),
        )
        if registration.certificate is None:
            raise RuntimeError(
                "Демо-мир: сертификат сотрудника не зарегистрирован: "
                + "; ".join(registration.problems)
            )
        cert = registration.certificate
    if cert is not None and power.certificate_id is None:
        power.certificate_id = cert.id
    s.flush()
    entry.update(
        {
            "id": str(power.id),
            "label": power.label,
            "valid_from": power.issued_on.isoformat(),
            "valid_until": power.valid_until.isoformat(),
            "status": status_of(power)[1],
            # The registry double's status (a real registry is not asked here).
            "registry": (
                registry.status(number, org.inn).state.value
                if isinstance(registry, FileRegistry)
                else None
            ),
            "powers": list(power.coded_powers),
            "certificate_id": str(cert.id) if cert is not None else None,
        }
    )
    for item in (world["users"][-1], world["keys"][-1]):
        item["note"] = f"по доверенности {power.label}"


# -- contracts' surroundings: contacts, payments, restrictions, news, FAQ, and
#    contracts nobody has bound yet, so that binding can be tried at once ---------

UNBOUND: list[tuple[str | dict[str, str], str, dt.date]] = [
    # (organisation key or a new organisation, contract number, date)
    ("romashka", "77-0003-ЮЛ", dt.date(2025, 9, 1)),
    (
        {
            "name": "ООО «Одуванчик»",
            "inn": "7705123456",
            "kpp": "770501001",
            "ogrn": "1157746123456",
            "email": "office@oduvanchik.example",
            "address": "г. Москва, Варшавское ш., д. 12",
        },
        "77-0150-ЮЛ",
        dt.date(2024, 11, 5),
    ),
]

CONTACTS = {
    "head_name": "Соколов Андрей Викторович, начальник Центрального отделения",
    "branch_address": "г. Москва, ул. Электрозаводская, д. 21, офис 305",
    "phone": "+7 495 600-10-20",
    "fax": "+7 495 600-10-21",
    "curator_name": "Смирнова Ольга Петровна",
    "curator_phone": "+7 495 600-10-35",
}

GENERAL_CONTACTS = {
    "organisation": "АО «Энергосбыт», отдел по работе с юридическими лицами",
    "address": "г. Москва, ул. Электрозаводская, д. 21",
    "phone": "+7 495 600-10-00",
    "email": "corp@energosbyt.example",
    "hours": "пн–чт 8:30–17:30, пт 8:30–16:15, перерыв 12:30–13:15",
    "note": "Аварийная служба — круглосуточно: +7 495 600-10-99.",
}

NEWS = (
    "Личный кабинет юридического лица подключён к ЮЗДО",
    "Теперь акты ПРОМ10, договоры и дополнительные соглашения можно подписывать "
    "усиленной квалифицированной электронной подписью прямо в личном кабинете.\n\n"
    "Что нужно сделать:\n- привязать договор;\n- зарегистрировать сертификат "
    "электронной подписи;\n- подписать документы в разделе «Документы».\n\n"
    "Подробнее — в разделе «Вопросы и ответы».",
)

FAQ = [
    (
        "Как привязать договор к личному кабинету?",
        "Откройте «Договоры» → «Привязать договор» и укажите адрес электронной почты "
        "организации, ИНН и номер договора так, как они указаны в договоре.\n\n"
        "Первый пользователь, привязавший договор, становится его администратором и может "
        "приглашать коллег в разделе «Управление доступом».",
    ),
    (
        "Какая электронная подпись нужна для подписания документов?",
        "Усиленная квалифицированная электронная подпись (**УКЭП**) руководителя или "
        "уполномоченного лица организации. Сертификат регистрируется в разделе "
        "«Сертификаты».",
    ),
]


def _extend_demo(s: Session, world: dict[str, Any]) -> None:
    orgs = {
        c["key"]: s.scalar(select(Organisation).where(Organisation.inn == c["inn"]))
        for c in CUSTOMERS
    }
    for owner, number, signed_on in UNBOUND:
        org = orgs[owner] if isinstance(owner, str) else _organisation(s, owner)
        assert org is not None, "the demo's customers are made before it is extended"
        if s.scalar(select(Contract).where(Contract.number == number)) is None:
            s.add(
                Contract(
                    number=number,
                    signed_on=signed_on,
                    organisation_id=org.id,
                    esign_agreement=True,
                    esign_agreement_ref=f"Соглашение об ЭДО № ЭДО-{number}",
                )
            )
            s.flush()
    today = dt.date.today()
    for c in CUSTOMERS:
        for number, _signed_on in c["contracts"]:
            contract = s.scalar(select(Contract).where(Contract.number == number))
            if contract is None:
                continue
            if s.get(ContractContacts, contract.id) is None:
                s.add(ContractContacts(contract_id=contract.id, **CONTACTS))
            if (
                s.scalar(
                    select(Payment.id)
                    .where(Payment.contract_id == contract.id)
                    .limit(1)
                )
                is None
            ):
                for months_ago, amount in (
                    (1, 18_450_000),
                    (2, 21_230_050),
                    (3, 19_870_075),
                ):
                    paid = today.replace(day=10) - dt.timedelta(days=30 * months_ago)
                    s.add(
                        Payment(
                            contract_id=contract.id,
                            paid_on=paid,
                            amount_kopecks=amount,
                            document_number=str(1500 + months_ago),
                            purpose=f"Оплата электроэнергии по договору № {number}",
                        )
                    )
            if (
                s.scalar(
                    select(RestrictionEntry.id)
                    .where(RestrictionEntry.contract_id == contract.id)
                    .limit(1)
                )
                is None
            ):
                start = today + dt.timedelta(days=14)
                s.add(
                    RestrictionEntry(
                        contract_id=contract.id,
                        date_from=start,
                        date_to=start + dt.timedelta(days=1),
                        time_from="09:00",
                        time_to="17:00",
                        limit_kw=150,
                        reason="Плановый ремонт ТП-1452 сетевой организацией",
                    )
                )
    if s.get(SiteSetting, CONTACTS_KEY) is None:
        s.add(SiteSetting(key=CONTACTS_KEY, value=GENERAL_CONTACTS))
    if s.scalar(select(NewsItem.id).limit(1)) is None:
        s.add(NewsItem(title=NEWS[0], body=NEWS[1], published_on=today))
    if s.scalar(select(FaqEntry.id).limit(1)) is None:
        for position, (question, answer) in enumerate(FAQ, start=1):
            s.add(FaqEntry(question=question, answer=answer, position=position * 10))
    s.flush()
    seed_readings(s, world)
    world["bindable"] = [
        {
            "number": c.number,
            "inn": c.organisation.inn,
            "email": c.organisation.email,
            "organisation": c.organisation.name,
        }
        for c in bindable_contracts(s)
    ]
