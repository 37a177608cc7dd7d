"""The embed, gate and forget steps on a small lake, with the real MiniLM model and the LanceDB store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common import storage
from common.ids import content_hash
from common.sample_source import iter_labelled_reviews
from common.schemas import CLEAN_REVIEW
from common.settings import get_settings
from common.step_entrypoint import QualityGateFailed
from common.tombstones import record_tombstones
from common.vector_store import Filters, open_vector_store
from pipelines.embedding.embed import model_prefix, run_embedding
from pipelines.embedding.embedders import open_embedder
from pipelines.embedding.forget import forget_reviews
from pipelines.embedding.gate import expire_indices, run_gate
from pipelines.embedding.plan import plan_run, write_plan

DAYS = ["2026-11-18", "2026-11-19"]


@pytest.fixture
def lake(tmp_path, monkeypatch) -> str:
    """Two committed clean partitions of generated reviews, in a fresh data folder."""
    monkeypatch.setenv("LLMOPS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    lake_uri = get_settings().lake_uri
    rows = [
        {**row, "language": label["language"]}
        for row, label in iter_labelled_reviews(4, 6, 12, 2, datetime(2026, 11, 20).date(), 0.0)
        if isinstance(row["review_text"], str)
    ]
    for day_index, day in enumerate(DAYS):
        part = [r for i, r in enumerate(rows) if i % 2 == day_index]
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
                for i, r in enumerate(part)
            ],
            schema=CLEAN_REVIEW,
        )
        staged = tmp_path / "staged" / day
        staged.mkdir(parents=True)
        pq.write_table(table, staged / "part-00000.parquet")
        final = storage.join(lake_uri, "clean", "reviews", f"dt={day}")
        storage.commit_partition(str(staged), final, {"rows": table.num_rows})
    yield lake_uri
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def embedder():
    return open_embedder(get_settings())


def embed(lake_uri: str, run_id: str, *, partitions=None, full_rebuild=False, tmp: Path) -> dict:
    events = [{"partitions": partitions}] if partitions else []
    plan = write_plan(plan_run(lake_uri, run_id, datetime.now(UTC).isoformat(), events, full_rebuild, None))
    return run_embedding(get_settings(), plan, tmp)


def all_chunks(store, index: str) -> list:
    from common.vector_store import NO_FILTERS, TopQuery

    return store.top_by(index, TopQuery(filters=NO_FILTERS, sort=(("chunk_id", "asc"),), k=100_000))


def test_first_run_builds_an_index_and_reruns_write_the_same_ids(lake, tmp_path):
    first = embed(lake, "run-1", full_rebuild=True, tmp=tmp_path)
    store = open_vector_store(get_settings())
    assert first["new_index"] and first["index"].startswith(model_prefix("reviews", first["embedding_model"]))
    assert first["reviews_in"] == first["reviews_indexed"] > 0
    assert first["index_count"] == first["chunks_written"] >= first["reviews_indexed"]
    chunks = all_chunks(store, first["index"])
    assert {c.embedding_model for c in chunks} == {first["embedding_model"]}
    assert {c.embedding_dim for c in chunks} == {384}

    # Before the gate nothing points at the new index; incremental runs then need the alias.
    assert store.resolve_alias("reviews") is None
    store.swap_alias("reviews", first["index"])
    partitions = [storage.join(lake, "clean", "reviews", f"dt={d}") for d in DAYS]
    again = embed(lake, "run-2", partitions=partitions, tmp=tmp_path)
    assert again["index"] == first["index"] and not again["new_index"]
    assert [c.chunk_id for c in all_chunks(store, first["index"])] == [c.chunk_id for c in chunks]


def test_the_gate_moves_the_alias_only_when_retrieval_is_good_enough(lake, tmp_path, embedder, monkeypatch):
    import mlflow

    built = embed(lake, "run-a", full_rebuild=True, tmp=tmp_path)
    store = open_vector_store(get_settings())
    passed = run_gate(get_settings(), built, store, embedder.encode)
    assert passed["alias_moved"] and store.resolve_alias("reviews") == built["index"]
    assert passed["metrics"]["queries"] > 20
    assert passed["metrics"]["recall_at_k"] >= 0.9

    runs = mlflow.search_runs(experiment_names=["llmops/embedding"], output_format="list")
    assert {r.info.run_name for r in runs} == {built["index"]}
    assert runs[0].data.metrics["recall_at_k"] == pytest.approx(passed["metrics"]["recall_at_k"])

    rebuilt = embed(lake, "run-b", full_rebuild=True, tmp=tmp_path)
    assert rebuilt["index"] != built["index"]
    monkeypatch.setenv("LLMOPS_THRESHOLDS__EMBEDDING__MIN_MRR", "1.01")
    get_settings.cache_clear()
    with pytest.raises(QualityGateFailed, match="MRR"):
        run_gate(get_settings(), rebuilt, store, embedder.encode)
    assert store.resolve_alias("reviews") == built["index"]  # the alias stayed


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
    old = embed(lake, "run-x", full_rebuild=True, tmp=tmp_path)
    store = open_vector_store(settings)
    store.swap_alias("reviews", old["index"])
    live = embed(lake, "run-y", full_rebuild=True, tmp=tmp_path)
    victims = sorted({c.review_id for c in all_chunks(store, live["index"])})[:3]

    tombstone = record_tombstones(lake, victims, "test request", "request-1")
    result = forget_reviews(settings, store, victims)
    assert set(result["indices"]) == {old["index"], live["index"]}
    for index in (old["index"], live["index"]):
        assert store.count(index, Filters(review_ids=victims)) == 0
    assert tombstone["count"] == 3

    rebuilt = embed(lake, "run-z", full_rebuild=True, tmp=tmp_path)
    assert rebuilt["reviews_forgotten"] == 3
    assert rebuilt["reviews_indexed"] == live["reviews_indexed"] - 3
    assert store.count(rebuilt["index"], Filters(review_ids=victims)) == 0
