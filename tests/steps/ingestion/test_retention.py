"""Retention of a local lake: raw extracts and quarantine partitions go once they are older than their
configured days, counted from when they were last written; nothing else is ever touched."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from common.data_versioning import DataRegistry
from common.schemas import RAW_REVIEW
from common.settings import RetentionSettings, config_dir, load_settings
from pipelines.ingestion import publish
from pipelines.ingestion.plan import plan_run
from pipelines.ingestion.retention import expire_ingestion_data
from tests.steps.ingestion.test_publish import stage

NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
RETENTION = RetentionSettings(raw_days=14, quarantine_days=90)


def write_file(path: Path, age: timedelta, content: bytes = b"x") -> Path:
    """A file last written `age` before NOW."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    moment = (NOW - age).timestamp()
    os.utime(path, (moment, moment))
    return path


def tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_only_what_is_past_its_retention_is_deleted(tmp_path: Path):
    lake = tmp_path / "lake"
    days = timedelta(days=1)
    raw = lake / "raw" / "reviews"
    write_file(raw / "window=A" / "run=old" / "part-00000.parquet", 15 * days)
    write_file(raw / "window=A" / "run=old" / "part-00001.parquet", 14 * days + timedelta(hours=1))
    write_file(raw / "window=A" / "run=recent" / "part-00000.parquet", 13 * days)
    # A run whose first file is old but that was still writing (its newest file is recent) is kept.
    write_file(raw / "window=B" / "run=long" / "part-00000.parquet", 30 * days)
    write_file(raw / "window=B" / "run=long" / "part-00001.parquet", 2 * days)
    write_file(raw / "window=C" / "run=only" / "part-00000.parquet", 40 * days)
    quarantine = lake / "quarantine" / "reviews"
    for name in ("part-00000.parquet", "_manifest.json"):
        write_file(quarantine / "dt=2026-11-01" / name, 91 * days)
        write_file(quarantine / "dt=2026-11-20" / name, 89 * days)
        # An old day re-published by a backfill last week: its clock started again.
        write_file(quarantine / "dt=2026-06-01" / name, 7 * days)
    write_file(quarantine / "_staging-dt=2026-10-01-0123456789ab" / "part-00000.parquet", 120 * days)
    # Never touched, however old: the clean data, the run results, other pipelines' lake folders.
    untouched = [
        write_file(lake / "clean" / "reviews" / "dt=2026-01-01" / "part-00000.parquet", 400 * days),
        write_file(lake / "staging" / "ingestion" / "k" / "results" / "transform.json", 400 * days),
        write_file(lake / "tombstones" / "reviews" / "t.json", 400 * days),
        write_file(lake / "raw" / "other" / "x.parquet", 400 * days),
    ]

    expired = expire_ingestion_data(lake.as_uri(), RETENTION, now=NOW)

    assert expired.raw == ["raw/reviews/window=A/run=old", "raw/reviews/window=C/run=only"]
    assert expired.quarantine == [
        "quarantine/reviews/_staging-dt=2026-10-01-0123456789ab",
        "quarantine/reviews/dt=2026-11-01",
    ]
    assert tree(raw) == [
        "window=A/run=recent/part-00000.parquet",
        "window=B/run=long/part-00000.parquet",
        "window=B/run=long/part-00001.parquet",
    ]
    assert not (raw / "window=C").exists()  # its only run expired
    assert sorted(p.name for p in quarantine.iterdir()) == ["dt=2026-06-01", "dt=2026-11-20"]
    assert all(path.is_file() for path in untouched)

    # A second pass finds nothing more; nor does a pass over a lake with nothing in it.
    assert expire_ingestion_data(lake.as_uri(), RETENTION, now=NOW).to_dict() == {"raw": [], "quarantine": []}
    assert expire_ingestion_data((tmp_path / "empty").as_uri(), RETENTION, now=NOW).to_dict() == {
        "raw": [],
        "quarantine": [],
    }


def test_the_configured_days_decide(tmp_path: Path):
    lake = tmp_path / "lake"
    write_file(lake / "raw" / "reviews" / "window=A" / "run=r" / "part-00000.parquet", timedelta(days=3))
    write_file(lake / "quarantine" / "reviews" / "dt=2027-02-20" / "part-00000.parquet", timedelta(days=3))
    kept = expire_ingestion_data(lake.as_uri(), RetentionSettings(raw_days=4, quarantine_days=4), now=NOW)
    assert kept.to_dict() == {"raw": [], "quarantine": []}
    gone = expire_ingestion_data(lake.as_uri(), RetentionSettings(raw_days=2, quarantine_days=2), now=NOW)
    assert gone.to_dict() == {
        "raw": ["raw/reviews/window=A/run=r"],
        "quarantine": ["quarantine/reviews/dt=2027-02-20"],
    }


