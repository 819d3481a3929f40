"""The supplier's page of a contract's metering points: each point's values
and period, unmapped ones flagged, mapping to an object and a meter of the
contract (audited), refusals of another contract's objects and meters, the
customer's read-only view and the access matrix (another organisation: 404,
the customer editing: 403)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from docflow.audit.models import AuditRecord
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.readings import hourly_services as hs
from docflow.readings.hourly_models import HourlyPoint
from docflow.readings.models import Meter, SupplyObject, VoltageLevel
from tests.functional.test_hourly import (
    CODE,
    DAY,
    add_point,
    page_text,
    real_80020,
    take,
)
from tests.functional.test_readings_world import Readings, keys, readings, world
from tests.functional.world import World

__all__ = ["keys", "readings", "world"]

NEW = "770000000000000999"


def point_of(r: Readings, code: str) -> HourlyPoint:
    with r.app.app_context():
        s = r.w.session()
        point = s.scalar(select(HourlyPoint).where(HourlyPoint.code == code))
        assert point is not None
        s.expunge(point)
        s.close()
    return point


def points_url(r: Readings, contract_id: uuid.UUID | None = None) -> str:
    return f"/readings/hourly/{contract_id or r.contract_id}/points"


def save(client: Any, r: Readings, point_id: uuid.UUID, **form: str) -> Any:
    resp = client.get(points_url(r))
    token = re.search(r'name="csrf_token" value="([^"]+)"', resp.get_data(as_text=True))
    data = {"csrf_token": token.group(1) if token else "", "page": "1", **form}
    return client.post(f"{points_url(r)}/{point_id}", data=data)


def crawl_hourly(w: World) -> dict[str, Any]:
    """For the crawl: a kept upload of A's contract whose new code made an
    unmapped point."""

    with w.app.app_context():
        s = w.session()
        with transaction(s):
            upload = hs.take_file(
                s,
                s.get(Contract, w.contract_a.id),
                "80020.xml",
                real_80020(code=NEW),
                storage=w.storage,
            )
            point = s.scalar(select(HourlyPoint).where(HourlyPoint.code == NEW))
            assert upload.is_accepted and point is not None
            ids = {"hourly_upload_id": upload.id, "hourly_point_id": point.id}
        s.close()
    return ids


@pytest.fixture()
def loaded(readings: Readings) -> Readings:
    """CODE mapped to meter 0001 with a day; NEW unmapped with two days."""
    add_point(readings)
    assert take(readings, "a.xml", real_80020()).is_accepted
    for day in (DAY, DAY + dt.timedelta(days=1)):
        assert take(readings, "n.xml", real_80020(day=day, code=NEW)).is_accepted
    return readings


def test_staff_see_each_points_values_and_the_unmapped_flagged(
    loaded: Readings, client: Any
) -> None:
    loaded.login(client, loaded.w.clerk)
    resp = client.get(points_url(loaded))
    assert resp.status_code == 200
    text = page_text(resp)
    assert f"{CODE} " in text and f"{NEW} " in text
    rows = re.findall(
        r'<tr id="point-[^"]+" data-testid="hourly-point-row">(.*?)</tr>',
        resp.get_data(as_text=True),
        re.S,
    )
    assert len(rows) == 2
    mapped, unmapped = (re.sub(r"<[^>]+>", " ", row) for row in rows)
    assert "значений: 48 " in mapped and "03.11.2026 – 03.11.2026" in mapped
    assert "сопоставлена" in mapped and "не сопоставлена" not in mapped
    assert "значений: 96 " in unmapped and "03.11.2026 – 04.11.2026" in unmapped
    assert "не сопоставлена" in unmapped
    assert 'data-testid="hourly-points-unmapped">не сопоставлено: 1' in resp.get_data(
        as_text=True
    )
    only = page_text(client.get(points_url(loaded) + "?unmapped=1"))
    assert NEW in only and CODE not in only


def test_staff_map_a_point_and_the_change_is_audited(
    loaded: Readings, client: Any
) -> None:
    point = point_of(loaded, NEW)
    loaded.login(client, loaded.w.clerk)
    resp = save(
        client,
        loaded,
        point.id,
        object=str(loaded.objects["ОБ-2"]),
        meter=str(loaded.meters["0004"]),
        name="  Склад,\tввод 2 ",
    )
    assert resp.status_code == 302 and f"#point-{point.id}" in resp.headers["Location"]
    after = point_of(loaded, NEW)
    assert after.meter_id == loaded.meters["0004"]
    assert after.object_id == loaded.objects["ОБ-2"]
    assert after.name == "Склад, ввод 2"
    # A meter alone brings its object; nothing chosen unmaps it.
    save(
        client, loaded, point.id, object="", meter=str(loaded.meters["0002"]), name="x"
    )
    assert point_of(loaded, NEW).object_id == loaded.objects["ОБ-1"]
    save(client, loaded, point.id, object="", meter="", name="x")
    cleared = point_of(loaded, NEW)
    assert cleared.meter_id is None and cleared.object_id is None
    with loaded.app.app_context():
        s = loaded.w.session()
        entries = list(
            s.scalars(
                select(AuditRecord)
                .where(AuditRecord.action == "hourly.point_mapped")
                .order_by(AuditRecord.at)
            )
        )
        s.close()
    assert len(entries) == 3
    first = entries[0].details
    assert first["code"] == NEW and first["before"]["meter"] is None
    assert first["after"]["meter"] == str(loaded.meters["0004"])
    assert entries[0].object_id == str(loaded.contract_id)
    assert loaded.w.clerk.email in entries[0].actor_label
    # Mapped now, the hourly page no longer flags it.
    save(client, loaded, point.id, meter=str(loaded.meters["0004"]), name="Склад")
    page = client.get(f"/readings/hourly/?contract={loaded.contract_id}")
    assert 'data-testid="hourly-unmapped"' not in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"object": "ОБ-1", "meter": "0004"}, "установлен не на объекте «Цех»"),
        ({"meter": "random"}, "Счётчик не из этого договора"),
        ({"object": "random"}, "Объект не из этого договора"),
        ({"meter": "garbage"}, "Выберите значение из списка"),
        ({"name": "Я" * 301}, "не длиннее 300 знаков"),
    ],
)
def test_mapping_refuses_what_is_not_the_contracts(
    loaded: Readings, client: Any, form: dict[str, str], message: str
) -> None:
    point = point_of(loaded, NEW)
    values = {
        "object": str(loaded.objects.get(form.get("object", ""), "")),
        "meter": str(loaded.meters.get(form.get("meter", ""), "")),
        "name": form.get("name", "Точка"),
    }
    for key in ("object", "meter"):
        if form.get(key) == "random":
            values[key] = str(uuid.uuid4())
        elif form.get(key) == "garbage":
            values[key] = "не-uuid\x00"
    loaded.login(client, loaded.w.clerk)
    resp = save(client, loaded, point.id, **values)
    assert resp.status_code == 302
    shown = page_text(client.get(resp.headers["Location"]))
    assert message in shown
    unchanged = point_of(loaded, NEW)
    assert unchanged.meter_id is None and unchanged.object_id is None


def test_a_meter_of_another_contract_is_refused(loaded: Readings, client: Any) -> None:
    w = loaded.w
    with loaded.app.app_context():
        s = w.session()
        with transaction(s):
            obj = SupplyObject(
                contract_id=w.contract_b.id,
                code="Б-1",
                name="Насосная",
                voltage=VoltageLevel.VN,
            )
            s.add(obj)
            s.flush()
            meter = Meter(
                contract_id=w.contract_b.id,
                object_id=obj.id,
                number="8001",
                meter_type="Альфа",
                digits=7,
                ratio=1,
            )
            s.add(meter)
            s.flush()
            b_meter, b_object = meter.id, obj.id
        s.close()
    point = point_of(loaded, NEW)
    loaded.login(client, w.clerk)
    for form in ({"meter": str(b_meter)}, {"object": str(b_object)}):
        resp = save(client, loaded, point.id, name="x", **form)
        assert "не из этого договора" in page_text(client.get(resp.headers["Location"]))
    assert point_of(loaded, NEW).meter_id is None


@pytest.mark.parametrize(
    ("who", "status"),
    [("signer_a", 403), ("viewer_a", 403), ("signer_b", 404), ("clerk", 200)],
)
def test_the_page_and_saving_by_role(
    loaded: Readings, client: Any, who: str, status: int
) -> None:
    point = point_of(loaded, NEW)
    loaded.login(client, getattr(loaded.w, who))
    assert client.get(points_url(loaded)).status_code == status
    resp = client.post(
        f"{points_url(loaded)}/{point.id}",
        data={"meter": str(loaded.meters["0001"]), "name": "Взлом"},
    )
    assert resp.status_code == (status if status != 200 else 302)
    saved = point_of(loaded, NEW).meter_id == loaded.meters["0001"]
    assert saved is (who == "clerk")


def test_a_point_of_another_contract_is_not_found(
    loaded: Readings, client: Any
) -> None:
    b_upload = take(
        loaded, "b.xml", real_80020(code="B-POINT"), contract_id=loaded.w.contract_b.id
    )
    assert b_upload.is_accepted
    b_point = point_of(loaded, "B-POINT")
    loaded.login(client, loaded.w.clerk)
    # The supplier sees B's contract; but B's point is not A's.
    assert client.get(points_url(loaded, loaded.w.contract_b.id)).status_code == 200
    resp = save(client, loaded, b_point.id, meter="", object="", name="Чужая")
    assert resp.status_code == 404
    assert point_of(loaded, "B-POINT").name != "Чужая"
    assert client.get(points_url(loaded, uuid.uuid4())).status_code == 404


def test_the_customer_sees_the_mapping_read_only(loaded: Readings, client: Any) -> None:
    loaded.login(client, loaded.w.signer_a)
    resp = client.get(f"/readings/hourly/?contract={loaded.contract_id}")
    body = resp.get_data(as_text=True)
    section = body[body.index('data-testid="hourly-mapping"') :]
    section = section[: section.index("</section>")]
    assert NEW in section and "не сопоставлена" in section and "№ 0001" in section
    assert 'data-testid="hourly-unmapped">не сопоставлено: 1' in section
    assert "<form" not in section and "/points" not in section
    clerk = loaded.login(loaded.app.test_client(), loaded.w.clerk)
    staff = clerk.get(f"/readings/hourly/?contract={loaded.contract_id}")
    assert 'data-testid="hourly-map-link"' in staff.get_data(as_text=True)
