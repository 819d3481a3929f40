"""Opening a store from its URL: file:// and s3://, and every malformed URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import FilesystemBlobStorage, InvalidStorageURLError, open_store

SECRET = "s3cr3t-Key"


def test_file_url_opens_a_filesystem_store_there(tmp_path: Path) -> None:
    root = tmp_path / "var blobs"
    store = open_store(f"file://{str(root).replace(' ', '%20')}")
    assert isinstance(store, FilesystemBlobStorage)
    assert store.root == root
    assert (root / "objects").is_dir()


def test_file_url_may_name_localhost(tmp_path: Path) -> None:
    store = open_store(f"file://localhost{tmp_path}/blobs")
    assert isinstance(store, FilesystemBlobStorage)
    assert store.root == tmp_path / "blobs"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "unsupported storage URL scheme ''"),
        ("var/blobs", "unsupported storage URL scheme ''"),
        ("ftp://host/x", "unsupported storage URL scheme 'ftp'"),
        ("file://var/blobs", "host part 'var'"),
        ("file:var/blobs", "absolute directory"),
        ("file:///", "absolute directory other than /"),
        ("file:///srv/blobs?sync=1", "no query"),
        ("s3://host:9000/docs", "needs credentials"),
        ("s3://ak@host:9000/docs", "needs credentials"),
        (f"s3://ak:{SECRET}@:9000/docs", "has no host"),
        (f"s3://ak:{SECRET}@[::1/docs", "malformed storage URL"),
        (f"s3://ak:{SECRET}@ho st:9000/docs", "bad host 'ho st'"),
        (f"s3://ak:{SECRET}@host:99999/docs", "bad port"),
        (f"s3://ak:{SECRET}@host:http/docs", "bad port"),
        (f"s3://ak:{SECRET}@host:9000", "bucket name"),
        (f"s3://ak:{SECRET}@host:9000/", "bucket name"),
        (f"s3://ak:{SECRET}@host:9000/Docs", "bucket name"),
        (f"s3://ak:{SECRET}@host:9000/docs/sub", "bucket name"),
        (f"s3://ak:{SECRET}@host:9000/d..s", "bucket name"),
        (f"s3://ak:{SECRET}@host:9000/docs?secure=maybe", "secure must be true"),
        (f"s3://ak:{SECRET}@host:9000/docs?ssl=false", "unknown option 'ssl'"),
        (f"s3://ak:{SECRET}@host:9000/docs?region", "malformed query"),
        (
            f"s3://ak:{SECRET}@host:9000/docs?secure=false&secure=true",
            "repeats 'secure'",
        ),
        (f"s3://ak:{SECRET}@host:9000/docs?lock=forever", "compliance or governance"),
        (f"s3://ak:{SECRET}@host:9000/docs#x", "no fragment"),
        # A "/" in an unencoded secret ends the host part early.
        ("s3://ak:s3cr3t/Key@host:9000/docs", "needs credentials"),
    ],
)
def test_malformed_url_names_the_problem_and_hides_the_secret(
    url: str, problem: str
) -> None:
    with pytest.raises(InvalidStorageURLError) as caught:
        open_store(url)
    assert isinstance(caught.value, ValueError)
    assert problem in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
