"""The `local` profile's vector store: an embedded LanceDB database in a folder.

One LanceDB table per index. LanceDB does the vector maths (exact cosine k-NN with pre-filtering),
full-text search (its native BM25 index) and hybrid search (its RRF reranker); this module only maps
the store interface onto it. Scalar B-tree indexes on product_id, review_id and chunk_id keep the
per-product queries of the hourly batch at milliseconds instead of full scans.

Filters become a SQL `WHERE` string: column names come from this module only, numbers are cast with
`int()`, timestamps are formatted here, and every string value is quoted with its single quotes
doubled, so a product id like `o'brien` is data, never SQL.

Aliases live in `_aliases.json` in the store folder, replaced atomically (write a temp file, then
`os.replace`), so a reader sees the old target or the new one, never a torn file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.index import FTS, BTree
from lancedb.rerankers import RRFReranker

from common.vector_store.base import (
    NO_FILTERS,
    ChunkRecord,
    Filters,
    Hit,
    IndexInfo,
    KnnQuery,
    Query,
    TextQuery,
    TopQuery,
    VectorStoreError,
    as_utc,
    check_name,
)

ALIAS_FILE = "_aliases.json"
_SCALAR_INDEXED = ("chunk_id", "review_id", "product_id")
_IN_BATCH = 1000  # values per `IN (...)` list
_PRODUCTS_PER_SCAN = 200  # products read at once by a batch of sorted queries
# Every column but the vector: what queries return.
_COLUMNS = [
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
]


def table_schema(dim: int, created_at: datetime | None = None) -> pa.Schema:
    """The table layout; the creation time and dimension ride in the schema metadata so listing
    indices needs no side file."""
    created = (created_at or datetime.now(UTC)).isoformat()
    return pa.schema(
        [
            ("chunk_id", pa.string()),
            ("review_id", pa.string()),
            ("product_id", pa.string()),
            ("chunk_index", pa.int32()),
            ("text", pa.string()),
            ("vector", pa.list_(pa.float32(), dim)),
            ("star_rating", pa.int8()),
            ("language", pa.string()),
            ("created_at", pa.timestamp("us", tz="UTC")),
            ("helpful_votes", pa.int64()),
            ("verified_purchase", pa.bool_()),
            ("embedding_model", pa.string()),
            ("embedding_dim", pa.int32()),
        ],
        metadata={"created_at": created, "embedding_dim": str(dim)},
    )


# --- filters as SQL -------------------------------------------------------------------------


def sql_string(value: str) -> str:
    """A SQL string literal: single quotes doubled (standard SQL; backslashes are not escapes)."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_timestamp(value: datetime) -> str:
    return "TIMESTAMP " + sql_string(as_utc(value).strftime("%Y-%m-%d %H:%M:%S.%f") + "+00:00")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(sql_string(v) for v in values)})"


def where_clause(filters: Filters) -> str | None:
    """The SQL predicate for `filters`, or None when nothing is filtered."""
    parts: list[str] = []
    if filters.product_ids is not None:
        parts.append(_in("product_id", filters.product_ids))
    if filters.review_ids is not None:
        parts.append(_in("review_id", filters.review_ids))
    if filters.languages is not None:
        parts.append(_in("language", filters.languages))
    if filters.min_stars is not None:
        parts.append(f"star_rating >= {int(filters.min_stars)}")
    if filters.max_stars is not None:
        parts.append(f"star_rating <= {int(filters.max_stars)}")
    if filters.created_from is not None:
        parts.append(f"created_at >= {sql_timestamp(filters.created_from)}")
    if filters.created_to is not None:
        parts.append(f"created_at < {sql_timestamp(filters.created_to)}")
    return " AND ".join(parts) if parts else None


def row_matches(row: dict[str, Any], filters: Filters) -> bool:
    """The same predicate as `where_clause`, for rows already read (batched sorted queries)."""
    return (
        (filters.product_ids is None or row["product_id"] in filters.product_ids)
        and (filters.review_ids is None or row["review_id"] in filters.review_ids)
        and (filters.languages is None or row["language"] in filters.languages)
        and (filters.min_stars is None or row["star_rating"] >= filters.min_stars)
        and (filters.max_stars is None or row["star_rating"] <= filters.max_stars)
        and (filters.created_from is None or row["created_at"] >= filters.created_from)
        and (filters.created_to is None or row["created_at"] < filters.created_to)
    )


