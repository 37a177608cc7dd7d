"""After the gate: what the run produced, for the Asset event, the task log and `make demo`.

Reads only the steps' small result files, so it runs on the worker.
"""

from __future__ import annotations

import logging
from typing import Any

from common import storage

log = logging.getLogger(__name__)


def run_report(run_plan: dict[str, Any]) -> dict[str, Any]:
    embedded = storage.read_json(run_plan["embed_result_uri"])
    gate = storage.read_json(run_plan["gate_result_uri"])
    report = {
        "alias": gate["alias"],
        "index": gate["index"],
        "previous_index": gate.get("previous_index"),
        "embedding_model": embedded["embedding_model"],
        "embedding_dim": embedded["embedding_dim"],
        "mode": embedded["mode"],
        "copied_from": embedded.get("copied_from"),
        "dataset_version": embedded.get("dataset_version"),
        "reviews_in": embedded["reviews_in"],
        "reviews_indexed": embedded["reviews_indexed"],
        "reviews_forgotten": embedded["reviews_forgotten"],
        "chunks_written": embedded["chunks_written"],
        "index_count": embedded["index_count"],
        "metrics": gate["metrics"],
        "forgotten_chunks_deleted": gate.get("forgotten_chunks_deleted", 0),
    }
    log.info("embedding summary: %s", report)
    return report
