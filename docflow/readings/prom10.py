"""The ПРОМ10 act: its data (:class:`docflow.readings.acts.ActData`, which
:mod:`docflow.readings.acts` renders), the printable forms, and «Передать в
ЮЗДО» — a document in the flow.

Flask-free; functions take the :class:`~docflow.access.Actor` and check its
rights on the contract (see :func:`docflow.readings.meters.get_contract`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from docflow.access import (
    Actor,
    supplier_organisation,
)
from docflow.audit import record
from docflow.contracts.models import Contract, Organisation
from docflow.documents.models import DocStatus, Document
from docflow.documents.services import Upload, register_document
from docflow.errors import (
    ConflictError,
    InvalidTransitionError,
    ValidationError,
)
from docflow.readings import acts, calc
from docflow.readings.acts import ActData, ActObject, ActRow, PartyDetails
from docflow.readings.ledger import SUBMITTED, Ledger
from docflow.readings.meters import (
    effective_status,
    get_contract,
    objects_of,
    transit_volumes,
)
from docflow.readings.models import (
    METER_STATUS_TITLES,
    VOLTAGE_TITLES,
    ReadingAct,
    ReadingKind,
)
from docflow.runtime import Runtime

# -- the ПРОМ10 act ----------------------------------------------------------------------


def act_number(contract: Contract, period: dt.date) -> str:
    """«ПРОМ10-77-0001-ЮЛ-2026-11»"""
    return f"ПРОМ10-{contract.number}-{calc.period_key(period)}"


def act_title(period: dt.date) -> str:
    return f"Акт снятия показаний (ПРОМ10) за {calc.period_title(period)}"


def _supplier_details(session: Session, supplier_name: str) -> PartyDetails:
    org = supplier_organisation(session)
    if org is None:
        return PartyDetails(supplier_name)
    return PartyDetails(
        org.name or supplier_name, org.inn, org.kpp or "", org.address or ""
    )


def act_data(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    period: dt.date,
    filled: bool,
    now: dt.datetime | None = None,
    supplier_name: str = "АО «Энергосбыт»",
) -> ActData:
    """The act of a contract's period: every meter (at zero load too), the
    previous values, and — when ``filled`` — the values sent into the
    calculation («Передано» or «Принято в расчёт»)."""
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    org = session.get(Organisation, contract.organisation_id)
    assert org is not None
    today = calc.moscow_now(now).date()
    objects = objects_of(session, [contract.id])
    ledger = Ledger.load(session, [contract.id], until=period)
    transit = transit_volumes(session, [o.id for o in objects], [period])
    act_objects: list[ActObject] = []
    number = 0
    total = Decimal(0)
    count = 0
    for obj in objects:
        rows: list[ActRow] = []
        inputs: list[calc.MeterInput] = []
        for meter in obj.meters:
            number += 1
            prev, _start = ledger.previous(meter.id, period)
            cur = ledger.get(meter.id, period, ReadingKind.END) if filled else None
            if cur is not None and cur.status not in SUBMITTED:
                cur = None
            count += cur is not None
            inputs.append(
                calc.MeterInput(
                    str(meter.id),
                    meter.number,
                    meter.digits,
                    meter.ratio,
                    prev.value if prev else None,
                    cur.value if cur else None,
                )
            )
            status, blocked, _w = effective_status(meter, today)
            rows.append(
                ActRow(
                    number=number,
                    object_name=obj.name,
                    address=obj.address or "",
                    voltage=VOLTAGE_TITLES[obj.voltage],
                    meter_number=meter.number,
                    meter_type=meter.meter_type,
                    digits=meter.digits,
                    ratio=meter.ratio,
                    previous=calc.pad(prev.value if prev else None, meter.digits),
                    current=calc.pad(cur.value if cur else None, meter.digits),
                    difference="",
                    consumption=None,
                    note=METER_STATUS_TITLES[status] if blocked else "",
                )
            )
        result = calc.calculate(
            [
                calc.ObjectInput(
                    str(obj.id),
                    obj.name,
                    inputs,
                    transit.get((obj.id, period), Decimal(0)),
                )
            ]
        )
        obj_result = result.objects[0]
        if filled:
            rows = [
                _with_result(row, mres)
                for row, mres in zip(rows, obj_result.meters, strict=True)
            ]
        act_objects.append(
            ActObject(
                obj.name,
                obj.address or "",
                VOLTAGE_TITLES[obj.voltage],
                rows,
                obj_result.meters_total if filled else Decimal(0),
                obj_result.transit,
                obj_result.total if filled else Decimal(0),
            )
        )
        total += obj_result.total if filled else Decimal(0)
    note = ""
    if filled and contract.esign_agreement:
        ref = (
            contract.esign_agreement_ref or "соглашение об электронном документообороте"
        )
        note = (
            f"Документ подписывается электронными подписями сторон в соответствии с "
            f"{_instrumental(ref)} и равнозначен документу на бумажном носителе, "
            "подписанному собственноручными подписями."
        )
    return ActData(
        supplier=_supplier_details(session, supplier_name),
        customer=PartyDetails(org.name, org.inn, org.kpp or "", org.address or ""),
        contract_number=contract.number,
        contract_date=contract.signed_on,
        period=period,
        act_number=act_number(contract, period),
        act_date=min(today, calc.last_day(period)),
        filled=filled,
        objects=act_objects,
        total=total,
        esign_note=note,
        readings_count=count,
    )


def _instrumental(ref: str) -> str:
    """«Соглашение об ЭДО № 1» → «Соглашением об ЭДО № 1» (в соответствии с чем)."""
    for nominative, instrumental in (
        ("Соглашение ", "Соглашением "),
        ("соглашение ", "соглашением "),
    ):
        if ref.startswith(nominative):
            return instrumental + ref[len(nominative) :]
    return ref


def _with_result(row: ActRow, result: calc.MeterResult) -> ActRow:
    return replace(
        row,
        difference="" if result.difference is None else str(result.difference),
        consumption=result.consumption,
    )


@dataclass(frozen=True)
class RenderedAct:
    filename: str
    content_type: str
    data: bytes


ACT_FORMATS = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def render_act(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    period: dt.date,
    fmt: str = "pdf",
    filled: bool = True,
    now: dt.datetime | None = None,
    supplier_name: str = "АО «Энергосбыт»",
) -> RenderedAct:
    """«Печатать ведомость»: the act as PDF, Word or Excel, blank or filled.

    :raises ValidationError: an unknown format.
    """
    if fmt not in ACT_FORMATS:
        raise ValidationError(
            "Выберите формат: PDF, Word или Excel.", details={"field": "format"}
        )
    data = act_data(
        session,
        actor=actor,
        contract_id=contract_id,
        period=period,
        filled=filled,
        now=now,
        supplier_name=supplier_name,
    )
    body = {"pdf": acts.render_pdf, "docx": acts.render_docx, "xlsx": acts.render_xlsx}[
        fmt
    ](data)
    suffix = "" if filled else "-бланк"
    return RenderedAct(f"{data.act_number}{suffix}.{fmt}", ACT_FORMATS[fmt], body)


def latest_act(
    session: Session, *, contract_id: uuid.UUID, period: dt.date
) -> ReadingAct | None:
    return session.scalar(
        select(ReadingAct)
        .where(ReadingAct.contract_id == contract_id, ReadingAct.period == period)
        .order_by(ReadingAct.version.desc())
        .limit(1)
    )


def send_act_to_docflow(
    session: Session,
    *,
    actor: Actor,
    runtime: Runtime,
    contract_id: uuid.UUID,
    period: dt.date,
    now: dt.datetime | None = None,
    supplier_name: str = "АО «Энергосбыт»",
) -> Any:
    """«Передать в ЮЗДО»: the filled PDF act becomes a ПРОМ10 document to be
    signed by the customer, then the supplier (the signatories are notified).

    Sending a period again registers a new version that replaces the previous
    one while nobody has signed it.

    :raises ValidationError: no readings of the period were sent into the
        calculation.
    :raises InvalidTransitionError: the previous act is signed already.
    """
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    data = act_data(
        session,
        actor=actor,
        contract_id=contract.id,
        period=period,
        filled=True,
        now=now,
        supplier_name=supplier_name,
    )
    if data.readings_count == 0:
        raise ValidationError(
            f"За {data.period_title} нет показаний, переданных в расчёт: сначала введите их "
            "и нажмите «Передать показания в расчёт».",
            code="nothing_to_send",
        )
    # Two clicks on «Передать в ЮЗДО» at once: the second waits for the first
    # (a row lock on the contract) and then sees its act as the previous version.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(Contract.id).where(Contract.id == contract.id).with_for_update()
        )
    previous = latest_act(session, contract_id=contract.id, period=period)
    replaces: Document | None = None
    if previous is not None:
        prev_doc = session.get(Document, previous.document_id)
        if prev_doc is not None and prev_doc.signatures:
            raise InvalidTransitionError(
                f"Акт ПРОМ10 за {data.period_title} (№ {prev_doc.number}) уже подписан: "
                "передать его повторно нельзя. Исправления оформляются по соглашению "
                "сторон через аннулирование подписанного акта.",
                code="act_signed",
            )
        if prev_doc is not None and prev_doc.status not in (
            DocStatus.DELETED,
            DocStatus.REFUSED,
            DocStatus.REVOKED,
        ):
            replaces = prev_doc
    pdf = acts.render_pdf(data, numbered=False)  # the printable form numbers pages
    doc = register_document(
        session,
        actor=actor,
        runtime=runtime,
        contract_id=contract.id,
        doc_type="prom10",
        number=data.act_number,
        doc_date=data.act_date,
        title=act_title(period),
        main_file=Upload.from_bytes(f"{data.act_number}.pdf", pdf, "application/pdf"),
        route=("customer", "supplier"),
        source="readings",
        replaces=replaces,
        comment=(
            f"Показаний в акте: {data.readings_count}; расход за период "
            f"{calc.format_kwh(data.total)} кВт·ч."
        ),
    )
    version = (previous.version + 1) if previous is not None else 1
    session.add(
        ReadingAct(
            contract_id=contract.id,
            period=period,
            version=version,
            document_id=doc.id,
            created_by_id=actor.user_id,
        )
    )
    try:
        session.flush()
    except IntegrityError:
        raise ConflictError(
            "Акт за этот период уже передаётся в ЮЗДО: обновите страницу и "
            "проверьте список документов.",
            code="act_in_progress",
        ) from None
    record(
        session,
        user=actor.user,
        action="readings.act_sent",
        object_type="contract",
        object_id=contract.id,
        details={
            "period": calc.period_key(period),
            "document_id": str(doc.id),
            "version": version,
            "replaces": str(replaces.id) if replaces is not None else None,
        },
        request_info=actor.request_info,
        actor_label=actor.label,
    )
    return doc


def acts_of_contract(
    session: Session, *, actor: Actor, contract_id: uuid.UUID
) -> list[tuple[ReadingAct, Any]]:
    """The acts sent to the document flow, newest first, with their documents."""
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    rows = session.execute(
        select(ReadingAct, Document)
        .join(Document, Document.id == ReadingAct.document_id)
        .where(ReadingAct.contract_id == contract.id)
        .order_by(ReadingAct.period.desc(), ReadingAct.version.desc())
    ).tuples()
    return list(rows)
