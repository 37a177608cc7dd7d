"""Storage URIs: one API over `file://` (local lake) and `s3://` (the lake bucket), through fsspec.

Data crosses tasks as files at URIs; XCom carries only these URIs and small metadata. Publishing is
write-then-commit: a partition is written under a staging prefix, then committed in one step that a
reader can trust. Locally the commit is a directory rename (atomic on one filesystem); on S3, where
nothing renames, objects are copied into place and a `_manifest.json` is written last. Readers treat a
partition without its manifest as absent.
"""

from __future__ import annotations

import json
import posixpath
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import fsspec

MANIFEST = "_manifest.json"


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

    The manifest (counts, versions, file list) is written into the staged folder first, so the rename
    makes data and manifest appear together. A partition already at `final_uri` (a re-run of the same
    interval) is replaced, never merged, so re-runs leave no duplicates.
    """
    files = [f[len(staged_uri.rstrip("/")) + 1 :] for f in list_files(staged_uri)]
    manifest = {**manifest, "files": sorted(f for f in files if f != MANIFEST)}
    fs, final_path = fs_and_path(final_uri)
    _, staged_path = fs_and_path(staged_uri)
    if is_local(final_uri):
        write_json(join(staged_uri, MANIFEST), manifest)
        fs.makedirs(posixpath.dirname(final_path.rstrip("/")), exist_ok=True)
        if fs.exists(final_path):
            aside = staging_uri(final_uri)
            fs.mv(final_path, fs_and_path(aside)[1], recursive=True)
            fs.mv(staged_path, final_path, recursive=True)
            remove(aside)
        else:
            fs.mv(staged_path, final_path, recursive=True)
        return
    # S3: drop the old manifest first so no reader trusts a half-replaced partition, copy, then commit.
    remove(join(final_uri, MANIFEST))
    remove(final_uri)
    fs.copy(staged_path.rstrip("/") + "/", final_path.rstrip("/"), recursive=True)
    write_json(join(final_uri, MANIFEST), manifest)
    remove(staged_uri)


def is_committed(partition_uri: str) -> bool:
    return exists(join(partition_uri, MANIFEST))
