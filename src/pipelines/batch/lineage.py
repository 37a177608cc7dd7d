"""Every summary traced to what made it: one lineage record per champion answer, cached or rejected.

A record names the product and language, the run and its data time, the model (registry name, alias,
version, the adapter's content hash and base model from the serving manifest), the prompt contract
(name, version, hash), the data (the newest clean data's DVC tag when the run selected, the physical index
the alias pointed to), the review and chunk ids behind every snippet in prompt order (so a snippet number
cited by a claim maps to its review), the snippets the injection screen left out, the raw answer, the
parsed answer, every guardrail result, tokens, tries and latency.

Records are Parquet in the lake, one partition per run (`common.summary_lineage` says where), written
whole: running the step again for the same run replaces the partition, so the same key never appears
twice. The cached summary carries its record's key (`lineage_key`), which is deterministic: the run, the
product, the language and the model version.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from common import storage
from common.ids import stable_hash
from common.prompts import canonical_json, load_prompt
from common.serving.client import Outcome, SummaryOutcome

if TYPE_CHECKING:
    from pipelines.batch.guard import Verdict
    from pipelines.batch.summarize import Prepared, ServedModel

PART_FILE = "part-00000.parquet"
_TEXTS, _INTS = pa.list_(pa.string()), pa.list_(pa.int64())
# One declared layout, so that every chunk of a run streams into one file with the same types.
SCHEMA = pa.schema(
    [
        ("lineage_key", pa.string()),
        ("run_key", pa.string()),
        ("generated_at", pa.string()),
        ("product_id", pa.string()),
        ("language", pa.string()),
        ("status", pa.string()),
        ("reasons", _TEXTS),
        ("model_name", pa.string()),
        ("model_alias", pa.string()),
        ("model_version", pa.string()),
        ("adapter_sha256", pa.string()),
        ("base_model_id", pa.string()),
        ("prompt_name", pa.string()),
        ("prompt_version", pa.string()),
        ("prompt_sha256", pa.string()),
        ("data_version", pa.string()),
        ("index", pa.string()),
        ("snippet_review_ids", _TEXTS),
        ("snippet_chunk_ids", _TEXTS),
        ("snippet_stars", _INTS),
        ("screened_out_chunk_ids", _TEXTS),
        ("raw_text", pa.string()),
        ("answer_json", pa.string()),
        ("guardrails_json", pa.string()),
        ("grounding", pa.float64()),
        ("evidence_validity", pa.float64()),
        ("toxicity", pa.float64()),
        ("attempts", pa.int64()),
        ("latency_s", pa.float64()),
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
    ]
)


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


class PartitionWriter:
    """A run's partition written as its records come, chunk by chunk, into one Parquet file of `schema`:
    memory stays that of a chunk however many products the run has. The partition is replaced whole
    (a run with no records leaves an empty file, not a stale one)."""

    def __init__(self, uri: str, schema: pa.Schema = SCHEMA) -> None:
        import pyarrow.parquet as pq

        self.uri, self.schema, self.rows = uri, schema, 0
        storage.remove(uri)
        self._files = ExitStack()
        handle = self._files.enter_context(storage.open_uri(storage.join(uri, PART_FILE), "wb"))
        self._writer = self._files.enter_context(pq.ParquetWriter(handle, schema))

    def write(self, records: Sequence[Mapping[str, Any]]) -> None:
        if records:
            self._writer.write_table(pa.Table.from_pylist(list(records), schema=self.schema))
            self.rows += len(records)

    def close(self) -> None:
        self._files.close()  # the Parquet footer first, then the file

    def __enter__(self) -> PartitionWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
