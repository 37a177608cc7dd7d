"""Storage URIs: one API over `file://` (local lake) and `s3://` (the lake bucket), through fsspec.

Data crosses tasks as files at URIs; XCom carries only these URIs and small metadata. Publishing is
write-then-commit: a partition is written under a staging prefix, then committed in one step that a
reader can trust. Locally the commit is a directory rename (atomic on one filesystem). S3 renames
nothing and writes one object at a time, so there the new objects are copied under a fresh version
prefix inside the partition and the partition's `_manifest.json` (one object, replaced atomically) is
switched to name them; the keys it no longer names are deleted only after that. Readers start from the
manifest: a partition without one is absent, and its data files are those it names
(`partition_files`), never whatever a listing finds.
"""

from __future__ import annotations

import json
import os
import posixpath
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import fsspec

MANIFEST = "_manifest.json"
# Each S3 commit of a partition writes its objects under `<partition>/v-<id>/`.
VERSION_PREFIX = "v-"


def fs_and_path(uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem for a URI and the path within it. Bare paths are local files."""
    fs, path = fsspec.core.url_to_fs(uri)
    return fs, path


def join(uri: str, *parts: str) -> str:
    """Join path parts onto a URI without touching its scheme (`s3://b/x` + `y` -> `s3://b/x/y`)."""
    return posixpath.join(uri.rstrip("/"), *[p.strip("/") for p in parts])


def is_local(uri: str) -> bool:
    return uri.startswith("file://") or "://" not in uri


def local_path(uri: str) -> str:
    """The filesystem path of a local URI; an error for remote ones, which need a download first."""
    if not is_local(uri):
        raise ValueError(f"not a local URI: {uri}")
    return uri[len("file://") :] if uri.startswith("file://") else uri


def exists(uri: str) -> bool:
    fs, path = fs_and_path(uri)
    return fs.exists(path)


@contextmanager
def open_uri(uri: str, mode: str = "rb") -> Iterator[IO[Any]]:
    """Open a file at a URI; parent folders are created for writes."""
    fs, path = fs_and_path(uri)
    if "w" in mode or "a" in mode:
        fs.makedirs(posixpath.dirname(path), exist_ok=True)
    with fs.open(path, mode) as handle:
        yield handle


def write_json(uri: str, payload: Any) -> None:
    with open_uri(uri, "w") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True, default=str)


def replace_json(uri: str, payload: Any) -> None:
    """Write JSON so that a reader sees the old content or the new, never half of it: a state file that
    a crash must not corrupt. S3 replaces an object atomically; a local file is written beside and renamed."""
    if not is_local(uri):
        write_json(uri, payload)
        return
    target = Path(local_path(uri))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str), encoding="utf-8")
    os.replace(partial, target)


def read_json(uri: str) -> Any:
    with open_uri(uri, "r") as handle:
        return json.load(handle)


def list_files(uri: str) -> list[str]:
    """Every file under a prefix, as URIs with the prefix's scheme, sorted."""
    fs, path = fs_and_path(uri)
    if not fs.exists(path):
        return []
    prefix = uri.rstrip("/")
    root = path.rstrip("/")
    return sorted(prefix + f[len(root) :] for f in fs.find(path))


def remove(uri: str) -> None:
    fs, path = fs_and_path(uri)
    if fs.exists(path):
        fs.rm(path, recursive=True)


def download_dir(uri: str, local_dir: str) -> None:
    """Copy a prefix into a local folder (for tools that only read local paths)."""
    fs, path = fs_and_path(uri)
    fs.get(path.rstrip("/") + "/", local_dir, recursive=True)


def model_dir(uri: str, cache_dir: str, name: str) -> Path:
    """A model folder (one with `config.json`) as a local path: a local URI as it is, a remote prefix
    downloaded once into `<cache_dir>/<name>` (models are large and read by every run)."""
    if is_local(uri):
        return Path(local_path(uri))
    local = Path(cache_dir) / name.replace("/", "_").replace(":", "_")
    if not (local / "config.json").is_file():
        download_dir(uri, str(local))
    return local


def upload_dir(local_dir: str, uri: str) -> None:
    fs, path = fs_and_path(uri)
    fs.makedirs(path, exist_ok=True)
    fs.put(local_dir.rstrip("/") + "/", path.rstrip("/"), recursive=True)


def staging_uri(final_uri: str) -> str:
    """A fresh sibling prefix to write into before `commit_partition` moves it to `final_uri`."""
    parent, name = posixpath.split(final_uri.rstrip("/"))
    return join(parent, f"_staging-{name}-{uuid.uuid4().hex[:12]}")


def commit_partition(staged_uri: str, final_uri: str, manifest: dict[str, Any]) -> None:
    """Move a fully written partition into place and mark it complete.

    A partition already at `final_uri` (a re-run of the same interval) is replaced, never merged, so
    re-runs leave no duplicates, and at every instant a reader finds either the old partition or the
    new one, whole: a crash at any point of the commit leaves one of them, and the next commit of the
    same partition converges to its own data.
    """
    files = sorted(f for f in _relative_files(staged_uri) if f != MANIFEST)
    if is_local(final_uri):
        _commit_by_rename(staged_uri, final_uri, {**manifest, "files": files})
    else:
        _commit_by_manifest(staged_uri, final_uri, manifest, files)


def _commit_by_rename(staged_uri: str, final_uri: str, manifest: dict[str, Any]) -> None:
    """The manifest goes into the staged folder first, so the rename makes data and manifest appear
    together; an existing partition is renamed aside first and deleted after."""
    fs, final_path = fs_and_path(final_uri)
    _, staged_path = fs_and_path(staged_uri)
    write_json(join(staged_uri, MANIFEST), manifest)
    fs.makedirs(posixpath.dirname(final_path.rstrip("/")), exist_ok=True)
    if fs.exists(final_path):
        aside = staging_uri(final_uri)
        fs.mv(final_path, fs_and_path(aside)[1], recursive=True)
        fs.mv(staged_path, final_path, recursive=True)
        remove(aside)
    else:
        fs.mv(staged_path, final_path, recursive=True)


def _commit_by_manifest(staged_uri: str, final_uri: str, manifest: dict[str, Any], files: list[str]) -> None:
    """Copy, switch, then delete: until the manifest is replaced, it names the old objects, which are
    untouched (a crash leaves the new copy unnamed, and the next commit deletes it); once it is, it
    names the new ones, all already written."""
    version = f"{VERSION_PREFIX}{uuid.uuid4().hex[:12]}"
    named = [f"{version}/{name}" for name in files]
    fs, final_path = fs_and_path(final_uri)
    _, staged_path = fs_and_path(staged_uri)
    if files:
        fs.copy(
            [posixpath.join(staged_path.rstrip("/"), name) for name in files],
            [posixpath.join(final_path.rstrip("/"), name) for name in named],
        )
    write_json(join(final_uri, MANIFEST), {**manifest, "files": named})
    keep = {MANIFEST, *named}
    stale = [f for f in _relative_files(final_uri) if f not in keep]
    if stale:
        fs.rm([posixpath.join(final_path.rstrip("/"), name) for name in stale])
    remove(staged_uri)


def _relative_files(uri: str) -> list[str]:
    prefix = uri.rstrip("/") + "/"
    return [f[len(prefix) :] for f in list_files(uri)]


def is_committed(partition_uri: str) -> bool:
    return exists(join(partition_uri, MANIFEST))


def partition_files(partition_uri: str) -> list[str]:
    """The data files of a partition, as URIs: those its manifest names, so a reader never mixes two
    commits' files. A folder without a manifest (a DVC checkout, not a lake partition) is read whole;
    lake readers check `is_committed` first."""
    manifest_uri = join(partition_uri, MANIFEST)
    if not exists(manifest_uri):
        return [uri for uri in list_files(partition_uri) if not uri.endswith("/" + MANIFEST)]
    return [join(partition_uri, name) for name in read_json(manifest_uri)["files"]]


def committed_partitions(root_uri: str) -> list[str]:
    """The committed partitions directly under `root_uri` (folders with a manifest), sorted; staging
    folders (`_staging-...`) are never among them."""
    suffix = "/" + MANIFEST
    root = root_uri.rstrip("/") + "/"
    found = set()
    for uri in list_files(root_uri):
        relative = uri[len(root) :]
        if relative.endswith(suffix) and relative.count("/") == 1 and not relative.startswith("_"):
            found.add(uri[: -len(suffix)])
    return sorted(found)
