"""What an answer must pass before a shopper may see it: the batch's output guardrails.

The serving client already refused what breaks the prompt contract (not JSON, off-schema, a citation of a
snippet that was not shown: its failure reasons). What a valid answer can still get wrong is checked here,
with the scorers evaluation uses (one implementation each), at the bars of `thresholds.yaml` `batch`:

- `ungrounded`: fewer than `min_grounding` of its pros and cons have a supporting snippet
  (`common.grounding`; what its model can and cannot see is documented there);
- `evidence_invalid`: fewer than `min_evidence_validity` of its citations support their claim: a shopper
  who clicks the claim would read a review that does not say it;
- `pii`: the ingestion redactor's detectors find personal data in it. Contexts were redacted at
  ingestion, so it was made up or leaked; by `batch.pii_in_answer` the answer is rejected, or cached with
  each value replaced by its type, as ingestion does;
- `toxic`: the toxicity classifier of the context's language scores it at or above `max_toxicity`.

A rejected answer becomes a failure record with these reasons, never a cached summary. Every check runs
on every answer (not only up to the first failure), so the lineage records all that was wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from common.grounding import AnswerGrounding, GroundingScorer
from common.prompts import Claim, ReviewSummary

PiiAction = Literal["redact", "reject"]


class Detector(Protocol):
    def redact(self, text: str, language: str) -> tuple[str, list[str]]: ...


class Classifier(Protocol):
    def score(self, texts: Sequence[str], languages: Sequence[str]) -> list[float]: ...


@dataclass(frozen=True)
class GuardInput:
    summary: ReviewSummary
    snippets: Sequence[str]  # the context's texts, numbered from 1 in the prompt
    language: str


@dataclass(frozen=True)
class Verdict:
    """One answer's guardrail results; `summary` is what may be cached (PII redacted) when `passed`."""

    summary: ReviewSummary
    reasons: list[str] = field(default_factory=list)  # empty: passed
    grounding: float | None = None
    evidence_validity: float | None = None
    support: list[list[int]] = field(default_factory=list)  # per claim, the snippets that support it
    pii_found: list[str] = field(default_factory=list)
    toxicity: float | None = None

    @property
    def passed(self) -> bool:
        return not self.reasons

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reasons": self.reasons,
            "grounding": self.grounding,
            "evidence_validity": self.evidence_validity,
            "pii_found": self.pii_found,
            "toxicity": self.toxicity,
        }


class Guardrails:
    """The checks above; the models behind them are loaded once by the caller (`from_settings`)."""

    def __init__(
        self,
        grounding: GroundingScorer,
        pii: Detector,
        toxicity: Classifier,
        *,
        min_grounding: float,
        min_evidence_validity: float,
        max_toxicity: float,
        pii_action: PiiAction,
    ) -> None:
        self.grounding = grounding
        self.pii = pii
        self.toxicity = toxicity
        self.min_grounding = min_grounding
        self.min_evidence_validity = min_evidence_validity
        self.max_toxicity = max_toxicity
        self.pii_action = pii_action

    @classmethod
    def from_settings(cls, settings: Any) -> Guardrails:
        from common.grounding import open_grounding_scorer
        from common.pii import PiiRedactor
        from common.toxicity import ToxicityScorer

        bars = settings.thresholds.batch
        if bars is None:
            raise ValueError("thresholds.yaml has no `batch` section: answers cannot be guarded")
        return cls(
            open_grounding_scorer(settings),
            PiiRedactor.from_settings(settings.ingestion),
            ToxicityScorer.from_settings(settings.ingestion),
            min_grounding=bars.min_grounding,
            min_evidence_validity=bars.min_evidence_validity,
            max_toxicity=bars.max_toxicity,
            pii_action=settings.batch.pii_in_answer,
        )

    def check(self, answers: Sequence[GuardInput]) -> list[Verdict]:
        """One verdict per answer, in order; toxicity and grounding are scored for all answers at once
        (the models see full batches, and a text shared by answers is encoded once)."""
        scores = self.toxicity.score(
            [a.summary.shopper_text() for a in answers], [a.language for a in answers]
        )
        grounded = self.grounding.check_many([(a.summary, a.snippets) for a in answers])
        return [
            self._one(answer, checked, score)
            for answer, checked, score in zip(answers, grounded, scores, strict=True)
        ]

    def _one(self, answer: GuardInput, checked: AnswerGrounding, toxicity: float) -> Verdict:
        reasons = []
        if checked.grounding is not None and checked.grounding < self.min_grounding:
            reasons.append("ungrounded")
        if checked.evidence_validity is not None and checked.evidence_validity < self.min_evidence_validity:
            reasons.append("evidence_invalid")
        summary, found = self._redacted(answer.summary, answer.language)
        if found and self.pii_action == "reject":
            reasons.append("pii")
        if toxicity >= self.max_toxicity:
            reasons.append("toxic")
        return Verdict(
            summary=summary if self.pii_action == "redact" else answer.summary,
            reasons=reasons,
            grounding=checked.grounding,
            evidence_validity=checked.evidence_validity,
            support=checked.support,
            pii_found=found,
            toxicity=toxicity,
        )

    def _redacted(self, summary: ReviewSummary, language: str) -> tuple[ReviewSummary, list[str]]:
        """The answer with each personal value replaced by its type, and the types found."""
        found: set[str] = set()

        def clean(text: str) -> str:
            redacted, entities = self.pii.redact(text, language)
            found.update(entities)
            return redacted

        def claims(items: Sequence[Claim]) -> tuple[Claim, ...]:
            return tuple(claim.model_copy(update={"text": clean(claim.text)}) for claim in items)

        redacted = summary.model_copy(
            update={
                "pros": claims(summary.pros),
                "cons": claims(summary.cons),
                "summary": clean(summary.summary),
            }
        )
        return redacted, sorted(found)
