"""The vector store's contract: the record, the filters, the queries and the small interface.

Every pipeline that touches the index (embedding, batch inference, evaluation, fine-tuning) talks to
this interface, never to a backend directly, so the `local` profile (an embedded LanceDB folder) and
the `aws` profile (Amazon OpenSearch) run the same code. Backends translate one filter
representation each into their own query language; they never see free-form query strings.

Scores: `knn` hits carry the cosine similarity (-1..1) on every backend, so a threshold means the
same thing locally and on AWS; `text_search` hits carry the backend's BM25 score; `hybrid` hits the
reciprocal-rank-fusion score; sorted (`top_by`) hits carry no score.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

# Index and alias names valid on both backends (OpenSearch: lowercase, no separators; LanceDB: a folder).
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,199}$")

# Fields a sorted query may order by; chunk_id is always appended last so ties cannot reorder.
SORTABLE_FIELDS = frozenset(
    {"helpful_votes", "created_at", "star_rating", "chunk_index", "review_id", "product_id", "chunk_id"}
)

Order = Literal["asc", "desc"]
SortKey = tuple[str, Order]


class VectorStoreError(RuntimeError):
    """The store refused or failed an operation; the message says which documents or index."""


def check_name(name: str, what: str = "index") -> str:
    """Reject names one of the backends would mangle or refuse, before anything is written."""
    if not isinstance(name, str) or not _NAME.match(name) or name in {".", ".."}:
        raise ValueError(
            f"invalid {what} name {name!r}: use lowercase letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    return name


def as_utc(value: datetime, what: str = "datetime") -> datetime:
    """Timestamps are stored in UTC; a naive one is ambiguous and would shift silently, so it is refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class ChunkRecord:
    """One chunk of one review, with its vector and everything retrieval filters or cites on."""

    chunk_id: str
    review_id: str
    product_id: str
    chunk_index: int
    text: str
    vector: Sequence[float]  # a list or a 1-d numpy array
    star_rating: int
    language: str
    created_at: datetime
    helpful_votes: int
    verified_purchase: bool
    embedding_model: str
    embedding_dim: int


