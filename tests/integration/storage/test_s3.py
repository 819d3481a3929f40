"""What only the S3 backend does: multipart streaming, Object Lock, a failing server.

All against moto's S3 server on loopback, through the real minio client.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import urllib3
from minio.error import S3Error
from urllib3.exceptions import ProtocolError

from storage import (
    BlobNotFoundError,
    IntegrityError,
    RetentionError,
    S3BlobStorage,
    StorageError,
    StorageUnavailableError,
    open_store,
)
from storage.base import CHUNK_SIZE
from storage.s3 import DEFAULT_PART_SIZE
from tests.services import free_port

from .backends import (
    ACCESS_KEY,
    SECRET_KEY,
    S3Server,
    moto_server,
    new_bucket,
    stored_names,
)

pytestmark = pytest.mark.integration

MiB = 1 << 20


def test_open_store_creates_the_bucket_with_object_lock(s3_server: S3Server) -> None:
    bucket = new_bucket()
    client = s3_server.client()
    assert not client.bucket_exists(bucket)
    open_store(s3_server.url(bucket))
    assert client.bucket_exists(bucket)
    client.get_object_lock_config(bucket)  # raises when Object Lock is off
    assert client.get_bucket_versioning(bucket).status == "Enabled"
    open_store(s3_server.url(bucket))  # and opening it again is fine


def test_unreachable_server_is_reported_promptly_and_clearly() -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError) as caught:
        open_store(f"s3://{ACCESS_KEY}:{SECRET_KEY}@127.0.0.1:{port}/docs?secure=false")
    assert time.monotonic() - started < 10
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "unavailable" in str(caught.value)
    assert SECRET_KEY not in str(caught.value)


class Production:
    """A generated stream of ``size`` bytes that counts what it has handed out."""

    def __init__(self, size: int, chunk: int = MiB) -> None:
        self.size = size
        self.produced = 0
        self.digest = hashlib.sha256()
        self._block = os.urandom(chunk)

    def __iter__(self) -> Iterator[bytes]:
        counter = 0
        while self.produced < self.size:
            # A different chunk each time: a part sent twice, or in the wrong
            # order, changes the digest.
            counter += 1
            piece = counter.to_bytes(8, "big") + self._block[8:]
            piece = piece[: self.size - self.produced]
            self.produced += len(piece)
            self.digest.update(piece)
            yield piece


def test_large_put_streams_in_multipart_parts(
    s3_store: S3BlobStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = 64 * MiB + 12_345
    stream = Production(size)
    parts: list[tuple[int, int, int]] = []  # (part number, length, produced by then)
    upload_part = s3_store.client._upload_part

    def spy(*args: Any) -> str:
        data, number = args[2], args[5]  # bucket, name, data, headers, id, number
        parts.append((number, len(data), stream.produced))
        return upload_part(*args)

    monkeypatch.setattr(s3_store.client, "_upload_part", spy)
    info = s3_store.put(stream, content_type="application/pdf")

    assert info.size == size
    assert info.sha256 == stream.digest.hexdigest()
    assert [n for n, _, _ in parts] == list(range(1, len(parts) + 1))
    assert [length for _, length, _ in parts[:-1]] == [DEFAULT_PART_SIZE] * (
        len(parts) - 1
    )
    assert sum(length for _, length, _ in parts) == size
    # Never more read from the stream than the parts sent so far and one
    # chunk of look-ahead: the object is never held whole.
    sent = 0
    for _, length, produced in parts:
        sent += length
        assert produced - sent <= CHUNK_SIZE
    # Read back as a stream, checked by the reader itself, and by us.
    digest, total = hashlib.sha256(), 0
    with s3_store.open(info.key) as reader:
        assert reader.info == info
        for chunk in reader:
            digest.update(chunk)
            total += len(chunk)
    assert (total, digest.hexdigest()) == (size, info.sha256)
    # Committed by the copy; the staging object and the upload are gone.
    assert stored_names(s3_store) == [
        f"objects/{info.key}@{_version(s3_store, info.key)}"
    ]
    s3_store.delete(info.key)  # moto keeps objects in memory


def _version(store: S3BlobStorage, key: str) -> str | None:
    return store.client.stat_object(store.bucket, f"objects/{key}").version_id


def test_retained_blob_is_locked_by_the_server_itself(
    s3_server: S3Server, s3_store: S3BlobStorage
) -> None:
    info = s3_store.put_bytes(
        b"signed", retain_until=datetime.now(UTC) + timedelta(days=1)
    )
    name = f"objects/{info.key}"
    stat = s3_store.client.stat_object(s3_store.bucket, name)
    assert stat.metadata is not None
    assert stat.metadata["x-amz-object-lock-mode"] == "COMPLIANCE"
    # Not only the store's own check: the server refuses to delete the version.
    with pytest.raises(S3Error) as refused:
        s3_store.client.remove_object(s3_store.bucket, name, version_id=stat.version_id)
    assert refused.value.code == "AccessDenied"
    # A store whose clock says the date has passed asks the server, which refuses.
    fooled = S3BlobStorage(
        s3_server.endpoint,
        s3_store.bucket,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        secure=False,
        clock=lambda: datetime.now(UTC) + timedelta(days=2),
    )
    with pytest.raises(RetentionError) as caught:
        fooled.delete(info.key)
    assert caught.value.retain_until == info.retain_until
    assert s3_store.read_bytes(info.key) == b"signed"


def test_governance_mode_comes_from_the_url(s3_server: S3Server) -> None:
    store = open_store(s3_server.url(new_bucket(), "secure=false&lock=governance"))
    assert isinstance(store, S3BlobStorage)
    info = store.put_bytes(b"x", retain_until=datetime.now(UTC) + timedelta(days=1))
    stat = store.client.stat_object(store.bucket, f"objects/{info.key}")
    assert stat.metadata is not None
    assert stat.metadata["x-amz-object-lock-mode"] == "GOVERNANCE"
    with pytest.raises(RetentionError):
        store.delete(info.key)


def test_bucket_without_object_lock_refuses_retention_and_keeps_nothing(
    s3_server: S3Server,
) -> None:
    bucket = new_bucket()
    s3_server.client().make_bucket(bucket)  # created by someone else, no lock
    store = open_store(s3_server.url(bucket))
    until = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(StorageError, match="Object Lock"):
        store.put_bytes(b"x", retain_until=until)
    assert stored_names(store) == []
    # Told nothing about the bucket, the store learns it from the server.
    unchecked = S3BlobStorage(
        s3_server.endpoint,
        bucket,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        secure=False,
    )
    with pytest.raises(StorageError, match="Object Lock"):
        unchecked.put_bytes(b"x" * (DEFAULT_PART_SIZE + 1), retain_until=until)
    assert stored_names(store) == []
    info = store.put_bytes(b"unretained")  # plain blobs still work
    store.delete(info.key)
    assert stored_names(store) == []


def test_object_without_recorded_digest_is_refused(s3_store: S3BlobStorage) -> None:
    key = "f" * 32
    s3_store.client.put_object(s3_store.bucket, f"objects/{key}", io.BytesIO(b"x"), 1)
    assert s3_store.exists(key)
    assert key in set(s3_store.iter_keys())
    with pytest.raises(IntegrityError, match="no recorded sha256"):
        s3_store.open(key)
    with pytest.raises(IntegrityError):
        s3_store.stat(key)


def test_foreign_objects_in_the_bucket_are_not_keys(s3_store: S3BlobStorage) -> None:
    client = s3_store.client
    client.put_object(s3_store.bucket, "objects/readme.txt", io.BytesIO(b"x"), 1)
    client.put_object(s3_store.bucket, "elsewhere", io.BytesIO(b"x"), 1)
    info = s3_store.put_bytes(b"blob")
    assert list(s3_store.iter_keys()) == [info.key]


def test_presigned_url_downloads_the_blob(s3_store: S3BlobStorage) -> None:
    info = s3_store.put_bytes(b"%PDF-1.7 act", content_type="application/pdf")
    url = s3_store.presigned_url(info.key, timedelta(minutes=5))
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 -- http on loopback
        assert response.read() == b"%PDF-1.7 act"
    with pytest.raises(BlobNotFoundError):
        s3_store.presigned_url("0" * 32, timedelta(minutes=5))
    with pytest.raises(ValueError, match="7 days"):
        s3_store.presigned_url(info.key, timedelta(days=8))


def test_gc_removes_staging_objects_and_incomplete_uploads(
    s3_store: S3BlobStorage,
) -> None:
    client, bucket = s3_store.client, s3_store.bucket
    live = s3_store.put_bytes(b"live")
    staging = "tmp/" + "a" * 32
    client.put_object(bucket, staging, io.BytesIO(b"half"), 4)
    assert staging not in s3_store.gc(older_than=timedelta(hours=1))  # too fresh
    assert staging in stored_names(s3_store)[1]
    # (moto dates every multipart upload in 2010, so its age cannot be tested.)
    upload_id = client._create_multipart_upload(bucket, "tmp/" + "b" * 32, {})
    removed = s3_store.gc(older_than=timedelta(0))
    assert sorted(removed) == [staging, f"tmp/{'b' * 32} upload {upload_id}"]
    assert stored_names(s3_store) == [
        f"objects/{live.key}@{_version(s3_store, live.key)}"
    ]
    assert s3_store.read_bytes(live.key) == b"live"


class TcpProxy:
    """A loopback TCP relay that can cut every connection, like a failing network.

    ``cut_after`` bytes sent towards the server, it closes everything, in the
    middle of whatever request is being sent; ``start()`` listens again on the
    same port.
    """

    def __init__(self, target: int, cut_after: int | None = None) -> None:
        self.port = free_port()
        self.cut_after = cut_after
        self._target = target
        self._sent = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.start()

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(
            target=self._accept, args=(self._listener,), daemon=True
        ).start()

    def cut(self) -> None:
        with self._lock:
            doomed, self._sockets = [self._listener, *self._sockets], []
        for sock in doomed:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked on it
            except OSError:
                pass
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self._target))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for src, dst, count in (
                (client, upstream, True),
                (upstream, client, False),
            ):
                threading.Thread(
                    target=self._relay, args=(src, dst, count), daemon=True
                ).start()

    def _relay(self, src: socket.socket, dst: socket.socket, count: bool) -> None:
        try:
            while data := src.recv(1 << 16):
                dst.sendall(data)
                if count and self.cut_after is not None:
                    self._sent += len(data)
                    if self._sent >= self.cut_after:
                        self.cut_after = None
                        self.cut()
                        return
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def test_network_cut_mid_upload_leaves_no_half_object(s3_server: S3Server) -> None:
    bucket = new_bucket()
    direct = open_store(s3_server.url(bucket))
    proxy = TcpProxy(s3_server.port)
    try:
        store = open_store(
            f"s3://{ACCESS_KEY}:{SECRET_KEY}@127.0.0.1:{proxy.port}/{bucket}?secure=false"
        )
        stream = Production(64 * MiB)
        proxy.cut_after = 2 * DEFAULT_PART_SIZE + 3 * MiB  # inside the third part
        started = time.monotonic()
        with pytest.raises(StorageUnavailableError) as caught:
            store.put(stream)
        assert time.monotonic() - started < 30
        assert f"127.0.0.1:{proxy.port}" in str(caught.value)
        assert stream.produced < stream.size  # it stopped reading, it did not hang on
        # The network comes back; the server kept everything it had received.
        proxy.start()
        assert list(store.iter_keys()) == []
        leftovers = stored_names(direct)
        assert len(leftovers) == 1  # the aborted upload could not be aborted
        assert leftovers[0].startswith("tmp/")
        assert " upload " in leftovers[0]
        assert len(store.gc(older_than=timedelta(0))) == 1
        assert stored_names(direct) == []
        info = store.put_bytes(b"after the outage")
        assert store.read_bytes(info.key) == b"after the outage"
    finally:
        proxy.cut()


def test_server_killed_mid_upload_gives_a_prompt_clear_error(tmp_path: Path) -> None:
    with moto_server(tmp_path / "moto.log") as server:
        url = server.url("docs")
        store = open_store(url)
        stream = Production(64 * MiB)

        def killing() -> Iterator[bytes]:
            for piece in stream:
                if stream.produced > DEFAULT_PART_SIZE + 4 * MiB:
                    server.process.kill()
                    server.process.wait()
                yield piece

        started = time.monotonic()
        with pytest.raises(StorageUnavailableError) as caught:
            store.put(killing())
        elapsed = time.monotonic() - started
        port = server.port
    assert elapsed < 30
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert stream.produced < stream.size
    # moto keeps everything in memory, so a restarted one is empty: what can be
    # asserted is that the store reconnects and works, and holds no leftovers
    # of the failed put (the test above, with a server that survives, proves
    # a cut upload leaves no half object).
    with moto_server(tmp_path / "moto2.log", port=port):
        store = open_store(url)
        assert list(store.iter_keys()) == []
        info = store.put_bytes(b"after the restart")
        assert store.read_bytes(info.key) == b"after the restart"


def test_a_staging_object_that_cannot_be_removed_is_left_for_gc(
    s3_store: S3BlobStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    remove = s3_store.client.remove_object
    monkeypatch.setattr(
        s3_store.client, "remove_object", raising(ProtocolError("Connection aborted."))
    )
    data = os.urandom(DEFAULT_PART_SIZE + 1)
    info = s3_store.put_bytes(data)  # committed: the put succeeds all the same
    monkeypatch.setattr(s3_store.client, "remove_object", remove)
    assert s3_store.read_bytes(info.key) == data
    (staging,) = [n for n in stored_names(s3_store) if n.startswith("tmp/")]
    assert s3_store.gc(older_than=timedelta(0)) == [staging.split("@")[0]]
    assert [n.split("@")[0] for n in stored_names(s3_store)] == [f"objects/{info.key}"]
    s3_store.delete(info.key)


def test_a_blob_that_cannot_be_locked_is_not_kept(
    s3_store: S3BlobStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        s3_store.client,
        "set_object_retention",
        raising(ProtocolError("Connection aborted.")),
    )
    with pytest.raises(StorageUnavailableError, match="aborted"):
        s3_store.put_bytes(
            b"x" * (DEFAULT_PART_SIZE + 1),
            retain_until=datetime.now(UTC) + timedelta(days=1),
        )
    assert stored_names(s3_store) == []


def test_a_refused_delete_that_is_not_retention_is_reported(
    s3_store: S3BlobStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = s3_store.put_bytes(b"x")
    error = S3Error(
        urllib3.HTTPResponse(status=503),
        "SlowDown",
        "Reduce your rate",
        None,
        None,
        None,
    )
    monkeypatch.setattr(s3_store.client, "remove_object", raising(error))
    with pytest.raises(StorageError, match="SlowDown"):
        s3_store.delete(info.key)
    monkeypatch.undo()
    assert s3_store.read_bytes(info.key) == b"x"


def test_a_legal_hold_refuses_deletion_without_a_date(s3_store: S3BlobStorage) -> None:
    info = s3_store.put_bytes(b"held")
    s3_store.client.enable_object_legal_hold(s3_store.bucket, f"objects/{info.key}")
    with pytest.raises(StorageError, match="refused to delete") as caught:
        s3_store.delete(info.key)
    assert not isinstance(caught.value, RetentionError)
    assert s3_store.read_bytes(info.key) == b"held"


def raising(error: BaseException) -> Any:
    def fake(*args: object, **kwargs: object) -> None:
        raise error

    return fake
