"""The write path of issue #18 against the real parts: the audit chain's head
taken at commit on PostgreSQL (a slow writer no longer holds up another, and
the chain still verifies and still catches an edit), and a retained blob
written to S3 (moto, through the real minio client) in one request."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from minio.error import S3Error
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from docflow.audit.models import AuditRecord
from docflow.audit.services import record, verify_chain
from docflow.db import transaction
from storage import S3BlobStorage, StorageError, open_store
from tests.appfixtures import (
    build_app,
    empty_tables,
    make_settings,
    postgres_database,
    worker_database_name,
)
from tests.integration.storage.backends import (
    ACCESS_KEY,
    SECRET_KEY,
    S3Server,
    moto_server,
    new_bucket,
)
from tests.services import require_postgres

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    admin = require_postgres()
    with postgres_database(admin, worker_database_name() + "_write_path") as url:
        app = build_app(make_settings(tmp_path_factory.mktemp("var-write-path"), url))
        yield app
        app.extensions["docflow"].engine.dispose()


@pytest.fixture()
def sessions(pg: Flask) -> Iterator[Callable[[], Session]]:
    yield pg.extensions["docflow"].sessionmaker
    empty_tables(pg)


def _entry(s: Session, n: int, who: str) -> None:
    record(
        s, user=None, action="test.write", object_type="test", object_id=f"{who}-{n}"
    )


def test_a_slow_writer_does_not_hold_the_chain_up(
    sessions: Callable[[], Session],
) -> None:
    """A records an entry, then does its slow part (a signature check, an
    upload) before committing; B records and commits meanwhile. With the head
    taken when the entry was recorded, B would wait for A's commit and A for
    B: A's wait would time out. Taken at commit, B goes through at once."""
    b_done = threading.Event()
    a_saw_b: list[bool] = []
    errors: list[BaseException] = []

    def a() -> None:
        s = sessions()
        try:
            with transaction(s):
                _entry(s, 1, "a")
                a_saw_b.append(b_done.wait(timeout=20))  # the slow part
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            s.close()

    def b() -> None:
        s = sessions()
        try:
            with transaction(s):
                _entry(s, 1, "b")
            b_done.set()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            s.close()

    first = threading.Thread(target=a)
    first.start()
    second = threading.Thread(target=b)
    second.start()
    first.join(60)
    second.join(60)
    assert not errors, errors
    assert a_saw_b == [True]
    s = sessions()
    try:
        checked, problems = verify_chain(s)
        order = list(s.scalars(select(AuditRecord.object_id).order_by(AuditRecord.id)))
    finally:
        s.close()
    assert (checked, problems) == (2, [])
    assert order == ["b-1", "a-1"]  # chained in the order of the commits


def test_concurrent_writers_keep_one_verifiable_chain_and_an_edit_is_found(
    sessions: Callable[[], Session],
) -> None:
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(who: str) -> None:
        s = sessions()
        try:
            start.wait(timeout=20)
            for n in range(15):
                with transaction(s):
                    for k in range(1 + n % 3):  # one to three entries a commit
                        _entry(s, n * 10 + k, who)
                    if n % 4 == 0:  # and a savepoint that rolls back
                        with pytest.raises(RuntimeError), s.begin_nested():
                            _entry(s, 999, who)
                            raise RuntimeError("rolled back")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors

    expected = 2 * sum(1 + n % 3 for n in range(15))
    s = sessions()
    try:
        count: Any = s.scalar(select(func.count()).select_from(AuditRecord))
        assert count == expected
        assert (
            s.scalar(select(func.count()).where(AuditRecord.object_id.like("%-999")))
            == 0
        )
        assert verify_chain(s) == (expected, [])
        # An edit in the middle breaks the entry's hash.
        with transaction(s):
            s.execute(
                update(AuditRecord)
                .where(AuditRecord.id == expected // 2)
                .values(actor_label="подменено")
            )
        checked, problems = verify_chain(s)
    finally:
        s.close()
    assert checked == expected
    assert [(p.record_id, p.problem) for p in problems] == [
        (expected // 2, "content does not match its hash")
    ]


# -- a retained blob in one request -------------------------------------------------


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with moto_server(Path(tmp_path_factory.mktemp("moto")) / "moto.log") as server:
        yield server


def test_a_retained_blob_is_written_and_locked_by_one_put(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(s3_server.url(new_bucket()))
    assert isinstance(store, S3BlobStorage)
    sent: list[str] = []
    execute = store.client._execute

    def counting(method: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(method)
        return execute(method, *args, **kwargs)

    def no_second_request(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the retention was set by a request of its own")

    monkeypatch.setattr(store.client, "_execute", counting)
    monkeypatch.setattr(store.client, "set_object_retention", no_second_request)
    until = datetime.now(UTC) + timedelta(days=1)
    info = store.put_bytes(b"signature", retain_until=until)
    assert sent == ["PUT"]
    monkeypatch.undo()

    name = f"objects/{info.key}"
    stat = store.client.stat_object(store.bucket, name)
    assert stat.metadata is not None
    assert stat.metadata["x-amz-object-lock-mode"] == "COMPLIANCE"
    assert store.stat(info.key).retain_until == info.retain_until
    with pytest.raises(S3Error) as refused:
        store.client.remove_object(store.bucket, name, version_id=stat.version_id)
    assert refused.value.code == "AccessDenied"
    assert store.read_bytes(info.key) == b"signature"


def test_a_bucket_without_lock_refuses_the_retained_put_and_keeps_nothing(
    s3_server: S3Server,
) -> None:
    bucket = new_bucket()
    s3_server.client().make_bucket(bucket)  # no Object Lock
    unchecked = S3BlobStorage(
        s3_server.endpoint,
        bucket,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        secure=False,
    )  # not told by ensure_bucket: the server's refusal is the answer
    with pytest.raises(StorageError, match="Object Lock"):
        unchecked.put_bytes(b"x", retain_until=datetime.now(UTC) + timedelta(days=1))
    assert list(s3_server.client().list_objects(bucket, recursive=True)) == []
