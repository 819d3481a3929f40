"""Test data in one place: one builder per model row.

Each builder takes the session first and keyword arguments after, creates one
row the way the application would — through the public service where there is
one (``register_user``, ``create_api_key``, ``register_certificate``,
``register_document``, ``record_signature``), else the model with sensible
defaults — flushes, and returns it. Unique values (ИНН, contract numbers,
e-mails) come from a counter; any keyword argument overrides a default.

The builders never commit: the caller owns the transaction, as a route does.
The functional tests' worlds (``tests/functional/world.py``,
``contract_world.py``, ``documents_support.py``) are made of these; the unit
tests of ``docflow``'s services (``tests/unit/docflow/``) use them directly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from sqlalchemy.orm import Session

import signing
from docflow.access import Actor
from docflow.accounts.models import Role, User
from docflow.accounts.services import register_user
from docflow.api.services import NewKey, create_api_key
from docflow.certificates.services import Registration, register_certificate
from docflow.contracts.models import Contract, ContractAccess, Organisation
from docflow.documents.models import (
    DocType,
    Document,
    Party,
    Signature,
    StepStatus,
    Verdict,
)
from docflow.documents.services import Upload, record_signature, register_document
from docflow.powers.models import PowerOfAttorney, PowerStatus
from docflow.runtime import Runtime

#: The password of every user the builders make.
PASSWORD = "secret123"

_FONT = "DejaVuSans"
_FONT_FILE = Path(signing.__file__).resolve().parent / "fonts" / "DejaVuSans.ttf"
_counter = itertools.count(1)


def _next() -> int:
    return next(_counter)


# -- parties ---------------------------------------------------------------------


def make_organisation(
    s: Session,
    *,
    name: str | None = None,
    inn: str | None = None,
    is_supplier: bool = False,
    **fields: Any,
) -> Organisation:
    """An organisation (a customer unless ``is_supplier``) with a unique ИНН."""
    n = _next()
    org = Organisation(
        name=name or f"ООО «Тест {n}»",
        inn=inn or f"99{n:08d}",
        is_supplier=is_supplier,
        **fields,
    )
    s.add(org)
    s.flush()
    return org


def make_contract(
    s: Session,
    *,
    organisation: Organisation | None = None,
    number: str | None = None,
    signed_on: dt.date | None = dt.date(2025, 1, 15),
    **fields: Any,
) -> Contract:
    """A supply contract of ``organisation`` (a new customer by default)."""
    # By id, not through the relationship: a world's rows outlive their
    # session, and a detached organisation holding its contracts would carry
    # stale copies of them into every later ``merge``.
    contract = Contract(
        number=number or f"99-{_next():05d}-ЮЛ",
        organisation_id=(organisation or make_organisation(s)).id,
        signed_on=signed_on,
        **fields,
    )
    s.add(contract)
    s.flush()
    return contract


def make_user(
    s: Session,
    *,
    email: str | None = None,
    password: str = PASSWORD,
    last_name: str = "Сидоров",
    first_name: str = "Пётр",
    middle_name: str = "",
    role: Role = Role.CUSTOMER,
    confirmed: bool = True,
) -> User:
    """A user with a confirmed e-mail, registered with ``register_user``."""
    return register_user(
        s,
        email=email or f"user{_next()}@factory.example",
        password=password,
        last_name=last_name,
        first_name=first_name,
        middle_name=middle_name,
        role=role,
        confirmed=confirmed,
    )


def grant(
    s: Session,
    *,
    user: User,
    contract: Contract,
    can_view: bool = True,
    can_submit_readings: bool = False,
    can_sign: bool = False,
    can_manage: bool = False,
) -> ContractAccess:
    """``user``'s rights on ``contract`` (the view right alone by default)."""
    access = ContractAccess(
        user_id=user.id,
        contract_id=contract.id,
        can_view=can_view,
        can_submit_readings=can_submit_readings,
        can_sign=can_sign,
        can_manage=can_manage,
    )
    s.add(access)
    s.flush()
    return access


def make_api_key(
    s: Session,
    *,
    organisation: Organisation | None = None,
    scopes: str | Sequence[str] = "read,write,sign",
    name: str = "тестовая интеграция",
    user: User | None = None,
) -> NewKey:
    """An API key (``.key``, ``.secret``); without an organisation, the supplier's."""
    return create_api_key(
        s,
        user=user,
        organisation=organisation,
        name=name,
        scopes=scopes if isinstance(scopes, str) else list(scopes),
    )


def make_certificate(
    s: Session, *, user: User, der: bytes, runtime: Runtime
) -> Registration:
    """``user`` registers certificate ``der``, checked against ``runtime``'s
    trust store; see ``.accepted`` and ``.problems``."""
    return register_certificate(
        s, actor=Actor.for_user(user), data=der, runtime=runtime
    )


