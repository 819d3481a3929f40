"""Access is decided in one package: nothing outside ``docflow/access/`` reads
``is_supplier``, ``is_staff``, ``is_admin`` or an actor's API scopes.

Run by ``make test``; prints each offending line and exits 1. The models that
*define* those attributes, and the migrations, are the only other places
that may name them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATTERN = re.compile(
    r"\.(is_supplier|is_staff|is_admin)\b"  # attribute reads
    r"|\bactor\(?\)?\.scopes\b"  # an actor's scopes (actor.scopes, api_actor().scopes)
)
ALLOWED = {
    "docflow/accounts/models.py",  # defines User.is_staff / is_admin
    "docflow/contracts/models.py",  # defines Organisation.is_supplier
    "docflow/api/models.py",  # defines ApiKey.is_supplier
}


def main() -> int:
    found = []
    for path in sorted((ROOT / "docflow").rglob("*")):
        rel = path.relative_to(ROOT).as_posix()
        if path.suffix not in {".py", ".html"} or rel in ALLOWED:
            continue
        if rel.startswith(("docflow/access/", "docflow/migrations/")):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PATTERN.search(line):
                found.append(f"{rel}:{number}: {line.strip()}")
    if found:
        print("Access decisions outside docflow/access/ (ask docflow.access instead):")
        print("\n".join(found))
        return 1
    print("access: decided in docflow/access only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
