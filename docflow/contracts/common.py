"""What the contract services share: the rights' names and labels, and the
normalising of what people type (ИНН, a contract's number, a set of rights).

No queries here: the modules that look contracts up, bind them and manage
access to them import this one, never the other way round.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping

from docflow.contracts.models import RIGHTS

CONTRACT_NOT_FOUND = "Договор не найден."
RIGHT_NAMES = tuple(name for name, _label in RIGHTS)
RIGHT_LABELS = dict(RIGHTS)
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")


def right_labels(rights: Iterable[str]) -> list[str]:
    """Russian labels of rights, in the canonical order."""
    held = set(rights)
    return [label for name, label in RIGHTS if name in held]


def normalize_rights(rights: Mapping[str, bool]) -> dict[str, bool]:
    """Every right named; any right implies viewing the contract."""
    result = {name: bool(rights.get(name, False)) for name in RIGHT_NAMES}
    result["can_view"] = True
    return result


def normalize_inn(raw: str) -> str:
    return re.sub(r"\s+", "", raw or "")


def normalize_contract_number(raw: str) -> str:
    """«77-0001-юл », «77 – 0001 – ЮЛ» and «77-0001-ЮЛ» are the same contract."""
    text = _DASHES.sub("-", raw or "").upper()
    return re.sub(r"\s+", "", text)


def aware(value: dt.datetime) -> dt.datetime:
    """A stored moment as UTC-aware (SQLite returns it naive)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
