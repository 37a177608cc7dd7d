"""The `embed` heavy step: clean review partitions in, chunks and vectors in the vector store out.

    python -m pipelines.embedding.embed --plan-uri URI --result-uri URI

The plan (written by the DAG's `plan` task, `pipelines.embedding.plan`) says which clean partitions
to read: those a new ingestion run announced (incremental), every committed partition in the lake
(full rebuild), or the clean data of one DVC version, fetched from the registry (a pinned rebuild).

Always a new index, named after the alias, the model version and the run, which readers do not see
until the `gate` step has evaluated it and moved the alias to it:
- incremental, and the alias points at an index of the configured embedding model: a copy of that
  index (`VectorStore.copy_index`, server-side where the store can), then the new partitions written
  into the copy. A review's chunks are deleted before its new ones are written, so a re-published
  review whose text changed leaves no stale chunk. The live index is never written: a gate that fails
  leaves readers exactly what they had;
- otherwise (rebuild, a pinned version, a new model version, no index yet): an empty index filled from
  all the data.

Reviews named by a right-to-be-forgotten tombstone are never indexed. Reading, chunking, encoding and
writing go batch by batch (`embedding.read_batch_rows` reviews), so memory does not grow with the data.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import storage
from common.chunking import Chunker
from common.data_versioning import DataRegistry
from common.embedders import open_embedder
from common.embedding_writer import REGISTRY_CLEAN_PATH, EmbeddingWriter, iter_reviews
from common.ids import stable_hash
from common.settings import Settings, get_settings
from common.step_entrypoint import run_step, step_parser
from common.tombstones import forgotten_review_ids
from common.vector_store import VectorStore, open_vector_store

log = logging.getLogger(__name__)


def model_prefix(alias: str, model_version: str) -> str:
    """Every index of one embedding model starts with this: readable, and unique per model version."""
    slug = re.sub(r"[^a-z0-9]+", "-", model_version.lower()).strip("-")[:48]
    return f"{alias}-{slug}-{stable_hash(model_version, length=8)}"


def new_index_name(alias: str, model_version: str, run_key: str) -> str:
    return f"{model_prefix(alias, model_version)}-{run_key}"


def choose_index(
    store: VectorStore, alias: str, model_version: str, mode: str, run_key: str
) -> tuple[str, str | None]:
    """(index to write, the live index it starts as a copy of; None: filled from all data)."""
    current = store.resolve_alias(alias)
    index = new_index_name(alias, model_version, run_key)
    if current == index:  # a retry after this run's gate passed must not write into the live index
        raise ValueError(f"the alias {alias} already points at this run's index {index}: start a new run")
    if mode == "incremental" and current and current.startswith(model_prefix(alias, model_version) + "-"):
        return index, current
    return index, None


def clean_partitions(lake_uri: str) -> list[str]:
    """Every committed clean partition in the lake (`<lake>/clean/reviews/dt=...`), oldest first."""
    root = storage.join(lake_uri, "clean", "reviews")
    return [p for p in storage.committed_partitions(root) if "/dt=" in p]


def run_embedding(settings: Settings, plan: dict[str, Any], work_dir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    embedding = settings.embedding
    embedder = open_embedder(settings)
    chunker = Chunker.for_model(
        embedder.tokenizer_file, embedder.max_tokens, embedding.overlap_tokens, embedder.version
    )
    store = open_vector_store(settings)
    alias = settings.vector_store.alias
    mode = "rebuild" if plan["mode"] != "incremental" or plan.get("dataset_version") else "incremental"
    previous = store.resolve_alias(alias)
    index, copied_from = choose_index(store, alias, embedder.version, mode, plan["run_key"])

    if plan.get("dataset_version"):
        registry = DataRegistry.from_settings(settings)
        local = registry.fetch(REGISTRY_CLEAN_PATH, plan["dataset_version"], work_dir / "dataset")
        partitions = sorted(str(p) for p in local.iterdir() if p.name.startswith("dt="))
    elif copied_from is None:
        partitions = clean_partitions(plan["lake_uri"])
    else:
        partitions = list(plan["partitions"])

    if copied_from is None:
        store.create_index(index, embedder.dimension)
    else:
        copied = store.copy_index(copied_from, index)
        log.info("copied %d chunk(s) of the live index %s into %s", copied, copied_from, index)
    log.info("embedding %d partition(s) into %s", len(partitions), index)
    forgotten = forgotten_review_ids(plan["lake_uri"])
    writer = EmbeddingWriter(embedder, chunker, store, index)
    for reviews in iter_reviews(partitions, embedding.read_batch_rows):
        writer.write(reviews, forgotten, replace=copied_from is not None)
    seconds = time.perf_counter() - started
    counts = writer.counts
    log.info("embedded %s in %.1fs", counts, seconds)
    return {
        "alias": alias,
        "index": index,
        "copied_from": copied_from,
        "previous_index": previous,
        "lake_uri": plan["lake_uri"],
        "mode": mode,
        "dataset_version": plan.get("dataset_version"),
        "embedding_model": embedder.version,
        "embedding_dim": embedder.dimension,
        "partitions": partitions if not plan.get("dataset_version") else [Path(p).name for p in partitions],
        **counts,
        "index_count": store.count(index),
        "seconds": round(seconds, 2),
        "finished_at": datetime.now(UTC).isoformat(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = step_parser("Chunk, embed and index clean review partitions.")
    parser.add_argument("--plan-uri", required=True, help="the run's plan JSON (pipelines.embedding.plan)")

    def body(args: Any) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="embed-") as tmp:
            return run_embedding(get_settings(), storage.read_json(args.plan_uri), Path(tmp))

    return run_step(body, parser, argv)


if __name__ == "__main__":
    raise SystemExit(main())
