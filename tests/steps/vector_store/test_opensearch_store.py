"""The OpenSearch backend without a cluster: the exact requests opensearch-py sends.

A small HTTP server on loopback stands in for the cluster: it records every request (method, path,
query string, headers, JSON or NDJSON body) and answers with responses in OpenSearch's format. The store
is built from settings exactly as in production (RequestsHttpConnection, SigV4 signing with the test
run's fake credentials), so the mapping, bulk bodies, k-NN filter, msearch bodies, alias swap and the
signature headers are checked as they leave the client.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from common.retrieval import balanced_context
from common.settings import OpenSearchSettings
from common.vector_store import Filters, TopQuery, VectorStoreError
from common.vector_store.opensearch import OpenSearchVectorStore

from .conftest import DIM, MODEL, hash_embed, record

# --- the stand-in cluster -------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: Any


Reply = Callable[[Request], tuple[int, Any]]


@dataclass
class FakeCluster:
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    routes: list[tuple[str, re.Pattern[str], Reply]] = field(default_factory=list)

    def on(self, method: str, path: str, reply: Reply | Any, status: int = 200) -> None:
        """Answer `method path` (a regex) with `reply(request)` or a fixed body; later routes win."""
        fn = reply if callable(reply) else (lambda _req, body=reply: (status, body))
        self.routes.insert(0, (method, re.compile(path), fn))

    def answer(self, request: Request) -> tuple[int, Any]:
        for method, pattern, fn in self.routes:
            if method == request.method and pattern.fullmatch(request.path):
                return fn(request)
        return 404, {"error": {"type": "index_not_found_exception", "reason": request.path}, "status": 404}

    def sent(self, method: str | None = None, path: str | None = None) -> list[Request]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or re.fullmatch(path, r.path))
        ]


def _parse_body(path: str, raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8")
    if path.endswith(("/_bulk", "/_msearch")):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    fake = FakeCluster()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            url = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = Request(
                self.command,
                url.path,
                dict(parse_qsl(url.query)),
                dict(self.headers),
                _parse_body(url.path, raw),
            )
            fake.requests.append(request)
            status, body = fake.answer(request)
            payload = b"" if body is None or self.command == "HEAD" else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()


def make_store(cluster: FakeCluster, **overrides: Any) -> OpenSearchVectorStore:
    settings = OpenSearchSettings(
        endpoint=cluster.url,
        region="eu-west-1",
        aws_conn_id=None,  # no Airflow here: boto3's chain finds the test run's fake credentials
        max_retries=0,
        **overrides,
    )
    return OpenSearchVectorStore.from_settings(settings)


def mapping_reply(dim: int) -> Reply:
    def reply(req: Request) -> tuple[int, Any]:
        index = req.path.strip("/").split("/")[0]
        return 200, {
            index: {"mappings": {"properties": {"vector": {"type": "knn_vector", "dimension": dim}}}}
        }

    return reply


def bulk_reply(statuses: dict[str, int] | None = None) -> Reply:
    """Item per action, in order; `statuses` overrides the status of given ids."""

    def reply(req: Request) -> tuple[int, Any]:
        items, lines, generated = [], list(req.body), 0
        while lines:
            action = lines.pop(0)
            ((op, meta),) = action.items()
            if op != "delete":
                source = lines.pop(0)
            doc_id = meta.get("_id")
            if doc_id is None:
                generated += 1
                doc_id = f"gen-{generated}"
            status = (statuses or {}).get(
                meta.get("_id") or source.get("chunk_id"), 201 if op == "index" else 200
            )
            item = {"_index": meta["_index"], "_id": doc_id, "status": status}
            if status >= 300:
                item["error"] = {"type": "mapper_parsing_exception", "reason": "failed to parse"}
            items.append({op: item})
        return 200, {
            "took": 1,
            "errors": any(next(iter(i.values()))["status"] >= 300 for i in items),
            "items": items,
        }

    return reply


def hits(*docs: dict[str, Any], scores: list[float] | None = None) -> dict[str, Any]:
    return {
        "hits": {
            "total": {"value": len(docs), "relation": "eq"},
            "hits": [
                {
                    "_index": "idx",
                    "_id": d["chunk_id"],
                    "_score": None if scores is None else scores[i],
                    "_source": d,
                }
                for i, d in enumerate(docs)
            ],
        }
    }


def source(chunk_id: str, **kw: Any) -> dict[str, Any]:
    rec = record(chunk_id, **kw)
    return {
        "chunk_id": rec.chunk_id,
        "review_id": rec.review_id,
        "product_id": rec.product_id,
        "chunk_index": rec.chunk_index,
        "text": rec.text,
        "star_rating": rec.star_rating,
        "language": rec.language,
        "created_at": rec.created_at.isoformat(),
        "helpful_votes": rec.helpful_votes,
        "verified_purchase": rec.verified_purchase,
        "embedding_model": rec.embedding_model,
        "embedding_dim": rec.embedding_dim,
    }


EXPECTED_INDEX = {
    "settings": {
        "index": {
            "knn": True,
            "knn.algo_param.ef_search": 100,
            "number_of_shards": 1,
            "number_of_replicas": 1,
        }
    },
    "mappings": {
        "dynamic": "strict",
        "properties": {
            "chunk_id": {"type": "keyword"},
            "review_id": {"type": "keyword"},
            "product_id": {"type": "keyword"},
            "language": {"type": "keyword"},
            "embedding_model": {"type": "keyword"},
            "chunk_index": {"type": "integer"},
            "star_rating": {"type": "integer"},
            "helpful_votes": {"type": "integer"},
            "embedding_dim": {"type": "integer"},
            "verified_purchase": {"type": "boolean"},
            "created_at": {"type": "date"},
            "text": {"type": "text"},
            "vector": {
                "type": "knn_vector",
                "dimension": 384,
                "method": {
                    "name": "hnsw",
                    "space_type": "cosinesimil",
                    "engine": "lucene",
                    "parameters": {"m": 16, "ef_construction": 128},
                },
            },
        },
    },
}

SOURCE_EXCLUDES = {"excludes": ["vector"]}


# --- tests ----------------------------------------------------------------------------------


def test_create_index_sends_the_knn_mapping_signed_with_sigv4(cluster):
    cluster.on("HEAD", "/reviews-v1", None, status=404)
    cluster.on("PUT", "/reviews-v1", {"acknowledged": True, "index": "reviews-v1"})
    make_store(cluster).create_index("reviews-v1", 384)

    assert [(r.method, r.path) for r in cluster.requests] == [("HEAD", "/reviews-v1"), ("PUT", "/reviews-v1")]
    assert cluster.requests[1].body == EXPECTED_INDEX
    for request in cluster.requests:
        auth = request.headers["Authorization"]
        assert auth.startswith("AWS4-HMAC-SHA256 Credential=testing/")
        assert "/eu-west-1/es/aws4_request" in auth
        assert request.headers["X-Amz-Security-Token"] == "testing"

    # It exists now: nothing is created again; a different dimension is an error, not a silent reuse.
    cluster.requests.clear()
    cluster.on("HEAD", "/reviews-v1", None, status=200)
    cluster.on("HEAD", "/_alias/reviews-v1", None, status=404)
    cluster.on("GET", "/reviews-v1/_mapping", mapping_reply(384))
    make_store(cluster).create_index("reviews-v1", 384)
    assert [(r.method, r.path) for r in cluster.requests] == [
        ("HEAD", "/reviews-v1"),
        ("HEAD", "/_alias/reviews-v1"),  # a name that is an alias is not an existing index
        ("GET", "/reviews-v1/_mapping"),
    ]
    with pytest.raises(VectorStoreError, match="dimension 384, not 1024"):
        make_store(cluster).create_index("reviews-v1", 1024)


def test_upsert_sends_bounded_bulk_requests_with_the_chunk_id_as_document_id(cluster):
    cluster.on("GET", "/idx/_mapping", mapping_reply(DIM))
    cluster.on("POST", "/_bulk", bulk_reply())
    cluster.on("POST", "/idx/_refresh", {"_shards": {"total": 2, "successful": 2, "failed": 0}})
    records = [record(f"c{i}", text=f"review number {i}", helpful=i) for i in range(5)]
    again = record("c1", text="the second version wins", helpful=99)

    assert make_store(cluster, bulk_chunk_size=2).upsert("idx", [*records, again]) == 5

    bulks = cluster.sent("POST", "/_bulk")
    assert [len(b.body) // 2 for b in bulks] == [2, 2, 1]
    actions = [line for b in bulks for line in b.body[0::2]]
    assert actions == [{"index": {"_index": "idx", "_id": f"c{i}"}} for i in range(5)]
    docs = {doc["chunk_id"]: doc for b in bulks for doc in b.body[1::2]}
    assert docs["c1"]["text"] == "the second version wins"
    expected_c0 = {
        "chunk_id": "c0",
        "review_id": "r-c0",
        "product_id": "p1",
        "chunk_index": 0,
        "text": "review number 0",
        "star_rating": 5,
        "language": "en",
        "created_at": "2026-01-01T00:00:00+00:00",
        "helpful_votes": 0,
        "verified_purchase": True,
        "embedding_model": MODEL,
        "embedding_dim": DIM,
    }
    assert {k: v for k, v in docs["c0"].items() if k != "vector"} == expected_c0
    assert docs["c0"]["vector"] == pytest.approx(hash_embed(["review number 0"])[0], abs=1e-6)
    # Written, then made searchable once at the end.
    assert [(r.method, r.path) for r in cluster.requests][-1] == ("POST", "/idx/_refresh")


def test_failed_documents_are_raised_with_their_ids_and_429s_are_retried(cluster):
    cluster.on("GET", "/idx/_mapping", mapping_reply(DIM))
    cluster.on("POST", "/_bulk", bulk_reply({"c1": 400}))
    store = make_store(cluster, bulk_initial_backoff_s=0.01)
    with pytest.raises(VectorStoreError, match=r"1 index action\(s\) failed; ids: \['c1'\].*mapper_parsing"):
        store.upsert("idx", [record("c0"), record("c1"), record("c2")])
    assert not cluster.sent("POST", "/idx/_refresh")

    # Throttled once: only the rejected document is sent again, and nothing is lost.
    cluster.requests.clear()
    calls = {"n": 0}

    def throttle_once(req: Request) -> tuple[int, Any]:
        calls["n"] += 1
        return bulk_reply({"c0": 429} if calls["n"] == 1 else {})(req)

    cluster.on("POST", "/_bulk", throttle_once)
    cluster.on("POST", "/idx/_refresh", {})
    assert store.upsert("idx", [record("c0"), record("c1")]) == 2
    bulks = cluster.sent("POST", "/_bulk")
    assert [[a["index"]["_id"] for a in b.body[0::2]] for b in bulks] == [["c0", "c1"], ["c0"]]


def test_knn_puts_the_filter_inside_the_knn_clause(cluster):
    cluster.on(
        "POST",
        "/idx/_search",
        hits(source("a", stars=5), source("b", stars=4), scores=[0.9, 0.75]),
    )
    vector = hash_embed(["battery"])[0]
    filters = Filters(
        product_ids="p1", languages="de", min_stars=4, created_from=datetime(2026, 1, 1, tzinfo=UTC)
    )
    found = make_store(cluster).knn("idx", vector, 3, filters)

    (request,) = cluster.requests
    assert request.body["size"] == 3
    assert request.body["_source"] == SOURCE_EXCLUDES
    knn = request.body["query"]["knn"]["vector"]
    assert knn["k"] == 3
    assert knn["vector"] == pytest.approx(vector, abs=1e-6)
    assert knn["filter"] == {
        "bool": {
            "filter": [
                {"terms": {"product_id": ["p1"]}},
                {"terms": {"language": ["de"]}},
                {"range": {"star_rating": {"gte": 4}}},
                {"range": {"created_at": {"gte": "2026-01-01T00:00:00+00:00"}}},
            ]
        }
    }
    # Lucene scores cosine as (1 + cos) / 2: hits carry the cosine, as on the local backend.
    assert [(h.chunk_id, h.score) for h in found] == [("a", pytest.approx(0.8)), ("b", pytest.approx(0.5))]


def test_text_search_is_a_match_query_with_filters(cluster):
    cluster.on("POST", "/idx/_search", hits(source("a"), scores=[3.2]))
    found = make_store(cluster).text_search("idx", "battery life", 4, Filters(max_stars=2))
    assert cluster.requests[0].body == {
        "size": 4,
        "query": {
            "bool": {
                "must": [{"match": {"text": {"query": "battery life"}}}],
                "filter": [{"range": {"star_rating": {"lte": 2}}}],
            }
        },
        "_source": SOURCE_EXCLUDES,
    }
    assert found[0].score == pytest.approx(3.2)


def test_balanced_context_sends_one_msearch_body_per_product_and_bucket(cluster):
    def answer(req: Request) -> tuple[int, Any]:
        responses = []
        for body in req.body[1::2]:
            product = body["query"]["bool"]["filter"][0]["terms"]["product_id"][0]
            bucket = (
                "recent"
                if body["sort"][0] == {"created_at": {"order": "desc"}}
                else (
                    "pos"
                    if {"range": {"star_rating": {"gte": 4}}} in body["query"]["bool"]["filter"]
                    else "neg"
                )
            )
            canned = {
                "pos": [source(f"{product}-p{i}", product_id=product, stars=5) for i in range(2)],
                "neg": [source(f"{product}-n{i}", product_id=product, stars=1) for i in range(2)],
                # The newest review is also a most helpful positive: it must not be used twice.
                "recent": [source(f"{product}-p0", product_id=product, stars=5)]
                + [source(f"{product}-x{i}", product_id=product, stars=3) for i in range(2)],
            }[bucket]
            responses.append({"took": 1, "status": 200, **hits(*canned)})
        return 200, {"took": 2, "responses": responses}

    cluster.on("POST", "/_msearch", answer)
    store = make_store(cluster, msearch_max_searches=4)
    contexts = balanced_context(store, "reviews", ["p1", "p2"], 2, 2, 1, language="en")

    bodies = [line for r in cluster.sent("POST", "/_msearch") for line in r.body]
    assert [len(r.body) // 2 for r in cluster.sent("POST", "/_msearch")] == [4, 2]  # bounded requests
    assert bodies[0::2] == [{"index": "reviews"}] * 6
    helpful_sort = [
        {"helpful_votes": {"order": "desc"}},
        {"created_at": {"order": "desc"}},
        {"review_id": {"order": "asc"}},
        {"chunk_index": {"order": "asc"}},
        {"chunk_id": {"order": "asc"}},
    ]
    base = [{"terms": {"product_id": ["p1"]}}, {"terms": {"language": ["en"]}}]
    assert bodies[1] == {
        "size": 2,
        "query": {"bool": {"filter": [*base, {"range": {"star_rating": {"gte": 4}}}]}},
        "sort": helpful_sort,
        "_source": SOURCE_EXCLUDES,
        "collapse": {"field": "review_id"},
    }
    assert bodies[3]["query"] == {"bool": {"filter": [*base, {"range": {"star_rating": {"lte": 2}}}]}}
    assert bodies[5]["size"] == 5  # k_recent + k_pos + k_neg: room to skip reviews already used
    assert bodies[5]["sort"][0] == {"created_at": {"order": "desc"}}
    assert bodies[5]["query"] == {"bool": {"filter": base}}

    p1 = contexts["p1"]
    assert [(s.bucket, s.hit.chunk_id) for s in p1.snippets] == [
        ("positive", "p1-p0"),
        ("positive", "p1-p1"),
        ("negative", "p1-n0"),
        ("negative", "p1-n1"),
        ("recent", "p1-x0"),
    ]
    assert contexts["p2"].chunk_ids == ["p2-p0", "p2-p1", "p2-n0", "p2-n1", "p2-x0"]


def test_a_failed_search_in_a_batch_fails_the_call(cluster):
    cluster.on(
        "POST",
        "/_msearch",
        {"responses": [hits(), {"error": {"type": "search_phase_execution_exception"}, "status": 400}]},
    )
    query = TopQuery(Filters(product_ids="p1"), (), 1)
    with pytest.raises(VectorStoreError, match="msearch query 1 failed"):
        make_store(cluster).msearch("idx", [query, query])


def test_hybrid_fuses_knn_and_bm25_by_reciprocal_rank(cluster):
    knn_hits = hits(source("a"), source("b"), source("c"), scores=[0.9, 0.8, 0.7])
    text_hits = hits(source("c"), source("d"), scores=[5.0, 4.0])
    cluster.on("POST", "/_msearch", {"responses": [knn_hits, text_hits]})
    fused = make_store(cluster).hybrid("idx", "zipper", hash_embed(["zipper"])[0], 3, candidates=10)

    (request,) = cluster.requests
    assert request.body[1]["query"]["knn"]["vector"]["k"] == 10
    assert request.body[3]["query"]["bool"]["must"] == [{"match": {"text": {"query": "zipper"}}}]
    assert [h.chunk_id for h in fused] == ["c", "a", "b"]  # c: 1/63 + 1/61 beats a: 1/61
    assert fused[0].score == pytest.approx(1 / 63 + 1 / 61)


def test_alias_swap_is_one_atomic_update_aliases_call(cluster):
    cluster.on("GET", "/_alias/reviews", {"reviews-v1": {"aliases": {"reviews": {}}}})
    cluster.on("POST", "/_aliases", {"acknowledged": True})
    store = make_store(cluster)
    assert store.resolve_alias("reviews") == "reviews-v1"
    assert store.swap_alias("reviews", "reviews-v2") == "reviews-v1"
    (update,) = cluster.sent("POST", "/_aliases")
    assert update.body == {
        "actions": [
            {"remove": {"index": "reviews-v1", "alias": "reviews"}},
            {"add": {"index": "reviews-v2", "alias": "reviews"}},
        ]
    }

    # The first index behind a new alias: only an add.
    cluster.requests.clear()
    cluster.on("GET", "/_alias/fresh", {"error": "alias [fresh] missing", "status": 404}, status=404)
    assert store.resolve_alias("fresh") is None
    assert store.swap_alias("fresh", "reviews-v2") is None
    assert cluster.sent("POST", "/_aliases")[0].body == {
        "actions": [{"add": {"index": "reviews-v2", "alias": "fresh"}}]
    }


def test_the_live_index_cannot_be_dropped(cluster):
    cluster.on("GET", "/reviews-v1/_alias", {"reviews-v1": {"aliases": {"reviews": {}}}})
    cluster.on("GET", "/reviews-v0/_alias", {"reviews-v0": {"aliases": {}}})
    cluster.on("DELETE", "/reviews-v0", {"acknowledged": True})
    store = make_store(cluster)
    with pytest.raises(VectorStoreError, match="behind alias"):
        store.drop_index("reviews-v1")
    store.drop_index("reviews-v0")
    assert [(r.method, r.path) for r in cluster.requests][-1] == ("DELETE", "/reviews-v0")
    assert not cluster.sent("DELETE", "/reviews-v1")


def test_delete_reviews_is_a_terms_delete_by_query(cluster):
    cluster.on("POST", "/idx/_delete_by_query", {"took": 3, "deleted": 3, "failures": []})
    assert make_store(cluster).delete_reviews("idx", ["r1", "r2", "r1"]) == 3
    (request,) = cluster.requests
    assert request.body == {"query": {"terms": {"review_id": ["r1", "r2"]}}}
    assert request.params == {"refresh": "true", "conflicts": "proceed"}


def test_list_indices_reads_creation_time_dimension_and_aliases(cluster):
    cluster.on(
        "GET",
        "/reviews-\\*",
        {
            "reviews-v2": {
                "aliases": {"reviews": {}},
                "mappings": {"properties": {"vector": {"type": "knn_vector", "dimension": 384}}},
                "settings": {"index": {"creation_date": "1767225600000"}},
            },
            "reviews-v1": {
                "aliases": {},
                "mappings": {"properties": {"vector": {"type": "knn_vector", "dimension": 384}}},
                "settings": {"index": {"creation_date": "1764547200000"}},
            },
        },
    )
    listed = make_store(cluster).list_indices("reviews-")
    assert [(i.name, i.created_at, i.dimension, i.aliases) for i in listed] == [
        ("reviews-v1", datetime(2025, 12, 1, tzinfo=UTC), 384, ()),
        ("reviews-v2", datetime(2026, 1, 1, tzinfo=UTC), 384, ("reviews",)),
    ]


def test_serverless_collections_get_server_generated_ids_and_no_refresh(cluster):
    cluster.on("HEAD", "/idx", None, status=404)
    cluster.on("PUT", "/idx", {"acknowledged": True})
    cluster.on("GET", "/idx/_mapping", mapping_reply(DIM))
    cluster.on("POST", "/_bulk", bulk_reply())

    def lookup(req: Request) -> tuple[int, Any]:
        found = (
            [{"_index": "idx", "_id": "old-1", "_score": None, "sort": ["c0"]}]
            if req.body["query"]["bool"]["filter"][0]
            in (
                {"terms": {"chunk_id": ["c0", "c1"]}},
                {"terms": {"review_id": ["r-c0"]}},
            )
            else []
        )
        return 200, {"hits": {"total": {"value": len(found), "relation": "eq"}, "hits": found}}

    cluster.on("POST", "/idx/_search", lookup)
    store = make_store(cluster, service="aoss")
    store.create_index("idx", DIM)
    assert "number_of_shards" not in cluster.sent("PUT", "/idx")[0].body["settings"]["index"]
    assert "/eu-west-1/aoss/aws4_request" in cluster.requests[0].headers["Authorization"]

    cluster.requests.clear()
    assert store.upsert("idx", [record("c0"), record("c1")]) == 2
    lookup_request, index_bulk, delete_bulk = cluster.requests[1:]
    assert lookup_request.body["_source"] is False
    assert index_bulk.body[0::2] == [{"index": {"_index": "idx"}}] * 2  # no _id
    assert delete_bulk.body == [{"delete": {"_index": "idx", "_id": "old-1"}}]  # the previous version
    assert not cluster.sent("POST", "/idx/_refresh")

    cluster.requests.clear()
    assert store.delete_reviews("idx", ["r-c0"]) == 1
    assert [(r.method, r.path) for r in cluster.requests] == [("POST", "/idx/_search"), ("POST", "/_bulk")]
    assert not cluster.sent("POST", "/idx/_delete_by_query")


def _copy_routes(cluster: FakeCluster, source_count: int, dest_count: int) -> None:
    cluster.on(
        "GET", "/_alias/reviews-v1", {"error": "alias [reviews-v1] missing", "status": 404}, status=404
    )
    cluster.on("GET", "/reviews-v1/_mapping", mapping_reply(DIM))
    cluster.on("HEAD", "/reviews-v2", None, status=404)
    cluster.on("PUT", "/reviews-v2", {"acknowledged": True})
    cluster.on("POST", "/reviews-v2/_refresh", {})
    cluster.on("POST", "/reviews-v1/_count", {"count": source_count})
    cluster.on("POST", "/reviews-v2/_count", {"count": dest_count})


def test_copy_index_is_a_server_side_reindex_waited_for_as_a_task(cluster, monkeypatch):
    monkeypatch.setattr("common.vector_store.opensearch._TASK_POLL_S", 0.0)
    _copy_routes(cluster, source_count=3, dest_count=3)
    cluster.on("POST", "/_reindex", {"task": "node-1:42"})
    polls = iter([{"completed": False}, {"completed": True, "response": {"created": 3, "failures": []}}])
    cluster.on("GET", "/_tasks/node-1%3A42", lambda _req: (200, next(polls)))  # the id is URL-quoted

    assert make_store(cluster).copy_index("reviews-v1", "reviews-v2") == 3

    (create,) = cluster.sent("PUT", "/reviews-v2")
    assert create.body["mappings"]["properties"]["vector"]["dimension"] == DIM  # the source's dimension
    (reindex,) = cluster.sent("POST", "/_reindex")
    assert reindex.body == {"source": {"index": "reviews-v1"}, "dest": {"index": "reviews-v2"}}
    assert reindex.params == {"wait_for_completion": "false", "refresh": "true"}
    assert len(cluster.sent("GET", "/_tasks/node-1%3A42")) == 2
    paths = [(r.method, r.path) for r in cluster.requests]
    assert paths.index(("PUT", "/reviews-v2")) < paths.index(("POST", "/_reindex"))


def test_a_failed_or_short_copy_is_an_error(cluster, monkeypatch):
    monkeypatch.setattr("common.vector_store.opensearch._TASK_POLL_S", 0.0)
    _copy_routes(cluster, source_count=3, dest_count=2)
    cluster.on("POST", "/_reindex", {"task": "node-1:43"})
    failed = {
        "completed": True,
        "response": {"failures": [{"id": "c1", "cause": {"type": "mapper_exception"}}]},
    }
    cluster.on("GET", "/_tasks/node-1%3A43", failed)
    with pytest.raises(VectorStoreError, match=r"failed.*mapper_exception"):
        make_store(cluster).copy_index("reviews-v1", "reviews-v2")

    cluster.on("GET", "/_tasks/node-1%3A43", {"completed": True, "response": {"failures": []}})
    with pytest.raises(VectorStoreError, match="holds 2 of 3 chunks"):
        make_store(cluster).copy_index("reviews-v1", "reviews-v2")


def test_serverless_copies_by_paging_the_documents_out_and_bulk_indexing_them(cluster):
    _copy_routes(cluster, source_count=3, dest_count=0)  # near-real-time: not visible yet
    cluster.on("POST", "/_bulk", bulk_reply())
    docs = [{**source(f"c{i}"), "vector": hash_embed([f"c{i}"])[0]} for i in range(3)]

    def page(req: Request) -> tuple[int, Any]:
        after = req.body.get("search_after", [""])[0]
        found = [d for d in docs if d["chunk_id"] > after][: req.body["size"]]
        return 200, {
            "hits": {
                "hits": [{"_id": f"g{d['chunk_id']}", "_source": d, "sort": [d["chunk_id"]]} for d in found]
            }
        }

    cluster.on("POST", "/reviews-v1/_search", page)
    assert make_store(cluster, service="aoss", bulk_chunk_size=2).copy_index("reviews-v1", "reviews-v2") == 3
    searches = cluster.sent("POST", "/reviews-v1/_search")
    assert [s.body.get("search_after") for s in searches] == [None, ["c1"]]
    assert all("_source" not in s.body for s in searches)  # the vectors come along
    written = [doc for b in cluster.sent("POST", "/_bulk") for doc in b.body[1::2]]
    assert written == docs
    assert all(
        action == {"index": {"_index": "reviews-v2"}}
        for b in cluster.sent("POST", "/_bulk")
        for action in b.body[0::2]
    )
    assert not cluster.sent("POST", "/_reindex") and not cluster.sent("POST", "/reviews-v2/_refresh")
