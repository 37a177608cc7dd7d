"""Retrieval strategies over the local backend: balanced context, semantic queries, hybrid search.

Polarized products (many 5-star and many 1-star reviews) are where the reference design's summarizer
hallucinated praise; the balanced strategy must hand it positives, negatives and recent snippets in the
configured proportions, one snippet per review, whatever the ratio of the reviews.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from common.retrieval import (
    NEGATIVE,
    POSITIVE,
    RECENT,
    Retriever,
    balanced_context,
    hybrid_search,
    semantic_context,
)
from common.settings import load_settings
from common.vector_store import ChunkRecord
from common.vector_store.lance import LanceVectorStore

from .conftest import DIM, hash_embed, polarized_product, record

K_POS, K_NEG, K_RECENT = 4, 4, 3


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> tuple[LanceVectorStore, list[ChunkRecord]]:
    records = (
        polarized_product("phone", positives=30, negatives=25)
        + polarized_product("kettle", positives=40, negatives=3)  # hardly any negatives
        + polarized_product("lamp", positives=2, negatives=20)
    )
    store = LanceVectorStore(tmp_path_factory.mktemp("retrieval") / "store")
    store.create_index("reviews-v1", DIM)
    store.upsert("reviews-v1", records)
    store.swap_alias("reviews", "reviews-v1")
    return store, records


def first_chunks(records: Sequence[ChunkRecord]) -> list[ChunkRecord]:
    """One chunk per review: the one with the lowest chunk index."""
    best: dict[str, ChunkRecord] = {}
    for r in records:
        if r.review_id not in best or r.chunk_index < best[r.review_id].chunk_index:
            best[r.review_id] = r
    return list(best.values())


def expected_buckets(
    records: Sequence[ChunkRecord], product: str, language: str | None = None
) -> dict[str, list[str]]:
    """The balanced strategy computed by brute force: chunk ids per bucket."""
    mine = first_chunks([r for r in records if r.product_id == product and language in (None, r.language)])
    helpful = sorted(mine, key=lambda r: (-r.helpful_votes, -r.created_at.timestamp(), r.review_id))
    positive = [r for r in helpful if r.star_rating >= 4][:K_POS]
    negative = [r for r in helpful if r.star_rating <= 2][:K_NEG]
    used = {r.review_id for r in positive + negative}
    newest = sorted(mine, key=lambda r: (-r.created_at.timestamp(), -r.helpful_votes, r.review_id))
    recent = [r for r in newest if r.review_id not in used][:K_RECENT]
    return {
        POSITIVE: [r.chunk_id for r in positive],
        NEGATIVE: [r.chunk_id for r in negative],
        RECENT: [r.chunk_id for r in recent],
    }


def test_polarized_products_get_positives_negatives_and_recent_in_proportion(catalog):
    store, records = catalog
    contexts = balanced_context(store, "reviews", ["phone", "kettle", "lamp"], K_POS, K_NEG, K_RECENT)
    assert list(contexts) == ["phone", "kettle", "lamp"]

    phone = contexts["phone"]
    assert [s.bucket for s in phone.snippets] == [POSITIVE] * K_POS + [NEGATIVE] * K_NEG + [RECENT] * K_RECENT
    assert all(h.star_rating >= 4 for h in phone.bucket(POSITIVE))
    assert all(h.star_rating <= 2 for h in phone.bucket(NEGATIVE))
    for product, context in contexts.items():
        assert all(s.hit.product_id == product for s in context.snippets)
        # No chunk and no review twice, across buckets too.
        assert len(set(context.chunk_ids)) == len(context.chunk_ids)
        assert len(set(context.review_ids)) == len(context.review_ids)
        expected = expected_buckets(records, product)
        assert {b: [h.chunk_id for h in context.bucket(b)] for b in expected} == expected

    # A product with 3 negative reviews gets those 3, and no positive review passed off as negative.
    kettle = contexts["kettle"]
    assert len(kettle.bucket(NEGATIVE)) == 3
    assert len(kettle.bucket(POSITIVE)) == K_POS
    lamp = contexts["lamp"]
    assert len(lamp.bucket(POSITIVE)) == 2 and len(lamp.bucket(NEGATIVE)) == K_NEG


def test_the_batch_form_equals_the_per_product_form(catalog):
    store, _ = catalog
    batch = balanced_context(store, "reviews", ["lamp", "phone", "kettle"], K_POS, K_NEG, K_RECENT, "en")
    for product in ("phone", "kettle", "lamp"):
        single = balanced_context(store, "reviews", product, K_POS, K_NEG, K_RECENT, "en")
        assert single[product] == batch[product]


def test_the_language_filter_is_honoured(catalog):
    store, records = catalog
    contexts = balanced_context(store, "reviews", ["phone", "lamp"], K_POS, K_NEG, K_RECENT, language="de")
    for product, context in contexts.items():
        assert context.snippets
        assert {s.hit.language for s in context.snippets} == {"de"}
        expected = expected_buckets(records, product, "de")
        assert {b: [h.chunk_id for h in context.bucket(b)] for b in expected} == expected


def test_long_reviews_give_one_snippet_each(tmp_path):
    store = LanceVectorStore(tmp_path)
    store.create_index("idx", DIM)
    # Three very helpful reviews of three chunks each, and two less helpful one-chunk reviews.
    long_reviews = [
        record(f"long{r}-c{c}", review_id=f"long{r}", chunk_index=c, helpful=100 - r, stars=5, day=r)
        for r in range(3)
        for c in range(3)
    ]
    short = [record(f"short{r}", helpful=10 - r, stars=4, day=10 + r) for r in range(2)]
    store.upsert("idx", long_reviews + short)
    context = balanced_context(store, "idx", "p1", 4, 1, 2)["p1"]
    assert [h.chunk_id for h in context.bucket(POSITIVE)] == ["long0-c0", "long1-c0", "long2-c0", "short0"]
    assert context.bucket(NEGATIVE) == []
    assert [h.chunk_id for h in context.bucket(RECENT)] == ["short1"]  # the only review not used yet


def test_semantic_queries_find_the_matching_snippets(catalog):
    store, _ = catalog
    queries = {"battery": "battery died", "screen": "screen cracked"}
    contexts = semantic_context(store, "reviews", ["phone", "lamp"], hash_embed, queries, k=3)
    for product, context in contexts.items():
        battery, screen = context.bucket("battery"), context.bucket("screen")
        assert len(battery) == 3 and len(screen) == 3
        assert all(h.product_id == product for h in battery + screen)
        assert "battery died" in battery[0].text
        assert "screen cracked" in screen[0].text
        assert battery[0].score > battery[-1].score
        assert len(set(context.review_ids)) == 6  # one snippet per review across the two queries

    calls: list[list[str]] = []

    def counting_embed(texts: list[str]) -> list[list[float]]:
        calls.append(texts)
        return hash_embed(texts)

    semantic_context(
        store, "reviews", ["phone", "kettle", "lamp"], counting_embed, queries, k=2, language="de"
    )
    assert calls == [["battery died", "screen cracked"]]  # embedded once for every product


def test_hybrid_search_ranks_chunks_matching_both_words_and_meaning_first(catalog):
    store, _ = catalog
    found = hybrid_search(store, "reviews", "phone", "refund refused", hash_embed, k=5, candidates=30)
    assert len(found) == 5
    assert all(h.product_id == "phone" for h in found)
    assert "refund refused" in found[0].text
    assert [h.score for h in found] == sorted((h.score for h in found), reverse=True)


def test_the_retriever_uses_the_configured_parameters(catalog, monkeypatch, tmp_path):
    store, _ = catalog
    monkeypatch.setenv("LLMOPS_DATA_DIR", str(tmp_path))
    settings = load_settings("local")
    retriever = Retriever(store, settings.retrieval, settings.vector_store.alias)
    context = retriever.balanced("phone")["phone"]
    r = settings.retrieval
    assert len(context.bucket(POSITIVE)) == r.k_positive
    assert len(context.bucket(NEGATIVE)) == r.k_negative
    assert len(context.bucket(RECENT)) == r.k_recent
    assert all(h.star_rating >= r.positive_min_stars for h in context.bucket(POSITIVE))

    # Semantic query texts follow the reviews' language, falling back to the default language's.
    assert retriever.queries_for("de") == r.semantic_queries["de"]
    assert retriever.queries_for("pt") == r.semantic_queries[r.default_language]
    semantic = retriever.semantic("phone", hash_embed, language="de")["phone"]
    assert {s.bucket for s in semantic.snippets} == set(r.semantic_queries["de"])
    assert {s.hit.language for s in semantic.snippets} == {"de"}

    # From the settings alone: the local profile opens its LanceDB folder and reads the alias.
    fresh = Retriever.from_settings(settings)
    assert isinstance(fresh.store, LanceVectorStore)
    assert fresh.store.root == tmp_path / "vector_store"
    assert fresh.index == "reviews"
