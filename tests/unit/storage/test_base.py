"""The shared pieces: keys, the put-side Source and the verifying reader."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import storage
from storage import (
    BlobInfo,
    BlobNotFoundError,
    BlobReader,
    IntegrityError,
    TooLargeError,
)
from storage.base import (
    CHUNK_SIZE,
    Source,
    check_content_type,
    check_key,
    new_key,
    normalize_retain_until,
)

# --- keys, content types, retention dates ------------------------------------


def test_new_keys_are_valid_and_distinct() -> None:
    keys = {new_key() for _ in range(1000)}
    assert len(keys) == 1000
    assert all(check_key(key) == key for key in keys)


@pytest.mark.parametrize("key", ["", "../x", "0" * 31, "0" * 32 + "\n", "A" * 32, None])
def test_check_key_refuses_what_the_store_never_makes(key: object) -> None:
    with pytest.raises(BlobNotFoundError, match="not a key of this store"):
        check_key(key)


@pytest.mark.parametrize(
    "value",
    ["application/pdf", "text/plain; charset=utf-8", "application/pkcs7-signature"],
)
def test_content_type_is_accepted(value: str) -> None:
    assert check_content_type(value) == value


@pytest.mark.parametrize(
    "value",
    ["", "pdf", "text/plain\r\nX-Evil: 1", "text/plain; a=\x00", "a/" + "b" * 300],
)
def test_content_type_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="content type"):
        check_content_type(value)


def test_content_type_defaults_to_octet_stream() -> None:
    assert check_content_type(None) == "application/octet-stream"


NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_retention_date_is_converted_to_utc_and_rounded_up_to_a_millisecond() -> None:
    moscow = timezone(timedelta(hours=3))
    until = datetime(2030, 1, 1, 3, 0, 0, 123_401, tzinfo=moscow)
    assert normalize_retain_until(until, NOW) == datetime(
        2030, 1, 1, 0, 0, 0, 124_000, tzinfo=UTC
    )
    whole = datetime(2030, 1, 1, 0, 0, 0, 5_000, tzinfo=UTC)
    assert normalize_retain_until(whole, NOW) == whole


def test_retention_date_must_be_aware_and_in_the_future() -> None:
    assert normalize_retain_until(None, NOW) is None
    with pytest.raises(ValueError, match="timezone-aware"):
        normalize_retain_until(datetime(2030, 1, 1), NOW)  # naive
    with pytest.raises(ValueError, match="not in the future"):
        normalize_retain_until(NOW, NOW)


# --- Source ----------------------------------------------------------------


def test_source_fills_each_read_until_the_end() -> None:
    source = Source(iter([b"ab", b"", b"cdefg", b"h"]), max_size=None)
    assert source.read(3) == b"abc"
    assert source.read(3) == b"def"
    assert source.read(3) == b"gh"
    assert source.read(3) == b""
    assert source.size == 8
    assert source.hexdigest() == hashlib.sha256(b"abcdefgh").hexdigest()


def test_source_knows_its_end_without_losing_bytes() -> None:
    source = Source(iter([b"abcdef", b"gh"]), max_size=None)
    assert source.read(4) == b"abcd"
    assert not source.at_end()  # "ef" is still pending
    assert not source.at_end()
    assert source.read(10) == b"efgh"
    assert source.at_end()
    assert source.size == 8


def test_source_reads_a_file_like_object() -> None:
    class Trickle(io.RawIOBase):  # returns at most 2 bytes per call, as sockets do
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            chunk = self._data.read(min(2, len(buffer)))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    source = Source(Trickle(b"0123456"), max_size=None)
    assert source.read(5) == b"01234"
    assert source.read(5) == b"56"


def test_source_stops_just_past_max_size() -> None:
    pulled = []

    def stream() -> Iterator[bytes]:
        for i in range(100):
            pulled.append(i)
            yield b"x" * 10

    source = Source(stream(), max_size=25)
    with pytest.raises(TooLargeError) as caught:
        source.read(1000)
    assert caught.value.limit == 25
    assert source.error is caught.value
    assert len(pulled) == 3  # it did not read on to the end


def test_source_takes_exactly_max_size() -> None:
    source = Source(iter([b"x" * 10, b"y" * 15]), max_size=25)
    assert source.read(100) == b"x" * 10 + b"y" * 15


def test_source_remembers_the_streams_own_error() -> None:
    error = ConnectionResetError("client went away")

    def stream() -> Iterator[bytes]:
        yield b"abc"
        raise error

    source = Source(stream(), max_size=None)
    with pytest.raises(ConnectionResetError) as caught:
        source.read(10)
    assert caught.value is error
    assert source.error is error


@pytest.mark.parametrize("data", [b"bytes", bytearray(b"x"), "text"])
def test_source_refuses_a_bytes_like_or_text_stream(data: object) -> None:
    with pytest.raises(TypeError):
        Source(data, max_size=None)  # type: ignore[arg-type]


def test_source_refuses_a_stream_of_text() -> None:
    with pytest.raises(TypeError, match="str"):
        Source(iter(["text"]), max_size=None).read(10)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str"):
        Source(io.StringIO("text"), max_size=None).read(10)  # type: ignore[arg-type]


def test_source_refuses_a_negative_max_size() -> None:
    with pytest.raises(ValueError, match="negative"):
        Source(iter([]), max_size=-1)


# --- BlobReader ------------------------------------------------------------


class Raw:
    """A raw stream for a reader, recording what happens to it."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.closes = 0

    def read(self, size: int) -> bytes:
        return self._data.read(size)

    def close(self) -> None:
        self.closes += 1


