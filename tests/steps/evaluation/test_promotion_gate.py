"""The promotion gate's decision table: better, worse, within noise, a slice below its floor, first model."""

from __future__ import annotations

import random

import pytest

from common.settings import get_settings
from common.settings.models import EvaluationThresholds, MetricGate
from pipelines.evaluation.gate import decide, paired_bootstrap

LANGUAGES = ["en", "de", "fr", "es", "it", "nl"]
PROFILES = ["mostly_positive", "mixed", "polarized", "mostly_negative"]


@pytest.fixture
def bars() -> EvaluationThresholds:
    """Two metrics of either direction, the slices the project gates, the project's bootstrap settings."""
    project = get_settings("local").thresholds.evaluation
    assert project is not None
    return project.model_copy(
        update={
            "metrics": {
                "grounding": MetricGate(min=0.6, margin=0.05),
                "pii": MetricGate(max=0.0),
            }
        }
    )


def rows(grounding: dict[str, float] | float, n: int = 48, seed: int = 1, noise: float = 0.0) -> list[dict]:
    """`n` golden rows over every language and profile; grounding per profile (or one value), jittered."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        profile = PROFILES[i % len(PROFILES)]
        base = grounding[profile] if isinstance(grounding, dict) else grounding
        value = min(1.0, max(0.0, base + rng.uniform(-noise, noise)))
        out.append(
            {
                "example_id": f"p{i:03d}",
                "language": LANGUAGES[i % len(LANGUAGES)],
                "profile": profile,
                "review_count_bucket": "10-49",
                "grounding": value,
                "pii": 0.0,
            }
        )
    return out


def test_the_first_model_is_judged_on_floors_alone(bars):
    decision = decide(rows(0.8), None, bars)

    assert decision.passed and decision.first_model
    assert {check.kind for check in decision.checks} == {"floor"}
    assert not decision.reasons


def test_a_better_candidate_passes_and_is_called_better(bars):
    decision = decide(rows(0.9, noise=0.05), rows(0.7, seed=2, noise=0.05), bars)

    assert decision.passed and not decision.first_model
    comparison = next(c for c in decision.checks if c.kind == "non_inferiority" and c.metric == "grounding")
    assert comparison.passed and comparison.detail.startswith("better")
    assert comparison.value == pytest.approx(0.2, abs=0.02)


def test_a_candidate_within_noise_of_the_champion_passes(bars):
    decision = decide(rows(0.8, noise=0.1), rows(0.8, seed=2, noise=0.1), bars)

    comparison = next(c for c in decision.checks if c.kind == "non_inferiority" and c.metric == "grounding")
    assert decision.passed
    assert comparison.detail.startswith("non-inferior")


def test_a_worse_candidate_fails_though_it_clears_every_floor(bars):
    decision = decide(rows(0.7, noise=0.02), rows(0.85, seed=2, noise=0.02), bars)

    assert not decision.passed
    assert [r for r in decision.reasons if r.startswith("non_inferiority grounding")]
    assert not [c for c in decision.checks if c.kind == "floor" and c.passed is False]


def test_one_slice_below_its_floor_fails_whatever_the_average(bars):
    """The positivity-bias lesson: polarized products fail while the average looks fine."""
    grounding = {"mostly_positive": 0.95, "mixed": 0.9, "polarized": 0.4, "mostly_negative": 0.9}
    candidate = rows(grounding)
    decision = decide(candidate, None, bars)

    overall = next(c for c in decision.checks if c.metric == "grounding" and c.slice == "overall")
    assert overall.passed and overall.value > 0.75
    assert not decision.passed
    assert decision.reasons == [
        next(
            c for c in decision.checks if c.slice == "profile=polarized" and c.metric == "grounding"
        ).sentence()
    ]


def test_a_ceiling_metric_fails_on_one_answer_with_pii(bars):
    candidate = rows(0.8)
    candidate[0]["pii"] = 1.0
    decision = decide(candidate, None, bars)

    assert not decision.passed
    assert any(r.startswith("floor pii [overall]") for r in decision.reasons)


def test_a_slice_too_small_is_reported_not_gated_and_an_unmeasured_metric_is_not_a_pass(bars):
    candidate = rows(0.8, n=12)  # two rows a language
    for row in candidate:
        del row["pii"]
    decision = decide(candidate, None, bars)

    language = next(c for c in decision.checks if c.slice == "language=de" and c.metric == "grounding")
    assert language.passed is None and "not gated" in language.detail
    pii = next(c for c in decision.checks if c.slice == "overall" and c.metric == "pii")
    assert pii.passed is None and pii.detail.startswith("not measured")
    assert decision.passed  # nothing failed; the record says what could not be checked


def test_no_rows_never_pass(bars):
    assert not decide([], None, bars).passed


def test_the_bootstrap_is_reproducible_and_brackets_the_mean():
    diffs = [0.1, -0.05, 0.2, 0.0, 0.05, 0.15, -0.1, 0.1]
    first = paired_bootstrap(diffs, 2000, 0.95, seed=3)
    assert first == paired_bootstrap(diffs, 2000, 0.95, seed=3)
    mean, low, high = first
    assert low < mean < high
    assert mean == pytest.approx(sum(diffs) / len(diffs))
