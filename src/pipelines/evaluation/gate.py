"""The promotion gate: may this candidate replace the champion, and every reason why or why not.

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

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from common.settings.models import EvaluationThresholds, MetricGate

OVERALL = "overall"
Row = Mapping[str, Any]  # an example id, slice columns, and metric values (a number, or None: not applicable)


@dataclass(frozen=True)
class Check:
    """One bar applied to one metric on one slice; `passed` is None when the check could not apply."""

    kind: str  # "floor" or "non_inferiority"
    metric: str
    slice: str  # "overall" or "<column>=<value>"
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


def _values(rows: Sequence[Row], metric: str) -> list[float]:
    return [float(row[metric]) for row in rows if row.get(metric) is not None]


def slices_of(rows: Sequence[Row], columns: Sequence[str]) -> dict[str, list[Row]]:
    """The rows of every slice: all of them under "overall", then one group per value of each column."""
    groups: dict[str, list[Row]] = {OVERALL: list(rows)}
    by_value: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        for column in columns:
            if row.get(column) is not None:
                by_value[f"{column}={row[column]}"].append(row)
    groups.update(sorted(by_value.items()))
    return groups


def floor_check(metric: str, gate: MetricGate, name: str, rows: Sequence[Row], min_rows: int) -> Check:
    """The candidate's mean of `metric` on one slice against the metric's floor or ceiling."""
    values = _values(rows, metric)
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