def reader_over(stored: bytes, recorded: bytes | None = None) -> tuple[BlobReader, Raw]:
    """A reader over ``stored`` bytes whose metadata describes ``recorded``."""
    recorded = stored if recorded is None else recorded
    info = BlobInfo(
        key="0" * 32,
        sha256=hashlib.sha256(recorded).hexdigest(),
        size=len(recorded),
        content_type="application/octet-stream",
    )
    raw = Raw(stored)
    return BlobReader(info, read=raw.read, close=raw.close), raw


def test_reader_returns_the_bytes_and_closes_the_raw_stream_once() -> None:
    reader, raw = reader_over(b"hello world")
    with reader:
        assert reader.readable()
        assert reader.read(0) == b""
        assert reader.read(5) == b"hello"
        assert reader.read() == b" world"
        assert reader.read(5) == b""
    reader.close()
    assert raw.closes == 1


def test_reader_checks_an_empty_blob_too() -> None:
    good, _ = reader_over(b"")
    assert good.read(10) == b""
    bad, _ = reader_over(b"", recorded=b"x")
    with pytest.raises(IntegrityError, match="truncated: 0 of 1 bytes"):
        bad.read(10)


@pytest.mark.parametrize(
    ("stored", "recorded", "problem"),
    [
        (b"hellO world", b"hello world", "sha256 is"),
        (b"hello worl", b"hello world", "truncated: 10 of 11 bytes"),
        (b"hello world!", b"hello world", "longer than the recorded 11 bytes"),
    ],
)
def test_reader_fails_before_the_end_of_a_damaged_blob(
    stored: bytes, recorded: bytes, problem: str
) -> None:
    reader, _ = reader_over(stored, recorded)
    out = [reader.read(6)]
    assert out[0] == stored[:6]
    with pytest.raises(IntegrityError, match=problem) as caught:
        out.extend(iter(lambda: reader.read(4), b""))
    assert caught.value.key == "0" * 32
    assert len(b"".join(out)) < len(recorded)  # never the full recorded length
    with pytest.raises(IntegrityError, match=problem):
        reader.read(100)


def test_reader_iterates_in_chunks_not_lines() -> None:
    data = b"\n".join([b"line"] * (CHUNK_SIZE // 2))
    reader, _ = reader_over(data)
    pieces = list(reader)
    assert len(data) > 2 * CHUNK_SIZE
    assert [len(p) for p in pieces] == [
        min(CHUNK_SIZE, len(data) - start) for start in range(0, len(data), CHUNK_SIZE)
    ]
    assert b"".join(pieces) == data


def test_reader_readinto_fills_a_buffer() -> None:
    reader, _ = reader_over(b"abcdef")
    buffer = bytearray(4)
    assert reader.readinto(buffer) == 4
    assert buffer == b"abcd"
    assert reader.readinto(buffer) == 2
    assert buffer[:2] == b"ef"


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=5000),
    sizes=st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=20),
    flip=st.one_of(st.none(), st.integers(min_value=0)),
)
def test_reader_delivers_everything_or_fails_whatever_the_read_sizes(
    data: bytes, sizes: list[int], flip: int | None
) -> None:
    stored = data
    if flip is not None and data:
        i = flip % len(data)
        stored = data[:i] + bytes([data[i] ^ 1]) + data[i + 1 :]
    reader, _ = reader_over(stored, recorded=data)
    out = bytearray()
    try:
        for i in range(10_000):
            chunk = reader.read(sizes[i % len(sizes)])
            if not chunk:
                break
            out += chunk
    except IntegrityError:
        assert stored != data
        assert len(out) < len(data)
    else:
        assert stored == data
        assert out == data


# --- the package ----------------------------------------------------------------


def test_the_issue_spellings_are_the_same_classes() -> None:
    assert storage.BlobNotFound is storage.BlobNotFoundError
    assert storage.TooLarge is storage.TooLargeError
    assert storage.NotSupported is storage.NotSupportedError
    assert storage.StorageUnavailable is storage.StorageUnavailableError
    for name in storage.__all__:
        assert getattr(storage, name) is not None
    for error in (
        storage.BlobNotFoundError,
        storage.IntegrityError,
        storage.TooLargeError,
        storage.RetentionError,
        storage.NotSupportedError,
        storage.StorageUnavailableError,
        storage.InvalidStorageURLError,
    ):
        assert issubclass(error, storage.StorageError)
