"""The `gate` heavy step: evaluate retrieval on the index the `embed` step wrote; move the alias if it passes.

    python -m pipelines.embedding.gate --embed-result-uri URI --result-uri URI

The evaluation set is labelled (`pipelines.embedding.retrieval_eval`, `embedding.evaluation`): queries
that describe what reviews say in other words than theirs, with graded relevant reviews. Each query is
a k-NN search across every product (in the query's language), the top k distinct reviews are scored
with nDCG@k, recall@k and MRR, and BM25 on the same queries is logged beside them as a floor the
vectors should beat. Judgements about reviews an index does not hold are dropped before it is scored.

The alias moves only when all of these hold:
- quality: the `thresholds.embedding` minimums, over at least `min_queries` queries;
- no regression: the candidate's nDCG@k is at most `max_regression` below that of the index the alias
  points at now, measured on the same queries with that index's own model (skipped, and logged, when
  the alias points nowhere yet or at a model this configuration no longer has);
- nothing forgotten goes live: right before the alias moves, the forget tombstones are read again and
  the chunks of every review they name are deleted from the candidate, so a review forgotten after the
  `embed` step read them is never published. A chunk left behind stops the step before the alias moves.

A failed check fails the step with the numbers (exit code 3) and the alias stays where it was. The
index the alias leaves is kept (the rollback target); older indexes of the alias, created more than
`embedding.index_retention_days` ago and pointed at by nothing (failed candidates included), are
dropped. Every run is logged to MLflow with the evaluation set.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from common import storage
from common.settings import Settings, get_settings
from common.step_entrypoint import QualityGateFailed, run_step, step_parser
from common.tombstones import forgotten_review_ids
from common.tracking import experiment_id, mlflow_for
from common.vector_store import NO_FILTERS, Filters, Hit, KnnQuery, TextQuery, TopQuery, VectorStore
from common.vector_store import open_vector_store as open_store
from pipelines.embedding.retrieval_eval import EvalQuery, fingerprint, load_eval_set, score

log = logging.getLogger(__name__)

EmbedFn = Callable[[Sequence[str]], np.ndarray]  # texts -> unit vectors, one row each
_ID_BATCH = 1000  # review ids per lookup


def indexed_reviews(store: VectorStore, index: str, review_ids: Sequence[str]) -> set[str]:
    """Which of these reviews have at least one chunk in the index."""
    present: set[str] = set()
    for start in range(0, len(review_ids), _ID_BATCH):
        batch = list(review_ids[start : start + _ID_BATCH])
        query = TopQuery(
            Filters(review_ids=batch), (("review_id", "asc"),), len(batch), distinct_reviews=True
        )
        present.update(hit.review_id for hit in store.top_by(index, query))
    return present


def distinct_reviews(hits: Sequence[Hit], k: int) -> list[str]:
    """The first k reviews of a ranked list of chunks: a review's best chunk stands for it."""
    reviews: list[str] = []
    for hit in hits:
        if hit.review_id not in reviews:
            reviews.append(hit.review_id)
    return reviews[:k]


def evaluate(
    store: VectorStore, index: str, queries: Sequence[EvalQuery], embed: EmbedFn, k: int, candidates: int
) -> dict[str, Any]:
    present = indexed_reviews(store, index, sorted({r for q in queries for r in q.grades}))
    judged = [j for q in queries if (j := q.judged_on(present))]
    if not judged:
        zero = {"ndcg_at_k": 0.0, "recall_at_k": 0.0, "mrr": 0.0}
        return {"queries": 0, "k": k, **zero, **{f"bm25_{key}": 0.0 for key in zero}}
    filters = [Filters(languages=q.language) if q.language else NO_FILTERS for q in judged]
    fetch = max(k, candidates)
    vectors = embed([q.text for q in judged])
    knn = store.msearch(
        index, [KnnQuery(vector=v, k=fetch, filters=f) for v, f in zip(vectors, filters, strict=True)]
    )
    bm25 = store.msearch(
        index, [TextQuery(text=q.text, k=fetch, filters=f) for q, f in zip(judged, filters, strict=True)]
    )
    vector_scores = score(judged, [distinct_reviews(hits, k) for hits in knn], k)
    text_scores = score(judged, [distinct_reviews(hits, k) for hits in bm25], k)
    return {
        "queries": len(judged),
        "k": k,
        **vector_scores,
        **{f"bm25_{key}": value for key, value in text_scores.items()},
        "mean_relevant_per_query": sum(len(q.grades) for q in judged) / len(judged),
    }


