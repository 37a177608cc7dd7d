"""The SFT dataset's accounting: at each level (products, examples, snippets) what went in equals what
was kept plus what was removed, by reason. The quality gate checks that nothing is lost, and the result
and the dataset card carry the counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Removal reasons of the builder, by what they remove. A references line's reasons are in
# `pipelines.training.references`, a golden copy's in `pipelines.training.decontamination`.
GOLDEN_PRODUCT = "golden_product"
NO_USABLE_CONTEXT = "no_usable_context"
PROFILE_CAP = "profile_cap"
THIN_CONTEXT = "thin_context"
THIN_AFTER_DECONTAMINATION = "thin_after_decontamination"
FORGOTTEN_REVIEW = "forgotten_review"
IN_REMOVED_EXAMPLES = "in_removed_examples"


@dataclass
class Tally:
    """One level of the accounting: `in_ == kept + sum(removed)`, by reason."""

    in_: int = 0
    kept: int = 0
    removed: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "in": self.in_,
            "kept": self.kept,
            "removed": dict(sorted(self.removed.items())),
            "removed_total": sum(self.removed.values()),
        }

    @property
    def balanced(self) -> bool:
        return self.in_ == self.kept + sum(self.removed.values())


@dataclass
class Accounting:
    products: Tally = field(default_factory=Tally)
    examples: Tally = field(default_factory=Tally)
    snippets: Tally = field(default_factory=Tally)
    oversampled_copies: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "products": self.products.to_dict(),
            "examples": self.examples.to_dict(),
            "snippets": self.snippets.to_dict(),
            "oversampled_copies": self.oversampled_copies,
        }
