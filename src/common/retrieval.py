"""What the summarizer is shown about a product: retrieval strategies over the vector store.

The reference design's positivity-bias incident came from a context of mostly positive reviews: a model
wrote "users praise the battery life" when the most helpful reviews said the opposite. The balanced
strategy therefore asks for three things separately, so none can crowd out the others:

- `positive`: the k most helpful snippets rated >= positive_min_stars,
- `negative`: the k most helpful snippets rated <= negative_max_stars,
- `recent`: the k most recent snippets, any rating (what changed lately: a new batch, a fix).

One snippet per review (its first chunk in the order below) and no review in two buckets, so a long
review cannot fill a bucket and a helpful recent review is not counted twice. Order is fully
deterministic: helpful votes desc, created_at desc, review_id, chunk_index (and chunk_id last).

Many products are answered in one `msearch` call (three searches per product), which is what the
hourly batch needs; a single product is the same call with one id, so the two forms cannot diverge.

Semantic queries ("what do customers like / dislike") embed the configured query texts once with the
caller's embedding function and run one k-NN search per product and query; hybrid search fuses BM25 and
k-NN with reciprocal rank fusion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from common.vector_store.base import Filters, Hit, KnnQuery, Query, SortKey, TopQuery, VectorStore

if TYPE_CHECKING:
    from common.settings import RetrievalSettings, Settings

# Turns texts into vectors with the same model as the index (the embedding pipeline provides it).
Embedder = Callable[[list[str]], Sequence[Sequence[float]]]

POSITIVE, NEGATIVE, RECENT = "positive", "negative", "recent"

MOST_HELPFUL: tuple[SortKey, ...] = (
    ("helpful_votes", "desc"),
    ("created_at", "desc"),
    ("review_id", "asc"),
    ("chunk_index", "asc"),
)
MOST_RECENT: tuple[SortKey, ...] = (
    ("created_at", "desc"),
    ("helpful_votes", "desc"),
    ("review_id", "asc"),
    ("chunk_index", "asc"),
)


@dataclass(frozen=True)
class Snippet:
    """A retrieved chunk and the bucket (or semantic query) it was retrieved for."""

    bucket: str
    hit: Hit

    def to_dict(self) -> dict[str, Any]:
        return {"bucket": self.bucket, **self.hit.to_dict()}


@dataclass(frozen=True)
class ProductContext:
    """One product's snippets, in bucket order: what a prompt is grounded on and lineage cites."""

    product_id: str
    snippets: tuple[Snippet, ...]

    @property
    def chunk_ids(self) -> list[str]:
        return [s.hit.chunk_id for s in self.snippets]

    @property
    def review_ids(self) -> list[str]:
        return [s.hit.review_id for s in self.snippets]

    @property
    def texts(self) -> list[str]:
        return [s.hit.text for s in self.snippets]

    def bucket(self, name: str) -> list[Hit]:
        return [s.hit for s in self.snippets if s.bucket == name]

    def to_dict(self) -> dict[str, Any]:
        return {"product_id": self.product_id, "snippets": [s.to_dict() for s in self.snippets]}


def _ids(product_ids: str | Iterable[str]) -> list[str]:
    values = [product_ids] if isinstance(product_ids, str) else list(product_ids)
    return list(dict.fromkeys(values))


def _assemble(product_id: str, buckets: Sequence[tuple[str, Sequence[Hit], int]]) -> ProductContext:
    """Fill buckets in order with up to k hits each, skipping chunks and reviews already used."""
    chunks: set[str] = set()
    reviews: set[str] = set()
    snippets: list[Snippet] = []
    for name, hits, k in buckets:
        taken = 0
        for hit in hits:
            if taken == k:
                break
            if hit.chunk_id in chunks or hit.review_id in reviews:
                continue
            chunks.add(hit.chunk_id)
            reviews.add(hit.review_id)
            snippets.append(Snippet(name, hit))
            taken += 1
    return ProductContext(product_id, tuple(snippets))


def _run(
    store: VectorStore, index: str, plans: dict[str, list[tuple[str, Query | None, int]]]
) -> dict[str, ProductContext]:
    """Send every product's queries in one msearch, then assemble each product's buckets."""
    queries = [query for plan in plans.values() for _, query, _ in plan if query is not None]
    results = iter(store.msearch(index, queries))
    out: dict[str, ProductContext] = {}
    for product_id, plan in plans.items():
        buckets = [(name, next(results) if query is not None else [], k) for name, query, k in plan]
        out[product_id] = _assemble(product_id, buckets)
    return out


