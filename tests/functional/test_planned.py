"""ППП — заявка на плановое почасовое потребление: the deadline at 12:00 MSK
on D−2 (to the second, across a month end, no daylight saving), drafts,
submissions and versions, hostile values, the Excel template round-trip, the
access matrix of the pages and the API, the supplier's list and acceptance,
the deadline-morning reminder and the demo seed."""

from __future__ import annotations

import datetime as dt
import io
import threading
from typing import Any

import pytest
import schemathesis
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from docflow.api.openapi import openapi_spec
from docflow.config import ConfigError, Settings
from docflow.context import current_runtime, db_session
from docflow.db import transaction
from docflow.demo import create_demo_world
from docflow.outbox.models import Notification
from docflow.readings import planned_excel as px
from docflow.readings import planned_services as ps
from docflow.readings.planned_demo import seed_demo
from docflow.readings.planned_models import PlannedRequest, PlannedVersion
from tests.functional.api_support import api_for, error_code
from tests.functional.world import PASSWORD, World, keys, world

__all__ = ["keys", "world"]

MSK = dt.timezone(dt.timedelta(hours=3))
DAY = dt.date(2026, 12, 9)  # its deadline: 07.12.2026 12:00 MSK = 09:00 UTC
BEFORE = dt.datetime(2026, 12, 7, 11, 59, 59, tzinfo=MSK)
AT = dt.datetime(2026, 12, 7, 12, 0, 0, tzinfo=MSK)
HOURS = [str(100 + h) for h in range(24)]