@dataclass(frozen=True)
class Hit:
    """A chunk returned by a query: its text and metadata, without the vector."""

    chunk_id: str
    review_id: str
    product_id: str
    chunk_index: int
    text: str
    star_rating: int
    language: str
    created_at: datetime
    helpful_votes: int
    verified_purchase: bool
    embedding_model: str
    embedding_dim: int
    score: float | None = None

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any], score: float | None = None) -> Hit:
        """Build a hit from a stored row (LanceDB) or `_source` (OpenSearch)."""
        created = row["created_at"]
        if isinstance(created, str):
            created = datetime.fromisoformat(created)
        return cls(
            chunk_id=str(row["chunk_id"]),
            review_id=str(row["review_id"]),
            product_id=str(row["product_id"]),
            chunk_index=int(row["chunk_index"]),
            text=str(row["text"]),
            star_rating=int(row["star_rating"]),
            language=str(row["language"]),
            created_at=as_utc(created, "created_at"),
            helpful_votes=int(row["helpful_votes"]),
            verified_purchase=bool(row["verified_purchase"]),
            embedding_model=str(row["embedding_model"]),
            embedding_dim=int(row["embedding_dim"]),
            score=None if score is None else float(score),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (lineage records, MLflow tables, XCom-sized metadata)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["created_at"] = self.created_at.isoformat()
        return out


def _as_tuple(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


@dataclass(frozen=True)
class Filters:
    """What every query may be restricted to. Ranges: stars inclusive; created_at from inclusive, to
    exclusive (so consecutive windows never overlap). `product_ids`/`review_ids`/`languages` accept one
    value or many."""

    product_ids: tuple[str, ...] | None = None
    review_ids: tuple[str, ...] | None = None
    languages: tuple[str, ...] | None = None
    min_stars: int | None = None
    max_stars: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    if TYPE_CHECKING:
        # What the generated __init__ accepts: one id or language, or many; __post_init__ makes tuples.
        def __init__(
            self,
            product_ids: str | Iterable[str] | None = None,
            review_ids: str | Iterable[str] | None = None,
            languages: str | Iterable[str] | None = None,
            min_stars: int | None = None,
            max_stars: int | None = None,
            created_from: datetime | None = None,
            created_to: datetime | None = None,
        ) -> None: ...

    def __post_init__(self) -> None:
        for name in ("product_ids", "review_ids", "languages"):
            values = _as_tuple(getattr(self, name))
            if values is not None and not values:
                raise ValueError(f"{name} is empty: it would match nothing; pass None for no filter")
            object.__setattr__(self, name, values)
        for name in ("min_stars", "max_stars"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, int(value))
        for name in ("created_from", "created_to"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, as_utc(value, name))

    def with_(self, **changes: Any) -> Filters:
        """A copy with some fields replaced (the per-bucket variants of one product's filter)."""
        current = {f.name: getattr(self, f.name) for f in fields(self)}
        return Filters(**{**current, **changes})


NO_FILTERS = Filters()


def normalize_sort(sort: Sequence[SortKey]) -> tuple[SortKey, ...]:
    """Validated sort keys with chunk_id last, so equal keys still come back in one fixed order."""
    keys: list[SortKey] = []
    for name, order in sort:
        if name not in SORTABLE_FIELDS:
            raise ValueError(f"cannot sort by {name!r}; sortable fields: {sorted(SORTABLE_FIELDS)}")
        if order not in ("asc", "desc"):
            raise ValueError(f"sort order must be 'asc' or 'desc', got {order!r}")
        keys.append((name, order))
    if all(name != "chunk_id" for name, _ in keys):
        keys.append(("chunk_id", "asc"))
    return tuple(keys)


@dataclass(frozen=True)
class TopQuery:
    """The k first chunks under `filters` in `sort` order, without a vector ("most helpful",
    "most recent"). `distinct_reviews` keeps only the first chunk of each review, so k hits are k
    different reviews."""

    filters: Filters
    sort: tuple[SortKey, ...]
    k: int
    distinct_reviews: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "sort", normalize_sort(self.sort))
        if self.k < 1:
            raise ValueError(f"k must be positive, got {self.k}")


@dataclass(frozen=True)
class KnnQuery:
    """The k nearest chunks to `vector` (cosine) among those matching `filters`."""

    vector: Sequence[float]
    k: int
    filters: Filters = field(default=NO_FILTERS)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be positive, got {self.k}")


@dataclass(frozen=True)
class TextQuery:
    """The k best BM25 matches of `text` among chunks matching `filters`."""

    text: str
    k: int
    filters: Filters = field(default=NO_FILTERS)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be positive, got {self.k}")


Query = TopQuery | KnnQuery | TextQuery


@dataclass(frozen=True)
class IndexInfo:
    """An index as listed: its creation time lets old versions be expired after N days."""

    name: str
    created_at: datetime
    dimension: int | None
    aliases: tuple[str, ...] = ()


def rrf_fuse(ranked: Sequence[Sequence[Hit]], k: int, rrf_k: int = 60) -> list[Hit]:
    """Reciprocal rank fusion: each list adds 1 / (rrf_k + rank) to a chunk (rank from 1). Rank-based,
    so BM25 and cosine scores need no common scale. Ties break on chunk_id for a fixed order."""
    scores: dict[str, float] = defaultdict(float)
    first: dict[str, Hit] = {}
    for hits in ranked:
        for rank, hit in enumerate(hits, start=1):
            scores[hit.chunk_id] += 1.0 / (rrf_k + rank)
            first.setdefault(hit.chunk_id, hit)
    order = sorted(scores, key=lambda cid: (-scores[cid], cid))[:k]
    return [_with_score(first[cid], scores[cid]) for cid in order]


def _with_score(hit: Hit, score: float) -> Hit:
    values = {f.name: getattr(hit, f.name) for f in fields(hit)}
    values["score"] = score
    return Hit(**values)


@runtime_checkable
class VectorStore(Protocol):
    """What the pipelines need from a vector index; `index` arguments also accept an alias."""

    def create_index(self, name: str, dim: int) -> None:
        """Create the index for vectors of `dim` dimensions; a no-op if it exists with that dimension."""
        ...

    def drop_index(self, name: str) -> None:
        """Delete an index. Refused while an alias points at it (the live index is never dropped)."""
        ...

    def list_indices(self, prefix: str = "") -> list[IndexInfo]: ...

    def index_exists(self, name: str) -> bool: ...

    def copy_index(self, source: str, dest: str) -> int:
        """Make `dest` a new index holding every chunk of `source` (an index or an alias), vectors
        included, and return how many it holds. An incremental run changes the copy, never the index
        readers query. An existing `dest` is replaced (a retried copy starts over); refused while an
        alias points at it."""
        ...

    def upsert(self, index: str, records: Iterable[ChunkRecord]) -> int:
        """Write records keyed by chunk_id: a re-run overwrites, never duplicates. Returns the count
        written; raises VectorStoreError naming the chunk ids that failed."""
        ...

    def delete_reviews(self, index: str, review_ids: Iterable[str]) -> int:
        """Remove every chunk of these reviews; returns the number of chunks deleted."""
        ...

    def count(self, index: str, filters: Filters = NO_FILTERS) -> int: ...

    def get(self, index: str, chunk_ids: Iterable[str]) -> list[Hit]:
        """The stored chunks with these ids (missing ones are absent), in chunk_id order."""
        ...

    def knn(
        self, index: str, vector: Sequence[float], k: int, filters: Filters = NO_FILTERS
    ) -> list[Hit]: ...

    def text_search(self, index: str, text: str, k: int, filters: Filters = NO_FILTERS) -> list[Hit]: ...

    def hybrid(
        self,
        index: str,
        text: str,
        vector: Sequence[float],
        k: int,
        filters: Filters = NO_FILTERS,
        *,
        candidates: int = 50,
        rrf_k: int = 60,
    ) -> list[Hit]:
        """BM25 and k-NN fused by reciprocal rank fusion over `candidates` hits from each side."""
        ...

    def top_by(self, index: str, query: TopQuery) -> list[Hit]: ...

    def msearch(self, index: str, queries: Sequence[Query]) -> list[list[Hit]]:
        """Many queries in one call (one list of hits per query, in order): the hourly batch asks for
        hundreds of products at once."""
        ...

    def swap_alias(self, alias: str, index: str) -> str | None:
        """Point `alias` at `index` atomically; returns the index it pointed at before, if any."""
        ...

    def resolve_alias(self, alias: str) -> str | None: ...