def balanced_context(
    store: VectorStore,
    index: str,
    product_ids: str | Iterable[str],
    k_pos: int,
    k_neg: int,
    k_recent: int,
    language: str | None = None,
    *,
    positive_min_stars: int = 4,
    negative_max_stars: int = 2,
) -> dict[str, ProductContext]:
    """The balanced context of each product (see module docstring), keyed by product id in input order.

    The recent bucket asks for k_recent + k_pos + k_neg reviews so that k_recent remain after the
    reviews already used by the other two buckets are skipped.
    """
    if positive_min_stars <= negative_max_stars:
        raise ValueError("positive_min_stars must be above negative_max_stars: the buckets would overlap")
    plans: dict[str, list[tuple[str, Query | None, int]]] = {}
    for product_id in _ids(product_ids):
        base = Filters(product_ids=product_id, languages=language)
        specs = [
            (POSITIVE, base.with_(min_stars=positive_min_stars), MOST_HELPFUL, k_pos, k_pos),
            (NEGATIVE, base.with_(max_stars=negative_max_stars), MOST_HELPFUL, k_neg, k_neg),
            (RECENT, base, MOST_RECENT, k_recent, k_recent + k_pos + k_neg),
        ]
        plans[product_id] = [
            (name, TopQuery(filters, sort, size, distinct_reviews=True) if k > 0 else None, k)
            for name, filters, sort, k, size in specs
        ]
    return _run(store, index, plans)


def semantic_context(
    store: VectorStore,
    index: str,
    product_ids: str | Iterable[str],
    embed: Embedder,
    queries: Mapping[str, str],
    k: int,
    language: str | None = None,
) -> dict[str, ProductContext]:
    """For each product, the k chunks nearest to each query text (one bucket per query name), one
    snippet per review across queries. The query texts are embedded once for all products."""
    names = list(queries)
    if not names:
        return {product_id: ProductContext(product_id, ()) for product_id in _ids(product_ids)}
    vectors = list(embed([queries[name] for name in names]))
    if len(vectors) != len(names):
        raise ValueError(f"the embedder returned {len(vectors)} vectors for {len(names)} texts")
    # Extra candidates so a review already used by an earlier query can be skipped.
    size = k * (len(names) + 1)
    plans: dict[str, list[tuple[str, Query | None, int]]] = {}
    for product_id in _ids(product_ids):
        filters = Filters(product_ids=product_id, languages=language)
        plans[product_id] = [
            (name, KnnQuery(vector, size, filters), k) for name, vector in zip(names, vectors, strict=True)
        ]
    return _run(store, index, plans)


def hybrid_search(
    store: VectorStore,
    index: str,
    product_id: str,
    text: str,
    embed: Embedder,
    k: int,
    language: str | None = None,
    *,
    candidates: int = 50,
    rrf_k: int = 60,
) -> list[Hit]:
    """BM25 and k-NN over one product's chunks, fused by reciprocal rank fusion."""
    (vector,) = embed([text])
    filters = Filters(product_ids=product_id, languages=language)
    return store.hybrid(index, text, vector, k, filters, candidates=candidates, rrf_k=rrf_k)


class Retriever:
    """The strategies with the configured parameters, over the configured index (the alias)."""

    def __init__(self, store: VectorStore, settings: RetrievalSettings, index: str) -> None:
        self.store = store
        self.settings = settings
        self.index = index

    @classmethod
    def from_settings(cls, settings: Settings, index: str | None = None) -> Retriever:
        from common.vector_store import open_vector_store

        return cls(open_vector_store(settings), settings.retrieval, index or settings.vector_store.alias)

    def balanced(
        self, product_ids: str | Iterable[str], language: str | None = None
    ) -> dict[str, ProductContext]:
        s = self.settings
        return balanced_context(
            self.store,
            self.index,
            product_ids,
            s.k_positive,
            s.k_negative,
            s.k_recent,
            language,
            positive_min_stars=s.positive_min_stars,
            negative_max_stars=s.negative_max_stars,
        )

    def queries_for(self, language: str | None) -> dict[str, str]:
        """The semantic query texts in the reviews' language, else in the default language."""
        queries = self.settings.semantic_queries
        chosen = queries.get(language or "") or queries.get(self.settings.default_language)
        if not chosen:
            raise ValueError(
                f"no semantic queries configured for {language!r} or {self.settings.default_language!r}"
            )
        return dict(chosen)

    def semantic(
        self, product_ids: str | Iterable[str], embed: Embedder, language: str | None = None
    ) -> dict[str, ProductContext]:
        return semantic_context(
            self.store,
            self.index,
            product_ids,
            embed,
            self.queries_for(language),
            self.settings.semantic_k,
            language,
        )

    def hybrid(
        self, product_id: str, text: str, embed: Embedder, k: int, language: str | None = None
    ) -> list[Hit]:
        return hybrid_search(
            self.store,
            self.index,
            product_id,
            text,
            embed,
            k,
            language,
            candidates=self.settings.hybrid_candidates,
            rrf_k=self.settings.rrf_k,
        )
