"""The promotion gate: may this candidate replace the champion, and every reason why or why not.

    python -m pipelines.evaluation.gate --generate-result-uri URI --score-result-uri URI --result-uri URI

The `gate` heavy step decides and records: one MLflow run under `<prefix>/evaluation` per evaluation,
tagged with both model versions, holding every metric overall and per slice under names that line the
models up in MLflow's compare view (`candidate.grounding`, `champion.grounding`,
`candidate.grounding.profile:polarized`), the per-row scores as MLflow tables an analyst can sort, and the
decision with every check. Both model versions get the run's id and the verdict as tags. A failing
candidate fails the step (exit code 3) with its reasons, and keeps its `candidate` alias.

It reads per-row scores (one row per golden-set product and model: `pipelines.evaluation.scoring`) and
applies the bars of `thresholds.yaml evaluation:` in two tests:

1. **Floors.** Each gated metric, overall and in every slice (language, product profile, review-count
   bucket) of at least `min_slice_rows` rows, at or above its `min` (or at or below its `max`). An average
   cannot hide a slice: the reference design's positivity-bias incident was a polarized slice failing under
   an average that looked fine. A smaller slice is reported with its value and marked as not gated.
2. **Non-inferiority against the champion**, on the rows both models have a value for: the mean of the
   paired differences (candidate minus champion, signed so that positive is better) with a one-sided
   bootstrap confidence bound. The candidate fails a metric when that lower bound is below `-margin`: it is
   worse than the champion by more than the margin, beyond what resampling the golden set explains. A
   lower bound above zero is reported as better; anything between as non-inferior. A "must be 5% better"
   rule (the reference design's) is never met once the champion is good; this one asks only that nothing
   got worse.

The first model ever (no champion) is judged on floors alone, and the decision says so. A metric that no
row has a value for (an LLM judge that is not configured, balance when no context is negative enough) is
reported as not measured, never as passed by default; its floor cannot fail, which the decision states.
"""

from __future__ import annotations

import logging
import re
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from common import storage
from common.settings import Settings, get_settings
from common.settings.models import EvaluationThresholds, MetricGate
from common.step_entrypoint import QualityGateFailed, run_step, step_parser
from common.tracking import experiment_id, mlflow_for

log = logging.getLogger(__name__)

OVERALL = "overall"
Row = Mapping[str, Any]  # an example id, slice columns, and metric values (a number, or None: not applicable)


@dataclass(frozen=True)
class Check:
    """One bar applied to one metric on one slice; `passed` is None when the check could not apply."""

    kind: str  # "floor" or "non_inferiority"
    metric: str
    slice: str  # "overall" or "<column>:<value>" (MLflow metric names take a colon, not "=")
    value: float | None  # the candidate's mean, or the mean paired difference
    bound: float  # the floor or ceiling, or -margin
    rows: int
    passed: bool | None
    detail: str

    def sentence(self) -> str:
        shown = "n/a" if self.value is None else f"{self.value:.3f}"
        where = f"{self.kind} {self.metric} [{self.slice}]"
        return f"{where}: {shown} vs {self.bound:g} over {self.rows} rows, {self.detail}"


@dataclass
class Decision:
    """The gate's verdict and every check behind it, as the evaluation run records them."""

    passed: bool
    first_model: bool
    checks: list[Check] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """Why the candidate failed: one sentence per failed check (empty when it passed)."""
        return [check.sentence() for check in self.checks if check.passed is False]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "first_model": self.first_model,
            "reasons": self.reasons,
            "checks": [asdict(check) for check in self.checks],
        }


def metric_values(rows: Sequence[Row], metric: str) -> list[float]:
    return [float(row[metric]) for row in rows if row.get(metric) is not None]


def slices_of(rows: Sequence[Row], columns: Sequence[str]) -> dict[str, list[Row]]:
    """The rows of every slice: all of them under "overall", then one group per value of each column."""
    groups: dict[str, list[Row]] = {OVERALL: list(rows)}
    by_value: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        for column in columns:
            if row.get(column) is not None:
                by_value[f"{column}:{row[column]}"].append(row)
    groups.update(sorted(by_value.items()))
    return groups


def floor_check(metric: str, gate: MetricGate, name: str, rows: Sequence[Row], min_rows: int) -> Check:
    """The candidate's mean of `metric` on one slice against the metric's floor or ceiling."""
    values = metric_values(rows, metric)
    bound = gate.min if gate.min is not None else gate.max
    assert bound is not None  # MetricGate guarantees one of them
    if not values:
        return Check("floor", metric, name, None, bound, 0, None, "not measured: no row has a value")
    mean = float(np.mean(values))
    if name != OVERALL and len(values) < min_rows:
        return Check(
            "floor", metric, name, mean, bound, len(values), None, f"not gated: fewer than {min_rows} rows"
        )
    passed = mean >= bound if gate.higher_is_better else mean <= bound
    return Check(
        "floor", metric, name, mean, bound, len(values), passed, "met" if passed else "below the bar"
    )


