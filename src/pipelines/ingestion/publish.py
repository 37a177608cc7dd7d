"""Publishing a validated ingestion run: a DVC version of its partitions, then an atomic commit into the lake.

`python -m pipelines.ingestion.publish --staged-uri URI --validation-result-uri URI
--transform-result-uri URI --lake-uri URI --run-id ID --result-uri URI`

Nothing is published unless the validation result of exactly this staged run says it passed (exit code
3 otherwise). Then, for every day of the run:

1. the staged clean partitions are versioned in the DVC registry, as `reviews/clean/dt=...`, in one
   commit with one tag for the run;
2. each clean and quarantine partition is committed into the lake at
   `<lake>/clean/reviews/dt=YYYY-MM-DD` and `<lake>/quarantine/reviews/dt=YYYY-MM-DD` with a manifest
   naming its counts, run and (clean only) DVC version.

Only clean data is versioned. Neither side holds raw review text (clean rows are redacted, quarantine
rows hold a redacted preview and a keyed hash of the raw text: `pipelines.ingestion.quarantine`), but
quarantine is a review queue, not a dataset: its lake partitions expire after
`ingestion.retention.quarantine_days` (S3 lifecycle rules in `aws`, `pipelines.ingestion.retention`
locally), and a copy in the DVC remote, which is content-addressed and never expires, would outlive that
retention. Nothing trains on quarantine, so nothing needs to pin a version of it.

DVC comes first, so every clean partition a reader can see has a version to pin. A day with reviews on
one side only gets an empty partition on the other, so re-running a window always replaces both sides
and never leaves a stale one behind. Re-publishing the same data is idempotent: DVC returns the existing
version and the lake commit replaces each partition whole. The staged data is copied, never moved, so a
retried publish finds its input intact.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from common import storage
from common.data_versioning import DataRegistry, DataVersion
from common.ids import stable_hash
from common.schemas import CLEAN_REVIEW, QUARANTINE_REVIEW
from common.settings import Settings, get_settings
from common.step_entrypoint import QualityGateFailed, run_step, step_parser

log = logging.getLogger(__name__)

SCHEMAS: dict[str, tuple[str, pa.Schema]] = {
    "clean": ("CLEAN_REVIEW", CLEAN_REVIEW),
    "quarantine": ("QUARANTINE_REVIEW", QUARANTINE_REVIEW),
}
PART_FILE = "part-00000.parquet"
DATASET = "reviews"
# The sides versioned in DVC (see the module docstring for why quarantine is not).
VERSIONED = ("clean",)


def schema_version(schema: pa.Schema) -> str:
    """A fingerprint of the declared schema: it changes exactly when a field, type or order does."""
    return stable_hash(schema.to_string(show_field_metadata=False, show_schema_metadata=False), length=16)


def registry_path(kind: str, dt: str) -> str:
    return f"{DATASET}/{kind}/dt={dt}"


def lake_partition_uri(lake_uri: str, kind: str, dt: str) -> str:
    return storage.join(lake_uri, kind, DATASET, f"dt={dt}")


def check_validation(validation_result: dict[str, Any] | None, staged_uri: str) -> None:
    """Publishing is allowed only for the very staged run a passing validation looked at."""
    if validation_result is None:
        raise QualityGateFailed(
            "no validation result: the staged run was never validated", {"published": False}
        )
    if validation_result.get("status") != "succeeded" or validation_result.get("success") is not True:
        failed = [
            f"{f['suite']}.{f['expectation']}" for f in validation_result.get("failed_expectations", [])
        ]
        raise QualityGateFailed(
            f"validation did not pass (status {validation_result.get('status')!r}); failed: {failed}",
            {"published": False},
        )
    if validation_result.get("staged_uri") != staged_uri:
        raise QualityGateFailed(
            f"the validation result is for {validation_result.get('staged_uri')}, not {staged_uri}",
            {"published": False},
        )


def staged_days(staged_uri: str, transform_result: dict[str, Any]) -> list[str]:
    """Every day with a staged partition on either side, and every day the transform reported."""
    days = set(transform_result.get("partitions", {}))
    for kind in SCHEMAS:
        root = storage.join(staged_uri, kind)
        for uri in storage.list_files(root):
            folder = uri[len(root) + 1 :].split("/", 1)[0]
            if folder.startswith("dt="):
                days.add(folder.removeprefix("dt="))
    return sorted(days)


def _stage_locally(staged_uri: str, kind: str, dt: str, local_dir: Path) -> int:
    """Copy one staged partition into `local_dir` (an empty one when the side has no rows that day);
    return its row count, read from the Parquet footers."""
    source = storage.join(staged_uri, kind, f"dt={dt}")
    local_dir.mkdir(parents=True)
    if storage.list_files(source):
        storage.download_dir(source, str(local_dir))
    else:
        pq.write_table(SCHEMAS[kind][1].empty_table(), local_dir / PART_FILE)
    return sum(pq.ParquetFile(path).metadata.num_rows for path in sorted(local_dir.rglob("*.parquet")))


def _manifest(kind: str, dt: str, rows: int, run_id: str, version: DataVersion | None) -> dict[str, Any]:
    name, schema = SCHEMAS[kind]
    return {
        "dataset": f"{DATASET}/{kind}",
        "dt": dt,
        "row_count": rows,
        "run_id": run_id,
        "schema": name,
        "schema_version": schema_version(schema),
        "dvc": None
        if version is None
        else {
            "registry_url": version.registry_url,
            "path": version.path,
            "rev": version.rev,
            "tag": version.tag,
            "md5": version.md5,
        },
        "published_at": datetime.now(UTC).isoformat(),
    }


def publish(
    staged_uri: str,
    transform_result: dict[str, Any],
    lake_uri: str,
    run_id: str,
    registry: DataRegistry,
) -> dict[str, Any]:
    """Version and commit every day of a validated staged run; return what was published where."""
    days = staged_days(staged_uri, transform_result)
    if not days:
        log.info("nothing staged: nothing to publish")
        return {"run_id": run_id, "partitions": [], "dvc": {}, "totals": _totals([])}
    with tempfile.TemporaryDirectory(prefix="publish-") as tmp:
        local: dict[tuple[str, str], Path] = {}
        counts: dict[tuple[str, str], int] = {}
        for dt in days:
            for kind in SCHEMAS:
                local[kind, dt] = Path(tmp) / kind / f"dt={dt}"
                counts[kind, dt] = _stage_locally(staged_uri, kind, dt, local[kind, dt])
        for kind in SCHEMAS:
            staged_rows = sum(n for (k, _), n in counts.items() if k == kind)
            if staged_rows != int(transform_result[f"{kind}_count"]):
                raise QualityGateFailed(
                    f"the staged {kind} data has {staged_rows} rows but the transform reported "
                    f"{transform_result[f'{kind}_count']}: it changed after validation",
                    {"published": False},
                )

        registry.ensure_exists()
        name = f"{DATASET}/dt={days[0]}" if len(days) == 1 else f"{DATASET}/dt={days[0]}_{days[-1]}"
        message = (
            f"Ingestion run {run_id}: {len(days)} day(s) {days[0]}..{days[-1]}, "
            f"{transform_result['clean_count']} clean, {transform_result['quarantine_count']} quarantined"
        )
        versions = registry.version_directories(
            {registry_path(kind, dt): folder for (kind, dt), folder in local.items() if kind in VERSIONED},
            name=name,
            message=message,
        )
        by_path = {v.path: v for v in versions}

        partitions = []
        for dt in days:
            entry: dict[str, Any] = {"dt": dt}
            for kind in SCHEMAS:
                final = lake_partition_uri(lake_uri, kind, dt)
                staging = storage.staging_uri(final)
                storage.upload_dir(str(local[kind, dt]), staging)
                version = by_path[registry_path(kind, dt)] if kind in VERSIONED else None
                storage.commit_partition(
                    staging, final, _manifest(kind, dt, counts[kind, dt], run_id, version)
                )
                entry[f"{kind}_uri"] = final
                entry[f"{kind}_count"] = counts[kind, dt]
            partitions.append(entry)
            log.info(
                "published %s: %d clean, %d quarantined", dt, entry["clean_count"], entry["quarantine_count"]
            )

    first = versions[0]
    return {
        "run_id": run_id,
        "partitions": partitions,
        "dvc": {
            "registry_url": first.registry_url,
            "rev": first.rev,
            "tag": first.tag,
            "paths": [v.path for v in versions],
        },
        "totals": _totals(partitions),
    }


def _totals(partitions: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "partitions": len(partitions),
        "clean_count": sum(p["clean_count"] for p in partitions),
        "quarantine_count": sum(p["quarantine_count"] for p in partitions),
    }


def run(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    validation = (
        storage.read_json(args.validation_result_uri) if storage.exists(args.validation_result_uri) else None
    )
    check_validation(validation, args.staged_uri)
    transform_result = storage.read_json(args.transform_result_uri)
    return publish(
        args.staged_uri, transform_result, args.lake_uri, args.run_id, DataRegistry.from_settings(settings)
    )


def parser() -> argparse.ArgumentParser:
    p = step_parser("Version a validated ingestion run with DVC and commit its partitions into the lake.")
    p.add_argument("--staged-uri", required=True, help="the validated staged run")
    p.add_argument("--validation-result-uri", required=True, help="the validate step's result JSON")
    p.add_argument("--transform-result-uri", required=True, help="the transform step's result JSON (counts)")
    p.add_argument("--lake-uri", required=True, help="the lake root: partitions go to <lake>/<kind>/reviews/")
    p.add_argument("--run-id", required=True, help="the orchestrator's run id, recorded in every manifest")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(lambda args: run(args, get_settings()), parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
