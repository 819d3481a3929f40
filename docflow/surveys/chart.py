"""A question's answers as a server-rendered SVG bar chart: one horizontal bar
per option (or scale value) with its count and share.

Presentation attributes only (no ``style``), as :mod:`docflow.readings.chart`,
so the page's Content-Security-Policy holds; the same numbers are in a table
beside the chart for screen readers.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from markupsafe import Markup

from docflow.surveys.services import Bar

FONT = "DejaVu Sans, Segoe UI, Arial, sans-serif"
BAR = "#0b5cad"
TRACK = "#e3e8ef"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _percent(value: float) -> str:
    return f"{value:.1f}".replace(".", ",").replace(",0", "") + " %"


def render_bars(
    bars: list[Bar],
    *,
    title: str,
    element_id: str,
    width: int = 640,
    font_size: int = 12,
) -> Markup:
    """The bars, the longest count full width (the page says when there are
    no answers yet)."""
    row, gap, top = 24, 8, 8
    label_w = 230
    value_w = 96
    plot_w = width - label_w - value_w - 16
    height = top * 2 + max(len(bars), 1) * (row + gap)
    high = max((b.count for b in bars), default=0)
    title_id = f"{element_id}-title"
    out = [
        f'<svg id="{element_id}" class="chart survey-chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{title_id}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="{FONT}" font-size="{font_size}">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for i, bar in enumerate(bars):
        y = top + i * (row + gap)
        share = bar.count / high if high else 0.0
        x0 = label_w + 8
        out.append(
            f'<text x="{label_w}" y="{y + row / 2 + 4:.1f}" text-anchor="end" '
            f'fill="#1c2430"><title>{escape(bar.label)}</title>'
            f"{escape(_shorten(bar.label, 34))}</text>"
        )
        out.append(
            f'<rect x="{x0}" y="{y}" width="{plot_w}" height="{row}" rx="3" fill="{TRACK}"/>'
        )
        if bar.count:
            out.append(
                f'<rect x="{x0}" y="{y}" width="{max(plot_w * share, 3):.1f}" '
                f'height="{row}" rx="3" fill="{BAR}"/>'
            )
        out.append(
            f'<text x="{x0 + plot_w + 8}" y="{y + row / 2 + 4:.1f}" fill="#1c2430" '
            f'font-weight="600">{bar.count} · {escape(_percent(bar.percent))}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))
