"""Right-to-be-forgotten tombstones: review IDs that no reader of the lake may use again.

A deletion request cannot rewrite history everywhere at once (clean partitions, DVC versions, indexes),
so it is recorded first, as an append-only file under `<lake>/tombstones/reviews/`, and every reader of
clean reviews drops the IDs it lists: the embedding step never indexes them again, and the pipelines
that build training data or contexts from the lake do the same through `forgotten_review_ids`.
Removal from the vector indexes is a separate, idempotent step (`pipelines.embedding.forget`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from common import storage
from common.ids import stable_hash


def tombstones_uri(lake_uri: str) -> str:
    return storage.join(lake_uri, "tombstones", "reviews")


def record_tombstones(
    lake_uri: str, review_ids: Iterable[str], reason: str, request_id: str
) -> dict[str, Any]:
    """Write one tombstone file for a request. The same request written twice lands in the same file."""
    ids = sorted({str(r).strip() for r in review_ids if str(r).strip()})
    if not ids:
        raise ValueError("no review ids to forget")
    if not reason.strip():
        raise ValueError("a deletion request needs a reason (the ticket or legal basis)")
    key = stable_hash(request_id, length=16)
    uri = storage.join(tombstones_uri(lake_uri), f"{key}.jsonl")
    recorded_at = datetime.now(UTC).isoformat()
    lines = [
        json.dumps({"review_id": r, "reason": reason, "request_id": request_id, "recorded_at": recorded_at})
        for r in ids
    ]
    with storage.open_uri(uri, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    result_uri = storage.join(lake_uri, "staging", "forget", f"{key}.json")
    return {"tombstone_uri": uri, "result_uri": result_uri, "review_ids": ids, "count": len(ids)}


def forgotten_review_ids(lake_uri: str) -> frozenset[str]:
    """Every review ID any tombstone names."""
    forgotten: set[str] = set()
    for uri in storage.list_files(tombstones_uri(lake_uri)):
        if not uri.endswith(".jsonl"):
            continue
        with storage.open_uri(uri, "r") as handle:
            for line in handle:
                if line.strip():
                    forgotten.add(json.loads(line)["review_id"])
    return frozenset(forgotten)


def read_tombstone(uri: str) -> list[str]:
    with storage.open_uri(uri, "r") as handle:
        return [json.loads(line)["review_id"] for line in handle if line.strip()]
