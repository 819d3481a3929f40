"""A tiny safe markup for the supplier's texts (news, FAQ, contacts).

Everything is escaped first, so no HTML gets through; then a blank line starts
a paragraph, a line break stays a line break, lines starting with «- » or «* »
make a list, ``**bold**`` is bold, and http(s) addresses become links.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)»]")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_BULLET = re.compile(r"^\s*[-*•]\s+")


def _inline(line: str) -> str:
    text = str(escape(line))
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    return _URL.sub(
        lambda m: (
            f'<a href="{m.group(0)}" rel="nofollow noopener" target="_blank">'
            f"{m.group(0)}</a>"
        ),
        text,
    )


def render_text(source: str | None) -> Markup:
    """The HTML for ``source``; safe to insert into a page as it is."""
    blocks = re.split(r"\n\s*\n", (source or "").replace("\r\n", "\n").strip())
    parts: list[str] = []
    for block in blocks:
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if all(_BULLET.match(line) for line in lines):
            items = "".join(
                f"<li>{_inline(_BULLET.sub('', line))}</li>" for line in lines
            )
            parts.append(f"<ul>{items}</ul>")
        else:
            parts.append("<p>" + "<br>".join(_inline(line) for line in lines) + "</p>")
    return Markup("\n".join(parts))  # noqa: S704 - every piece was escaped above


def excerpt(source: str | None, length: int = 220) -> str:
    """Plain text for a preview: markup signs removed, cut at a word."""
    text = _BOLD.sub(r"\1", re.sub(r"\s+", " ", source or "")).strip()
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0].rstrip(",.;:—-") + "…"
