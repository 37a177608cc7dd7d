"""The promotion's load-test step against the real local vLLM server serving the challenger's adapter.

The adapters are random, so whether the run meets `thresholds.yaml load_test` on this machine is not what
is asserted; the step's verdict must be the load test's own (exit 0 with its numbers, or 3 with the
breaches), and the report must reach the URI either way. The load test's gate itself is proven in
tests/steps/loadtest/ against endpoints that breach each threshold.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from common import storage
from common.settings import Settings
from pipelines.evaluation import load_gate
from sample_source import payloads

pytestmark = [pytest.mark.slow, pytest.mark.serving]


def test_the_challenger_is_load_tested_and_the_verdict_is_the_load_tests(
    world: Settings, set_alias, tmp_path: Path
):
    payloads.main([])  # the load test's snippets, as `make load-test` writes them
    set_alias("challenger", "2")
    report_uri = str(tmp_path / "report")
    result_uri = str(tmp_path / "result.json")
    args = ["--alias", "challenger", "--report-uri", report_uri, "--profile", "smoke", "--duration", "15"]

    code = load_gate.main([*args, "--result-uri", result_uri])

    result = storage.read_json(result_uri)
    summary = storage.read_json(storage.join(report_uri, load_gate.SUMMARY_FILE))
    assert summary["model"] == "challenger" and summary["profile"] == "smoke"
    assert result["requests"] == summary["requests"] > 0
    assert (code, result["passed"]) in ((0, True), (3, False))
    assert result["passed"] == summary["passed"]
    assert bool(result["breaches"]) == (not summary["passed"])
    assert storage.exists(storage.join(report_uri, "summary.md"))
    # The version's model card gains the load test and what 1,000 summaries cost at the rate it sustained.
    price = world.serving.gpu_hour_price_usd
    assert result["cost_per_1000_summaries_usd"] == pytest.approx(price / (result["requests_per_s"] * 3.6))
    card = registered_version(world, "challenger").description
    assert "## Load test and cost" in card and f"{result['cost_per_1000_summaries_usd']:.3f} USD" in card


def registered_version(settings: Settings, alias: str):  # type: ignore[no-untyped-def]
    from mlflow import MlflowClient

    from common.tracking import mlflow_for

    mlflow_for(settings)
    return MlflowClient().get_model_version_by_alias(settings.registry.model_name, alias)


def test_an_alias_without_a_version_is_refused_before_anything_runs(
    world: Settings, set_alias, tmp_path: Path
):
    set_alias("challenger", None)

    with pytest.raises(ValueError, match="@challenger does not exist"):
        load_gate.run(world, "challenger", str(tmp_path / "report"), "smoke", 15, tmp_path)


def test_a_retried_load_test_leaves_one_section_in_the_card(world: Settings, set_alias):
    from mlflow import MlflowClient

    set_alias("challenger", "1")
    version = registered_version(world, "challenger")
    MlflowClient().update_model_version(
        version.name, version.version, description="# the card\n\ngate numbers"
    )
    for rate in ("1.0", "2.0"):
        load_gate.add_to_card(world, "challenger", f"## Load test and cost\n\n{rate} summaries/s\n")
    card = registered_version(world, "challenger").description
    assert card == "# the card\n\ngate numbers\n\n## Load test and cost\n\n2.0 summaries/s\n"
