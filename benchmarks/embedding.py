"""`make bench-embedding`: the embedding pipeline's throughput and the vector index's speed, as ratios.

One process, models loaded and indexes created before any clock starts:

- `local`: the `embed` step's own reader and writer (`iter_reviews` over a clean partition, then
  `EmbeddingWriter.write`: the project's Chunker, SentenceTransformerEmbedder with the offline
  all-MiniLM-L6-v2, and upserts into LanceDB) against the raw `SentenceTransformer.encode` on exactly the
  chunk texts the writer sent the model, call by call, at the same batch size; runs are interleaved and
  the best of each is compared. Target: pipeline >= 0.85 x raw encode.
- `remote`: a Bedrock runtime simulator on 127.0.0.1 (`POST /model/{modelId}/invoke`: fixed latency per
  request, a concurrency cap answered with 429 ThrottlingException, and a seeded share of requests
  throttled anyway) returning a unit vector derived from each text, so every vector can be checked
  against its chunk. The project's BedrockEmbedder (concurrent, standard retries; pointed at the
  simulator through the model settings' `endpoint_url`) encodes the chunk list in the writer's calls; the
  reference design (one `invoke_model` per chunk, sequential, botocore's default retries) a prefix of
  it. Targets: project >= 10 x reference in chunks/s, and the project loses or mismatches no chunk.
- `index`: synthetic chunk records of many products (random unit vectors, J-shaped star ratings,
  heavy-tailed helpful votes, created_at over three years, mostly one language per product) upserted
  through the VectorStore interface into LanceDB, in batches the size the step writes; then the batch
  balanced-context query (`Retriever.balanced`) for a sample of products, repeated, and single-product
  calls. Reported, no target.

Credentials in this process are made up (the simulator ignores signatures); shared AWS config files are
pointed away so a developer's real keys or retry settings are never read.

Texts are real multilingual reviews from `../shared/data/marc` when present (never copied into the
repository), generated reviews otherwise. Results: JSON at --out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

import numpy as np

from benchmarks.common import REPO, report_header, review_rows

# --- local path -----------------------------------------------------------------------------


def write_clean_partition(rows: list[dict[str, Any]], folder: Path) -> str:
    """The reviews as one clean partition in the schema ingestion publishes, so the step's own reader
    (`iter_reviews`) is what feeds the writer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from common.ids import content_hash
    from common.schemas import CLEAN_REVIEW

    start = datetime(2026, 11, 19, tzinfo=UTC)
    table = pa.Table.from_pylist(
        [
            {
                "review_id": f"bench-{i:07d}",
                "product_id": f"P{i % 97:04d}",
                "star_rating": row["stars"],
                "cleaned_text": row["text"],
                "language": row["language"],
                "toxicity_score": 0.01,
                "created_at": start + timedelta(seconds=i),
                "helpful_votes": i % 7,
                "verified_purchase": i % 5 != 0,
                "content_hash": content_hash(row["text"]),
                "pii_entities": [],
            }
            for i, row in enumerate(rows)
        ],
        schema=CLEAN_REVIEW,
    )
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "part-00000.parquet")
    return str(folder)


