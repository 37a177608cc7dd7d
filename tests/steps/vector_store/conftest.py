"""Records and a query embedder for the vector-store tests.

`hash_embed` turns words into a small deterministic vector (signed feature hashing, L2-normalized):
texts sharing words are near each other. It is test scaffolding that exercises the store's vector
search without a model; the pipelines embed with the real model.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from common.vector_store import ChunkRecord

DIM = 32
MODEL = "test-hash-embedder@1"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
_WORD = re.compile(r"\w+", re.UNICODE)


def hash_embed(texts: Iterable[str], dim: int = DIM) -> list[list[float]]:
    vectors = []
    for text in texts:
        vector = np.zeros(dim, dtype=np.float64)
        for word in _WORD.findall(text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % dim
            vector[bucket] += 1.0 if digest[4] & 1 else -1.0
        norm = np.linalg.norm(vector)
        vectors.append((vector / norm if norm else np.full(dim, dim**-0.5)).tolist())
    return vectors


def record(
    chunk_id: str,
    *,
    review_id: str | None = None,
    product_id: str = "p1",
    chunk_index: int = 0,
    text: str = "a plain review text",
    stars: int = 5,
    language: str = "en",
    day: float = 0,
    helpful: int = 0,
    verified: bool = True,
) -> ChunkRecord:
    return ChunkRecord(
        chunk_id=chunk_id,
        review_id=review_id or f"r-{chunk_id}",
        product_id=product_id,
        chunk_index=chunk_index,
        text=text,
        vector=hash_embed([text])[0],
        star_rating=stars,
        language=language,
        created_at=T0 + timedelta(days=day),
        helpful_votes=helpful,
        verified_purchase=verified,
        embedding_model=MODEL,
        embedding_dim=DIM,
    )


def with_text(rec: ChunkRecord, text: str) -> ChunkRecord:
    return replace(rec, text=text, vector=hash_embed([text])[0])


_TOPICS = {
    5: ["battery lasts for days", "bright sharp screen", "fast delivery and solid build", "great value"],
    1: ["battery died after a week", "screen cracked on arrival", "stopped charging", "refund refused"],
    3: ["it is fine for the price", "average sound, nothing special"],
}


def polarized_product(
    product_id: str, *, positives: int, negatives: int, neutrals: int = 2
) -> list[ChunkRecord]:
    """Many 5-star and 1-star reviews (plus a few 3-star) with distinct helpful votes and dates; every
    fifth review is long and split into two chunks; a third of the reviews are in German."""
    out: list[ChunkRecord] = []
    specs = [(5, i) for i in range(positives)] + [(1, i) for i in range(negatives)]
    specs += [(3, i) for i in range(neutrals)]
    for n, (stars, i) in enumerate(specs):
        review_id = f"{product_id}-r{stars}-{i:02d}"
        topic = _TOPICS[stars][i % len(_TOPICS[stars])]
        language = "de" if n % 3 == 2 else "en"
        base = {
            "review_id": review_id,
            "product_id": product_id,
            "stars": stars,
            "language": language,
            # Distinct votes and dates: the expected order is unambiguous.
            "helpful": (37 * n + 11) % 997,
            "day": (53 * n) % 89,
        }
        chunks = 2 if n % 5 == 0 else 1
        for c in range(chunks):
            out.append(
                record(f"{review_id}-c{c}", chunk_index=c, text=f"{topic} part {c} {review_id}", **base)
            )
    return out


@pytest.fixture
def embed():
    return hash_embed


def by_ids(records: Sequence[ChunkRecord]) -> dict[str, ChunkRecord]:
    return {r.chunk_id: r for r in records}
