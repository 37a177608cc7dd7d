"""The embed, gate and forget steps on a small lake, with the real MiniLM model and the LanceDB store."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common import storage
from common.chunking import segmenter
from common.embedders import Embedder, open_embedder
from common.ids import content_hash, normalized_for_hash
from common.schemas import CLEAN_REVIEW
from common.settings import get_settings
from common.step_entrypoint import QualityGateFailed
from common.tombstones import record_tombstones
from common.vector_store import NO_FILTERS, Filters, TopQuery, open_vector_store
from pipelines.embedding.embed import model_prefix, run_embedding
from pipelines.embedding.forget import forget_reviews
from pipelines.embedding.gate import expire_indices, run_gate
from pipelines.embedding.plan import plan_run, write_plan
from pipelines.embedding.retrieval_eval import load_eval_set
from sample_source import iter_labelled_reviews
from sample_source.retrieval_queries import aspect_queries

DAYS = ["2026-11-18", "2026-11-19"]
LATER_DAY = "2026-11-20"


def _commit_day(lake_uri: str, day: str, reviews: list[dict], staging: Path) -> str:
    table = pa.Table.from_pylist(
        [
            {
                "review_id": r["review_id"],
                "product_id": r["product_id"],
                "star_rating": int(r["star_rating"]),
                "cleaned_text": r["review_text"],
                "language": r["language"],
                "toxicity_score": 0.01,
                "created_at": datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(minutes=i),
                "helpful_votes": r["helpful_votes"],
                "verified_purchase": bool(r["verified_purchase"]),
                "content_hash": content_hash(r["review_text"]),
                "pii_entities": [],
            }
            for i, r in enumerate(reviews)
        ],
        schema=CLEAN_REVIEW,
    )
    staged = staging / day
    staged.mkdir(parents=True)
    pq.write_table(table, staged / "part-00000.parquet")
    final = storage.join(lake_uri, "clean", "reviews", f"dt={day}")
    storage.commit_partition(str(staged), final, {"rows": table.num_rows})
    return final


@dataclass
class Lake:
    uri: str
    held_back: list[dict]  # generated reviews not published yet: a later day's increment
    staging: Path


@pytest.fixture
def lake(tmp_path, monkeypatch) -> Iterator[Lake]:
    """Two committed clean partitions of generated reviews in a fresh data folder, and the aspect queries
    the generator writes from their labels where the sample source keeps them (the gate's local set)."""
    monkeypatch.setenv("LLMOPS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    settings = get_settings()
    generated = list(iter_labelled_reviews(4, 24, 12, 2, datetime(2026, 11, 20).date(), 0.0))
    queries = Path(settings.embedding.evaluation.uri)
    queries.parent.mkdir(parents=True)
    written = aspect_queries(label for _, label in generated)
    queries.write_text("".join(json.dumps(query) + "\n" for query in written), encoding="utf-8")
    rows = [
        {**row, "language": label["language"]}
        for row, label in generated
        if isinstance(row["review_text"], str)
    ]
    published, held_back = rows[: len(rows) - 12], rows[len(rows) - 12 :]
    for day_index, day in enumerate(DAYS):
        _commit_day(
            settings.lake_uri, day, [r for i, r in enumerate(published) if i % 2 == day_index], tmp_path
        )
    yield Lake(settings.lake_uri, held_back, tmp_path)
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def embedder():
    return open_embedder(get_settings())


class HashingEmbedder:
    """A bag of words and nothing more: each word adds +1 or -1 (by its hash) to one of `dimension`
    coordinates, then the vector is L2-normalised. Texts sharing words are close and meaning plays no
    part: "short battery life" is near "the battery life is excellent" and far from "the battery is flat
    after barely three hours"."""

    version = "test/bag-of-words-hashing@1"
    dimension = 384

    def __init__(self, like: Embedder) -> None:
        self.max_tokens = like.max_tokens
        self.tokenizer_file = like.tokenizer_file  # chunks are sized as for the real model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                vectors[row, int.from_bytes(digest[:4], "little") % self.dimension] += (
                    1.0 if digest[4] & 1 else -1.0
                )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)


def embed(lake_uri: str, run_id: str, *, partitions=None, full_rebuild=False, tmp: Path) -> dict:
    events = [{"partitions": partitions}] if partitions else []
    plan = write_plan(plan_run(lake_uri, run_id, datetime.now(UTC).isoformat(), events, full_rebuild, None))
    return run_embedding(get_settings(), plan, tmp)


