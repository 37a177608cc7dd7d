"""What one embedding run reads and where it writes its results, decided once on the worker.

The run is started by `reviews_clean` Asset events (one per ingestion run since the last embedding run)
or by hand. Each event's `extra` names the exact partitions that ingestion run published, so an
incremental run embeds those and nothing else. A manual run asks for a full rebuild or for one DVC
version of the clean data. Everything the heavy steps need goes into a small JSON plan at a URI.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from common import storage
from common.ids import stable_hash


def partitions_from_events(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """The partitions the triggering ingestion runs published, de-duplicated, in date order."""
    partitions: set[str] = set()
    for extra in events:
        partitions.update(extra.get("partitions", []))
    return sorted(partitions, key=lambda uri: (uri.rsplit("/", 1)[-1], uri))


def plan_run(
    lake_uri: str,
    run_id: str,
    logical_date: str,
    events: Iterable[Mapping[str, Any]],
    full_rebuild: bool,
    dataset_version: str | None,
) -> dict[str, Any]:
    partitions = partitions_from_events(events)
    dataset_version = (dataset_version or "").strip() or None
    if dataset_version or full_rebuild:
        mode = "rebuild"
    elif partitions:
        mode = "incremental"
    else:
        raise ValueError(
            "nothing to embed: the run was not started by a reviews_clean event with partitions; "
            "trigger it with *Partitions*, *Full rebuild* or a *Dataset version*"
        )
    # The run key is in the new index's name: lowercase, sortable by time, unique per run.
    stamp = "".join(ch for ch in logical_date[:19] if ch.isdigit())
    run_key = f"{stamp}-{stable_hash(run_id, length=8)}"
    scratch = storage.join(lake_uri, "staging", "embedding", run_key)
    return {
        "mode": mode,
        "partitions": partitions,
        "dataset_version": dataset_version,
        "lake_uri": lake_uri,
        "run_key": run_key,
        "plan_uri": storage.join(scratch, "plan.json"),
        "embed_result_uri": storage.join(scratch, "results", "embed.json"),
        "gate_result_uri": storage.join(scratch, "results", "gate.json"),
    }


def write_plan(plan: dict[str, Any]) -> dict[str, Any]:
    storage.write_json(plan["plan_uri"], plan)
    return plan


def remove_scratch(plan: Mapping[str, Any]) -> list[str]:
    """Delete what the run staged for its steps once it has ended: the plan file (the steps fetch any
    pinned data into their own temporary folders). The result files stay for audit; the index is the
    gate's to keep or expire. Returns what was removed, for the task log."""
    uris = [plan["plan_uri"]]
    for uri in uris:
        storage.remove(uri)
    return uris
