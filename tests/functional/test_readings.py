"""Submitting readings through the web pages: the sheet, saving each value,
sending, the window, validation, start-of-period values, the preliminary
consumption, the supplier's decisions, history, the chart, and access."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from flask.testing import FlaskClient
from sqlalchemy import select

from docflow.access import Actor
from docflow.context import current_runtime
from docflow.db import transaction
from docflow.outbox.models import Notification
from docflow.readings import calc
from docflow.readings import services as svc
from docflow.readings.models import Reading, ReadingKind, ReadingStatus
from tests.functional.test_readings_world import (
    NOW,
    PERIOD,
    PERIOD_KEY,
    Readings,
    keys,
    readings,
    world,
)

__all__ = ["keys", "readings", "world"]


def html(resp: object) -> str:
    return resp.get_data(as_text=True)  # type: ignore[attr-defined,no-any-return]


def text(resp: object) -> str:
    """The page as a person reads it: no tags, spaces collapsed."""
    body = (
        re.sub(r"<[^>]+>", " ", html(resp)).replace("&#34;", '"').replace("&#39;", "'")
    )
    return re.sub(r"\s+", " ", body.replace("\u00a0", " ")).replace(" .", ".")


def test_sheet_shows_meters_with_padded_previous_values_and_blocked_ones(
    readings: Readings, client: FlaskClient
) -> None:
    readings.login(client, readings.w.signer_a)
    page = text(client.get(readings.url()))
    assert (
        "Передача показаний доступна с 15 по 26 число месяца. Приём открыт до 26.11.2026"
        in page
    )
    assert "00123456" in page and "октябрь 2026 г." in page  # 8 digits, padded
    assert "999900" in page
    assert "Не исправен" in page and "Истёк срок МПИ" in page
    assert "Показания не принимаются до поверки. Срок поверки — 01.11.2026." in page
    assert "Поверка до 20.12.2026 (осталось 30 дн.)" in page
    # Inputs only for the meters that can be read.
    inputs = re.findall(
        r'name="v-([0-9a-f-]+)"', client.get(readings.url()).get_data(as_text=True)
    )
    assert {str(readings.meters[n]) for n in ("0001", "0002", "0005")} == set(inputs)
    assert "Цех" in page and "СН-2" in page and "НН" in page


def test_value_is_saved_at_once_and_sent_into_the_calculation(
    readings: Readings, client: FlaskClient
) -> None:
    readings.login(client, readings.w.signer_a)
    resp = readings.save(client, "0001", "124000")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status_title"] == "Готово к передаче"
    assert body["padded"] == "00124000" and body["unsent"] == 1
    reading = readings.reading("0001")
    assert reading is not None and reading.status == ReadingStatus.READY
    assert "Не передано: 1" in text(client.get(readings.url()))

    # Saved again: the same reading, a new value.
    assert readings.save(client, "0001", "124100").status_code == 200
    assert len(readings.readings(meter_id=readings.meters["0001"], period=PERIOD)) == 1

    resp = client.post(readings.url("/send"), data={"period": PERIOD_KEY})
    assert resp.status_code == 302
    reading = readings.reading("0001")
    assert reading is not None and reading.status == ReadingStatus.SENT
    assert reading.value == 124100 and reading.sent_at is not None
    page = text(client.get(readings.url()))
    assert "Показания переданы в расчёт: 1" in page
    assert "Передано" in page
    # A value sent into the calculation is not changed any more.
    resp = readings.save(client, "0001", "124200")
    assert resp.status_code == 422
    assert "уже передано в расчёт" in resp.get_json()["error"]["message"]
    # Nothing left to send.
    client.post(readings.url("/send"), data={"period": PERIOD_KEY})
    assert "Нет показаний, готовых к передаче" in text(client.get(readings.url()))


def test_bad_values_are_refused_with_clear_messages(
    readings: Readings, client: FlaskClient
) -> None:
    readings.login(client, readings.w.signer_a)
    cases = {
        "абв": "Не число.",
        "123456789": "Больше знаков, чем у счётчика: 9 при значности 8.",
        "100000": "Меньше предыдущего показания 00123456; переход счётчика через ноль "
        "маловероятен",
    }
    for value, message in cases.items():
        resp = readings.save(client, "0001", value)
        assert resp.status_code == 422
        assert resp.get_json()["error"]["message"].startswith(message), value
    assert readings.reading("0001") is None
    # 999900 → 000150 on six digits: 250 through zero, plausible (average 450).
    resp = readings.save(client, "0002", "150")
    assert resp.status_code == 200
    assert "принято как переход счётчика через ноль" in resp.get_json()["note"]
    reading = readings.reading("0002")
    assert reading is not None and reading.is_rollover
    # A faulty meter takes nothing.
    resp = readings.save(client, "0003", "5")
    assert resp.status_code == 422
    assert "не исправен" in resp.get_json()["error"]["message"]
    # Clearing a value not yet sent removes it.
    assert readings.save(client, "0002", "").status_code == 200
    assert readings.reading("0002") is None


def test_without_javascript_the_form_posts_every_value(
    readings: Readings, client: FlaskClient
) -> None:
    readings.login(client, readings.w.signer_a)
    m = readings.meters
    resp = client.post(
        readings.url(),
        data={
            "period": PERIOD_KEY,
            f"v-{m['0001']}": "124000",
            f"v-{m['0002']}": "abc",
            f"v-{m['0005']}": "",
            "action": "send",
        },
    )
    assert resp.status_code == 422
    page = text(resp)
    assert "Не все показания сохранены" in page and "Не число." in page
    assert 'value="abc"' in html(resp)  # what was typed stays in the field
    # The good value is saved, nothing was sent.
    reading = readings.reading("0001")
    assert reading is not None and reading.status == ReadingStatus.READY
    resp = client.post(
        readings.url(),
        data={"period": PERIOD_KEY, f"v-{m['0002']}": "999950", "action": "send"},
    )
    assert resp.status_code == 302
    assert {r.status for r in readings.readings(period=PERIOD)} == {ReadingStatus.SENT}


def test_start_of_period_value_for_a_new_meter_and_the_preliminary_consumption(
    readings: Readings, client: FlaskClient
) -> None:
    readings.login(client, readings.w.signer_a)
    m = readings.meters
    page = text(client.get(readings.url(f"?period={PERIOD_KEY}&start=1")))
    assert f'name="s-{m["0005"]}"' in client.get(readings.url("?start=1")).get_data(
        as_text=True
    )
    assert "Скрыть показания на начало периода" in page
    resp = client.post(
        readings.url(),
        data={
            "period": PERIOD_KEY,
            "start": "1",
            f"s-{m['0005']}": "100",
            f"v-{m['0005']}": "150",
            f"v-{m['0001']}": "124000",
            "action": "save",
        },
    )
    assert resp.status_code == 302, text(resp)[:2000]
    start = readings.reading("0005", kind=ReadingKind.START)
    assert start is not None and start.value == 100

    page = text(client.get(readings.url("?calc=1")))
    # 0001: (124000 − 123456) × 40 = 21 760; 0005: (150 − 100) × 120 = 6 000;
    # «Цех»: 21 760 − 1 000 transit = 20 760; total 26 760.
    assert "21 760" in page and "6 000" in page
    assert "транзит − 1 000" in page and "20 760 кВт·ч" in page
    assert "Расход по всем объектам: 26 760 кВт·ч" in page
    assert "Цех, счётчик № 0002: нет текущего показания" in page
    assert "Цех, счётчик № 0003: показания не принимаются" in page


def test_window_closed_says_when_it_opens_and_takes_nothing(
    readings: Readings, client: FlaskClient
) -> None:
    readings.login(client, readings.w.signer_a)
    readings.set_now(dt.datetime(2026, 11, 27, 9, 0, tzinfo=calc.MSK))
    resp = client.get(readings.url())
    assert (
        "Передача показаний доступна с 15 по 26 число месяца. Следующее окно откроется "
        "15.12.2026."
    ) in text(resp)
    assert 'name="v-' not in html(resp)
    resp = readings.save(client, "0001", "124000")
    assert resp.status_code == 422
    assert "Следующее окно откроется 15.12.2026" in resp.get_json()["error"]["message"]
    readings.set_now(dt.datetime(2026, 12, 10, 9, 0, tzinfo=calc.MSK))
    assert "Следующее окно откроется 15.12.2026" in text(client.get(readings.url()))
    # A past period is history: no inputs.
    readings.set_now(NOW)
    resp = client.get(readings.url("?period=2026-10"))
    assert "Это история за октябрь 2026 г." in text(resp) and 'name="v-' not in html(
        resp
    )


def test_supplier_accepts_and_refuses_and_the_customer_sees_it(
    readings: Readings, client: FlaskClient
) -> None:
    readings.login(client, readings.w.signer_a)
    readings.save(client, "0001", "124000")
    readings.save(client, "0002", "999950")
    client.post(readings.url("/send"), data={"period": PERIOD_KEY})
    client.post("/account/logout")

    clerk = readings.w.app.test_client()
    readings.login(clerk, readings.w.clerk)
    page = text(clerk.get("/readings/admin"))
    assert "Договор № 77-0001-ЮЛ" in page and "00124000" in page
    ids = {r.meter_id: str(r.id) for r in readings.readings(period=PERIOD)}
    resp = clerk.post(
        "/readings/admin/decide",
        data={"reading_id": ids[readings.meters["0001"]], "decision": "accept"},
    )
    assert resp.status_code == 302
    resp = clerk.post(
        "/readings/admin/decide",
        data={
            "reading_id": ids[readings.meters["0002"]],
            "decision": "reject",
            "reason": "",
        },
    )
    assert "Укажите причину" in text(clerk.get("/readings/admin"))
    clerk.post(
        "/readings/admin/decide",
        data={
            "reading_id": ids[readings.meters["0002"]],
            "decision": "reject",
            "reason": "Расхождение с контрольным снятием",
        },
    )
    statuses = {r.meter_id: r for r in readings.readings(period=PERIOD)}
    assert statuses[readings.meters["0001"]].status == ReadingStatus.ACCEPTED
    rejected: Reading = statuses[readings.meters["0002"]]
    assert rejected.status == ReadingStatus.REJECTED
    assert rejected.rejection_reason == "Расхождение с контрольным снятием"

    readings.login(client, readings.w.signer_a)
    history = text(client.get(readings.url("/history")))
    assert "Принято в расчёт" in history and "Не принято" in history
    assert "Расхождение с контрольным снятием" in history
    assert "Октябрь 2026 г." in history  # the accepted history is listed too
    # A reading that was not accepted can be entered again in the window.
    sheet = text(client.get(readings.url()))
    assert "Не принято: Расхождение с контрольным снятием" in sheet
    assert readings.save(client, "0002", "999960").status_code == 200
    # The customer cannot decide: the supplier's pages do not exist for them.
    assert client.get("/readings/admin").status_code == 404
    assert (
        client.post(
            "/readings/admin/decide",
            data={"reading_id": ids[readings.meters["0001"]], "decision": "accept"},
        ).status_code
        == 404
    )


def test_consumption_chart_by_voltage_level(
    readings: Readings, client: FlaskClient
) -> None:
    readings.login(client, readings.w.signer_a)
    with readings.app.app_context():
        s = readings.w.session()
        chart = svc.chart_for_contract(
            s,
            actor=Actor.for_user(readings.w.signer_a),
            contract_id=readings.contract_id,
            now=NOW,
        )
        s.close()
    assert chart.periods[-1] == dt.date(2026, 10, 1) and len(chart.periods) == 12
    levels = {series.title: series.values for series in chart.series}
    # October: 0001 (123456 − 122000) × 40 = 58 240 on СН-2 (0002 adds 600);
    # 0004 has a single reading, so НН has no line.
    assert levels["СН-2"][-1] == Decimal(58_240 + 600)
    assert levels["СН-2"][-2] == Decimal(
        300
    )  # September: 0002 only (0001's first reading)
    assert "НН" not in levels
    page = client.get(readings.url("/analysis")).get_data(as_text=True)
    assert "<svg" in page and "Расход электроэнергии по месяцам" in page
    assert ">окт<" in page and ">СН-2<" in page
    assert "58 840" in page.replace("\u00a0", " ")  # the table under the chart
    assert "style=" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]  # CSP-safe
    # The main page's widgets and the contract card show it too.
    main = client.get("/").get_data(as_text=True)
    assert (
        'data-testid="widget-consumption"' in main
        and "widget-consumption-title" in main
    )
    assert 'id="widget-consumption"' in main
    card = client.get(f"/contracts/{readings.contract_id}").get_data(as_text=True)
    assert 'id="contract-chart"' in card and "Цех" in card


def test_window_open_is_announced_once_per_contract_and_period(
    readings: Readings,
) -> None:
    with readings.app.app_context():
        rt = current_runtime()
        s = readings.w.session()
        with transaction(s):
            assert svc.announce_window(s, now=NOW, runtime=rt) == 1
        with transaction(s):
            assert svc.announce_window(s, now=NOW, runtime=rt) == 0
            assert (
                svc.announce_window(
                    s, now=dt.datetime(2026, 11, 27, tzinfo=calc.MSK), runtime=rt
                )
                == 0
            )
        notes = list(
            s.scalars(
                select(Notification).where(Notification.kind == "readings.window_open")
            )
        )
        assert [n.user_id for n in notes] == [readings.w.signer_a.id]
        assert "за ноябрь 2026 г. по договору № 77-0001-ЮЛ" in notes[0].title
        s.close()


READ_ROUTES = [
    "",
    "?period=2026-10",
    "/history",
    "/analysis",
    "/form.xlsx",
    "/act?period=2026-11&format=pdf",
    "/act?period=2026-11&format=docx&filled=0",
]
WRITE_ROUTES = ["", "/value", "/send", "/form", "/act/send"]


def test_every_route_refuses_users_without_the_right_or_of_another_organisation(
    readings: Readings, client: FlaskClient
) -> None:
    upload_id = "00000000-0000-0000-0000-000000000001"
    for user, status in ((readings.w.viewer_a, 403), (readings.w.signer_b, 404)):
        c = readings.app.test_client()
        readings.login(c, user)
        for route in READ_ROUTES + [f"/form/{upload_id}"]:
            assert c.get(readings.url(route)).status_code == status, (user.email, route)
        for route in WRITE_ROUTES:
            resp = (
                c.post(readings.url(route), data={"period": PERIOD_KEY}, json=None)
                if route != "/value"
                else c.post(
                    readings.url(route),
                    json={
                        "meter_id": str(readings.meters["0001"]),
                        "period": PERIOD_KEY,
                        "value": "1",
                    },
                )
            )
            assert resp.status_code == status, (user.email, route)
        assert c.get("/readings/admin").status_code == 404
    # The signatory of Василёк has no contract with the right: the index says so.
    c = readings.app.test_client()
    readings.login(c, readings.w.signer_b)
    assert c.get("/readings/").status_code == 403
    assert readings.readings(period=PERIOD) == []
    # Anonymous: to the login page.
    anon = readings.app.test_client()
    assert anon.get(readings.url()).status_code == 302
    assert "/account/login" in anon.get(readings.url()).headers["Location"]


def test_supplier_decides_from_the_command_line(
    readings: Readings, client: FlaskClient
) -> None:
    readings.login(client, readings.w.signer_a)
    readings.save(client, "0001", "124000")
    readings.save(client, "0002", "999950")
    client.post(readings.url("/send"), data={"period": PERIOD_KEY})
    runner = readings.app.test_cli_runner()
    result = runner.invoke(
        args=[
            "readings",
            "decide",
            "--contract",
            "77-0001-ЮЛ",
            "--period",
            PERIOD_KEY,
            "--meter",
            "0002",
            "--reject",
            "Нет доступа к прибору учёта",
        ]
    )
    assert result.exit_code == 0 and "rejected: 1" in result.output
    result = runner.invoke(
        args=["readings", "decide", "--contract", "77-0001-ЮЛ", "--period", PERIOD_KEY]
    )
    assert result.exit_code == 0 and "accepted: 1" in result.output
    got = {r.meter_id: r.status for r in readings.readings(period=PERIOD)}
    assert got == {
        readings.meters["0001"]: ReadingStatus.ACCEPTED,
        readings.meters["0002"]: ReadingStatus.REJECTED,
    }
