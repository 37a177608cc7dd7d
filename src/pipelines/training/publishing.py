"""Versioning the golden set and the SFT dataset, and reading versions back.

A set's files are versioned together in the DVC registry (`sft.golden.registry_path`,
`sft.registry_path`); the tag is named after the content, so the same inputs give the same tag. The files
are then copied to the step's output: for the SFT dataset `train/train.jsonl` and
`validation/validation.jsonl` (one folder per training channel) and `dataset_card.json`. A result
carries the version to pin.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from common import storage
from common.data_versioning import DataRegistry, DataVersion
from pipelines.training.rows import TRAIN, VALIDATION

# Each split in a folder of its own: the training job reads them as two channels.
SPLIT_FILES = {TRAIN: "train/train.jsonl", VALIDATION: "validation/validation.jsonl"}
CARD_FILE = "dataset_card.json"
GOLDEN_FILE = "golden.jsonl"


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Rows as canonical JSON lines (sorted keys, UTF-8 as is): the same rows give the same bytes."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def fetch_version(registry: DataRegistry, path_in_registry: str, tag: str, dest: Path) -> Path:
    """One version of a registry directory in `dest`; its tag must exist."""
    if registry.tag_commit(tag) is None:
        raise ValueError(f"{registry.registry_url} has no version {tag!r}")
    return registry.fetch(path_in_registry, tag, dest)


def publish(
    registry: DataRegistry,
    path_in_registry: str,
    files: Mapping[str, Any],
    output_uri: str,
    message: str,
    work_dir: Path,
) -> DataVersion:
    """Version a directory of JSONL row lists and JSON documents in the registry, then copy it to
    `output_uri`. DVC first: whatever a reader finds at the output has a version to pin."""
    folder = work_dir / "publish"
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".jsonl"):
            write_jsonl(folder / name, content)
        else:
            text = json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False)
            (folder / name).write_text(text + "\n", encoding="utf-8")
    registry.ensure_exists()
    version = registry.version_directory(folder, path_in_registry, message)
    storage.upload_dir(str(folder), output_uri)
    return version


def version_dict(version: DataVersion) -> dict[str, Any]:
    return {k: v for k, v in version.to_dict().items() if k in ("registry_url", "path", "rev", "tag", "md5")}


def pinned_version(registry: DataRegistry, path_in_registry: str, tag: str) -> dict[str, Any]:
    """The version record of an existing tag, as `version_dict` gives one for a new version."""
    return {
        "registry_url": registry.registry_url,
        "path": path_in_registry,
        "tag": tag,
        "rev": registry.tag_commit(tag),
    }


def output_uris(output_uri: str) -> dict[str, str]:
    """Where the dataset's files are: the split folders are the training job's two channels."""
    return {
        "output_uri": output_uri,
        "train_uri": storage.join(output_uri, SPLIT_FILES[TRAIN]),
        "validation_uri": storage.join(output_uri, SPLIT_FILES[VALIDATION]),
        "train_channel_uri": storage.join(output_uri, TRAIN),
        "validation_channel_uri": storage.join(output_uri, VALIDATION),
        "card_uri": storage.join(output_uri, CARD_FILE),
    }