def make_power_of_attorney(
    s: Session,
    *,
    organisation: Organisation,
    number: str | None = None,
    issued_on: dt.date | None = None,
    valid_until: dt.date | None = None,
    codes: Sequence[str] = ("02.001",),
    uploaded_by: User | None = None,
    status: PowerStatus = PowerStatus.ACTIVE,
    **fields: Any,
) -> PowerOfAttorney:
    """An МЧД row as ``upload_power`` stores one, without a signed XML to verify."""
    today = dt.date.today()
    number = number or str(uuid.uuid4())
    xml = f"<Доверенность НомДовер='{number}'/>".encode()
    power = PowerOfAttorney(
        organisation_id=organisation.id,
        number=number,
        format_version="003",
        issued_on=issued_on or today - dt.timedelta(days=30),
        valid_until=valid_until or today + dt.timedelta(days=335),
        principal={"name": organisation.name, "inn": organisation.inn},
        powers=[{"code": c, "text": f"Полномочие {c}"} for c in codes],
        redelegation="1",
        xml=xml,
        signature=b"",
        xml_sha256=hashlib.sha256(xml).hexdigest(),
        signer_name="Иванов Иван Иванович",
        signer_serial=f"{_next():040X}",
        uploaded_by_id=uploaded_by.id if uploaded_by is not None else None,
        status=status,
        **fields,
    )
    s.add(power)
    s.flush()
    return power


# -- documents -------------------------------------------------------------------


def _canvas(buf: io.BytesIO, *, invariant: bool = False) -> canvas.Canvas:
    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(_FONT, str(_FONT_FILE)))
    return canvas.Canvas(buf, pagesize=A4, invariant=invariant)


def make_pdf(pages: int = 1, *, heading: str = "Тестовый документ") -> bytes:
    """An A4 PDF, «<heading>, страница N из M» on each page; same bytes every time."""
    buf = io.BytesIO()
    c = _canvas(buf, invariant=True)
    for n in range(1, pages + 1):
        c.setFont(_FONT, 16)
        c.drawString(72, 760, f"{heading}, страница {n} из {pages}")
        c.setFont(_FONT, 11)
        for i, line in enumerate(
            ("Поставщик: АО «Энергосбыт»", "Потребитель: ООО «Ромашка»")
        ):
            c.drawString(72, 720 - 18 * i, line)
        c.showPage()
    c.save()
    return buf.getvalue()


def act_pdf(text: str = "Акт снятия показаний расчётных приборов учёта") -> bytes:
    """A one-page PDF with ``text`` and a random number: new bytes on every call."""
    buf = io.BytesIO()
    c = _canvas(buf)
    c.setFont(_FONT, 14)
    c.drawString(72, 760, text)
    c.setFont(_FONT, 11)
    c.drawString(72, 730, f"Документ № {uuid.uuid4().hex[:6]}")
    c.showPage()
    c.save()
    return buf.getvalue()


def make_document(
    s: Session,
    *,
    actor: Actor,
    runtime: Runtime,
    contract: Contract,
    number: str | None = None,
    title: str = "Тестовый документ",
    doc_type: DocType | str = DocType.OTHER,
    doc_date: dt.date = dt.date(2026, 10, 31),
    comment: str = "",
    filename: str = "document.pdf",
    data: bytes | None = None,
    attachments: Sequence[tuple[str, bytes]] = (),
    route: Sequence[str | Party] = (Party.CUSTOMER, Party.SUPPLIER),
    **options: Any,
) -> Document:
    """A document registered by ``actor``; ``options`` go to ``register_document``."""
    return register_document(
        s,
        actor=actor,
        runtime=runtime,
        contract_id=contract.id,
        doc_type=doc_type,
        number=number or f"Д-{_next()}",
        doc_date=doc_date,
        title=title,
        comment=comment,
        main_file=Upload.from_bytes(filename, make_pdf() if data is None else data),
        attachments=[Upload.from_bytes(name, body) for name, body in attachments],
        route=route,
        **options,
    )


def make_signature(
    s: Session,
    *,
    doc: Document,
    actor: Actor,
    runtime: Runtime,
    signer_name: str = "Иванов Иван Иванович",
    organisation: str | None = None,
    serial: str | None = None,
    signed_at: dt.datetime | None = None,
    verdict: Verdict = Verdict.VALID,
) -> Signature:
    """The current step's signature, recorded as verified (no cryptography)."""
    step = next(st for st in doc.steps if st.status == StepStatus.CURRENT)
    signed_at = signed_at or dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    signature = Signature(
        document=doc,
        step_id=step.id,
        party=step.party,
        user_id=actor.user_id,
        signer_name=signer_name,
        signer_organisation=organisation,
        certificate_serial=serial or f"{_next():040X}",
        certificate_not_before=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        certificate_not_after=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        signing_time=signed_at,
        verdict=verdict,
        report={"cms": {"verdict": verdict.value, "summary": "recorded by a test"}},
    )
    record_signature(
        s, actor=actor, doc=doc, step=step, signature=signature, runtime=runtime
    )
    return signature