def paired_bootstrap(
    differences: Sequence[float], samples: int, confidence: float, seed: int
) -> tuple[float, float, float]:
    """The mean of paired differences and its one-sided (lower, upper) bounds at `confidence`."""
    diffs = np.asarray(differences, dtype=float)
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), size=(samples, len(diffs)))].mean(axis=1)
    low, high = np.quantile(means, [1.0 - confidence, confidence])
    return float(diffs.mean()), float(low), float(high)


def non_inferiority_check(
    metric: str,
    gate: MetricGate,
    candidate: Sequence[Row],
    champion: Sequence[Row],
    bars: EvaluationThresholds,
) -> Check:
    """Candidate against champion on the rows (by `example_id`) where both have a value of `metric`."""
    theirs = {row["example_id"]: row.get(metric) for row in champion}
    sign = 1.0 if gate.higher_is_better else -1.0
    diffs = []
    for row in candidate:
        mine, other = row.get(metric), theirs.get(row["example_id"])
        if mine is not None and other is not None:
            diffs.append(sign * (float(mine) - float(other)))
    if not diffs:
        return Check(
            "non_inferiority", metric, OVERALL, None, -gate.margin, 0, None, "not measured: no paired rows"
        )
    mean, low, _ = paired_bootstrap(diffs, bars.bootstrap_samples, bars.confidence, bars.seed)
    if low < -gate.margin:
        verdict, passed = f"worse than the champion (lower bound {low:.3f})", False
    elif low > 0:
        verdict, passed = f"better than the champion (lower bound {low:.3f})", True
    else:
        verdict, passed = f"non-inferior, within noise (lower bound {low:.3f})", True
    return Check("non_inferiority", metric, OVERALL, mean, -gate.margin, len(diffs), passed, verdict)


def decide(candidate: Sequence[Row], champion: Sequence[Row] | None, bars: EvaluationThresholds) -> Decision:
    """Floors on every slice, then non-inferiority when a champion was scored on the same golden set."""
    checks = []
    groups = slices_of(candidate, bars.slices)
    for metric, gate in bars.metrics.items():
        for name, rows in groups.items():
            checks.append(floor_check(metric, gate, name, rows, bars.min_slice_rows))
    if champion is not None:
        for metric, gate in bars.metrics.items():
            checks.append(non_inferiority_check(metric, gate, candidate, champion, bars))
    passed = bool(candidate) and all(check.passed is not False for check in checks)
    return Decision(passed=passed, first_model=champion is None, checks=checks)


# ---- the step ---------------------------------------------------------------------------------------


