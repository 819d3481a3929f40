"""«Я не робот»: a self-hosted arithmetic code, no external service.

The question is drawn as an SVG picture (so the answer is not in the page's
text), the expected answer is kept in the signed session with an expiry, and a
challenge is used up by one check, right or wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import time
from typing import Any

CAPTCHA_TTL = 600


def new_challenge(session: dict[str, Any], secret_key: str) -> str:
    """Store a new challenge in the session and return its SVG picture."""
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    op = secrets.choice(["+", "×"]) if a * b <= 40 else "+"
    answer = a + b if op == "+" else a * b
    nonce = secrets.token_hex(8)
    digest = hmac.new(secret_key.encode(), f"{nonce}:{answer}".encode(), hashlib.sha256)
    session["captcha"] = {"n": nonce, "h": digest.hexdigest(), "t": int(time.time())}
    return _svg(f"{a} {op} {b} = ?")


def check(session: dict[str, Any], secret_key: str, given: str) -> bool:
    data = session.pop("captcha", None)
    if not data or int(time.time()) - int(data.get("t", 0)) > CAPTCHA_TTL:
        return False
    given = given.strip()
    if not given.isdigit():
        return False
    digest = hmac.new(
        secret_key.encode(), f"{data['n']}:{int(given)}".encode(), hashlib.sha256
    )
    return hmac.compare_digest(digest.hexdigest(), str(data["h"]))


def _svg(text: str) -> str:
    # A little noise and per-glyph jitter: enough against naive scrapers, and
    # still readable for a person.
    glyphs = []
    x = 12
    for ch in text:
        dy = secrets.randbelow(9) - 4
        rot = secrets.randbelow(21) - 10
        glyphs.append(
            f'<text x="{x}" y="{32 + dy}" transform="rotate({rot} {x} {32 + dy})">'
            f"{html.escape(ch)}</text>"
        )
        x += 16 if ch != " " else 8
    lines = "".join(
        f'<line x1="{secrets.randbelow(160)}" y1="{secrets.randbelow(48)}" '
        f'x2="{secrets.randbelow(160)}" y2="{secrets.randbelow(48)}" />'
        for _ in range(5)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{x + 12}" height="48" role="img" '
        f'aria-label="Пример для проверки">'
        f'<rect width="100%" height="100%" rx="6" fill="#eef2f7"/>'
        f'<g stroke="#9aa9bd" stroke-width="1">{lines}</g>'
        f'<g font-family="DejaVu Sans, Arial, sans-serif" font-size="24" fill="#1f3a5f" '
        f'font-weight="bold">{"".join(glyphs)}</g></svg>'
    )
