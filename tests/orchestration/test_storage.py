"""Storage URIs: the same calls over the local lake and S3 (moto's server on loopback)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

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


def _stage(final: str, files: dict[str, bytes]) -> str:
    staged = storage.staging_uri(final)
    for name, content in files.items():
        with storage.open_uri(storage.join(staged, name), "wb") as handle:
            handle.write(content)
    return staged


def _read(partition: str) -> dict[str, bytes] | None:
    """What a reader of the lake gets: nothing for an uncommitted partition, else the files its manifest
    names, by file name (on S3 they sit under a version prefix)."""
    storage.fs_and_path(partition)[0].invalidate_cache()  # another process may have written meanwhile
    if not storage.is_committed(partition):
        return None
    contents = {}
    for uri in storage.partition_files(partition):
        with storage.open_uri(uri) as handle:
            contents[uri.rsplit("/", 1)[-1]] = handle.read()
    return contents


def test_commit_makes_data_and_manifest_appear_together_and_replaces_on_rerun(lake):
    final = storage.join(lake, "clean", "reviews", "dt=2026-11-19")
    staged = storage.staging_uri(final)
    _write_partition(staged, b"first")
    assert not storage.is_committed(final)
    storage.commit_partition(staged, final, {"run_id": "a"})
    assert storage.is_committed(final)
    assert _read(final) == {"part-00000.parquet": b"first"}
    assert not storage.exists(staged)

    again = storage.staging_uri(final)
    _write_partition(again, b"second")
    storage.commit_partition(again, final, {"run_id": "b"})
    assert _read(final) == {"part-00000.parquet": b"second"}
    manifest = storage.read_json(storage.join(final, storage.MANIFEST))
    assert manifest["run_id"] == "b"
    # Nothing but the manifest and the files it names is left: the first commit's data is gone.
    assert storage.list_files(final) == sorted(
        [storage.join(final, storage.MANIFEST), *(storage.join(final, f) for f in manifest["files"])]
    )
    assert storage.committed_partitions(storage.join(lake, "clean", "reviews")) == [final]


def test_staging_folders_and_unmarked_folders_are_not_partitions(lake):
    root = storage.join(lake, "quarantine", "reviews")
    final = storage.join(root, "dt=2026-11-20")
    storage.commit_partition(_stage(final, {"part-00000.parquet": b"x"}), final, {})
    _stage(final, {"part-00000.parquet": b"left by a crashed run"})
    _write_partition(storage.join(root, "dt=2026-11-21"), b"never committed")
    assert storage.committed_partitions(root) == [final]


# A child process commits a partition on moto's S3 and is killed (os._exit, no clean-up of any kind)
# right after its N-th request that changes the bucket: a crash at every step of the commit.
_KILLED = 17
_COMMIT_AND_DIE = textwrap.dedent(
    """
    import os, sys
    import s3fs
    from common import storage

    staged, final, kill_after, killed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    writes = 0
    call_s3 = s3fs.S3FileSystem._call_s3

    async def call_then_maybe_die(self, method, *args, **kwargs):
        global writes
        answer = await call_s3(self, method, *args, **kwargs)
        if method.startswith(("put_", "copy_", "delete_", "upload_", "create_multipart", "complete_")):
            writes += 1
            if writes == kill_after:
                os._exit(killed)
        return answer

    s3fs.S3FileSystem._call_s3 = call_then_maybe_die
    storage.commit_partition(staged, final, {"run_id": "new"})
    """
)


def test_a_commit_killed_at_any_step_leaves_the_old_or_the_new_partition_whole(s3_lake):
    old = {"part-00000.parquet": b"old-0", "part-00001.parquet": b"old-1", "part-00002.parquet": b"old-2"}
    new = {"part-00000.parquet": b"new-0", "part-00001.parquet": b"new-1"}
    final = storage.join(s3_lake, "clean", "reviews", "dt=2026-11-22")
    seen = []
    for kill_after in range(1, 20):
        storage.commit_partition(_stage(final, old), final, {"run_id": "old"})
        assert _read(final) == old
        child = subprocess.run(
            [sys.executable, "-c", _COMMIT_AND_DIE, _stage(final, new), final, str(kill_after), str(_KILLED)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert child.returncode in (0, _KILLED), child.stderr
        found = _read(final)
        assert found in (old, new), f"killed after write {kill_after}: {found}"
        seen.append(found == new)
        # The next run of the same commit converges: the new data, and nothing else left in the partition.
        storage.commit_partition(_stage(final, new), final, {"run_id": "new"})
        assert _read(final) == new
        manifest = storage.read_json(storage.join(final, storage.MANIFEST))
        assert storage.list_files(final) == sorted(
            [storage.join(final, storage.MANIFEST), *(storage.join(final, f) for f in manifest["files"])]
        )
        if child.returncode == 0:  # the child ran past its last write: every step has been cut once
            break
    else:
        pytest.fail("the commit never ran to its end")
    assert seen[0] is False and seen[-1] is True, seen


def test_join_keeps_the_scheme():
    assert storage.join("s3://b/x/", "/y/", "z") == "s3://b/x/y/z"
    assert storage.join("file:///tmp/a", "b") == "file:///tmp/a/b"
