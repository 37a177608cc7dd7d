"""The trainer's row format, shared by the golden set and the SFT dataset.

A row is one example: one product in one language. Its fields: `example_id`, `product_id`, `language`,
`profile`, `split`, `repeat` (0 for an original, n for its n-th oversampled copy), `source`, `snippets`
(`review_id`, `chunk_id`, `star_rating`, `text`, `bucket`) and `target` (`pros`, `cons`, `summary`).
"""

from __future__ import annotations

from typing import Any

from common.ids import stable_hash
from common.retrieval import Snippet
from pipelines.training.references import Reference

TRAIN, VALIDATION, GOLDEN = "train", "validation", "golden"
SPLITS = (TRAIN, VALIDATION)
SOURCE = "reference_summary"  # where targets come from: a curated reference, not a model's output
ROW_FIELDS = (
    "example_id",
    "language",
    "product_id",
    "profile",
    "repeat",
    "snippets",
    "source",
    "split",
    "target",
)
SNIPPET_FIELDS = ("bucket", "chunk_id", "review_id", "star_rating", "text")
TARGET_FIELDS = ("cons", "pros", "summary")


def snippet_record(snippet: Snippet) -> dict[str, Any]:
    hit = snippet.hit
    return {
        "review_id": hit.review_id,
        "chunk_id": hit.chunk_id,
        "star_rating": hit.star_rating,
        "text": hit.text,
        "bucket": snippet.bucket,
    }


def example_row(
    kind: str,
    reference: Reference,
    language: str,
    snippets: list[dict[str, Any]],
    split: str,
    repeat: int = 0,
) -> dict[str, Any]:
    """One row of the trainer's format; its id is stable for the same product, language and copy."""
    return {
        "example_id": stable_hash(kind, reference.product_id, language, repeat),
        "product_id": reference.product_id,
        "language": language,
        "profile": reference.profile,
        "split": split,
        "repeat": repeat,
        "source": SOURCE,
        "snippets": snippets,
        "target": reference.target,
    }
