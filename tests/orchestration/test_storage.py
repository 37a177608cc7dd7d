"""Storage URIs: the same calls over the local lake and S3 (moto's server on loopback)."""

from __future__ import annotations

import pytest

from common import storage
from tests.aws_server import aws_endpoint_env, create_bucket


@pytest.fixture(scope="module")
def s3_lake():
    with pytest.MonkeyPatch.context() as mp, aws_endpoint_env(mp) as endpoint:
        create_bucket(endpoint, "lake")
        yield "s3://lake/lake"


@pytest.fixture(params=["local", "s3"])
def lake(request, tmp_path):
    return f"file://{tmp_path}/lake" if request.param == "local" else request.getfixturevalue("s3_lake")


def _write_partition(uri: str, content: bytes) -> None:
    with storage.open_uri(storage.join(uri, "part-00000.parquet"), "wb") as handle:
        handle.write(content)


def test_commit_makes_data_and_manifest_appear_together_and_replaces_on_rerun(lake):
    final = storage.join(lake, "clean", "reviews", "dt=2026-11-19")
    staged = storage.staging_uri(final)
    _write_partition(staged, b"first")
    assert not storage.is_committed(final)
    storage.commit_partition(staged, final, {"run_id": "a"})
    assert storage.is_committed(final)
    assert storage.read_json(storage.join(final, storage.MANIFEST))["files"] == ["part-00000.parquet"]
    assert not storage.exists(staged)

    again = storage.staging_uri(final)
    _write_partition(again, b"second")
    storage.commit_partition(again, final, {"run_id": "b"})
    with storage.open_uri(storage.join(final, "part-00000.parquet")) as handle:
        assert handle.read() == b"second"
    assert storage.read_json(storage.join(final, storage.MANIFEST))["run_id"] == "b"
    assert [u.rsplit("/", 1)[-1] for u in storage.list_files(final)] == [
        storage.MANIFEST,
        "part-00000.parquet",
    ]


def test_join_keeps_the_scheme():
    assert storage.join("s3://b/x/", "/y/", "z") == "s3://b/x/y/z"
    assert storage.join("file:///tmp/a", "b") == "file:///tmp/a/b"
