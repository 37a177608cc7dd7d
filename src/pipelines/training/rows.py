"""The trainer's row format, shared by the golden set and the SFT dataset.

A row is one example: one product in one language. Its fields: `example_id`, `product_id`, `language`,
`profile`, `split`, `repeat` (0 for an original, n for its n-th oversampled copy), `source` (how the
target was built: `pipelines.training.targets`), `snippets` (`review_id`, `chunk_id`, `star_rating`,
`text`, `bucket`, and `aspects`: the labelled mentions the snippet shows, null where none are known),
`target` (`pros` and `cons`, each claim with its `evidence`, and `summary`: the current prompt contract)
and `aspect_lexicon` (the phrases labelled targets are written with, null where none are known).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from common.ids import stable_hash
from common.retrieval import Snippet
from pipelines.training.references import Reference

if TYPE_CHECKING:
    from pipelines.training.targets import Grounded

TRAIN, VALIDATION, GOLDEN = "train", "validation", "golden"
SPLITS = (TRAIN, VALIDATION)
ROW_FIELDS = (
    "aspect_lexicon",
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
SNIPPET_FIELDS = ("aspects", "bucket", "chunk_id", "review_id", "star_rating", "text")
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
    grounded: Grounded,
    source: str,
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
        "source": source,
        "snippets": grounded.snippets,
        "target": grounded.target,
        "aspect_lexicon": grounded.lexicon,
    }
