"""Opening a blob store from its URL (docflow's ``STORAGE_URL``).

This module sits above the interface (:mod:`storage.base`) and both backends,
which never import it: the backends know nothing of URLs.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from .base import BlobStorage
from .errors import InvalidStorageURLError
from .filesystem import FilesystemBlobStorage
from .s3 import S3BlobStorage

__all__ = ["open_store"]


def open_store(url: str) -> BlobStorage:
    """Open the blob store a URL names.

    * ``file:///absolute/path`` — files under that directory (created if
      missing); the embedded default is ``var/blobs/``.
    * ``s3://ACCESS:SECRET@host:port/bucket?secure=false&region=R&lock=governance``
      — an S3 server such as MinIO. ``secure`` defaults to true, ``lock`` (the
      Object Lock mode for retained blobs) to ``compliance``. The bucket is
      created, with Object Lock enabled, when it is missing. Percent-encode
      ``/``, ``:`` or ``@`` in the keys.

    :raises InvalidStorageURLError: (a ``ValueError``) naming what is wrong.
    :raises StorageUnavailableError: if the S3 server cannot be reached.
    """
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidStorageURLError(
            f"malformed storage URL {_redact(url)}: {exc}"
        ) from None
    if parts.scheme == "file":
        return _open_file(parts)
    if parts.scheme == "s3":
        return _open_s3(parts, _redact(url))
    raise InvalidStorageURLError(
        f"unsupported storage URL scheme {parts.scheme!r} in {_redact(url)}: "
        "use file:///absolute/path or s3://ACCESS:SECRET@host:port/bucket"
    )


def _open_file(parts: SplitResult) -> BlobStorage:
    if parts.netloc not in ("", "localhost"):
        raise InvalidStorageURLError(
            f"file storage URL has a host part {parts.netloc!r}: for a path "
            "write file:///absolute/path (three slashes; relative paths are refused)"
        )
    if parts.query or parts.fragment:
        raise InvalidStorageURLError("file storage URL takes no query or fragment")
    root = unquote(parts.path)
    if not root.startswith("/") or root == "/":
        raise InvalidStorageURLError(
            f"file storage URL needs an absolute directory other than /, got {root!r}"
        )
    return FilesystemBlobStorage(root)


# S3 bucket naming rules (AWS S3 User Guide, "General purpose bucket naming rules").
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# A DNS name or an IPv4 address, or an IPv6 address (urlsplit drops its brackets).
_HOST_RE = re.compile(r"[A-Za-z0-9._-]+|[0-9A-Fa-f:.]+")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_S3_OPTIONS = ("secure", "region", "lock")


def _open_s3(parts: SplitResult, shown: str) -> BlobStorage:
    if not parts.username or not parts.password:
        raise InvalidStorageURLError(
            f"S3 storage URL {shown} needs credentials: s3://ACCESS:SECRET@host/bucket "
            "(percent-encode any /, :, @ or ? in them)"
        )
    try:
        _ = parts.port  # urlsplit checks the port only when it is asked for
    except ValueError:
        raise InvalidStorageURLError(f"S3 storage URL {shown} has a bad port") from None
    if not parts.hostname:
        raise InvalidStorageURLError(f"S3 storage URL {shown} has no host")
    if not _HOST_RE.fullmatch(parts.hostname):
        raise InvalidStorageURLError(
            f"S3 storage URL {shown} has a bad host {parts.hostname!r}"
        )
    bucket = parts.path.removeprefix("/")
    if not _BUCKET_RE.fullmatch(bucket) or ".." in bucket:
        raise InvalidStorageURLError(
            f"S3 storage URL {shown} needs one bucket name as its path "
            f"(3-63 lowercase letters, digits, dots, hyphens), got {bucket!r}"
        )
    if parts.fragment:
        raise InvalidStorageURLError(f"S3 storage URL {shown} takes no fragment")
    options = _query_options(shown, parts.query)
    secure = _flag(shown, "secure", options.get("secure", "true"))
    lock = options.get("lock", "compliance").upper()
    if lock not in ("COMPLIANCE", "GOVERNANCE"):
        raise InvalidStorageURLError(
            f"S3 storage URL {shown}: lock must be compliance or governance, "
            f"got {options['lock']!r}"
        )
    store = S3BlobStorage(
        # host:port as written, so an IPv6 address keeps its brackets.
        parts.netloc.rpartition("@")[2],
        bucket,
        access_key=unquote(parts.username),
        secret_key=unquote(parts.password),
        secure=secure,
        region=options.get("region") or None,
        retention_mode="GOVERNANCE" if lock == "GOVERNANCE" else "COMPLIANCE",
    )
    store.ensure_bucket()
    return store


def _query_options(shown: str, query: str) -> dict[str, str]:
    options: dict[str, str] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise InvalidStorageURLError(
            f"S3 storage URL {shown} has a malformed query"
        ) from None
    for name, value in pairs:
        if name not in _S3_OPTIONS:
            raise InvalidStorageURLError(
                f"S3 storage URL {shown} has an unknown option {name!r} "
                f"(known: {', '.join(_S3_OPTIONS)})"
            )
        if name in options:
            raise InvalidStorageURLError(f"S3 storage URL {shown} repeats {name!r}")
        options[name] = value
    return options


def _flag(shown: str, name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise InvalidStorageURLError(
        f"S3 storage URL {shown}: {name} must be true or false, got {value!r}"
    )


def _redact(url: str) -> str:
    """The URL with its secret key hidden, fit for an error message or a log.

    The last ``@`` before the query ends the credentials even when an
    unencoded ``/`` in the secret has confused the URL parser.
    """
    scheme, sep, rest = url.partition("://")
    head, question, query = rest.partition("?")
    userinfo, at, tail = head.rpartition("@")
    if not at:
        return url
    access_key = userinfo.partition(":")[0]
    return f"{scheme}{sep}{access_key}:***@{tail}{question}{query}"
