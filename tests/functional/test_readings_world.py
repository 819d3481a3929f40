"""The readings tests' world (fixtures and helpers; no tests here): the
document-flow test world plus objects and meters on ООО «Ромашка»'s contract,
a reading history, and a fixed «now» inside the November 2026 window."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import select

from docflow.db import transaction
from docflow.readings import calc
from docflow.readings.models import (
    Meter,
    MeterStatus,
    Reading,
    ReadingKind,
    ReadingStatus,
    SupplyObject,
    TransitVolume,
    VoltageLevel,
)
from tests.functional.world import PASSWORD, World, keys, world

__all__ = ["keys", "readings", "world"]

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=calc.MSK)  # inside the 15–26 window
PERIOD = dt.date(2026, 11, 1)
PERIOD_KEY = "2026-11"


@dataclass
class Readings:
    w: World
    contract_id: uuid.UUID
    meters: dict[str, uuid.UUID]  # number → id
    objects: dict[str, uuid.UUID]  # code → id

    @property
    def app(self) -> Flask:
        return self.w.app

    def url(self, suffix: str = "") -> str:
        return f"/readings/{self.contract_id}{suffix}"

    def login(self, client: FlaskClient, user: Any) -> FlaskClient:
        resp = client.post(
            "/account/login", data={"email": user.email, "password": PASSWORD}
        )
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
        return client

    def set_now(self, moment: dt.datetime | None) -> None:
        self.app.config["READINGS_NOW"] = moment

    def readings(self, **where: Any) -> list[Reading]:
        with self.app.app_context():
            s = self.w.session()
            stmt = select(Reading).where(Reading.contract_id == self.contract_id)
            for key, value in where.items():
                stmt = stmt.where(getattr(Reading, key) == value)
            rows = list(s.scalars(stmt))
            s.expunge_all()
            s.close()
        return rows

    def reading(
        self, number: str, period: dt.date = PERIOD, kind: ReadingKind = ReadingKind.END
    ) -> Reading | None:
        found = [
            r
            for r in self.readings(meter_id=self.meters[number], period=period)
            if r.kind == kind
        ]
        return found[0] if found else None

    def save(
        self, client: FlaskClient, number: str, value: str, kind: str = "end"
    ) -> Any:
        return client.post(
            self.url("/value"),
            json={
                "meter_id": str(self.meters[number]),
                "kind": kind,
                "period": PERIOD_KEY,
                "value": value,
            },
            headers={"Accept": "application/json"},
        )


def _add_history(
    s: Any, contract_id: uuid.UUID, meter: Meter, values: list[tuple[dt.date, int]]
) -> None:
    for period, value in values:
        s.add(
            Reading(
                contract_id=contract_id,
                meter_id=meter.id,
                period=period,
                kind=ReadingKind.END,
                value=value,
                status=ReadingStatus.ACCEPTED,
                source="test",
            )
        )


@pytest.fixture()
def readings(world: World) -> Iterator[Readings]:
    """Objects «Цех» (СН-2, transit 1 000 kWh in November) and «Склад» (НН):

    ======  ======  =====  ==========================================
    meter   digits  ratio  state
    ======  ======  =====  ==========================================
    0001    8       40     previous 00123456 (October); calibration due in 30 days
    0002    6       1      previous 999900, average 300/month: rollover possible
    0003    8       40     «Не исправен»
    0004    6       1      next calibration 01.11.2026: «Истёк срок МПИ»
    0005    5       120    new: no readings at all
    ======  ======  =====  ==========================================
    """
    app = world.app
    today = NOW.date()
    with app.app_context():
        s = world.session()
        with transaction(s):
            shop = SupplyObject(
                contract_id=world.contract_a.id,
                code="ОБ-1",
                name="Цех",
                address="г. Москва, ул. Энергетиков, д. 7",
                voltage=VoltageLevel.SN2,
                position=0,
            )
            store = SupplyObject(
                contract_id=world.contract_a.id,
                code="ОБ-2",
                name="Склад",
                address="г. Москва, ул. Энергетиков, д. 7, стр. 4",
                voltage=VoltageLevel.NN,
                position=1,
            )
            s.add_all([shop, store])
            s.flush()

            def meter(
                obj: SupplyObject,
                number: str,
                digits: int,
                ratio: int,
                status: MeterStatus = MeterStatus.WORKING,
                calibration: dt.date | None = dt.date(2031, 1, 1),
            ) -> Meter:
                m = Meter(
                    contract_id=world.contract_a.id,
                    object_id=obj.id,
                    number=number,
                    meter_type="Меркурий 230 ART-03",
                    digits=digits,
                    ratio=ratio,
                    status=status,
                    next_calibration=calibration,
                    position=int(number),
                )
                s.add(m)
                s.flush()
                return m

            m1 = meter(shop, "0001", 8, 40, calibration=today + dt.timedelta(days=30))
            m2 = meter(shop, "0002", 6, 1)
            m3 = meter(shop, "0003", 8, 40, status=MeterStatus.FAULTY)
            m4 = meter(store, "0004", 6, 1, calibration=dt.date(2026, 11, 1))
            m5 = meter(store, "0005", 5, 120)
            _add_history(
                s,
                world.contract_a.id,
                m1,
                [(dt.date(2026, 9, 1), 122_000), (dt.date(2026, 10, 1), 123_456)],
            )
            _add_history(
                s,
                world.contract_a.id,
                m2,
                [
                    (dt.date(2026, 8, 1), 999_000),
                    (dt.date(2026, 9, 1), 999_300),
                    (dt.date(2026, 10, 1), 999_900),
                ],
            )
            _add_history(s, world.contract_a.id, m4, [(dt.date(2026, 10, 1), 5_000)])
            s.add(
                TransitVolume(
                    object_id=shop.id, period=PERIOD, consumer="ИП Сидоров", kwh=1_000
                )
            )
            meters = {m.number: m.id for m in (m1, m2, m3, m4, m5)}
            objects = {"ОБ-1": shop.id, "ОБ-2": store.id}
        s.close()
    app.config["READINGS_NOW"] = NOW
    yield Readings(world, world.contract_a.id, meters, objects)
    app.config.pop("READINGS_NOW", None)


def xlsx_bytes(rows: list[list[Any]], sheet: str = "Показания") -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
