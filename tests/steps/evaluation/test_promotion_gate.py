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
            c for c in decision.checks if c.slice == "profile:polarized" and c.metric == "grounding"
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

    language = next(c for c in decision.checks if c.slice == "language:de" and c.metric == "grounding")
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


# ---- the step: the decision recorded in MLflow ----------------------------------------------------------


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A registry of its own holding versions 1 and 2 of the summarizer (no artifacts needed here)."""
    from mlflow import MlflowClient

    monkeypatch.setenv("LLMOPS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    settings = get_settings()
    from common.tracking import mlflow_for

    mlflow_for(settings)
    client = MlflowClient()
    client.create_registered_model(settings.registry.model_name)
    for _ in range(2):
        client.create_model_version(settings.registry.model_name, source=str(tmp_path / "model"))
    yield settings
    get_settings.cache_clear()


def write_step_inputs(tmp_path, candidate: list[dict], champion: list[dict] | None) -> tuple[str, str]:
    import pandas as pd

    from common import storage

    models = {"candidate": {"role": "candidate", "alias": "candidate", "version": "2", "golden_tag": "g1"}}
    uris = {"candidate": str(tmp_path / "candidate.parquet")}
    pd.DataFrame(candidate).to_parquet(uris["candidate"])
    if champion is not None:
        models["champion"] = {"role": "champion", "alias": "champion", "version": "1", "golden_tag": "g1"}
        uris["champion"] = str(tmp_path / "champion.parquet")
        pd.DataFrame(champion).to_parquet(uris["champion"])
    generated = {"golden_version": "g1", "rows": len(candidate), "models": models}
    storage.write_json(str(tmp_path / "generated.json"), generated)
    storage.write_json(str(tmp_path / "scored.json"), {"scores_uris": uris})
    return str(tmp_path / "generated.json"), str(tmp_path / "scored.json")


def step(tmp_path, generated: str, scored: str) -> tuple[int, dict]:
    from common import storage
    from pipelines.evaluation.gate import main

    result_uri = str(tmp_path / "gate.json")
    code = main(
        ["--generate-result-uri", generated, "--score-result-uri", scored, "--result-uri", result_uri]
    )
    return code, dict(storage.read_json(result_uri))


def test_the_gate_step_records_both_models_side_by_side_and_passes_a_better_candidate(registry, tmp_path):
    from mlflow import MlflowClient

    code, result = step(tmp_path, *write_step_inputs(tmp_path, rows(0.9), rows(0.7, seed=2)))

    assert code == 0 and result["passed"] and not result["first_model"]
    client = MlflowClient()
    run = client.get_run(result["mlflow_run_id"])
    assert run.data.tags["llmops.evaluation.verdict"] == "passed"
    assert (run.data.tags["llmops.candidate.version"], run.data.tags["llmops.champion.version"]) == ("2", "1")
    metrics = run.data.metrics
    assert metrics["candidate.grounding"] == pytest.approx(0.9) and metrics[
        "champion.grounding"
    ] == pytest.approx(0.7)
    assert "candidate.grounding.profile:polarized" in metrics and "champion.grounding.language:de" in metrics
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)} | {
        a.path for a in client.list_artifacts(run.info.run_id, "rows")
    }
    assert {"decision.json", "model_card.md", "rows/candidate.json", "rows/champion.json"} <= artifacts
    version = client.get_model_version(registry.registry.model_name, "2")
    assert version.tags["llmops.evaluation.run_id"] == result["mlflow_run_id"]
    assert version.tags["llmops.evaluation.verdict"] == "passed"
    card = version.description
    assert card.startswith("# review-summarizer version 2\n")
    assert f"Gate **passed** against champion version 1; MLflow run `{result['mlflow_run_id']}`." in card
    assert "| profile:polarized | grounding | 0.900 | 0.700 | 12 |" in card
    assert "## Known limitations" in card and "Failed checks" not in card


def test_the_gate_step_fails_a_worse_candidate_with_its_reasons(registry, tmp_path):
    code, result = step(tmp_path, *write_step_inputs(tmp_path, rows(0.7, noise=0.02), rows(0.85, noise=0.02)))

    assert code == 3
    assert not result["passed"] and result["reasons"][0].startswith("non_inferiority grounding")
    from mlflow import MlflowClient

    version = MlflowClient().get_model_version(registry.registry.model_name, "2")
    assert version.tags["llmops.evaluation.verdict"] == "failed"
    assert "Gate **failed**" in version.description
    assert f"- {result['reasons'][0]}" in version.description


def test_the_cost_of_a_thousand_summaries_is_the_node_hour_over_the_summaries_it_serves() -> None:
    from pipelines.evaluation.card import cost_per_thousand, load_test_section

    assert cost_per_thousand(2.0, 1.44) == pytest.approx(0.2)  # 7,200 summaries an hour for 1.44 USD
    assert cost_per_thousand(0.0, 1.44) is None and cost_per_thousand(None, 1.44) is None
    result = {"profile": "smoke", "passed": True, "requests": 40, "error_rate": 0.0, "requests_per_s": 2.0}
    section = load_test_section(
        {**result, "p95_latency_s": 1.5, "report_uri": "s3://lake/r"}, 1.44, local=True
    )
    assert "0.200 USD" in section and "p95 latency 1.50 s" in section and "CPU server" in section
    assert "CPU server" not in load_test_section(result, 1.44, local=False)


def test_slice_metric_names_are_ones_mlflow_accepts(bars):
    from pipelines.evaluation.gate import MLFLOW_UNSAFE, slice_metrics

    data = [{**row, "profile": "<mostly> & positive?"} for row in rows(0.8, n=6)]
    names = slice_metrics("candidate", data, bars)
    assert "candidate.grounding.profile:_mostly_ _ positive_" in names
    assert not any(MLFLOW_UNSAFE.search(name) for name in names)
