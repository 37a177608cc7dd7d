"""Whether review snippets support a claim, by meaning: the grounding scorer.

Where no labels say what a review mentions (curated references, a served model's answers), support is
judged with the embedding model the index uses: a snippet supports a claim when one of its sentences is
at least `grounding.min_similarity` (thresholds.yaml) similar to the claim (cosine of L2-normalised
vectors). A sentence, not the whole snippet, because a review that praises five things is far from each.

What it can and cannot see: it sees topic (a battery claim and a battery sentence are near), so an
invented aspect finds no support; it sees polarity only weakly ("long battery life" and "the battery
died in a day" share a topic), so a flipped pro or con can pass; and it sees across languages only as far
as the model does: the offline MiniLM is English-only, so a German snippet rarely supports an English
claim there, where the multilingual Titan model of the `aws` profile does. Numbers scored offline are a
lower bound on grounding in other languages, never a measure of polarity.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from common.embedders import Embedder

# A sentence ends at . ! ? (or a run of them) followed by space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    """The sentences of a snippet, stripped, empty ones dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


class GroundingScorer:
    """Which of a context's snippets support each claim: see the module docstring."""

    def __init__(self, embedder: Embedder, min_similarity: float) -> None:
        self.embedder = embedder
        self.min_similarity = min_similarity

    def supporting(self, claims: Sequence[str], snippets: Sequence[str]) -> list[list[int]]:
        """For each claim, the numbers (from 1) of the snippets that support it, in order."""
        if not claims:
            return []
        owner: list[int] = []
        parts: list[str] = []
        for number, snippet in enumerate(snippets, start=1):
            for sentence in sentences(snippet):
                owner.append(number)
                parts.append(sentence)
        if not parts:
            return [[] for _ in claims]
        vectors = self.embedder.encode([*claims, *parts])
        similarity = vectors[: len(claims)] @ vectors[len(claims) :].T
        out = []
        for row in similarity:
            numbers = sorted({owner[i] for i, value in enumerate(row) if value >= self.min_similarity})
            out.append(numbers)
        return out