def index_model(store: VectorStore, index: str) -> str | None:
    """The embedding model of an index's vectors (every chunk records it)."""
    first = store.top_by(index, TopQuery(NO_FILTERS, (("chunk_id", "asc"),), 1))
    return first[0].embedding_model if first else None


def drop_forgotten(store: VectorStore, index: str, lake_uri: str) -> int:
    """Delete from `index` the chunks of every review a tombstone names now; raise if any is left."""
    forgotten = sorted(forgotten_review_ids(lake_uri))
    present = sorted(indexed_reviews(store, index, forgotten))
    if not present:
        return 0
    deleted = store.delete_reviews(index, present)
    left = indexed_reviews(store, index, present)
    if left:
        raise RuntimeError(
            f"{len(left)} forgotten review(s) are still in {index} after deletion; the alias does not move"
        )
    log.info(
        "deleted %d chunk(s) of %d review(s) forgotten since the embed step read the tombstones",
        deleted,
        len(present),
    )
    return deleted


def expire_indices(
    store: VectorStore, alias: str, keep: set[str], retention_days: int, now: datetime
) -> list[str]:
    """Drop the alias's old indexes: not pointed at, not kept, and created over `retention_days` ago."""
    cutoff = now - timedelta(days=retention_days)
    dropped = []
    for info in store.list_indices(prefix=f"{alias}-"):
        if info.name in keep or info.aliases or info.created_at >= cutoff:
            continue
        store.drop_index(info.name)
        dropped.append(info.name)
    return dropped


def regression_check(
    store: VectorStore,
    live: str | None,
    embedded: dict[str, Any],
    queries: Sequence[EvalQuery],
    embed: EmbedFn,
    open_embed: Callable[[str], EmbedFn | None] | None,
    settings: Settings,
) -> dict[str, Any]:
    """The live index's metrics on the same queries, or why they were not measured."""
    if not live or live == embedded["index"]:
        return {"checked": False, "reason": "the alias points at no other index", "live_index": live}
    model = index_model(store, live)
    live_embed = (
        embed
        if model == embedded["embedding_model"]
        else (open_embed(model) if open_embed and model else None)
    )
    if live_embed is None:
        log.warning("not compared with the live index %s: its model %s is not configured", live, model)
        return {
            "checked": False,
            "reason": f"the live index's model {model} is not configured",
            "live_index": live,
        }
    k = settings.thresholds.embedding.k
    metrics = evaluate(store, live, queries, live_embed, k, settings.embedding.evaluation.candidates)
    return {"checked": metrics["queries"] > 0, "live_index": live, "live_model": model, "live": metrics}


def gate_failures(metrics: dict[str, Any], regression: dict[str, Any], settings: Settings) -> list[str]:
    t = settings.thresholds.embedding
    failures = []
    if metrics["queries"] < t.min_queries:
        failures.append(f"{metrics['queries']} answerable queries (min {t.min_queries})")
    for key, name, minimum in (
        ("ndcg_at_k", f"nDCG@{t.k}", t.min_ndcg_at_k),
        ("recall_at_k", f"recall@{t.k}", t.min_recall_at_k),
        ("mrr", "MRR", t.min_mrr),
    ):
        if metrics[key] < minimum:
            failures.append(f"{name} {metrics[key]:.3f} (min {minimum})")
    if regression["checked"]:
        live_ndcg = regression["live"]["ndcg_at_k"]
        if metrics["ndcg_at_k"] < live_ndcg - t.max_regression:
            failures.append(
                f"nDCG@{t.k} {metrics['ndcg_at_k']:.3f} is below the live index {regression['live_index']} "
                f"({live_ndcg:.3f}) by more than {t.max_regression}"
            )
    return failures


def _log_run(
    settings: Settings,
    embedded: dict[str, Any],
    queries: Sequence[EvalQuery],
    metrics: dict[str, Any],
    regression: dict[str, Any],
    passed: bool,
) -> None:
    thresholds = settings.thresholds.embedding
    evaluation = settings.embedding.evaluation
    mlflow = mlflow_for(settings)
    with mlflow.start_run(experiment_id=experiment_id(settings, "embedding"), run_name=embedded["index"]):
        mlflow.set_tags(
            {
                "index": embedded["index"],
                "alias": embedded["alias"],
                "gate": "passed" if passed else "failed",
                "live_index": regression.get("live_index") or "",
                "regression_check": "done" if regression["checked"] else regression.get("reason", "none"),
            }
        )
        mlflow.log_params(
            {
                "embedding_model": embedded["embedding_model"],
                "embedding_dim": embedded["embedding_dim"],
                "mode": embedded["mode"],
                "dataset_version": embedded.get("dataset_version") or "",
                "copied_from": embedded.get("copied_from") or "",
                "eval_set_source": evaluation.source,
                "eval_set_uri": evaluation.uri,
                "eval_set_version": evaluation.version or "",
                "eval_set_sha256": fingerprint(queries),
                **thresholds.model_dump(),
            }
        )
        values = {key: float(value) for key, value in metrics.items() if key != "k"}
        if regression["checked"]:
            values.update({f"live_{key}": float(v) for key, v in regression["live"].items() if key != "k"})
        values["chunks_written"] = float(embedded["chunks_written"])
        values["index_count"] = float(embedded["index_count"])
        mlflow.log_metrics(values)
        mlflow.log_text("".join(_jsonl(q) for q in queries), "evaluation_set.jsonl")