def read_scores(uri: str) -> list[dict[str, Any]]:
    import pandas as pd

    with storage.open_uri(uri) as handle:
        frame = pd.read_parquet(handle)
    return [{k: (None if _missing(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def slice_metrics(role: str, rows: Sequence[Row], bars: EvaluationThresholds) -> dict[str, float]:
    """`<role>.<metric>` overall and `<role>.<metric>.<slice>` per slice: names MLflow's compare view
    lines up across runs and between candidate and champion."""
    out = {}
    for name, group in slices_of(rows, bars.slices).items():
        for metric in bars.metrics:
            values = metric_values(group, metric)
            if values:
                key = f"{role}.{metric}" if name == OVERALL else f"{role}.{metric}.{name}"
                out[MLFLOW_UNSAFE.sub("_", key)] = float(np.mean(values))
    return out


# What MLflow refuses in a metric name: a slice's value (a product profile, a bucket) may hold any of it.
MLFLOW_UNSAFE = re.compile(r"[^0-9A-Za-z_\-. :/]")


def base_model_about(settings: Settings) -> str | None:
    """What a locally built base model says it is (its `build.json`), or None."""
    import json

    base = settings.training.base_model
    build = settings.resolve_path(base) / "build.json" if "://" not in base else None
    if build is None or not build.is_file():
        return None
    about = json.loads(build.read_text(encoding="utf-8")).get("about")
    return str(about) if about else None


def record(
    settings: Settings,
    generated: Mapping[str, Any],
    scores: Mapping[str, list[dict[str, Any]]],
    decision: Decision,
    scanned: Mapping[str, Any] | None = None,
) -> str:
    """The evaluation's MLflow run; both model versions point back at it, and the candidate's description
    is its model card. Returns the run id."""
    import pandas as pd
    from mlflow import MlflowClient

    from pipelines.evaluation.card import model_card  # the card reads this module's slices

    bars = settings.thresholds.evaluation
    assert bars is not None
    mlflow = mlflow_for(settings)
    models = generated["models"]
    candidate = models["candidate"]
    run_name = f"v{candidate['version']}" + (
        f" vs v{models['champion']['version']}" if "champion" in models else ""
    )
    with mlflow.start_run(experiment_id=experiment_id(settings, "evaluation"), run_name=run_name) as run:
        mlflow.set_tags(
            {
                "llmops.evaluation.verdict": "passed" if decision.passed else "failed",
                "llmops.golden.dvc_tag": generated["golden_version"],
                **{f"llmops.{role}.version": m["version"] for role, m in models.items()},
                **{f"llmops.{role}.alias": m["alias"] for role, m in models.items()},
            }
        )
        mlflow.log_params({"golden_rows": generated["rows"], "first_model": decision.first_model})
        for role, rows in scores.items():
            mlflow.log_metrics(slice_metrics(role, rows, bars))
            mlflow.log_table(pd.DataFrame(rows), f"rows/{role}.json")
        mlflow.log_dict(decision.to_dict(), "decision.json")
        if scanned is not None:
            mlflow.log_metrics(scan_metrics(scanned))
            with storage.open_uri(scanned["report_uri"]) as handle:
                mlflow.log_text(handle.read().decode("utf-8"), "giskard_scan.html")
        run_id = str(run.info.run_id)
        client = MlflowClient()
        name = settings.registry.model_name
        tags = client.get_model_version(name, candidate["version"]).tags
        card = model_card(
            name,
            generated,
            tags,
            scores,
            decision,
            list(bars.metrics),
            bars.slices,
            run_id,
            base_model_about(settings),
            scanned,
        )
        mlflow.log_text(card, "model_card.md")
    client.update_model_version(name, candidate["version"], description=card)
    for model in models.values():
        client.set_model_version_tag(
            settings.registry.model_name, model["version"], "llmops.evaluation.run_id", run_id
        )
    client.set_model_version_tag(
        settings.registry.model_name, candidate["version"], "llmops.evaluation.verdict",
        "passed" if decision.passed else "failed",
    )  # fmt: skip
    return run_id


def scan_metrics(scanned: Mapping[str, Any]) -> dict[str, float]:
    """The scan step's numbers as MLflow metrics, named like the gate's (`<role>.<metric>`)."""
    metrics = {
        f"{role}.{name}": float(value)
        for role, values in scanned["reference_similarity"].items()
        for name, value in values.items()
    }
    metrics.update({f"candidate.{name}": float(rate) for name, rate in scanned["behaviour"].items()})
    metrics["candidate.injection_scan_issue_groups"] = float(scanned["injection_scan"]["issues"])
    return metrics


def run(
    settings: Settings,
    generated: Mapping[str, Any],
    scored: Mapping[str, Any],
    scanned: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    bars = settings.thresholds.evaluation
    if bars is None:
        raise ValueError("thresholds.yaml has no evaluation section")
    scores = {role: read_scores(uri) for role, uri in scored["scores_uris"].items()}
    decision = decide(scores["candidate"], scores.get("champion"), bars)
    run_id = record(settings, generated, scores, decision, scanned)
    result = {
        **decision.to_dict(),
        "mlflow_run_id": run_id,
        "models": generated["models"],
        "golden_version": generated["golden_version"],
    }
    log.info(
        "gate %s for version %s (%s): %d checks, %d failed",
        "passed" if decision.passed else "FAILED", generated["models"]["candidate"]["version"],
        "first model, floors only" if decision.first_model else "against the champion",
        len(decision.checks), len(decision.reasons),
    )  # fmt: skip
    if not decision.passed:
        for reason in decision.reasons:
            log.error("gate: %s", reason)
        raise QualityGateFailed(f"the candidate failed {len(decision.reasons)} checks", result)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("Decide whether the candidate may be promoted, and record the evaluation in MLflow.")
    parser.add_argument("--generate-result-uri", required=True, help="the generate step's result (JSON)")
    parser.add_argument("--score-result-uri", required=True, help="the score step's result (JSON)")
    parser.add_argument("--scan-result-uri", help="the scan step's result (JSON): reported, not gated")

    def body(args: Any) -> dict[str, Any]:
        generated = storage.read_json(args.generate_result_uri)
        scanned = storage.read_json(args.scan_result_uri) if args.scan_result_uri else None
        return run(get_settings(), generated, storage.read_json(args.score_result_uri), scanned)

    return run_step(body, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
