"""Curated reference summaries: the targets of the golden set's and the SFT dataset's examples.

References come from a curated file (`sft.references_uri`: the sample generator's `products.jsonl`
locally, a human-written file of the same format on S3). A record may name its `language`; otherwise
every configured language in which the product has reviews gives an example.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from common import storage

log = logging.getLogger(__name__)

# Why a references line gives no product (the accounting's product-level removal reasons).
INVALID_REFERENCE = "invalid_reference"
DUPLICATE_REFERENCE = "duplicate_reference"


@dataclass(frozen=True)
class Reference:
    """A curated summary of one product: the target of its examples."""

    product_id: str
    profile: str
    target: dict[str, Any]
    language: str | None = None  # the summary's reviews' language, when the curator names one
    # Aspect -> (neutral phrase, as a pro, as a con): what labelled targets are phrased with, when known.
    lexicon: dict[str, list[str]] | None = None


def read_references(uri: str, profiles: Sequence[str]) -> tuple[list[Reference], Counter[str]]:
    """The usable references in file order, and the count of lines skipped by reason.

    Only the structure is checked here (a JSON object with a product id, a known profile and a
    `reference_summary` object); whether the summary itself is valid is the quality gate's question,
    so a bad one fails the run visibly instead of vanishing.
    """
    references: list[Reference] = []
    skipped: Counter[str] = Counter()
    seen: set[str] = set()
    with storage.open_uri(uri, "r") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            reference = _parse_reference(line, profiles)
            if reference is None:
                log.warning("references line %d is not a usable reference", number)
                skipped[INVALID_REFERENCE] += 1
            elif reference.product_id in seen:
                skipped[DUPLICATE_REFERENCE] += 1
            else:
                seen.add(reference.product_id)
                references.append(reference)
    return references, skipped


def _parse_reference(line: str, profiles: Sequence[str]) -> Reference | None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    product_id, profile = record.get("product_id"), record.get("profile")
    target, language = record.get("reference_summary"), record.get("language")
    if not isinstance(product_id, str) or not product_id.strip() or profile not in profiles:
        return None
    if not isinstance(target, dict) or (language is not None and not isinstance(language, str)):
        return None
    lexicon = record.get("aspect_lexicon")
    if lexicon is not None and not (
        isinstance(lexicon, dict)
        and all(
            isinstance(v, list) and len(v) == 3 and all(isinstance(x, str) for x in v)
            for v in lexicon.values()
        )
    ):
        return None
    return Reference(product_id, str(profile), dict(target), language, lexicon)
