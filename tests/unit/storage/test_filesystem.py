"""What only the filesystem backend does: layout, durability, crashes, gc, modes.

The behaviour shared with S3 is tested in tests/integration/storage/test_contract.py.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import (
    BlobInfo,
    BlobNotFoundError,
    FilesystemBlobStorage,
    IntegrityError,
    NotSupportedError,
    RetentionError,
    StorageError,
)

MiB = 1 << 20


@pytest.fixture
def store(tmp_path: Path) -> FilesystemBlobStorage:
    return FilesystemBlobStorage(tmp_path / "blobs")


def object_dir(store: FilesystemBlobStorage, key: str) -> Path:
    return store.root / "objects" / key[:2] / key[2:4] / key


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def backdate(path: Path, age: timedelta) -> None:
    then = time.time() - age.total_seconds()
    for p in [path, *path.rglob("*")]:
        os.utime(p, (then, then))


def test_object_is_a_directory_of_bytes_and_metadata(
    store: FilesystemBlobStorage,
) -> None:
    info = store.put_bytes(b"%PDF", content_type="application/pdf")
    obj = object_dir(store, info.key)
    assert sorted(p.name for p in obj.iterdir()) == ["data", "meta.json"]
    assert (obj / "data").read_bytes() == b"%PDF"
    assert mode(obj / "data") == mode(obj / "meta.json") == 0o444
    assert mode(obj) == 0o700
    assert list((store.root / "tmp").iterdir()) == []


def test_put_syncs_the_files_then_the_directory_of_the_rename(
    store: FilesystemBlobStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three fsyncs a put (issue #18): data and metadata before the rename,
    the directory it lands in after; the staging and shard directories ride
    on that last one (see the module docstring)."""
    events: list[tuple[str, str]] = []
    fsync, rename = os.fsync, os.rename

    def spy_fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def spy_rename(src: str | Path, dst: str | Path) -> None:
        events.append(("rename", f"{src} -> {dst}"))
        rename(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "rename", spy_rename)
    info = store.put_bytes(b"x")

    target = object_dir(store, info.key)
    renames = [i for i, (kind, _) in enumerate(events) if kind == "rename"]
    assert len(renames) == 1
    commit = renames[0]
    staging = events[commit][1].split(" -> ")[0]
    assert events[commit][1] == f"{staging} -> {target}"
    before = [path for kind, path in events[:commit] if kind == "fsync"]
    after = [path for kind, path in events[commit + 1 :] if kind == "fsync"]
    assert before == [f"{staging}/data", f"{staging}/meta.json"]
    assert after == [str(target.parent)]
    # The shards exist now: a second put makes the same three, no more.
    events.clear()
    store.put_bytes(b"y")
    assert [kind for kind, _ in events].count("fsync") == 3


CRASHING_WRITER = """
import sys, time
from storage import FilesystemBlobStorage

def stream():
    for _ in range(4):
        yield b"x" * (1 << 20)
    print("streaming", flush=True)
    time.sleep(60)
    yield b"never"

FilesystemBlobStorage(sys.argv[1]).put(stream())
"""


def test_a_crash_mid_put_leaves_no_object_and_gc_removes_the_rest(
    store: FilesystemBlobStorage,
) -> None:
    live = store.put_bytes(b"live")
    backdate(store.root / "objects", timedelta(days=30))  # old, and still not garbage
    writer = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(store.root)],
        stdout=subprocess.PIPE,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == b"streaming\n"
    finally:
        writer.kill()  # SIGKILL: no cleanup code runs
        writer.wait()
        if writer.stdout:
            writer.stdout.close()

    assert list(store.iter_keys()) == [live.key]
    (leftover,) = (store.root / "tmp").iterdir()
    assert (leftover / "data").stat().st_size >= 3 * MiB
    assert not (leftover / "meta.json").exists()

    assert store.gc(older_than=timedelta(hours=1)) == []  # it might still be writing
    backdate(leftover, timedelta(hours=2))
    assert store.gc(older_than=timedelta(hours=1)) == [f"tmp/{leftover.name}"]
    assert list((store.root / "tmp").iterdir()) == []
    assert store.read_bytes(live.key) == b"live"


