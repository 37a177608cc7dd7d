"""The challenger in the shadow of the champion: the same hour's prompts, answered, compared, never served.

Evaluation judges a challenger on the golden set; this is how it does on the products shoppers are
looking at this hour. For every prompt both answered validly:

- `agreement`: how far the two name the same things (Jaccard of their pros, and of their cons, by phrase,
  case and spacing aside), averaged;
- `grounding` and `evidence_validity` of each (the guardrails' numbers, `common.grounding`);
- `balance`: of the contexts with at least `evaluation.balance_negative_share` negative snippets, the share
  whose answer names a con (the positivity-bias lesson);
- `passed`: the share of each model's answers that every guardrail passed; `valid`: schema-valid answers.

The challenger's answers go to `<lake>/batch/shadow/run=<run key>/` and the numbers to one MLflow run
(`<prefix>/batch-shadow`), tagged with both versions, for the promotion decision.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from statistics import fmean
from typing import TYPE_CHECKING, Any

from common import storage
from common.aspects import NEGATIVE_MAX_STARS
from common.prompts import ReviewSummary, canonical_json
from common.serving.client import Outcome, SummaryOutcome
from common.settings import Settings
from common.tracking import experiment_id, mlflow_for

if TYPE_CHECKING:
    from pipelines.batch.guard import Verdict
    from pipelines.batch.summarize import Prepared, ServedModel

log = logging.getLogger(__name__)


def _phrases(summary: ReviewSummary, key: str) -> set[str]:
    return {" ".join(text.split()).casefold() for text in summary.phrases(key)}  # type: ignore[arg-type]


def agreement(a: ReviewSummary, b: ReviewSummary) -> float:
    """Mean Jaccard similarity of the two answers' pros and of their cons (1 when both name none)."""
    scores = []
    for key in ("pros", "cons"):
        left, right = _phrases(a, key), _phrases(b, key)
        scores.append(1.0 if not left and not right else len(left & right) / len(left | right))
    return fmean(scores)


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def compare(
    ready: Sequence[Prepared],
    answers: Mapping[str, Mapping[str, Outcome]],
    verdicts: Mapping[str, Mapping[str, Verdict]],
    balance_negative_share: float,
) -> dict[str, Any]:
    """The report's numbers (see the module docstring), `None` where no answer allows one."""
    roles = ("champion", "challenger")
    metrics: dict[str, Any] = {"prompts": len(ready)}
    for role in roles:
        outcomes = [answers[role][item.key] for item in ready]
        valid = [o for o in outcomes if isinstance(o, SummaryOutcome)]
        judged = [verdicts[role][item.key] for item in ready if item.key in verdicts[role]]
        metrics[f"{role}_valid"] = len(valid) / len(ready) if ready else None
        metrics[f"{role}_passed"] = sum(v.passed for v in judged) / len(ready) if ready else None
        metrics[f"{role}_grounding"] = _mean([v.grounding for v in judged])
        metrics[f"{role}_evidence_validity"] = _mean([v.evidence_validity for v in judged])
        negative = [
            item
            for item in ready
            if sum(s.hit.star_rating <= NEGATIVE_MAX_STARS for s in item.context.snippets)
            >= balance_negative_share * len(item.context.snippets)
        ]
        named = [
            bool(o.summary.cons)
            for item in negative
            if isinstance(o := answers[role][item.key], SummaryOutcome)
        ]
        metrics[f"{role}_balance"] = sum(named) / len(named) if named else None
    pairs = [
        agreement(a.summary, b.summary)
        for item in ready
        if isinstance(a := answers["champion"][item.key], SummaryOutcome)
        and isinstance(b := answers["challenger"][item.key], SummaryOutcome)
    ]
    metrics["agreement"] = _mean(pairs)
    metrics["compared"] = len(pairs)
    return metrics


def report(
    settings: Settings,
    plan: Mapping[str, Any],
    ready: Sequence[Prepared],
    champion: ServedModel,
    challenger: ServedModel,
    answers: Mapping[str, Mapping[str, Outcome]],
    verdicts: Mapping[str, Mapping[str, Verdict]],
) -> dict[str, Any]:
    """Store the challenger's answers, log the comparison to MLflow; returns the numbers and where."""
    import pandas as pd

    bars = settings.thresholds.evaluation
    metrics = compare(ready, answers, verdicts, bars.balance_negative_share if bars else 0.4)
    rows = []
    for item in ready:
        outcome = answers["challenger"][item.key]
        verdict = verdicts["challenger"].get(item.key)
        rows.append(
            {
                "run_key": plan["run_key"],
                "product_id": item.entry.product_id,
                "language": item.entry.language,
                "model_version": challenger.version,
                "raw_text": outcome.text,
                "answer_json": canonical_json(outcome.summary)
                if isinstance(outcome, SummaryOutcome)
                else None,
                "failure_reason": None if isinstance(outcome, SummaryOutcome) else outcome.reason,
                "guardrail_reasons": None if verdict is None else list(verdict.reasons),
            }
        )
    uri = storage.join(plan["shadow_uri"], "answers.parquet")
    storage.remove(plan["shadow_uri"])
    with storage.open_uri(uri, "wb") as handle:
        pd.DataFrame(rows).to_parquet(handle, index=False)

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
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None})
        run_id = run.info.run_id
    log.info(
        "shadow: challenger v%s against champion v%s on %d prompts: %s",
        challenger.version,
        champion.version,
        len(ready),
        {k: round(v, 3) if isinstance(v, float) else v for k, v in metrics.items()},
    )
    return {**metrics, "answers_uri": uri, "mlflow_run_id": run_id}
