"""Retention of the ingestion data that holds, or held, review text outside the clean data: raw extracts and
quarantine partitions.

- Raw extracts (`<lake>/raw/reviews/window=.../run=...`) hold the unredacted text. A run's cleanup deletes
  its own; one left behind by a run that failed (the cleanup task does not run then) expires after
  `ingestion.retention.raw_days`.
- Quarantine partitions (`<lake>/quarantine/reviews/dt=...`, and a `_staging-*` folder a failed commit
  left there) hold redacted previews and keyed hashes: kept `ingestion.retention.quarantine_days` for
  review and reprocessing, then deleted. They are not versioned in DVC (`pipelines.ingestion.publish`),
  so the lake copy is the only one.

Age is counted from when the data was last written, as S3 lifecycle expiration counts from an object's
creation: both profiles keep the same data for the same time, and re-publishing a day (a backfill)
starts its clock again, as it does on S3. A partition or extract is written whole, so it expires whole,
when its newest file is older than the retention.

In `aws` the lake bucket's lifecycle rules do this (terraform/modules/storage, with the same days from
`config/pipeline.yaml`), and `lake.retention_by_lifecycle_rules` says so; otherwise this module does it
for a lake on a local filesystem, called by the ingestion DAG's cleanup task.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import storage
from common.settings import RetentionSettings

log = logging.getLogger(__name__)

RAW_ROOT = ("raw", "reviews")  # <lake>/raw/reviews/window=<window>/run=<run key>/
QUARANTINE_ROOT = ("quarantine", "reviews")  # <lake>/quarantine/reviews/dt=<day>/


@dataclass
class Expired:
    """What one pass deleted, as lake-relative paths."""

    raw: list[str] = field(default_factory=list)
    quarantine: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[str]]:
        return {"raw": self.raw, "quarantine": self.quarantine}


def last_written(folder: Path) -> datetime:
    """When anything under `folder` was last written (the folder itself when it holds no file)."""
    times = [p.stat().st_mtime for p in folder.rglob("*") if p.is_file()]
    return datetime.fromtimestamp(max(times, default=folder.stat().st_mtime), UTC)


def _raw_extracts(lake: Path) -> list[Path]:
    root = lake.joinpath(*RAW_ROOT)
    if not root.is_dir():
        return []
    return sorted(
        run for window in root.iterdir() if window.is_dir() for run in window.iterdir() if run.is_dir()
    )


def _quarantine_partitions(lake: Path) -> list[Path]:
    root = lake.joinpath(*QUARANTINE_ROOT)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(("dt=", "_staging-")))


def _expire(folders: list[Path], days: int, now: datetime, lake: Path) -> list[str]:
    cutoff = now - timedelta(days=days)
    deleted = []
    for folder in folders:
        if last_written(folder) < cutoff:
            shutil.rmtree(folder)
            deleted.append(folder.relative_to(lake).as_posix())
    return deleted


def expire_ingestion_data(
    lake_uri: str,
    retention: RetentionSettings,
    now: datetime | None = None,
    *,
    by_lifecycle_rules: bool = False,
) -> Expired:
    """Delete the raw extracts and quarantine partitions of a local lake older than their retention;
    return what was deleted. Clean partitions, results and everything else are never touched.

    `by_lifecycle_rules` (`lake.retention_by_lifecycle_rules`): the lake's storage expires the data itself,
    and nothing is done here. Without it a lake this cannot walk is an error, not a silent no-op: its
    personal data would otherwise never expire."""
    if by_lifecycle_rules:
        log.info("retention of %s is the lake's lifecycle rules' work: nothing to do here", lake_uri)
        return Expired()
    if not storage.is_local(lake_uri):
        raise ValueError(
            f"{lake_uri} is not on a local filesystem: its retention needs lifecycle rules "
            "(lake.retention_by_lifecycle_rules: true)"
        )
    lake = Path(storage.local_path(lake_uri))
    now = now or datetime.now(UTC)
    expired = Expired(
        raw=_expire(_raw_extracts(lake), retention.raw_days, now, lake),
        quarantine=_expire(_quarantine_partitions(lake), retention.quarantine_days, now, lake),
    )
    # A window folder whose runs have all expired is left empty: drop it too.
    raw_root = lake.joinpath(*RAW_ROOT)
    if raw_root.is_dir():
        for window in raw_root.iterdir():
            if window.is_dir() and not any(window.iterdir()):
                window.rmdir()
    log.info(
        "retention: deleted %d raw extract(s) older than %d days and %d quarantine partition(s) older "
        "than %d days%s",
        len(expired.raw),
        retention.raw_days,
        len(expired.quarantine),
        retention.quarantine_days,
        "".join(f"\n  {path}" for path in expired.raw + expired.quarantine),
    )
    return expired
