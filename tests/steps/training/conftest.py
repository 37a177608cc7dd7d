"""Fixtures of the golden-set and SFT-dataset tests: a small world of reviews and reference summaries.

`sft_world` seeds the sample generator without defects (every review is clean), writes its ground truth
(`products.jsonl`, the local profile's references) and puts every review, as one chunk, into a LanceDB
index behind the `reviews` alias. Balanced contexts are ordered by metadata (helpful votes, dates), not
by similarity, so the vectors are small deterministic ones made here rather than a model's.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from common.ids import stable_hash
from common.settings import get_settings
from common.vector_store import ChunkRecord, VectorStore, open_vector_store
from sample_source import generate, iter_labelled_reviews

SFT_SEED, SFT_PRODUCTS, SFT_MEAN_REVIEWS, SFT_DAYS = 7, 60, 30, 14
SFT_END_DATE = date(2026, 11, 20)
SFT_DIM = 4
SFT_MODEL = "test-vectors@1"
SFT_INDEX = "reviews-test-1"


@dataclass(frozen=True)
class SftWorld:
    data_dir: Path
    references_uri: str
    index: str
    store: VectorStore


def sft_record(
    review_id: str,
    product_id: str,
    text: str,
    stars: int,
    language: str,
    created_at: datetime,
    helpful_votes: int,
) -> ChunkRecord:
    """A review as its single chunk, with a unit vector derived from its id."""
    raw = hashlib.sha256(review_id.encode()).digest()[:SFT_DIM]
    vector = [b + 1.0 for b in raw]
    norm = sum(v * v for v in vector) ** 0.5
    return ChunkRecord(
        chunk_id=stable_hash(review_id, 0, text, SFT_MODEL),
        review_id=review_id,
        product_id=product_id,
        chunk_index=0,
        text=text,
        vector=[v / norm for v in vector],
        star_rating=stars,
        language=language,
        created_at=created_at,
        helpful_votes=helpful_votes,
        verified_purchase=True,
        embedding_model=SFT_MODEL,
        embedding_dim=SFT_DIM,
    )


@pytest.fixture(scope="module")
def sft_make_record() -> Callable[..., ChunkRecord]:
    return sft_record


def sft_registry_tags(prefix: str) -> list[str]:
    """The tags of the DVC registry under `prefix` (what was versioned, and what was not)."""
    listing = subprocess.run(
        ["git", "ls-remote", "--tags", get_settings().dvc.registry_url],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    refs = {
        line.split("\t", 1)[1].removeprefix("refs/tags/").removesuffix("^{}") for line in listing.splitlines()
    }
    return sorted(ref for ref in refs if ref.startswith(prefix))


@pytest.fixture(scope="module")
def sft_tags() -> Callable[[str], list[str]]:
    return sft_registry_tags


@pytest.fixture(scope="module")
def sft_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftWorld]:
    """A data folder of its own for the module: references, and their reviews behind the alias."""
    root = tmp_path_factory.mktemp("sft-world")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLMOPS_DATA_DIR", str(root / "data"))
        get_settings.cache_clear()
        settings = get_settings()
        ground_truth = root / "data" / "source" / "ground_truth"
        sample = {
            "seed": SFT_SEED,
            "products": SFT_PRODUCTS,
            "mean_reviews_per_product": SFT_MEAN_REVIEWS,
            "days": SFT_DAYS,
            "end_date": SFT_END_DATE,
            "defect_rate": 0.0,
        }
        generate(Path(str(settings.source.sqlite_path)), ground_truth, **sample)
        records = [
            sft_record(
                row["review_id"],
                row["product_id"],
                row["review_text"],
                int(row["star_rating"]),
                label["language"],
                datetime.fromisoformat(row["created_at"]).astimezone(UTC),
                int(row["helpful_votes"]),
            )
            for row, label in iter_labelled_reviews(**sample)
        ]
        store = open_vector_store(settings)
        store.create_index(SFT_INDEX, SFT_DIM)
        store.upsert(SFT_INDEX, records)
        store.swap_alias(settings.vector_store.alias, SFT_INDEX)
        assert settings.sft is not None and settings.sft.references_uri == str(
            ground_truth / "products.jsonl"
        )
        yield SftWorld(root / "data", settings.sft.references_uri, SFT_INDEX, store)
    get_settings.cache_clear()
