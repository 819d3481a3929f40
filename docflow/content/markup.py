"""A tiny safe markup for the supplier's texts (news, FAQ, contacts).

Everything is escaped first, so no HTML gets through; then a blank line starts
a paragraph, a line break stays a line break, lines starting with «- » or «* »
make a list (also right under a line of text), ``**bold**`` is bold, and http(s) addresses become links.
"""

from __future__ import annotations

import re
from itertools import groupby

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
        # «Что нужно сделать:» and the list under it, without a blank line
        # between them: a paragraph, then the list.
        for is_list, run in groupby(lines, key=lambda line: bool(_BULLET.match(line))):
            group = list(run)
            if is_list:
                items = "".join(
                    f"<li>{_inline(_BULLET.sub('', line))}</li>" for line in group
                )
                parts.append(f"<ul>{items}</ul>")
            else:
                parts.append(
                    "<p>" + "<br>".join(_inline(line) for line in group) + "</p>"
                )
    return Markup("\n".join(parts))  # noqa: S704 - every piece was escaped above


def preview(source: str | None, length: int = 320) -> Markup:
    """The beginning of ``source``, drawn as :func:`render_text` draws the whole
    (a list stays a list, not «- раз - два»): whole lines while their text fits
    in ``length`` characters, then the next line cut at a word, with «…»."""
    kept: list[str] = []
    used = 0
    for line in (source or "").replace("\r\n", "\n").strip().split("\n"):
        bullet = _BULLET.match(line)
        text = _BOLD.sub(r"\1", line[bullet.end() :] if bullet else line).strip()
        if used + len(text) <= length:
            kept.append(line)
            used += len(text)
            continue
        cut = text[: length - used].rsplit(" ", 1)[0].rstrip(",.;:—- ")
        if len(cut) >= 20:
            kept.append(("- " if bullet else "") + cut + "…")
        else:
            last = max((i for i, k in enumerate(kept) if k.strip()), default=None)
            if last is not None:
                kept[last] = kept[last].rstrip().rstrip(",.;:—-") + "…"
        break
    return render_text("\n".join(kept))
