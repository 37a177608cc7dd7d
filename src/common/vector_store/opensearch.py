"""The `aws` profile's vector store: Amazon OpenSearch (managed domain or Serverless) via opensearch-py.

Index layout: one index per embedding-model version behind an alias. `knn_vector` with HNSW and
cosine similarity on the Lucene engine by default: Lucene supports cosine and efficient filtering
(the filter is applied during the graph search, so a filtered k-NN query still returns k hits) on
every OpenSearch 2.x from 2.4 and on Serverless; Faiss also filters efficiently but has cosine only
from 2.19, so it is a configuration choice (`engine: faiss`) for clusters that have it.

Writes go through `helpers.streaming_bulk` in bounded chunks with retries on 429; every failed
document is collected and raised with its chunk id. Reads are single searches, or one `_msearch`
for a batch (hundreds of products per hourly run), split into bounded requests.

Hybrid search runs the k-NN and BM25 queries in one `_msearch` and fuses them client-side with
reciprocal rank fusion (`rrf_fuse`), the same formula the local backend uses. OpenSearch's own
`hybrid` query needs a search pipeline configured on the cluster (and is not on every Serverless
collection); fusing here keeps the index self-contained and both profiles comparable.

Serverless (`service: aoss`) differs, per the AWS documentation of supported operations:
- vector search collections assign document ids themselves (no `_id` on index requests), so an
  upsert first finds the documents already stored for these chunk ids, indexes the new versions,
  then deletes the old ones by their generated ids (indexing first: a failure leaves a duplicate
  that the next run removes, never a gap). Serverless search is near-real-time, so two runs a few
  seconds apart can still leave a duplicate that the next run removes; retrieval de-duplicates by
  chunk id anyway;
- `_delete_by_query` and `_refresh` are not supported: deletions find the ids with a search and
  delete them in bulk; no refresh is sent;
- shard and replica counts are managed by the service and are not sent;
- `POST _aliases` (atomic remove + add) is supported, so the alias swap is the same call.

Authentication: SigV4 (`AWSV4SignerAuth`) with credentials from the Airflow AWS connection when
Airflow is importable and a connection id is configured (MWAA workers), else boto3's default chain
(a SageMaker job's role). No credentials are ever read from configuration.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np
from opensearchpy import AWSV4SignerAuth, NotFoundError, OpenSearch, RequestError, RequestsHttpConnection
from opensearchpy.helpers import streaming_bulk

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
    rrf_fuse,
)

if TYPE_CHECKING:
    from common.settings import OpenSearchSettings

VECTOR_FIELD = "vector"
_ID_BATCH = 1000  # ids per terms query when looking documents up
# Hits per page when listing the documents of a set of chunks or reviews: OpenSearch's default
# max_result_window, so a batch of _ID_BATCH reviews is almost always one page.
_PAGE = 10_000
_TASK_POLL_S = 5.0  # between checks of a running `_reindex` task


def index_body(dim: int, settings: OpenSearchSettings) -> dict[str, Any]:
    """Settings and mapping of one index. `dynamic: strict` makes a stray field an error instead of a
    silently guessed mapping."""
    index_settings: dict[str, Any] = {"knn": True, "knn.algo_param.ef_search": settings.hnsw.ef_search}
    if settings.service == "es":
        index_settings["number_of_shards"] = settings.shards
        index_settings["number_of_replicas"] = settings.replicas
    keyword = {"type": "keyword"}
    return {
        "settings": {"index": index_settings},
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "chunk_id": keyword,
                "review_id": keyword,
                "product_id": keyword,
                "language": keyword,
                "embedding_model": keyword,
                "chunk_index": {"type": "integer"},
                "star_rating": {"type": "integer"},
                "helpful_votes": {"type": "integer"},
                "embedding_dim": {"type": "integer"},
                "verified_purchase": {"type": "boolean"},
                "created_at": {"type": "date"},
                "text": {"type": "text"},
                VECTOR_FIELD: {
                    "type": "knn_vector",
                    "dimension": dim,
                    "method": {
                        "name": "hnsw",
                        "space_type": "cosinesimil",
                        "engine": settings.engine,
                        "parameters": {
                            "m": settings.hnsw.m,
                            "ef_construction": settings.hnsw.ef_construction,
                        },
                    },
                },
            },
        },
    }


def document(record: ChunkRecord) -> dict[str, Any]:
    """The `_source` of one chunk."""
    return {
        "chunk_id": record.chunk_id,
        "review_id": record.review_id,
        "product_id": record.product_id,
        "chunk_index": int(record.chunk_index),
        "text": record.text,
        "star_rating": int(record.star_rating),
        "language": record.language,
        "created_at": as_utc(record.created_at, f"created_at of {record.chunk_id}").isoformat(),
        "helpful_votes": int(record.helpful_votes),
        "verified_purchase": bool(record.verified_purchase),
        "embedding_model": record.embedding_model,
        "embedding_dim": int(record.embedding_dim),
        VECTOR_FIELD: np.asarray(record.vector, dtype=np.float32).tolist(),
    }


def filter_clauses(filters: Filters) -> list[dict[str, Any]]:
    """`bool.filter` clauses: exact terms and ranges, no scoring."""
    clauses: list[dict[str, Any]] = []
    for field, values in (
        ("product_id", filters.product_ids),
        ("review_id", filters.review_ids),
        ("language", filters.languages),
    ):
        if values is not None:
            clauses.append({"terms": {field: list(values)}})
    stars: dict[str, int] = {}
    if filters.min_stars is not None:
        stars["gte"] = filters.min_stars
    if filters.max_stars is not None:
        stars["lte"] = filters.max_stars
    if stars:
        clauses.append({"range": {"star_rating": stars}})
    created: dict[str, str] = {}
    if filters.created_from is not None:
        created["gte"] = filters.created_from.isoformat()
    if filters.created_to is not None:
        created["lt"] = filters.created_to.isoformat()
    if created:
        clauses.append({"range": {"created_at": created}})
    return clauses


def _filtered(filters: Filters) -> dict[str, Any]:
    clauses = filter_clauses(filters)
    return {"bool": {"filter": clauses}} if clauses else {"match_all": {}}


_SOURCE = {"excludes": [VECTOR_FIELD]}


def knn_body(vector: Sequence[float], k: int, filters: Filters) -> dict[str, Any]:
    """k-NN with the filter inside the `knn` clause: efficient filtering, k hits that all match."""
    knn: dict[str, Any] = {"vector": np.asarray(vector, dtype=np.float32).tolist(), "k": k}
    clauses = filter_clauses(filters)
    if clauses:
        knn["filter"] = {"bool": {"filter": clauses}}
    return {"size": k, "query": {"knn": {VECTOR_FIELD: knn}}, "_source": _SOURCE}


def text_body(text: str, k: int, filters: Filters) -> dict[str, Any]:
    query: dict[str, Any] = {"bool": {"must": [{"match": {"text": {"query": text}}}]}}
    clauses = filter_clauses(filters)
    if clauses:
        query["bool"]["filter"] = clauses
    return {"size": k, "query": query, "_source": _SOURCE}


def top_body(query: TopQuery) -> dict[str, Any]:
    """Sorted filtered query; `collapse` on review_id returns one hit (the first in sort order) per
    review, so k hits are k distinct reviews."""
    body: dict[str, Any] = {
        "size": query.k,
        "query": _filtered(query.filters),
        "sort": [{name: {"order": order}} for name, order in query.sort],
        "_source": _SOURCE,
    }
    if query.distinct_reviews:
        body["collapse"] = {"field": "review_id"}
    return body


def query_body(query: Query) -> dict[str, Any]:
    if isinstance(query, TopQuery):
        return top_body(query)
    if isinstance(query, KnnQuery):
        return knn_body(query.vector, query.k, query.filters)
    if isinstance(query, TextQuery):
        return text_body(query.text, query.k, query.filters)
    raise TypeError(f"not a query: {query!r}")


# --- client ---------------------------------------------------------------------------------


def _aws_session(aws_conn_id: str | None) -> Any:
    """The named Airflow AWS connection's session (`vector_store.opensearch.aws_conn_id`, on a worker);
    without one, boto3's default chain (a SageMaker job's role)."""
    if aws_conn_id:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        return AwsBaseHook(aws_conn_id=aws_conn_id).get_session()
    import boto3

    return boto3.Session()


def build_client(settings: OpenSearchSettings) -> OpenSearch:
    """An opensearch-py client for the configured endpoint; SigV4-signed unless `auth: none` (a test
    cluster on loopback)."""
    url = urlparse(settings.endpoint)
    kwargs: dict[str, Any] = {
        "hosts": [settings.endpoint],
        "use_ssl": url.scheme == "https",
        "verify_certs": settings.verify_certs,
        "connection_class": RequestsHttpConnection,
        "timeout": settings.timeout_s,
        "max_retries": settings.max_retries,
        "retry_on_timeout": True,
        "pool_maxsize": settings.pool_maxsize,
    }
    if settings.auth == "sigv4":
        session = _aws_session(settings.aws_conn_id)
        credentials = session.get_credentials()
        region = settings.region or session.region_name
        if credentials is None:
            raise VectorStoreError("no AWS credentials found for SigV4 signing of OpenSearch requests")
        if not region:
            raise VectorStoreError("no AWS region configured for OpenSearch (vector_store.opensearch.region)")
        kwargs["http_auth"] = AWSV4SignerAuth(credentials, region, settings.service)
    return OpenSearch(**kwargs)


def _chunks(values: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- the store ------------------------------------------------------------------------------


class OpenSearchVectorStore:
    """The store interface over an OpenSearch cluster or Serverless collection (see module docstring)."""

    def __init__(self, client: OpenSearch, settings: OpenSearchSettings) -> None:
        self.client = client
        self.settings = settings
        self.serverless = settings.service == "aoss"

    @classmethod
    def from_settings(cls, settings: OpenSearchSettings) -> OpenSearchVectorStore:
        return cls(build_client(settings), settings)

    # --- indices ---

    def index_exists(self, name: str) -> bool:
        """An index of that name; an alias of that name is not one (`HEAD /<alias>` also answers 200)."""
        if not self.client.indices.exists(index=name):
            return False
        return not self.client.indices.exists_alias(name=name)

    def _dimension(self, name: str) -> int | None:
        mapping = self.client.indices.get_mapping(index=name)
        for body in mapping.values():
            field = body.get("mappings", {}).get("properties", {}).get(VECTOR_FIELD, {})
            if "dimension" in field:
                return int(field["dimension"])
        return None

    def create_index(self, name: str, dim: int) -> None:
        check_name(name)
        if dim < 1:
            raise ValueError(f"dimension must be positive, got {dim}")
        if not self.index_exists(name):
            try:
                self.client.indices.create(index=name, body=index_body(dim, self.settings))
                return
            except RequestError as exc:
                # Another writer created it between the check and the create: verify it below.
                if exc.error != "resource_already_exists_exception":
                    raise
        existing = self._dimension(name)
        if existing != dim:
            raise VectorStoreError(f"index {name!r} exists with dimension {existing}, not {dim}")

    def drop_index(self, name: str) -> None:
        aliases = self._aliases_of(name)
        if aliases:
            raise VectorStoreError(f"index {name!r} is behind alias(es) {aliases}; swap them first")
        with contextlib.suppress(NotFoundError):
            self.client.indices.delete(index=name)

    def copy_index(self, source: str, dest: str) -> int:
        """`_reindex` on a managed domain: the cluster copies every `_source` (vectors included) into
        `dest`, created first with the same mapping, as a background task polled until it ends (a
        large index takes longer than one request may). Serverless has no `_reindex`: the documents
        are paged out in chunk_id order and bulk-indexed."""
        check_name(dest)
        if source == dest or self.resolve_alias(source) == dest:
            raise VectorStoreError(f"cannot copy {source!r} onto itself")
        dim = self._dimension(source)
        if dim is None:
            raise VectorStoreError(f"{source!r} has no {VECTOR_FIELD} mapping to copy")
        self.drop_index(dest)
        self.create_index(dest, dim)
        if self.serverless:  # near-real-time search: count what was written, not what is visible yet
            copied = self._bulk(
                ({"_op_type": "index", "_index": dest, "_source": doc} for doc in self._all_sources(source)),
                "copy",
            )
        else:
            task = self.client.reindex(
                body={"source": {"index": source}, "dest": {"index": dest}},
                wait_for_completion=False,
                refresh=True,
            )
            self._wait_for_reindex(str(task["task"]), source, dest)
            self.client.indices.refresh(index=dest)
            copied = self.count(dest)
        expected = self.count(source)
        if copied != expected:
            raise VectorStoreError(f"copy of {source!r} into {dest!r} holds {copied} of {expected} chunks")
        return copied

    def _wait_for_reindex(self, task_id: str, source: str, dest: str) -> None:
        while True:
            status = self.client.tasks.get(task_id=task_id)
            if status.get("completed"):
                break
            time.sleep(_TASK_POLL_S)
        response = status.get("response") or {}
        failures = response.get("failures") or []
        if status.get("error") or failures:
            raise VectorStoreError(
                f"_reindex {source!r} -> {dest!r} failed: {status.get('error') or failures[:5]}"
            )

    def _all_sources(self, index: str) -> Iterator[dict[str, Any]]:
        """Every document's `_source`, vector included, in chunk_id order (search_after: no scroll on
        Serverless), one bulk chunk of documents per page."""
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "size": self.settings.bulk_chunk_size,
                "query": {"match_all": {}},
                "sort": [{"chunk_id": {"order": "asc"}}],
            }
            if after is not None:
                body["search_after"] = after
            hits = self.client.search(index=index, body=body)["hits"]["hits"]
            for hit in hits:
                yield hit["_source"]
            if len(hits) < self.settings.bulk_chunk_size:
                return
            after = hits[-1]["sort"]

    def _aliases_of(self, name: str) -> list[str]:
        try:
            response = self.client.indices.get_alias(index=name)
        except NotFoundError:
            return []
        return sorted(alias for body in response.values() for alias in body.get("aliases", {}))

    def list_indices(self, prefix: str = "") -> list[IndexInfo]:
        response = self.client.indices.get(index=f"{prefix}*")
        infos = []
        for name, body in sorted(response.items()):
            if name.startswith("."):
                continue  # system indices of a managed domain
            created_ms = int(body["settings"]["index"]["creation_date"])
            field = body.get("mappings", {}).get("properties", {}).get(VECTOR_FIELD, {})
            infos.append(
                IndexInfo(
                    name=name,
                    created_at=datetime.fromtimestamp(created_ms / 1000, tz=UTC),
                    dimension=int(field["dimension"]) if "dimension" in field else None,
                    aliases=tuple(sorted(body.get("aliases", {}))),
                )
            )
        return infos

    # --- writes ---

    def _bulk(self, actions: Iterable[dict[str, Any]], what: str) -> int:
        """Run bulk actions; raise with the ids of every failed one (after 429 retries)."""
        done = 0
        failed: list[str] = []
        errors: list[Any] = []
        for ok, item in streaming_bulk(
            self.client,
            actions,
            chunk_size=self.settings.bulk_chunk_size,
            max_chunk_bytes=self.settings.bulk_max_bytes,
            max_retries=self.settings.bulk_max_retries,
            # Annotated int, but only multiplied and slept on: fractions of a second work.
            initial_backoff=self.settings.bulk_initial_backoff_s,  # type: ignore[arg-type]
            raise_on_error=False,
            raise_on_exception=True,
        ):
            if ok:
                done += 1
                continue
            info = next(iter(item.values()))
            failed.append(str(info.get("_id")))
            errors.append(info.get("error"))
        if failed:
            raise VectorStoreError(
                f"{len(failed)} {what} action(s) failed; ids: {failed[:20]}; first error: {errors[0]}"
            )
        return done

    def upsert(self, index: str, records: Iterable[ChunkRecord]) -> int:
        unique = {r.chunk_id: r for r in records}
        if not unique:
            return 0
        dim = self._dimension(index)
        bad = [cid for cid, r in unique.items() if len(r.vector) != dim or int(r.embedding_dim) != dim]
        if bad:
            raise ValueError(f"{len(bad)} record(s) do not have {dim}-dimensional vectors: {bad[:10]}")
        if self.serverless:
            stale = self._ids_where(index, {"terms": {"chunk_id": list(unique)}})
            written = self._bulk(
                ({"_op_type": "index", "_index": index, "_source": document(r)} for r in unique.values()),
                "index",
            )
            self._bulk(({"_op_type": "delete", "_index": index, "_id": i} for i in stale), "delete")
            return written
        written = self._bulk(
            (
                {"_op_type": "index", "_index": index, "_id": r.chunk_id, "_source": document(r)}
                for r in unique.values()
            ),
            "index",
        )
        self.client.indices.refresh(index=index)
        return written

    def _ids_where(self, index: str, query: dict[str, Any]) -> list[str]:
        """Every document id matching `query`, paged in chunk_id order (no scroll: not on Serverless)."""
        ids: list[str] = []
        terms = query.get("terms", {})
        # A long terms list is split so no single request carries more than _ID_BATCH values.
        groups = (
            [
                {"terms": {field: batch}}
                for field, values in terms.items()
                for batch in _chunks(values, _ID_BATCH)
            ]
            if terms
            else [query]
        )
        for group in groups:
            after: list[Any] | None = None
            while True:
                body: dict[str, Any] = {
                    "size": _PAGE,
                    "query": {"bool": {"filter": [group]}},
                    "sort": [{"chunk_id": {"order": "asc"}}],
                    "_source": False,
                }
                if after is not None:
                    body["search_after"] = after
                hits = self.client.search(index=index, body=body)["hits"]["hits"]
                ids.extend(hit["_id"] for hit in hits)
                if len(hits) < _PAGE:
                    break
                after = hits[-1]["sort"]
        return ids

    def delete_reviews(self, index: str, review_ids: Iterable[str]) -> int:
        ids = list(dict.fromkeys(str(r) for r in review_ids))
        if not ids:
            return 0
        if self.serverless:
            doc_ids = self._ids_where(index, {"terms": {"review_id": ids}})
            return self._bulk(({"_op_type": "delete", "_index": index, "_id": i} for i in doc_ids), "delete")
        deleted = 0
        for batch in _chunks(ids, _ID_BATCH):
            response = self.client.delete_by_query(
                index=index,
                body={"query": {"terms": {"review_id": batch}}},
                refresh=True,
                conflicts="proceed",
            )
            if response.get("failures"):
                raise VectorStoreError(f"delete_by_query failures: {response['failures'][:5]}")
            deleted += int(response["deleted"])
        return deleted

    # --- reads ---

    def count(self, index: str, filters: Filters = NO_FILTERS) -> int:
        return int(self.client.count(index=index, body={"query": _filtered(filters)})["count"])

    def get(self, index: str, chunk_ids: Iterable[str]) -> list[Hit]:
        hits: list[Hit] = []
        for batch in _chunks(list(dict.fromkeys(chunk_ids)), _ID_BATCH):
            body = {
                "size": len(batch),
                "query": {"bool": {"filter": [{"terms": {"chunk_id": batch}}]}},
                "_source": _SOURCE,
            }
            hits.extend(self._hits(self.client.search(index=index, body=body), None))
        return sorted({h.chunk_id: h for h in hits}.values(), key=lambda h: h.chunk_id)

    def _cosine(self, score: float) -> float:
        """The engine's k-NN score back to cosine similarity (k-NN plugin score translations): Lucene
        scores (1 + cos) / 2; the native engines score 1 / (1 + d) with d = 1 - cos."""
        if self.settings.engine == "lucene":
            return 2.0 * score - 1.0
        return 2.0 - 1.0 / score

    def _hits(self, response: dict[str, Any], kind: str | None) -> list[Hit]:
        out = []
        for hit in response["hits"]["hits"]:
            score = hit.get("_score")
            if kind is None or score is None:
                score = None
            elif kind == "knn":
                score = self._cosine(float(score))
            out.append(Hit.from_mapping(hit["_source"], score))
        return out

    def knn(self, index: str, vector: Sequence[float], k: int, filters: Filters = NO_FILTERS) -> list[Hit]:
        return self._hits(self.client.search(index=index, body=knn_body(vector, k, filters)), "knn")

    def text_search(self, index: str, text: str, k: int, filters: Filters = NO_FILTERS) -> list[Hit]:
        if not text.strip():
            return []
        return self._hits(self.client.search(index=index, body=text_body(text, k, filters)), "text")

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
        size = max(k, candidates)
        if not text.strip():
            return self.knn(index, vector, k, filters)
        knn_hits, text_hits = self.msearch(
            index, [KnnQuery(vector, size, filters), TextQuery(text, size, filters)]
        )
        return rrf_fuse([knn_hits, text_hits], k, rrf_k)

    def top_by(self, index: str, query: TopQuery) -> list[Hit]:
        return self._hits(self.client.search(index=index, body=top_body(query)), None)

    def msearch(self, index: str, queries: Sequence[Query]) -> list[list[Hit]]:
        """One `_msearch` per `msearch_max_searches` queries; a failed search fails the call with its
        position, since a silently empty bucket would bias a summary."""
        results: list[list[Hit]] = []
        step = self.settings.msearch_max_searches
        for start in range(0, len(queries), step):
            part = queries[start : start + step]
            body: list[dict[str, Any]] = []
            for query in part:
                body.extend(({"index": index}, query_body(query)))
            responses = self.client.msearch(body=body)["responses"]
            for offset, (query, response) in enumerate(zip(part, responses, strict=True)):
                if "error" in response:
                    raise VectorStoreError(f"msearch query {start + offset} failed: {response['error']}")
                kind = (
                    "knn" if isinstance(query, KnnQuery) else "text" if isinstance(query, TextQuery) else None
                )
                results.append(self._hits(response, kind))
        return results

    # --- aliases ---

    def resolve_alias(self, alias: str) -> str | None:
        try:
            response = self.client.indices.get_alias(name=alias)
        except NotFoundError:
            return None
        targets = sorted(response)
        if len(targets) > 1:
            raise VectorStoreError(f"alias {alias!r} points at several indices: {targets}")
        return targets[0] if targets else None

    def swap_alias(self, alias: str, index: str) -> str | None:
        """One `_aliases` call removing the alias from its current index and adding it to the new one:
        readers see the old index or the new one, never neither."""
        check_name(alias, "alias")
        try:
            current = sorted(self.client.indices.get_alias(name=alias))
        except NotFoundError:
            current = []
        actions: list[dict[str, Any]] = [
            {"remove": {"index": old, "alias": alias}} for old in current if old != index
        ]
        actions.append({"add": {"index": index, "alias": alias}})
        self.client.indices.update_aliases(body={"actions": actions})
        others = [old for old in current if old != index]
        if others:
            return others[0]
        return index if current else None
