"""The hourly analysis' charts as server-rendered SVG: the 24 hours of a day
(bars, lines and marks) and the month's heat map (days × hours).

As :mod:`docflow.readings.chart`: presentation attributes only, no ``style``
and no script, so the pages' Content-Security-Policy (``style-src 'self'``,
no inline scripts) holds; every chart has a title and a description for
screen readers, each cell and bar a tooltip, and the pages give the numbers
as tables beside.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from xml.sax.saxutils import escape

from markupsafe import Markup

from docflow.readings.chart import FONT, nice_step
from docflow.readings.hourly_analysis import (
    HEAT_COLOURS,
    HOURS,
    NO_DATA_COLOUR,
    WEEKDAYS,
    Grid,
    HeatScale,
    PeakFigures,
    format_value,
    hour_title,
    month_title,
)

TEXT = "#1c2430"
MUTED = "#5f6b7a"
GRID_LINE = "#e3e8ef"
AXIS = "#9aa6b6"
WEEKEND = "#b42318"
PEAK = "#1c2430"


@dataclass(frozen=True)
class Bars:
    label: str
    values: Sequence[Decimal | None]
    colour: str = "#0b5cad"
    #: Hours drawn in ``highlight_colour`` (a deviation beyond the threshold).
    highlighted: frozenset[int] = field(default_factory=frozenset)
    highlight_colour: str = "#b42318"
    highlight_label: str = ""


@dataclass(frozen=True)
class Line:
    label: str
    values: Sequence[Decimal | None]
    colour: str
    dash: str = ""


def _axis_label(value: float) -> str:
    return format_value(Decimal(str(round(value, 1))))


def hours_chart(
    *,
    element_id: str,
    title: str,
    desc: str,
    units: str,
    bars: Bars | None = None,
    lines: Sequence[Line] = (),
    marks: frozenset[int] = frozenset(),
    mark_label: str = "",
    width: int = 760,
    height: int = 300,
    font_size: int = 11,
) -> Markup:
    """A day's 24 hours: ``bars`` (one per hour), ``lines`` (the average days,
    a plan) and ``marks`` (peak hours: a triangle over the hour)."""
    left, right, top, bottom = 6 * font_size, 12, 44, 2 * font_size + 14
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [float(v) for v in (bars.values if bars else []) if v is not None]
    values += [float(v) for line in lines for v in line.values if v is not None]
    high = max(values + [0.0])
    step = nice_step(max(high, 1.0))
    y_max = (math.floor(high / step) + 1) * step  # headroom above the top bar
    band = plot_w / HOURS

    def x(hour: float) -> float:
        return left + band * hour

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    title_id, desc_id = f"{element_id}-title", f"{element_id}-desc"
    out = [
        f'<svg id="{element_id}" class="chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{title_id} {desc_id}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="{FONT}" font-size="{font_size}">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    v = 0.0
    while v <= y_max + step / 2:
        yy = y(v)
        out.append(
            f'<line x1="{left}" y1="{yy:.1f}" x2="{width - right}" y2="{yy:.1f}" '
            f'stroke="{AXIS if v == 0 else GRID_LINE}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{left - 8}" y="{yy + 4:.1f}" text-anchor="end" '
            f'fill="{MUTED}">{escape(_axis_label(v))}</text>'
        )
        v += step
    out.append(
        f'<text x="{left - 8}" y="{top - 10}" text-anchor="end" fill="{MUTED}">'
        f"{escape(units)}</text>"
    )
    for hour in range(HOURS):
        out.append(
            f'<text x="{x(hour + 0.5):.1f}" y="{top + plot_h + 16}" '
            f'text-anchor="middle" fill="{TEXT}">{hour:02d}</text>'
        )
    if not values:
        out.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" '
            f'text-anchor="middle" fill="{MUTED}" font-size="13">Нет данных</text>'
        )
    if bars is not None:
        for hour, value in enumerate(bars.values):
            if value is None:
                continue
            hot = hour in bars.highlighted
            colour = bars.highlight_colour if hot else bars.colour
            yy = y(float(value))
            tip = f"{bars.label}, {hour_title(hour)}: {format_value(value)} {units}"
            out.append(
                f'<rect x="{x(hour) + band * 0.15:.1f}" y="{yy:.1f}" '
                f'width="{band * 0.7:.1f}" height="{max(top + plot_h - yy, 0):.1f}" '
                f'fill="{colour}"><title>{escape(tip)}</title></rect>'
            )
    for line in lines:
        segment: list[str] = []
        segments: list[list[str]] = []
        for hour, value in enumerate(line.values):
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x(hour + 0.5):.1f},{y(float(value)):.1f}")
        if segment:
            segments.append(segment)
        dash = f' stroke-dasharray="{line.dash}"' if line.dash else ""
        for points in segments:
            if len(points) == 1:
                px, py = points[0].split(",")
                out.append(f'<circle cx="{px}" cy="{py}" r="3" fill="{line.colour}"/>')
                continue
            out.append(
                f'<polyline points="{" ".join(points)}" fill="none" '
                f'stroke="{line.colour}" stroke-width="2.5" stroke-linejoin="round"{dash}/>'
            )
    for hour in sorted(marks):
        cx = x(hour + 0.5)
        out.append(
            f'<path d="M{cx - 5:.1f},{top - 12} L{cx + 5:.1f},{top - 12} '
            f'L{cx:.1f},{top - 4} Z" fill="{PEAK}"><title>'
            f"{escape(mark_label)}: {hour_title(hour)}</title></path>"
        )
    legend: list[tuple[str, str]] = []
    if bars is not None:
        legend.append(("bar:" + bars.colour, bars.label))
        if bars.highlighted and bars.highlight_label:
            legend.append(("bar:" + bars.highlight_colour, bars.highlight_label))
    legend += [(f"line:{line.colour}:{line.dash}", line.label) for line in lines]
    if marks and mark_label:
        legend.append(("mark:", mark_label))
    out.extend(_legend(legend, width - right, font_size))
    out.append("</svg>")
    return Markup("".join(out))


def _legend(items: list[tuple[str, str]], right: float, font_size: int) -> list[str]:
    """The legend on one line above the plot, right-aligned."""
    out = []
    lx = right
    for kind, label in reversed(items):
        lx -= 8 + 0.62 * font_size * len(label) + 30
        shape, _, rest = kind.partition(":")
        if shape == "bar":
            out.append(
                f'<rect x="{lx:.1f}" y="9" width="20" height="12" fill="{rest}"/>'
            )
        elif shape == "line":
            colour, _, dash = rest.partition(":")
            extra = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<line x1="{lx:.1f}" y1="15" x2="{lx + 22:.1f}" y2="15" '
                f'stroke="{colour}" stroke-width="2.5"{extra}/>'
            )
        else:
            out.append(
                f'<path d="M{lx + 5:.1f},9 L{lx + 15:.1f},9 L{lx + 10:.1f},17 Z" '
                f'fill="{PEAK}"/>'
            )
        out.append(
            f'<text x="{lx + 26:.1f}" y="19" fill="{TEXT}">{escape(label)}</text>'
        )
    return out


def heat_map(
    grid: Grid,
    scale: HeatScale,
    *,
    units: str,
    peaks: PeakFigures | None = None,
    element_id: str = "heatmap-chart",
    width: int = 960,
    font_size: int = 11,
) -> Markup:
    """Days down, hours across, each cell coloured by its share of the
    month's largest hour; the plan peak hours outlined; a legend below."""
    days = grid.days
    left, right, top = 64, 12, 30
    cell_w = (width - left - right) / HOURS
    cell_h = 18
    plot_h = cell_h * len(days)
    height = top + plot_h + 70
    title_id, desc_id = f"{element_id}-title", f"{element_id}-desc"
    title = f"Потребление по часам, {month_title(grid.month)}, {units}"
    desc = (
        "Строки — дни месяца, столбцы — часы суток; чем темнее ячейка, тем больше "
        "потребление"
        + (
            "; обведены плановые часы пиковой нагрузки"
            if peaks and peaks.is_set
            else ""
        )
        + ". Значения — в таблице под картой."
    )
    out = [
        f'<svg id="{element_id}" class="chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{title_id} {desc_id}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="{FONT}" font-size="{font_size}">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for hour in range(HOURS):
        out.append(
            f'<text x="{left + cell_w * (hour + 0.5):.1f}" y="{top - 10}" '
            f'text-anchor="middle" fill="{TEXT}">{hour:02d}</text>'
        )
    outlines = []
    for row, day in enumerate(days):
        yy = top + row * cell_h
        weekend = day.weekday() >= 5
        out.append(
            f'<text x="{left - 8}" y="{yy + cell_h - 5}" text-anchor="end" '
            f'fill="{WEEKEND if weekend else TEXT}">{day.day:02d} '
            f"{WEEKDAYS[day.weekday()]}</text>"
        )
        for hour in range(HOURS):
            value = grid.get(day, hour)
            xx = left + hour * cell_w
            peak = peaks is not None and peaks.is_peak(day, hour)
            tip = (
                f"{day:%d.%m.%Y}, {hour_title(hour)}: "
                + (
                    f"{format_value(value)} {units}"
                    if value is not None
                    else "нет данных"
                )
                + (", плановый час пиковой нагрузки" if peak else "")
            )
            out.append(
                f'<rect x="{xx:.1f}" y="{yy}" width="{cell_w - 1:.1f}" '
                f'height="{cell_h - 1}" fill="{scale.colour(value)}"'
                + (' data-peak="1"' if peak else "")
                + f"><title>{escape(tip)}</title></rect>"
            )
            if peak:
                outlines.append(
                    f'<rect x="{xx + 1:.1f}" y="{yy + 1}" width="{cell_w - 3:.1f}" '
                    f'height="{cell_h - 3}" fill="none" stroke="{PEAK}" '
                    'stroke-width="2"/>'
                )
    out.extend(outlines)  # on top of the neighbouring cells
    out.extend(_heat_legend(scale, units, peaks, left, top + plot_h + 16, font_size))
    out.append("</svg>")
    return Markup("".join(out))


def _heat_legend(
    scale: HeatScale,
    units: str,
    peaks: PeakFigures | None,
    x0: float,
    y0: float,
    font_size: int,
) -> list[str]:
    sw = 56
    out = [
        f'<text x="{x0}" y="{y0 + 9}" fill="{MUTED}">{escape(units)}:</text>',
    ]
    x0 += 8 + 0.62 * font_size * (len(units) + 1)
    for i, colour in enumerate(HEAT_COLOURS):
        out.append(
            f'<rect x="{x0 + i * sw:.1f}" y="{y0}" width="{sw}" height="12" '
            f'fill="{colour}"/>'
        )
    for i, (low, _high) in enumerate(scale.bounds()):
        out.append(
            f'<text x="{x0 + i * sw:.1f}" y="{y0 + 26}" text-anchor="middle" '
            f'fill="{TEXT}">{escape(format_value(low))}</text>'
        )
    end = x0 + len(HEAT_COLOURS) * sw
    out.append(
        f'<text x="{end:.1f}" y="{y0 + 26}" text-anchor="middle" fill="{TEXT}">'
        f"{escape(format_value(scale.top))}</text>"
    )
    lx = end + 40
    out.append(
        f'<rect x="{lx:.1f}" y="{y0}" width="20" height="12" fill="{NO_DATA_COLOUR}"/>'
        f'<text x="{lx + 26:.1f}" y="{y0 + 10}" fill="{TEXT}">нет данных</text>'
    )
    if peaks is not None and peaks.is_set:
        lx += 120
        out.append(
            f'<rect x="{lx:.1f}" y="{y0}" width="20" height="12" fill="#ffffff" '
            f'stroke="{PEAK}" stroke-width="2"/>'
            f'<text x="{lx + 26:.1f}" y="{y0 + 10}" fill="{TEXT}">'
            "плановый час пиковой нагрузки</text>"
        )
    return out
