"""Answers measured against labelled aspect mentions (`common.aspects`): the local yardstick.

- precision: claims that name an aspect a shown snippet mentions, with the claim's polarity;
- recall: claims of the grounded target (the reference of that context) that the answer names;
- evidence validity: cited snippets that mention the claim's aspect with its polarity.

A claim's aspect is read from its phrase through the product's lexicon (case and spacing aside); a phrase
that is none of the lexicon's counts as unsupported, and its citations as invalid: the labels cannot vouch
for it. Counts add up over answers (micro averages), so a report can be cut by any slice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from common.aspects import KEY_OF, NEGATIVE, POSITIVE, Lexicon, Mention
from common.prompts import ReviewSummary


@dataclass
class AspectScore:
    """Counts behind the three aspect metrics; add them up over answers, then read the ratios."""

    claims: int = 0
    supported: int = 0
    reference: int = 0
    recalled: int = 0
    citations: int = 0
    valid_citations: int = 0
    unknown_phrases: list[str] = field(default_factory=list)

    def add(self, other: AspectScore) -> None:
        self.claims += other.claims
        self.supported += other.supported
        self.reference += other.reference
        self.recalled += other.recalled
        self.citations += other.citations
        self.valid_citations += other.valid_citations
        self.unknown_phrases += other.unknown_phrases

    @property
    def precision(self) -> float | None:
        return self.supported / self.claims if self.claims else None

    @property
    def recall(self) -> float | None:
        return self.recalled / self.reference if self.reference else None

    @property
    def evidence_validity(self) -> float | None:
        return self.valid_citations / self.citations if self.citations else None


def score_answer(
    answer: ReviewSummary,
    shown: Sequence[Sequence[Mention]],
    reference: Mapping[str, Any],
    lexicon: Lexicon,
) -> AspectScore:
    """One answer against the shown mentions and the grounded `reference` target of its context."""
    score = AspectScore()
    mentioned = {(m.aspect, m.polarity) for mentions in shown for m in mentions}
    named: set[tuple[str, str]] = set()
    for polarity in (POSITIVE, NEGATIVE):
        for claim in getattr(answer, KEY_OF[polarity]):
            aspect = lexicon.aspect_of(claim.text, polarity)
            score.claims += 1
            if aspect is None:
                score.unknown_phrases.append(claim.text)
            else:
                named.add((aspect, polarity))
            score.supported += (aspect, polarity) in mentioned
            for number in claim.evidence:
                score.citations += 1
                if aspect is not None and 1 <= number <= len(shown):
                    score.valid_citations += any(
                        m.aspect == aspect and m.polarity == polarity for m in shown[number - 1]
                    )
    for polarity in (POSITIVE, NEGATIVE):
        for item in reference.get(KEY_OF[polarity], []):
            text = item["text"] if isinstance(item, Mapping) else item
            score.reference += 1
            score.recalled += (lexicon.aspect_of(text, polarity), polarity) in named
    return score
