"""The demo world's documents: something to sign at once after logging in."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen import canvas
from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.access import Actor
from docflow.accounts.models import User
from docflow.audit import RequestInfo
from docflow.certificates.services import register_certificate
from docflow.context import current_runtime, settings
from docflow.contracts.models import Contract
from docflow.documents.models import Document
from docflow.documents.services import Upload, register_document
from docflow.paper import FONT, FONT_BOLD, register_fonts

DEMO_DOCUMENTS = [
    # (contract, number, title, kind, text lines)
    (
        "77-0001-ЮЛ",
        "ДС-3/2026",
        "Дополнительное соглашение № 3 к договору энергоснабжения",
        "agreement",
        [
            "1. Стороны договорились изменить порядок передачи показаний приборов "
            "учёта: показания передаются через личный кабинет клиента с 15 по 26 число "
            "расчётного месяца.",
            "2. Акты снятия показаний расчётных приборов учёта (ПРОМ10) оформляются в "
            "электронном виде и подписываются усиленными квалифицированными "
            "электронными подписями сторон.",
            "3. Соглашение вступает в силу с даты его подписания обеими сторонами.",
        ],
    ),
    (
        "50-0100-ЮЛ",
        "СЧ-1187",
        "Счёт на оплату электроэнергии за октябрь 2026",
        "invoice",
        [
            "Счёт № СЧ-1187 за потреблённую электрическую энергию",
            "в октябре 2026 года.",
        ],
    ),
]


def _pdf(title: str, number: str, contract: Contract, lines: list[str]) -> bytes:
    register_fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setTitle(title)
    width, height = A4
    c.setFont(FONT_BOLD, 14)
    c.drawCentredString(width / 2, height - 80, title)
    c.setFont(FONT, 11)
    c.drawCentredString(
        width / 2, height - 100, f"№ {number} к договору № {contract.number}"
    )
    c.drawString(60, height - 140, "г. Москва")
    c.drawRightString(width - 60, height - 140, f"{dt.date.today():%d.%m.%Y}")
    paragraphs = [
        f"{settings().supplier.name}, именуемое в дальнейшем «Поставщик», и "
        f"{contract.organisation.name}, именуемое в дальнейшем «Потребитель», "
        "заключили настоящий документ о нижеследующем:",
        *lines,
    ]
    y = height - 180
    for text in paragraphs:
        for line in simpleSplit(text, FONT, 11, width - 120):
            c.drawString(60, y, line)
            y -= 16
        y -= 8
    c.showPage()
    c.save()
    return buf.getvalue()


def _register_supplier_certificate(s: Session, world: dict[str, Any]) -> None:
    clerk_key = next(k for k in world["keys"] if "поставщик" in k["owner"])
    clerk = s.scalar(select(User).where(User.email == clerk_key["email"]))
    if clerk is None:
        return
    register_certificate(
        s,
        actor=Actor.for_user(clerk, RequestInfo(via="cli")),
        data=Path(clerk_key["cert"]).read_bytes(),
        runtime=current_runtime().replace(revocation="off"),
    )


def create_demo_documents(s: Session, world: dict[str, Any]) -> list[dict[str, str]]:
    _register_supplier_certificate(s, world)
    clerk = s.scalar(select(User).where(User.email == "clerk@energosbyt.example"))
    made = []
    for number, doc_number, title, kind, lines in DEMO_DOCUMENTS:
        contract = s.scalar(select(Contract).where(Contract.number == number))
        if contract is None or clerk is None:
            continue
        doc = s.scalar(
            select(Document).where(
                Document.contract_id == contract.id, Document.number == doc_number
            )
        )
        if doc is None:
            doc = register_document(
                s,
                actor=Actor.for_user(clerk, RequestInfo(via="cli")),
                runtime=current_runtime(),
                contract_id=contract.id,
                doc_type=kind,
                number=doc_number,
                doc_date=dt.date.today(),
                title=title,
                main_file=Upload(
                    f"{doc_number.replace('/', '-')}.pdf",
                    io.BytesIO(_pdf(title, doc_number, contract, lines)),
                ),
                source="demo",
            )
        made.append(
            {
                "id": str(doc.id),
                "number": doc.number,
                "title": doc.title,
                "type": kind,
                "contract": number,
                "url": f"{settings().base_url}/documents/{doc.id}",
            }
        )
    return made