def _jsonl(query: EvalQuery) -> str:
    return json.dumps(query.to_dict(), ensure_ascii=False) + "\n"


def run_gate(
    settings: Settings,
    embedded: dict[str, Any],
    store: VectorStore,
    embed: EmbedFn,
    open_embed: Callable[[str], EmbedFn | None] | None = None,
) -> dict[str, Any]:
    """`embed` encodes queries with the candidate's model; `open_embed(version)` gives another model's
    encoder (the live index's, when a new model is gated), or None when it is not configured."""
    index, alias = embedded["index"], embedded["alias"]
    k = settings.thresholds.embedding.k
    with tempfile.TemporaryDirectory(prefix="gate-") as tmp:
        queries = load_eval_set(settings.embedding.evaluation, settings, Path(tmp))
    metrics = evaluate(store, index, queries, embed, k, settings.embedding.evaluation.candidates)
    live = store.resolve_alias(alias)
    regression = regression_check(store, live, embedded, queries, embed, open_embed, settings)
    failures = gate_failures(metrics, regression, settings)
    _log_run(settings, embedded, queries, metrics, regression, not failures)
    result = {
        "index": index,
        "alias": alias,
        "metrics": metrics,
        "regression": regression,
        "passed": not failures,
    }
    if failures:
        raise QualityGateFailed(
            f"index {index} over {metrics['queries']} queries: {'; '.join(failures)}; "
            f"the alias {alias} stays on {live}",
            {**result, "alias_moved": False},
        )
    forgotten_deleted = drop_forgotten(store, index, embedded.get("lake_uri") or settings.lake_uri)
    previous = store.resolve_alias(alias)
    if previous != index:
        store.swap_alias(alias, index)
    dropped = expire_indices(
        store,
        alias,
        {index, *([previous] if previous else [])},
        settings.embedding.index_retention_days,
        datetime.now(UTC),
    )
    log.info(
        "alias %s -> %s (was %s): nDCG@%d %.3f, recall@%d %.3f, MRR %.3f over %d queries "
        "(BM25 nDCG %.3f; live nDCG %s); %d forgotten chunk(s) removed; dropped %s",
        alias,
        index,
        previous,
        k,
        metrics["ndcg_at_k"],
        k,
        metrics["recall_at_k"],
        metrics["mrr"],
        metrics["queries"],
        metrics["bm25_ndcg_at_k"],
        f"{regression['live']['ndcg_at_k']:.3f}" if regression["checked"] else "not compared",
        forgotten_deleted,
        dropped,
    )
    return {
        **result,
        "alias_moved": previous != index,
        "previous_index": previous,
        "forgotten_chunks_deleted": forgotten_deleted,
        "dropped_indices": dropped,
    }


def embedder_for(settings: Settings, version: str) -> EmbedFn | None:
    """The encoder of a configured model version (the live index's, when a new model is gated)."""
    from common.embedders import open_embedder

    for key, model in settings.embedding.models.items():
        if model.version == version:
            embedding = settings.embedding.model_copy(update={"model": key})
            return open_embedder(settings.model_copy(update={"embedding": embedding})).encode
    return None


def main(argv: list[str] | None = None) -> int:
    parser = step_parser("Evaluate retrieval on a freshly written index and move the alias when it passes.")
    parser.add_argument("--embed-result-uri", required=True, help="the embed step's result JSON")

    def body(args: Any) -> dict[str, Any]:
        from common.embedders import open_embedder

        settings = get_settings()
        embedded = storage.read_json(args.embed_result_uri)
        embedder = open_embedder(settings)
        return run_gate(
            settings, embedded, open_store(settings), embedder.encode, lambda v: embedder_for(settings, v)
        )

    return run_step(body, parser, argv)


if __name__ == "__main__":
    raise SystemExit(main())
