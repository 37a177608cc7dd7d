"""The challenger in the shadow of the champion: the same hour's prompts, answered, compared, never served.

Evaluation judges a challenger on the golden set; this is how it does on the products shoppers are
looking at this hour. For every prompt:

- `valid`: the share of each model's answers that the prompt contract accepts; `passed`: that every
  guardrail passed;
- `grounding` and `evidence_validity` of each (the guardrails' numbers, `common.grounding`), averaged
  over its valid answers;
- `balance`: of the contexts with at least `evaluation.balance_negative_share` negative snippets, the share
  whose answer names a con (the positivity-bias lesson);
- `agreement`: where both answered validly, how far they name the same things (Jaccard of their pros, and
  of their cons, by phrase, case and spacing aside), averaged.

The challenger's answers, with each prompt's numbers, go to `<lake>/batch/shadow/run=<run key>/` chunk by
chunk, and the totals to one MLflow run (`<prefix>/batch-shadow`), tagged with both versions, for the
promotion decision.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from common.answer_quality import negative_share
from common.prompts import ReviewSummary, canonical_json
from common.serving.client import Outcome, SummaryOutcome
from common.settings import Settings
from common.tracking import experiment_id, mlflow_for

if TYPE_CHECKING:
    from pipelines.batch.guard import Verdict
    from pipelines.batch.summarize import Prepared, ServedModel

log = logging.getLogger(__name__)

ROLES = ("champion", "challenger")
_PER_ROLE = ("valid", "passed", "grounding", "evidence_validity", "names_con")
SCHEMA = pa.schema(
    [
        ("run_key", pa.string()),
        ("product_id", pa.string()),
        ("language", pa.string()),
        ("model_version", pa.string()),
        ("raw_text", pa.string()),
        ("answer_json", pa.string()),
        ("failure_reason", pa.string()),
        ("guardrail_reasons", pa.list_(pa.string())),
        ("negative_context", pa.bool_()),
        ("agreement", pa.float64()),
        *[(f"{role}_{name}", pa.float64()) for role in ROLES for name in _PER_ROLE],
    ]
)


def _phrases(summary: ReviewSummary, key: str) -> set[str]:
    return {" ".join(text.split()).casefold() for text in summary.phrases(key)}  # type: ignore[arg-type]


def agreement(a: ReviewSummary, b: ReviewSummary) -> float:
    """Mean Jaccard similarity of the two answers' pros and of their cons (1 when both name none)."""
    scores = []
    for key in ("pros", "cons"):
        left, right = _phrases(a, key), _phrases(b, key)
        scores.append(1.0 if not left and not right else len(left & right) / len(left | right))
    return sum(scores) / len(scores)


def rows(
    plan: Mapping[str, Any],
    ready: Sequence[Prepared],
    challenger: ServedModel,
    answers: Mapping[str, Mapping[str, Outcome]],
    verdicts: Mapping[str, Mapping[str, Verdict]],
    balance_negative_share: float,
) -> list[dict[str, Any]]:
    """One row per prompt: the challenger's answer and both models' numbers."""
    out = []
    for item in ready:
        snippets = item.context.snippets
        negative = negative_share([s.hit.star_rating for s in snippets]) >= balance_negative_share
        outcome = answers["challenger"][item.key]
        row: dict[str, Any] = {
            "run_key": plan["run_key"],
            "product_id": item.entry.product_id,
            "language": item.entry.language,
            "model_version": challenger.version,
            "raw_text": outcome.text,
            "answer_json": canonical_json(outcome.summary) if isinstance(outcome, SummaryOutcome) else None,
            "failure_reason": None if isinstance(outcome, SummaryOutcome) else outcome.reason,
            "guardrail_reasons": None,
            "negative_context": negative,
            "agreement": None,
        }
        for role in ROLES:
            answer, verdict = answers[role][item.key], verdicts[role].get(item.key)
            valid = isinstance(answer, SummaryOutcome)
            row[f"{role}_valid"] = float(valid)
            row[f"{role}_passed"] = float(verdict is not None and verdict.passed)
            row[f"{role}_grounding"] = None if verdict is None else verdict.grounding
            row[f"{role}_evidence_validity"] = None if verdict is None else verdict.evidence_validity
            row[f"{role}_names_con"] = (
                float(bool(answer.summary.cons)) if negative and isinstance(answer, SummaryOutcome) else None
            )
        verdict = verdicts["challenger"].get(item.key)
        row["guardrail_reasons"] = None if verdict is None else list(verdict.reasons)
        champion_answer = answers["champion"][item.key]
        if isinstance(champion_answer, SummaryOutcome) and isinstance(outcome, SummaryOutcome):
            row["agreement"] = agreement(champion_answer.summary, outcome.summary)
        out.append(row)
    return out


@dataclass
class Tally:
    """Running sums of the rows' numbers: the report's means without keeping the rows."""

    prompts: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, batch: Sequence[Mapping[str, Any]]) -> None:
        for row in batch:
            self.prompts += 1
            for name in ("agreement", *[f"{r}_{n}" for r in ROLES for n in _PER_ROLE]):
                if row[name] is not None:
                    self.sums[name] = self.sums.get(name, 0.0) + float(row[name])
                    self.counts[name] = self.counts.get(name, 0) + 1

    def metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = {"prompts": self.prompts, "compared": self.counts.get("agreement", 0)}
        for name, total in sorted(self.sums.items()):
            metric = name.replace("names_con", "balance")
            out[metric] = total / self.counts[name]
        return out


def report(
    settings: Settings,
    plan: Mapping[str, Any],
    tally: Tally,
    champion: ServedModel,
    challenger: ServedModel,
    uri: str,
) -> dict[str, Any]:
    """Log the comparison to MLflow; returns the numbers and where the answers are."""
    metrics = tally.metrics()
    mlflow = mlflow_for(settings)
    with mlflow.start_run(
        experiment_id=experiment_id(settings, "batch-shadow"), run_name=f"shadow-{plan['run_key']}"
    ) as run:
        mlflow.set_tags(
            {
                "llmops.batch.run_key": plan["run_key"],
                "llmops.champion.version": champion.version,
                "llmops.challenger.version": challenger.version,
                "llmops.shadow.answers_uri": uri,
            }
        )
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        run_id = run.info.run_id
    log.info(
        "shadow: challenger v%s against champion v%s: %s",
        challenger.version,
        champion.version,
        {k: round(v, 3) if isinstance(v, float) else v for k, v in metrics.items()},
    )
    return {**metrics, "answers_uri": uri, "mlflow_run_id": run_id}
