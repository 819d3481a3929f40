"""Fixtures for the storage tests: a moto S3 server on loopback, and ``store``.

``store`` is parametrised over both backends, so the suite in
``test_contract.py`` runs once against files and once against S3 (moto, through
the real minio client). Each S3 test gets a bucket of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import BlobStorage, FilesystemBlobStorage, S3BlobStorage, open_store

from .backends import S3Server, moto_server, new_bucket


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One moto server per xdist worker, shared by its tests (one bucket each)."""
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture
def s3_store(s3_server: S3Server) -> S3BlobStorage:
    """An S3 store on a bucket of its own, created by open_store."""
    store = open_store(s3_server.url(new_bucket()))
    assert isinstance(store, S3BlobStorage)
    return store


@pytest.fixture
def file_store(tmp_path: Path) -> FilesystemBlobStorage:
    return FilesystemBlobStorage(tmp_path / "blobs")


@pytest.fixture(params=["file", pytest.param("s3", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest) -> BlobStorage:
    """Each backend in turn."""
    name = "file_store" if request.param == "file" else "s3_store"
    backend: BlobStorage = request.getfixturevalue(name)
    return backend
