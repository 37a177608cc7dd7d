"""Where a day's verdict goes: CloudWatch on moto's server (the series Terraform's alarms read) and MLflow."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.settings import get_settings
from common.tracking import mlflow_for
from pipelines.monitoring.publish import to_cloudwatch, to_mlflow
from tests.aws_server import REGION, moto_server

VERDICT = {
    "day": "2026-12-02",
    "metrics": {
        "records": 40,
        "responses": 39,
        "format_failures": 1,
        "guardrail_rejections": 2,
        "sampled": 20,
        "scored": 20,
        "unscorable": 0,
        "faithfulness": 0.62,
        "evidence_validity": 0.7,
        "balance": None,  # no context with enough negative snippets
        "toxicity_rate": 0.0,
        "pii_rate": 0.05,
        "format_failure_rate": 0.0256,
        "by_language": {"en": {"faithfulness": 0.6, "pii_rate": 0.1}, "de": {"faithfulness": 0.64}},
        "by_model_version": {"7": {"faithfulness": 0.62}},
    },
    "breaches": [],
    "critical": ["faithfulness 0.62 is below its floor 0.85 (critical)"],
    "warnings": [],
    "metrics_uri": "file:///lake/monitoring/daily/date=2026-12-02/metrics.json",
}


def test_the_alarms_series_carries_only_the_environment_and_slices_come_apart(monkeypatch) -> None:
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    base = get_settings("local")
    settings = base.model_copy(
        update={
            "monitoring": base.monitoring.model_copy(
                update={"cloudwatch_namespace": "LLMOpsTest", "environment": "staging"}
            )
        }
    )
    with moto_server() as endpoint:
        client = boto3.client("cloudwatch", region_name=REGION, endpoint_url=endpoint)
        assert to_cloudwatch(settings, VERDICT, client) == 4 + 2 + 1 + 1
        listed = client.list_metrics(Namespace="LLMOpsTest")["Metrics"]
        series = {
            (m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))) for m in listed
        }
        assert ("SummaryFaithfulness", (("Environment", "staging"),)) in series  # what the alarm reads
        assert ("SummaryPiiRate", (("Environment", "staging"), ("Language", "en"))) in series
        assert ("SummaryFaithfulness", (("Environment", "staging"), ("ModelVersion", "7"))) in series
        assert not any(name == "SummaryBalance" for name, _ in series)
        stats = client.get_metric_statistics(
            Namespace="LLMOpsTest",
            MetricName="SummaryFaithfulness",
            Dimensions=[{"Name": "Environment", "Value": "staging"}],
            StartTime=datetime(2026, 12, 2, tzinfo=UTC),
            EndTime=datetime(2026, 12, 3, tzinfo=UTC),
            Period=86400,
            Statistics=["Average"],
        )["Datapoints"]
        assert [d["Average"] for d in stats] == [pytest.approx(0.62)]
        client.close()


def test_the_local_profile_publishes_nothing_to_cloudwatch() -> None:
    assert to_cloudwatch(get_settings("local"), VERDICT, client=object()) == 0


def test_the_day_is_one_mlflow_run_with_its_breaches_as_tags(tmp_path: Path) -> None:
    base = get_settings("local")
    settings = base.model_copy(
        update={
            "tracking": base.tracking.model_copy(
                update={
                    "uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
                    "artifact_root": str(tmp_path / "mlruns"),
                }
            )
        }
    )
    run_id = to_mlflow(settings, VERDICT, "file:///lake/scores.parquet")
    run = mlflow_for(settings).get_run(run_id)
    assert run.data.metrics["faithfulness"] == pytest.approx(0.62)
    assert run.data.metrics["pii_rate.language.en"] == pytest.approx(0.1)
    assert "balance" not in run.data.metrics  # not measured is not zero
    assert run.data.tags["llmops.monitoring.critical"].startswith("faithfulness 0.62")
    assert run.data.tags["llmops.monitoring.warnings"] == "none"