class RecordingEmbedder:
    """The step's embedder, unchanged, noting each call's texts and vectors: the baseline then encodes
    exactly what the pipeline sent, in the same calls, and the vectors can be compared."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []
        self.vectors: list[np.ndarray] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.inner.encode(texts)
        self.calls.append(list(texts))
        self.vectors.append(vectors)
        return vectors


def local_path(settings: Any, rows: list[dict[str, Any]], work: Path, repeats: int) -> dict[str, Any]:
    from common.chunking import Chunker
    from common.embedders import SentenceTransformerEmbedder, open_embedder
    from common.embedding_writer import EmbeddingWriter, iter_reviews
    from common.vector_store import open_vector_store

    embedding = settings.embedding
    # What run_embedding opens: the configured model (minilm).
    embedder = cast(SentenceTransformerEmbedder, open_embedder(settings))
    chunker = Chunker.for_model(
        embedder.tokenizer_file, embedder.max_tokens, embedding.overlap_tokens, embedder.version
    )
    store = open_vector_store(settings)
    partition = write_clean_partition(rows, work / "clean" / "dt=2026-11-19")
    model = embedder.model  # the raw SentenceTransformer inside the project's embedder
    batch_size = embedder.batch_size

    warm = [r["text"] for r in rows[:batch_size]]
    embedder.encode(warm)
    model.encode(warm, batch_size=batch_size, show_progress_bar=False)
    chunker.chunk_many([(f"warm-{i}", r["text"], r["language"]) for i, r in enumerate(rows[:50])])

    pipeline_s: list[float] = []
    raw_s: list[float] = []
    recorders: list[RecordingEmbedder] = []
    written: list[tuple[dict[str, int], int]] = []
    raw_vectors: list[np.ndarray] = []

    def pipeline(run: int) -> None:
        index = f"bench-local-{run}"
        store.create_index(index, embedder.dimension)  # once per index in the step too: not timed
        recorder = RecordingEmbedder(embedder)
        writer = EmbeddingWriter(recorder, chunker, store, index)
        started = time.perf_counter()
        for reviews in iter_reviews([partition], embedding.read_batch_rows):  # the step's loop
            writer.write(reviews, frozenset(), replace=False)  # a new index, as in a rebuild
        pipeline_s.append(time.perf_counter() - started)
        recorders.append(recorder)
        written.append((dict(writer.counts), store.count(index)))

    def raw_encode() -> None:
        started = time.perf_counter()
        raw_vectors[:] = [
            model.encode(texts, batch_size=batch_size, show_progress_bar=False)
            for texts in recorders[0].calls
        ]
        raw_s.append(time.perf_counter() - started)

    # Interleaved, and the order alternates, so neither side always runs on shapes the other just warmed.
    for run in range(repeats):
        if run % 2 == 0:
            pipeline(run)
            raw_encode()
        else:
            raw_encode()
            pipeline(run)

    calls = recorders[0].calls
    assert all(r.calls == calls for r in recorders), "the pipeline sent different texts on a re-run"
    chunks = sum(len(texts) for texts in calls)
    counts, stored = written[-1]
    raw = np.concatenate(raw_vectors)
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    max_diff = float(np.max(np.abs(np.concatenate(recorders[0].vectors) - raw)))
    pipeline_rate = chunks / min(pipeline_s)
    raw_rate = chunks / min(raw_s)
    ratio = pipeline_rate / raw_rate
    return {
        "what": "chunks/s of the embed step's read -> chunk -> encode -> LanceDB upsert loop, against raw "
        "SentenceTransformer.encode on the same chunk texts in the same calls; best of the interleaved runs",
        "model": embedder.version,
        "batch_size": batch_size,
        "read_batch_rows": embedding.read_batch_rows,
        "reviews": len(rows),
        "chunks": chunks,
        "encode_calls": len(calls),
        "writer_counts": counts,
        "chunks_in_index": stored,
        "runs": repeats,
        "pipeline_s": [round(s, 3) for s in pipeline_s],
        "raw_encode_s": [round(s, 3) for s in raw_s],
        "pipeline_chunks_per_s": round(pipeline_rate, 2),
        "raw_encode_chunks_per_s": round(raw_rate, 2),
        "pipeline_vs_raw_encode": round(ratio, 3),
        "pipeline_vs_raw_max_abs_diff": round(max_diff, 7),
        "targets": {"pipeline_vs_raw_encode": 0.85, "chunks_in_index": chunks},
        "met": {
            "pipeline_vs_raw_encode": ratio >= 0.85,
            "chunks_in_index": all(n == chunks for _, n in written),
        },
        "_calls": calls,  # removed before the report is written; the remote path reuses them
    }


# --- remote path: a Bedrock runtime simulator ----------------------------------------------------

_INVOKE = re.compile(r"^/model/(?P<model>[^/?]+)/invoke$")


def expected_vector(text: str, dimension: int) -> np.ndarray:
    """The unit vector the simulator answers for `text`: seeded by the text's hash, so a vector that
    belongs to another chunk, or arrives out of order, is detected."""
    seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")
    vector = np.random.default_rng(seed).standard_normal(dimension)
    return vector / np.linalg.norm(vector)


class BedrockSimulator:
    """Bedrock runtime's InvokeModel for an embedding model, on loopback, as botocore sees it.

    Every admitted request holds a slot for `latency_s` (the service's time per request); a request that
    finds `max_concurrency` slots taken, or that the seeded draw picks (`throttle_rate`), is answered at
    once with 429 and `x-amzn-ErrorType: ThrottlingException`, which botocore's retry handlers treat as
    throttling in both legacy and adaptive modes.
    """

    def __init__(self, latency_s: float, max_concurrency: int, throttle_rate: float, seed: int) -> None:
        self.latency_s = latency_s
        self.max_concurrency = max_concurrency
        self.throttle_rate = throttle_rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._in_flight = 0
        self.stats: Counter[str] = Counter()
        simulator = self

        class Handler(_InvokeHandler):
            sim = simulator

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = cast(tuple[str, int], self.server.server_address[:2])  # an AF_INET server
        return f"http://{host}:{port}"

    def __enter__(self) -> BedrockSimulator:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def take_stats(self) -> dict[str, int]:
        """The counts since the last call, then zeroed: one set per client measured."""
        with self._lock:
            stats, self.stats = dict(self.stats), Counter()
        return stats

    def admit(self) -> str | None:
        """None if the request may proceed (it then holds a slot), else why it is throttled."""
        with self._lock:
            self.stats["requests"] += 1
            if self._in_flight >= self.max_concurrency:
                self.stats["throttled_over_cap"] += 1
                return "over_cap"
            if self._rng.random() < self.throttle_rate:
                self.stats["throttled_random"] += 1
                return "random"
            self._in_flight += 1
            self.stats["max_in_flight"] = max(self.stats["max_in_flight"], self._in_flight)
            return None

    def release(self, ok: bool) -> None:
        with self._lock:
            self._in_flight -= 1
            self.stats["answered_200" if ok else "answered_400"] += 1


class _InvokeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: botocore's connection pool reuses connections
    # Headers and body go out in two writes; with Nagle on, the body would wait for the client's delayed
    # ACK (~40 ms per response on Linux), a stall real endpoints do not have.
    disable_nagle_algorithm = True
    sim: BedrockSimulator

    def log_message(self, format: str, *args: Any) -> None:  # one line per request would drown the run
        pass

    def _send(self, status: int, payload: dict[str, Any], error_type: str | None = None) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_type:
            self.send_header(
                "x-amzn-ErrorType", f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"
            )
        self.end_headers()
        with suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        match = _INVOKE.match(self.path)
        if match is None:
            self._send(404, {"message": f"unknown operation {self.path}"}, "UnknownOperationException")
            return
        if self.sim.admit() is not None:
            self._send(
                429, {"message": "Too many requests, please wait before trying again."}, "ThrottlingException"
            )
            return
        ok = False
        try:
            time.sleep(self.sim.latency_s)
            request = json.loads(body)
            text = request["inputText"]
            dimension = int(request.get("dimensions", 1024))
            if not isinstance(text, str) or not text or dimension < 1:
                raise ValueError("inputText must be a non-empty string and dimensions positive")
            vector = expected_vector(text, dimension)
            ok = True
            self._send(200, {"embedding": vector.tolist(), "inputTextTokenCount": len(text.split())})
        except (ValueError, KeyError, TypeError) as exc:
            self._send(400, {"message": f"{unquote(match['model'])}: {exc}"}, "ValidationException")
        finally:
            self.sim.release(ok)


@contextmanager
def made_up_aws_environment(work: Path, region: str) -> Iterator[None]:
    """Made-up credentials and no shared AWS config in this process, restored afterwards: the simulator
    ignores signatures, and neither client may read a real account's keys or a configured retry mode."""
    values = {
        "AWS_ACCESS_KEY_ID": "AKIABENCHMARKONLY000",
        "AWS_SECRET_ACCESS_KEY": "made-up-for-the-loopback-simulator",
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_DEFAULT_PROFILE": None,
        "AWS_CONFIG_FILE": str(work / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(work / "no-aws-credentials"),
        "AWS_RETRY_MODE": None,
        "AWS_MAX_ATTEMPTS": None,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": region,
    }
    saved = {key: os.environ.get(key) for key in values}

    def apply(mapping: dict[str, str | None]) -> None:
        for key, value in mapping.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    apply(values)
    try:
        yield
    finally:
        apply(saved)


def check_vectors(texts: Sequence[str], vectors: Sequence[Any], dimension: int) -> tuple[int, int]:
    """(lost, mismatched): chunks without a vector, and chunks whose vector is not their own."""
    lost = mismatched = 0
    for text, vector in zip(texts, vectors, strict=True):
        if vector is None:
            lost += 1
        elif len(vector) != dimension or not np.allclose(
            np.asarray(vector, dtype=np.float32), expected_vector(text, dimension), atol=1e-6
        ):
            mismatched += 1
    return lost, mismatched


def prefix_calls(calls: list[list[str]], n: int) -> list[list[str]]:
    """The first n chunks of the writer's encode calls, keeping the calls' boundaries."""
    out: list[list[str]] = []
    for call in calls:
        if n <= 0:
            break
        out.append(call[:n])
        n -= len(out[-1])
    return out


def encode_calls(embedder: Any, calls: list[list[str]]) -> tuple[list[Any], list[str], float]:
    """(vectors, errors, seconds) of an embedder on the writer's calls; a failed call loses its chunks,
    as it would fail the step's batch."""
    from botocore.exceptions import BotoCoreError, ClientError

    vectors: list[Any] = []
    errors: list[str] = []
    started = time.perf_counter()
    for call in calls:
        try:
            vectors.extend(embedder.encode(call))
        except (BotoCoreError, ClientError, ValueError) as exc:
            errors.append(repr(exc)[:300])
            vectors.extend([None] * len(call))
    return vectors, errors, time.perf_counter() - started


def reference_loop(
    client: Any, model_id: str, texts: list[str], dimension: int
) -> tuple[list[Any], Counter, float]:
    """The reference design's client: one invoke_model per chunk, one after another; a chunk that still
    fails after botocore's retries is dropped and the loop goes on."""
    from botocore.exceptions import ClientError

    vectors: list[Any] = []
    errors: Counter[str] = Counter()
    started = time.perf_counter()
    for text in texts:
        try:
            response = client.invoke_model(
                modelId=model_id,
                body=json.dumps({"inputText": text, "dimensions": dimension, "normalize": True}),
                contentType="application/json",
                accept="application/json",
            )
            vectors.append(json.loads(response["body"].read())["embedding"])
        except ClientError as exc:
            errors[exc.response["Error"]["Code"]] += 1
            vectors.append(None)
    return vectors, errors, time.perf_counter() - started


def client_result(
    texts: list[str], vectors: list[Any], seconds: float, errors: Any, server: dict[str, int], dimension: int
) -> dict[str, Any]:
    lost, mismatched = check_vectors(texts, vectors, dimension)
    return {
        "chunks": len(texts),
        "seconds": round(seconds, 3),
        "chunks_per_s": round(len(texts) / seconds, 2),
        "lost": lost,
        "mismatched": mismatched,
        "errors": errors,
        "server": server,
    }


def remote_path(
    settings: Any, calls: list[list[str]], work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    from common.embedders import BedrockEmbedder, open_embedder

    embedding = settings.embedding
    name = args.bedrock_model
    project_calls = prefix_calls(calls, args.remote_chunks)
    texts = [text for call in project_calls for text in call]
    reference_texts = texts[: args.reference_chunks]
    with (
        BedrockSimulator(
            args.latency_ms / 1000, args.server_concurrency, args.throttle_rate, args.seed
        ) as sim,
        made_up_aws_environment(work, embedding.models[name].region or "us-east-1"),
    ):
        model = embedding.models[name].model_copy(
            update={"endpoint_url": sim.url, "region": os.environ["AWS_DEFAULT_REGION"]}
        )
        bedrock = settings.model_copy(
            update={
                "embedding": embedding.model_copy(
                    update={"model": name, "models": {**embedding.models, name: model}}
                )
            }
        )
        # The project's factory: BedrockEmbedder with its own client.
        embedder = cast(BedrockEmbedder, open_embedder(bedrock))
        dimension = embedder.dimension
        project_mode = embedder.client.meta.config.retries
        vectors, errors, seconds = encode_calls(embedder, project_calls)
        project = client_result(texts, vectors, seconds, errors, sim.take_stats(), dimension)
        embedder.client.close()

        client = boto3.client("bedrock-runtime", region_name=model.region, endpoint_url=sim.url)
        reference_mode = client.meta.config.retries
        vectors, codes, seconds = reference_loop(client, model.model_id, reference_texts, dimension)
        reference = client_result(reference_texts, vectors, seconds, dict(codes), sim.take_stats(), dimension)
        client.close()

        # Diagnostic, no target: the same embedder and concurrency with botocore's adaptive retry mode,
        # whose client-side send-rate limiter falls to 0.5 requests/s on early throttles: why the
        # project uses standard retries.
        adaptive_client = boto3.client(
            "bedrock-runtime",
            region_name=model.region,
            endpoint_url=sim.url,
            config=Config(
                retries={"mode": "adaptive", "max_attempts": model.max_attempts},
                max_pool_connections=max(10, model.concurrency),
                read_timeout=model.timeout_s,
                connect_timeout=model.timeout_s,
            ),
        )
        adaptive_embedder = BedrockEmbedder(model, embedder.tokenizer_file, client=adaptive_client)
        vectors, errors, seconds = encode_calls(adaptive_embedder, project_calls)
        adaptive = client_result(texts, vectors, seconds, errors, sim.take_stats(), dimension)
        adaptive_client.close()

    ratio = project["chunks_per_s"] / reference["chunks_per_s"]
    return {
        "what": "chunks/s through a Bedrock InvokeModel simulator on loopback: the project's "
        "BedrockEmbedder on the writer's encode calls against one sequential invoke_model per chunk",
        "simulator": {
            "latency_ms": args.latency_ms,
            "max_concurrency": args.server_concurrency,
            "throttle_rate": args.throttle_rate,
            "seed": args.seed,
            "model_id": model.model_id,
            "dimension": dimension,
        },
        "chunk_lists": f"project: the first {len(texts)} chunks of the local path's list, in the writer's "
        f"{len(project_calls)} encode call(s); reference: the first {len(reference_texts)} of the same "
        "list; rates compared per chunk",
        "project": {
            "client": f"BedrockEmbedder via open_embedder, concurrency {model.concurrency}, "
            f"retries {project_mode}",
            **project,
        },
        "reference": {
            "client": f"sequential invoke_model per chunk, botocore default retries {reference_mode}",
            **reference,
        },
        "project_vs_reference": round(ratio, 2),
        "diagnostic_adaptive_retries": {
            "client": f"BedrockEmbedder, concurrency {model.concurrency}, retries "
            f"{adaptive_client.meta.config.retries}",
            **adaptive,
            "vs_reference": round(adaptive["chunks_per_s"] / reference["chunks_per_s"], 2),
        },
        "targets": {"project_vs_reference": 10.0, "project_lost_or_mismatched": 0},
        "met": {
            "project_vs_reference": ratio >= 10.0,
            "project_lost_or_mismatched": project["lost"] + project["mismatched"] == 0,
        },
    }


# --- index throughput and retrieval latency -----------------------------------------------------

LANGUAGES = ("en", "de", "fr", "es", "it", "nl")
LANGUAGE_WEIGHTS = (0.40, 0.20, 0.12, 0.12, 0.10, 0.06)
# Marketplace ratings are J-shaped: mostly 5, then 1, few in between. Each product draws its own mix
# around this (Dirichlet), so some products are polarized and the negative bucket is not always empty.
J_SHAPE = np.array([0.12, 0.05, 0.07, 0.18, 0.58])


def synthetic_products(
    products: int, chunks_range: tuple[int, int], texts: list[str], dimension: int, seed: int
) -> Iterator[list[dict[str, Any]]]:
    """Per product, its reviews: each a dict of metadata and its chunk texts (1-3 chunks, 10-20 per
    product by default). Texts are real reviews cycled; vectors are drawn later, per write batch."""
    rng = np.random.default_rng(seed)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    text_at = 0
    for p in range(products):
        product_id = f"P{p:06d}"
        dominant = LANGUAGES[rng.choice(len(LANGUAGES), p=LANGUAGE_WEIGHTS)]
        stars_p = rng.dirichlet(J_SHAPE * 8)
        first_day = now - timedelta(days=int(rng.integers(30, 3 * 365)))
        span_s = (now - first_day).total_seconds()
        budget = int(rng.integers(chunks_range[0], chunks_range[1] + 1))
        reviews: list[dict[str, Any]] = []
        r = 0
        while budget > 0:
            n_chunks = min(budget, int(rng.choice(3, p=[0.8, 0.15, 0.05])) + 1)
            budget -= n_chunks
            votes = 0 if rng.random() < 0.6 else min(int(rng.pareto(1.1) + 1), 999)
            language = dominant if rng.random() < 0.85 else LANGUAGES[int(rng.integers(len(LANGUAGES)))]
            chunk_texts = [texts[(text_at + i) % len(texts)] for i in range(n_chunks)]
            text_at += n_chunks
            reviews.append(
                {
                    "review_id": f"R{p:06d}-{r:03d}",
                    "product_id": product_id,
                    "star_rating": int(rng.choice(5, p=stars_p)) + 1,
                    "language": language,
                    "created_at": first_day + timedelta(seconds=float(rng.random() * span_s)),
                    "helpful_votes": votes,
                    "verified_purchase": bool(rng.random() < 0.8),
                    "texts": chunk_texts,
                }
            )
            r += 1
        yield reviews


def to_records(reviews: list[dict[str, Any]], dimension: int, version: str, rng: np.random.Generator) -> list:
    """ChunkRecords of these reviews with random unit vectors (the cost of writing does not depend on
    what the vectors mean)."""
    from common.chunking import chunk_id
    from common.vector_store import ChunkRecord

    n = sum(len(r["texts"]) for r in reviews)
    vectors = rng.standard_normal((n, dimension), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    records = []
    row = 0
    for review in reviews:
        for i, text in enumerate(review["texts"]):
            records.append(
                ChunkRecord(
                    chunk_id=chunk_id(review["review_id"], i, text, version),
                    review_id=review["review_id"],
                    product_id=review["product_id"],
                    chunk_index=i,
                    text=text,
                    vector=vectors[row],
                    star_rating=review["star_rating"],
                    language=review["language"],
                    created_at=review["created_at"],
                    helpful_votes=review["helpful_votes"],
                    verified_purchase=review["verified_purchase"],
                    embedding_model=version,
                    embedding_dim=dimension,
                )
            )
            row += 1
    return records


def percentiles(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(float(np.percentile(values, 50)), 4),
        "p95": round(float(np.percentile(values, 95)), 4),
        "max": round(max(values), 4),
    }


def index_and_retrieval(settings: Any, texts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    from common.retrieval import NEGATIVE, POSITIVE, Retriever
    from common.vector_store import open_vector_store

    store = open_vector_store(settings)
    index = "bench-products"
    dimension = args.index_dim
    version = f"benchmark/random-unit-vectors@{dimension}"
    store.create_index(index, dimension)
    batch_reviews = settings.embedding.read_batch_rows  # the step writes one batch per this many reviews
    rng = np.random.default_rng(args.seed)
    low, high = (int(v) for v in args.chunks_per_product.split("-"))

    write_s = 0.0
    written = reviews_total = upserts = 0
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal write_s, written, upserts
        records = to_records(pending, dimension, version, rng)
        started = time.perf_counter()
        written += store.upsert(index, records)
        write_s += time.perf_counter() - started
        upserts += 1
        pending.clear()

    for reviews in synthetic_products(args.products, (low, high), texts, dimension, args.seed):
        pending.extend(reviews)
        reviews_total += len(reviews)
        if len(pending) >= batch_reviews:
            flush()
    if pending:
        flush()
    stored = store.count(index)

    retriever = Retriever(store, settings.retrieval, index)
    sample = sorted(
        random.Random(args.seed).sample(range(args.products), min(args.query_products, args.products))
    )
    product_ids = [f"P{p:06d}" for p in sample]
    batch_s: list[float] = []
    contexts: dict[str, Any] = {}
    for _ in range(args.query_repeats):
        started = time.perf_counter()
        contexts = retriever.balanced(product_ids)
        batch_s.append(time.perf_counter() - started)
    single_s: list[float] = []
    for product_id in product_ids[: args.single_queries]:
        started = time.perf_counter()
        retriever.balanced(product_id)
        single_s.append(time.perf_counter() - started)

    # What came back must be a balanced context, or the timing measures the wrong thing.
    s = settings.retrieval
    violations = 0
    snippets = []
    for context in contexts.values():
        snippets.append(len(context.snippets))
        violations += sum(h.star_rating < s.positive_min_stars for h in context.bucket(POSITIVE))
        violations += sum(h.star_rating > s.negative_max_stars for h in context.bucket(NEGATIVE))
        violations += len(context.review_ids) - len(set(context.review_ids))
    with_negative = sum(bool(c.bucket(NEGATIVE)) for c in contexts.values())
    return {
        "index": {
            "what": "synthetic chunk records written through VectorStore.upsert (LanceDB, local profile), "
            f"one upsert per {batch_reviews} reviews as the embed step writes (the store's own index "
            "optimization when unindexed rows pile up included); generating the records is not timed",
            "products": args.products,
            "reviews": reviews_total,
            "chunks": written,
            "chunks_in_index": stored,
            "chunks_per_product": f"{low}-{high}",
            "dimension": dimension,
            "upserts": upserts,
            "seconds": round(write_s, 2),
            "chunks_per_s": round(written / write_s, 1),
        },
        "retrieval": {
            "what": f"Retriever.balanced (balanced_context, batch form: one call for all {len(product_ids)} "
            f"products) timed per call, {args.query_repeats} calls; then single-product calls for "
            f"{len(single_s)} of them, timed per call",
            "products_per_call": len(product_ids),
            "k": {"positive": s.k_positive, "negative": s.k_negative, "recent": s.k_recent},
            "batch_call_s": [round(v, 4) for v in batch_s],
            "batch_call": percentiles(batch_s),
            "batch_ms_per_product_p50": round(1000 * float(np.median(batch_s)) / len(product_ids), 3),
            "single_product_call_s": percentiles(single_s),
            "snippets_per_product_mean": round(float(np.mean(snippets)), 2),
            "products_with_negative_snippets": with_negative,
            "bucket_violations": violations,
        },
        "targets": {"chunks_in_index": written, "bucket_violations": 0},
        "met": {"chunks_in_index": stored == written, "bucket_violations": violations == 0},
    }


# --- main -----------------------------------------------------------------------------------


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers and every target's verdict, for the end of the run's output."""
    out: dict[str, Any] = {"texts": report.get("texts")}
    if "local" in report:
        local = report["local"]
        out["local"] = {
            k: local[k]
            for k in (
                "chunks",
                "pipeline_chunks_per_s",
                "raw_encode_chunks_per_s",
                "pipeline_vs_raw_encode",
                "met",
            )
        }
    if "remote" in report:
        remote = report["remote"]
        out["remote"] = {
            "project_chunks_per_s": remote["project"]["chunks_per_s"],
            "reference_chunks_per_s": remote["reference"]["chunks_per_s"],
            "project_vs_reference": remote["project_vs_reference"],
            "lost_or_mismatched": {
                side: remote[side]["lost"] + remote[side]["mismatched"] for side in ("project", "reference")
            },
            "adaptive_retries_vs_reference": remote["diagnostic_adaptive_retries"]["vs_reference"],
            "met": remote["met"],
        }
    if "index" in report:
        index, retrieval = report["index"]["index"], report["index"]["retrieval"]
        out["index"] = {
            "chunks": index["chunks"],
            "chunks_per_s": index["chunks_per_s"],
            "balanced_batch_call_s": retrieval["batch_call"],
            "products_per_call": retrieval["products_per_call"],
            "single_product_call_s": retrieval["single_product_call_s"],
            "met": report["index"]["met"],
        }
    out["all_met"] = all(
        v for section in report.values() if isinstance(section, dict) for v in section.get("met", {}).values()
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench-results" / "embedding.json")
    parser.add_argument("--reviews", type=int, default=1200, help="real reviews through the local path")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved runs of pipeline and raw encode")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="simulator time per request")
    parser.add_argument("--server-concurrency", type=int, default=12, help="simulator's concurrency cap")
    parser.add_argument(
        "--throttle-rate", type=float, default=0.05, help="share of requests throttled anyway"
    )
    parser.add_argument(
        "--remote-chunks", type=int, default=600, help="chunks the project's Bedrock client sends (a prefix)"
    )
    parser.add_argument(
        "--reference-chunks", type=int, default=300, help="chunks the sequential reference sends"
    )
    parser.add_argument(
        "--bedrock-model", default="titan_v2", help="key of a bedrock model in embedding.models"
    )
    parser.add_argument("--products", type=int, default=10_000, help="products in the synthetic index")
    parser.add_argument("--chunks-per-product", default="10-20", help="range of chunks per product")
    parser.add_argument("--index-dim", type=int, default=384)
    parser.add_argument("--query-products", type=int, default=500, help="products per balanced-context call")
    parser.add_argument("--query-repeats", type=int, default=5)
    parser.add_argument("--single-queries", type=int, default=100, help="single-product calls timed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", choices=["local", "remote", "index"], action="append", default=[])
    args = parser.parse_args()

    report = report_header("embedding")
    # Shared machines: the load around the run says how far the absolute rates can be trusted (the
    # ratios compare sides measured in the same process, minutes apart at most).
    report["machine"]["load_average_1m_at_start"] = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="bench-embedding-") as tmp:
        work = Path(tmp)
        # Everything the pipeline writes (the LanceDB folder) goes to the temporary data folder.
        os.environ["LLMOPS_DATA_DIR"] = str(work / "data")
        from common.settings import get_settings

        get_settings.cache_clear()
        settings = get_settings("local")
        rows, source = review_rows(args.reviews)
        report["texts"] = source
        calls: list[list[str]] = [[r["text"] for r in rows]]
        if "local" not in args.skip or "remote" not in args.skip:
            local = local_path(settings, rows, work, args.repeats)
            calls = local.pop("_calls")
            if "local" not in args.skip:
                report["local"] = local
                print(json.dumps(local, indent=2))
        if "remote" not in args.skip:
            report["remote"] = remote_path(settings, calls, work, args)
            print(json.dumps(report["remote"], indent=2))
        if "index" not in args.skip:
            texts = [text for call in calls for text in call]
            report["index"] = index_and_retrieval(settings, texts, args)
            print(json.dumps(report["index"], indent=2))
    report["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    report["summary"] = summary(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report["summary"], indent=2))
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
