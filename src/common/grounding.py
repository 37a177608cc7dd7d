"""Whether review snippets support a claim, by meaning: the grounding scorer.

Where no labels say what a review mentions (curated references, a served model's answers), support is
judged with an embedding model: a snippet supports a claim when one of its sentences is at least
`grounding.min_similarity` (thresholds.yaml) similar to the claim (cosine of L2-normalised vectors). A
sentence, not the whole snippet, because a review that praises five things is far from each.

The model is `embedding.grounding_model` (the index's model when unset), opened by
`open_grounding_scorer`: evaluation, the training references, batch guardrails and monitoring use that
one function. What each profile's model can and cannot see:

- `aws`: the index's multilingual Titan model. It sees topic across languages (a battery claim and a
  battery sentence are near, an invented aspect finds no support) and polarity only weakly ("long
  battery life" and "the battery died in a day" share a topic), so a flipped pro or con can pass.
- `local`: the shipped all-MiniLM-L6-v2 is English-only and polarity-blind: it found no support for an
  English claim in a German snippet and took cons for pros. `local_models.grounding_encoder` aligns it
  (contrastively, on the sample catalogue's labelled sentences) to the catalogue's six languages and to
  polarity; its held-out check is in the model's `build.json` (on a catalogue it never saw: 0.97 of true
  supports found, and of those found 0.97 true in English, 0.58-0.79 in the other languages, where a
  sentence blaming an aspect still passes for its pro at times). It knows the catalogue's vocabulary,
  not the languages, so on real text its numbers mean nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from common.embedders import Embedder
    from common.prompts import ReviewSummary

# A sentence ends at . ! ? (or a run of them) followed by space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    """The sentences of a snippet, stripped, empty ones dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


@dataclass(frozen=True)
class AnswerGrounding:
    """How well one answer stands on its context: the numbers evaluation gates, batch inference guards
    and monitoring tracks, computed in one place."""

    support: list[list[int]]  # per claim (pros, then cons), the snippets that support it
    grounding: float | None  # share of claims with a supporting snippet (None: no claims)
    evidence_validity: float | None  # share of citations whose snippet supports its claim (None: none)

    @property
    def unsupported(self) -> int:
        return sum(not found for found in self.support)


class GroundingScorer:
    """Which of a context's snippets support each claim: see the module docstring."""

    def __init__(self, embedder: Embedder, min_similarity: float) -> None:
        self.embedder = embedder
        self.min_similarity = min_similarity

    def supporting(self, claims: Sequence[str], snippets: Sequence[str]) -> list[list[int]]:
        """For each claim, the numbers (from 1) of the snippets that support it, in order."""
        return self.supporting_many([(claims, snippets)])[0]

    def supporting_many(self, pairs: Sequence[tuple[Sequence[str], Sequence[str]]]) -> list[list[list[int]]]:
        """`supporting` for many (claims, snippets) pairs with one call to the model: a batch of answers
        is embedded together, so the model sees full batches instead of one answer's few sentences."""
        texts: list[str] = []
        spans = []
        for claims, snippets in pairs:
            owner = [number for number, snippet in enumerate(snippets, start=1) for _ in sentences(snippet)]
            start = len(texts)
            texts += claims
            texts += [sentence for snippet in snippets for sentence in sentences(snippet)]
            spans.append((start, len(claims), owner))
        vectors = self._encode_once(texts) if texts else None
        out: list[list[list[int]]] = []
        for start, count, owner in spans:
            if not count or not owner or vectors is None:
                out.append([[] for _ in range(count)])
                continue
            claims_v = vectors[start : start + count]
            parts_v = vectors[start + count : start + count + len(owner)]
            similarity = claims_v @ parts_v.T
            out.append(
                [
                    sorted({owner[i] for i, value in enumerate(row) if value >= self.min_similarity})
                    for row in similarity
                ]
            )
        return out

    def _encode_once(self, texts: list[str]) -> Any:
        """The vectors of `texts`, each distinct text encoded once: claims repeat across answers ("long
        battery life"), and a shadow run checks champion and challenger against the same snippets."""
        distinct = list(dict.fromkeys(texts))
        if len(distinct) == len(texts):
            return self.embedder.encode(texts)
        row = {text: i for i, text in enumerate(distinct)}
        return self.embedder.encode(distinct)[[row[text] for text in texts]]

    def check(self, summary: ReviewSummary, snippets: Sequence[str]) -> AnswerGrounding:
        """Each claim of `summary` against `snippets` (the context, numbered from 1): a claim may be
        true and still cite the wrong review, so support and citations are measured apart."""
        return self.check_many([(summary, snippets)])[0]

    def check_many(self, answers: Sequence[tuple[ReviewSummary, Sequence[str]]]) -> list[AnswerGrounding]:
        """`check` for many answers, embedded together (`supporting_many`)."""
        claim_lists = [[*summary.pros, *summary.cons] for summary, _ in answers]
        supports = self.supporting_many(
            [
                ([c.text for c in claims], snippets)
                for claims, (_, snippets) in zip(claim_lists, answers, strict=True)
            ]
        )
        out = []
        for claims, support in zip(claim_lists, supports, strict=True):
            cited = [
                number in found
                for claim, found in zip(claims, support, strict=True)
                for number in claim.evidence
            ]
            out.append(
                AnswerGrounding(
                    support=support,
                    grounding=sum(bool(found) for found in support) / len(claims) if claims else None,
                    evidence_validity=sum(cited) / len(cited) if cited else None,
                )
            )
        return out


def open_grounding_scorer(settings: Any) -> GroundingScorer:
    """The profile's grounding scorer: `embedding.grounding_model` at `grounding.min_similarity`."""
    from common.embedders import open_embedder

    if settings.thresholds.grounding is None:
        raise ValueError("thresholds.yaml has no `grounding` section: claims cannot be grounded")
    embedder = open_embedder(settings, settings.embedding.grounding_model)
    return GroundingScorer(embedder, settings.thresholds.grounding.min_similarity)
