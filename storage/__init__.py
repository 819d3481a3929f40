"""Blob storage for docflow: documents, signatures, attachments, generated acts.

A pure library (no Flask, no SQLAlchemy, nothing of docflow). docflow opens one
store from its ``STORAGE_URL`` and uses it through :class:`BlobStorage`::

    store = open_store("file:///srv/docflow/var/blobs")
    info = store.put(request.stream, content_type="application/pdf",
                     max_size=50 << 20)
    with store.open(info.key) as blob:   # checks the SHA-256 at the end
        for chunk in blob:
            ...
"""

from .base import BlobInfo, BlobReader, BlobStorage, PutStream, Readable
from .errors import (
    BlobNotFound,
    BlobNotFoundError,
    IntegrityError,
    InvalidStorageURLError,
    NotSupported,
    NotSupportedError,
    RetentionError,
    StorageError,
    StorageUnavailable,
    StorageUnavailableError,
    TooLarge,
    TooLargeError,
)
from .factory import open_store
from .filesystem import FilesystemBlobStorage
from .s3 import S3BlobStorage

__all__ = [
    "BlobInfo",
    "BlobNotFound",
    "BlobNotFoundError",
    "BlobReader",
    "BlobStorage",
    "FilesystemBlobStorage",
    "IntegrityError",
    "InvalidStorageURLError",
    "NotSupported",
    "NotSupportedError",
    "PutStream",
    "Readable",
    "RetentionError",
    "S3BlobStorage",
    "StorageError",
    "StorageUnavailable",
    "StorageUnavailableError",
    "TooLarge",
    "TooLargeError",
    "open_store",
]