def login(client: FlaskClient, email: str) -> FlaskClient:
    resp = client.post("/account/login", data={"email": email, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def user_client(w: World, user: Any) -> FlaskClient:
    return login(w.app.test_client(), user.email)


def form(
    w: World,
    values: list[str],
    action: str = "submit",
    day: dt.date = DAY,
    contract: Any = None,
) -> dict[str, str]:
    data = {
        "contract": str((contract or w.contract_a).id),
        "day": day.isoformat(),
        "action": action,
    }
    data.update({f"h{i}": v for i, v in enumerate(values, start=1)})
    return data


def requests_of(w: World) -> list[PlannedRequest]:
    with w.app.app_context():
        s = w.session()
        rows = list(s.scalars(select(PlannedRequest).order_by(PlannedRequest.day)))
        for r in rows:
            _ = list(r.versions)
        s.close()
    return rows


def count(w: World, model: Any) -> int:
    with w.app.app_context():
        s = w.session()
        n = s.scalar(select(func.count()).select_from(model))
        s.close()
    return int(n or 0)


@pytest.fixture()
def clock(world: World, monkeypatch: pytest.MonkeyPatch) -> Any:
    class Clock:
        def set(self, moment: dt.datetime) -> None:
            monkeypatch.setitem(world.app.config, "PLANNED_NOW", moment)

    c = Clock()
    c.set(BEFORE)
    return c


# -- the deadline ----------------------------------------------------------------------


def test_the_deadline_is_noon_moscow_two_days_before_without_dst() -> None:
    d = ps.Deadline()
    assert d.of(DAY).astimezone(dt.UTC) == dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
    assert d.is_open(DAY, BEFORE) and not d.is_open(DAY, AT)
    # Across a month end and a year end.
    assert d.of(dt.date(2027, 1, 1)).date() == dt.date(2026, 12, 30)
    assert d.of(dt.date(2026, 3, 1)).date() == dt.date(2026, 2, 27)
    assert d.of(dt.date(2028, 3, 1)).date() == dt.date(2028, 2, 28)  # a leap year
    # Summer is UTC+3 too: Moscow has no daylight saving.
    summer = d.of(dt.date(2026, 7, 15)).astimezone(dt.UTC)
    assert summer == dt.datetime(2026, 7, 13, 9, 0, tzinfo=dt.UTC)
    # Configurable.
    assert ps.Deadline(10, 1).of(DAY) == dt.datetime(2026, 12, 8, 10, 0, tzinfo=MSK)
    assert d.first_open_day(BEFORE) == DAY and d.first_open_day(
        AT
    ) == DAY + dt.timedelta(1)


def test_the_deadline_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    settings = Settings.from_env(var_dir=tmp_path, secret_key="x" * 32)
    assert (settings.readings.ppp_deadline_hour, settings.readings.ppp_days_ahead) == (
        12,
        2,
    )
    monkeypatch.setenv("PPP_DEADLINE_HOUR", "10")
    monkeypatch.setenv("PPP_DAYS_AHEAD", "1")
    settings = Settings.from_env(var_dir=tmp_path, secret_key="x" * 32)
    assert (settings.readings.ppp_deadline_hour, settings.readings.ppp_days_ahead) == (
        10,
        1,
    )
    for name, value in (
        ("PPP_DEADLINE_HOUR", "24"),
        ("PPP_DAYS_AHEAD", "-1"),
        ("PPP_DEADLINE_HOUR", "полдень"),
    ):
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError, match=name):
            Settings.from_env(var_dir=tmp_path, secret_key="x" * 32)
        monkeypatch.setenv(name, "1")


def test_a_submission_at_11_59_59_is_taken_and_at_12_00_00_refused(
    world: World, clock: Any
) -> None:
    c = user_client(world, world.signer_a)
    ok = c.post("/readings/planned/", data=form(world, HOURS))
    assert ok.status_code == 302
    clock.set(AT)
    late = c.post(
        "/readings/planned/", data=form(world, [str(200 + h) for h in range(24)])
    )
    assert late.status_code == 422
    page = late.get_data(as_text=True)
    assert "Срок подачи заявки на 09.12.2026 истёк 07.12.2026 12:00" in page
    [req] = requests_of(world)
    assert req.hours[0] == "100.000" and req.version == 1


def test_across_a_month_end_through_the_api(world: World, clock: Any) -> None:
    api = api_for(world, world.org_a, "read,readings")
    clock.set(dt.datetime(2026, 12, 30, 11, 59, 59, tzinfo=MSK))
    ok = api.client.put(
        "/api/v1/contracts/77-0001-ЮЛ/planned/2027-01-01",
        json={"hours": [1.5] * 24},
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert ok.status_code == 201, ok.get_json()
    body = ok.get_json()
    assert body["status"] == "submitted" and body["version"] == 1
    assert body["total"] == "36.000" and body["deadline"] == "30.12.2026 12:00"
    clock.set(dt.datetime(2026, 12, 30, 9, 0, 0, tzinfo=dt.UTC))  # 12:00 MSK
    late = api.client.put(
        "/api/v1/contracts/77-0001-ЮЛ/planned/2027-01-01",
        json={"hours": [2] * 24},
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert late.status_code == 422 and error_code(late) == "planned_deadline_passed"
    listed = api.get(
        "/contracts/77-0001-ЮЛ/planned?from=2026-12-31&to=2027-01-31"
    ).get_json()
    assert [i["day"] for i in listed["items"]] == ["2027-01-01"]
    assert listed["items"][0]["hours"][0] == "1.500"


# -- drafts, submissions, versions ---------------------------------------------------------


def test_draft_then_submit_then_resubmit_keeps_versions(
    world: World, clock: Any
) -> None:
    c = user_client(world, world.signer_a)
    blanks = HOURS[:12] + [""] * 12
    assert (
        c.post("/readings/planned/", data=form(world, blanks, "draft")).status_code
        == 302
    )
    [req] = requests_of(world)
    assert req.status == "draft" and req.version == 0 and req.hours[12] is None
    page = c.get(f"/readings/planned/?contract={world.contract_a.id}&day={DAY}")
    assert "Черновик" in page.get_data(as_text=True)
    # A submission needs every hour.
    resp = c.post("/readings/planned/", data=form(world, blanks))
    assert resp.status_code == 422
    assert "не указано значение" in resp.get_data(as_text=True)
    assert c.post("/readings/planned/", data=form(world, HOURS)).status_code == 302
    # The same values again: no new version.
    assert c.post("/readings/planned/", data=form(world, HOURS)).status_code == 302
    changed = ["50,25"] + HOURS[1:]
    assert c.post("/readings/planned/", data=form(world, changed)).status_code == 302
    [req] = requests_of(world)
    assert req.status == "submitted" and req.version == 2
    assert req.hours[0] == "50.250"
    assert [v.version for v in req.versions] == [2, 1]
    assert req.versions[1].hours[0] == "100.000"
    # A draft over a submitted request is refused (it would hide the submission).
    resp = c.post("/readings/planned/", data=form(world, HOURS, "draft"))
    assert resp.status_code == 422 and "Заявка уже подана" in resp.get_data(
        as_text=True
    )
    page = c.get(
        f"/readings/planned/?contract={world.contract_a.id}&day={DAY}"
    ).get_data(as_text=True)
    assert "Подана" in page and "История версий: 2" in page


def test_a_never_submitted_request_is_overdue_after_the_deadline(
    world: World, clock: Any
) -> None:
    c = user_client(world, world.signer_a)
    c.post("/readings/planned/", data=form(world, HOURS[:3] + [""] * 21, "draft"))
    clock.set(AT)
    page = c.get(f"/readings/planned/?contract={world.contract_a.id}&day={DAY}")
    text = page.get_data(as_text=True)
    assert "Просрочена" in text and 'data-testid="planned-submit"' not in text
    listed = c.get(f"/readings/planned/?contract={world.contract_a.id}&status=overdue")
    assert "09.12.2026" in listed.get_data(as_text=True)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("-1", "отрицательным"),
        ("abc", "ожидается число"),
        ("1e5", "ожидается число"),
        ("1000000,001", "больше 1 000 000"),
        ("1,0001", "трёх знаков"),
        ("1\x00", "недопустимые символы"),
        ("\u202e12", "ожидается число"),
        ("9" * 100_000, "слишком длинное"),
    ],
)
def test_hostile_values_are_refused_and_nothing_is_saved(
    world: World, clock: Any, value: str, reason: str
) -> None:
    c = user_client(world, world.signer_a)
    resp = c.post("/readings/planned/", data=form(world, [value] + HOURS[1:]))
    assert resp.status_code == 422
    assert reason in resp.get_data(as_text=True)
    assert count(world, PlannedRequest) == 0 and count(world, PlannedVersion) == 0


def test_parse_hours_rejects_wrong_shapes() -> None:
    for bad in (None, "x" * 24, [1] * 23, [1] * 25, {"a": 1}):
        with pytest.raises(ps.ValidationError):
            ps.parse_hours(bad, complete=True)
    for bad_item in (True, float("nan"), float("inf"), [1], {"v": 1}):
        with pytest.raises(ps.ValidationError):
            ps.parse_hours([bad_item] + [1] * 23, complete=True)
    assert ps.parse_hours(["1 000,5"] + [0] * 23, complete=True)[0] == "1000.500"


def test_two_identical_submissions_at_once_make_one_version(world: World) -> None:
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            with world.app.app_context():
                s = world.session()
                try:
                    with transaction(s):
                        contract = s.get(type(world.contract_a), world.contract_a.id)
                        barrier.wait(timeout=5)
                        _, made = ps.submit(
                            s,
                            contract,
                            DAY,
                            HOURS,
                            user=None,
                            deadline=ps.Deadline(),
                            now=BEFORE,
                        )
                    results.append(made)
                finally:
                    s.close()
        except Exception as exc:  # noqa: BLE001 - reported below
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One made the version; the other found it (or, on SQLite, met the lock
    # or the winner's version: a clear conflict, not a 500).
    assert all(
        r in (True, False) or "locked" in str(r) or "другого окна" in str(r)
        for r in results
    ), results
    assert results.count(True) == 1, results
    assert count(world, PlannedRequest) == 1 and count(world, PlannedVersion) == 1


# -- Excel -------------------------------------------------------------------------------


def test_template_round_trip_and_upload(world: World, clock: Any) -> None:
    c = user_client(world, world.signer_a)
    c.post("/readings/planned/", data=form(world, ["12,5"] + HOURS[1:]))
    got = c.get(f"/readings/planned/template?contract={world.contract_a.id}&day={DAY}")
    assert got.status_code == 200 and got.mimetype == px.XLSX_TYPE
    raw = px.parse_template("t.xlsx", got.data, contract_number="77-0001-ЮЛ", day=DAY)
    assert ps.parse_hours(raw, complete=True) == ["12.500"] + [
        f"{h}.000" for h in HOURS[1:]
    ]
    # A filled template fills the page; nothing is saved until a button is pressed.
    filled = px.build_template(
        contract_number="77-0001-ЮЛ", day=DAY + dt.timedelta(1), hours=["7.125"] * 24
    )
    data = {
        "contract": str(world.contract_a.id),
        "day": (DAY + dt.timedelta(1)).isoformat(),
        "file": (io.BytesIO(filled), "ППП.xlsx"),
    }
    up = c.post(
        "/readings/planned/upload", data=data, content_type="multipart/form-data"
    )
    page = up.get_data(as_text=True)
    assert up.status_code == 200 and 'value="7,125"' in page
    assert "Значения из файла подставлены" in page
    assert len(requests_of(world)) == 1
    # Another date, a garbage file, an oversize file: refused with a reason.
    for payload, name, reason in (
        (filled, "x.xlsx", "а выбрана дата 09.12.2026"),
        (b"PK\x03\x04garbage", "x.xlsx", "повреждён"),
        (b"%PDF-1.4", "x.pdf", "не является книгой Excel"),
        (b"PK" + b"0" * (px.MAX_FILE_BYTES + 10), "x.xlsx", "больше 2 МБ"),
    ):
        data = {
            "contract": str(world.contract_a.id),
            "day": DAY.isoformat(),
            "file": (io.BytesIO(payload), name),
        }
        bad = c.post(
            "/readings/planned/upload", data=data, content_type="multipart/form-data"
        )
        assert bad.status_code == 422, name
        assert reason in bad.get_data(as_text=True), (name, reason)


def test_a_template_with_bad_values_is_refused_per_hour(
    world: World, clock: Any
) -> None:
    c = user_client(world, world.signer_a)
    wb = load_workbook(
        io.BytesIO(px.build_template(contract_number="77-0001-ЮЛ", day=DAY))
    )
    ws = wb[px.SHEET]
    for h in range(24):
        ws.cell(row=px.HEADER_ROW + 1 + h, column=3, value=1)
    ws.cell(row=px.HEADER_ROW + 3, column=3, value=-5)
    out = io.BytesIO()
    wb.save(out)
    data = {
        "contract": str(world.contract_a.id),
        "day": DAY.isoformat(),
        "file": (io.BytesIO(out.getvalue()), "x.xlsx"),
    }
    bad = c.post(
        "/readings/planned/upload", data=data, content_type="multipart/form-data"
    )
    assert bad.status_code == 422
    assert "Час 02:00–03:00: значение не может быть отрицательным" in bad.get_data(
        as_text=True
    )


# -- access ------------------------------------------------------------------------------


def test_access_matrix_of_the_pages(world: World, clock: Any) -> None:
    anon = world.app.test_client()
    assert anon.get("/readings/planned/").status_code == 302
    signer = user_client(world, world.signer_a)
    assert signer.post("/readings/planned/", data=form(world, HOURS)).status_code == 302
    viewer = user_client(world, world.viewer_a)
    seen = viewer.get(f"/readings/planned/?contract={world.contract_a.id}&day={DAY}")
    assert seen.status_code == 200 and "Подана" in seen.get_data(as_text=True)
    assert 'data-testid="planned-submit"' not in seen.get_data(as_text=True)
    assert viewer.post("/readings/planned/", data=form(world, HOURS)).status_code == 403
    other = user_client(world, world.signer_b)
    assert (
        other.get(f"/readings/planned/?contract={world.contract_a.id}").status_code
        == 404
    )
    assert other.post("/readings/planned/", data=form(world, HOURS)).status_code == 404
    assert (
        other.get(
            f"/readings/planned/template?contract={world.contract_a.id}&day={DAY}"
        ).status_code
        == 404
    )
    assert other.get("/readings/planned/all").status_code == 404
    # The supplier sees all, exports, accepts; it does not file.
    clerk = user_client(world, world.clerk)
    listing = clerk.get("/readings/planned/all?status=submitted")
    assert listing.status_code == 200 and "77-0001-ЮЛ" in listing.get_data(as_text=True)
    export = clerk.get("/readings/planned/all?format=xlsx")
    assert export.status_code == 200 and export.mimetype == px.XLSX_TYPE
    assert clerk.post("/readings/planned/", data=form(world, HOURS)).status_code == 403
    [req] = requests_of(world)
    assert signer.post(f"/readings/planned/{req.id}/accept").status_code == 404
    accepted = clerk.post(
        f"/readings/planned/{req.id}/accept", data={"next": "//evil.example/"}
    )
    assert accepted.status_code == 302
    assert accepted.headers["Location"].endswith("/readings/planned/all")
    assert requests_of(world)[0].status == "accepted"
    # Accepted: no more changes.
    again = signer.post("/readings/planned/", data=form(world, ["1"] * 24))
    assert again.status_code == 422 and "принята поставщиком" in again.get_data(
        as_text=True
    )


def test_access_matrix_of_the_api(world: World, clock: Any) -> None:
    a = api_for(world, world.org_a, "read,readings")
    url = f"/api/v1/contracts/77-0001-ЮЛ/planned/{DAY}"
    auth = {"Authorization": f"Bearer {a.key}"}
    made = a.client.put(url, json={"hours": HOURS}, headers=auth)
    assert made.status_code == 201 and made.get_json()["created_version"] is True
    same = a.client.put(url, json={"hours": HOURS}, headers=auth)
    assert same.status_code == 200 and same.get_json()["version"] == 1
    bad = a.client.put(url, json={"hours": ["-1"] + HOURS[1:]}, headers=auth)
    assert bad.status_code == 422 and error_code(bad) == "validation_error"
    assert bad.get_json()["error"]["details"]["hours"] == {
        "1": "значение не может быть отрицательным"
    }
    assert a.client.put(url, data="x", headers=auth).status_code == 415
    assert (
        a.client.put(
            "/api/v1/contracts/77-0001-ЮЛ/planned/2026-13-01",
            json={"hours": HOURS},
            headers=auth,
        ).status_code
        == 422
    )
    reader = api_for(world, world.org_a, "read")
    assert (
        reader.client.put(
            url,
            json={"hours": HOURS},
            headers={"Authorization": f"Bearer {reader.key}"},
        ).status_code
        == 403
    )
    b = api_for(world, world.org_b, "read,readings")
    nf = b.client.put(
        url, json={"hours": HOURS}, headers={"Authorization": f"Bearer {b.key}"}
    )
    assert nf.status_code == 404 and error_code(nf) == "not_found"
    assert b.get("/contracts/77-0001-ЮЛ/planned").status_code == 404
    wide = a.get("/contracts/77-0001-ЮЛ/planned?from=2026-01-01&to=2027-12-31")
    assert wide.status_code == 422
    # The answers are as the OpenAPI description says.
    schema = schemathesis.openapi.from_dict(openapi_spec())
    put_op = schema["/contracts/{number}/planned/{date}"]["PUT"]
    for resp in (made, same, bad, nf):
        put_op.validate_response(resp)
    listed = a.get(f"/contracts/77-0001-ЮЛ/planned?from={DAY}&to={DAY}")
    assert listed.status_code == 200 and len(listed.get_json()["items"]) == 1
    schema["/contracts/{number}/planned"]["GET"].validate_response(listed)


# -- the reminder -------------------------------------------------------------------------


def test_the_reminder_on_the_deadline_morning(world: World) -> None:
    morning = dt.datetime(2026, 12, 7, 8, 0, tzinfo=MSK)
    dl = ps.Deadline()

    def run(moment: dt.datetime) -> int:
        with world.app.app_context():
            s = world.session()
            with transaction(s):
                n = ps.send_reminders(
                    s,
                    deadline=dl,
                    now=moment,
                    runtime=current_runtime().replace(base_url="https://lk"),
                )
            s.close()
        return n

    def reminded() -> list[Notification]:
        with world.app.app_context():
            s = world.session()
            rows = list(
                s.scalars(
                    select(Notification).where(Notification.kind == "planned.reminder")
                )
            )
            s.close()
        return rows

    # Nothing filed for 09.12: A's filer is reminded (B has nobody who files).
    assert run(morning) == 1
    [note] = reminded()
    assert note.user_id == world.signer_a.id and "09.12.2026" in note.title
    assert run(morning) == 0 and len(reminded()) == 1  # once
    # A filed for 10.12: no reminder the next morning.
    with world.app.app_context():
        s = world.session()
        with transaction(s):
            contract = s.get(type(world.contract_a), world.contract_a.id)
            ps.submit(
                s,
                contract,
                dt.date(2026, 12, 10),
                HOURS,
                user=None,
                deadline=dl,
                now=morning,
            )
        s.close()
    assert run(morning + dt.timedelta(days=1)) == 0
    # After the deadline nothing is sent.
    assert run(dt.datetime(2026, 12, 9, 12, 30, tzinfo=MSK)) == 0


# -- the demo ----------------------------------------------------------------------------


def test_demo_seed_is_idempotent(app: Any) -> None:
    with app.test_request_context():
        info = create_demo_world()
        s = db_session()
        for _ in range(2):
            with transaction(s):
                seed_demo(s, info)
        # The hourly analysis' demo files requests for last month's working days.
        ahead = PlannedRequest.day > dt.date.today()
        rows = list(
            s.scalars(select(PlannedRequest).where(ahead).order_by(PlannedRequest.day))
        )
        assert [r.status for r in rows] == ["submitted", "draft"]
        assert (
            s.scalar(
                select(func.count())
                .select_from(PlannedVersion)
                .join(PlannedRequest)
                .where(ahead)
            )
            == 1
        )


# -- for the crawl (tests/functional/test_crawl.py) ------------------------------------


def crawl_planned(w: World) -> dict[str, Any]:
    """A request submitted by A's signatory (far ahead: its deadline is open
    whatever the clock): the id the crawl accepts."""
    with w.app.app_context():
        s = w.session()
        with transaction(s):
            contract = s.get(type(w.contract_a), w.contract_a.id)
            req, _ = ps.submit(
                s,
                contract,
                dt.date(2099, 1, 1),
                HOURS,
                user=None,
                deadline=ps.Deadline(),
                now=ps.utcnow(),
            )
            request_id = req.id
        s.close()
    return {"request_id": request_id}