def _first_k(rows: list[dict[str, Any]], query: TopQuery) -> list[Hit]:
    """Sort rows by the query's keys and keep k (one per review when asked). Stable sorts from the last
    key to the first give the mixed ascending/descending order."""
    rows = list(rows)
    for name, order in reversed(query.sort):
        rows.sort(key=itemgetter(name), reverse=order == "desc")
    if query.distinct_reviews:
        seen: set[str] = set()
        distinct = []
        for row in rows:
            if row["review_id"] not in seen:
                seen.add(row["review_id"])
                distinct.append(row)
        rows = distinct
    return [Hit.from_mapping(row) for row in rows[: query.k]]


def _batches(values: Iterable[str], size: int = _IN_BATCH) -> Iterable[list[str]]:
    batch: list[str] = []
    for value in values:
        batch.append(str(value))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- the store ------------------------------------------------------------------------------


class LanceVectorStore:
    """The store interface over a LanceDB folder (see module docstring)."""

    def __init__(
        self, uri: str | Path, *, optimize_after_rows: int = 50_000, write_batch_rows: int = 50_000
    ) -> None:
        self.root = Path(uri)
        self.root.mkdir(parents=True, exist_ok=True)
        # Check for other processes' commits on every read: the embedding job writes while the
        # batch job reads, and a stale table would serve deleted (forgotten) reviews.
        self._db = lancedb.connect(str(self.root), read_consistency_interval=timedelta(0))
        self._optimize_after_rows = optimize_after_rows
        self._write_batch_rows = write_batch_rows
        self._tables: dict[str, Any] = {}

    # --- indices ---

    def _table_names(self) -> list[str]:
        names: list[str] = []
        token: str | None = None
        while True:
            page = self._db.list_tables(page_token=token)
            names.extend(page.tables)
            token = page.page_token
            if not token:
                return sorted(names)

    def index_exists(self, name: str) -> bool:
        return name in self._table_names()

    def _open(self, name: str) -> Any:
        """The table behind an index name or alias."""
        target = self.resolve_alias(name) or name
        table = self._tables.get(target)
        if table is None:
            if not self.index_exists(target):
                raise VectorStoreError(f"no index or alias named {name!r} in {self.root}")
            table = self._tables[target] = self._db.open_table(target)
        return table

    @staticmethod
    def _dim(table: Any) -> int:
        return int(table.schema.field("vector").type.list_size)

    def create_index(self, name: str, dim: int) -> None:
        check_name(name)
        if dim < 1:
            raise ValueError(f"dimension must be positive, got {dim}")
        if name in self._read_aliases():
            raise VectorStoreError(f"{name!r} is an alias; an index cannot have the same name")
        if self.index_exists(name):
            existing = self._dim(self._open(name))
            if existing != dim:
                raise VectorStoreError(f"index {name!r} exists with dimension {existing}, not {dim}")
            return
        table = self._db.create_table(name, schema=table_schema(dim))
        for column in _SCALAR_INDEXED:
            table.create_index(column, config=BTree())
        # Language-neutral tokens (reviews come in six languages): no stemming, no stop words.
        table.create_index("text", config=FTS(stem=False, remove_stop_words=False, ascii_folding=True))
        self._tables[name] = table

    def drop_index(self, name: str) -> None:
        aliases = [alias for alias, target in self._read_aliases().items() if target == name]
        if aliases:
            raise VectorStoreError(f"index {name!r} is behind alias(es) {aliases}; swap them first")
        if self.index_exists(name):
            self._db.drop_table(name)
        self._tables.pop(name, None)

    def copy_index(self, source: str, dest: str) -> int:
        """A deep copy, streamed batch by batch into a table created now (its own creation time, so
        retention counts from the copy). Not LanceDB's shallow clone: a clone keeps reading the source's
        data files, and retention drops the source later."""
        check_name(dest)
        origin = self._open(source)
        if self.resolve_alias(source) == dest or source == dest:
            raise VectorStoreError(f"cannot copy {source!r} onto itself")
        self.drop_index(dest)
        self.create_index(dest, self._dim(origin))
        table = self._open(dest)
        rows = origin.search().select([*_COLUMNS, "vector"]).limit(None)
        table.add(rows.to_batches(batch_size=self._write_batch_rows))
        table.optimize()  # a copy is one bulk write: fold every row into the scalar and text indexes
        copied, expected = int(table.count_rows()), int(origin.count_rows())
        if copied != expected:
            raise VectorStoreError(f"copy of {source!r} into {dest!r} holds {copied} of {expected} chunks")
        return copied

    def list_indices(self, prefix: str = "") -> list[IndexInfo]:
        aliases = self._read_aliases()
        infos = []
        for name in self._table_names():
            if not name.startswith(prefix):
                continue
            schema = self._open(name).schema
            meta = {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}
            infos.append(
                IndexInfo(
                    name=name,
                    created_at=datetime.fromisoformat(meta["created_at"]),
                    dimension=int(schema.field("vector").type.list_size),
                    aliases=tuple(sorted(a for a, t in aliases.items() if t == name)),
                )
            )
        return infos

    # --- writes ---

    def _arrow(self, records: Sequence[ChunkRecord], schema: pa.Schema, dim: int) -> pa.Table:
        bad = [r.chunk_id for r in records if len(r.vector) != dim or int(r.embedding_dim) != dim]
        if bad:
            raise ValueError(f"{len(bad)} record(s) do not have {dim}-dimensional vectors: {bad[:10]}")
        vectors = np.asarray([np.asarray(r.vector, dtype=np.float32) for r in records], dtype=np.float32)
        columns: dict[str, Any] = {
            name: [getattr(r, name) for r in records] for name in _COLUMNS if name != "created_at"
        }
        columns["created_at"] = [as_utc(r.created_at, f"created_at of {r.chunk_id}") for r in records]
        columns["vector"] = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), dim)
        return pa.table({name: columns[name] for name in schema.names}, schema=schema)

    def upsert(self, index: str, records: Iterable[ChunkRecord]) -> int:
        table = self._open(index)
        dim = self._dim(table)
        # Last record wins for a repeated chunk_id, as a second write would.
        unique = list({r.chunk_id: r for r in records}.values())
        for start in range(0, len(unique), self._write_batch_rows):
            batch = self._arrow(unique[start : start + self._write_batch_rows], table.schema, dim)
            (
                table.merge_insert("chunk_id")
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute(batch)
            )
        self._maybe_optimize(table)
        return len(unique)

    def _maybe_optimize(self, table: Any) -> None:
        """Fold new rows into the scalar and text indexes once enough have piled up: unindexed rows are
        scanned on every query, but optimizing after every small write would rewrite files each time."""
        stats = table.index_stats("product_id_idx")
        if stats is not None and stats.num_unindexed_rows >= self._optimize_after_rows:
            table.optimize()

    def delete_reviews(self, index: str, review_ids: Iterable[str]) -> int:
        table = self._open(index)
        deleted = 0
        for batch in _batches(dict.fromkeys(review_ids)):
            deleted += int(table.delete(_in("review_id", batch)).num_deleted_rows)
        return deleted

    # --- reads ---

    def count(self, index: str, filters: Filters = NO_FILTERS) -> int:
        return int(self._open(index).count_rows(where_clause(filters)))

    def get(self, index: str, chunk_ids: Iterable[str]) -> list[Hit]:
        table = self._open(index)
        hits: list[Hit] = []
        for batch in _batches(dict.fromkeys(chunk_ids)):
            rows = table.search().where(_in("chunk_id", batch)).select(_COLUMNS).limit(None).to_arrow()
            hits.extend(Hit.from_mapping(row) for row in rows.to_pylist())
        return sorted(hits, key=lambda h: h.chunk_id)

    def knn(self, index: str, vector: Sequence[float], k: int, filters: Filters = NO_FILTERS) -> list[Hit]:
        table = self._open(index)
        query = table.search(np.asarray(vector, dtype=np.float32), vector_column_name="vector")
        query = query.distance_type("cosine")
        where = where_clause(filters)
        if where:
            query = query.where(where, prefilter=True)
        rows = query.select([*_COLUMNS, "_distance"]).limit(k).to_arrow().to_pylist()
        # LanceDB's cosine distance is 1 - cosine similarity; hits carry the similarity.
        return [Hit.from_mapping(row, 1.0 - row["_distance"]) for row in rows]

    def text_search(self, index: str, text: str, k: int, filters: Filters = NO_FILTERS) -> list[Hit]:
        if not text.strip():
            return []
        query = self._open(index).search(text, query_type="fts", fts_columns="text")
        where = where_clause(filters)
        if where:
            query = query.where(where, prefilter=True)
        rows = query.select([*_COLUMNS, "_score"]).limit(k).to_arrow().to_pylist()
        return [Hit.from_mapping(row, row["_score"]) for row in rows]

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
        if not text.strip():
            return self.knn(index, vector, k, filters)
        query = (
            self._open(index)
            .search(query_type="hybrid", vector_column_name="vector", fts_columns="text")
            .vector(np.asarray(vector, dtype=np.float32))
            .text(text)
            .distance_type("cosine")
        )
        where = where_clause(filters)
        if where:
            query = query.where(where, prefilter=True)
        # Each side contributes `candidates` hits; RRF ranks their union and the best k are kept.
        rows = query.rerank(RRFReranker(K=rrf_k)).limit(max(k, candidates)).to_arrow().to_pylist()
        return [Hit.from_mapping(row, row["_relevance_score"]) for row in rows[:k]]

    def _read(self, index: str, where: str | None) -> list[dict[str, Any]]:
        scan = self._open(index).search()
        if where:
            scan = scan.where(where)
        return scan.select(_COLUMNS).limit(None).to_arrow().to_pylist()

    def top_by(self, index: str, query: TopQuery) -> list[Hit]:
        """Sorted in Arrow over the filtered rows: meant for one product's chunks (thousands at most)."""
        return _first_k(self._read(index, where_clause(query.filters)), query)

    def msearch(self, index: str, queries: Sequence[Query]) -> list[list[Hit]]:
        """In-process, so mostly a loop; but sorted queries on one product each (the balanced context:
        three per product) are answered from one scan per `_PRODUCTS_PER_SCAN` products, since each
        LanceDB query costs milliseconds of fixed overhead and the hourly batch asks for hundreds."""
        results: dict[int, list[Hit]] = {}
        by_products: dict[str, list[int]] = {}
        for i, query in enumerate(queries):
            product_ids = query.filters.product_ids if isinstance(query, TopQuery) else None
            if product_ids is not None and len(product_ids) == 1:
                by_products.setdefault(product_ids[0], []).append(i)
            elif isinstance(query, TopQuery):
                results[i] = self.top_by(index, query)
            elif isinstance(query, KnnQuery):
                results[i] = self.knn(index, query.vector, query.k, query.filters)
            elif isinstance(query, TextQuery):
                results[i] = self.text_search(index, query.text, query.k, query.filters)
            else:
                raise TypeError(f"not a query: {query!r}")
        products = list(by_products)
        for start in range(0, len(products), _PRODUCTS_PER_SCAN):
            batch = products[start : start + _PRODUCTS_PER_SCAN]
            rows_of: dict[str, list[dict[str, Any]]] = {product_id: [] for product_id in batch}
            for row in self._read(index, _in("product_id", batch)):
                rows_of[row["product_id"]].append(row)
            for product_id in batch:
                for i in by_products[product_id]:
                    query = queries[i]
                    assert isinstance(query, TopQuery)
                    rows = [row for row in rows_of[product_id] if row_matches(row, query.filters)]
                    results[i] = _first_k(rows, query)
        return [results[i] for i in range(len(queries))]

    # --- aliases ---

    def _alias_path(self) -> Path:
        return self.root / ALIAS_FILE

    def _read_aliases(self) -> dict[str, str]:
        path = self._alias_path()
        if not path.is_file():
            return {}
        return dict(json.loads(path.read_text(encoding="utf-8")))

    def resolve_alias(self, alias: str) -> str | None:
        return self._read_aliases().get(alias)

    def swap_alias(self, alias: str, index: str) -> str | None:
        check_name(alias, "alias")
        if self.index_exists(alias):
            raise VectorStoreError(f"{alias!r} is an index; an alias cannot have the same name")
        if not self.index_exists(index):
            raise VectorStoreError(f"cannot point alias {alias!r} at missing index {index!r}")
        aliases = self._read_aliases()
        previous = aliases.get(alias)
        aliases[alias] = index
        fd, tmp = tempfile.mkstemp(prefix=".aliases-", suffix=".json", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(aliases, handle, indent=2, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self._alias_path())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return previous