def all_chunks(store, index: str) -> list:
    return store.top_by(index, TopQuery(filters=NO_FILTERS, sort=(("chunk_id", "asc"),), k=100_000))


def chunk_ids(store, index: str) -> list[str]:
    return [c.chunk_id for c in all_chunks(store, index)]


def test_first_run_builds_an_index_and_incremental_runs_write_a_copy_with_the_same_ids(lake, tmp_path):
    first = embed(lake.uri, "run-1", full_rebuild=True, tmp=tmp_path)
    store = open_vector_store(get_settings())
    assert first["copied_from"] is None
    assert first["index"].startswith(model_prefix("reviews", first["embedding_model"]))
    assert first["reviews_in"] == first["reviews_indexed"] > 0
    assert first["index_count"] == first["chunks_written"] >= first["reviews_indexed"]
    chunks = all_chunks(store, first["index"])
    assert {c.embedding_model for c in chunks} == {first["embedding_model"]}
    assert {c.embedding_dim for c in chunks} == {384}

    # Before the gate nothing points at the new index; incremental runs then copy the live one.
    assert store.resolve_alias("reviews") is None
    store.swap_alias("reviews", first["index"])
    partitions = [storage.join(lake.uri, "clean", "reviews", f"dt={d}") for d in DAYS]
    again = embed(lake.uri, "run-2", partitions=partitions, tmp=tmp_path)
    assert again["copied_from"] == first["index"] and again["index"] != first["index"]
    assert (
        chunk_ids(store, again["index"]) == chunk_ids(store, first["index"]) == [c.chunk_id for c in chunks]
    )
    assert store.resolve_alias("reviews") == first["index"]


def test_an_incremental_run_changes_nothing_readers_see_until_its_gate_passes(
    lake, tmp_path, embedder, monkeypatch
):
    settings = get_settings()
    store = open_vector_store(settings)
    live = embed(lake.uri, "run-live", full_rebuild=True, tmp=tmp_path)
    run_gate(settings, live, store, embedder.encode)
    assert store.resolve_alias("reviews") == live["index"]
    live_ids, live_count = chunk_ids(store, live["index"]), store.count("reviews")

    # A later day: new reviews, and one published review re-published with new text.
    changed = next(c for c in all_chunks(store, live["index"]) if c.language == "en")
    rewritten = {
        **next(r for r in lake.held_back if r["language"] == "en"),
        "review_id": changed.review_id,
        "product_id": changed.product_id,
        "review_text": "Rewritten: the hinge snapped on day two.",
    }
    new_day = _commit_day(lake.uri, LATER_DAY, [*lake.held_back, rewritten], lake.staging)
    increment = embed(lake.uri, "run-increment", partitions=[new_day], tmp=tmp_path)
    candidate = increment["index"]
    assert increment["copied_from"] == live["index"] and candidate != live["index"]
    assert increment["reviews_indexed"] == len(lake.held_back) + 1

    def readers_see_only_the_live_index() -> None:
        assert store.resolve_alias("reviews") == live["index"]
        assert chunk_ids(store, live["index"]) == live_ids and store.count("reviews") == live_count
        new_reviews = [r["review_id"] for r in lake.held_back]
        assert store.count("reviews", Filters(review_ids=new_reviews)) == 0
        assert [c.text for c in store.get("reviews", [changed.chunk_id])] == [changed.text]
        hits = store.knn("reviews", embedder.encode([rewritten["review_text"]])[0], 3)
        assert rewritten["review_text"] not in {h.text for h in hits}

    readers_see_only_the_live_index()  # the embed step wrote only the copy
    assert store.count(candidate, Filters(review_ids=[r["review_id"] for r in lake.held_back])) > 0
    assert store.get(candidate, [changed.chunk_id]) == []  # the re-published review's old chunk is gone
    replaced = store.count(live["index"], Filters(review_ids=changed.review_id))
    assert store.count(candidate) == live_count - replaced + increment["chunks_written"]

    monkeypatch.setenv("LLMOPS_THRESHOLDS__EMBEDDING__MIN_NDCG_AT_K", "1.01")
    get_settings.cache_clear()
    with pytest.raises(QualityGateFailed, match="nDCG"):
        run_gate(get_settings(), increment, store, embedder.encode)
    readers_see_only_the_live_index()  # a failed gate leaves readers exactly what they had

    monkeypatch.delenv("LLMOPS_THRESHOLDS__EMBEDDING__MIN_NDCG_AT_K")
    get_settings.cache_clear()
    passed = run_gate(get_settings(), increment, store, embedder.encode)
    assert passed["alias_moved"] and passed["regression"]["checked"]
    assert store.resolve_alias("reviews") == candidate
    assert store.count("reviews", Filters(review_ids=[r["review_id"] for r in lake.held_back])) > 0


