"""Every summary traced to what made it: one lineage record per champion answer, cached or rejected.

A record names the product and language, the run and its data time, the model (registry name, alias,
version, the adapter's content hash and base model from the serving manifest), the prompt contract
(name, version, hash), the data (the newest clean data's DVC tag when the run selected, the physical index
the alias pointed to), the review and chunk ids behind every snippet in prompt order (so a snippet number
cited by a claim maps to its review), the snippets the injection screen left out, the raw answer, the
parsed answer, every guardrail result, tokens, tries and latency.

Records are Parquet in the lake, one partition per run (`<lake>/batch/lineage/run=<run key>/`), written
whole: running the step again for the same run replaces the partition, so the same key never appears
twice. The cached summary carries its record's key (`lineage_key`), which is deterministic: the run, the
product, the language and the model version.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from common import storage
from common.ids import stable_hash
from common.prompts import canonical_json, load_prompt
from common.serving.client import Outcome, SummaryOutcome

if TYPE_CHECKING:
    from pipelines.batch.guard import Verdict
    from pipelines.batch.summarize import Prepared, ServedModel

PART_FILE = "part-00000.parquet"


def lineage_key(run_key: str, product_id: str, language: str, model_version: str) -> str:
    return stable_hash("batch-summary", run_key, product_id, language, model_version, length=24)


def record(
    key: str,
    plan: Mapping[str, Any],
    item: Prepared,
    model: ServedModel,
    outcome: Outcome,
    verdict: Verdict | None,
    reasons: Sequence[str],
    index: str,
    model_name: str,
) -> dict[str, Any]:
    prompt = load_prompt()
    answer = outcome.summary if isinstance(outcome, SummaryOutcome) else None
    return {
        "lineage_key": key,
        "run_key": plan["run_key"],
        "generated_at": plan["generated_at"],
        "product_id": item.entry.product_id,
        "language": item.entry.language,
        "status": "failed" if reasons else "summarized",
        "reasons": list(reasons),
        "model_name": model_name,
        "model_alias": model.alias,
        "model_version": model.version,
        "adapter_sha256": model.manifest.get("content_sha256"),
        "base_model_id": model.manifest.get("base_model_id"),
        "prompt_name": prompt.name,
        "prompt_version": str(prompt.version),
        "prompt_sha256": prompt.sha256,
        "data_version": plan.get("data_version"),
        "index": index,
        "snippet_review_ids": item.context.review_ids,
        "snippet_chunk_ids": item.context.chunk_ids,
        "snippet_stars": [s.hit.star_rating for s in item.context.snippets],
        "screened_out_chunk_ids": list(item.screened_out),
        "raw_text": outcome.text,
        "answer_json": None if answer is None else canonical_json(verdict.summary if verdict else answer),
        "guardrails_json": None if verdict is None else json.dumps(verdict.to_dict(), sort_keys=True),
        "grounding": None if verdict is None else verdict.grounding,
        "evidence_validity": None if verdict is None else verdict.evidence_validity,
        "toxicity": None if verdict is None else verdict.toxicity,
        "attempts": outcome.stats.attempts,
        "latency_s": outcome.stats.latency_s,
        "prompt_tokens": outcome.stats.prompt_tokens,
        "completion_tokens": outcome.stats.completion_tokens,
    }


def run_uri(lineage_root: str, run_key: str) -> str:
    return storage.join(lineage_root, f"run={run_key}")


def write(records: Sequence[Mapping[str, Any]], uri: str) -> None:
    """The run's partition, replaced whole (an empty run leaves an empty file, not a stale one)."""
    import pandas as pd

    storage.remove(uri)
    frame = pd.DataFrame(list(records), columns=list(records[0]) if records else ["lineage_key"])
    with storage.open_uri(storage.join(uri, PART_FILE), "wb") as handle:
        frame.to_parquet(handle, index=False)


def read(uri: str) -> list[dict[str, Any]]:
    """Every record of a run's partition (or of every run under the lineage root), lists as lists."""
    import pyarrow.parquet as pq

    files = [f for f in storage.list_files(uri) if f.endswith(".parquet")]
    rows: list[dict[str, Any]] = []
    for file_uri in files:
        with storage.open_uri(file_uri) as handle:
            rows += pq.read_table(handle).to_pylist()
    return rows