def test_a_lake_with_lifecycle_rules_is_left_to_them(tmp_path: Path):
    # No request is made: a bucket that does not exist would fail otherwise.
    remote = expire_ingestion_data("s3://no-such-bucket/lake", RETENTION, now=NOW, by_lifecycle_rules=True)
    assert remote.to_dict() == {"raw": [], "quarantine": []}
    extract = write_file(tmp_path / "raw" / "reviews" / "window=w" / "run=r" / "a", timedelta(days=30))
    expire_ingestion_data(tmp_path.as_uri(), RETENTION, now=NOW, by_lifecycle_rules=True)
    assert extract.exists()


def test_a_remote_lake_without_lifecycle_rules_is_an_error():
    """Skipping it silently would keep its personal data for ever."""
    with pytest.raises(ValueError, match=r"lake\.retention_by_lifecycle_rules"):
        expire_ingestion_data("s3://no-such-bucket-here/lake", RETENTION, now=NOW)


def test_retention_reaches_what_the_pipeline_really_writes(tmp_path: Path):
    """The layouts come from the planner and the publish step themselves, not from this test."""
    lake = tmp_path / "lake"
    start = datetime(2026, 11, 17, tzinfo=UTC)
    run_plan = plan_run(lake.as_uri(), "manual__2026-11-19", start, start + timedelta(days=2))
    raw_dir = Path(run_plan.raw_uri.removeprefix("file://"))
    raw_dir.mkdir(parents=True)
    pq.write_table(RAW_REVIEW.empty_table(), raw_dir / "part-00000.parquet")
    staged_uri, transform_result = stage(
        tmp_path / "staged", {"2026-11-17": ["a"], "2026-11-18": ["b"]}, {"2026-11-17": ["q1"]}
    )
    registry = DataRegistry(
        str(tmp_path / "dvc" / "registry.git"),
        str(tmp_path / "dvc" / "remote"),
        "t",
        "t@localhost",
        allow_create=True,
    )
    published = publish.publish(staged_uri, transform_result, lake.as_uri(), "run-1", registry)
    quarantine_dirs = [Path(p["quarantine_uri"].removeprefix("file://")) for p in published["partitions"]]
    clean_dirs = [Path(p["clean_uri"].removeprefix("file://")) for p in published["partitions"]]
    assert all(d.is_dir() for d in quarantine_dirs + clean_dirs) and raw_dir.is_dir()

    written = datetime.now(UTC)
    assert expire_ingestion_data(lake.as_uri(), RETENTION, now=written + timedelta(days=13)).to_dict() == {
        "raw": [],
        "quarantine": [],
    }
    later = expire_ingestion_data(lake.as_uri(), RETENTION, now=written + timedelta(days=15))
    assert later.raw == [raw_dir.relative_to(lake).as_posix()] and not raw_dir.exists()
    assert later.quarantine == []
    latest = expire_ingestion_data(lake.as_uri(), RETENTION, now=written + timedelta(days=91))
    assert latest.quarantine == [d.relative_to(lake).as_posix() for d in quarantine_dirs]
    assert not any(d.exists() for d in quarantine_dirs)
    assert all(d.is_dir() for d in clean_dirs)  # the clean data has no retention


@pytest.mark.parametrize("profile", ["local", "aws"])
def test_both_profiles_read_the_retention_from_config(profile, monkeypatch):
    """The days Terraform gives the S3 lifecycle rules (tests/infra) are the ones the pipeline reads."""
    aws_profile = (config_dir() / "profiles" / "aws.yaml").read_text(encoding="utf-8")
    for name in set(re.findall(r"\$\{(\w+)\}", aws_profile)):
        monkeypatch.setenv(name, f"test-{name.lower()}")
    shared = yaml.safe_load((config_dir() / "pipeline.yaml").read_text(encoding="utf-8"))
    own = yaml.safe_load((config_dir() / "profiles" / f"{profile}.yaml").read_text(encoding="utf-8"))
    configured = {**shared["ingestion"]["retention"], **own.get("ingestion", {}).get("retention", {})}
    assert load_settings(profile).ingestion.retention.model_dump() == configured
