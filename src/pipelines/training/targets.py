"""Grounded targets: every example teaches an answer its own snippets support, citing them.

Pairing a context with its product's reference summary would reward naming aspects the model was never
shown: the hallucination the prompt forbids. So each example's target is built from its context:

- **With aspect labels** (`sft.aspect_labels_uri`: the sample generator's `review_labels.jsonl` locally),
  the target is computed from the mentions its snippets show (`common.aspects.grounded_target`): pros,
  cons, citations and the summary's weighing all follow from what the shown sentences say. The snippet
  records keep the shown mentions (`aspects`) and the row keeps the product's `aspect_lexicon`, so the
  golden set can measure answers against the same labels.
- **Without labels** (curated references in `aws`), each pro and con of the product's reference is kept
  only when the grounding scorer (`common.grounding`, the index's embedding model) finds snippets of
  this context that support it; those are its evidence. Dropped items are counted in the dataset card.

Either way the target is one of the current prompt contract, and `TargetStats` says what was built.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from common import storage
from common.aspects import (
    NEGATIVE_MAX_STARS,
    POSITIVE_MIN_STARS,
    Lexicon,
    Mention,
    grounded_target,
    mentions_shown,
    weighing_sentence,
)
from common.settings import Settings
from pipelines.training.inputs import sft_settings
from pipelines.training.references import Reference

log = logging.getLogger(__name__)

ASPECT_LABELS = "aspect_labels"  # the row `source` of a target computed from labelled mentions
GROUNDED_REFERENCE = "grounded_reference"  # the row `source` of a reference cut to what a context supports


@dataclass
class TargetStats:
    """What the targets of a dataset hold, for the dataset card."""

    source: str
    examples: int = 0
    claims: int = 0
    citations: int = 0
    examples_without_claims: int = 0
    reference_items: int = 0
    reference_items_unsupported: int = 0  # curated items no snippet of the context supports (dropped)
    unlabelled_snippets: int = 0  # snippets of reviews the labels do not know (their mentions unknown)

    def count(self, target: Mapping[str, Any]) -> None:
        claims = [*target["pros"], *target["cons"]]
        self.examples += 1
        self.claims += len(claims)
        self.citations += sum(len(c["evidence"]) for c in claims)
        self.examples_without_claims += not claims

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Grounded:
    """One example's grounded target, and its snippets as the row keeps them."""

    target: dict[str, Any]
    snippets: list[dict[str, Any]]
    lexicon: dict[str, list[str]] | None


class TargetBuilder(Protocol):
    source: str
    stats: TargetStats

    def build(self, reference: Reference, snippets: Sequence[Mapping[str, Any]]) -> Grounded: ...


@dataclass
class LabelledTargets:
    """Targets computed from labelled mentions (see the module docstring)."""

    mentions: Mapping[str, list[Mention]]
    source: str = ASPECT_LABELS
    stats: TargetStats = field(default_factory=lambda: TargetStats(ASPECT_LABELS))

    @classmethod
    def from_uri(cls, uri: str) -> LabelledTargets:
        """The labels file: one JSON object a line with `review_id` and `aspects`; the first line of a
        repeated id is its review (later ones are the defect rows that reuse it)."""
        mentions: dict[str, list[Mention]] = {}
        with storage.open_uri(uri, "r") as handle:
            for line in handle:
                if not line.strip():
                    continue
                label = json.loads(line)
                review_id = label.get("review_id")
                if isinstance(review_id, str) and review_id not in mentions:
                    mentions[review_id] = [Mention.from_dict(m) for m in label.get("aspects") or []]
        log.info("read aspect labels of %d reviews from %s", len(mentions), uri)
        return cls(mentions)

    def build(self, reference: Reference, snippets: Sequence[Mapping[str, Any]]) -> Grounded:
        if reference.lexicon is None:
            raise ValueError(f"reference {reference.product_id} has no aspect_lexicon to phrase claims with")
        shown = []
        for snippet in snippets:
            labelled = self.mentions.get(str(snippet["review_id"]))
            self.stats.unlabelled_snippets += labelled is None
            shown.append(mentions_shown(snippet["text"], labelled or []))
        target = grounded_target(snippets, shown, Lexicon(reference.lexicon))
        self.stats.count(target)
        records = [
            {**s, "aspects": [{"aspect": m.aspect, "polarity": m.polarity} for m in said]}
            for s, said in zip(snippets, shown, strict=True)
        ]
        return Grounded(target, records, dict(reference.lexicon))


class SupportScorer(Protocol):
    def supporting(self, claims: Sequence[str], snippets: Sequence[str]) -> list[list[int]]: ...


@dataclass
class GroundedReferences:
    """Curated references cut to what each context supports (see the module docstring)."""

    scorer: SupportScorer
    max_evidence: int
    source: str = GROUNDED_REFERENCE
    stats: TargetStats = field(default_factory=lambda: TargetStats(GROUNDED_REFERENCE))

    def build(self, reference: Reference, snippets: Sequence[Mapping[str, Any]]) -> Grounded:
        texts = [str(s["text"]) for s in snippets]
        target: dict[str, Any] = {}
        for key in ("pros", "cons"):
            items = [str(item) for item in reference.target.get(key) or []]
            support = self.scorer.supporting(items, texts)
            self.stats.reference_items += len(items)
            kept = [
                {"text": item, "evidence": numbers[: self.max_evidence]}
                for item, numbers in zip(items, support, strict=True)
                if numbers
            ]
            self.stats.reference_items_unsupported += len(items) - len(kept)
            target[key] = kept
        if len(target["pros"]) + len(target["cons"]) == (
            len(reference.target.get("pros") or []) + len(reference.target.get("cons") or [])
        ):
            target["summary"] = str(reference.target["summary"])
        else:
            # The curated sentence weighs items this context does not support: weigh what is left.
            stars = [int(s["star_rating"]) for s in snippets]
            target["summary"] = weighing_sentence(
                [c["text"] for c in target["pros"]],
                [c["text"] for c in target["cons"]],
                sum(s >= POSITIVE_MIN_STARS for s in stars),
                sum(s <= NEGATIVE_MAX_STARS for s in stars),
            )
        self.stats.count(target)
        return Grounded(target, [{**s, "aspects": None} for s in snippets], None)


def target_builder(settings: Settings) -> TargetBuilder:
    """Labelled targets when the configuration names aspect labels, else grounded references."""
    sft, _ = sft_settings(settings)
    if sft.aspect_labels_uri:
        return LabelledTargets.from_uri(sft.aspect_labels_uri)
    from common.grounding import open_grounding_scorer
    from common.prompts import load_prompt

    schema = load_prompt().output_schema["properties"]["pros"]["items"]["properties"]["evidence"]
    return GroundedReferences(open_grounding_scorer(settings), int(schema.get("maxItems", 8)))
