"""Embedding models: a sentence-transformers model in the task image (local), or Bedrock Titan (aws).

The swap point is the `Embedder` protocol: `encode` turns texts into unit-length float32 vectors, and
`version` names exactly which model produced them. The version goes into every chunk ID, every stored
vector and the index name, so vectors of two models are never mixed in one index or compared. The
embedding step, its gate and the training step's index of a pinned clean version all open the
profile's model here (`open_embedder`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from common import storage
from common.settings import EmbeddingModelSettings

log = logging.getLogger(__name__)


class Embedder(Protocol):
    version: str  # model id and revision; recorded with every vector
    dimension: int
    max_tokens: int  # the model's input limit in its own tokens, special tokens included
    tokenizer_file: Path  # what the chunker counts tokens with

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32, L2-normalised, in input order."""
        ...


def resolve_model_dir(model: EmbeddingModelSettings, cache_dir: str) -> Path:
    """The model's folder: shipped inside a Python package (the offline MiniLM), a local path, or an
    s3:// prefix downloaded once into the cache."""
    if model.package:
        return Path(import_module(model.package).get_model_path())
    if not model.path:
        raise ValueError(f"embedding model {model.version!r} needs `package` or `path`")
    folder = storage.model_dir(model.path, cache_dir, model.version)
    if not (folder / "config.json").is_file():
        # The local profile's models are built by `make setup`; a missing one is a set-up step not taken.
        raise FileNotFoundError(f"embedding model {model.version!r}: no model at {folder} (see `make setup`)")
    return folder


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the task machine's CPU or GPU.

    `SentenceTransformer.encode` already sorts each call's texts by length so that a batch pads to
    similar lengths; the caller only has to hand it enough texts at once (the pipeline sends thousands).
    """

    def __init__(self, model: EmbeddingModelSettings, cache_dir: str) -> None:
        from sentence_transformers import SentenceTransformer

        folder = resolve_model_dir(model, cache_dir)
        self.model = SentenceTransformer(str(folder), device=model.device, local_files_only=True)
        self.model.max_seq_length = model.max_tokens
        self.version = model.version
        dimension = self.model.get_embedding_dimension()
        if dimension is None:
            raise ValueError(f"{model.version} does not report its embedding dimension")
        self.dimension = int(dimension)
        if self.dimension != model.dimension:
            raise ValueError(
                f"{model.version} produces {self.dimension} dimensions, configured {model.dimension}"
            )
        self.max_tokens = model.max_tokens
        self.tokenizer_file = folder / "tokenizer.json"
        self.batch_size = model.batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32, copy=False)


def bedrock_runtime_client(model: EmbeddingModelSettings) -> Any:
    """A bedrock-runtime client whose retries handle throttling.

    botocore's standard retry mode retries a throttled request with exponential backoff and jitter;
    the request rate is bounded by `concurrency` (requests in flight), and its connection pool is sized
    to it. Adaptive mode is not used: its client-side rate limiter drops the send rate to its floor
    (0.5 requests/s) on the first throttle it sees before it has measured the rate, and recovers slowly,
    so a few throttles at 5% take a concurrent client down to sequential speed (`make bench-embedding`
    shows both). Credentials: with `aws_conn_id` set, the Airflow AWS connection through the provider's
    hook (on a worker); without it, boto3's default chain (inside a SageMaker job, the job's role).
    """
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": model.max_attempts},
        max_pool_connections=max(10, model.concurrency),
        read_timeout=model.timeout_s,
        connect_timeout=model.timeout_s,
    )
    if model.aws_conn_id is None:
        import boto3

        return boto3.client(
            "bedrock-runtime", region_name=model.region, endpoint_url=model.endpoint_url, config=config
        )
    from airflow.providers.amazon.aws.hooks.bedrock import BedrockRuntimeHook

    hook = BedrockRuntimeHook(aws_conn_id=model.aws_conn_id, region_name=model.region, config=config)
    if model.endpoint_url:
        return hook.get_session().client("bedrock-runtime", endpoint_url=model.endpoint_url, config=config)
    return hook.conn


class BedrockEmbedder:
    """Titan Text Embeddings v2: one text per request, so requests run `concurrency` at a time.

    A text that still fails after botocore's retries fails the whole call: the step fails and is
    retried, and since chunk IDs are deterministic nothing is lost or duplicated by the re-run.
    """

    def __init__(
        self, model: EmbeddingModelSettings, tokenizer_file: Path, client: Any | None = None
    ) -> None:
        self.client = client or bedrock_runtime_client(model)
        self.model_id = model.model_id
        self.version = model.version
        self.dimension = model.dimension
        self.max_tokens = model.max_tokens
        self.tokenizer_file = tokenizer_file
        self.concurrency = model.concurrency

    def _one(self, text: str) -> list[float]:
        response = self.client.invoke_model(
            modelId=self.model_id,
            body=json.dumps({"inputText": text, "dimensions": self.dimension, "normalize": True}),
            contentType="application/json",
            accept="application/json",
        )
        vector = json.loads(response["body"].read())["embedding"]
        if len(vector) != self.dimension:
            raise ValueError(f"{self.model_id} returned {len(vector)} dimensions, expected {self.dimension}")
        return vector

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="bedrock") as pool:
            vectors = list(pool.map(self._one, texts))
        return np.asarray(vectors, dtype=np.float32)


def open_embedder(settings: Any, model_key: str | None = None) -> Embedder:
    """The profile's configured embedding model, or the one of `embedding.models` named `model_key`."""
    embedding = settings.embedding
    model = embedding.models[model_key or embedding.model]
    cache_dir = settings.resolve_path(embedding.cache_dir)
    if model.kind == "sentence_transformers":
        return SentenceTransformerEmbedder(model, cache_dir)
    if model.kind == "bedrock":
        tokenizer_model = embedding.models[model.tokenizer_from]
        return BedrockEmbedder(model, resolve_model_dir(tokenizer_model, cache_dir) / "tokenizer.json")
    raise ValueError(f"unknown embedding model kind {model.kind!r}")
