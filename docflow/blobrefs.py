"""Every module that keeps blobs outside ``document_files`` lists its keys here,
so that ``docflow fsck`` does not take them for orphans."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

_SOURCES: list[Callable[[Session], Iterable[str]]] = []


def register_blob_source(source: Callable[[Session], Iterable[str]]) -> None:
    _SOURCES.append(source)


def referenced_blob_keys(session: Session) -> list[str]:
    keys: list[str] = []
    for source in _SOURCES:
        keys.extend(source(session))
    return keys
