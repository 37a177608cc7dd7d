"""The behaviour every vector-store backend must show, checked against brute force in Python.

Run on LanceDB in every test run, and on a real OpenSearch cluster when one is configured, so the two
backends are held to the same semantics: upsert by id, filters, k-NN order and scores, BM25, hybrid
fusion, sorted queries, deletion and aliases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from common.vector_store import (
    NO_FILTERS,
    ChunkRecord,
    Filters,
    TextQuery,
    TopQuery,
    VectorStore,
    VectorStoreError,
    rrf_fuse,
)

from .conftest import DIM, T0, hash_embed, record, with_text

QUOTED = "o'brien\\x"  # a product id with a quote and a backslash: data, never query syntax
INJECTION = "p1' OR '1'='1"


def corpus() -> list[ChunkRecord]:
    rows = []
    for n in range(24):
        product = ["p1", "p2", QUOTED][(n // 2) % 3]
        stars = [5, 1, 4, 2, 3][n % 5]
        text = [
            "battery lasts long and charges fast",
            "screen is dim and scratches easily",
            "sound quality is superb",
            "zipper broke after one use",
        ][n % 4]
        review = f"rev-{n // 2:02d}-{product}"  # two chunks per review
        rows.append(
            record(
                f"chunk-{n:02d}",
                review_id=review,
                product_id=product,
                chunk_index=n % 2,
                text=f"{text} number{n}",
                stars=stars,
                language=["en", "de", "fr"][n % 3 if n % 4 else 0],
                day=n * 1.5,
                helpful=(7 * n) % 24,
                verified=n % 2 == 0,
            )
        )
    return rows


def matches(rec: ChunkRecord, f: Filters) -> bool:
    return (
        (f.product_ids is None or rec.product_id in f.product_ids)
        and (f.review_ids is None or rec.review_id in f.review_ids)
        and (f.languages is None or rec.language in f.languages)
        and (f.min_stars is None or rec.star_rating >= f.min_stars)
        and (f.max_stars is None or rec.star_rating <= f.max_stars)
        and (f.created_from is None or rec.created_at >= f.created_from)
        and (f.created_to is None or rec.created_at < f.created_to)
    )


FILTERS = [
    NO_FILTERS,
    Filters(product_ids="p1"),
    Filters(product_ids=["p2", QUOTED]),
    Filters(product_ids=QUOTED, languages="en"),
    Filters(product_ids=INJECTION),
    Filters(languages=["de", "fr"], min_stars=2, max_stars=4),
    Filters(created_from=T0 + timedelta(days=6), created_to=T0 + timedelta(days=12)),
    Filters(review_ids=["rev-03-p1", "rev-05-o'brien\\x", "missing"]),
]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def ids_in(store: VectorStore, index: str) -> list[str]:
    return [h.chunk_id for h in store.top_by(index, TopQuery(NO_FILTERS, (("chunk_id", "asc"),), 1000))]


def check_store_contract(store: VectorStore, prefix: str) -> None:
    v1, v2, alias = f"{prefix}-v1", f"{prefix}-v2", f"{prefix}-live"
    records = corpus()
    by_id = {r.chunk_id: r for r in records}

    # Indices: idempotent creation, the dimension is part of the index.
    store.create_index(v1, DIM)
    store.create_index(v1, DIM)
    assert store.index_exists(v1) and not store.index_exists(v2)
    with pytest.raises(VectorStoreError, match="dimension"):
        store.create_index(v1, DIM + 1)

    # Upsert by chunk id: twice is the same count; a changed chunk is overwritten in place.
    assert store.upsert(v1, records) == len(records)
    assert store.upsert(v1, records) == len(records)
    assert store.count(v1) == len(records)
    changed = with_text(records[0], "entirely rewritten words")
    assert store.upsert(v1, [changed]) == 1
    assert store.count(v1) == len(records)
    assert [h.text for h in store.get(v1, [changed.chunk_id])] == ["entirely rewritten words"]
    records[0] = by_id[changed.chunk_id] = changed
    short = replace(records[1], chunk_id="short-vector", vector=[0.5] * (DIM - 1))
    with pytest.raises(ValueError, match="dimensional"):
        store.upsert(v1, [short])
    assert store.get(v1, ["short-vector"]) == []

    # Every field round-trips.
    got = store.get(v1, [records[5].chunk_id, "missing"])
    assert len(got) == 1
    for name in (
        "chunk_id",
        "review_id",
        "product_id",
        "chunk_index",
        "text",
        "star_rating",
        "language",
        "created_at",
        "helpful_votes",
        "verified_purchase",
        "embedding_model",
        "embedding_dim",
    ):
        assert getattr(got[0], name) == getattr(records[5], name), name

    # Filters select exactly what brute force selects (quotes and injection attempts are plain data).
    for f in FILTERS:
        expected = {r.chunk_id for r in records if matches(r, f)}
        assert store.count(v1, f) == len(expected), f
        found = store.top_by(v1, TopQuery(f, (("chunk_id", "asc"),), 100))
        assert [h.chunk_id for h in found] == sorted(expected), f
    assert store.count(v1, Filters(product_ids=INJECTION)) == 0
    # The batch form answers each query as the single form does (one product or several, any filter).
    one_product = [f.with_(product_ids=p) for f in FILTERS if not f.product_ids for p in ("p1", "p2", QUOTED)]
    batch = [
        TopQuery(f, (("star_rating", "asc"), ("created_at", "desc")), 3, distinct_reviews=True)
        for f in FILTERS + one_product
    ]
    assert store.msearch(v1, batch) == [store.top_by(v1, q) for q in batch]
    assert sum(len(hits) for hits in store.msearch(v1, batch[len(FILTERS) :])) > 6

    # k-NN: the k best cosine similarities among the filtered chunks, each hit with its own cosine.
    query = hash_embed(["battery charges fast"])[0]
    for f in (NO_FILTERS, Filters(product_ids=["p1", QUOTED], min_stars=4)):
        truth = sorted((cosine(query, r.vector) for r in records if matches(r, f)), reverse=True)[:5]
        hits = store.knn(v1, query, 5, f)
        assert len(hits) == len(truth)
        assert all(matches(by_id[h.chunk_id], f) for h in hits)
        assert [h.score for h in hits] == pytest.approx(truth, abs=1e-4)
        for h in hits:
            assert h.score == pytest.approx(cosine(query, by_id[h.chunk_id].vector), abs=1e-4)

    # BM25: only chunks containing the word, filters honoured, the rarer word ranks first.
    text_hits = store.text_search(v1, "zipper", 10, Filters(product_ids="p1"))
    expected_zip = {r.chunk_id for r in records if "zipper" in r.text and r.product_id == "p1"}
    assert {h.chunk_id for h in text_hits} == expected_zip and expected_zip
    assert store.text_search(v1, "number7", 3)[0].chunk_id == "chunk-07"

    # Hybrid: reciprocal rank fusion of the backend's own k-NN and BM25 lists.
    f = Filters(product_ids=["p1", "p2"])
    fused = store.hybrid(v1, "screen scratches", query, 6, f, candidates=20, rrf_k=60)
    knn_side = store.knn(v1, query, 20, f)
    text_side = store.msearch(v1, [TextQuery("screen scratches", 20, f)])[0]
    expected_fused = rrf_fuse([knn_side, text_side], 6, 60)
    assert [h.score for h in fused] == pytest.approx([h.score for h in expected_fused], rel=1e-4)
    assert {h.chunk_id for h in fused} == {h.chunk_id for h in expected_fused}

    # Sorted queries: most helpful first, chunk_id breaking ties; one chunk per review on request.
    top = store.top_by(v1, TopQuery(Filters(product_ids="p2"), (("helpful_votes", "desc"),), 4))
    expected_top = sorted(
        (r for r in records if r.product_id == "p2"), key=lambda r: (-r.helpful_votes, r.chunk_id)
    )[:4]
    assert [h.chunk_id for h in top] == [r.chunk_id for r in expected_top]
    distinct = store.top_by(v1, TopQuery(NO_FILTERS, (("created_at", "desc"),), 5, distinct_reviews=True))
    assert len({h.review_id for h in distinct}) == 5
    newest_reviews = []
    for r in sorted(records, key=lambda r: (r.created_at, r.chunk_id), reverse=True):
        if r.review_id not in newest_reviews:
            newest_reviews.append(r.review_id)
    assert [h.review_id for h in distinct] == newest_reviews[:5]

    # Deletion by review: every chunk of those reviews, and only those.
    doomed = ["rev-01-p2", "rev-03-p1", "not-a-review"]
    n_doomed = sum(r.review_id in doomed for r in records)
    assert n_doomed == 4
    assert store.delete_reviews(v1, doomed) == n_doomed
    assert store.count(v1) == len(records) - n_doomed
    assert store.count(v1, Filters(review_ids=doomed)) == 0
    assert not any(h.review_id in doomed for h in store.knn(v1, query, len(records)))
    assert store.delete_reviews(v1, doomed) == 0

    # Copy: a new index with every chunk and vector of the source; changing the copy leaves the source
    # as it was, and copying again starts over.
    v3 = f"{prefix}-v3"
    before = ids_in(store, v1)
    assert store.copy_index(v1, v3) == len(before) == store.count(v3)
    assert ids_in(store, v3) == before
    assert store.get(v3, before) == store.get(v1, before)
    copied_knn, source_knn = store.knn(v3, query, 5), store.knn(v1, query, 5)
    assert [h.chunk_id for h in copied_knn] == [h.chunk_id for h in source_knn]
    assert [h.score for h in copied_knn] == pytest.approx([h.score for h in source_knn], abs=1e-4)
    assert {h.chunk_id for h in store.text_search(v3, "zipper", 10)} == {
        h.chunk_id for h in store.text_search(v1, "zipper", 10)
    }
    kept = next(r for r in records if r.review_id not in doomed)
    store.upsert(v3, [with_text(kept, "changed only in the copy")])
    store.delete_reviews(v3, [records[-1].review_id])
    assert ids_in(store, v1) == before
    assert [h.text for h in store.get(v1, [kept.chunk_id])] == [kept.text]
    assert store.copy_index(v1, v3) == len(before)
    assert store.get(v3, before) == store.get(v1, before)
    store.drop_index(v3)

    # Aliases: readers use the alias; a swap moves it in one step; the live index cannot be dropped.
    assert store.resolve_alias(alias) is None
    assert store.swap_alias(alias, v1) is None
    assert store.resolve_alias(alias) == v1
    assert not store.index_exists(alias)
    assert store.count(alias) == store.count(v1)
    store.create_index(v2, DIM)
    store.upsert(v2, records[:3])
    assert store.swap_alias(alias, v2) == v1
    assert store.resolve_alias(alias) == v2
    assert store.count(alias) == 3
    with pytest.raises(VectorStoreError, match="alias"):
        store.drop_index(v2)
    listed = {i.name: i for i in store.list_indices(prefix)}
    assert set(listed) == {v1, v2}
    assert listed[v2].aliases == (alias,) and listed[v1].aliases == ()
    assert listed[v1].dimension == DIM
    assert listed[v1].created_at <= listed[v2].created_at
    store.drop_index(v1)
    assert not store.index_exists(v1)
    assert store.count(alias) == 3

    # A copy of what the alias points at is a new index the alias does not point at; the aliased index
    # itself is never replaced by a copy.
    assert store.copy_index(alias, v1) == 3
    assert store.resolve_alias(alias) == v2 and ids_in(store, v1) == ids_in(store, v2)
    with pytest.raises(VectorStoreError, match="alias"):
        store.copy_index(v1, v2)
    assert store.count(v2) == 3
