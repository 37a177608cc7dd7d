"""Clean reviews into a vector index: read in batches, chunked, encoded and upserted by chunk ID.

The embedding step fills its candidate indices with this, and the training step the scratch index of a
pinned clean version, so both hold the same chunks and vectors for the same data and model.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow.parquet as pq

from common import storage
from common.chunking import Chunker
from common.embedders import Embedder
from common.schemas import CLEAN_REVIEW, CleanReview
from common.vector_store import ChunkRecord, VectorStore

# Where the publish step puts the clean data inside the DVC registry (`reviews/clean/dt=...`).
REGISTRY_CLEAN_PATH = "reviews/clean"


def iter_reviews(partitions: list[str], batch_rows: int) -> Iterator[list[CleanReview]]:
    """The clean reviews of `partitions`, `batch_rows` at a time, so memory does not grow with the data.
    Whole records, so that they are what their type says: the three columns a chunk does not use (score,
    hash, PII types) are small next to the text and nothing next to encoding it."""
    for partition in partitions:
        for uri in storage.partition_files(partition):
            if not uri.endswith(".parquet"):
                continue
            with storage.open_uri(uri) as handle:
                for batch in pq.ParquetFile(handle).iter_batches(
                    batch_size=batch_rows, columns=CLEAN_REVIEW.names
                ):
                    yield batch.to_pylist()


class EmbeddingWriter:
    """Chunks, encodes and writes reviews into one index, and counts where every review went."""

    def __init__(self, embedder: Embedder, chunker: Chunker, store: VectorStore, index: str) -> None:
        self.embedder = embedder
        self.chunker = chunker
        self.store = store
        self.index = index
        self.counts = {"reviews_in": 0, "reviews_forgotten": 0, "reviews_indexed": 0, "chunks_written": 0}

    def write(self, reviews: list[CleanReview], forgotten: frozenset[str], replace: bool) -> None:
        self.counts["reviews_in"] += len(reviews)
        kept = [r for r in reviews if r["review_id"] not in forgotten]
        self.counts["reviews_forgotten"] += len(reviews) - len(kept)
        if not kept:
            return
        chunked = self.chunker.chunk_many([(r["review_id"], r["cleaned_text"], r["language"]) for r in kept])
        flat = [(review, chunk) for review, chunks in zip(kept, chunked, strict=True) for chunk in chunks]
        vectors = self.embedder.encode([chunk.text for _, chunk in flat])
        records = [
            ChunkRecord(
                chunk_id=chunk.chunk_id,
                review_id=review["review_id"],
                product_id=review["product_id"],
                chunk_index=chunk.chunk_index,
                text=chunk.text,
                vector=vector,
                star_rating=int(review["star_rating"]),
                language=review["language"],
                created_at=review["created_at"],
                helpful_votes=int(review["helpful_votes"] or 0),
                verified_purchase=bool(review["verified_purchase"]),
                embedding_model=self.embedder.version,
                embedding_dim=self.embedder.dimension,
            )
            for (review, chunk), vector in zip(flat, vectors, strict=True)
        ]
        if replace:  # a re-published review may have new text, hence new chunk IDs: drop its old chunks
            self.store.delete_reviews(self.index, [r["review_id"] for r in kept])
        self.counts["chunks_written"] += self.store.upsert(self.index, records)
        self.counts["reviews_indexed"] += len(kept)
