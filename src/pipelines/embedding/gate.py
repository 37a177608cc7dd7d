"""The `gate` heavy step: evaluate retrieval on the index the `embed` step wrote; move the alias if it passes.

    python -m pipelines.embedding.gate --embed-result-uri URI --result-uri URI

The evaluation set is built from the indexed data itself, so it works on any profile and any data:
the `embedding.eval_queries` chunks with the smallest IDs (IDs are hashes: a uniform, deterministic
sample) each give one query, their longest sentence, and its relevant chunks are every chunk of the
same product that contains that sentence (normalised). Each query is answered the way batch inference
asks: k-NN restricted to the product. recall@k is the share of queries with a relevant chunk in the
top k, MRR the mean reciprocal rank of the first one (0 beyond k). BM25 on the same queries is logged
beside it as a floor the vectors should beat.

Below `thresholds.embedding` the step fails with the numbers (exit code 3) and the alias stays where it
was. Above, the alias moves to the index (if it does not point there already). The index it left is
kept (the rollback target); older indexes of the alias, created more than
`embedding.index_retention_days` ago and pointed at by nothing, are dropped. Every run is logged to MLflow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from common import storage
from common.ids import normalized_for_hash
from common.settings import Settings, get_settings
from common.step_entrypoint import QualityGateFailed, run_step, step_parser
from common.tracking import experiment_id, mlflow_for
from common.vector_store import NO_FILTERS, Filters, Hit, KnnQuery, TextQuery, TopQuery, VectorStore
from common.vector_store import open_vector_store as open_store
from pipelines.embedding.chunking import _segmenter

log = logging.getLogger(__name__)

MIN_QUERY_WORDS = 4
MAX_CHUNKS_PER_PRODUCT = 10_000


@dataclass(frozen=True)
class EvalQuery:
    product_id: str
    text: str
    relevant: frozenset[str]  # chunk ids


def _query_sentence(hit: Hit) -> str | None:
    sentences = [s.sent.strip() for s in _segmenter(hit.language).segment(hit.text)]
    usable = [s for s in sentences if len(s.split()) >= MIN_QUERY_WORDS]
    return max(usable, key=lambda s: (len(s), s)) if usable else None


def evaluation_set(store: VectorStore, index: str, size: int) -> list[EvalQuery]:
    sample = store.top_by(index, TopQuery(filters=NO_FILTERS, sort=(("chunk_id", "asc"),), k=size))
    chosen = [(hit, sentence) for hit in sample if (sentence := _query_sentence(hit))]
    products = sorted({hit.product_id for hit, _ in chosen})
    answers = store.msearch(
        index,
        [
            TopQuery(filters=Filters(product_ids=p), sort=(("chunk_id", "asc"),), k=MAX_CHUNKS_PER_PRODUCT)
            for p in products
        ],
    )
    chunks_of = dict(zip(products, answers, strict=True))
    queries = []
    for hit, sentence in chosen:
        needle = normalized_for_hash(sentence)
        relevant = frozenset(
            h.chunk_id for h in chunks_of[hit.product_id] if needle in normalized_for_hash(h.text)
        )
        queries.append(EvalQuery(hit.product_id, sentence, relevant | {hit.chunk_id}))
    return queries


def score(queries: list[EvalQuery], ranked: list[list[Hit]], k: int) -> dict[str, float]:
    hits, reciprocal = 0, 0.0
    for query, answer in zip(queries, ranked, strict=True):
        for rank, hit in enumerate(answer[:k], start=1):
            if hit.chunk_id in query.relevant:
                hits += 1
                reciprocal += 1.0 / rank
                break
    n = max(len(queries), 1)
    return {"recall_at_k": hits / n, "mrr": reciprocal / n}


def evaluate(store: VectorStore, index: str, settings: Settings, embed: Any) -> dict[str, Any]:
    k = settings.thresholds.embedding.k
    queries = evaluation_set(store, index, settings.embedding.eval_queries)
    if not queries:
        return {"queries": 0, "recall_at_k": 0.0, "mrr": 0.0, "bm25_recall_at_k": 0.0, "bm25_mrr": 0.0}
    vectors = embed([q.text for q in queries])
    knn = store.msearch(
        index,
        [
            KnnQuery(vector=v, k=k, filters=Filters(product_ids=q.product_id))
            for q, v in zip(queries, vectors, strict=True)
        ],
    )
    bm25 = store.msearch(
        index, [TextQuery(text=q.text, k=k, filters=Filters(product_ids=q.product_id)) for q in queries]
    )
    vector_scores = score(queries, knn, k)
    text_scores = score(queries, bm25, k)
    return {
        "queries": len(queries),
        "k": k,
        **vector_scores,
        "bm25_recall_at_k": text_scores["recall_at_k"],
        "bm25_mrr": text_scores["mrr"],
        "mean_relevant_per_query": sum(len(q.relevant) for q in queries) / len(queries),
    }


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


def run_gate(settings: Settings, embedded: dict[str, Any], store: VectorStore, embed: Any) -> dict[str, Any]:
    index, alias = embedded["index"], embedded["alias"]
    thresholds = settings.thresholds.embedding
    metrics = evaluate(store, index, settings, embed)
    passed = metrics["queries"] > 0 and (
        metrics["recall_at_k"] >= thresholds.min_recall_at_k and metrics["mrr"] >= thresholds.min_mrr
    )
    mlflow = mlflow_for(settings)
    with mlflow.start_run(experiment_id=experiment_id(settings, "embedding"), run_name=index):
        mlflow.set_tags({"index": index, "alias": alias, "gate": "passed" if passed else "failed"})
        mlflow.log_params(
            {
                "embedding_model": embedded["embedding_model"],
                "embedding_dim": embedded["embedding_dim"],
                "mode": embedded["mode"],
                "dataset_version": embedded.get("dataset_version") or "",
                "min_recall_at_k": thresholds.min_recall_at_k,
                "min_mrr": thresholds.min_mrr,
                "k": thresholds.k,
            }
        )
        mlflow.log_metrics(
            {
                **{
                    key: float(metrics[key])
                    for key in ("queries", "recall_at_k", "mrr", "bm25_recall_at_k", "bm25_mrr")
                },
                "chunks_written": float(embedded["chunks_written"]),
                "index_count": float(embedded["index_count"]),
            }
        )
    result = {"index": index, "alias": alias, "metrics": metrics, "passed": passed}
    if not passed:
        raise QualityGateFailed(
            f"index {index}: recall@{thresholds.k} {metrics['recall_at_k']:.3f} "
            f"(min {thresholds.min_recall_at_k}), "
            f"MRR {metrics['mrr']:.3f} (min {thresholds.min_mrr}) over {metrics['queries']} queries; "
            f"the alias {alias} stays on {store.resolve_alias(alias)}",
            {**result, "alias_moved": False},
        )
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
    log.info("alias %s -> %s (was %s); dropped %s; metrics %s", alias, index, previous, dropped, metrics)
    return {
        **result,
        "alias_moved": previous != index,
        "previous_index": previous,
        "dropped_indices": dropped,
    }


def main(argv: list[str] | None = None) -> int:
    parser = step_parser("Evaluate retrieval on a freshly written index and move the alias when it passes.")
    parser.add_argument("--embed-result-uri", required=True, help="the embed step's result JSON")

    def body(args: Any) -> dict[str, Any]:
        from pipelines.embedding.embedders import open_embedder

        settings = get_settings()
        embedded = storage.read_json(args.embed_result_uri)
        embedder = open_embedder(settings)
        return run_gate(settings, embedded, open_store(settings), lambda texts: embedder.encode(texts))

    return run_step(body, parser, argv)


if __name__ == "__main__":
    raise SystemExit(main())
