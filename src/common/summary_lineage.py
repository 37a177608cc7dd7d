"""Where the lineage records of batch inference live, for the batch that writes them
(`pipelines.batch.lineage`, which declares their schema) and for those that read them: the storefront's
lookup and quality monitoring.

`<lake>/batch/lineage/run=<run key>/part-00000.parquet`, one partition per run; a run key starts with the
hour it covers (`YYYYmmddTHHMM`, a manual run's key adds `-manual-<hash>`), so a day's runs are the
partitions whose key starts with the day.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from common import storage

PARTITION_PREFIX = "run="


def lineage_root(lake_uri: str) -> str:
    return storage.join(lake_uri, "batch", "lineage")


def run_uri(lake_uri: str, run_key: str) -> str:
    return storage.join(lineage_root(lake_uri), f"{PARTITION_PREFIX}{run_key}")


def read(uri: str, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """Every record of a run's partition (or of every run under the lineage root), lists as lists."""
    return _read_files([f for f in storage.list_files(uri) if f.endswith(".parquet")], columns)


def read_day(lake_uri: str, day: date, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """The records of every run of `day` (UTC), by the run keys' hour."""
    root = lineage_root(lake_uri)
    prefix = f"{PARTITION_PREFIX}{day.strftime('%Y%m%d')}T"
    files = [
        f
        for f in storage.list_files(root)
        if f.endswith(".parquet") and f[len(root) :].lstrip("/").startswith(prefix)
    ]
    return _read_files(files, columns)


def _read_files(files: list[str], columns: list[str] | None) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for file_uri in files:
        with storage.open_uri(file_uri) as handle:
            rows += pq.read_table(handle, columns=columns).to_pylist()
    return rows