def test_gc_judges_a_write_by_its_newest_file(store: FilesystemBlobStorage) -> None:
    tmp = store.root / "tmp"
    slow = tmp / "put-slow"
    slow.mkdir()
    (slow / "data").write_bytes(b"started long ago")
    backdate(slow, timedelta(hours=2))
    with (slow / "data").open("ab") as data:  # and still being written to:
        data.write(b" and still arriving")  # the file is new, its directory old
    assert time.time() - slow.stat().st_mtime > 3600
    stale_file = tmp / "stray"
    stale_file.write_bytes(b"")
    backdate(stale_file, timedelta(hours=2))
    trash = tmp / "del-0123"
    trash.mkdir(mode=0o555)  # a crashed delete; its age does not matter
    assert sorted(store.gc(older_than=timedelta(hours=1))) == [
        "tmp/del-0123",
        "tmp/stray",
    ]
    assert [p.name for p in tmp.iterdir()] == ["put-slow"]


def test_retained_object_is_read_only_and_refuses_deletion_until_its_date(
    tmp_path: Path,
) -> None:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    store = FilesystemBlobStorage(tmp_path / "blobs", clock=lambda: now)
    info = store.put_bytes(b"signed", retain_until=now + timedelta(days=365))
    obj = object_dir(store, info.key)
    assert mode(obj) == 0o555
    assert mode(obj / "data") == mode(obj / "meta.json") == 0o444

    with pytest.raises(RetentionError) as caught:
        store.delete(info.key)
    assert caught.value.retain_until == now + timedelta(days=365)
    assert store.read_bytes(info.key) == b"signed"

    now += timedelta(days=366)
    store.delete(info.key)
    assert not obj.exists()
    assert list((store.root / "tmp").iterdir()) == []


def test_retention_survives_reopening_the_store(tmp_path: Path) -> None:
    until = datetime.now(UTC) + timedelta(days=1)
    info = FilesystemBlobStorage(tmp_path).put_bytes(b"x", retain_until=until)
    reopened = FilesystemBlobStorage(tmp_path)
    assert reopened.stat(info.key) == info
    with pytest.raises(RetentionError):
        reopened.delete(info.key)


@pytest.mark.parametrize(
    "meta",
    [
        b"{",
        b"[]",
        b'{"sha256": "00", "size": 1, "content_type": "a/b", "retain_until": null}',
        b'{"sha256": "' + b"0" * 64 + b'", "size": -1, "content_type": "a/b",'
        b' "retain_until": null}',
        b'{"sha256": "' + b"0" * 64 + b'", "size": 1, "content_type": "a/b"}',
        b'{"sha256": "' + b"0" * 64 + b'", "size": 1, "content_type": "a/b",'
        b' "retain_until": "yesterday"}',
    ],
    ids=["not-json", "not-object", "short-digest", "negative-size", "missing", "date"],
)
def test_damaged_metadata_is_an_integrity_error(
    store: FilesystemBlobStorage, meta: bytes
) -> None:
    info = store.put_bytes(b"x")
    path = object_dir(store, info.key) / "meta.json"
    path.chmod(0o600)
    path.write_bytes(meta)
    with pytest.raises(IntegrityError, match="metadata is unreadable"):
        store.stat(info.key)
    with pytest.raises(IntegrityError):
        store.open(info.key)


def test_only_complete_objects_are_keys(store: FilesystemBlobStorage) -> None:
    info = store.put_bytes(b"x")
    objects = store.root / "objects"
    half = objects / "ab" / "cd" / ("abcd" + "0" * 28)
    half.mkdir(parents=True)
    (half / "data").write_bytes(b"no metadata")
    (objects / "ab" / "cd" / "README").write_bytes(b"")
    (objects / "zz" / "yy" / ("zzyy" + "0" * 28)).mkdir(parents=True)
    (objects / "ab" / "ef" / ("abcd" + "0" * 28)).mkdir(parents=True)  # wrong shard
    assert list(store.iter_keys()) == [info.key]
    with pytest.raises(BlobNotFoundError):
        store.open("abcd" + "0" * 28)


def test_a_disk_error_is_a_storage_error_and_leaves_nothing(
    store: FilesystemBlobStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StorageError, match="No space left") as caught:
        store.put_bytes(b"x" * 1000)
    assert isinstance(caught.value.__cause__, OSError)
    monkeypatch.undo()
    assert list(store.iter_keys()) == []
    assert list((store.root / "tmp").iterdir()) == []


