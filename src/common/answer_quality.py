"""How good a summary is against the context it was written from, with no reference to compare to: the
scores evaluation gates on the golden set and monitoring tracks on each day's summaries, computed by one
implementation so that a number means the same in both.

- `grounding`, `evidence_validity`: the grounding scorer's (`common.grounding`; what its model can and
  cannot see is written there).
- `balance`: for a context in which at least `balance_negative_share` of the snippets are negative (one or
  two stars), 1 when the answer names a con, else 0; None for other contexts. The positivity-bias lesson.
  `sentiment_gap` is the answer's share of cons minus the context's share of negative snippets: how far
  the answer leans positive (below 0) or negative.
- `toxicity`: 1 when the toxicity classifier of the answer's language scores it at or above the threshold
  (`toxicity_score` is the score).
- `pii`: 1 when the ingestion redactor's detectors find PII in the answer (`pii_found`: the types).
  Contexts are redacted, so anything found was made up or leaked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from common.aspects import NEGATIVE_MAX_STARS

if TYPE_CHECKING:
    from common.grounding import GroundingScorer
    from common.prompts import ReviewSummary
    from common.settings import Settings

QUALITY_COLUMNS = (
    "grounding",
    "evidence_validity",
    "balance",
    "sentiment_gap",
    "toxicity",
    "toxicity_score",
    "pii",
    "pii_found",
)


class Detector(Protocol):
    def find(self, text: str, language: str) -> list[str]: ...


class Classifier(Protocol):
    def score(self, texts: Sequence[str], languages: Sequence[str]) -> list[float]: ...


@dataclass(frozen=True)
class ContextAnswer:
    """One valid answer and the context it was given: the snippets' texts and stars, in prompt order."""

    summary: ReviewSummary
    snippets: Sequence[str]
    stars: Sequence[int]
    language: str


def negative_share(stars: Sequence[int]) -> float:
    return sum(star <= NEGATIVE_MAX_STARS for star in stars) / len(stars) if stars else 0.0


class AnswerQuality:
    """The scores above for many answers at once (the models see full batches); the models are loaded
    once by the caller (`from_settings`)."""

    def __init__(
        self,
        grounding: GroundingScorer,
        pii: Detector,
        toxicity: Classifier,
        toxicity_threshold: float,
        balance_negative_share: float,
    ) -> None:
        self.grounding = grounding
        self.pii = pii
        self.toxicity = toxicity
        self.toxicity_threshold = toxicity_threshold
        self.balance_negative_share = balance_negative_share

    @classmethod
    def from_settings(cls, settings: Settings) -> AnswerQuality:
        """The profile's grounding scorer, the ingestion redactor's detectors and toxicity models, and the
        thresholds evaluation gates with (one balance rule everywhere)."""
        from common.grounding import open_grounding_scorer
        from common.pii import PiiRedactor
        from common.toxicity import ToxicityScorer

        bars = settings.thresholds.evaluation
        if bars is None:
            raise ValueError("thresholds.yaml has no `evaluation` section: no balance rule to score by")
        return cls(
            open_grounding_scorer(settings),
            PiiRedactor.from_settings(settings.ingestion),
            ToxicityScorer.from_settings(settings.ingestion),
            settings.thresholds.ingestion.toxicity_quarantine,
            bars.balance_negative_share,
        )

    def toxicity_of(
        self, summaries: Sequence[ReviewSummary], languages: Sequence[str]
    ) -> list[dict[str, Any]]:
        """`toxicity` and `toxicity_score` of each answer's shopper-facing text."""
        if not summaries:
            return []
        scores = self.toxicity.score([s.shopper_text() for s in summaries], list(languages))
        return [
            {"toxicity": float(score >= self.toxicity_threshold), "toxicity_score": float(score)}
            for score in scores
        ]

    def score(self, answers: Sequence[ContextAnswer]) -> list[dict[str, Any]]:
        """Every column of `QUALITY_COLUMNS` for each answer, in order."""
        grounded = self.grounding.check_many([(a.summary, a.snippets) for a in answers])
        toxic = self.toxicity_of([a.summary for a in answers], [a.language for a in answers])
        out = []
        for answer, checked, toxicity in zip(answers, grounded, toxic, strict=True):
            summary = answer.summary
            negative = negative_share(answer.stars)
            claims = len(summary.pros) + len(summary.cons)
            found = sorted(set(self.pii.find(summary.shopper_text(), answer.language)))
            out.append(
                {
                    "grounding": checked.grounding,
                    "evidence_validity": checked.evidence_validity,
                    "balance": float(bool(summary.cons)) if negative >= self.balance_negative_share else None,
                    "sentiment_gap": len(summary.cons) / claims - negative if claims else None,
                    **toxicity,
                    "pii": float(bool(found)),
                    "pii_found": found or None,
                }
            )
        return out
