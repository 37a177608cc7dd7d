"""After publishing: what the run produced, for the Asset event, the task log and `make demo`.

Reads the small result files the heavy steps wrote (never the data itself), so it runs on the worker.
"""

from __future__ import annotations

import logging
from typing import Any

from common import storage

log = logging.getLogger(__name__)


def run_report(run_plan: dict[str, Any]) -> dict[str, Any]:
    """The Asset event's `extra` (what a consumer needs to pin exactly this data) and a summary."""
    transform = storage.read_json(run_plan["transform_result_uri"])
    validation = storage.read_json(run_plan["validation_result_uri"])
    published = storage.read_json(run_plan["publish_result_uri"])
    asset_extra = {
        "window_start": run_plan["window_start"],
        "window_end": run_plan["window_end"],
        "partitions": [p["clean_uri"] for p in published["partitions"]],
        "quarantine_partitions": [p["quarantine_uri"] for p in published["partitions"]],
        "dvc": published["dvc"],
        "clean_count": transform["clean_count"],
    }
    summary = {
        "input_count": transform["input_count"],
        "clean_count": transform["clean_count"],
        "quarantine_count": transform["quarantine_count"],
        "quarantine_by_reason": transform["quarantine_by_reason"],
        "partitions": published["partitions"],
        "dvc": published["dvc"],
        "data_docs": validation.get("data_docs_index_uri"),
    }
    log.info("ingestion summary: %s", summary)
    return {"asset_extra": asset_extra, "summary": summary}


def remove_scratch(run_plan: dict[str, Any]) -> None:
    """Delete the raw extract and the staged data; keep the small result files for audit. The raw extract
    holds unredacted text, so it must not outlive the run (quarantine rows keep only a redacted
    preview and a keyed hash of it: `pipelines.ingestion.quarantine`)."""
    for key in ("raw_uri", "staged_uri"):
        storage.remove(run_plan[key])
