"""The blob-store interface shared by the backends.

A blob is an immutable byte string with a key the store made up, its SHA-256,
its size, its content type and, for a signed original, a date before which it
cannot be deleted. docflow keeps the key and the digest in its database row;
the store keeps the digest beside the bytes as well, so that every read can
prove the bytes are the ones that were written.

The pieces the two backends share live here too: making and checking keys,
reading a ``put`` stream in bounded, hashed chunks (:class:`Source`), and the
reader that checks the digest at the end of a download (:class:`BlobReader`).
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

from .errors import (
    BlobNotFoundError,
    IntegrityError,
    TooLargeError,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_CONTENT_TYPE",
    "DEFAULT_GC_AGE",
    "BlobInfo",
    "BlobReader",
    "BlobStorage",
    "PutStream",
    "Readable",
    "RetentionMode",
    "Source",
    "check_content_type",
    "check_key",
    "check_max_size",
    "new_key",
    "normalize_retain_until",
    "utcnow",
]

#: The unit in which streams are read, written and iterated. Big enough that the
#: per-call overhead vanishes, small enough to be irrelevant beside 64 MiB.
CHUNK_SIZE = 1 << 20

DEFAULT_CONTENT_TYPE = "application/octet-stream"

#: How old a leftover of an interrupted write must be before ``gc`` removes it.
#: A day is far longer than any upload, so a slow one is never mistaken for a
#: dead one.
DEFAULT_GC_AGE = timedelta(days=1)

#: S3 Object Lock modes (AWS S3 User Guide, "Object Lock: retention modes").
#: COMPLIANCE cannot be lifted by anyone before the date; GOVERNANCE can be
#: by a user holding s3:BypassGovernanceRetention.
RetentionMode = Literal["COMPLIANCE", "GOVERNANCE"]

# uuid4().hex: 122 random bits, so two writers never pick the same key, and an
# alphabet with no "/", "." or "\\" in it, so a key can never name a path.
_KEY_RE = re.compile(r"[0-9a-f]{32}")

# type "/" subtype [";" parameters], printable ASCII only (RFC 9110 §8.3):
# the value ends up in an HTTP header, where CR or LF would split it.
_CONTENT_TYPE_RE = re.compile(
    r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(?:[ \t]*;[ -~]*)?"
)
_CONTENT_TYPE_MAX = 255


class Readable(Protocol):
    """Anything with ``read(n) -> bytes``: a file, ``io.BytesIO``, a request body."""

    def read(self, size: int = -1, /) -> bytes: ...


#: What ``put`` accepts: a readable binary stream, or an iterable of byte chunks
#: (a generator producing an act page by page).
PutStream = Readable | Iterable[bytes]


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """What the store knows about one blob.

    :ivar key: the store's name for it; opaque to callers.
    :ivar sha256: lowercase hex SHA-256 of the bytes.
    :ivar size: length in bytes.
    :ivar content_type: the media type given to ``put``.
    :ivar retain_until: the date before which the blob cannot be deleted,
        in UTC, or ``None``.
    """

    key: str
    sha256: str
    size: int
    content_type: str
    retain_until: datetime | None = None


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the stores' default clock)."""
    return datetime.now(UTC)


def new_key() -> str:
    """A fresh random key."""
    return uuid.uuid4().hex


def check_key(key: object) -> str:
    """Return ``key`` if it is a key this store could have made.

    :raises BlobNotFoundError: for anything else (``"../x"``, ``""``, ``None``):
        such a string names no blob, and it never reaches a path or a URL.
    """
    if isinstance(key, str) and _KEY_RE.fullmatch(key):
        return key
    raise BlobNotFoundError(str(key), "not a key of this store")


def check_content_type(content_type: str | None) -> str:
    """Return the content type to store, the default for ``None``.

    :raises ValueError: if it is not a ``type/subtype`` header value.
    """
    if content_type is None:
        return DEFAULT_CONTENT_TYPE
    if len(content_type) > _CONTENT_TYPE_MAX or not _CONTENT_TYPE_RE.fullmatch(
        content_type
    ):
        raise ValueError(f"not a valid content type: {content_type!r}")
    return content_type


def check_max_size(max_size: int | None) -> None:
    """:raises ValueError: if ``max_size`` is negative."""
    if max_size is not None and max_size < 0:
        raise ValueError(f"max_size must not be negative, got {max_size}")


def normalize_retain_until(
    retain_until: datetime | None, now: datetime
) -> datetime | None:
    """Return ``retain_until`` in UTC, rounded up to a whole millisecond.

    S3 keeps retention dates to the millisecond; rounding up (never down) makes
    both backends store the same date and never shortens a retention period.

    :raises ValueError: if the date is naive or not in the future.
    """
    if retain_until is None:
        return None
    if retain_until.tzinfo is None or retain_until.utcoffset() is None:
        raise ValueError("retain_until must be timezone-aware")
    value = retain_until.astimezone(UTC)
    sub_ms = value.microsecond % 1000
    if sub_ms:
        value += timedelta(microseconds=1000 - sub_ms)
    if value <= now:
        raise ValueError(f"retain_until {value.isoformat()} is not in the future")
    return value


