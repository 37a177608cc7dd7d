"""One batch run, decided on the worker: its key and data time, where it writes, what it selects, and
what its outcomes do to the queue (`pipelines.batch.queue`).

A scheduled run is keyed by the hour it covers (its data interval's end), so running the same hour again
gives the same key, the same lineage ids and the same cache writes, never a second copy. A manual run
(a product list from the trigger form) gets a key of its own. The data time of a run is the end of its
data interval: the cache keeps the newest, so a re-run of an older hour never replaces a newer summary.

Layout in the lake: `batch/state/queue.json` (the watermark and the queue), `batch/runs/<key>/` (the
summarize step's result: counts, models, index), `batch/lineage/run=<key>/`, `batch/shadow/run=<key>/`
and `batch/failures/run=<key>.jsonl` (a record per failed product: reason, attempts, next try). The
hand-offs between the run's tasks (its plan, selection and outcomes) are scratch, in
`staging/batch/<key>/`, removed by the run's teardown: what they said is in the queue, the failure
records and the lineage by then.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from common import storage, summary_lineage
from common.ids import stable_hash
from common.settings import Settings
from common.summary_requests import pending_requests
from pipelines.batch.queue import BatchState, Outcome, QueueEntry, clean_root, select, settle

log = logging.getLogger(__name__)


class EndpointDown(RuntimeError):
    """The summarizer endpoint did not come up: the selection stays queued as pending."""


def batch_root(settings: Settings) -> str:
    return storage.join(settings.lake_uri, "batch")


def state_uri(settings: Settings) -> str:
    return storage.join(batch_root(settings), "state", "queue.json")


def plan_run(
    settings: Settings, run_id: str, data_interval_end: datetime, manual: bool, params: Mapping[str, Any]
) -> dict[str, Any]:
    """The run's plan; raises ValueError on a trigger form that cannot be honoured."""
    if data_interval_end.tzinfo is None:
        raise ValueError("the data interval's end must be timezone-aware")
    products = sorted({p.strip() for p in params.get("product_ids") or [] if p and p.strip()})
    hour = data_interval_end.strftime("%Y%m%dT%H%M")
    run_key = f"{hour}-manual-{stable_hash(run_id, length=8)}" if manual or products else hour
    root = batch_root(settings)
    scratch = storage.join(settings.lake_uri, "staging", "batch", run_key)
    return {
        "run_key": run_key,
        "run_id": run_id,
        "generated_at": data_interval_end.isoformat(),
        "product_ids": products,
        "scratch_uri": scratch,
        "plan_uri": storage.join(scratch, "plan.json"),
        "selection_uri": storage.join(scratch, "selection.json"),
        "outcomes_uri": storage.join(scratch, "outcomes.json"),
        "summarize_result_uri": storage.join(root, "runs", run_key, "summarize.json"),
        "state_uri": state_uri(settings),
        "lineage_uri": summary_lineage.run_uri(settings.lake_uri, run_key),
        "shadow_uri": storage.join(root, "shadow", f"run={run_key}"),
        "failures_uri": storage.join(root, "failures", f"run={run_key}.jsonl"),
    }


def latest_data_version(lake_uri: str) -> str | None:
    """The DVC tag of the most recently published clean partition: the data the index was built from
    when the run selected (recorded in lineage)."""
    newest: tuple[str, str] | None = None
    for uri in storage.committed_partitions(clean_root(lake_uri)):
        manifest = storage.read_json(storage.join(uri, storage.MANIFEST))
        tag = (manifest.get("dvc") or {}).get("tag")
        stamp = str(manifest.get("published_at") or "")
        if tag and (newest is None or stamp > newest[0]):
            newest = (stamp, tag)
    return None if newest is None else newest[1]


def select_for_run(settings: Settings, plan: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Select and persist: the selection first, then the state that owes it (a retried task selects the
    same entries again: they stay queued until settled)."""
    state = BatchState.load(plan["state_uri"])
    requests = pending_requests(settings.lake_uri)
    selection = select(
        state,
        settings.lake_uri,
        now,
        settings.batch.max_products_per_run,
        product_ids=plan["product_ids"],
        invalidated=[(p, lang) for _, request in requests for p, lang in request["keys"]],
    )
    plan["data_version"] = latest_data_version(settings.lake_uri)
    storage.write_json(plan["plan_uri"], plan)
    storage.write_json(plan["selection_uri"], selection.to_dict())
    state.save(plan["state_uri"])
    for uri, _ in requests:  # owed in the saved state now
        storage.remove(uri)
    return {
        "selected": len(selection.entries),
        "new_partitions": selection.new_partitions,
        "enqueued": selection.enqueued,
        "queued": selection.queued,
    }


def settle_run(settings: Settings, plan: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Apply the run's outcomes to the queue, record every failure, alert the terminal ones; raise
    `EndpointDown` when the endpoint never came up (after recording the pending entries)."""
    from common.alerts import send_alert

    summary = storage.read_json(plan["summarize_result_uri"])
    outcomes = [Outcome(**o) for o in storage.read_json(plan["outcomes_uri"])]
    state = BatchState.load(plan["state_uri"])
    batch = settings.batch
    settled = settle(
        state,
        outcomes,
        now,
        max_attempts=batch.max_attempts,
        backoff_initial_s=batch.retry_backoff_s,
        backoff_max_s=batch.retry_backoff_max_s,
    )
    failures = [_failure(e, plan, terminal=False) for e in settled.retrying]
    failures += [_failure(e, plan, terminal=True) for e in settled.terminal]
    _write_jsonl(plan["failures_uri"], failures)
    state.save(plan["state_uri"])
    if settled.terminal:
        send_alert(
            {
                "event": "summaries_failed_terminally",
                "dag_id": "summary_batch_inference",
                "task_id": "settle",
                "run_id": plan["run_id"],
                "count": len(settled.terminal),
                "products": [e.key for e in settled.terminal[:50]],
                "failures_uri": plan["failures_uri"],
            },
            settings,
        )
    report = {
        "summarized": settled.summarized,
        "retrying": len(settled.retrying),
        "failed_terminally": len(settled.terminal),
        "pending": settled.pending,
        "queued": len(state.queue),
        "failures_uri": plan["failures_uri"] if failures else None,
    }
    log.info("batch settled: %s", report)
    if summary.get("endpoint_down"):
        raise EndpointDown(
            f"the summarizer endpoint did not come up ({summary.get('endpoint_error')}): {settled.pending} "
            "products stay queued; the cache keeps serving the previous summaries"
        )
    return report


def _failure(entry: QueueEntry, plan: Mapping[str, Any], *, terminal: bool) -> dict[str, Any]:
    return {**asdict(entry), "run_key": plan["run_key"], "terminal": terminal}


def _write_jsonl(uri: str, rows: Sequence[Mapping[str, Any]]) -> None:
    import json

    storage.remove(uri)
    if rows:
        with storage.open_uri(uri, "w") as handle:
            handle.writelines(json.dumps(row, sort_keys=True) + "\n" for row in rows)


def remove_scratch(plan: Mapping[str, Any]) -> str:
    storage.remove(plan["scratch_uri"])
    return str(plan["scratch_uri"])
