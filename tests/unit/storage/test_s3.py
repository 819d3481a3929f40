"""The S3 backend without a server: configuration, error translation, paging.

The client's methods are replaced by fakes that raise what a failing server or
network makes minio-py raise; the behaviour against a real S3 protocol server
is in tests/integration/storage/.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import urllib3
from minio.error import InvalidResponseError, S3Error, ServerError
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from storage import (
    BlobNotFoundError,
    S3BlobStorage,
    StorageError,
    StorageUnavailableError,
)

KEY = "0" * 32


def offline_store(**options: Any) -> S3BlobStorage:
    """A store pointed at a port nothing listens on; constructing it is offline."""
    return S3BlobStorage(
        "127.0.0.1:9", "docs", access_key="ak", secret_key="sk", secure=False, **options
    )


def s3_error(code: str) -> S3Error:
    return S3Error(urllib3.HTTPResponse(status=400), code, f"{code}!", None, None, None)


def raising(error: BaseException) -> Any:
    def fake(*args: object, **kwargs: object) -> None:
        raise error

    return fake


@pytest.mark.parametrize("part_size", [1, (5 << 20) - 1, (5 << 30) + 1])
def test_part_size_must_be_within_the_s3_limits(part_size: int) -> None:
    with pytest.raises(ValueError, match="part_size"):
        offline_store(part_size=part_size)


def test_repr_names_the_endpoint_and_bucket_but_no_secret() -> None:
    assert repr(offline_store()) == "S3BlobStorage('127.0.0.1:9', 'docs')"
    assert offline_store().bucket == "docs"


@pytest.mark.parametrize(
    ("error", "expected", "fragment"),
    [
        (s3_error("NoSuchKey"), BlobNotFoundError, KEY),
        (s3_error("NoSuchVersion"), BlobNotFoundError, KEY),
        (s3_error("AccessDenied"), StorageError, "refused the request: AccessDenied"),
        (ServerError("busy", 503), StorageUnavailableError, "HTTP 503"),
        (
            MaxRetryError(
                None,  # type: ignore[arg-type]
                "/docs",
                NewConnectionError(None, "Connection refused"),  # type: ignore[arg-type]
            ),
            StorageUnavailableError,
            "Connection refused",
        ),
        (ProtocolError("Connection aborted."), StorageUnavailableError, "aborted"),
        (ConnectionResetError("reset"), StorageUnavailableError, "reset"),
        (InvalidResponseError(502, "text/html", "<h1>"), StorageError, "non-XML"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else None,
)
def test_client_errors_become_storage_errors(
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    expected: type[StorageError],
    fragment: str,
) -> None:
    store = offline_store()
    monkeypatch.setattr(store.client, "stat_object", raising(error))
    with pytest.raises(expected) as caught:
        store.stat(KEY)
    assert type(caught.value) is expected
    assert fragment in str(caught.value)
    if expected is StorageUnavailableError:
        assert "127.0.0.1:9" in str(caught.value)


def test_ensure_bucket_tolerates_a_concurrent_creation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = offline_store()
    monkeypatch.setattr(store.client, "bucket_exists", lambda bucket: False)
    monkeypatch.setattr(
        store.client, "make_bucket", raising(s3_error("BucketAlreadyOwnedByYou"))
    )
    store.ensure_bucket()  # MinIO's answer when another process won the race


def test_ensure_bucket_reports_a_bucket_owned_by_someone_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = offline_store()
    monkeypatch.setattr(store.client, "bucket_exists", lambda bucket: False)
    monkeypatch.setattr(
        store.client, "make_bucket", raising(s3_error("BucketAlreadyExists"))
    )
    with pytest.raises(StorageError, match="BucketAlreadyExists"):
        store.ensure_bucket()


def test_ensure_bucket_reports_a_failed_lock_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = offline_store()
    monkeypatch.setattr(store.client, "bucket_exists", lambda bucket: True)
    monkeypatch.setattr(
        store.client, "get_object_lock_config", raising(s3_error("AccessDenied"))
    )
    with pytest.raises(StorageError, match="AccessDenied"):
        store.ensure_bucket()


def test_gc_pages_through_incomplete_uploads(monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    store = offline_store(clock=lambda: now)
    old, fresh = now - timedelta(days=2), now - timedelta(minutes=1)

    def upload(name: str, started: datetime | None) -> SimpleNamespace:
        return SimpleNamespace(
            object_name=name, upload_id=f"id-{name}", initiated_time=started
        )

    pages = {
        ("tmp/", None): SimpleNamespace(
            uploads=[upload("tmp/a", old), upload("tmp/b", fresh)],
            is_truncated=True,
            next_key_marker="tmp/b",
        ),
        ("tmp/", "tmp/b"): SimpleNamespace(
            uploads=[upload("tmp/c", None), upload("tmp/d", old)],
            is_truncated=False,
            next_key_marker=None,
        ),
        ("objects/", None): SimpleNamespace(
            uploads=[upload("objects/e", old)], is_truncated=True, next_key_marker=None
        ),
    }
    aborted: list[tuple[str, str]] = []
    monkeypatch.setattr(store.client, "list_objects", lambda *a, **k: iter(()))
    monkeypatch.setattr(
        store.client,
        "_list_multipart_uploads",
        lambda bucket, prefix, key_marker: pages[(prefix, key_marker)],
    )
    monkeypatch.setattr(
        store.client,
        "_abort_multipart_upload",
        lambda bucket, name, upload_id: aborted.append((name, upload_id)),
    )
    removed = store.gc(older_than=timedelta(days=1))
    assert aborted == [
        ("tmp/a", "id-tmp/a"),
        ("tmp/c", "id-tmp/c"),
        ("tmp/d", "id-tmp/d"),
        ("objects/e", "id-objects/e"),
    ]
    assert removed == [f"{name} upload {upload_id}" for name, upload_id in aborted]


def test_a_retained_blob_is_locked_by_the_put_that_writes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One PutObject with the lock headers and the Content-MD5 S3 demands of
    them; no PutObjectRetention after it (issue #18)."""

    store = offline_store()
    sent: list[tuple[str, bytes, dict[str, str]]] = []

    def put(bucket: str, name: str, data: bytes, headers: dict[str, str]) -> Any:
        sent.append((name, data, dict(headers)))
        return SimpleNamespace(version_id="v1")

    monkeypatch.setattr(store.client, "_put_object", put)
    monkeypatch.setattr(
        store.client,
        "set_object_retention",
        raising(AssertionError("a second request")),
    )
    until = datetime(2031, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    monkeypatch.setattr(store, "_clock", lambda: datetime(2026, 1, 1, tzinfo=UTC))
    info = store.put_bytes(b"sealed", content_type="application/pkcs7-signature",
                           retain_until=until)  # fmt: skip
    [(name, data, headers)] = sent
    assert name == f"objects/{info.key}" and data == b"sealed"
    assert headers["x-amz-object-lock-mode"] == "COMPLIANCE"
    assert headers["x-amz-object-lock-retain-until-date"] == "2031-01-02T03:04:05.679Z"
    assert (
        headers["Content-MD5"]
        == base64.b64encode(hashlib.md5(b"sealed").digest()).decode()
    )  # noqa: S324 - what S3 asks for
    assert headers["Content-Type"] == "application/pkcs7-signature"
    assert headers["x-amz-meta-sha256"] == hashlib.sha256(b"sealed").hexdigest()
    assert info.retain_until == datetime(2031, 1, 2, 3, 4, 5, 679000, tzinfo=UTC)


def test_a_blob_without_retention_is_put_without_lock_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = offline_store()
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        store.client, "put_object",
        lambda *args, **kwargs: calls.append(kwargs) or SimpleNamespace(version_id=None),
    )  # fmt: skip
    monkeypatch.setattr(store.client, "_put_object", raising(AssertionError("locked")))
    store.put_bytes(b"plain")
    assert len(calls) == 1 and "retention" not in calls[0]


def test_a_retained_put_refused_by_the_bucket_names_object_lock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = offline_store()
    monkeypatch.setattr(
        store.client, "_put_object", raising(s3_error("InvalidRequest"))
    )
    with pytest.raises(StorageError, match="Object Lock"):
        store.put_bytes(b"x", retain_until=datetime.now(UTC) + timedelta(days=1))
