"""Blobs in an S3 bucket (MinIO first), through the ``minio`` client.

Object names in the bucket::

    objects/<key>   a complete blob; user metadata ``sha256`` and ``size``
    tmp/<random>    a large upload before its commit (see below)

The digest must be stored as user metadata, and S3 takes metadata only when an
upload *starts*, before the digest of a stream is known. So:

* a blob that fits in one part (:data:`DEFAULT_PART_SIZE`) is read into memory
  first, hashed, and sent in one ``PutObject`` carrying its metadata;
* a larger one is streamed a part at a time as a multipart upload to
  ``tmp/<random>``, then committed by a server-side ``CopyObject`` to
  ``objects/<key>`` with the metadata (the server copies, the client sends
  nothing more), and the staging object is deleted. The copy is the commit:
  until it succeeds, nothing appears under ``objects/``.

Retention is S3 Object Lock (AWS S3 User Guide, "Locking objects with Object
Lock"): the object *version* is locked in COMPLIANCE (or GOVERNANCE) mode
until the date, and the server then refuses to delete it. A blob that fits in
one part is locked by the ``PutObject`` that writes it: the lock headers
(``x-amz-object-lock-mode``, ``-retain-until-date``) ride on the write, with
the Content-MD5 that S3 demands of a write carrying them (minio-py sends none
over plain HTTP, so the store adds it); the blob is never visible unlocked
and one request does it all. A larger one is committed by a server-side copy
and then locked by ``PutObjectRetention``; if that fails, the blob is deleted
before ``put`` fails, so ``put`` never returns an unretained "retained" blob.

Leftovers of interrupted writes (staging objects, incomplete multipart uploads)
are invisible to readers and removed by :meth:`S3BlobStorage.gc`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import cast

import urllib3
from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.datatypes import Part
from minio.error import MinioException, S3Error, ServerError
from minio.helpers import genheaders, md5sum_hash
from minio.retention import Retention
from urllib3.exceptions import HTTPError as Urllib3Error

from .base import (
    DEFAULT_CONTENT_TYPE,
    DEFAULT_GC_AGE,
    BlobInfo,
    BlobReader,
    BlobStorage,
    PutStream,
    RetentionMode,
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
    RetentionError,
    StorageError,
    StorageUnavailableError,
)

__all__ = ["DEFAULT_PART_SIZE", "S3BlobStorage"]

logger = logging.getLogger(__name__)

#: The multipart part size. An upload holds about twice this in memory (the
#: part being read and the chunks it is joined from); 8 MiB x 10,000 parts (the
#: S3 maximum) allows blobs up to 78 GiB.
DEFAULT_PART_SIZE = 8 << 20
_MIN_PART_SIZE = 5 << 20  # S3: every part but the last is at least 5 MiB
_MAX_PART_SIZE = 5 << 30

_OBJECTS = "objects/"
_STAGING = "tmp/"
_SHA256 = "x-amz-meta-sha256"
_SIZE = "x-amz-meta-size"
_LOCK_MODE = "x-amz-object-lock-mode"
_LOCK_UNTIL = "x-amz-object-lock-retain-until-date"
_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchVersion"})


class S3BlobStorage(BlobStorage):
    """Blobs in one S3 bucket; see the module docstring for how they are kept.

    Constructing the store does not touch the network; :meth:`ensure_bucket`
    does (and :func:`storage.open_store` calls it).

    :param endpoint: ``host`` or ``host:port`` of the S3 server.
    :param bucket: the bucket name.
    :param secure: HTTPS (verified against the system trust store, or the
        bundle named by ``SSL_CERT_FILE``) rather than HTTP.
    :param region: the bucket's region; asked of the server if None.
    :param retention_mode: the Object Lock mode of retained blobs.
    :param part_size: the multipart part size, 5 MiB to 5 GiB.
    :param connect_timeout: seconds to wait for a connection.
    :param read_timeout: seconds to wait for a response; generous, because a
        server-side copy of a large blob answers only when it is done.
    :param clock: the current time in UTC, for the retention check in
        :meth:`delete` (the server enforces the lock by its own clock).
    """

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        *,
        access_key: str,
        secret_key: str,
        secure: bool = True,
        region: str | None = None,
        retention_mode: RetentionMode = "COMPLIANCE",
        part_size: int = DEFAULT_PART_SIZE,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if not _MIN_PART_SIZE <= part_size <= _MAX_PART_SIZE:
            raise ValueError(
                f"part_size must be {_MIN_PART_SIZE} to {_MAX_PART_SIZE} bytes"
            )
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            # A few quick retries ride out a restarting server or a dropped
            # connection; more would only delay the error a caller must see
            # (minio-py's own default waits about 6 s for a refused port).
            retries=urllib3.Retry(
                total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
            ),
        )
        self._client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        self._endpoint = endpoint
        self._bucket = bucket
        self._mode = retention_mode
        self._part_size = part_size
        self._clock = clock
        # None: not checked (ensure_bucket was not called).
        self._lock_enabled: bool | None = None

    @property
    def bucket(self) -> str:
        """The bucket's name."""
        return self._bucket

    @property
    def client(self) -> Minio:
        """The underlying minio client, for administration and tests."""
        return self._client

    def __repr__(self) -> str:
        return f"S3BlobStorage({self._endpoint!r}, {self._bucket!r})"

    def ensure_bucket(self) -> None:
        """Create the bucket, with Object Lock enabled, if it does not exist.

        Object Lock can only be switched on when a bucket is created, so an
        existing bucket without it is reported in the log: its blobs work, but
        ``put(retain_until=…)`` is refused.

        :raises StorageUnavailableError: if the server cannot be reached.
        :raises StorageError: if the server refuses.
        """
        with self._errors():
            if not self._client.bucket_exists(self._bucket):
                try:
                    self._client.make_bucket(self._bucket, object_lock=True)
                except S3Error as exc:
                    # Another process created it between the check and here.
                    if exc.code != "BucketAlreadyOwnedByYou":
                        raise
                self._lock_enabled = True
                logger.info("created bucket %s with Object Lock", self._bucket)
                return
            try:
                self._client.get_object_lock_config(self._bucket)
            except S3Error as exc:
                if exc.code != "ObjectLockConfigurationNotFoundError":
                    raise
                self._lock_enabled = False
                logger.warning(
                    "bucket %s has no Object Lock: retained blobs will be refused",
                    self._bucket,
                )
            else:
                self._lock_enabled = True

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
        if until is not None and self._lock_enabled is False:
            raise StorageError(
                f"bucket {self._bucket} was created without Object Lock, "
                "so it cannot keep a retained blob"
            )
        source = Source(stream, max_size=max_size)
        key = new_key()
        name = _OBJECTS + key
        try:
            with self._errors():
                version, retained = self._upload(source, name, content_type, until)
                info = BlobInfo(
                    key=key,
                    sha256=source.hexdigest(),
                    size=source.size,
                    content_type=content_type,
                    retain_until=until,
                )
                if until is not None and not retained:
                    self._retain(name, version, until)
        except StorageUnavailableError:
            if isinstance(source.error, OSError):
                # The caller's stream failed with an OSError (a client that
                # hung up), which _errors took for the server's: give it back.
                raise source.error from None
            raise
        return info

    def open(self, key: str) -> BlobReader:
        """Open a blob for reading; see :meth:`BlobStorage.open`."""
        key = check_key(key)
        with self._errors(key):
            response = self._client.get_object(self._bucket, _OBJECTS + key)
        try:
            info = _info(key, response.headers)
        except BaseException:
            _release(response)
            raise

        def read(size: int) -> bytes:
            with self._errors(key):
                return response.read(size)

        return BlobReader(info, read=read, close=lambda: _release(response))

    def stat(self, key: str) -> BlobInfo:
        """The recorded metadata of a blob; see :meth:`BlobStorage.stat`."""
        key = check_key(key)
        with self._errors(key):
            obj = self._client.stat_object(self._bucket, _OBJECTS + key)
        return _info(key, obj.metadata or {})

    def exists(self, key: str) -> bool:
        """Whether the blob exists; see :meth:`BlobStorage.exists`."""
        try:
            self.stat(key)
        except BlobNotFoundError:
            return False
        except IntegrityError:  # there, though damaged
            return True
        return True

    def delete(self, key: str) -> None:
        """Delete every version of a blob unless it is retained.

        The date is checked here first, for a clear error without a request
        that is bound to fail; the server's Object Lock is what actually
        refuses, should a retained version slip past (a clock behind the
        server's, a version written behind the store's back).

        See :meth:`BlobStorage.delete`.
        """
        info = self.stat(key)
        if info.retain_until is not None and self._clock() < info.retain_until:
            raise RetentionError(key, info.retain_until)
        name = _OBJECTS + key
        with self._errors(key):
            versions = [
                _version(obj.version_id)
                for obj in self._client.list_objects(
                    self._bucket, prefix=name, include_version=True
                )
                if obj.object_name == name
            ]
            for version in versions:
                try:
                    self._client.remove_object(self._bucket, name, version_id=version)
                except S3Error as exc:
                    if exc.code != "AccessDenied":
                        raise
                    raise self._retention_error(key, name, version) from None

    def iter_keys(self) -> Iterator[str]:
        """Keys of all complete blobs; see :meth:`BlobStorage.iter_keys`."""
        with self._errors():
            for obj in self._client.list_objects(
                self._bucket, prefix=_OBJECTS, recursive=True
            ):
                key = (obj.object_name or "").removeprefix(_OBJECTS)
                try:
                    yield check_key(key)
                except BlobNotFoundError:  # something else put it there
                    continue

    def presigned_url(self, key: str, expires: timedelta) -> str:
        """A signed GET URL valid for ``expires`` (1 second to 7 days).

        The bytes it serves are not checked against the digest.

        :raises BlobNotFoundError: if there is no such blob.
        :raises ValueError: for a validity outside what S3 signs.
        """
        if not timedelta(seconds=1) <= expires <= timedelta(days=7):
            raise ValueError("a presigned URL is valid for 1 second to 7 days")
        self.stat(key)
        with self._errors(key):
            return self._client.presigned_get_object(
                self._bucket, _OBJECTS + key, expires=expires
            )

    def gc(self, *, older_than: timedelta = DEFAULT_GC_AGE) -> list[str]:
        """Remove staging objects and incomplete uploads older than ``older_than``.

        :returns: the staging object names and ``<name> upload <id>`` for each
            aborted multipart upload.
        """
        cutoff = self._clock() - older_than
        removed = []
        with self._errors():
            for obj in self._client.list_objects(
                self._bucket, prefix=_STAGING, recursive=True, include_version=True
            ):
                name = cast(str, obj.object_name)
                if obj.last_modified is None or obj.last_modified < cutoff:
                    self._client.remove_object(
                        self._bucket, name, version_id=_version(obj.version_id)
                    )
                    removed.append(name)
            # A commit of a blob over 5 GiB is a multipart copy to objects/.
            for prefix in (_STAGING, _OBJECTS):
                removed.extend(self._abort_uploads(prefix, cutoff))
        if removed:
            logger.info("removed %d leftovers in bucket %s", len(removed), self._bucket)
        return removed

    def _upload(
        self, source: Source, name: str, content_type: str, until: datetime | None
    ) -> tuple[str | None, bool]:
        """Write the blob under ``name``: its version id, and whether the
        write itself locked it until ``until``."""
        first = source.read(self._part_size)
        if source.at_end():
            # The whole blob is in memory and hashed: one request, metadata
            # and lock included.
            return self._put_whole(first, name, content_type, _metadata(source), until)
        staging = _STAGING + new_key()
        # Handed over in a list the callee empties, so that no frame keeps the
        # first part alive while the later ones are read.
        handover = [first]
        del first
        staged = self._upload_parts(staging, handover, source, content_type)
        try:
            result = self._client.copy_object(
                self._bucket,
                name,
                CopySource(self._bucket, staging, version_id=staged),
                metadata={"Content-Type": content_type, **_metadata(source)},
                metadata_directive=REPLACE,
            )
        finally:
            self._remove_quietly(staging, staged)
        return _version(result.version_id), False

    def _put_whole(
        self,
        data: bytes,
        name: str,
        content_type: str,
        metadata: dict[str, str | list[str] | tuple[str]],
        until: datetime | None,
    ) -> tuple[str | None, bool]:
        if until is None:
            result = self._client.put_object(
                self._bucket,
                name,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                metadata=metadata,
                part_size=self._part_size,
            )
            return _version(result.version_id), False
        headers = genheaders(metadata, None, None, Retention(self._mode, until), False)
        headers["Content-Type"] = content_type
        # S3 requires it on a write with lock headers (PutObject, "Object Lock").
        headers["Content-MD5"] = cast(str, md5sum_hash(data))
        try:
            # minio-py's public put_object would file Content-MD5 as user
            # metadata; _put_object is its PutObject call itself.
            result = self._client._put_object(self._bucket, name, data, headers)
        except S3Error as exc:
            raise self._refused_retention(exc) from exc
        return _version(result.version_id), True

    def _upload_parts(
        self, name: str, first: list[bytes], source: Source, content_type: str
    ) -> str | None:
        """Multipart-upload ``first.pop()`` and the rest of ``source``.

        minio-py's ``put_object`` does this too, but keeps the previous part
        alive while reading the next and slices each part once more: about
        five parts' worth of peak memory, where this loop keeps two (the part
        being read and its chunks). Its building blocks are private methods,
        the S3 calls themselves, unchanged since minio-py 7.0.

        :returns: the version id of the uploaded object.
        """
        client = self._client
        upload_id = client._create_multipart_upload(
            self._bucket, name, {"Content-Type": content_type}
        )
        try:
            parts: list[Part] = []
            part = first.pop()
            while part:
                number = len(parts) + 1
                etag = client._upload_part(
                    self._bucket, name, part, None, upload_id, number
                )
                parts.append(Part(number, etag))
                part = b""  # let the sent part go before the next is read
                part = source.read(self._part_size)
            result = client._complete_multipart_upload(
                self._bucket, name, upload_id, parts
            )
        except BaseException:
            try:
                client._abort_multipart_upload(self._bucket, name, upload_id)
            except (MinioException, Urllib3Error, OSError) as exc:
                logger.warning(
                    "could not abort the upload of %s, gc will: %s", name, exc
                )
            raise
        return _version(result.version_id)

    def _retain(self, name: str, version: str | None, until: datetime) -> None:
        try:
            self._client.set_object_retention(
                self._bucket, name, Retention(self._mode, until), version_id=version
            )
        except BaseException as exc:
            self._remove_quietly(name, version)
            if isinstance(exc, S3Error):
                raise self._refused_retention(exc) from exc
            raise

    def _refused_retention(self, exc: S3Error) -> StorageError:
        return StorageError(
            f"bucket {self._bucket} refused to retain a blob "
            f"({exc.code}: {exc.message}); is Object Lock enabled on it?"
        )

    def _retention_error(
        self, key: str, name: str, version: str | None
    ) -> StorageError:
        obj = self._client.stat_object(self._bucket, name, version_id=version)
        until = _retain_until(obj.metadata or {})
        if until is None:  # refused for another reason (a legal hold, a policy)
            return StorageError(f"bucket {self._bucket} refused to delete {key!r}")
        return RetentionError(key, until)

    def _abort_uploads(self, prefix: str, cutoff: datetime) -> list[str]:
        aborted = []
        marker: str | None = None
        while True:
            # minio-py has no public API for multipart uploads since 7.0; these
            # two private methods are the S3 calls themselves. Paging is by key
            # alone: minio-py 7.2 mislays NextUploadIdMarker, and every staging
            # name has a single upload anyway.
            page = self._client._list_multipart_uploads(
                self._bucket, prefix=prefix, key_marker=marker
            )
            for upload in page.uploads:
                name, upload_id = upload.object_name, cast(str, upload.upload_id)
                started = upload.initiated_time
                if started is None or started < cutoff:
                    self._client._abort_multipart_upload(self._bucket, name, upload_id)
                    aborted.append(f"{name} upload {upload_id}")
            if not page.is_truncated or not page.next_key_marker:
                return aborted
            marker = page.next_key_marker

    def _remove_quietly(self, name: str, version: str | None) -> None:
        """Remove an object version that must not linger; leave it to gc on failure."""
        try:
            self._client.remove_object(self._bucket, name, version_id=version)
        except (MinioException, Urllib3Error, OSError) as exc:
            logger.warning("could not remove %s, gc will: %s", name, exc)

    @contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        """Translate the client's exceptions into the storage errors."""
        try:
            yield
        except S3Error as exc:
            if key is not None and exc.code in _NOT_FOUND:
                raise BlobNotFoundError(key) from None
            raise StorageError(
                f"S3 bucket {self._bucket} at {self._endpoint} refused the request: "
                f"{exc.code}: {exc.message}"
            ) from exc
        except ServerError as exc:
            raise StorageUnavailableError(
                f"S3 storage at {self._endpoint} failed: HTTP {exc.status_code}"
            ) from exc
        except (Urllib3Error, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise StorageUnavailableError(
                f"S3 storage at {self._endpoint} is unavailable: {reason}"
            ) from exc
        except MinioException as exc:
            raise StorageError(f"S3 storage at {self._endpoint}: {exc}") from exc


def _version(version_id: str | None) -> str | None:
    """A version id to send back, None for an unversioned bucket's "null".

    A bucket without versioning names its only version "null"; not every S3
    server takes that back as a versionId (moto answers 400), and without one
    the request means the same object anyway.
    """
    return None if version_id in (None, "null") else version_id


def _metadata(source: Source) -> dict[str, str | list[str] | tuple[str]]:
    return {_SHA256: source.hexdigest(), _SIZE: str(source.size)}


def _info(key: str, headers: Mapping[str, str]) -> BlobInfo:
    sha256 = headers.get(_SHA256)
    size = headers.get(_SIZE)
    if sha256 is None or size is None or not size.isdigit():
        raise IntegrityError(
            key, "it has no recorded sha256 and size (written behind the store's back?)"
        )
    return BlobInfo(
        key=key,
        sha256=sha256,
        size=int(size),
        content_type=headers.get("Content-Type") or DEFAULT_CONTENT_TYPE,
        retain_until=_retain_until(headers),
    )


def _retain_until(headers: Mapping[str, str]) -> datetime | None:
    value = headers.get(_LOCK_UNTIL)
    if not headers.get(_LOCK_MODE) or not value:
        return None
    return datetime.fromisoformat(value)


def _release(response: urllib3.BaseHTTPResponse) -> None:
    response.close()
    response.release_conn()
