"""Readings, tidied (issue #15, item 5): the downloaded form uploads back after
the values were sent, format errors come first, the upload's result is shown
where the user looks, the page outside the window is read-only rather than
hidden, and a filled act without readings says so."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from flask.testing import FlaskClient

from docflow.readings import calc
from docflow.readings.models import ReadingStatus
from tests.functional.test_readings import html, text
from tests.functional.test_readings_acts import READERS, act, send_two
from tests.functional.test_readings_excel import (
    page_text,
    row_of,
    saved,
    template,
    upload,
)
from tests.functional.test_readings_world import (
    PERIOD_KEY,
    Readings,
    keys,
    readings,
    world,
)

__all__ = ["keys", "readings", "world"]


def test_the_downloaded_form_uploads_back_after_the_values_were_sent(
    readings: Readings, client: FlaskClient
) -> None:
    send_two(readings, client)  # 0001 = 124000, 0002 = 150, both «Передано»
    wb = template(client, readings)
    ws = wb["Показания"]
    assert str(ws.cell(row=row_of(ws, "0001"), column=9).value) == "124000"
    resp = upload(client, readings, saved(wb), "назад.xlsx")
    page = page_text(resp)
    assert "Файл «назад.xlsx» принят." in page
    assert "Совпадают с уже переданными в расчёт и оставлены без изменений: 2." in page
    assert "уже передано" not in page
    sent = readings.reading("0001")
    assert (
        sent is not None and sent.status == ReadingStatus.SENT and sent.value == 124000
    )

    # The same form with one new value for a meter not sent yet: taken, the rest unchanged.
    ws.cell(row=row_of(ws, "0005"), column=9, value=1300)
    page = page_text(upload(client, readings, saved(wb), "ещё.xlsx"))
    assert "Принято показаний: 1." in page and "без изменений: 2." in page
    # A changed value of a sent reading is still refused, and nothing is taken.
    ws.cell(row=row_of(ws, "0001"), column=9, value=124999)
    page = page_text(upload(client, readings, saved(wb), "другое.xlsx"))
    assert "уже передано в расчёт и не может быть изменено" in page
    sent = readings.reading("0001")
    assert sent is not None and sent.value == 124000


def test_the_same_value_typed_again_is_unchanged_not_an_error(
    readings: Readings, client: FlaskClient
) -> None:
    send_two(readings, client)
    resp = readings.save(client, "0001", "00124000")
    assert resp.status_code == 200, resp.get_json()
    reading = readings.reading("0001")
    assert reading is not None and reading.status == ReadingStatus.SENT


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("абв", "Не число."),
        ("1 2 3 x", "Не число."),
        ("123456789", "Больше знаков, чем у счётчика: 9 при значности 8."),
    ],
)
def test_format_errors_come_before_already_sent(
    readings: Readings, client: FlaskClient, value: str, message: str
) -> None:
    send_two(readings, client)
    resp = readings.save(client, "0001", value)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["message"].startswith(message)
    # In a file too: «не число», not «уже передано».
    wb = template(client, readings)
    ws = wb["Показания"]
    r1 = row_of(ws, "0001")
    ws.cell(row=r1, column=9, value=value)
    page = page_text(upload(client, readings, saved(wb)))
    assert (
        f"Строка {r1}, столбец «Показание»: {message[0].lower()}{message[1:-1]}" in page
    )
    assert "уже передано" not in page


def test_the_upload_result_is_shown_in_the_excel_card_and_scrolled_to(
    readings: Readings, client: FlaskClient
) -> None:
    readings.login(client, readings.w.signer_a)
    wb = template(client, readings)
    ws = wb["Показания"]
    ws.cell(row=row_of(ws, "0002"), column=9, value="abc")
    resp = client.post(
        readings.url("/form"),
        data={"period": PERIOD_KEY, "file": (io.BytesIO(saved(wb)), "плохая.xlsx")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("#excel")
    assert "upload=" in resp.headers["Location"]
    body = html(client.get(resp.headers["Location"]))
    excel = body[body.index('id="excel"') :]
    excel = excel[: excel.index("</section>")]
    assert 'id="upload-result"' in excel and 'role="alert"' in excel
    card = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", excel))
    assert "Файл «плохая.xlsx» не принят: из него ничего не сохранено." in card
    assert f"Строка {row_of(ws, '0002')}, столбец «Показание»: не число" in card
    # The errors are not repeated at the top of the page.
    assert body.count("не число") == card.count("не число")
    # Without ?upload= (a later visit) the box is gone; the file stays in the history.
    later = html(client.get(readings.url()))
    assert 'id="upload-result"' not in later and "плохая.xlsx" in later
    # Another contract's upload id in ?upload= shows nothing.
    assert 'id="upload-result"' not in html(
        client.get(readings.url("?upload=00000000-0000-0000-0000-000000000000"))
    )


def test_outside_the_window_the_page_is_read_only_not_hidden(
    readings: Readings, client: FlaskClient
) -> None:
    send_two(readings, client)
    readings.set_now(dt.datetime(2026, 11, 27, 9, 0, tzinfo=calc.MSK))
    resp = client.get(readings.url())
    page, body = text(resp), html(resp)
    assert "Следующее окно откроется 15.12.2026" in page
    assert "Страница открыта только для просмотра" in page
    # The sent values are shown; the other meters have read-only fields, no input names.
    assert "00124000" in page and "Передано" in page
    assert 'data-testid="input-readonly"' in body and "disabled" in body
    assert 'name="v-' not in body
    # The Excel form: the template is downloadable, the upload shown disabled with the reason.
    assert (
        'data-testid="form-template"' in body and 'data-testid="upload-closed"' in body
    )
    assert (
        "Загрузка формы сейчас недоступна: Передача показаний доступна с 15 по 26"
        in page
    )
    assert 'data-testid="closed-foot"' in body
    assert (
        client.get(readings.url(f"/form.xlsx?period={PERIOD_KEY}")).status_code == 200
    )

    # 1–14 December: the December sheet is empty, and links to November and the history.
    readings.set_now(dt.datetime(2026, 12, 10, 9, 0, tzinfo=calc.MSK))
    resp = client.get(readings.url())
    page, body = text(resp), html(resp)
    assert "Показания за ноябрь 2026 г." in page and "История показаний" in page
    assert f"period={PERIOD_KEY}" in body
    assert "00124000" in page  # November's value, as the previous one
    nov = text(client.get(readings.url(f"?period={PERIOD_KEY}")))
    assert "Это история за ноябрь 2026 г." in nov and "Передано" in nov
    readings.set_now(None)


def test_a_filled_act_without_readings_warns(
    readings: Readings, client: FlaskClient
) -> None:
    readings.login(client, readings.w.signer_a)
    page = text(client.get(readings.url()))
    assert "в расчёт не передано ни одного показания" in page  # in the print popover
    for fmt, read in READERS.items():
        content = read(act(client, readings, fmt, filled=True).data)
        assert (
            "ВНИМАНИЕ: За ноябрь 2026 г. в расчёт не передано ни одного показания"
            in content
        ), fmt
        assert "показания за период не переданы" in content, fmt
        blank = read(act(client, readings, fmt, filled=False).data)
        assert "ВНИМАНИЕ" not in blank, fmt
    send_two(readings, client)
    page = text(client.get(readings.url()))
    assert "в расчёт не передано ни одного показания" not in page
    content = READERS["pdf"](act(client, readings, "pdf", filled=True).data)
    assert "ВНИМАНИЕ" not in content