def test_a_stream_oserror_is_not_mistaken_for_a_disk_error(
    store: FilesystemBlobStorage,
) -> None:
    def stream() -> Iterator[bytes]:
        yield b"abc"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.put(stream())
    assert list((store.root / "tmp").iterdir()) == []


def test_presigned_urls_are_not_supported(store: FilesystemBlobStorage) -> None:
    info = store.put_bytes(b"x")
    with pytest.raises(NotSupportedError, match="presigned"):
        store.presigned_url(info.key, timedelta(minutes=5))
    with pytest.raises(BlobNotFoundError):
        store.presigned_url("0" * 32, timedelta(minutes=5))


def test_concurrent_puts_get_distinct_keys(store: FilesystemBlobStorage) -> None:
    results: list[tuple[str, bytes]] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(10):
            data = f"{n}-{i}".encode() * 1000
            key = store.put_bytes(data).key
            with lock:
                results.append((key, data))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({key for key, _ in results}) == 80
    assert set(store.iter_keys()) == {key for key, _ in results}
    for key, data in results:
        assert store.read_bytes(key) == data


@settings(max_examples=40, deadline=None)
@given(
    data=st.binary(max_size=3 * MiB // 2),
    cut=st.lists(st.integers(min_value=0, max_value=3 * MiB // 2), max_size=6),
    read_size=st.integers(min_value=1, max_value=MiB),
)
def test_round_trip_whatever_the_chunking(
    data: bytes, cut: list[int], read_size: int
) -> None:
    bounds = sorted({0, len(data), *(c for c in cut if c <= len(data))})
    pieces = [data[a:b] for a, b in itertools.pairwise(bounds)]
    with tempfile.TemporaryDirectory() as root:
        store = FilesystemBlobStorage(root)
        info = store.put(iter(pieces))
        assert info.sha256 == hashlib.sha256(data).hexdigest()
        out = bytearray()
        with store.open(info.key) as reader:
            while chunk := reader.read(read_size):
                out += chunk
        assert out == data


def test_root_is_created_with_its_areas(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b"
    store = FilesystemBlobStorage(root)
    assert store.root == root
    assert (root / "objects").is_dir()
    assert (root / "tmp").is_dir()
    assert repr(store) == f"FilesystemBlobStorage({str(root)!r})"


def test_a_blob_deleted_between_stat_and_open_is_not_found(
    store: FilesystemBlobStorage,
) -> None:
    info = store.put_bytes(b"x")
    obj = object_dir(store, info.key)
    (obj / "data").unlink()  # what a concurrent delete leaves for an instant
    with pytest.raises(BlobNotFoundError):
        store.open(info.key)


def test_a_blob_deleted_concurrently_is_not_found_by_the_second_delete(
    store: FilesystemBlobStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = store.put_bytes(b"x")
    stat = store.stat

    def stat_then_lose_the_race(key: str) -> BlobInfo:
        found = stat(key)
        shutil.rmtree(object_dir(store, key))  # the other delete wins here
        return found

    monkeypatch.setattr(store, "stat", stat_then_lose_the_race)
    with pytest.raises(BlobNotFoundError):
        store.delete(info.key)


def test_gc_reports_only_what_it_could_remove(
    store: FilesystemBlobStorage,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stuck = store.root / "tmp" / "del-stuck"
    stuck.mkdir()

    def busy(path: object) -> None:
        raise OSError(errno.EBUSY, "Device or resource busy")

    monkeypatch.setattr(shutil, "rmtree", busy)
    assert store.gc(older_than=timedelta(0)) == []
    assert "could not remove" in caplog.text
    monkeypatch.undo()
    assert store.gc(older_than=timedelta(0)) == ["tmp/del-stuck"]
    assert not stuck.exists()


def test_gc_counts_an_entry_another_gc_removed_first(
    store: FilesystemBlobStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    (store.root / "tmp" / "del-raced").mkdir()
    rmtree = shutil.rmtree

    def other_gc_was_faster(path: str | Path) -> None:
        rmtree(path)
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))

    monkeypatch.setattr(shutil, "rmtree", other_gc_was_faster)
    assert store.gc(older_than=timedelta(0)) == ["tmp/del-raced"]