def test_the_gate_moves_the_alias_only_when_retrieval_is_good_enough(lake, tmp_path, embedder, monkeypatch):
    import mlflow

    built = embed(lake.uri, "run-a", full_rebuild=True, tmp=tmp_path)
    store = open_vector_store(get_settings())
    passed = run_gate(get_settings(), built, store, embedder.encode)
    assert passed["alias_moved"] and store.resolve_alias("reviews") == built["index"]
    metrics = passed["metrics"]
    assert metrics["queries"] >= get_settings().thresholds.embedding.min_queries
    assert metrics["ndcg_at_k"] > metrics["bm25_ndcg_at_k"]  # the vectors beat the word-matching floor
    assert not passed["regression"]["checked"]  # nothing live to compare with yet

    runs = mlflow.search_runs(experiment_names=["llmops/embedding"], output_format="list")
    assert {r.info.run_name for r in runs} == {built["index"]}
    assert runs[0].data.metrics["ndcg_at_k"] == pytest.approx(metrics["ndcg_at_k"])
    assert runs[0].data.params["eval_set_source"] == "file"

    rebuilt = embed(lake.uri, "run-b", full_rebuild=True, tmp=tmp_path)
    assert rebuilt["index"] != built["index"]
    monkeypatch.setenv("LLMOPS_THRESHOLDS__EMBEDDING__MIN_MRR", "1.01")
    get_settings.cache_clear()
    with pytest.raises(QualityGateFailed, match="MRR"):
        run_gate(get_settings(), rebuilt, store, embedder.encode)
    assert store.resolve_alias("reviews") == built["index"]  # the alias stayed


def test_a_bag_of_words_hash_fails_the_gate_that_minilm_passes(lake, tmp_path, embedder, monkeypatch):
    settings = get_settings()
    store = open_vector_store(settings)
    hashing = HashingEmbedder(embedder)
    with monkeypatch.context() as patch:
        patch.setattr("pipelines.embedding.embed.open_embedder", lambda _settings: hashing)
        hashed = embed(lake.uri, "run-hash", full_rebuild=True, tmp=tmp_path)
    assert hashed["embedding_model"] == hashing.version
    with pytest.raises(QualityGateFailed, match="nDCG") as failed:
        run_gate(settings, hashed, store, hashing.encode)
    hash_metrics = failed.value.result["metrics"]
    assert store.resolve_alias("reviews") is None

    semantic = embed(lake.uri, "run-minilm", full_rebuild=True, tmp=tmp_path)
    minilm_metrics = run_gate(settings, semantic, store, embedder.encode)["metrics"]
    assert store.resolve_alias("reviews") == semantic["index"]
    print(f"\ngate metrics over {minilm_metrics['queries']} queries:")
    for name, m in (("hashing", hash_metrics), ("MiniLM", minilm_metrics)):
        print(
            f"  {name}: nDCG@5 {m['ndcg_at_k']:.3f}, recall@5 {m['recall_at_k']:.3f}, MRR {m['mrr']:.3f} "
            f"(BM25 {m['bm25_ndcg_at_k']:.3f}, {m['bm25_recall_at_k']:.3f}, {m['bm25_mrr']:.3f})"
        )
    assert hash_metrics["queries"] == minilm_metrics["queries"]
    assert minilm_metrics["ndcg_at_k"] > hash_metrics["ndcg_at_k"] + 0.15

    # The queries describe what reviews say; none is a sentence of an indexed review.
    with tempfile.TemporaryDirectory() as tmp:
        queries = load_eval_set(settings.embedding.evaluation, settings, Path(tmp))
    sentences = {
        normalized_for_hash(s.sent)
        for c in all_chunks(store, semantic["index"])
        for s in segmenter(c.language).segment(c.text)
    }
    assert queries and not {normalized_for_hash(q.text) for q in queries} & sentences