class Source:
    """A ``put`` stream read in bounded chunks, hashed and counted as it goes.

    ``read(n)`` returns exactly ``n`` bytes until the end of the stream, so a
    caller that asks for one S3 part gets one part, and at most one chunk of
    the stream is held beyond what was asked for. The stream's own exceptions
    pass through unchanged and are remembered in :attr:`error`, so a backend
    can tell "the caller's stream failed" from "the storage failed".
    """

    def __init__(self, stream: PutStream, *, max_size: int | None) -> None:
        if isinstance(stream, bytes | bytearray | memoryview | str):
            # Iterating bytes yields ints; a str is text. Either is a mistake.
            raise TypeError(
                "put() takes a binary stream or an iterable of bytes; "
                "use put_bytes() for a bytes object"
            )
        check_max_size(max_size)
        self._read: Callable[[int], bytes] | None = None
        self._chunks: Iterator[bytes] = iter(())
        if callable(getattr(stream, "read", None)):
            self._read = stream.read  # type: ignore[union-attr]
        else:
            self._chunks = iter(stream)  # type: ignore[arg-type]
        self._pending = b""
        self._eof = False
        self._hash = hashlib.sha256()
        self._max_size = max_size
        #: Bytes taken from the stream so far.
        self.size = 0
        #: The exception that ended the stream, if the stream (or its limit) did.
        self.error: BaseException | None = None

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes (``size`` > 0); fewer only at the end.

        :raises TooLargeError: as soon as the stream passes ``max_size``.
        """
        parts: list[bytes] = []
        wanted = size
        while wanted > 0:
            if not self._pending:
                self._pending = self._pull(wanted)
                if not self._pending:
                    break
            # Slicing a bytes object to its full length returns it, not a copy.
            chunk, self._pending = self._pending[:wanted], self._pending[wanted:]
            parts.append(chunk)
            wanted -= len(chunk)
        # Joining one part would copy it for nothing (S3 parts are 8 MiB).
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def at_end(self) -> bool:
        """Whether the stream is exhausted; may read one chunk ahead to know."""
        if not self._pending:
            self._pending = self._pull(CHUNK_SIZE)
        return not self._pending

    def hexdigest(self) -> str:
        """SHA-256 of the bytes taken so far (of all of them, at the end)."""
        return self._hash.hexdigest()

    def _pull(self, wanted: int) -> bytes:
        """The next bytes from the stream, b"" at its end; hashed and counted."""
        if self._eof:
            return b""
        try:
            data = self._next(wanted)
        except BaseException as exc:
            self.error = exc
            raise
        if not data:
            self._eof = True
            return b""
        self.size += len(data)
        if self._max_size is not None and self.size > self._max_size:
            self.error = TooLargeError(self._max_size)
            raise self.error
        self._hash.update(data)
        return data

    def _next(self, wanted: int) -> bytes:
        if self._read is not None:
            data = self._read(wanted)
            if not isinstance(data, bytes | bytearray | memoryview):
                raise TypeError(
                    f"stream.read() returned {type(data).__name__}, not bytes"
                )
            return bytes(data) if not isinstance(data, bytes) else data
        # An empty chunk from a generator is not the end of the stream.
        for item in self._chunks:
            if not isinstance(item, bytes | bytearray | memoryview):
                raise TypeError(
                    f"put() stream yielded {type(item).__name__}, not bytes"
                )
            if item:
                return bytes(item) if not isinstance(item, bytes) else item
        return b""


class BlobReader(io.RawIOBase):
    """A readable binary stream over one blob that checks its SHA-256.

    Use it as a context manager. ``read(n)`` and iteration (chunks of
    :data:`CHUNK_SIZE` bytes, not lines) hand the bytes out as they arrive.
    The read that would deliver the last recorded byte first compares the
    digest of everything read, and that no byte follows, with the recorded
    :attr:`info`; on a mismatch it raises :class:`IntegrityError` instead of
    returning the last chunk, and so does every later read. A blob cut short
    raises where its end should have been. A consumer that reads to the end
    therefore either gets all the right bytes or an error, never the whole of
    a changed blob.

    :ivar info: the recorded size, digest and content type (for the headers of
        an HTTP response, before the first byte is read).
    """

    def __init__(
        self,
        info: BlobInfo,
        *,
        read: Callable[[int], bytes],
        close: Callable[[], None],
    ) -> None:
        super().__init__()
        self.info = info
        self._read_raw = read
        self._close_raw = close
        self._hash = hashlib.sha256()
        self._remaining = info.size
        self._verified = False
        self._failure: IntegrityError | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        """Up to ``size`` bytes, all that is left if ``size`` is negative or None.

        :raises IntegrityError: when the blob turns out not to match its digest.
        """
        if self.closed:
            raise ValueError("read from a closed BlobReader")
        if self._failure is not None:
            raise self._failure
        if size is None or size < 0:
            return self.readall()
        if size == 0:
            return b""
        if self._remaining == 0:
            if not self._verified:  # an empty blob: nothing to read, still check
                self._verify()
            return b""
        data = self._read_raw(min(size, self._remaining))
        if not data:
            read = self.info.size - self._remaining
            raise self._fail(f"truncated: {read} of {self.info.size} bytes")
        self._hash.update(data)
        self._remaining -= len(data)
        if self._remaining == 0:
            self._verify()
        return data

    def readall(self) -> bytes:
        parts = []
        while chunk := self.read(CHUNK_SIZE):
            parts.append(chunk)
        return b"".join(parts)

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        chunk = self.read(CHUNK_SIZE)
        if not chunk:
            raise StopIteration
        return chunk

    def close(self) -> None:
        if not self.closed:
            try:
                self._close_raw()
            finally:
                super().close()

    def _verify(self) -> None:
        if self._read_raw(1):
            raise self._fail(f"longer than the recorded {self.info.size} bytes")
        digest = self._hash.hexdigest()
        if digest != self.info.sha256:
            raise self._fail(f"sha256 is {digest}, recorded {self.info.sha256}")
        self._verified = True

    def _fail(self, problem: str) -> IntegrityError:
        self._failure = IntegrityError(self.info.key, problem)
        return self._failure


class BlobStorage(Protocol):
    """Where docflow keeps documents, signatures, attachments and acts.

    Implementations: :class:`~storage.filesystem.FilesystemBlobStorage` and
    :class:`~storage.s3.S3BlobStorage`. Both subclass this protocol to inherit
    :meth:`put_bytes` and :meth:`read_bytes`. Methods taking a key raise
    :class:`~storage.errors.BlobNotFoundError` for an unknown or malformed one.
    """

    def put(
        self,
        stream: PutStream,
        *,
        content_type: str | None = None,
        max_size: int | None = None,
        retain_until: datetime | None = None,
    ) -> BlobInfo:
        """Store a stream as a new blob, reading and hashing it chunk by chunk.

        The blob becomes visible only once it is complete; an error, or a
        crash, leaves nothing visible behind (``gc`` removes the leftovers).

        :param stream: a binary stream or an iterable of ``bytes`` chunks.
        :param content_type: the media type; ``application/octet-stream`` if None.
        :param max_size: refuse a stream longer than this many bytes.
        :param retain_until: a timezone-aware date before which the blob cannot
            be deleted or overwritten (a signed original).
        :returns: the new blob's key, digest, size and content type.
        :raises TooLargeError: if the stream is longer than ``max_size``.
        :raises ValueError: for a bad content type or retention date.
        :raises StorageUnavailableError: if the storage server cannot be reached.
        :raises StorageError: if the storage refuses the write.

        An exception raised by ``stream`` itself propagates unchanged.
        """
        ...

    def put_bytes(
        self,
        data: bytes,
        *,
        content_type: str | None = None,
        max_size: int | None = None,
        retain_until: datetime | None = None,
    ) -> BlobInfo:
        """Store a bytes object; see :meth:`put`."""
        return self.put(
            io.BytesIO(data),
            content_type=content_type,
            max_size=max_size,
            retain_until=retain_until,
        )

    def open(self, key: str) -> BlobReader:
        """Open a blob for reading; the reader checks the digest at its end.

        :raises BlobNotFoundError: if there is no such blob.
        :raises IntegrityError: if its recorded metadata is missing or damaged
            (and, from the reader, if the bytes do not match).
        """
        ...

    def read_bytes(self, key: str) -> bytes:
        """The whole of a (small) blob, checked against its digest.

        :raises BlobNotFoundError: if there is no such blob.
        :raises IntegrityError: if the bytes do not match the recorded digest.
        """
        with self.open(key) as reader:
            return reader.readall()

    def stat(self, key: str) -> BlobInfo:
        """What the store recorded about a blob, without reading it.

        :raises BlobNotFoundError: if there is no such blob.
        """
        ...

    def exists(self, key: str) -> bool:
        """Whether a blob exists; False for a malformed key."""
        ...

    def delete(self, key: str) -> None:
        """Delete a blob.

        :raises BlobNotFoundError: if there is no such blob.
        :raises RetentionError: if it is retained; the error carries the date.
        :raises IntegrityError: if its metadata is damaged: then whether it is
            retained cannot be known, and it is kept.
        """
        ...

    def iter_keys(self) -> Iterator[str]:
        """The keys of all complete blobs, in no particular order."""
        ...

    def presigned_url(self, key: str, expires: timedelta) -> str:
        """A URL that lets a client download the blob directly until it expires.

        The client gets the bytes without the store's digest check.

        :raises BlobNotFoundError: if there is no such blob.
        :raises NotSupportedError: on a backend without URLs (files).
        """
        ...

    def gc(self, *, older_than: timedelta = DEFAULT_GC_AGE) -> list[str]:
        """Remove the leftovers of interrupted writes older than ``older_than``.

        Complete blobs are never touched.

        :returns: a description of each thing removed, for the log.
        """
        ...
