"""Screenshots of the cabinet's pages in headless Chromium, as a user sees them.

    .venv/bin/python scripts/screenshot.py --login signer@romashka.example / /notifications

Writes PNGs under screenshots/.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--login")
    parser.add_argument("--password", default="demo12345")
    parser.add_argument("--out", default="screenshots")
    parser.add_argument("--width", type=int, default=1360)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        if args.login:
            page.goto(f"{args.base}/account/login")
            page.fill("#email", args.login)
            page.fill("#password", args.password)
            page.click("button[type=submit]")
        for path in args.paths:
            page.goto(f"{args.base}{path}")
            name = re.sub(r"[^a-zA-Z0-9]+", "_", path).strip("_") or "index"
            target = out / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            print(target)
        browser.close()


if __name__ == "__main__":
    main()
