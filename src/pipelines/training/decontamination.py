"""Decontamination against the golden set: no SFT example may train on what the evaluation judges.

The golden set's products never appear in the SFT dataset; a snippet whose review is in the golden set,
or whose text is an exact or near copy of a golden snippet (MinHash over word 3-shingles, the
ingestion's `common.text_dedup.DuplicateIndex`, threshold `sft.decontamination.near_duplicate_jaccard`),
is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from common.settings import DedupSettings

# Why a snippet is dropped as golden data (the accounting's snippet-level removal reasons).
GOLDEN_REVIEW = "golden_review"
GOLDEN_EXACT_DUPLICATE = "golden_exact_duplicate"
GOLDEN_NEAR_DUPLICATE = "golden_near_duplicate"
_COPY_REASONS = {"duplicate_text": GOLDEN_EXACT_DUPLICATE, "near_duplicate": GOLDEN_NEAR_DUPLICATE}


class Decontaminator:
    """What the golden set holds, to keep it out of training data: its products, its reviews, and its
    snippets' texts indexed for exact and near copies (the ingestion's MinHash `DuplicateIndex`)."""

    def __init__(
        self, golden_rows: Sequence[Mapping[str, Any]], dedup: DedupSettings, state_path: Path
    ) -> None:
        from common.text_dedup import DuplicateIndex

        self.products = {str(row["product_id"]) for row in golden_rows}
        self.review_ids: set[str] = set()
        self.index = DuplicateIndex(state_path, dedup)
        for row in golden_rows:
            for snippet in row["snippets"]:
                self.review_ids.add(str(snippet["review_id"]))
                self.index.add_text(str(snippet["review_id"]), str(snippet["text"]))
        self.index.commit()

    def reason(self, snippet: Mapping[str, Any]) -> str | None:
        """Why a snippet may not be trained on, or None."""
        if snippet["review_id"] in self.review_ids:
            return GOLDEN_REVIEW
        found = self.index.find_copy(str(snippet["text"]))
        return None if found is None else _COPY_REASONS[found[0]]

    def close(self) -> None:
        self.index.close()