def test_a_candidate_worse_than_the_live_index_stays_unpublished(lake, tmp_path, embedder, monkeypatch):
    store = open_vector_store(get_settings())
    live = embed(lake.uri, "run-live", full_rebuild=True, tmp=tmp_path)
    run_gate(get_settings(), live, store, embedder.encode)
    hashing = HashingEmbedder(embedder)
    with monkeypatch.context() as patch:
        patch.setattr("pipelines.embedding.embed.open_embedder", lambda _settings: hashing)
        worse = embed(lake.uri, "run-worse", full_rebuild=True, tmp=tmp_path)

    # Thresholds any index meets: only the comparison with the live index (a new model: its queries
    # are encoded with the live index's own model) can stop this one.
    for name in ("MIN_NDCG_AT_K", "MIN_RECALL_AT_K", "MIN_MRR"):
        monkeypatch.setenv(f"LLMOPS_THRESHOLDS__EMBEDDING__{name}", "0")
    get_settings.cache_clear()
    versions = {embedder.version: embedder.encode}
    with pytest.raises(QualityGateFailed, match="below the live index") as failed:
        run_gate(get_settings(), worse, store, hashing.encode, versions.get)
    regression = failed.value.result["regression"]
    assert regression["checked"] and regression["live_model"] == embedder.version
    assert store.resolve_alias("reviews") == live["index"]

    # Without an encoder for the live index's model there is nothing to compare: logged, not failed.
    assert run_gate(get_settings(), worse, store, hashing.encode)["regression"]["checked"] is False


def test_a_review_forgotten_while_a_run_is_under_way_is_never_published(
    lake, tmp_path, embedder, monkeypatch
):
    settings = get_settings()
    store = open_vector_store(settings)
    built = embed(lake.uri, "run-racing", full_rebuild=True, tmp=tmp_path)
    victims = sorted({c.review_id for c in all_chunks(store, built["index"])})[:2]
    assert store.count(built["index"], Filters(review_ids=victims)) > 0

    # Forgotten after the embed step read the tombstones, before the gate; the forget DAG's own delete
    # has not run (it waits for the writers' pool).
    record_tombstones(lake.uri, victims, "test request", "request-race")
    with monkeypatch.context() as patch:  # the deletion fails: the alias must not move
        patch.setattr(type(store), "delete_reviews", lambda self, index, review_ids: 0)
        with pytest.raises(RuntimeError, match="forgotten"):
            run_gate(settings, built, store, embedder.encode)
    assert store.resolve_alias("reviews") is None

    passed = run_gate(settings, built, store, embedder.encode)
    assert passed["alias_moved"] and passed["forgotten_chunks_deleted"] > 0
    assert store.resolve_alias("reviews") == built["index"]
    assert store.count("reviews", Filters(review_ids=victims)) == 0


def test_old_indexes_expire_but_the_live_and_previous_ones_stay(lake, tmp_path):
    store = open_vector_store(get_settings())
    for name in ("reviews-m-1", "reviews-m-2", "reviews-m-3"):
        store.create_index(name, 4)
    store.swap_alias("reviews", "reviews-m-3")
    later = datetime.now(UTC) + timedelta(days=30)
    dropped = expire_indices(store, "reviews", {"reviews-m-2"}, retention_days=7, now=later)
    assert dropped == ["reviews-m-1"]
    assert {i.name for i in store.list_indices("reviews-")} == {"reviews-m-2", "reviews-m-3"}
    assert expire_indices(store, "reviews", set(), retention_days=7, now=datetime.now(UTC)) == []


def test_forgotten_reviews_leave_every_index_and_are_never_indexed_again(lake, tmp_path):
    settings = get_settings()
    old = embed(lake.uri, "run-x", full_rebuild=True, tmp=tmp_path)
    store = open_vector_store(settings)
    store.swap_alias("reviews", old["index"])
    live = embed(lake.uri, "run-y", full_rebuild=True, tmp=tmp_path)
    victims = sorted({c.review_id for c in all_chunks(store, live["index"])})[:3]

    tombstone = record_tombstones(lake.uri, victims, "test request", "request-1")
    result = forget_reviews(settings, store, victims)
    assert set(result["indices"]) == {old["index"], live["index"]}
    for index in (old["index"], live["index"]):
        assert store.count(index, Filters(review_ids=victims)) == 0
    assert tombstone["count"] == 3

    rebuilt = embed(lake.uri, "run-z", full_rebuild=True, tmp=tmp_path)
    assert rebuilt["reviews_forgotten"] == 3
    assert rebuilt["reviews_indexed"] == live["reviews_indexed"] - 3
    assert store.count(rebuilt["index"], Filters(review_ids=victims)) == 0
