"""The consumption chart as server-rendered SVG: months along the x axis,
kWh up the y axis, one line per voltage level, a legend, Russian labels.

Inline SVG with presentation attributes only (no ``style``), so the page's
Content-Security-Policy (``style-src 'self'``, no inline scripts) holds. The
numbers are also given as a table by the templates, for screen readers.
"""

from __future__ import annotations

import math
from decimal import Decimal
from xml.sax.saxutils import escape

from markupsafe import Markup

from docflow.readings.analysis import ConsumptionChart
from docflow.readings.calc import MONTHS_SHORT, format_kwh, period_title
from docflow.readings.models import VoltageLevel

COLORS = {
    VoltageLevel.VN: "#0b5cad",
    VoltageLevel.SN1: "#1e7d4f",
    VoltageLevel.SN2: "#d97706",
    VoltageLevel.NN: "#b42318",
}
DASHES = {
    VoltageLevel.VN: "",
    VoltageLevel.SN1: "6 3",
    VoltageLevel.SN2: "",
    VoltageLevel.NN: "2 3",
}
FONT = "DejaVu Sans, Segoe UI, Arial, sans-serif"


def nice_step(top: float, ticks: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 × 10ⁿ) giving about ``ticks`` intervals."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _label(value: float) -> str:
    if value >= 1_000_000:
        return (
            format_kwh(Decimal(str(round(value / 1_000_000, 2))).normalize()) + " млн"
        )
    if value >= 10_000:
        return format_kwh(Decimal(str(round(value / 1000, 1))).normalize()) + " тыс."
    return format_kwh(Decimal(str(round(value, 1))).normalize())


def render_svg(
    chart: ConsumptionChart,
    *,
    width: int = 760,
    height: int = 300,
    element_id: str = "consumption-chart",
    font_size: int = 11,
) -> Markup:
    """The chart; an empty chart says that there is nothing to show yet."""
    left, right, top, bottom = 6 * font_size, 12, 38, 3 * font_size + 10
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(chart.periods)
    values = [float(v) for s in chart.series for v in s.values if v is not None]
    high = max(values + [0.0])
    low = min(values + [0.0])
    step = nice_step(max(high - min(low, 0), 1))
    y_max = math.ceil(high / step) * step if high > 0 else step
    y_min = math.floor(low / step) * step if low < 0 else 0.0

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n if n else 0)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - y_min) / (y_max - y_min))

    title_id, desc_id = f"{element_id}-title", f"{element_id}-desc"
    first = period_title(chart.periods[0]) if chart.periods else ""
    last = period_title(chart.periods[-1]) if chart.periods else ""
    levels = ", ".join(s.title for s in chart.series) or "нет данных"
    out = [
        f'<svg id="{element_id}" class="chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{title_id} {desc_id}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="{FONT}" font-size="{font_size}">',
        f'<title id="{title_id}">Расход электроэнергии по месяцам, кВт·ч</title>',
        f'<desc id="{desc_id}">Закрытые периоды с {escape(first)} по {escape(last)}; '
        f"линии по уровням напряжения: {escape(levels)}.</desc>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    # Grid and the y axis.
    v = y_min
    while v <= y_max + step / 2:
        yy = y(v)
        out.append(
            f'<line x1="{left}" y1="{yy:.1f}" x2="{width - right}" y2="{yy:.1f}" '
            f'stroke="{"#9aa6b6" if v == 0 else "#e3e8ef"}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{left - 8}" y="{yy + 4:.1f}" text-anchor="end" '
            f'fill="#5f6b7a">{escape(_label(v))}</text>'
        )
        v += step
    out.append(
        f'<text x="{left - 8}" y="{top - 14}" text-anchor="end" '
        'fill="#5f6b7a">кВт·ч</text>'
    )
    out.append(
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" '
        'stroke="#9aa6b6" stroke-width="1"/>'
    )
    # Month labels: «ноя» with the year under January and the first month.
    for i, period in enumerate(chart.periods):
        xx = x(i)
        out.append(
            f'<line x1="{xx:.1f}" y1="{top + plot_h}" x2="{xx:.1f}" '
            f'y2="{top + plot_h + 4}" stroke="#9aa6b6" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{xx:.1f}" y="{top + plot_h + 17}" text-anchor="middle" '
            f'fill="#1c2430">{MONTHS_SHORT[period.month - 1]}</text>'
        )
        if i == 0 or period.month == 1:
            out.append(
                f'<text x="{xx:.1f}" y="{top + plot_h + 31}" text-anchor="middle" '
                f'fill="#5f6b7a" font-size="10">{period.year}</text>'
            )
    if chart.is_empty:
        out.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" '
            'text-anchor="middle" fill="#5f6b7a" font-size="13">Нет данных о расходе '
            "за закрытые периоды</text>"
        )
    # The lines, broken where a month has no data, with a point per month.
    for series in chart.series:
        color = COLORS[series.voltage]
        dash = DASHES[series.voltage]
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, value in enumerate(series.values):
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x(i):.1f},{y(float(value)):.1f}")
        if segment:
            segments.append(segment)
        for points in segments:
            if len(points) > 1:
                out.append(
                    f'<polyline points="{" ".join(points)}" fill="none" '
                    f'stroke="{color}" stroke-width="2.5" stroke-linejoin="round"'
                    + (f' stroke-dasharray="{dash}"' if dash else "")
                    + "/>"
                )
        for i, value in enumerate(series.values):
            if value is None:
                continue
            label = (
                f"{series.title}, {period_title(chart.periods[i])}: "
                f"{format_kwh(value)} кВт·ч"
            )
            out.append(
                f'<circle cx="{x(i):.1f}" cy="{y(float(value)):.1f}" r="3.5" '
                f'fill="#ffffff" stroke="{color}" stroke-width="2">'
                f"<title>{escape(label)}</title></circle>"
            )
    # The legend, above the plot on the right.
    lx = width - right
    for series in reversed(chart.series):
        text_w = 8 + 0.66 * font_size * len(series.title)
        lx -= text_w + 30
        color = COLORS[series.voltage]
        dash = DASHES[series.voltage]
        out.append(
            f'<line x1="{lx:.1f}" y1="16" x2="{lx + 22:.1f}" y2="16" stroke="{color}" '
            'stroke-width="2.5"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + "/>"
        )
        out.append(
            f'<circle cx="{lx + 11:.1f}" cy="16" r="3" fill="#ffffff" '
            f'stroke="{color}" stroke-width="2"/>'
        )
        out.append(
            f'<text x="{lx + 28:.1f}" y="20" fill="#1c2430" font-weight="600">'
            f"{escape(series.title)}</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))
