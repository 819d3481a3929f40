"""The English catalogue is complete (issue 17, item 1).

The interface strings are extracted from the sources as ``make i18n`` does
(``babel.cfg``: the Python modules and every template), and each one must have
an English translation in the *compiled* catalogue the application loads
(``docflow/translations/en/LC_MESSAGES/messages.mo``), with the same
``%(name)s`` placeholders: a string added to a template without a translation,
or a translation left out of ``pybabel compile``, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = ROOT / "docflow" / "translations" / "en" / "LC_MESSAGES"
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture(scope="module")
def msgids() -> dict[str, str]:
    """Every message id of the sources, with where it comes from."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def compiled() -> dict[str, str]:
    with (CATALOGUE / "messages.mo").open("rb") as fh:
        catalog = read_mo(fh)
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str)}


def test_the_sources_have_messages_to_translate(msgids: dict[str, str]) -> None:
    # The templates of every module are wrapped, not only the layout.
    where = " ".join(msgids.values())
    for module in ("certificates", "documents", "readings", "contracts", "api"):
        assert f"{module}/" in where, module
    assert len(msgids) > 500


def test_every_message_has_an_english_translation(
    msgids: dict[str, str], compiled: dict[str, str]
) -> None:
    missing = sorted(
        f"{where}: {msgid!r}"
        for msgid, where in msgids.items()
        if not compiled.get(msgid)
    )
    assert not missing, "Untranslated (run `make i18n`, translate, compile):\n" + (
        "\n".join(missing)
    )


def test_translations_keep_the_placeholders(compiled: dict[str, str]) -> None:
    broken = sorted(
        msgid
        for msgid, text in compiled.items()
        if sorted(_PLACEHOLDER.findall(msgid)) != sorted(_PLACEHOLDER.findall(text))
    )
    assert not broken


def test_the_compiled_catalogue_is_the_po_file(compiled: dict[str, str]) -> None:
    with (CATALOGUE / "messages.po").open("rb") as fh:
        source = {m.id: m.string for m in read_po(fh) if m.id and m.string}
    assert source == compiled
