"""The SVG chart (axes, legend, gaps, CSP-safe markup) and the window settings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from docflow.config import ConfigError, Settings
from docflow.readings.chart import nice_step, render_svg
from docflow.readings.models import VoltageLevel
from docflow.readings.services import ConsumptionChart, Series

PERIODS = [dt.date(2026, m, 1) for m in range(1, 7)]


def test_nice_steps() -> None:
    assert nice_step(800_000) == 200_000
    assert nice_step(90) == 25
    assert nice_step(0) == 1


def test_chart_has_axes_legend_russian_months_and_gaps() -> None:
    chart = ConsumptionChart(
        PERIODS,
        [
            Series(
                VoltageLevel.SN2,
                [
                    Decimal(100),
                    Decimal(120),
                    None,
                    Decimal(90),
                    Decimal(95),
                    Decimal(110),
                ],
            ),
            Series(VoltageLevel.VN, [Decimal(5000)] * 6),
        ],
    )
    svg = str(render_svg(chart, element_id="c"))
    assert svg.startswith('<svg id="c"') and 'role="img"' in svg
    assert 'aria-labelledby="c-title c-desc"' in svg
    for label in (">янв<", ">фев<", ">июн<", ">2026<", ">СН-2<", ">ВН<", "кВт·ч"):
        assert label in svg, label
    # March has no data: the СН-2 line breaks into two pieces.
    assert svg.count("<polyline") == 3
    assert "СН-2, март 2026 г." not in svg and "СН-2, апрель 2026 г.: 90 кВт·ч" in svg
    assert "style=" not in svg  # presentation attributes only: CSP style-src 'self'


def test_empty_chart_says_so() -> None:
    svg = str(render_svg(ConsumptionChart(PERIODS, [])))
    assert "Нет данных о расходе за закрытые периоды" in svg


def test_window_days_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("READINGS_WINDOW_START", "1")
    monkeypatch.setenv("READINGS_WINDOW_END", "25")
    settings = Settings.from_env(var_dir=tmp_path, secret_key="x" * 32)
    assert (settings.readings.window_start, settings.readings.window_end) == (1, 25)
    monkeypatch.setenv("READINGS_WINDOW_START", "27")
    with pytest.raises(ConfigError, match="READINGS_WINDOW_START"):
        Settings.from_env(var_dir=tmp_path, secret_key="x" * 32)
    monkeypatch.delenv("READINGS_WINDOW_START")
    monkeypatch.delenv("READINGS_WINDOW_END")
    settings = Settings.from_env(var_dir=tmp_path, secret_key="x" * 32)
    assert (settings.readings.window_start, settings.readings.window_end) == (15, 26)
