"""Blobs as files under one directory: the embedded default (``var/blobs/``).

Layout under the root::

    objects/ab/cd/abcd…(32 hex)/data        the bytes, mode 0444
                               /meta.json   digest, size, content type, retention
    tmp/put-…/                              a write in progress
    tmp/del-…/                              a delete in progress

An object is a *directory*, so that the bytes and their metadata appear
together in one ``rename(2)``, which POSIX makes atomic within a filesystem:
after a crash a reader sees the whole object or nothing, never bytes without
a digest.

Durability takes three fsyncs a put: the two files before the rename (their
contents, which the filesystem writes back lazily), and the parent directory
after it (the rule of ext4/XFS: a rename is durable once its directory is
synced). The staging directory and a new shard directory are not synced on
their own: their entries are metadata, which ext4 and XFS journal in the
order it changed, and the directory's fsync after the rename commits the
journal up to and including them. (A filesystem that did not keep metadata
in order would need those two more; we deploy on none.)

A retained object's files are read-only and its directory is mode 0555, and
``delete`` refuses it before its date. The modes stop an accidental write by
another non-root process; they cannot stop root or anyone who owns the files,
which is why the refusal in ``delete`` is the guarantee and why a deployment
that must resist an administrator uses the S3 backend's Object Lock.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

from .base import (
    CHUNK_SIZE,
    DEFAULT_GC_AGE,
    BlobInfo,
    BlobReader,
    BlobStorage,
    PutStream,
    Source,
    check_content_type,
    check_key,
    check_max_size,
    new_key,
    normalize_retain_until,
    utcnow,
)
from .errors import (
    BlobNotFoundError,
    IntegrityError,
    NotSupportedError,
    RetentionError,
    StorageError,
)

__all__ = ["FilesystemBlobStorage"]

logger = logging.getLogger(__name__)

_DATA = "data"
_META = "meta.json"
_PUT_PREFIX = "put-"
_TRASH_PREFIX = "del-"
_READ_ONLY_FILE = 0o444
_READ_ONLY_DIR = 0o555
_PRIVATE_DIR = 0o700
_HEX = frozenset("0123456789abcdef")


class FilesystemBlobStorage(BlobStorage):
    """Blobs as files under ``root``; see the module docstring for the layout.

    :param root: the directory, created if missing.
    :param clock: the current time in UTC, consulted for retention (tests
        move it forward instead of waiting).
    """

    def __init__(
        self, root: str | os.PathLike[str], *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._root = Path(root).absolute()
        self._objects = self._root / "objects"
        self._tmp = self._root / "tmp"
        self._objects.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(exist_ok=True)
        self._clock = clock

    @property
    def root(self) -> Path:
        """The directory the blobs live under."""
        return self._root

    def __repr__(self) -> str:
        return f"FilesystemBlobStorage({str(self._root)!r})"

    def put(
        self,
        stream: PutStream,
        *,
        content_type: str | None = None,
        max_size: int | None = None,
        retain_until: datetime | None = None,
    ) -> BlobInfo:
        """Store a stream as a new blob; see :meth:`BlobStorage.put`."""
        content_type = check_content_type(content_type)
        check_max_size(max_size)
        until = normalize_retain_until(retain_until, self._clock())
        source = Source(stream, max_size=max_size)
        staging = self._new_staging()
        try:
            with open(staging / _DATA, "xb") as data:
                while chunk := source.read(CHUNK_SIZE):
                    data.write(chunk)
                data.flush()
                os.fsync(data.fileno())
            info = BlobInfo(
                key=new_key(),
                sha256=source.hexdigest(),
                size=source.size,
                content_type=content_type,
                retain_until=until,
            )
            self._write_meta(staging / _META, info)
            os.chmod(staging / _DATA, _READ_ONLY_FILE)
            self._commit(staging, info)
        except BaseException as exc:
            _remove_tree(staging)
            if isinstance(exc, OSError) and source.error is None:
                raise StorageError(
                    f"cannot write a blob under {self._root}: {exc}"
                ) from exc
            raise
        return info

    def open(self, key: str) -> BlobReader:
        """Open a blob for reading; see :meth:`BlobStorage.open`."""
        info = self.stat(key)
        try:
            # Not a with-block: the reader owns the file and closes it.
            file = open(self._object_dir(key) / _DATA, "rb")
        except FileNotFoundError:  # deleted since the stat
            raise BlobNotFoundError(key) from None
        return BlobReader(info, read=file.read, close=file.close)

    def stat(self, key: str) -> BlobInfo:
        """The recorded metadata of a blob; see :meth:`BlobStorage.stat`."""
        key = check_key(key)
        try:
            raw = (self._object_dir(key) / _META).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise BlobNotFoundError(key) from None
        return _parse_meta(key, raw)

    def exists(self, key: str) -> bool:
        """Whether the blob exists; see :meth:`BlobStorage.exists`."""
        try:
            key = check_key(key)
        except BlobNotFoundError:
            return False
        return (self._object_dir(key) / _META).is_file()

    def delete(self, key: str) -> None:
        """Delete a blob unless it is retained; see :meth:`BlobStorage.delete`."""
        info = self.stat(key)
        if info.retain_until is not None and self._clock() < info.retain_until:
            raise RetentionError(key, info.retain_until)
        obj = self._object_dir(key)
        trash = self._tmp / f"{_TRASH_PREFIX}{uuid.uuid4().hex}"
        try:
            # Moving a directory to another parent rewrites its "..", which
            # needs write permission on it: a retained object's is 0555.
            os.chmod(obj, _PRIVATE_DIR)
            # The rename is the delete: atomic, so no reader ever sees half an
            # object; the removal of the trash is only housekeeping.
            os.rename(obj, trash)
        except FileNotFoundError:  # deleted concurrently
            raise BlobNotFoundError(key) from None
        _fsync_dir(obj.parent)
        _remove_tree(trash)

    def iter_keys(self) -> Iterator[str]:
        """Keys of all complete blobs; see :meth:`BlobStorage.iter_keys`."""
        for first in _subdirs(self._objects):
            for second in _subdirs(first):
                for obj in _subdirs(second):
                    key = obj.name
                    if (
                        len(key) == 32
                        and set(key) <= _HEX
                        and key[:2] == first.name
                        and key[2:4] == second.name
                        and (obj / _META).is_file()
                    ):
                        yield key

    def presigned_url(self, key: str, expires: timedelta) -> str:
        """Files have no URLs.

        :raises NotSupportedError: always (after checking the key exists).
        """
        self.stat(key)
        raise NotSupportedError(
            "the filesystem blob store cannot make presigned URLs; "
            "stream the blob through the application instead"
        )

    def gc(self, *, older_than: timedelta = DEFAULT_GC_AGE) -> list[str]:
        """Remove interrupted writes older than ``older_than``, and dead deletes.

        A write is judged by the newest modification time of its directory and
        files, so one still receiving bytes is never taken for dead. A delete's
        leftovers are removed whatever their age: the object was already gone.

        :returns: the removed entries, relative to the root (``tmp/put-…``).
        """
        cutoff = time.time() - older_than.total_seconds()
        removed = []
        with os.scandir(self._tmp) as entries:
            for entry in entries:
                if (
                    entry.name.startswith(_TRASH_PREFIX)
                    or _newest_mtime(entry) < cutoff
                ) and _remove_tree(Path(entry.path)):
                    removed.append(f"tmp/{entry.name}")
        if removed:
            logger.info("removed %d leftovers under %s", len(removed), self._tmp)
        return removed

    def _new_staging(self) -> Path:
        path = self._tmp / f"{_PUT_PREFIX}{uuid.uuid4().hex}"
        path.mkdir(mode=_PRIVATE_DIR)
        return path

    def _object_dir(self, key: str) -> Path:
        return self._objects / key[:2] / key[2:4] / key

    def _write_meta(self, path: Path, info: BlobInfo) -> None:
        document = {
            "sha256": info.sha256,
            "size": info.size,
            "content_type": info.content_type,
            "retain_until": (
                info.retain_until.isoformat() if info.retain_until else None
            ),
        }
        with open(path, "x", encoding="utf-8") as meta:
            json.dump(document, meta)
            meta.flush()
            os.fsync(meta.fileno())
        os.chmod(path, _READ_ONLY_FILE)

    def _commit(self, staging: Path, info: BlobInfo) -> None:
        target = self._object_dir(info.key)
        for shard in (target.parent.parent, target.parent):
            # A new shard needs no sync of its own: see the module docstring.
            with contextlib.suppress(FileExistsError):
                shard.mkdir(mode=_PRIVATE_DIR)
        # rename(2) of a directory onto an existing non-empty one fails, so a
        # committed object is never replaced (and a random key never repeats).
        os.rename(staging, target)
        _fsync_dir(target.parent)
        if info.retain_until is not None:
            os.chmod(target, _READ_ONLY_DIR)


def _parse_meta(key: str, raw: bytes) -> BlobInfo:
    try:
        document = json.loads(raw)
        sha256 = document["sha256"]
        size = document["size"]
        content_type = document["content_type"]
        retain_until = document["retain_until"]
        if not (
            isinstance(sha256, str)
            and len(sha256) == 64
            and set(sha256) <= _HEX
            and isinstance(size, int)
            and size >= 0
            and isinstance(content_type, str)
            and (retain_until is None or isinstance(retain_until, str))
        ):
            raise ValueError("a field has the wrong type")
        return BlobInfo(
            key=key,
            sha256=sha256,
            size=size,
            content_type=content_type,
            retain_until=(
                datetime.fromisoformat(retain_until) if retain_until else None
            ),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(key, f"its metadata is unreadable ({exc})") from None


def _subdirs(path: Path) -> Iterator[Path]:
    with os.scandir(path) as entries:
        names = sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
    for name in names:
        yield path / name


def _newest_mtime(entry: os.DirEntry[str]) -> float:
    newest = entry.stat(follow_symlinks=False).st_mtime
    if entry.is_dir(follow_symlinks=False):
        with os.scandir(entry.path) as children:
            for child in children:
                newest = max(newest, child.stat(follow_symlinks=False).st_mtime)
    return newest


def _remove_tree(path: Path) -> bool:
    """Remove a staging or trash entry, whatever its modes; never raise.

    :returns: whether it is gone (False if it could not be removed).
    """
    try:
        if path.is_dir() and not path.is_symlink():
            os.chmod(path, _PRIVATE_DIR)
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:  # removed by a concurrent gc: gone all the same
        return True
    except OSError as exc:  # gc will try again; the caller's error matters more
        logger.warning("could not remove %s: %s", path, exc)
        return False
    return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
