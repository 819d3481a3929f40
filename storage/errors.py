"""The errors of the storage library.

Every error derives from :class:`StorageError`, so a caller that only needs to
know "the blob store failed" catches one class. docflow's services translate
them into its own ``DocflowError`` family (STYLE.md §6); the messages here are
for logs and developers, not for the cabinet's users.

The canonical names end in ``Error`` (STYLE.md §9). Issue 4 spelled four of
them without the suffix; those spellings are kept as aliases of the same
classes, so ``except BlobNotFound`` and ``except BlobNotFoundError`` are one
thing.
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "BlobNotFound",
    "BlobNotFoundError",
    "IntegrityError",
    "InvalidStorageURLError",
    "NotSupported",
    "NotSupportedError",
    "RetentionError",
    "StorageError",
    "StorageUnavailable",
    "StorageUnavailableError",
    "TooLarge",
    "TooLargeError",
]


class StorageError(Exception):
    """Base class of every error the storage library raises."""


class InvalidStorageURLError(StorageError, ValueError):
    """A storage URL that cannot be used; the message names the problem.

    A :class:`ValueError` too, because a malformed setting is a bad value: the
    configuration loader can report it beside other bad values.
    """


class BlobNotFoundError(StorageError):
    """No object has this key, or the string is not a key this store makes.

    Both cases are the same error on purpose: a forged key such as
    ``"../etc/passwd"`` learns nothing more than an unknown one.
    """

    def __init__(self, key: str, reason: str = "no such blob") -> None:
        super().__init__(f"{reason}: {key!r}")
        self.key = key


class IntegrityError(StorageError):
    """The stored bytes do not match the SHA-256 recorded when they were written.

    Raised by a reader before it hands out the last chunk, so a consumer that
    reads to the end never receives the whole of a corrupted object silently.
    """

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"blob {key!r} failed its integrity check: {problem}")
        self.key = key
        self.problem = problem


class TooLargeError(StorageError):
    """The stream was longer than the ``max_size`` given to ``put``.

    Nothing was stored: the partial object has been removed.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(f"the stream exceeds the limit of {limit} bytes")
        self.limit = limit


class RetentionError(StorageError):
    """The object is under retention and cannot be deleted before its date."""

    def __init__(self, key: str, retain_until: datetime) -> None:
        super().__init__(
            f"blob {key!r} is retained until {retain_until.isoformat()} "
            "and cannot be deleted or overwritten before then"
        )
        self.key = key
        self.retain_until = retain_until


class NotSupportedError(StorageError):
    """The backend cannot do this (a presigned URL for a file on disk)."""


class StorageUnavailableError(StorageError):
    """The storage server cannot be reached or failed; the operation may be retried."""


# The spellings of issue 4 (see the module docstring).
BlobNotFound = BlobNotFoundError
TooLarge = TooLargeError
NotSupported = NotSupportedError
StorageUnavailable = StorageUnavailableError
