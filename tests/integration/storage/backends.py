"""The backends under test, and ways to look at them behind the store's back.

A moto S3 server on loopback (started by the fixtures in conftest.py), and
helpers that tamper with or list what a backend holds without going through
the store, as a failing disk or a careless administrator would.
"""

from __future__ import annotations

import io
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from minio import Minio

from storage import BlobStorage, FilesystemBlobStorage, S3BlobStorage
from tests.services import background_process, free_port, unavailable

ACCESS_KEY = "docflow-test"
SECRET_KEY = "docflow-test-secret"

# moto's server logs every request to stderr, and background_process() pipes
# stderr without reading it: after 64 KiB the server would block on a write.
# So the request log is switched off and, once moto has imported (import
# errors still reach the pipe and the fixture's message), stderr goes to a file.
_MOTO = """
import logging, os, sys
logging.getLogger("werkzeug").setLevel(logging.ERROR)
from moto.server import main
log = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
os.dup2(log, 2)
main(sys.argv[2:])
"""


@dataclass(frozen=True)
class S3Server:
    """A running S3 server on loopback."""

    port: int
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, bucket: str, query: str = "secure=false") -> str:
        return f"s3://{ACCESS_KEY}:{SECRET_KEY}@{self.endpoint}/{bucket}?{query}"

    def client(self) -> Minio:
        """A plain minio client, to look behind the store's back."""
        return Minio(
            self.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False
        )


@contextmanager
def moto_server(log: Path, port: int | None = None) -> Iterator[S3Server]:
    """Run ``moto.server`` on a free (or the given) loopback port."""
    port = port or free_port()
    args = [sys.executable, "-c", _MOTO, str(log), "-H", "127.0.0.1", "-p", str(port)]
    started = False
    try:
        with background_process(args, port=port) as process:
            started = True
            yield S3Server(port, log, process)
    except RuntimeError as exc:
        if started:  # raised by the code using the server, not by its start
            raise
        unavailable("moto S3 server", f"{exc}; see {log}")


def new_bucket() -> str:
    return f"docflow-{uuid.uuid4().hex[:20]}"


def _data_path(store: FilesystemBlobStorage, key: str) -> Path:
    return store.root / "objects" / key[:2] / key[2:4] / key / "data"


def tamper(store: BlobStorage, key: str, change: Callable[[bytes], bytes]) -> None:
    """Change a blob's bytes behind the store's back, keeping its recorded digest.

    On disk the data file is rewritten in place; in S3 the object is rewritten
    with the same user metadata, as a mistaken tool or a failing disk would.
    """
    if isinstance(store, FilesystemBlobStorage):
        path = _data_path(store, key)
        path.chmod(0o600)  # the store made it read-only; root would not care
        with path.open("r+b") as file:
            data = change(file.read())
            file.seek(0)
            file.truncate()
            file.write(data)
        return
    assert isinstance(store, S3BlobStorage)
    client, name = store.client, f"objects/{key}"
    stat = client.stat_object(store.bucket, name)
    response = client.get_object(store.bucket, name)
    try:
        data = change(response.read())
    finally:
        response.close()
        response.release_conn()
    metadata: dict[str, str | list[str] | tuple[str]] = {
        k: v
        for k, v in (stat.metadata or {}).items()
        if k.lower().startswith("x-amz-meta-")
    }
    client.put_object(
        store.bucket,
        name,
        io.BytesIO(data),
        len(data),
        content_type=stat.content_type or "application/octet-stream",
        metadata=metadata,
    )


def stored_names(store: BlobStorage) -> list[str]:
    """Everything the backend holds, complete or not (what a reader cannot see too)."""
    if isinstance(store, FilesystemBlobStorage):
        tmp = store.root / "tmp"
        return sorted(
            str(path.relative_to(store.root))
            for path in store.root.rglob("*")
            if path.is_file() or path.parent == tmp
        )
    assert isinstance(store, S3BlobStorage)
    client = store.client
    names = [
        f"{o.object_name}@{o.version_id}"
        for o in client.list_objects(store.bucket, recursive=True, include_version=True)
    ]
    for prefix in ("tmp/", "objects/"):
        uploads = client._list_multipart_uploads(store.bucket, prefix=prefix).uploads
        names += [f"{u.object_name} upload {u.upload_id}" for u in uploads]
    return sorted(names)


def plant_outside(store: BlobStorage) -> Callable[[], bool]:
    """Put a file (an object) beside the store's area; return "is it intact?"."""
    if isinstance(store, FilesystemBlobStorage):
        secret = store.root.parent / "secret"
        secret.write_bytes(b"outside")
        return lambda: secret.read_bytes() == b"outside"
    assert isinstance(store, S3BlobStorage)
    client = store.client
    client.put_object(store.bucket, "secret", io.BytesIO(b"outside"), 7)

    def intact() -> bool:
        response = client.get_object(store.bucket, "secret")
        try:
            return response.read() == b"outside"
        finally:
            response.close()
            response.release_conn()

    return intact
