"""Normalising what people type about contracts: numbers, ИНН, sets of rights."""

from __future__ import annotations

import pytest

from docflow.contracts.common import (
    normalize_contract_number,
    normalize_inn,
    normalize_rights,
    right_labels,
)


@pytest.mark.parametrize(
    "typed",
    [
        "77-0001-ЮЛ",
        "77-0001-юл ",
        " 77 – 0001 – ЮЛ",  # en dashes and spaces
        "77\u22120001\u2010юЛ",  # minus sign, hyphen
        "77 -\t0001-\nЮЛ",
    ],
)
def test_normalize_contract_number_makes_one_spelling(typed: str) -> None:
    assert normalize_contract_number(typed) == "77-0001-ЮЛ"


def test_normalize_contract_number_keeps_what_differs() -> None:
    assert normalize_contract_number("77-0001-ЮЛ") != normalize_contract_number(
        "77-00010-ЮЛ"
    )
    assert normalize_contract_number("77.0001.ЮЛ") == "77.0001.ЮЛ"
    assert normalize_contract_number("") == ""


def test_normalize_inn_drops_whitespace_only() -> None:
    assert normalize_inn(" 7701 234 567\t") == "7701234567"
    assert normalize_inn("7701-234567") == "7701-234567"
    assert normalize_inn("") == ""


def test_normalize_rights_names_every_right_and_implies_viewing() -> None:
    assert normalize_rights({"can_sign": True, "unknown": True}) == {
        "can_view": True,
        "can_submit_readings": False,
        "can_sign": True,
        "can_manage": False,
    }
    assert normalize_rights({"can_view": False})["can_view"] is True


def test_right_labels_in_the_canonical_order() -> None:
    assert right_labels(["can_manage", "can_view", "bogus"]) == [
        "просмотр",
        "управление доступом",
    ]
