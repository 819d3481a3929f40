"""The BlobStorage contract, run against every backend (the ``store`` fixture)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from storage import (
    BlobNotFoundError,
    BlobStorage,
    IntegrityError,
    RetentionError,
    TooLargeError,
)
from storage.base import CHUNK_SIZE
from storage.s3 import DEFAULT_PART_SIZE

from .backends import plant_outside, stored_names, tamper

MiB = 1 << 20


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def failing_stream(good: int, error: Exception) -> Iterator[bytes]:
    """``good`` bytes in 1 MiB chunks, then ``error``."""
    block = os.urandom(MiB)
    sent = 0
    while sent < good:
        piece = block[: min(MiB, good - sent)]
        sent += len(piece)
        yield piece
    raise error


@pytest.mark.parametrize(
    "size",
    [0, 1, 1000, CHUNK_SIZE + 7, DEFAULT_PART_SIZE, DEFAULT_PART_SIZE + 1],
    ids=["empty", "1B", "1000B", "chunk+7", "one-part", "one-part+1"],
)
def test_put_then_read_returns_the_bytes_and_their_digest(
    store: BlobStorage, size: int
) -> None:
    data = os.urandom(size)
    info = store.put(io.BytesIO(data))
    assert info.size == size
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert store.read_bytes(info.key) == data
    assert store.stat(info.key) == info


def test_put_reads_an_iterable_of_chunks_skipping_empty_ones(
    store: BlobStorage,
) -> None:
    parts = [b"", b"%PDF-1.7\n", b"", b"x" * 70_000, b"\n%%EOF"]
    info = store.put(iter(parts), content_type="application/pdf")
    assert store.read_bytes(info.key) == b"".join(parts)
    assert info.sha256 == hashlib.sha256(b"".join(parts)).hexdigest()


def test_put_bytes_is_put_of_the_bytes(store: BlobStorage) -> None:
    info = store.put_bytes(b"act", content_type="text/plain")
    assert (info.size, info.content_type) == (3, "text/plain")
    assert store.read_bytes(info.key) == b"act"


def test_put_refuses_a_bytes_object_as_stream(store: BlobStorage) -> None:
    with pytest.raises(TypeError, match="put_bytes"):
        store.put(b"not a stream")  # type: ignore[arg-type]
    assert stored_names(store) == []


def test_content_type_defaults_and_is_kept(store: BlobStorage) -> None:
    plain = store.put_bytes(b"1")
    pdf = store.put_bytes(b"2", content_type="application/pdf")
    assert store.stat(plain.key).content_type == "application/octet-stream"
    assert store.stat(pdf.key).content_type == "application/pdf"
    with store.open(pdf.key) as reader:
        assert reader.info == pdf


def test_header_injection_in_content_type_is_refused_before_storing(
    store: BlobStorage,
) -> None:
    with pytest.raises(ValueError, match="content type"):
        store.put_bytes(b"x", content_type="text/plain\r\nX-Evil: 1")
    assert stored_names(store) == []


def test_reader_reads_in_sizes_and_iterates_in_chunks(store: BlobStorage) -> None:
    data = os.urandom(2 * CHUNK_SIZE + 5)
    key = store.put_bytes(data).key
    with store.open(key) as reader:
        head = reader.read(10)
        rest = list(reader)
    assert head == data[:10]
    assert all(0 < len(chunk) <= CHUNK_SIZE for chunk in rest)
    assert head + b"".join(rest) == data


def test_reader_works_with_standard_stream_tools(store: BlobStorage) -> None:
    data = os.urandom(300_000)
    key = store.put_bytes(data).key
    out = io.BytesIO()
    with store.open(key) as reader:
        shutil.copyfileobj(io.BufferedReader(reader, 4096), out)
    assert out.getvalue() == data


def test_reader_refuses_reads_after_close(store: BlobStorage) -> None:
    key = store.put_bytes(b"abc").key
    with store.open(key) as reader:
        assert reader.read(1) == b"a"
    assert reader.closed
    with pytest.raises(ValueError, match="closed"):
        reader.read(1)


def test_iter_keys_lists_exactly_the_complete_blobs(store: BlobStorage) -> None:
    assert list(store.iter_keys()) == []
    keys = {store.put_bytes(bytes([i])).key for i in range(3)}
    with pytest.raises(RuntimeError):
        store.put(failing_stream(100, RuntimeError("client went away")))
    assert set(store.iter_keys()) == keys
    assert len(keys) == 3


def test_delete_removes_the_blob(store: BlobStorage) -> None:
    kept, gone = store.put_bytes(b"kept"), store.put_bytes(b"gone")
    assert store.exists(gone.key)
    store.delete(gone.key)
    assert not store.exists(gone.key)
    assert list(store.iter_keys()) == [kept.key]
    with pytest.raises(BlobNotFoundError):
        store.read_bytes(gone.key)
    with pytest.raises(BlobNotFoundError):
        store.delete(gone.key)
    assert store.read_bytes(kept.key) == b"kept"


def test_unknown_key_is_not_found(store: BlobStorage) -> None:
    key = "0" * 32
    assert not store.exists(key)
    for operation in (store.open, store.stat, store.read_bytes, store.delete):
        with pytest.raises(BlobNotFoundError) as caught:
            operation(key)
        assert caught.value.key == key


MALFORMED_KEYS = [
    "",
    "..",
    "../secret",
    "../../secret",
    "/etc/passwd",
    "objects/../secret",
    "secret",
    "A" * 32,
    "0" * 31,
    "0" * 33,
    "0" * 31 + "/",
    "0" * 32 + "\n",
    "%2e%2e%2fsecret",
    "..\\secret",
]


@pytest.mark.parametrize("key", MALFORMED_KEYS)
def test_malformed_key_is_refused_and_touches_nothing_outside(
    store: BlobStorage, key: str
) -> None:
    intact = plant_outside(store)
    assert not store.exists(key)
    for operation in (store.open, store.stat, store.read_bytes, store.delete):
        with pytest.raises(BlobNotFoundError, match="not a key"):
            operation(key)
    assert intact()


TAMPERINGS: dict[str, Callable[[bytes], bytes]] = {
    "first byte flipped": lambda d: bytes([d[0] ^ 1]) + d[1:],
    "middle byte flipped": lambda d: d[:1000] + bytes([d[1000] ^ 0x80]) + d[1001:],
    "last byte flipped": lambda d: d[:-1] + bytes([d[-1] ^ 0xFF]),
    "truncated": lambda d: d[:-1],
    "extended": lambda d: d + b"\0",
}


@pytest.mark.parametrize("how", TAMPERINGS)
def test_tampered_bytes_fail_the_integrity_check(store: BlobStorage, how: str) -> None:
    data = os.urandom(3 * CHUNK_SIZE)
    key = store.put_bytes(data).key
    tamper(store, key, TAMPERINGS[how])
    with pytest.raises(IntegrityError) as caught:
        store.read_bytes(key)
    assert caught.value.key == key


def test_tampered_blob_never_hands_out_its_last_chunk(store: BlobStorage) -> None:
    data = os.urandom(3 * CHUNK_SIZE)
    key = store.put_bytes(data).key
    tamper(store, key, TAMPERINGS["last byte flipped"])
    received: list[bytes] = []
    with store.open(key) as reader:
        with pytest.raises(IntegrityError):
            received.extend(reader)  # list.extend keeps what came before the error
        with pytest.raises(IntegrityError):  # and it stays failed
            reader.read(1)
    assert 0 < sum(map(len, received)) < len(data)
    assert b"".join(received) == data[: len(b"".join(received))]


@pytest.mark.parametrize("error_type", [RuntimeError, ConnectionResetError])
@pytest.mark.parametrize(
    "good", [100, 2 * DEFAULT_PART_SIZE + MiB], ids=["in-first-part", "after-two-parts"]
)
def test_interrupted_put_leaves_nothing(
    store: BlobStorage, good: int, error_type: type[Exception]
) -> None:
    # The stream's own error comes out unchanged: a client hanging up (an
    # OSError) is not mistaken for the storage failing.
    error = error_type("the client went away")
    with pytest.raises(error_type) as caught:
        store.put(failing_stream(good, error))
    assert caught.value is error
    assert list(store.iter_keys()) == []
    assert stored_names(store) == []


@pytest.mark.parametrize(
    "limit", [1000, DEFAULT_PART_SIZE + MiB], ids=["in-first-part", "after-a-part"]
)
def test_too_large_put_leaves_nothing(store: BlobStorage, limit: int) -> None:
    with pytest.raises(TooLargeError) as caught:
        store.put(
            failing_stream(3 * limit, AssertionError("read past the end")),
            max_size=limit,
        )
    assert caught.value.limit == limit
    assert str(limit) in str(caught.value)
    assert stored_names(store) == []


def test_put_of_exactly_max_size_is_accepted(store: BlobStorage) -> None:
    info = store.put_bytes(b"x" * 1000, max_size=1000)
    assert store.read_bytes(info.key) == b"x" * 1000


def test_retained_blob_cannot_be_deleted_before_its_date(store: BlobStorage) -> None:
    until = datetime.now(UTC) + timedelta(days=1)
    info = store.put_bytes(b"signed original", retain_until=until)
    assert info.retain_until is not None
    assert until <= info.retain_until < until + timedelta(milliseconds=1)
    assert store.stat(info.key).retain_until == info.retain_until
    with pytest.raises(RetentionError) as caught:
        store.delete(info.key)
    assert caught.value.retain_until == info.retain_until
    assert info.retain_until.isoformat() in str(caught.value)
    assert store.read_bytes(info.key) == b"signed original"


def test_retained_blob_can_be_deleted_after_its_date(store: BlobStorage) -> None:
    info = store.put_bytes(b"x", retain_until=datetime.now(UTC) + timedelta(seconds=1))
    with pytest.raises(RetentionError):
        store.delete(info.key)
    assert info.retain_until is not None
    time.sleep(max(0.0, (info.retain_until - datetime.now(UTC)).total_seconds()) + 0.1)
    store.delete(info.key)
    assert not store.exists(info.key)


@pytest.mark.parametrize(
    ("until", "message"),
    [
        (datetime(2099, 1, 1), "timezone-aware"),  # naive on purpose
        (datetime(2020, 1, 1, tzinfo=UTC), "not in the future"),
    ],
    ids=["naive", "past"],
)
def test_bad_retention_date_is_refused_before_storing(
    store: BlobStorage, until: datetime, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        store.put_bytes(b"x", retain_until=until)
    assert stored_names(store) == []


def test_gc_leaves_complete_blobs_alone(store: BlobStorage) -> None:
    blobs = [store.put_bytes(os.urandom(100)) for _ in range(2)]
    assert store.gc(older_than=timedelta(0)) == []
    for info in blobs:
        assert store.stat(info.key) == info
        assert hashlib.sha256(store.read_bytes(info.key)).hexdigest() == info.sha256
